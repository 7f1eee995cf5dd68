/**
 * @module Idle origin connections of plain-HTTP forwarding, kept for reuse (as squid's
 * server-side persistent connections).
 *
 * Rules (docs/serve.md, "Persistent plain HTTP"):
 * - the key is the checked address, the port and the Host sent: a connection is reused only for
 *   a request whose name resolved, under the policy in force, to that same allowed address, and
 *   that names the same Host (no connection opened for one virtual host carries another's request);
 * - only a connection whose last response ended exactly where its framing said (Content-Length,
 *   chunked, or no body), with no byte after it, whose origin did not ask to close, comes here
 *   (forward-http.ts decides; a close-delimited, incomplete or over-long response never does);
 * - while idle, any byte from the origin (a late body, an unsolicited response) or its FIN or an
 *   error discards the connection at once, so nothing an origin sends between two responses can
 *   be read as the next response; so does the idle bound;
 * - bounded per key and in total (the oldest idle connection goes first); a policy reload drops
 *   every idle connection (proxy-server.ts), and `stop()` too.
 */
import type { StreamSocket } from '../net/stream-socket.ts'
import { originReaderOf } from '../net/origin-reader.ts'
import type { ProxyMetrics } from './proxy-metrics.ts'

export interface OriginPoolLimits {
  /** Idle connections kept for one key (address, port, Host). */
  readonly maxIdlePerKey: number
  /** Idle connections kept in all. */
  readonly maxIdleTotal: number
  /** An idle connection unused this long is closed. */
  readonly idleTimeoutMs: number
}

export type DiscardReason = 'stray-bytes' | 'origin-closed' | 'idle-timeout' | 'evicted' | 'reload' | 'stop' | 'full'

interface Entry {
  readonly key: string
  readonly socket: StreamSocket
  readonly onGone: () => void
  readonly onTimeout: () => void
}

export function poolKey(address: string, port: number, authority: string): string {
  return `${address}|${port}|${authority}`
}

export class OriginPool {
  readonly #limits: OriginPoolLimits
  readonly #metrics: ProxyMetrics
  readonly #byKey = new Map<string, Entry[]>()
  /** Every idle entry, oldest first (Set keeps insertion order). */
  readonly #all = new Set<Entry>()
  /** After `clear('stop')`: nothing is kept any more. */
  #closed = false

  constructor(limits: OriginPoolLimits, metrics: ProxyMetrics) {
    this.#limits = limits
    this.#metrics = metrics
  }

  get idle(): number {
    return this.#all.size
  }

  /** Whether connections are kept at all (both bounds above 0, not stopped). */
  get enabled(): boolean {
    return !this.#closed && this.#limits.maxIdleTotal > 0 && this.#limits.maxIdlePerKey > 0
  }

  /** The most recently used idle connection of `key`, taken out of the pool; undefined: none. */
  take(key: string): StreamSocket | undefined {
    const list = this.#byKey.get(key)
    while (list && list.length > 0) {
      const entry = list.pop()!
      this.#remove(entry, list)
      const s = entry.socket
      if (s.destroyed || s.readableEnded || s.writableEnded) {
        s.destroy()
        continue
      }
      originReaderOf(s)?.detach()
      return s
    }
    return undefined
  }

  /** Keeps `socket` (its last exchange complete and clean) for reuse; returns false if it was closed instead. */
  put(key: string, socket: StreamSocket): boolean {
    const reader = originReaderOf(socket)
    if (!reader || !this.enabled || socket.destroyed || socket.readableEnded || socket.writableEnded) {
      this.#discard(socket, 'full')
      return false
    }
    let list = this.#byKey.get(key)
    if (list && list.length >= this.#limits.maxIdlePerKey) {
      this.#discard(socket, 'full')
      return false
    }
    if (this.#all.size >= this.#limits.maxIdleTotal) {
      const oldest = this.#all.values().next().value
      if (oldest) this.#drop(oldest, 'evicted')
    }
    if (!list) {
      list = []
      this.#byKey.set(key, list)
    }
    const entry: Entry = {
      key,
      socket,
      onGone: () => {
        this.#drop(entry, 'origin-closed')
      },
      onTimeout: () => {
        this.#drop(entry, 'idle-timeout')
      },
    }
    list.push(entry)
    this.#all.add(entry)
    this.#metrics.originPoolIdle.set(this.#all.size)
    socket.once('end', entry.onGone)
    socket.once('close', entry.onGone)
    socket.on('error', entry.onGone)
    socket.setTimeout(this.#limits.idleTimeoutMs, entry.onTimeout)
    // Bytes held by the reader since the exchange detached it, or any read from now on, are stray.
    const held = reader.attach(() => {
      this.#drop(entry, 'stray-bytes')
      return false
    })
    if (held.length > 0) {
      this.#drop(entry, 'stray-bytes')
      return false
    }
    socket.resume()
    return true
  }

  /** Closes every idle connection; after `stop`, `put` closes what it is given. */
  clear(reason: 'reload' | 'stop'): void {
    if (reason === 'stop') this.#closed = true
    for (const entry of [...this.#all]) this.#drop(entry, reason)
  }

  #remove(entry: Entry, list: Entry[] | undefined = this.#byKey.get(entry.key)): void {
    if (!this.#all.delete(entry)) return
    if (list) {
      const i = list.indexOf(entry)
      if (i !== -1) list.splice(i, 1)
      if (list.length === 0) this.#byKey.delete(entry.key)
    }
    const s = entry.socket
    s.removeListener('end', entry.onGone)
    s.removeListener('close', entry.onGone)
    s.removeListener('error', entry.onGone)
    s.removeListener('timeout', entry.onTimeout)
    s.setTimeout(0)
    this.#metrics.originPoolIdle.set(this.#all.size)
  }

  #drop(entry: Entry, reason: DiscardReason): void {
    if (!this.#all.has(entry)) return
    this.#remove(entry)
    this.#discard(entry.socket, reason)
  }

  #discard(socket: StreamSocket, reason: DiscardReason): void {
    this.#metrics.originPoolDiscards.inc({ reason })
    socket.destroy()
  }
}
