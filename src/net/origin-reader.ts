/**
 * @module Reading an origin socket into reused buffers (Node's `onread` socket option) instead of
 * a fresh 64 KiB `ArrayBuffer` per read: the origin → client direction carries the bulk of egress
 * traffic (downloads), and per-read allocations cost garbage collection and cold caches (the
 * proxy benchmark measured 1.7–1.9 CPU-s per GiB relayed with `pipe()`, most of it there).
 *
 * Buffers, and why no write ever sees a buffer that a later read overwrites:
 * - every origin socket starts reading into one process-wide 16 KiB buffer; such a read is copied
 *   out before the sink sees it (small reads: handshakes, requests and responses of APIs), so
 *   nothing holds that buffer after the callback returns;
 * - a read that fills it means bulk data: the socket gets a 64 KiB buffer of its own and reads
 *   into it without copies; the sink must pause the socket (return false) while a write of that
 *   chunk is still pending, and resume it once flushed, so the next read cannot overwrite bytes
 *   not yet sent. A small read on the own buffer goes back to the shared one (idle tunnels then
 *   hold no buffer of their own).
 * Before a sink is attached (the relay starts after the dial, the CONNECT reply, the ClientHello
 * replay), a read is kept as a copy and the socket paused.
 */
import type { LiteOnRead } from './lite-socket.ts'
import type { StreamSocket } from './stream-socket.ts'

const SHARED_BYTES = 16 * 1024
const OWN_BYTES = 64 * 1024
/** Reads on the own buffer smaller than this go back to the shared buffer. */
const SMALL_READ_BYTES = 4 * 1024

const shared = Buffer.allocUnsafe(SHARED_BYTES)

/**
 * Receives each chunk read. `borrowed`: the chunk is a view of the socket's own buffer, valid only
 * until the socket reads again. Returns false to pause the socket (it must, while a borrowed
 * chunk's write is pending); the sink resumes it with `socket.resume()`.
 */
export type ChunkSink = (chunk: Buffer, borrowed: boolean) => boolean

/**
 * Where a socket keeps its reader: a symbol-keyed property rather than a WeakMap (a WeakMap entry
 * per origin socket is an ephemeron that every garbage collection must visit).
 */
const READER = Symbol('originReader')
type WithReader = StreamSocket & { [READER]?: OriginReader }

export class OriginReader {
  #next: Buffer = shared
  #own: Buffer | undefined
  #sink: ChunkSink | undefined
  #held: Buffer[] = []

  /** The `onread` option for `net.connect`. */
  readonly onread: LiteOnRead = {
    buffer: () => this.#next,
    callback: (bytes: number, buf: Uint8Array): boolean => this.#onRead(bytes, buf),
  }

  /** Registers the reader of `socket` (made with `onread: reader.onread`). */
  bind(socket: StreamSocket): void {
    const s: WithReader = socket
    s[READER] = this
  }

  #onRead(bytes: number, buf: Uint8Array): boolean {
    let chunk: Buffer
    let borrowed: boolean
    if (buf === shared) {
      chunk = Buffer.allocUnsafe(bytes)
      shared.copy(chunk, 0, 0, bytes)
      borrowed = false
      if (bytes === SHARED_BYTES) this.#next = this.#own ??= Buffer.allocUnsafe(OWN_BYTES)
    } else {
      chunk = (buf as Buffer).subarray(0, bytes)
      borrowed = true
      if (bytes < SMALL_READ_BYTES) {
        // The next read goes to the shared buffer; this one may still be held by a pending write.
        this.#next = shared
        this.#own = undefined
      }
    }
    const sink = this.#sink
    if (sink) return sink(chunk, borrowed)
    this.#held.push(borrowed ? Buffer.from(chunk) : chunk)
    return false
  }

  /**
   * Sends reads to `sink` from now on; returns what was read before (copies, in order), which the
   * caller sends first. The socket stays paused: the caller resumes it.
   */
  attach(sink: ChunkSink): Buffer[] {
    this.#sink = sink
    const held = this.#held
    this.#held = []
    return held
  }

  /**
   * Stops sending reads to the sink (an origin connection handed from one HTTP exchange to the
   * pool, or back): reads from now on are held, as before the first `attach`, and pause the socket.
   */
  detach(): void {
    this.#sink = undefined
  }
}

/** The reader of a socket made by `connectOnce`, if it has one. */
export function originReaderOf(socket: StreamSocket): OriginReader | undefined {
  const s: WithReader = socket
  return s[READER]
}
