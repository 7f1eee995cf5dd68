/**
 * @module Reading an origin socket into reused buffers (Node's `onread` socket option, or
 * LiteSocket's) instead of a fresh 64 KiB `ArrayBuffer` per read: the buffers, and why no write
 * ever sees one that a later read overwrites, are in src/net/read-buffers.ts. The sink pauses the
 * socket (returns false) while a write of a borrowed chunk is pending, and resumes it once flushed.
 * Before a sink is attached (the relay starts after the dial, the CONNECT reply, the ClientHello
 * replay), a read is kept as a copy and the socket paused.
 */
import type { LiteOnRead } from './lite-socket.ts'
import { ReadBuffers } from './read-buffers.ts'
import type { StreamSocket } from './stream-socket.ts'

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
  readonly #buffers = new ReadBuffers()
  #sink: ChunkSink | undefined
  #held: Buffer[] = []

  /** The `onread` option for `net.connect`. */
  readonly onread: LiteOnRead = {
    buffer: () => this.#buffers.next,
    callback: (bytes: number, buf: Uint8Array): boolean => this.#onRead(bytes, buf),
  }

  /** Registers the reader of `socket` (made with `onread: reader.onread`). */
  bind(socket: StreamSocket): void {
    const s: WithReader = socket
    s[READER] = this
  }

  #onRead(bytes: number, buf: Uint8Array): boolean {
    const buffers = this.#buffers
    const chunk = buffers.chunkOf(buf, bytes)
    const sink = this.#sink
    if (!sink) {
      this.#held.push(buffers.borrowed ? Buffer.from(chunk) : chunk)
      buffers.settled()
      return false
    }
    // Not paused: no write of the chunk is pending.
    if (!sink(chunk, buffers.borrowed)) return false
    buffers.settled()
    return true
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
