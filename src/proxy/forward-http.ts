/**
 * @module Forwarding one plain-HTTP request (explicit proxy absolute-form, transparent HTTP) to
 * the checked origin, then closing: one request per client connection.
 *
 * Why close after each request rather than keep-alive: the proxy decides per request (by its
 * Host), so keep-alive would mean parsing every response's framing (1xx, HEAD, 204/304,
 * chunked, close-delimited) to know where the next request starts, and every framing
 * disagreement between the proxy and an origin is a request-smuggling bug. Plain HTTP on AKS
 * nodes is low volume (package mirrors); HTTPS goes through CONNECT tunnels, which stay open.
 * The request body is passed exactly as framed (Content-Length or chunked, chunked-scanner.ts);
 * bytes after it (a pipelined or smuggled second request) are discarded, never forwarded.
 *
 * Hop-by-hop fields are removed (RFC 9110 §7.6.1: Connection and the fields it names,
 * Proxy-Connection, Keep-Alive, TE, Upgrade, Proxy-Authorization, Proxy-Authenticate; Trailer and
 * Transfer-Encoding stay because the body is relayed with its framing); Host is set to the target;
 * `Connection: close` is added.
 */
import { Transform, type TransformCallback } from 'node:stream'
import { ChunkedScanner } from './chunked-scanner.ts'
import type { HttpRequestHead } from './http-head.ts'

const ALWAYS_HOP_BY_HOP = new Set(['connection', 'proxy-connection', 'keep-alive', 'te', 'upgrade', 'proxy-authorization', 'proxy-authenticate', 'host'])

/** The request head sent to the origin. `authority` is the Host value (`name[:port]`). */
export function originRequestHead(head: HttpRequestHead, authority: string): string {
  const drop = new Set(ALWAYS_HOP_BY_HOP)
  for (const t of head.connectionTokens) if (t !== 'transfer-encoding' && t !== 'trailer') drop.add(t)
  let out = `${head.method} ${head.path} HTTP/1.1\r\nHost: ${authority}\r\n`
  for (const [name, value] of head.headers) {
    if (drop.has(name.toLowerCase())) continue
    out += `${name}: ${value}\r\n`
  }
  return `${out}Connection: close\r\n\r\n`
}

/** Passes exactly one request body (by Content-Length or chunked framing), then discards. */
export class RequestBodyFilter extends Transform {
  #remaining: number
  readonly #chunked: ChunkedScanner | undefined
  #done: boolean

  constructor(head: HttpRequestHead, maxChunkLineBytes: number) {
    super()
    this.#chunked = head.chunked ? new ChunkedScanner(maxChunkLineBytes) : undefined
    this.#remaining = head.contentLength ?? 0
    this.#done = !head.chunked && this.#remaining === 0
  }

  get done(): boolean {
    return this.#done
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.#done) {
      callback()
      return
    }
    if (this.#chunked) {
      const r = this.#chunked.feed(chunk)
      if (r.kind === 'invalid') {
        callback(new Error(`invalid chunked body: ${r.detail}`))
        return
      }
      if (r.kind === 'done') {
        this.#done = true
        callback(null, chunk.subarray(0, r.end))
        return
      }
      callback(null, chunk)
      return
    }
    const take = Math.min(this.#remaining, chunk.length)
    this.#remaining -= take
    if (this.#remaining === 0) this.#done = true
    callback(null, take === chunk.length ? chunk : chunk.subarray(0, take))
  }
}
