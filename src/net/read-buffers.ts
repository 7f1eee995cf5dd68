/**
 * @module The buffers an origin socket reads into (the origin → client direction of a tunnel or a
 * forwarded exchange, which carries the downloads), for both socket paths: HandleConn
 * (src/net/handle-conn.ts) and OriginReader (src/net/origin-reader.ts). A fresh 64 KiB
 * `ArrayBuffer` per read cost garbage collection and cold caches (the proxy benchmark measured
 * 1.7–1.9 CPU-s per GiB relayed with `pipe()`, most of it there), so reads go into reused buffers.
 *
 * Buffers, and why no write ever sees a buffer that a later read overwrites:
 * - every origin socket starts reading into one process-wide 16 KiB buffer; such a read is copied
 *   out before the sink sees it (small reads: handshakes, requests and responses of APIs), so
 *   nothing holds that buffer after the callback returns;
 * - a read that fills it means bulk data: the socket takes a 64 KiB buffer of its own (from the
 *   pool below, or a new one), that read is copied to its start and handed on as a view, and the
 *   next reads go into it without copies. The sink must stop the socket's reads while a write of a
 *   view is pending and start them once it is flushed, so a read never overwrites bytes not yet
 *   sent;
 * - a small read on the own buffer means the burst is over (the end of a response): the next read
 *   goes to the shared buffer again, so an idle tunnel holds no buffer of its own. The own buffer
 *   goes back to a small process-wide pool once the view of that last read is settled — its write
 *   done or the bytes dropped — and the next burst of any socket takes it from there. Before, each
 *   burst (each 1 MiB response of the bulk benchmark W3) allocated a new 64 KiB buffer and a
 *   16 KiB copy: 93 MB of garbage per GiB relayed, 8% of the proxy's CPU in garbage collection;
 *   with the pool W3 took 0.84 and 0.93 × the CPU per GiB (docs/benchmarks.md).
 *
 * A pooled buffer still holds another tunnel's old bytes; a sink only ever sees `subarray(0, n)`
 * of what this socket's read just wrote, never past it.
 */

const SHARED_BYTES = 16 * 1024
/** A socket whose reads fill the shared buffer reads into its own buffer of this size, without copies. */
const OWN_BYTES = 64 * 1024
/** A read on an own buffer smaller than this ends the burst: the next one goes to the shared buffer. */
const SMALL_READ_BYTES = 4 * 1024
/** Own buffers kept for the next bursts (1 MiB): busy tunnels hold theirs; this bounds what idle ones leave. */
const POOL_MAX = 16

const shared = Buffer.allocUnsafe(SHARED_BYTES)
const pool: Buffer[] = []
/** Bursts that took a pooled buffer (tests read it: the pool is used, not just filled). */
let reused = 0

/** One socket's read buffers. */
export class ReadBuffers {
  /** The buffer the socket's next read goes into (the handle's user buffer). */
  next: Buffer = shared
  /** The last chunk is a view of the socket's own buffer, overwritten by its next read. */
  borrowed = false
  /** The own buffer of a burst that ended, until the view read into it last is settled. */
  #returning: Buffer | undefined

  /**
   * A read of `n` bytes into `buf` (the `next` of when the read was asked): the chunk to hand
   * on. Sets `borrowed`, and `next` for the following read.
   */
  chunkOf(buf: Uint8Array, n: number): Buffer {
    // A read means the last view was settled: the sink stops reads while a write of one is pending.
    this.settled()
    if (buf === shared) {
      if (n < SHARED_BYTES) {
        this.borrowed = false
        const chunk = Buffer.allocUnsafe(n)
        shared.copy(chunk, 0, 0, n)
        return chunk
      }
      let own = pool.pop()
      if (own === undefined) own = Buffer.allocUnsafe(OWN_BYTES)
      else reused++
      shared.copy(own, 0, 0, n)
      this.next = own
      this.borrowed = true
      return own.subarray(0, n)
    }
    const own = buf as Buffer
    this.borrowed = true
    if (n < SMALL_READ_BYTES) {
      this.next = shared
      this.#returning = own
    }
    return own.subarray(0, n)
  }

  /**
   * The last chunk is settled: its write is done, or it was dropped (the sink did not stop the
   * reads). An own buffer left behind by the end of a burst goes back to the pool.
   */
  settled(): void {
    const own = this.#returning
    if (own === undefined) return
    this.#returning = undefined
    if (pool.length < POOL_MAX) pool.push(own)
  }
}

/** @internal For tests: how many own buffers the pool holds, and how many bursts took one from it. */
export function readBufferPool(): { readonly pooled: number; readonly reused: number } {
  return { pooled: pool.length, reused }
}
