/**
 * @module Bytes as a latin1 string, one char per byte: how the proxy turns the ASCII of a wire
 * format (an HTTP head's tokens, a ClientHello's host_name and ALPN names) into strings.
 */

/**
 * `buf[s..e)` as a latin1 string. Buffer's native decoder, also for a plain Uint8Array (a view
 * over its memory, no copy): `String.fromCharCode(...bytes)` goes through the iterator protocol
 * and cost about 20 times as much per name (1.3 µs for a 50-byte name, on the path of every TLS
 * connection).
 */
export function latin1(buf: Uint8Array, s: number, e: number): string {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)
  return b.toString('latin1', s, e)
}
