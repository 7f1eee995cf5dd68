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
import { CLIENT_GONE_WHILE_CONNECTING, deny, failedAfter, verdictOf } from './outcome.ts'
import { readInitial } from './read-initial.ts'

export async function handleTransparentTls(conn: ClientConnection, originalPort: number): Promise<void> {
  const limits = conn.rt.limits
  conn.fields.protocol = 'https'
  conn.fields.port = originalPort
  const hello = await readInitial<ClientHelloResult>(conn.socket, undefined, limits.handshakeTimeoutMs, (data) => {
    const r = parseClientHello(data, limits.maxClientHelloBytes)
    return r.kind === 'needMore' ? undefined : r
  })
  if (hello.kind === 'timeout') {
    conn.denyTls(deny('HANDSHAKE_TIMEOUT', `No complete ClientHello within ${limits.handshakeTimeoutMs} ms`), false)
    return
  }
  if (hello.kind === 'closed') {
    conn.decide(deny('CLIENT_CLOSED', 'The client closed the connection before a complete ClientHello'))
    conn.socket.destroy()
    return
  }
  conn.handshakeDone()
  conn.adoptCurrentPolicy()
  const r = hello.value
  switch (r.kind) {
    case 'notTls':
      conn.denyTls(deny('NOT_TLS', `Bytes on TLS port ${originalPort} are not a TLS ClientHello`), false)
      return
    case 'malformed':
      conn.denyTls(deny('CLIENT_HELLO_MALFORMED', `Malformed ClientHello: ${r.detail}`))
      return
    case 'tooLarge':
      conn.denyTls(deny('CLIENT_HELLO_TOO_LARGE', `The ClientHello exceeds ${limits.maxClientHelloBytes} bytes`))
      return
    case 'noSni':
      conn.fields.sni = null
      conn.fields.alpn = r.alpn
      conn.denyTls(deny('SNI_MISSING', SNI_MISSING_REASON))
      return
    case 'needMore':
      return
    case 'sni':
      break
  }
  conn.fields.host = r.sni
  conn.fields.sni = r.sni
  conn.fields.alpn = r.alpn
  const name = canonicalHost(r.sni)
  if (name === undefined) {
    conn.denyTls(deny('INVALID_HOST', `SNI "${r.sni}" is not a valid host name`))
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
