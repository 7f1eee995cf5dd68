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
import { SNI_MISSING_REASON } from '../policy/decision.ts'
import { parseRawAddress } from '../net/classify-address.ts'
import { formatIp } from '../policy/ip-address.ts'
import { formatHostPort, type Authority } from './authority.ts'
import type { ClientHelloResult } from './client-hello.ts'
import type { DecisionFields } from './decision-fields.ts'
import type { ServeLimits } from './serve-defaults.ts'
import { clientHelloStep, helloTimeout, type HelloDenial } from './transparent-tls.ts'
import type { ClientConnection } from './client-connection.ts'
import { flowFor } from './flow-for.ts'
import { decideAndForward, refuse } from './forward-request.ts'
import type { HttpRequestHead } from './http-head.ts'
import { serveHttp, serveHttpFrom, Tunnel, type RequestHandled } from './http-session.ts'
import { CLIENT_GONE_WHILE_CONNECTING, deny, failedAfter, policyDeny, verdictOf, type Verdict } from './outcome.ts'
import { isTlsPort } from './policy-state.ts'
import { checkProxyAuth } from './proxy-auth.ts'
import { readInitial } from './read-initial.ts'

// A Buffer, not a string: written as is, never encoded per connection (never mutated: writes may hold it).
export const CONNECT_ESTABLISHED = Buffer.from('HTTP/1.1 200 Connection established\r\n\r\n', 'latin1')

export function handleExplicit(conn: ClientConnection): Promise<void> {
  return serveHttp(conn, (head, rest) => explicitRequest(conn, head, rest))
}

/**
 * The explicit port's connection from its first request on, that request's head read already
 * (src/proxy/tunnel-connection.ts hands over what it does not serve itself: forwarded requests,
 * CONNECTs without valid proxy credentials).
 */
export function continueExplicit(conn: ClientConnection, head: HttpRequestHead, rest: Buffer): Promise<void> {
  return serveHttpFrom(conn, { head, rest }, (h, r) => explicitRequest(conn, h, r))
}

const DONE: Promise<null> = Promise.resolve(null)

/** One request on the explicit port: a forwarded request (the connection may go on), or a tunnel. */
function explicitRequest(conn: ClientConnection, head: HttpRequestHead, rest: Buffer): RequestHandled {
  const auth = conn.rt.auth()
  if (auth) {
    const result = checkProxyAuth(auth, head.proxyAuthorization)
    if (result !== 'ok') {
      const verdict =
        result === 'missing' ? deny('AUTH_REQUIRED', 'Proxy authentication required') : deny('AUTH_FAILED', 'Proxy authentication failed')
      conn.denyHttp(verdict, 407, [`Proxy-Authenticate: Basic realm="${auth.realm}"`])
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
  const planned = flowFor(conn, target.host, port, tls ? 'https' : 'tcp', isIp)
  conn.fields.protocol = tls ? 'https' : 'tcp'
  conn.fields.host = target.host
  conn.fields.port = port
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
    conn.denyHttp(failedAfter(verdict, dialed.verdict))
    return
  }
  const origin = dialed.result.socket
  if (conn.socket.destroyed) {
    origin.destroy()
    conn.decide(failedAfter(verdict, CLIENT_GONE_WHILE_CONNECTING))
    return
  }
  conn.socket.write(CONNECT_ESTABLISHED)
  let firstBytes: Uint8Array = rest
  if (tls) {
    const limits = conn.rt.limits
    const hello = await readInitial(conn.socket, rest, limits.handshakeTimeoutMs, (data) => clientHelloStep(limits.maxClientHelloBytes, data))
    conn.handshakeDone()
    if (hello.kind === 'done') firstBytes = hello.data
    const judged = judgeConnectHello(hello.kind === 'done' ? hello.value : hello.kind, planned.dialHost, port, decision.code, verdict, state.reportMode, limits, conn.fields)
    if ('alert' in judged) {
      origin.destroy()
      conn.denyTls(judged.verdict, judged.alert)
      return
    }
    verdict = judged
  }
  conn.decide(verdict)
  return conn.relay(origin, firstBytes)
}

/**
 * What the ClientHello read inside a CONNECT tunnel to a TLS port (after the 200) does to the
 * tunnel's verdict: the verdict to go on with (the same object when nothing changes), or a denial
 * to send (with or without an alert) and close. Its SNI must be the CONNECT host (no domain
 * fronting through CONNECT); without SNI, or with bytes that are not TLS, only a network rule
 * (which does not look at bytes, Azure semantics) lets the tunnel go on. `hello`: the parser's
 * result, or why there is none. Records the SNI and ALPN in `fields`. Shared by handleConnect and
 * src/proxy/tunnel-connection.ts.
 */
export function judgeConnectHello(
  hello: Exclude<ClientHelloResult, { kind: 'needMore' }> | 'timeout' | 'closed',
  name: string,
  port: number,
  decisionCode: string,
  verdict: Verdict,
  reportMode: boolean,
  limits: ServeLimits,
  fields: DecisionFields,
): Verdict | HelloDenial {
  const byNetworkRule = decisionCode === 'NETWORK_RULE_ALLOW'
  let denied: Verdict | undefined
  let alert = true
  if (hello === 'timeout') {
    const t = helloTimeout(limits)
    denied = t.verdict
    alert = t.alert
  } else if (hello === 'closed') {
    denied = deny('CLIENT_CLOSED', 'The client closed the tunnel before a complete ClientHello')
    alert = false
  } else {
    switch (hello.kind) {
      case 'sni':
        fields.sni = hello.sni
        fields.alpn = hello.alpn
        if (canonicalHost(hello.sni) !== name) {
          verdict = policyDeny('SNI_MISMATCH', `SNI "${hello.sni}" does not match the CONNECT host ${name}`, reportMode, true, verdict.rule)
        }
        break
      case 'noSni':
        fields.sni = null
        fields.alpn = hello.alpn
        if (!byNetworkRule) verdict = policyDeny('SNI_MISSING', SNI_MISSING_REASON, reportMode, true, verdict.rule)
        break
      case 'notTls':
        alert = false
        if (!byNetworkRule) verdict = policyDeny('NOT_TLS', `The tunnel to ${formatHostPort(name, port)} does not start with a TLS ClientHello`, reportMode, true, verdict.rule)
        break
      case 'malformed':
        denied = deny('CLIENT_HELLO_MALFORMED', `Malformed ClientHello: ${hello.detail}`)
        break
      case 'tooLarge':
        denied = deny('CLIENT_HELLO_TOO_LARGE', `The ClientHello exceeds ${limits.maxClientHelloBytes} bytes`)
        break
    }
    if (verdict.action === 'deny') denied = verdict
  }
  return denied === undefined ? verdict : { verdict: failedAfter(verdict, denied), alert }
}

/** A host as the policy compares it: a name lower-cased without its trailing dot, an address in one form (`[0:0::1]` is `[::1]`). */
function hostKey(host: string): string {
  const name = canonicalHost(host)
  if (name !== undefined) return name
  const address = parseRawAddress(host)
  return address === undefined ? host.toLowerCase() : `${address.mapped ? 'mapped:' : ''}${formatIp(address.ip)}`
}

function sameAuthority(a: Authority, b: Authority, defaultPort: number): boolean {
  return (a.port ?? defaultPort) === (b.port ?? defaultPort) && hostKey(a.host) === hostKey(b.host)
}

async function handleForward(conn: ClientConnection, head: HttpRequestHead, rest: Buffer): Promise<Buffer | null> {
  const f = conn.fields
  f.protocol = 'http'
  f.method = head.method
  if (head.form !== 'absolute') {
    return refuse(conn, deny('UNSUPPORTED_REQUEST', 'This is a proxy: send absolute-form requests (http://host/path) or CONNECT'))
  }
  const target = head.targetAuthority!
  const port = target.port ?? 80
  f.host = target.host
  f.port = port
  f.url = head.target
  if (head.scheme !== 'http') {
    return refuse(conn, deny('UNSUPPORTED_REQUEST', `Scheme "${head.scheme ?? ''}" is not forwarded; use CONNECT for https`))
  }
  if (head.hostHeader && !sameAuthority(head.hostHeader, target, 80)) {
    return refuse(conn, deny('HOST_MISMATCH', 'The Host field does not match the request target'))
  }
  return decideAndForward(conn, head, rest, target.host, port)
}
