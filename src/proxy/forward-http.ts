/**
 * @module Forwarding plain-HTTP requests (explicit proxy absolute-form, transparent HTTP) over
 * persistent connections: one request/response exchange at a time on a client connection, each
 * request decided again (explicit-proxy.ts, transparent-http.ts), origin connections reused from
 * the pool (origin-pool.ts).
 *
 * Keep-alive is safe only if the proxy, the client and the origin agree on where every message
 * ends; every disagreement is a request-smuggling or response-desync hole. So:
 * - requests: the strict request-head parser (http-head.ts) refuses every ambiguous framing
 *   (CL+TE, conflicting CL, TE other than `chunked`, bare LF/CR, obs-fold); the body is passed
 *   exactly as framed (Content-Length counted, chunked scanned by chunked-scanner.ts) and the
 *   bytes after it are the next request, read and decided on their own, never forwarded with this
 *   one; a Connection token can never remove Content-Length, Transfer-Encoding, Trailer or Host;
 * - responses: the strict response-head parser (response-head.ts) and RFC 9112 §6.3: no body after
 *   HEAD, 1xx, 204, 304; chunked ⇒ scanned to its last chunk and trailers; Content-Length ⇒
 *   counted; otherwise close-delimited ⇒ relayed until the origin closes, then the client
 *   connection is closed too. 1xx interim responses are relayed (not to HTTP/1.0 clients) and the
 *   final one awaited; 101 is refused (502): upgrades are not forwarded (the Upgrade field is
 *   hop-by-hop and never reaches the origin). Bytes after the end of a response are never relayed:
 *   the origin connection is discarded;
 * - anything the proxy refuses before the final response head was relayed is a 502 (504 on
 *   timeout) to the client and the end of both connections; after it, both are cut (the client
 *   sees a truncated response, never a spliced one).
 *
 * Hop-by-hop fields are removed both ways (RFC 9110 §7.6.1: Connection and the fields it names,
 * Proxy-Connection, Keep-Alive, TE, Upgrade, Proxy-Authorization, Proxy-Authenticate); Host is set
 * to the target; the client's response carries the proxy's own `Connection: keep-alive|close`.
 */
import type { Socket } from 'node:net'
import { originReaderOf } from '../net/origin-reader.ts'
import { ChunkedScanner } from './chunked-scanner.ts'
import { httpDenyResponse } from './deny-response.ts'
import type { HttpRequestHead } from './http-head.ts'
import { deny } from './outcome.ts'
import { bodyKind, originKeepsAlive, parseResponseHead, type BodyKind, type HttpResponseHead } from './response-head.ts'
import { SERVE_DEFAULTS, type ServeLimits } from './serve-defaults.ts'

const ALWAYS_HOP_BY_HOP = new Set(['connection', 'proxy-connection', 'keep-alive', 'te', 'upgrade', 'proxy-authorization', 'proxy-authenticate', 'host'])
/** Fields that frame a message: a Connection token naming one is ignored (else proxy and peer would disagree on the body). */
const FRAMING_FIELDS = new Set(['content-length', 'transfer-encoding', 'trailer', 'host'])
const RESPONSE_HOP_BY_HOP = new Set(['connection', 'proxy-connection', 'keep-alive', 'te', 'upgrade', 'proxy-authenticate'])
/** RFC 9110 §9.2.2: methods a proxy may send again after a connection failure (only without a body, here). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE'])

function dropSet(base: ReadonlySet<string>, tokens: readonly string[]): ReadonlySet<string> {
  if (tokens.length === 0) return base
  const drop = new Set(base)
  for (const t of tokens) if (!FRAMING_FIELDS.has(t)) drop.add(t)
  return drop
}

/** The request head sent to the origin (latin1). `authority` is the Host value (`name[:port]`). */
export function originRequestHead(head: HttpRequestHead, authority: string): string {
  const drop = dropSet(ALWAYS_HOP_BY_HOP, head.connectionTokens)
  let out = `${head.method} ${head.path} HTTP/1.1\r\nHost: ${authority}\r\n`
  for (const [name, value] of head.headers) {
    if (drop.has(name.toLowerCase())) continue
    out += `${name}: ${value}\r\n`
  }
  return `${out}\r\n`
}

/** The response head sent to the client (latin1); `connection` undefined for 1xx. */
export function clientResponseHead(head: HttpResponseHead, connection: 'keep-alive' | 'close' | undefined): string {
  const drop = dropSet(RESPONSE_HOP_BY_HOP, head.connectionTokens)
  let out = `HTTP/1.1 ${head.status} ${head.reason}\r\n`
  for (const [name, value] of head.headers) {
    if (drop.has(name.toLowerCase())) continue
    out += `${name}: ${value}\r\n`
  }
  if (connection !== undefined) out += `Connection: ${connection}\r\n`
  return `${out}\r\n`
}

/** Whether the client asked to keep its connection (RFC 9112 §9.3), Proxy-Connection included. */
export function clientAllowsKeepAlive(head: HttpRequestHead): boolean {
  let proxyClose = false
  let proxyKeep = false
  for (const [name, value] of head.headers) {
    if (name.length !== 16 || name.toLowerCase() !== 'proxy-connection') continue
    const v = value.toLowerCase()
    if (v.includes('close')) proxyClose = true
    else if (v.includes('keep-alive')) proxyKeep = true
  }
  if (proxyClose || head.connectionTokens.includes('close')) return false
  return head.version === '1.1' || head.connectionTokens.includes('keep-alive') || proxyKeep
}

export type ExchangeOutcome = 'complete' | 'bad-response' | 'timeout' | 'origin-closed' | 'client-closed' | 'bad-request' | 'retry'

export interface ExchangeOptions {
  readonly client: Socket
  readonly origin: Socket
  readonly request: HttpRequestHead
  /** originRequestHead(...) */
  readonly requestHead: string
  /** Client bytes already read after the request head (body, and maybe the next request). */
  readonly body: Buffer
  /** The origin connection came from the pool (a failure before any response byte may be retried). */
  readonly reused: boolean
  /** The client may keep its connection after this response (its request allows it, the cap, not draining). */
  readonly clientKeepAlive: boolean
  readonly limits: ServeLimits
}

export interface ExchangeResult {
  readonly outcome: ExchangeOutcome
  readonly detail: string | undefined
  /** The client connection may read its next request (the response was complete and said keep-alive). */
  readonly keepClient: boolean
  /** The origin connection is clean and may be pooled (else it was destroyed). */
  readonly keepOrigin: boolean
  /** Client bytes after this request (the next request's start), when keepClient. */
  readonly pending: Buffer | undefined
  readonly bytesUp: number
  readonly bytesDown: number
  /** Whether any response byte was sent to the client. */
  readonly responded: boolean
}

/** May the request be sent again on a new connection if a reused one fails before any response byte? */
function retryable(request: HttpRequestHead): boolean {
  return !request.chunked && (request.contentLength ?? 0) === 0 && IDEMPOTENT.has(request.method)
}

/**
 * Sends one request to `origin` and relays its response to `client`; resolves when the response
 * is complete (or failed). Never rejects. The client is left paused; the caller ends or reuses it,
 * and pools the origin when `keepOrigin`.
 */
export function exchange(o: ExchangeOptions): Promise<ExchangeResult> {
  return new Promise((resolve) => {
    const { client, origin, request, limits } = o
    const reader = originReaderOf(origin)
    let settled = false
    let bytesUp = 0
    let bytesDown = 0
    // The request side.
    let reqRemaining = request.contentLength ?? 0
    const reqScanner = request.chunked ? new ChunkedScanner(SERVE_DEFAULTS.maxChunkLineBytes) : undefined
    let reqDone = !request.chunked && reqRemaining === 0
    let pending: Buffer | undefined
    // The response side.
    let phase: 'head' | 'body' = 'head'
    let headBuf: Buffer | undefined
    let scanned = 0
    let interim = 0
    let body: BodyKind = { kind: 'none' }
    let respRemaining = 0
    let respScanner: ChunkedScanner | undefined
    let receivedAny = false
    let sentFinal = false
    let responded = false
    let keepClientPlanned = false
    let originMayKeep = false
    let waitingFlush = false

    const cleanup = (): void => {
      client.removeListener('data', onClientData)
      client.removeListener('end', onClientEnd)
      client.removeListener('close', onClientClose)
      client.removeListener('timeout', onTimeout)
      client.setTimeout(0)
      origin.removeListener('end', onOriginEnd)
      origin.removeListener('close', onOriginEnd)
      origin.removeListener('error', onOriginEnd)
      origin.removeListener('timeout', onOriginTimeout)
      origin.removeListener('drain', onOriginDrain)
      origin.setTimeout(0)
      reader?.detach()
    }
    const finish = (outcome: ExchangeOutcome, keepClient: boolean, keepOrigin: boolean, detail?: string): void => {
      if (settled) return
      settled = true
      cleanup()
      client.pause()
      if (!keepOrigin) origin.destroy()
      resolve({ outcome, detail, keepClient, keepOrigin, pending: keepClient ? pending : undefined, bytesUp, bytesDown, responded })
    }
    /** A failure the client can still be told about (no final response head sent yet), else a cut. */
    const fail = (outcome: ExchangeOutcome, code: 'BAD_RESPONSE' | 'RESPONSE_TIMEOUT' | 'BAD_REQUEST', detail: string): void => {
      if (settled) return
      if (!sentFinal && !client.destroyed && !client.writableEnded) {
        client.write(httpDenyResponse(deny(code, detail)), 'latin1')
        responded = true
      } else client.destroy()
      finish(outcome, false, false, detail)
    }

    // Client → origin: the request body, exactly as framed.
    const sendUp = (chunk: Buffer): void => {
      if (chunk.length === 0) return
      bytesUp += chunk.length
      if (!origin.write(chunk)) {
        client.pause()
        origin.once('drain', onOriginDrain)
      }
    }
    const onOriginDrain = (): void => {
      if (!settled && !reqDone) client.resume()
    }
    /** Passes the body part of `chunk`; returns what follows the body, or an error. */
    const consume = (chunk: Buffer): Buffer | string => {
      if (reqDone) return chunk
      if (reqScanner) {
        const r = reqScanner.feed(chunk)
        if (r.kind === 'invalid') return `invalid chunked body: ${r.detail}`
        if (r.kind === 'more') {
          sendUp(chunk)
          return chunk.subarray(chunk.length)
        }
        sendUp(chunk.subarray(0, r.end))
        reqDone = true
        return chunk.subarray(r.end)
      }
      const take = Math.min(reqRemaining, chunk.length)
      reqRemaining -= take
      sendUp(take === chunk.length ? chunk : chunk.subarray(0, take))
      if (reqRemaining === 0) reqDone = true
      return chunk.subarray(take)
    }
    const afterConsume = (rest: Buffer | string): void => {
      if (typeof rest === 'string') {
        fail('bad-request', 'BAD_REQUEST', rest)
        return
      }
      if (!reqDone) return
      // The body is complete: stop reading the client; what followed it waits (bounded: one read).
      client.removeListener('data', onClientData)
      client.pause()
      if (rest.length > 0) pending = pending ? Buffer.concat([pending, rest]) : rest
    }
    const onClientData = (chunk: Buffer): void => {
      if (settled) return
      afterConsume(consume(chunk))
    }
    const onClientEnd = (): void => {
      // The client half-closed before the end of its body: the request cannot complete.
      if (!reqDone) {
        client.destroy()
        finish('client-closed', false, false, 'the client closed before the end of its request body')
      }
    }
    const onClientClose = (): void => {
      finish('client-closed', false, false, 'the client closed the connection')
    }
    const onTimeout = (): void => {
      if (phase === 'head' && !sentFinal) {
        fail('timeout', 'RESPONSE_TIMEOUT', `No complete response from the origin within ${limits.idleTimeoutMs} ms`)
        return
      }
      client.destroy()
      finish('timeout', false, false, `No byte either way for ${limits.idleTimeoutMs} ms`)
    }
    const onOriginTimeout = onTimeout

    // Origin → client.
    const flushed = (): void => {
      if (waitingFlush && client.writableLength === 0) {
        waitingFlush = false
        if (!settled && !origin.destroyed) origin.resume()
      }
    }
    /** Writes to the client; false: pause the origin until flushed. */
    const sendDown = (chunk: Buffer): boolean => {
      if (chunk.length === 0) return true
      if (client.destroyed || client.writableEnded) return false
      responded = true
      client.write(chunk, flushed)
      if (client.writableLength === 0) return true
      waitingFlush = true
      return false
    }
    const responseDone = (stray: boolean): void => {
      // An origin that answered before the whole body was sent cannot be reused, nor the client
      // connection (the rest of its body is on the way).
      if (!reqDone) {
        finish('complete', false, false)
        return
      }
      finish('complete', keepClientPlanned, originMayKeep && !stray && reader !== undefined)
    }
    const onBody = (chunk: Buffer, borrowed: boolean): boolean => {
      switch (body.kind) {
        case 'length': {
          const take = Math.min(respRemaining, chunk.length)
          respRemaining -= take
          const part = take === chunk.length ? chunk : chunk.subarray(0, take)
          if (respRemaining > 0) return sendDown(part)
          // The last part: a borrowed view must not be overwritten by the next read of a reused connection.
          sendDown(borrowed ? Buffer.from(part) : part)
          responseDone(take < chunk.length)
          return false
        }
        case 'chunked': {
          const r = respScanner!.feed(chunk)
          if (r.kind === 'invalid') {
            client.destroy()
            finish('bad-response', false, false, `invalid chunked response body: ${r.detail}`)
            return false
          }
          if (r.kind === 'more') return sendDown(chunk)
          const part = chunk.subarray(0, r.end)
          sendDown(borrowed ? Buffer.from(part) : part)
          responseDone(r.end < chunk.length)
          return false
        }
        case 'close':
          return sendDown(chunk)
        case 'none':
          responseDone(true)
          return false
      }
    }
    const onHead = (chunk: Buffer): boolean => {
      headBuf = headBuf ? Buffer.concat([headBuf, chunk]) : Buffer.from(chunk)
      for (;;) {
        const r = parseResponseHead(headBuf, limits.maxResponseHeaderBytes, scanned)
        if (r.kind === 'needMore') {
          scanned = headBuf.length
          return true
        }
        if (r.kind === 'tooLarge') {
          fail('bad-response', 'BAD_RESPONSE', `The origin's response head exceeds ${limits.maxResponseHeaderBytes} bytes`)
          return false
        }
        if (r.kind === 'malformed') {
          fail('bad-response', 'BAD_RESPONSE', `Malformed response from the origin: ${r.detail}`)
          return false
        }
        const h = r.head
        const rest = headBuf.subarray(h.headBytes)
        if (h.status === 101) {
          fail('bad-response', 'BAD_RESPONSE', 'The origin switched protocols (101): upgrades are not forwarded')
          return false
        }
        if (h.status < 200) {
          if (++interim > SERVE_DEFAULTS.maxInterimResponses) {
            fail('bad-response', 'BAD_RESPONSE', `More than ${SERVE_DEFAULTS.maxInterimResponses} interim responses`)
            return false
          }
          // RFC 9110 §15.2: no 1xx to an HTTP/1.0 client.
          if (request.version === '1.1') sendDown(Buffer.from(clientResponseHead(h, undefined), 'latin1'))
          headBuf = rest.length > 0 ? rest : undefined
          scanned = 0
          if (!headBuf) return !waitingFlush
          continue
        }
        body = bodyKind(h, request.method)
        // The client keeps its connection only if this response's end is known to it too.
        keepClientPlanned = o.clientKeepAlive && reqDone && body.kind !== 'close' && !(request.version === '1.0' && body.kind === 'chunked')
        originMayKeep = originKeepsAlive(h) && body.kind !== 'close'
        sentFinal = true
        phase = 'body'
        headBuf = undefined
        let flowing = sendDown(Buffer.from(clientResponseHead(h, keepClientPlanned ? 'keep-alive' : 'close'), 'latin1'))
        if (body.kind === 'none') {
          responseDone(rest.length > 0)
          return false
        }
        if (body.kind === 'length') respRemaining = body.length
        else if (body.kind === 'chunked') respScanner = new ChunkedScanner(SERVE_DEFAULTS.maxChunkLineBytes)
        if (rest.length > 0) flowing = onBody(rest, false) && flowing
        return flowing
      }
    }
    const sink = (chunk: Buffer, borrowed: boolean): boolean => {
      if (settled) return false
      bytesDown += chunk.length
      receivedAny = true
      return phase === 'head' ? onHead(chunk) : onBody(chunk, borrowed)
    }
    const onOriginEnd = (): void => {
      if (settled) return
      if (phase === 'head') {
        if (!receivedAny && o.reused && retryable(request)) {
          finish('retry', false, false, 'the reused origin connection closed before answering')
          return
        }
        fail('bad-response', 'BAD_RESPONSE', 'The origin closed the connection before a complete response head')
        return
      }
      if (body.kind === 'close') {
        // The end of a close-delimited body: the client learns it only from a close too.
        finish('complete', false, false)
        return
      }
      client.destroy()
      finish('origin-closed', false, false, 'The origin closed the connection before the end of its response')
    }

    if (!reader) {
      fail('bad-response', 'BAD_RESPONSE', 'origin connection without a reader')
      return
    }
    client.on('end', onClientEnd)
    client.once('close', onClientClose)
    client.setTimeout(limits.idleTimeoutMs, onTimeout)
    origin.on('end', onOriginEnd)
    origin.on('close', onOriginEnd)
    origin.on('error', onOriginEnd)
    origin.setTimeout(limits.idleTimeoutMs, onOriginTimeout)
    if (client.destroyed) {
      finish('client-closed', false, false, 'the client closed the connection')
      return
    }
    if (origin.destroyed || origin.writableEnded) {
      onOriginEnd()
      return
    }
    const held = reader.attach(sink)
    const headBytes = Buffer.from(o.requestHead, 'latin1')
    bytesUp += headBytes.length
    origin.write(headBytes)
    afterConsume(consume(o.body))
    if (settled) return
    if (!reqDone) {
      client.on('data', onClientData)
      client.resume()
    }
    let go = true
    for (const c of held) if (!settled && !sink(c, false)) go = false
    if (settled) return
    if (origin.readableEnded) {
      onOriginEnd()
      return
    }
    if (go) origin.resume()
  })
}
