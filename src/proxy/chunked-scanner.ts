/**
 * @module Finds where a chunked body ends (RFC 9112 §7.1) without decoding it: the proxy relays
 * request and response bodies as sent, and must stop exactly at their end so that bytes after one
 * (a pipelined or smuggled second request, a stray byte after a response) are never taken as part
 * of it. A state machine over bytes, bounded: chunk sizes of at most 16 hex digits, chunk
 * extensions and trailer lines of at most `maxLineBytes`. Optionally it reports where the chunk
 * data lies (`onData`), which is all a decoder needs (a response to an HTTP/1.0 client, which
 * cannot read chunked: RFC 9112 §6.1).
 *
 *   chunked-body = *chunk last-chunk trailer-section CRLF
 *   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *   last-chunk   = 1*("0") [ chunk-ext ] CRLF
 */

const MAX_SIZE_DIGITS = 16

type State = 'size' | 'ext' | 'sizeLf' | 'data' | 'dataCr' | 'dataLf' | 'trailerStart' | 'trailer' | 'trailerLf' | 'finalLf' | 'done'

export type ScanResult =
  /** All of the chunk belongs to the body; more is expected. */
  | { readonly kind: 'more' }
  /** The body ends at `end` (exclusive) within the chunk. */
  | { readonly kind: 'done'; readonly end: number }
  | { readonly kind: 'invalid'; readonly detail: string }

const MORE: ScanResult = Object.freeze({ kind: 'more' })

function hex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10
  return -1
}

export class ChunkedScanner {
  #state: State = 'size'
  #size = 0n
  #digits = 0
  #remaining = 0
  #lineBytes = 0
  readonly #maxLineBytes: number

  constructor(maxLineBytes = 4096) {
    this.#maxLineBytes = maxLineBytes
  }

  get done(): boolean {
    return this.#state === 'done'
  }

  /**
   * Scans `chunk` from `offset`. `onData(start, end)`: called for each run of chunk data in
   * `chunk` (payload bytes only, without sizes, extensions, CRLFs or trailers), in order.
   */
  feed(chunk: Uint8Array, offset = 0, onData?: (start: number, end: number) => void): ScanResult {
    let i = offset
    while (i < chunk.length) {
      const c = chunk[i]!
      switch (this.#state) {
        case 'size': {
          const h = hex(c)
          if (h >= 0) {
            if (++this.#digits > MAX_SIZE_DIGITS) return { kind: 'invalid', detail: 'chunk size too long' }
            this.#size = this.#size * 16n + BigInt(h)
          } else if (this.#digits === 0) {
            return { kind: 'invalid', detail: 'chunk size missing' }
          } else if (c === 0x0d) {
            this.#state = 'sizeLf'
          } else if (c === 0x3b || c === 0x20 || c === 0x09) {
            this.#state = 'ext'
            this.#lineBytes = 0
          } else {
            return { kind: 'invalid', detail: 'invalid character in chunk size' }
          }
          i++
          break
        }
        case 'ext':
          if (c === 0x0d) this.#state = 'sizeLf'
          else if (c === 0x0a || ++this.#lineBytes > this.#maxLineBytes) return { kind: 'invalid', detail: 'invalid chunk extension' }
          i++
          break
        case 'sizeLf':
          if (c !== 0x0a) return { kind: 'invalid', detail: 'bare CR after chunk size' }
          i++
          if (this.#size === 0n) {
            this.#state = 'trailerStart'
          } else {
            if (this.#size > BigInt(Number.MAX_SAFE_INTEGER)) return { kind: 'invalid', detail: 'chunk size too large' }
            this.#remaining = Number(this.#size)
            this.#state = 'data'
          }
          break
        case 'data': {
          const take = Math.min(this.#remaining, chunk.length - i)
          if (onData && take > 0) onData(i, i + take)
          i += take
          this.#remaining -= take
          if (this.#remaining === 0) this.#state = 'dataCr'
          break
        }
        case 'dataCr':
          if (c !== 0x0d) return { kind: 'invalid', detail: 'chunk data not followed by CRLF' }
          this.#state = 'dataLf'
          i++
          break
        case 'dataLf':
          if (c !== 0x0a) return { kind: 'invalid', detail: 'chunk data not followed by CRLF' }
          this.#state = 'size'
          this.#size = 0n
          this.#digits = 0
          i++
          break
        case 'trailerStart':
          if (c === 0x0d) this.#state = 'finalLf'
          else {
            this.#state = 'trailer'
            this.#lineBytes = 1
          }
          i++
          break
        case 'trailer':
          if (c === 0x0d) this.#state = 'trailerLf'
          else if (c === 0x0a || ++this.#lineBytes > this.#maxLineBytes) return { kind: 'invalid', detail: 'invalid trailer field' }
          i++
          break
        case 'trailerLf':
          if (c !== 0x0a) return { kind: 'invalid', detail: 'bare CR in trailer' }
          this.#state = 'trailerStart'
          i++
          break
        case 'finalLf':
          if (c !== 0x0a) return { kind: 'invalid', detail: 'bare CR at the end of the body' }
          this.#state = 'done'
          return { kind: 'done', end: i + 1 }
        case 'done':
          return { kind: 'done', end: i }
      }
    }
    return MORE
  }
}
