/**
 * @module The relay between a client and an origin: bytes both ways with backpressure and no
 * copies — client → origin by a 'data' listener writing to the origin, origin → client from the
 * origin's reused read buffers (src/net/origin-reader.ts) when the origin was dialled with one,
 * else by a 'data' listener too — half-close
 * carried in both directions (a FIN from one side ends the other side's
 * writable half only; the other direction goes on), an idle bound (no bytes moved either way for
 * `idleTimeoutMs`: one shared sweep, src/proxy/idle-sweep.ts, instead of a timer per socket), and
 * both sockets released when both directions are done or on the first error.
 *
 * Both sockets must have been made with `allowHalfOpen: true`, or Node would end a socket's
 * writable side as soon as its readable side ends.
 *
 * One object per tunnel (`Relay`), found by the sockets' listeners through a property of each
 * socket: the listeners are shared module functions, not closures made for every tunnel (there
 * were ten, plus the once-wrappers).
 */
import type { StreamSocket } from '../net/stream-socket.ts'
import { originReaderOf, type OriginReader } from '../net/origin-reader.ts'
import { IdleEntry, idleSweep, type IdleSweep } from './idle-sweep.ts'

export interface RelayResult {
  /** Bytes written to the origin (the replayed first bytes included). */
  readonly bytesUp: number
  /** Bytes read from the origin. */
  readonly bytesDown: number
  /** How it ended: both sides closed cleanly, idle bound, or an error on either side. */
  readonly end: 'closed' | 'idle' | 'error'
}

export interface RelayOptions {
  readonly idleTimeoutMs: number
  /** Bytes the proxy read from the client before the relay (peeked ClientHello, request head), sent first. */
  readonly firstBytes?: Uint8Array
}

/**
 * Relays until both directions are done. Never rejects.
 * @example const { bytesUp, bytesDown } = await relay(client, origin, { idleTimeoutMs: 240_000, firstBytes: hello })
 */
export function relay(client: StreamSocket, origin: StreamSocket, options: RelayOptions): Promise<RelayResult> {
  return new Promise((resolve) => {
    // The first bytes are written at start and not kept: they must not stay in memory for the tunnel's life.
    new Relay(client, origin, resolve).start(idleSweep(options.idleTimeoutMs), options.firstBytes)
  })
}

/** Where each of a tunnel's sockets keeps its relay: a symbol-keyed property (the listeners are shared). */
const RELAY = Symbol('relay')
type Relayed = StreamSocket & { [RELAY]?: Relay }

function onRelayError(this: Relayed): void {
  this[RELAY]!.failed()
}

function onRelayClose(this: Relayed): void {
  this[RELAY]!.sideClosed()
}

/**
 * Client → origin as `client.pipe(origin)` does it (backpressure, the client's FIN ends the
 * origin's writable side), with three listeners instead of pipe's seven, no 'pipe'/'unpipe'
 * events and no deferred resume. Once the origin is destroyed or ended nothing more is written to
 * it (pipe unpipes then); the relay closes the client.
 */
function onClientData(this: Relayed, chunk: Buffer): void {
  const r = this[RELAY]!
  forwardChunk(r, this, r.origin, chunk)
}

function onOriginDrain(this: Relayed): void {
  const r = this[RELAY]!
  resumeAfterDrain(r, r.client)
}

/** One chunk from `from` to `to`; `from` pauses while `to`'s queue is full. */
function forwardChunk(r: Relay, from: Relayed, to: Relayed, chunk: Buffer): void {
  r.active = true
  if (to.destroyed || to.writableEnded) return
  if (!to.write(chunk)) from.pause()
}

/** `to` drained: its source reads again. A write that was slow to complete counts as activity (as a socket timer's refresh). */
function resumeAfterDrain(r: Relay, source: Relayed): void {
  r.active = true
  if (!source.destroyed) source.resume()
}

function onClientEnd(this: Relayed): void {
  const origin = this[RELAY]!.origin
  if (!origin.destroyed && !origin.writableEnded) origin.end()
}

function onOriginEnd(this: Relayed): void {
  const client = this[RELAY]!.client
  if (!client.writableEnded) client.end()
}

/** Origin → client for an origin without a reader (src/net/origin-reader.ts): as onClientData. */
function onOriginData(this: Relayed, chunk: Buffer): void {
  const r = this[RELAY]!
  forwardChunk(r, this, r.client, chunk)
}

function onClientDrain(this: Relayed): void {
  const r = this[RELAY]!
  resumeAfterDrain(r, r.origin)
}

/** One tunnel: its two sockets, how it ended, and its place in the idle sweep. */
class Relay extends IdleEntry {
  readonly client: Relayed
  readonly origin: Relayed
  #end: RelayResult['end'] = 'closed'
  #closed: number
  /** Origin → client: a write is pending, the origin is paused until the client's queue is empty. */
  #waiting = false
  #sweep: IdleSweep | undefined
  readonly #resolve: (result: RelayResult) => void

  constructor(client: StreamSocket, origin: StreamSocket, resolve: (result: RelayResult) => void) {
    super()
    this.client = client
    this.origin = origin
    this.#resolve = resolve
    // A socket that closed before the relay began counts as closed already.
    this.#closed = (client.closed ? 1 : 0) + (origin.closed ? 1 : 0)
  }

  start(sweep: IdleSweep, firstBytes: Uint8Array | undefined): void {
    const { client, origin } = this
    client[RELAY] = this
    origin[RELAY] = this
    this.#sweep = sweep
    client.on('error', onRelayError)
    origin.on('error', onRelayError)
    sweep.add(this)
    // `on`, not `once`: 'close' comes once (no wrappers).
    if (!client.closed) client.on('close', onRelayClose)
    if (!origin.closed) origin.on('close', onRelayClose)
    if (client.destroyed || origin.destroyed) {
      this.#end = 'error'
      this.#destroyBoth()
      if (this.#closed === 2) this.#done()
      return
    }
    if (firstBytes && firstBytes.length > 0) origin.write(firstBytes)
    if (client.readableEnded) {
      // The client half-closed while the proxy was reading its first bytes: its 'end' is gone.
      origin.end()
    } else {
      client.on('data', onClientData)
      origin.on('drain', onOriginDrain)
      client.on('end', onClientEnd)
      client.resume()
    }
    const reader = originReaderOf(origin)
    if (reader) this.#fromOrigin(reader)
    else {
      // An origin without a reader (not made by connectOnce): its 'data' events, the same way.
      origin.on('data', onOriginData)
      client.on('drain', onClientDrain)
      origin.on('end', onOriginEnd)
      if (origin.readableEnded && !client.writableEnded) client.end()
      else origin.resume()
    }
  }

  /**
   * Origin → client as `origin.pipe(client)` does it (the client's writable side ended after the
   * origin's FIN and the bytes before it; reading stops once the client is gone), without a stream
   * in between: each chunk read is written straight to the client. While a write is pending, the
   * origin is paused (backpressure, and a chunk borrowed from the reader's buffer must not be
   * overwritten by the next read before it is sent); it resumes when the client's queue is empty.
   */
  #fromOrigin(reader: OriginReader): void {
    const { client, origin } = this
    let go = true
    for (const chunk of reader.attach(this.#send)) if (!this.#send(chunk)) go = false
    origin.on('end', onOriginEnd)
    // The origin's FIN may have come while the proxy was still setting up (its 'end' is gone then).
    if (origin.readableEnded && !client.writableEnded) client.end()
    if (go) origin.resume()
  }

  /** The origin reader's sink (one function per tunnel: the reader calls it without `this`). */
  readonly #send = (chunk: Buffer): boolean => {
    this.active = true
    const client = this.client
    if (client.destroyed || client.writableEnded) return false
    client.write(chunk, this.#flushed)
    // A write the kernel took at once has left the queue already (Writable counts it down synchronously).
    if (client.writableLength === 0) return true
    this.#waiting = true
    return false
  }

  /** Each write's callback to the client. */
  readonly #flushed = (): void => {
    this.active = true
    if (this.#waiting && this.client.writableLength === 0) {
      this.#waiting = false
      if (!this.origin.destroyed) this.origin.resume()
    }
  }

  #destroyBoth(): void {
    this.client.destroy()
    this.origin.destroy()
  }

  failed(): void {
    if (this.#end === 'closed') this.#end = 'error'
    this.#destroyBoth()
  }

  /** The idle sweep found no bytes moved for the bound. */
  onIdle(): void {
    if (this.#end === 'closed') this.#end = 'idle'
    this.#destroyBoth()
  }

  sideClosed(): void {
    this.#closed++
    if (this.#closed < 2) {
      // One side is gone entirely (not a half-close): nothing more can reach it, so the other
      // is closed once its pending writes are flushed (an origin that ignores FIN must not
      // keep the socket, or a drain, waiting for the idle bound).
      const { client, origin } = this
      if (client.destroyed && !origin.destroyed) origin.destroySoon()
      if (origin.destroyed && !client.destroyed) client.destroySoon()
      return
    }
    this.#done()
  }

  #done(): void {
    const { client, origin } = this
    this.#sweep?.remove(this)
    client.removeListener('error', onRelayError)
    origin.removeListener('error', onRelayError)
    this.#resolve({ bytesUp: origin.bytesWritten, bytesDown: origin.bytesRead, end: this.#end })
  }
}
