/**
 * @module A transparent HTTP listener for one original port (an `Http` rule's port): reads the
 * request head, decides `http` by the Host on the original port, resolves the Host itself and
 * forwards the one request to a checked address (forward-http.ts), then closes.
 *
 * Azure Firewall semantics (azure-facts §2.2): the Host's port must be the connection's port (a
 * Host without a port means 80), else the request is dropped; the packet's destination address
 * is ignored.
 */
import { formatHostPort } from './authority.ts'
import type { ClientConnection } from './client-connection.ts'
import { decideAndForward, readRequestHead } from './explicit-proxy.ts'
import { deny } from './outcome.ts'

export async function handleTransparentHttp(conn: ClientConnection, originalPort: number): Promise<void> {
  conn.fields = { ...conn.fields, protocol: 'http', port: originalPort }
  const got = await readRequestHead(conn)
  if (!got) return
  const { head, rest } = got
  conn.fields = { ...conn.fields, method: head.method }
  if (head.method === 'CONNECT' || head.form === 'asterisk') {
    conn.denyHttp(deny('UNSUPPORTED_REQUEST', `${head.method} ${head.target} is not forwarded by a transparent listener`))
    return
  }
  const authority = head.form === 'absolute' ? head.targetAuthority : head.hostHeader
  if (!authority) {
    conn.denyHttp(deny('HOST_MISSING', 'HTTP request without a Host header'))
    return
  }
  conn.fields = { ...conn.fields, host: authority.host, url: `http://${formatHostPort(authority.host, authority.port ?? 80)}${head.path}` }
  if ((authority.port ?? 80) !== originalPort) {
    conn.denyHttp(deny('HOST_MISMATCH', `The Host port ${authority.port ?? 80} is not the connection's port ${originalPort}`), 403)
    return
  }
  return decideAndForward(conn, head, rest, authority.host, originalPort)
}
