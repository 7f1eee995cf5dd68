/**
 * @module The relay between a client and an origin: bytes both ways with backpressure and no
 * copies — client → origin by a 'data' listener writing to the origin, origin → client from the
 * origin's reused read buffers (src/net/origin-reader.ts) when the origin was dialled with one,
 * else `pipe` — half-close
 * carried in both directions (a FIN from one side ends the other side's
 * writable half only; the other direction goes on), an idle bound (no bytes moved either way for
 * `idleTimeoutMs`: one shared sweep, src/proxy/idle-sweep.ts, instead of a timer per socket), and
 * both sockets released when both directions are done or on the first error.
 *
 * Both sockets must have been made with `allowHalfOpen: true`, or Node would end a socket's
 * writable side as soon as its readable side ends.
 */
import type { Socket } from 'node:net'
import { originReaderOf, type OriginReader } from '../net/origin-reader.ts'
import { IdleEntry, idleSweep } from './idle-sweep.ts'

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

/** A relay's place in the idle sweep; marked active by both directions whenever bytes move. */
class RelayIdle extends IdleEntry {
  readonly #onIdle: () => void
  constructor(onIdle: () => void) {
    super()
    this.#onIdle = onIdle
  }
  onIdle(): void {
    this.#onIdle()
  }
}

/**
 * Relays until both directions are done. Never rejects.
 * @example const { bytesUp, bytesDown } = await relay(client, origin, { idleTimeoutMs: 240_000, firstBytes: hello })
 */
export function relay(client: Socket, origin: Socket, options: RelayOptions): Promise<RelayResult> {
  // Read the options here: the closures below live as long as the tunnel and must not hold
  // `options` (its first bytes would stay in memory for the tunnel's whole life).
  const { idleTimeoutMs } = options
  let firstBytes = options.firstBytes
  return new Promise((resolve) => {
    let end: RelayResult['end'] = 'closed'
    // A socket that closed before the relay began counts as closed already.
    let closed = (client.closed ? 1 : 0) + (origin.closed ? 1 : 0)
    const destroyBoth = (): void => {
      client.destroy()
      origin.destroy()
    }
    const onError = (): void => {
      if (end === 'closed') end = 'error'
      destroyBoth()
    }
    const onTimeout = (): void => {
      if (end === 'closed') end = 'idle'
      destroyBoth()
    }
    const onClose = (): void => {
      closed++
      if (closed < 2) {
        // One side is gone entirely (not a half-close): nothing more can reach it, so the other
        // is closed once its pending writes are flushed (an origin that ignores FIN must not
        // keep the socket, or a drain, waiting for the idle bound).
        if (client.destroyed && !origin.destroyed) origin.destroySoon()
        if (origin.destroyed && !client.destroyed) client.destroySoon()
        return
      }
      sweep.remove(idle)
      client.removeListener('error', onError)
      origin.removeListener('error', onError)
      resolve({ bytesUp: origin.bytesWritten, bytesDown: origin.bytesRead, end })
    }
    const sweep = idleSweep(idleTimeoutMs)
    const idle = new RelayIdle(onTimeout)
    client.on('error', onError)
    origin.on('error', onError)
    sweep.add(idle)
    if (!client.closed) client.once('close', onClose)
    if (!origin.closed) origin.once('close', onClose)
    if (client.destroyed || origin.destroyed) {
      end = 'error'
      destroyBoth()
      if (closed === 2) onClose()
      return
    }
    if (firstBytes && firstBytes.length > 0) origin.write(firstBytes)
    firstBytes = undefined
    if (client.readableEnded) {
      // The client half-closed while the proxy was reading its first bytes: its 'end' is gone.
      origin.end()
    } else {
      relayFromClient(client, origin, idle)
    }
    const reader = originReaderOf(origin)
    if (reader) relayFromOrigin(origin, client, reader, idle)
    else {
      origin.on('data', () => {
        idle.active = true
      })
      origin.pipe(client)
    }
  })
}

/**
 * Client → origin as `client.pipe(origin)` does it (backpressure, the client's FIN ends the
 * origin's writable side), with three listeners instead of pipe's seven, no 'pipe'/'unpipe'
 * events and no deferred resume: set up once per connection, so its cost is per connection. Once
 * the origin is destroyed or ended nothing more is written to it (pipe unpipes then); the relay
 * closes the client.
 */
function relayFromClient(client: Socket, origin: Socket, idle: IdleEntry): void {
  client.on('data', (chunk: Buffer) => {
    idle.active = true
    if (origin.destroyed || origin.writableEnded) return
    if (!origin.write(chunk)) client.pause()
  })
  origin.on('drain', () => {
    // A write the origin was slow to take counts as activity when it completes (as a socket timer's refresh).
    idle.active = true
    if (!client.destroyed) client.resume()
  })
  client.on('end', () => {
    if (!origin.destroyed && !origin.writableEnded) origin.end()
  })
  client.resume()
}

/**
 * Origin → client as `origin.pipe(client)` does it (the client's writable side ended after the
 * origin's FIN and the bytes before it; reading stops once the client is gone), without a stream
 * in between: each chunk read is written straight to the client. While a write is pending, the
 * origin is paused (backpressure, and a chunk borrowed from the reader's buffer must not be
 * overwritten by the next read before it is sent); it resumes when the client's queue is empty.
 */
function relayFromOrigin(origin: Socket, client: Socket, reader: OriginReader, idle: IdleEntry): void {
  let waiting = false
  const flushed = (): void => {
    idle.active = true
    if (waiting && client.writableLength === 0) {
      waiting = false
      if (!origin.destroyed) origin.resume()
    }
  }
  const send = (chunk: Buffer): boolean => {
    idle.active = true
    if (client.destroyed || client.writableEnded) return false
    client.write(chunk, flushed)
    // A write the kernel took at once has left the queue already (Writable counts it down synchronously).
    if (client.writableLength === 0) return true
    waiting = true
    return false
  }
  let go = true
  for (const chunk of reader.attach(send)) if (!send(chunk)) go = false
  origin.once('end', () => {
    if (!client.writableEnded) client.end()
  })
  // The origin's FIN may have come while the proxy was still setting up (its 'end' is gone then).
  if (origin.readableEnded && !client.writableEnded) client.end()
  if (go) origin.resume()
}
