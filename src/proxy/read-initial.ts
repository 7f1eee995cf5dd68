/**
 * @module Reads a client's first bytes until a parser can decide (a complete ClientHello or
 * request head), within a time bound, without losing any: the bytes are kept for replay to the
 * origin, gathered without copies where they can be (src/proxy/gathered-bytes.ts).
 *
 * One object per read (`InitialRead`), found by the socket's listeners through a property of the
 * socket: the listeners and the timer callback are shared module functions, not closures made for
 * every connection (there were eight per call).
 */
import type { StreamSocket } from '../net/stream-socket.ts'
import { GatheredBytes } from './gathered-bytes.ts'

export type ReadInitialResult<T> =
  | { readonly kind: 'done'; readonly value: T; readonly data: Buffer }
  | { readonly kind: 'timeout'; readonly data: Buffer }
  | { readonly kind: 'closed'; readonly data: Buffer }

/**
 * `step(data, scanned)` returns a value when it can decide, undefined to wait for more;
 * `scanned` is the length `step` saw last time (parsers resume there).
 * `firstByteTimeoutMs` (a kept-alive connection between requests): how long to wait for the first
 * byte when there is none yet; `timeoutMs` then bounds the rest from that byte on.
 * The socket is left paused, with no listener of this module.
 */
/**
 * `step(data, scanned)` returns a value when it can decide, undefined to wait for more;
 * `scanned` is the length `step` saw last time (parsers resume there).
 * `firstByteTimeoutMs` (a kept-alive connection between requests): how long to wait for the first
 * byte when there is none yet; `timeoutMs` then bounds the rest from that byte on.
 * The socket is left paused, with no listener of this module.
 */
export function readInitial<T>(
  socket: StreamSocket,
  initial: Uint8Array | undefined,
  timeoutMs: number,
  step: (data: Buffer, scanned: number) => T | undefined,
  firstByteTimeoutMs?: number,
): Promise<ReadInitialResult<T>> {
  return new Promise((resolve) => {
    new InitialRead(socket, timeoutMs, step, resolve).start(initial, firstByteTimeoutMs)
  })
}

/** Where a socket keeps its read in progress: a symbol-keyed property (its listeners are shared). */
const READ = Symbol('initialRead')
type Reading = StreamSocket & { [READ]?: InitialRead<unknown> | undefined }

function onData(this: Reading, chunk: Buffer): void {
  this[READ]?.data(chunk)
}

function onEnd(this: Reading): void {
  const r = this[READ]
  r?.finish({ kind: 'closed', data: r.bytes })
}

function onTimeout<T>(r: InitialRead<T>): void {
  r.finish({ kind: 'timeout', data: r.bytes })
}

class InitialRead<T> {
  readonly #gathered = new GatheredBytes()
  #scanned = 0
  #settled = false
  #waitingFirstByte = false
  #timer: NodeJS.Timeout | undefined
  readonly #socket: Reading
  readonly #timeoutMs: number
  readonly #step: (data: Buffer, scanned: number) => T | undefined
  readonly #resolve: (result: ReadInitialResult<T>) => void

  constructor(socket: Reading, timeoutMs: number, step: (data: Buffer, scanned: number) => T | undefined, resolve: (result: ReadInitialResult<T>) => void) {
    this.#socket = socket
    this.#timeoutMs = timeoutMs
    this.#step = step
    this.#resolve = resolve
  }

  start(initial: Uint8Array | undefined, firstByteTimeoutMs: number | undefined): void {
    const empty = !initial || initial.length === 0
    this.#waitingFirstByte = empty && firstByteTimeoutMs !== undefined
    this.#timer = setTimeout(onTimeout, this.#waitingFirstByte ? firstByteTimeoutMs : this.#timeoutMs, this)
    if (initial && initial.length > 0) {
      this.#gathered.append(initial, false)
      if (this.#attempt()) return
    }
    const socket = this.#socket
    if (socket.destroyed || socket.readableEnded) {
      this.finish({ kind: 'closed', data: this.bytes })
      return
    }
    socket[READ] = this as InitialRead<unknown>
    // `on`, not `once`: finish() removes them, and 'end' and 'close' come once (no wrappers).
    socket.on('data', onData)
    socket.on('end', onEnd)
    socket.on('close', onEnd)
    socket.resume()
  }

  /** The bytes so far. */
  get bytes(): Buffer {
    return this.#gathered.bytes
  }

  finish(result: ReadInitialResult<T>): void {
    if (this.#settled) return
    this.#settled = true
    clearTimeout(this.#timer)
    const socket = this.#socket
    socket.pause()
    if (socket[READ] === this) {
      socket[READ] = undefined
      socket.removeListener('data', onData)
      socket.removeListener('end', onEnd)
      socket.removeListener('close', onEnd)
    }
    this.#resolve(result)
  }

  #attempt(): boolean {
    const value = this.#step(this.bytes, this.#scanned)
    this.#scanned = this.bytes.length
    if (value === undefined) return false
    this.finish({ kind: 'done', value, data: this.bytes })
    return true
  }

  data(chunk: Buffer): void {
    if (this.bytes.length === 0 && this.#waitingFirstByte) {
      this.#waitingFirstByte = false
      clearTimeout(this.#timer)
      this.#timer = setTimeout(onTimeout, this.#timeoutMs, this)
    }
    this.#gathered.append(chunk, true)
    this.#attempt()
  }
}
