/**
 * @module A client's first bytes as they come, for a parser that needs them whole (a request head,
 * a ClientHello) and for the replay to the origin after it.
 *
 * Most heads and ClientHellos arrive in one read: a read's chunk (a fresh Buffer of its own, which
 * Node never reuses) is then kept as it is. A buffer is allocated and the bytes copied only when a
 * second piece comes, or for bytes the caller does not own; it grows by doubling (the parsers stop
 * it at their own byte bound). Per new connection, a 4 KiB allocation and a copy per read were
 * measured before this (docs/benchmarks.md). Shared by readInitial (src/proxy/read-initial.ts)
 * and TunnelConnection (src/proxy/tunnel-connection.ts).
 */
const EMPTY = Buffer.alloc(0)

export class GatheredBytes {
  /** The bytes so far: a chunk as it came, or a prefix of `#buf`. */
  bytes: Buffer = EMPTY
  /** Where pieces are gathered, once there are two. */
  #buf: Buffer | undefined

  /** Appends `chunk`; `own`: the caller gives it up (a read's chunk), so it may be kept as it is. */
  append(chunk: Uint8Array, own: boolean): void {
    const bytes = this.bytes
    const length = bytes.length
    if (length === 0 && own) {
      this.bytes = chunk as Buffer
      return
    }
    let buf = this.#buf
    if (buf === undefined || length === 0 || bytes.buffer !== buf.buffer || length + chunk.length > buf.length) {
      const next = Buffer.allocUnsafe(Math.max(4096, (buf?.length ?? 0) * 2, length + chunk.length))
      bytes.copy(next, 0, 0, length)
      buf = this.#buf = next
    }
    buf.set(chunk, length)
    this.bytes = buf.subarray(0, length + chunk.length)
  }

  /** Starts again from `bytes` (the caller's, kept as they are): what is gathered so far is let go. */
  reset(bytes: Buffer = EMPTY): void {
    this.bytes = bytes
    this.#buf = undefined
  }
}
