/**
 * @module One coarse idle bound for many relays: a single interval timer sweeps every entry,
 * instead of a `socket.setTimeout` on each of a tunnel's two sockets (per tunnel, that was two
 * Timeout objects, two once-wrapped 'timeout' listeners, their removal at close, and a timer
 * refresh on every read and write of either socket).
 *
 * An entry is marked active by its owner whenever bytes move (one property store per chunk); the
 * sweep runs every `idleTimeoutMs / TICKS` and times out an entry that stayed unmarked through
 * `TICKS` sweeps in a row. So an entry idle for the bound is timed out between `idleTimeoutMs` and
 * `idleTimeoutMs × (1 + 1 / TICKS)` after its last activity (at the default 240 s: within 30 s
 * more), as a socket timeout fires once the bound passed with no read or write.
 *
 * Entries are kept in an intrusive doubly linked list (no Set, no allocation per entry beyond the
 * entry itself); the timer runs while there are entries, and stops at the first sweep that finds
 * none (unref'd: it never keeps the process alive). Not at once when the last entry leaves: at a
 * few connections in flight the list empties and fills again with nearly every connection, and a
 * timer made and cleared each time was one per connection again (the profile of new connections
 * showed setInterval and its unenroll).
 */

/** Sweeps per idle bound: the bound's precision (an entry is timed out at most 1/TICKS late). */
export const IDLE_SWEEP_TICKS = 8

/** What the sweep needs from a relay: its mark, its links, and what to do when idle. */
export abstract class IdleEntry {
  /** Set by the owner when bytes move; cleared by each sweep. */
  active = true
  /** Sweeps in a row that found the entry unmarked. */
  idleSweeps = 0
  /** @internal links of the sweep's list */
  prevIdle: IdleEntry | null = null
  /** @internal */
  nextIdle: IdleEntry | null = null
  /** @internal the sweep the entry is in */
  sweep: IdleSweep | null = null
  /** Called once when the entry stayed idle for the bound; it is out of the sweep then. */
  abstract onIdle(): void
}

export class IdleSweep {
  readonly idleTimeoutMs: number
  readonly intervalMs: number
  #head: IdleEntry | null = null
  #size = 0
  #timer: NodeJS.Timeout | undefined
  readonly #tick = (): void => {
    this.#sweep()
  }

  constructor(idleTimeoutMs: number) {
    this.idleTimeoutMs = idleTimeoutMs
    this.intervalMs = Math.max(1, Math.ceil(idleTimeoutMs / IDLE_SWEEP_TICKS))
  }

  get size(): number {
    return this.#size
  }

  /** The interval timer is set (only while there are entries). */
  get running(): boolean {
    return this.#timer !== undefined
  }

  /** Starts watching `e` (marked active: its idle time counts from now). */
  add(e: IdleEntry): void {
    if (e.sweep !== null) return
    e.sweep = this
    e.active = true
    e.idleSweeps = 0
    e.prevIdle = null
    e.nextIdle = this.#head
    if (this.#head !== null) this.#head.prevIdle = e
    this.#head = e
    this.#size++
    if (this.#timer === undefined) {
      this.#timer = setInterval(this.#tick, this.intervalMs)
      this.#timer.unref()
    }
  }

  /** Stops watching `e`; nothing if it is not watched. */
  remove(e: IdleEntry): void {
    if (e.sweep !== this) return
    const { prevIdle, nextIdle } = e
    if (prevIdle !== null) prevIdle.nextIdle = nextIdle
    else this.#head = nextIdle
    if (nextIdle !== null) nextIdle.prevIdle = prevIdle
    e.prevIdle = null
    e.nextIdle = null
    e.sweep = null
    this.#size--
  }

  #sweep(): void {
    if (this.#size === 0) {
      clearInterval(this.#timer)
      this.#timer = undefined
      return
    }
    let e = this.#head
    while (e !== null) {
      // Read the next link first: a timed-out entry leaves the list. (`onIdle` must not remove
      // other entries synchronously; a relay's destroys its sockets, whose 'close' comes later.)
      const next = e.nextIdle
      if (e.active) {
        e.active = false
        e.idleSweeps = 0
      } else if (++e.idleSweeps >= IDLE_SWEEP_TICKS) {
        this.remove(e)
        e.onIdle()
      }
      e = next
    }
  }
}

const sweeps = new Map<number, IdleSweep>()

/** The process's sweep for one idle bound (every relay with that bound shares it). */
export function idleSweep(idleTimeoutMs: number): IdleSweep {
  let s = sweeps.get(idleTimeoutMs)
  if (s === undefined) {
    s = new IdleSweep(idleTimeoutMs)
    sweeps.set(idleTimeoutMs, s)
  }
  return s
}
