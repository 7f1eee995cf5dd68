/**
 * @module The request loop of an HTTP client connection (the explicit proxy port, a transparent
 * HTTP listener): read a request head, let the listener's handler serve it, and, while the
 * connection persists (plain-HTTP keep-alive, forward-http.ts), read the next one.
 *
 * Between two requests (RFC 9112 §9.3, §9.8):
 * - the next request is decided under the policy in force when its head is read (a reload applies
 *   from the next request on), with a decision line of its own;
 * - the client has `keepAliveIdleTimeoutMs` to send the next request's first byte; one that does
 *   not, or closes, is closed without a reply or a log line (it has nothing in flight); once the
 *   first byte came, the head must be complete within `handshakeTimeoutMs` (slowloris bound);
 * - while waiting, the connection is in the runtime's `idleClients`, which `stop()` closes at once;
 * - one request at a time: the client is not read while a response is relayed, so pipelined
 *   requests wait in the kernel's buffers and at most one read of them here.
 */
import type { ClientConnection } from './client-connection.ts'
import { parseHttpHead, type HttpHeadResult, type HttpRequestHead } from './http-head.ts'
import { deny, type Verdict } from './outcome.ts'
import type { ServeLimits } from './serve-defaults.ts'
import { readInitial } from './read-initial.ts'

/** The client closed before a complete request head (nothing is answered). */
export const HEAD_CLIENT_CLOSED: Verdict = Object.freeze(deny('CLIENT_CLOSED', 'The client closed the connection before a complete request head'))

/** The handshake bound passed before a complete request head (answered 408). */
export function headTimeout(limits: ServeLimits): Verdict {
  return deny('HANDSHAKE_TIMEOUT', `No complete request head within ${limits.handshakeTimeoutMs} ms`)
}

/**
 * A request head the parser refused, and the status of its answer (undefined: the verdict's).
 * Shared by readRequestHead and src/proxy/tunnel-connection.ts.
 */
export function headRefused(r: Extract<HttpHeadResult, { kind: 'tooLarge' | 'malformed' }>, limits: ServeLimits): { readonly verdict: Verdict; readonly status: number | undefined } {
  return r.kind === 'tooLarge'
    ? { verdict: deny('HEADER_TOO_LARGE', `The request head exceeds ${limits.maxHeaderBytes} bytes`), status: undefined }
    : { verdict: deny('BAD_REQUEST', `Malformed request: ${r.detail}`), status: r.status }
}

export type RequestRead = { readonly head: HttpRequestHead; readonly rest: Buffer } | undefined

/**
 * Reads a request head on `conn`; undefined when the connection was refused or closed meanwhile
 * (and is being closed). `pending`: on a kept-alive connection, the bytes already read after the
 * previous request.
 */
export async function readRequestHead(conn: ClientConnection, pending?: Buffer): Promise<RequestRead> {
  const rt = conn.rt
  const limits = rt.limits
  const next = pending !== undefined
  if (next) {
    if (rt.draining()) {
      conn.endHttp()
      return undefined
    }
    conn.nextRequest()
    rt.idleClients.add(conn.socket)
  }
  const read = await readInitial<HttpHeadResult>(
    conn.socket,
    pending,
    limits.handshakeTimeoutMs,
    (data, scanned) => {
      const r = parseHttpHead(data, limits.maxHeaderBytes, scanned)
      return r.kind === 'needMore' ? undefined : r
    },
    next ? limits.keepAliveIdleTimeoutMs : undefined,
  )
  if (next) {
    rt.idleClients.delete(conn.socket)
    if (read.kind !== 'done' && read.data.length === 0) {
      // Idle between requests, or closed: nothing in flight, nothing to log.
      if (read.kind === 'timeout') conn.endedBy('idle')
      conn.endHttp()
      return undefined
    }
  }
  conn.adoptCurrentPolicy()
  conn.requests++
  // On every line of the request, its refusal included (a bad second head on a kept-alive connection).
  conn.fields.request = conn.requests
  if (read.kind === 'timeout') {
    conn.denyHttp(headTimeout(limits))
    return undefined
  }
  if (read.kind === 'closed') {
    conn.decide(HEAD_CLIENT_CLOSED)
    conn.socket.destroy()
    return undefined
  }
  const r = read.value
  if (!next) conn.handshakeDone()
  if (r.kind === 'tooLarge' || r.kind === 'malformed') {
    const refused = headRefused(r, limits)
    conn.denyHttp(refused.verdict, refused.status)
    return undefined
  }
  if (r.kind !== 'ok') return undefined
  return { head: r.head, rest: read.data.subarray(r.head.headBytes) }
}

/** A request that became a tunnel: the connection is the tunnel's until it ends. */
export class Tunnel {
  constructor(readonly done: Promise<void>) {}
}

/**
 * What a handler makes of one request: the bytes read after it when the connection stays open for
 * the next request, null when the connection is done (closed or closing), or a Tunnel.
 */
export type RequestHandled = Promise<Buffer | null> | Tunnel

/**
 * Serves requests on a connection until one ends it. A Tunnel's promise is returned rather than
 * awaited, so that no frame holding the request head's buffer lives as long as the tunnel.
 * @example await serveHttp(conn, (head, rest) => forward(conn, head, rest))
 */
export async function serveHttp(conn: ClientConnection, handle: (head: HttpRequestHead, rest: Buffer) => RequestHandled): Promise<void> {
  return serveHttpFrom(conn, await readRequestHead(conn), handle)
}

/**
 * `serveHttp` from a first request already read (by src/proxy/tunnel-connection.ts, which hands
 * the explicit port's requests that are not tunnels it serves to this path).
 */
export async function serveHttpFrom(conn: ClientConnection, first: RequestRead, handle: (head: HttpRequestHead, rest: Buffer) => RequestHandled): Promise<void> {
  let got = first
  while (got) {
    const r = handle(got.head, got.rest)
    if (r instanceof Tunnel) return r.done
    const after = await r
    if (after === null) return
    got = await readRequestHead(conn, after)
  }
}
