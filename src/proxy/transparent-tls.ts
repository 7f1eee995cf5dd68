/**
 * @module A transparent TLS listener: what a UDR to the appliance delivers, redirected by nftables
 * from one original port (an `Https` rule's port) to this listener, which therefore knows that
 * port. It reads the SNI from the ClientHello (across TCP segments and TLS records, bounded),
 * decides `https` by SNI on the original port, resolves the SNI itself and dials a checked
 * address — never the client's original destination, so an allowed SNI sent to another IP
 * reaches the allowed name's servers (SNI spoofing). Then it replays the peeked bytes untouched
 * (ALPN included) and splices.
 *
 * No SNI: denied, "SNI TLS extension was missing" (Azure's wording), even in report mode: with no
 * name there is nothing the proxy could dial. Bytes that are not TLS: denied, closed without an
 * alert.
 */
import { canonicalHost } from '../policy/fqdn.ts'
import { SNI_MISSING_REASON } from '../policy/decision.ts'
import { makeFlow } from '../policy/flow.ts'
import { parseClientHello, type ClientHelloResult } from './client-hello.ts'
import type { ClientConnection } from './client-connection.ts'
import { CLIENT_GONE_WHILE_CONNECTING, deny, failedAfter, verdictOf, type Verdict } from './outcome.ts'
import type { DecisionFields } from './decision-fields.ts'
import type { ServeLimits } from './serve-defaults.ts'
import { readInitial } from './read-initial.ts'

/** A ClientHello that cannot go on to the policy: the verdict, and whether a TLS alert is sent before the close. */
export interface HelloDenial {
  readonly verdict: Verdict
  readonly alert: boolean
}

/** The handshake bound passed before a complete ClientHello: closed without an alert. */
export function helloTimeout(limits: ServeLimits): HelloDenial {
  return { verdict: deny('HANDSHAKE_TIMEOUT', `No complete ClientHello within ${limits.handshakeTimeoutMs} ms`), alert: false }
}

/**
 * What a complete ClientHello on a transparent TLS port leads to before the policy: the SNI in
 * normal form (a string), or a denial. Records what it learns (host, SNI, ALPN) in `fields`.
 * Shared by both connection paths (handleTransparentTls and src/proxy/tunnel-connection.ts).
 */
export function judgeClientHello(r: Exclude<ClientHelloResult, { kind: 'needMore' }>, originalPort: number, limits: ServeLimits, fields: DecisionFields): string | HelloDenial {
  switch (r.kind) {
    case 'notTls':
      return { verdict: deny('NOT_TLS', `Bytes on TLS port ${originalPort} are not a TLS ClientHello`), alert: false }
    case 'malformed':
      return { verdict: deny('CLIENT_HELLO_MALFORMED', `Malformed ClientHello: ${r.detail}`), alert: true }
    case 'tooLarge':
      return { verdict: deny('CLIENT_HELLO_TOO_LARGE', `The ClientHello exceeds ${limits.maxClientHelloBytes} bytes`), alert: true }
    case 'noSni':
      fields.sni = null
      fields.alpn = r.alpn
      return { verdict: deny('SNI_MISSING', SNI_MISSING_REASON), alert: true }
    case 'sni':
      break
  }
  fields.host = r.sni
  fields.sni = r.sni
  fields.alpn = r.alpn
  return canonicalHost(r.sni) ?? { verdict: deny('INVALID_HOST', `SNI "${r.sni}" is not a valid host name`), alert: true }
}

/** The ClientHello parser as a step of readInitial: a result once it can decide. */
export function clientHelloStep(maxBytes: number, data: Buffer): Exclude<ClientHelloResult, { kind: 'needMore' }> | undefined {
  const r = parseClientHello(data, maxBytes)
  return r.kind === 'needMore' ? undefined : r
}

/** The client closed before a complete ClientHello. */
export const HELLO_CLIENT_CLOSED: Verdict = Object.freeze(deny('CLIENT_CLOSED', 'The client closed the connection before a complete ClientHello'))

export async function handleTransparentTls(conn: ClientConnection, originalPort: number): Promise<void> {
  const limits = conn.rt.limits
  conn.fields.protocol = 'https'
  conn.fields.port = originalPort
  const hello = await readInitial(conn.socket, undefined, limits.handshakeTimeoutMs, (data) => clientHelloStep(limits.maxClientHelloBytes, data))
  if (hello.kind === 'timeout') {
    const t = helloTimeout(limits)
    conn.denyTls(t.verdict, t.alert)
    return
  }
  if (hello.kind === 'closed') {
    conn.decide(HELLO_CLIENT_CLOSED)
    conn.socket.destroy()
    return
  }
  conn.handshakeDone()
  conn.adoptCurrentPolicy()
  const name = judgeClientHello(hello.value, originalPort, limits, conn.fields)
  if (typeof name !== 'string') {
    conn.denyTls(name.verdict, name.alert)
    return
  }
  const verdict = verdictOf(conn.state.engine.decide(makeFlow({ protocol: 'https', sni: name, destinationPort: originalPort, sourceIp: conn.srcIp })))
  if (verdict.action === 'deny') {
    conn.denyTls(verdict)
    return
  }
  const dialed = await conn.dial(name, originalPort)
  if (!dialed.ok) {
    conn.denyTls(failedAfter(verdict, dialed.verdict))
    return
  }
  const origin = dialed.result.socket
  if (conn.socket.destroyed) {
    origin.destroy()
    conn.decide(failedAfter(verdict, CLIENT_GONE_WHILE_CONNECTING))
    return
  }
  conn.decide(verdict)
  return conn.relay(origin, hello.data)
}
