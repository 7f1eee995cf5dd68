/**
 * @module The message heads a forwarding proxy writes: the request head sent to the origin and the
 * response head sent to the client, each without the other hop's connection-specific fields
 * (RFC 9110 §7.6.1), and whether the client's connection may persist (RFC 9112 §9.3).
 *
 * Removed both ways: `Connection` and every field it names, `Proxy-Connection`, `Keep-Alive`,
 * `TE`, `Upgrade`, `Proxy-Authenticate`; from requests also `Proxy-Authorization` (the proxy's
 * own credentials, never the origin's). A Connection token cannot remove a framing field
 * (Content-Length, Transfer-Encoding, Trailer, Host): if it could, the proxy and its peer would
 * disagree about where the body ends (request smuggling).
 *
 * Framing is written by the proxy, not copied: one `Content-Length` (the request parser accepts
 * only equal values, RFC 9112 §6.3; RFC 9110 §8.6 lets a proxy replace them with one) or
 * `Transfer-Encoding: chunked`; every head says HTTP/1.1, the proxy's own version (RFC 9110 §2.5).
 * `Upgrade` is removed, so no origin switches protocols on a forwarded request (a `101` is refused
 * anyway, forward-http.ts): WebSocket and h2c over plain HTTP are not forwarded.
 */
import type { HttpRequestHead } from './http-head.ts'
import type { HttpResponseHead } from './response-head.ts'

const REQUEST_DROP = new Set(['connection', 'proxy-connection', 'keep-alive', 'te', 'upgrade', 'proxy-authorization', 'proxy-authenticate', 'host', 'content-length', 'transfer-encoding'])
const RESPONSE_DROP = new Set(['connection', 'proxy-connection', 'keep-alive', 'te', 'upgrade', 'proxy-authenticate'])
/** Besides RESPONSE_DROP, when a chunked response is decoded for an HTTP/1.0 client. */
const DECODED_DROP = new Set([...RESPONSE_DROP, 'transfer-encoding', 'trailer', 'content-length'])
/** Fields that frame a message: a Connection token naming one is ignored. */
const FRAMING_FIELDS = new Set(['content-length', 'transfer-encoding', 'trailer', 'host'])

function dropSet(base: ReadonlySet<string>, tokens: readonly string[]): ReadonlySet<string> {
  if (tokens.length === 0) return base
  let drop: Set<string> | undefined
  for (const t of tokens) {
    if (FRAMING_FIELDS.has(t) || base.has(t)) continue
    drop ??= new Set(base)
    drop.add(t)
  }
  return drop ?? base
}

/**
 * The request head sent to the origin (latin1). `authority`: the Host value (`name[:port]`);
 * `keepOrigin` false adds `Connection: close` (no pool, or the proxy is draining).
 * @example originRequestHead(head, 'security.ubuntu.com', true) // 'GET /ubuntu/ HTTP/1.1\r\nHost: security.ubuntu.com\r\n...\r\n\r\n'
 */
export function originRequestHead(head: HttpRequestHead, authority: string, keepOrigin: boolean): string {
  const drop = dropSet(REQUEST_DROP, head.connectionTokens)
  let out = `${head.method} ${head.path} HTTP/1.1\r\nHost: ${authority}\r\n`
  for (const [name, value] of head.headers) {
    if (drop.has(name.toLowerCase())) continue
    out += `${name}: ${value}\r\n`
  }
  if (head.chunked) out += 'Transfer-Encoding: chunked\r\n'
  else if (head.contentLength !== undefined) out += `Content-Length: ${head.contentLength}\r\n`
  if (!keepOrigin) out += 'Connection: close\r\n'
  return `${out}\r\n`
}

/**
 * The response head sent to the client (latin1). `connection`: the proxy's own `Connection`
 * value, undefined for a 1xx. `decoded`: the chunked body is sent decoded and close-delimited (an
 * HTTP/1.0 client), so the framing fields go.
 */
export function clientResponseHead(head: HttpResponseHead, connection: 'keep-alive' | 'close' | undefined, decoded = false): string {
  const drop = dropSet(decoded ? DECODED_DROP : RESPONSE_DROP, head.connectionTokens)
  let out = `HTTP/1.1 ${head.status} ${head.reason}\r\n`
  for (const [name, value] of head.headers) {
    if (drop.has(name.toLowerCase())) continue
    out += `${name}: ${value}\r\n`
  }
  if (connection !== undefined) out += `Connection: ${connection}\r\n`
  return `${out}\r\n`
}

/** Whether the response's only transfer coding is `chunked` (so that decoding it yields the content). */
export function onlyChunked(head: HttpResponseHead): boolean {
  let codings = 0
  for (const [name, value] of head.headers) {
    if (name.length !== 17 || name.toLowerCase() !== 'transfer-encoding') continue
    for (const part of value.split(',')) {
      const t = part.trim()
      if (t.length === 0) continue
      if (t.toLowerCase() !== 'chunked') return false
      codings++
    }
  }
  return codings === 1
}

function hasToken(value: string, token: string): boolean {
  for (const part of value.split(',')) if (part.trim().toLowerCase() === token) return true
  return false
}

/**
 * Whether the client asked to keep its connection (RFC 9112 §9.3): HTTP/1.1 unless `close`;
 * HTTP/1.0 only with `keep-alive`. `Proxy-Connection` (sent by old clients to proxies instead of
 * Connection) counts the same way.
 */
export function clientAllowsKeepAlive(head: HttpRequestHead): boolean {
  let proxyClose = false
  let proxyKeep = false
  for (const [name, value] of head.headers) {
    if (name.length !== 16 || name.toLowerCase() !== 'proxy-connection') continue
    if (hasToken(value, 'close')) proxyClose = true
    else if (hasToken(value, 'keep-alive')) proxyKeep = true
  }
  if (proxyClose || head.connectionTokens.includes('close')) return false
  return head.version === '1.1' || head.connectionTokens.includes('keep-alive') || proxyKeep
}
