/**
 * @module The explicit proxy (AKS httpProxyConfig): one port serving CONNECT tunnels and plain
 * HTTP forward requests in absolute-form (DESIGN.md §4, issue 3).
 *
 * CONNECT host:port
 * - an IP literal is decided as a `tcp` flow: only a network rule can allow it;
 * - a name on 443 or on a port of an `Https` rule is decided as `https` by the name; after the
 *   200, the ClientHello inside the tunnel is peeked: its SNI must be the CONNECT host (no domain
 *   fronting through CONNECT). Without SNI, or with bytes that are not TLS, only a network rule
 *   (which does not look at bytes, Azure semantics) lets the tunnel go on;
 * - a name on another port is a `tcp` flow (network rules with destination FQDNs).
 * In every case the proxy resolves the name itself and dials a checked address (dial-checked.ts).
 * Denials before the tunnel: a status with `X-Aks-Egress-Reason`; after: a TLS alert.
 *
 * GET http://name/... (absolute-form): decided as `http` by the name, forwarded over persistent
 * connections (forward-http.ts): after a complete response the next request on the connection is
 * read and decided again, under the policy in force then (`serveHttp`, shared with the transparent
 * HTTP listeners). A CONNECT after forwarded requests opens its tunnel and ends the loop.
 */
import { canonicalHost } from '../policy/fqdn.ts'
import { makeFlow, type Flow } from '../policy/flow.ts'
import { SNI_MISSING_REASON } from '../policy/decision.ts'
import { parseRawAddress } from '../net/classify-address.ts'
import { formatHostPort, type Authority } from './authority.ts'
import { parseClientHello, type ClientHelloResult } from './client-hello.ts'
import type { ClientConnection } from './client-connection.ts'
import { clientAllowsKeepAlive, exchange, originRequestHead, type ExchangeResult } from './forward-http.ts'
import { parseHttpHead, type HttpHeadResult, type HttpRequestHead } from './http-head.ts'
import { httpDenyResponse } from './deny-response.ts'
import { deny, policyDeny, verdictOf, type Verdict } from './outcome.ts'
import { isTlsPort } from './policy-state.ts'
import { checkProxyAuth } from './proxy-auth.ts'
import { readInitial } from './read-initial.ts'

// A Buffer, not a string: written as is, never encoded per connection (never mutated: writes may hold it).
const CONNECT_ESTABLISHED = Buffer.from('HTTP/1.1 200 Connection established\r\n\r\n', 'latin1')

export type RequestRead = { head: HttpRequestHead; rest: Buffer } | undefined

/**
 * Reads a request head on `conn`; undefined when the connection was denied or closed meanwhile.
 * `pending` (a kept-alive connection): the bytes already read after the previous request; the
 * client then has `--keep-alive-idle-timeout-ms` to start its next request (a client that does not
 * is closed without a reply or a log line) and the handshake bound to complete it.
 */
export async function readRequestHead(conn: ClientConnection, pending?: Buffer): Promise<RequestRead> {
  const limits = conn.rt.limits
  const next = pending !== undefined
  if (next) {
    conn.nextRequest()
    conn.rt.idleClients.add(conn.socket)
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
  if (next) conn.rt.idleClients.delete(conn.socket)
  conn.requests++
  if (next && read.kind !== 'done' && read.data.length === 0) {
    // Between requests: an idle client, or one that closed, is just closed.
    conn.endHttp()
    return undefined
  }
  if (read.kind === 'timeout') {
    conn.denyHttp(deny('HANDSHAKE_TIMEOUT', `No complete request head within ${limits.handshakeTimeoutMs} ms`))
    conn.endHttp()
    return undefined
  }
  if (read.kind === 'closed') {
    conn.decide(deny('CLIENT_CLOSED', 'The client closed the connection before a complete request head'))
    conn.socket.destroy()
    conn.endHttp()
    return undefined
  }
  const r = read.value
  if (!next) conn.handshakeDone()
  if (r.kind === 'tooLarge') {
    conn.denyHttp(deny('HEADER_TOO_LARGE', `The request head exceeds ${limits.maxHeaderBytes} bytes`))
    conn.endHttp()
    return undefined
  }
  if (r.kind === 'malformed') {
    conn.denyHttp(deny('BAD_REQUEST', `Malformed request: ${r.detail}`), r.status)
    conn.endHttp()
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
 * Serves requests on a connection until one ends it: `one` handles a request and resolves with
 * the bytes read after it when the connection stays open (keep-alive), undefined when it is done;
 * or returns a Tunnel, whose promise this returns rather than awaits, so that no frame holding the
 * request head's buffer lives as long as the tunnel.
 */
export async function serveHttp(conn: ClientConnection, one: (head: HttpRequestHead, rest: Buffer) => Promise<Buffer | undefined> | Tunnel): Promise<void> {
  let got = await readRequestHead(conn)
  while (got) {
    const r = one(got.head, got.rest)
    got = undefined
    if (r instanceof Tunnel) return r.done
    const after = await r
    if (after === undefined) return
    got = await readRequestHead(conn, after)
  }
}

/** The flow of a destination: IP literals as `tcp` by address, names by name. */
function flowFor(conn: ClientConnection, host: string, port: number, protocol: 'https' | 'http' | 'tcp'): { flow: Flow; dialHost: string } | undefined {
  if (parseRawAddress(host)) {
    // CONNECT to an address: network rules only. Plain HTTP to an address: network rules by
    // address, and application rules whose target is `*` (the engine matches an IP Host so).
    // makeFlow: flows of one shape keep the engine's property reads monomorphic (flow.ts).
    const flow: Flow =
      protocol === 'http'
        ? makeFlow({ protocol, host, destinationIp: host, destinationPort: port, sourceIp: conn.srcIp })
        : makeFlow({ protocol: 'tcp', destinationIp: host, destinationPort: port, sourceIp: conn.srcIp })
    return { flow, dialHost: host }
  }
  const name = canonicalHost(host)
  if (name === undefined) return undefined
  return { flow: makeFlow({ protocol, host: name, destinationPort: port, sourceIp: conn.srcIp }), dialHost: name }
}

export function handleExplicit(conn: ClientConnection): Promise<void> {
  return serveHttp(conn, (head, rest) => explicitRequest(conn, head, rest))
}

const DONE: Promise<undefined> = Promise.resolve(undefined)

/** One request on the explicit port: the bytes after it when the connection stays open, or a tunnel. */
function explicitRequest(conn: ClientConnection, head: HttpRequestHead, rest: Buffer): Promise<Buffer | undefined> | Tunnel {
  conn.fields = { ...conn.fields, request: conn.requests }
  const auth = conn.rt.auth
  if (auth) {
    const result = checkProxyAuth(auth, head.proxyAuthorization)
    if (result !== 'ok') {
      const verdict =
        result === 'missing' ? deny('AUTH_REQUIRED', 'Proxy authentication required') : deny('AUTH_FAILED', 'Proxy authentication failed')
      conn.denyHttp(verdict, 407, [`Proxy-Authenticate: Basic realm="${auth.realm}"`])
      conn.endHttp()
      return DONE
    }
  }
  if (head.method === 'CONNECT') return new Tunnel(handleConnect(conn, head.targetAuthority!, rest))
  return handleForward(conn, head, rest)
}

async function handleConnect(conn: ClientConnection, target: Authority, rest: Buffer): Promise<void> {
  const state = conn.state
  const port = target.port!
  const isIp = parseRawAddress(target.host) !== undefined
  const tls = !isIp && isTlsPort(state, port)
  const planned = flowFor(conn, target.host, port, tls ? 'https' : 'tcp')
  conn.fields = { ...conn.fields, protocol: tls ? 'https' : 'tcp', host: target.host, port }
  if (!planned) {
    conn.denyHttp(deny('INVALID_HOST', `CONNECT host "${target.host}" is not a valid host name`))
    return
  }
  const decision = state.engine.decide(planned.flow)
  let verdict: Verdict = verdictOf(decision)
  if (verdict.action === 'deny') {
    conn.denyHttp(verdict)
    return
  }
  const dialed = await conn.dial(planned.dialHost, port)
  if (!dialed.ok) {
    conn.denyHttp(dialed.verdict)
    return
  }
  const origin = dialed.result.socket
  if (conn.socket.destroyed) {
    origin.destroy()
    conn.decide(deny('CLIENT_CLOSED', 'The client closed the connection while the proxy was connecting'))
    return
  }
  conn.socket.write(CONNECT_ESTABLISHED)
  let firstBytes: Uint8Array = rest
  if (tls) {
    const name = planned.dialHost
    const limits = conn.rt.limits
    const hello = await readInitial<ClientHelloResult>(conn.socket, rest, limits.handshakeTimeoutMs, (data) => {
      const r = parseClientHello(data, limits.maxClientHelloBytes)
      return r.kind === 'needMore' ? undefined : r
    })
    conn.handshakeDone()
    const byNetworkRule = decision.code === 'NETWORK_RULE_ALLOW'
    let denied: Verdict | undefined
    let alert = true
    if (hello.kind === 'timeout') {
      denied = deny('HANDSHAKE_TIMEOUT', `No complete ClientHello within ${limits.handshakeTimeoutMs} ms`)
      alert = false
    } else if (hello.kind === 'closed') {
      denied = deny('CLIENT_CLOSED', 'The client closed the tunnel before a complete ClientHello')
      alert = false
    } else {
      const r = hello.value
      firstBytes = hello.data
      switch (r.kind) {
        case 'sni':
          conn.fields = { ...conn.fields, sni: r.sni, alpn: r.alpn }
          if (canonicalHost(r.sni) !== name) {
            verdict = policyDeny('SNI_MISMATCH', `SNI "${r.sni}" does not match the CONNECT host ${name}`, state.reportMode, true, verdict.rule)
          }
          break
        case 'noSni':
          conn.fields = { ...conn.fields, sni: null, alpn: r.alpn }
          if (!byNetworkRule) verdict = policyDeny('SNI_MISSING', SNI_MISSING_REASON, state.reportMode, true, verdict.rule)
          break
        case 'notTls':
          alert = false
          if (!byNetworkRule) verdict = policyDeny('NOT_TLS', `The tunnel to ${formatHostPort(name, port)} does not start with a TLS ClientHello`, state.reportMode, true, verdict.rule)
          break
        case 'malformed':
          denied = deny('CLIENT_HELLO_MALFORMED', `Malformed ClientHello: ${r.detail}`)
          break
        case 'tooLarge':
          denied = deny('CLIENT_HELLO_TOO_LARGE', `The ClientHello exceeds ${limits.maxClientHelloBytes} bytes`)
          break
        case 'needMore':
          break
      }
      if (verdict.action === 'deny') denied = verdict
    }
    if (denied) {
      origin.destroy()
      conn.denyTls(denied, alert)
      return
    }
  }
  conn.decide(verdict)
  return conn.relay(origin, firstBytes)
}

function sameAuthority(a: Authority, b: Authority, defaultPort: number): boolean {
  return a.host.toLowerCase() === b.host.toLowerCase() && (a.port ?? defaultPort) === (b.port ?? defaultPort)
}

async function handleForward(conn: ClientConnection, head: HttpRequestHead, rest: Buffer): Promise<Buffer | undefined> {
  conn.fields = { ...conn.fields, protocol: 'http', method: head.method }
  if (head.form !== 'absolute') {
    return refuse(conn, deny('UNSUPPORTED_REQUEST', 'This is a proxy: send absolute-form requests (http://host/path) or CONNECT'))
  }
  const target = head.targetAuthority!
  const port = target.port ?? 80
  conn.fields = { ...conn.fields, host: target.host, port, url: head.target }
  if (head.scheme !== 'http') {
    return refuse(conn, deny('UNSUPPORTED_REQUEST', `Scheme "${head.scheme ?? ''}" is not forwarded; use CONNECT for https`))
  }
  if (head.hostHeader && !sameAuthority(head.hostHeader, target, 80)) {
    return refuse(conn, deny('HOST_MISMATCH', 'The Host field does not match the request target'))
  }
  return decideAndForward(conn, head, rest, target.host, port)
}

/**
 * A request refused before any origin: its status, then the connection closes (the request's body,
 * if any, was not read: the proxy cannot tell where the next request would start without reading
 * it, and a client that was refused has no reason to go on).
 */
export function refuse(conn: ClientConnection, verdict: Verdict, status?: number): undefined {
  conn.denyHttp(verdict, status)
  conn.endHttp()
  return undefined
}

/**
 * Decides a plain-HTTP request by its host under the policy in force, takes a pooled origin
 * connection or dials, forwards the request and relays the response. Shared with the transparent
 * HTTP listeners. Returns the bytes read after the request when the client connection stays open.
 */
export async function decideAndForward(conn: ClientConnection, head: HttpRequestHead, rest: Buffer, host: string, port: number): Promise<Buffer | undefined> {
  const planned = flowFor(conn, host, port, 'http')
  if (!planned) return refuse(conn, deny('INVALID_HOST', `Host "${host}" is not a valid host name`))
  const verdict = verdictOf(conn.state.engine.decide(planned.flow))
  if (verdict.action === 'deny') return refuse(conn, verdict)
  const authority = port !== 80 ? formatHostPort(host, port) : host.includes(':') ? `[${host}]` : host
  const dialed = await conn.dialHttp(planned.dialHost, port, authority)
  if (!dialed.ok) return refuse(conn, dialed.verdict)
  let origin = dialed.origin
  if (conn.socket.destroyed) {
    origin.socket.destroy()
    conn.decide(deny('CLIENT_CLOSED', 'The client closed the connection while the proxy was connecting'))
    conn.endHttp()
    return undefined
  }
  conn.decide(verdict)
  const rt = conn.rt
  const limits = rt.limits
  const requestHead = originRequestHead(head, authority)
  const clientKeepAlive = clientAllowsKeepAlive(head) && conn.requests < limits.maxRequestsPerConnection && !rt.draining()
  rt.metrics.tunnelsOpen.inc()
  let result: ExchangeResult
  try {
    result = await exchange({ client: conn.socket, origin: origin.socket, request: head, requestHead, body: rest, reused: origin.reused, clientKeepAlive, limits })
    if (result.outcome === 'retry') {
      // A pooled connection the origin had closed: once more on a new one (idempotent, no body).
      conn.forwarded(result.bytesUp, result.bytesDown)
      const again = await conn.dialHttp(planned.dialHost, port, authority, true)
      if (!again.ok) {
        rt.metrics.forwardedRequests.inc({ listener: conn.listener, outcome: 'bad-response' })
        if (!conn.socket.destroyed) conn.socket.write(httpDenyResponse(again.verdict))
        conn.endHttp()
        return undefined
      }
      origin = again.origin
      result = await exchange({ client: conn.socket, origin: origin.socket, request: head, requestHead, body: rest, reused: false, clientKeepAlive, limits })
    }
  } finally {
    rt.metrics.tunnelsOpen.dec()
  }
  conn.forwarded(result.bytesUp, result.bytesDown)
  rt.metrics.forwardedRequests.inc({ listener: conn.listener, outcome: result.outcome })
  if (result.detail !== undefined && result.outcome !== 'complete' && result.outcome !== 'client-closed' && rt.log.logger.isLevelEnabled('warn')) {
    rt.log.logger.warn({ event: 'forward-error', conn: conn.id, request: conn.requests, host, port, outcome: result.outcome, detail: result.detail }, 'forward error')
  }
  if (result.keepOrigin) rt.pool.put(origin.key, origin.socket)
  if (result.keepClient && !rt.draining() && !conn.socket.destroyed) return result.pending ?? EMPTY
  conn.endHttp()
  return undefined
}

const EMPTY = Buffer.alloc(0)
