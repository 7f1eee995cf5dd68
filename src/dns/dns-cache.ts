/**
 * @module The DNS proxy's answer cache: bounded in entries (least recently used goes first),
 * honouring TTLs with Azure Firewall's caps (azure-facts §2.4: positive answers up to 1 hour,
 * negative ones up to 30 minutes).
 *
 * - Positive (NOERROR with answers): the smallest TTL of the answer records, at most 1 h.
 * - Negative (NXDOMAIN, or NOERROR without answers): RFC 2308 §5, the smaller of the SOA record's
 *   TTL and its MINIMUM field, at most 30 min; without an SOA the answer is not cached.
 * - Never cached: truncated answers, SERVFAIL, REFUSED, other rcodes, TTL 0.
 * Keys carry the question (name case-folded), the DO and CD bits: a DNSSEC-aware client never
 * gets an answer fetched without its signatures.
 *
 * Recency without a map write per hit: a Map keeps insertion order, so moving an entry to the end
 * is a delete and a set, and on a map of thousands of entries V8 pays that in rehashing (measured:
 * about 17 µs per hit at 10,000 entries against 0.3 µs at one, the largest cost of a cached
 * answer). So a hit moves its entry only when it sits in the older half (inserted or moved more
 * than maxEntries/2 insertions ago): a hot name moves once per maxEntries/2 insertions, not per
 * query. Eviction takes the front of the map as before; an entry there was neither inserted nor
 * hit while in the older half, so what goes is still among the least recently used half.
 */
import type { DecodedPacket } from 'dns-packet'
import { RCODE, ttlLayout, type Header, type TtlLayout } from './dns-message.ts'

export const POSITIVE_TTL_CAP_SEC = 3600
export const NEGATIVE_TTL_CAP_SEC = 1800

export interface CacheEntry {
  readonly packet: DecodedPacket
  /** The answer's bytes and where its TTLs are: a hit is a copy and a few writes. */
  readonly wire: Buffer | undefined
  readonly layout: TtlLayout | undefined
  readonly storedAtMs: number
  readonly expiresAtMs: number
}

export function cacheKey(name: string, type: string, cls: string, dnssecOk: boolean, cd: boolean): string {
  return `${name}|${type}|${cls}|${dnssecOk ? 1 : 0}${cd ? 1 : 0}`
}

/** How long an answer may be cached, in seconds; 0 = not at all. */
export function cacheTtl(packet: DecodedPacket, header: Header): number {
  if (header.tc) return 0
  const answers = (packet.answers ?? []).filter((a) => a.type !== 'OPT')
  if (header.rcode === RCODE.NOERROR && answers.length > 0) {
    let ttl = Infinity
    for (const a of answers) ttl = Math.min(ttl, a.ttl ?? 0)
    return Math.min(ttl, POSITIVE_TTL_CAP_SEC)
  }
  if (header.rcode === RCODE.NXDOMAIN || (header.rcode === RCODE.NOERROR && answers.length === 0)) {
    for (const a of packet.authorities ?? []) {
      if (a.type === 'SOA') return Math.min(a.ttl ?? 0, a.data.minimum ?? 0, NEGATIVE_TTL_CAP_SEC)
    }
  }
  return 0
}

/** A cache entry and the insertion number of its place in the map (recency, above). */
interface Slot {
  readonly entry: CacheEntry
  seq: number
}

export class DnsCache {
  readonly #max: number
  readonly #entries = new Map<string, Slot>()
  /** Insertions so far (sets and moves): the age of a slot is #seq - slot.seq. */
  #seq = 0

  constructor(maxEntries: number) {
    this.#max = Math.max(0, maxEntries)
  }

  get size(): number {
    return this.#entries.size
  }

  get(key: string, nowMs: number): CacheEntry | undefined {
    const slot = this.#entries.get(key)
    if (!slot) return undefined
    if (slot.entry.expiresAtMs <= nowMs) {
      this.#entries.delete(key)
      return undefined
    }
    // Map order is insertion order: re-inserting marks the entry most recently used; only from
    // the older half (module comment).
    if (this.#seq - slot.seq >= this.#max / 2) {
      this.#entries.delete(key)
      slot.seq = ++this.#seq
      this.#entries.set(key, slot)
    }
    return slot.entry
  }

  /** Stores an answer for `ttlSec` seconds; returns how many entries were evicted (0 or 1). */
  set(key: string, packet: DecodedPacket, ttlSec: number, nowMs: number, wire?: Buffer): number {
    if (this.#max === 0 || ttlSec <= 0) return 0
    this.#entries.delete(key)
    let evicted = 0
    if (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next()
      if (!oldest.done) {
        this.#entries.delete(oldest.value)
        evicted = 1
      }
    }
    const layout = wire ? ttlLayout(wire) : undefined
    this.#entries.set(key, { entry: { packet, wire: layout ? wire : undefined, layout, storedAtMs: nowMs, expiresAtMs: nowMs + ttlSec * 1000 }, seq: ++this.#seq })
    return evicted
  }

  clear(): void {
    this.#entries.clear()
  }
}
