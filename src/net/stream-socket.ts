/**
 * @module What the proxy's data plane needs of a TCP connection: the part of `net.Socket` it uses,
 * so that a connection may be a `net.Socket` or a `LiteSocket` (src/net/lite-socket.ts, the same
 * events and semantics over the TCP handle, without Node's stream machinery).
 *
 * Semantics every implementation keeps (those of `net.Socket` made with `allowHalfOpen: true`):
 * - 'data' only while resumed; `pause()` stops reading (backpressure reaches the peer's window);
 * - the peer's FIN: 'end' once, `readableEnded`; the writable side stays open until `end()`;
 * - `end()`: a FIN after every byte written; 'finish' once it is sent;
 * - both ended and finished, or `destroy()`: the socket closes, 'close' once, after 'error' if any;
 * - `write()` returns false while bytes wait in the queue (`writableLength`); 'drain' when it
 *   empties after such a write. A write's callback runs when its bytes were handed to the kernel.
 */
import type { EventEmitter } from 'node:events'

export interface StreamSocket extends EventEmitter {
  readonly destroyed: boolean
  /** The handle is closed ('close' was emitted). */
  readonly closed: boolean
  readonly readableEnded: boolean
  readonly writableEnded: boolean
  readonly writableFinished: boolean
  /** Bytes written but not yet taken by the kernel. */
  readonly writableLength: number
  readonly bytesRead: number
  readonly bytesWritten: number
  readonly remoteAddress?: string | undefined
  readonly remotePort?: number | undefined
  write(chunk: Uint8Array | string, cb?: (err?: Error | null) => void): boolean
  end(chunk?: Uint8Array | string): this
  destroy(error?: Error): this
  /** Ends, then destroys once what was written is sent. */
  destroySoon(): void
  pause(): this
  resume(): this
  /** Emits 'timeout' (and calls `cb`) after `ms` without a read or a write; 0 turns it off. */
  setTimeout(ms: number, cb?: () => void): this
}

/**
 * Which sockets the proxy's data plane uses: `lite` (src/net/lite-socket.ts, the default where
 * this Node has the handle API) or `node` (`net.Socket`).
 */
export type SocketLayer = 'lite' | 'node'
