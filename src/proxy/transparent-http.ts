/**
 * @module A transparent HTTP listener for one original port (an `Http` rule's port): reads each
 * request head, decides `http` by the Host on the original port, resolves the Host itself and
 * forwards the request to a checked address (forward-request.ts); a kept-alive connection serves
 * one request after another (http-session.ts), each decided again by its own Host.
 *
 * Azure Firewall semantics (azure-facts §2.2): the Host's port must be the connection's port (a
 * Host without a port means 80), else the request is dropped; the packet's destination address
 * is ignored.
 */
import { formatHostPort } from './authority.ts'
import type { ClientConnection } from './client-connection.ts'
import { decideAndForward, refuse } from './forward-request.ts'
import type { HttpRequestHead } from './http-head.ts'
import { serveHttp } from './http-session.ts'
import { deny } from './outcome.ts'

export function handleTransparentHttp(conn: ClientConnection, originalPort: number): Promise<void> {
  conn.fields.protocol = 'http'
  conn.fields.port = originalPort
  return serveHttp(conn, (head, rest) => transparentRequest(conn, originalPort, head, rest))
}

function transparentRequest(conn: ClientConnection, originalPort: number, head: HttpRequestHead, rest: Buffer): Promise<Buffer | null> {
  const f = conn.fields
  f.protocol = 'http'
  f.port = originalPort
  f.method = head.method
  if (head.method === 'CONNECT' || head.form === 'asterisk') {
    return Promise.resolve(refuse(conn, deny('UNSUPPORTED_REQUEST', `${head.method} ${head.target} is not forwarded by a transparent listener`)))
  }
  if (head.form === 'absolute' && head.scheme !== 'http') {
    return Promise.resolve(refuse(conn, deny('UNSUPPORTED_REQUEST', `Scheme "${head.scheme ?? ''}" is not forwarded by a transparent HTTP listener`)))
  }
  const authority = head.form === 'absolute' ? head.targetAuthority : head.hostHeader
  if (!authority) return Promise.resolve(refuse(conn, deny('HOST_MISSING', 'HTTP request without a Host header')))
  f.host = authority.host
  f.url = `http://${formatHostPort(authority.host, authority.port ?? 80)}${head.path}`
  if ((authority.port ?? 80) !== originalPort) {
    return Promise.resolve(refuse(conn, deny('HOST_MISMATCH', `The Host port ${authority.port ?? 80} is not the connection's port ${originalPort}`), 403))
  }
  return decideAndForward(conn, head, rest, authority.host, originalPort)
}
