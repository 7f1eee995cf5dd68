/**
 * @module The engine's index of network-rule destination blocks: every block that contains an
 * address, as postings references (postings.ts), with no allocation for IPv4.
 *
 * IPv4: one open-addressing table of `int32`s for all prefix lengths, keyed by (network, prefix);
 * a lookup masks the address once per prefix length present and probes. The probes do not depend
 * on each other, so their cache misses overlap, and most find nothing (an address is in a block
 * of few of the lengths present): a bit filter of 16 bits per block, small enough to stay in
 * cache, answers most of those without reading the table. IPv6 (rare on the hot path, and `bigint`
 * arithmetic allocates anyway): one `Map` per prefix length, keys with their 64-bit halves swapped
 * (see cidr-table.ts for why).
 */
import { v4Mask, v6Mask, type Cidr } from './cidr.ts'
import { NO_RULES, type PostingsBuilder } from './postings.ts'

const LOW64 = (1n << 64n) - 1n

function swapHalves(n: bigint): bigint {
  return ((n & LOW64) << 64n) | (n >> 64n)
}

function slotOf(network: number, prefix: number): number {
  let h = Math.imul(network ^ Math.imul(prefix, 0x9e3779b9), 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return h ^ (h >>> 16)
}

/** The filter's bit for a key: the top bits of a Fibonacci product, independent of the slot's low bits. */
function filterBit(key: number, shift: number): number {
  return Math.imul(key, 0x9e3779b1) >>> shift
}

export class CidrIndexBuilder {
  readonly #v4 = new Map<string, { network: number; prefix: number; ordinals: number[] }>()
  readonly #v6 = new Map<number, Map<bigint, number[]>>()
  #size = 0

  get size(): number {
    return this.#size
  }

  add(cidr: Cidr, ordinal: number): void {
    this.#size++
    if (cidr.v === 4) {
      const network = cidr.network | 0
      const key = `${network}/${cidr.prefix}`
      const e = this.#v4.get(key)
      if (e) e.ordinals.push(ordinal)
      else this.#v4.set(key, { network, prefix: cidr.prefix, ordinals: [ordinal] })
      return
    }
    let level = this.#v6.get(cidr.prefix)
    if (!level) {
      level = new Map()
      this.#v6.set(cidr.prefix, level)
    }
    const key = swapHalves(cidr.network)
    const list = level.get(key)
    if (list) list.push(ordinal)
    else level.set(key, [ordinal])
  }

  build(postings: PostingsBuilder): CidrIndex {
    const blocks = [...this.#v4.values()]
    let capacity = 8
    while (capacity * 0.5 < blocks.length) capacity *= 2
    const mask = capacity - 1
    // Per slot: network, prefix + 1 (0: empty), postings reference.
    const slots = new Int32Array(capacity * 4)
    let filterLog = 6
    while (1 << filterLog < blocks.length * 16) filterLog++
    const filter = new Int32Array(1 << (filterLog - 5))
    const filterShift = 32 - filterLog
    const prefixes = new Set<number>()
    for (const b of blocks) {
      prefixes.add(b.prefix)
      const key = slotOf(b.network, b.prefix)
      const bit = filterBit(key, filterShift)
      filter[bit >>> 5]! |= 1 << (bit & 31)
      let slot = key & mask
      while (slots[slot * 4 + 1] !== 0) slot = (slot + 1) & mask
      slots[slot * 4] = b.network
      slots[slot * 4 + 1] = b.prefix + 1
      slots[slot * 4 + 2] = postings.add(b.ordinals)
    }
    // Longest prefixes first: the order does not change the result, only which probe comes first.
    const v4Prefixes = Int32Array.from([...prefixes].sort((a, b) => b - a))
    const v4Masks = v4Prefixes.map((p) => v4Mask(p) | 0)
    const v6 = [...this.#v6.entries()]
      .sort((a, b) => b[0] - a[0])
      .map(([prefix, level]) => ({ mask: swapHalves(v6Mask(prefix)), map: new Map([...level].map(([k, list]) => [k, postings.add(list)] as const)) }))
    return new CidrIndex({ slots, slotMask: mask, filter, filterShift, v4Prefixes, v4Masks, v6 })
  }
}

interface CidrIndexData {
  readonly slots: Int32Array
  readonly slotMask: number
  readonly filter: Int32Array
  readonly filterShift: number
  readonly v4Prefixes: Int32Array
  readonly v4Masks: Int32Array
  readonly v6: ReadonlyArray<{ readonly mask: bigint; readonly map: ReadonlyMap<bigint, number> }>
}

export class CidrIndex {
  readonly #slots: Int32Array
  readonly #slotMask: number
  readonly #filter: Int32Array
  readonly #filterShift: number
  readonly #v4Prefixes: Int32Array
  readonly #v4Masks: Int32Array
  readonly #v6: ReadonlyArray<{ readonly mask: bigint; readonly map: ReadonlyMap<bigint, number> }>

  constructor(d: CidrIndexData) {
    this.#slots = d.slots
    this.#slotMask = d.slotMask
    this.#filter = d.filter
    this.#filterShift = d.filterShift
    this.#v4Prefixes = d.v4Prefixes
    this.#v4Masks = d.v4Masks
    this.#v6 = d.v6
  }

  get isEmpty(): boolean {
    return this.#v4Prefixes.length === 0 && this.#v6.length === 0
  }

  get bytes(): number {
    return this.#slots.byteLength + this.#filter.byteLength
  }

  /**
   * Writes into `out` from `n` on the reference of every block containing `ip` (int32 IPv4 or
   * bigint IPv6, see `parseIpCompact`) and returns the new count: at most 33 (IPv4) or 129.
   */
  collect(ip: number | bigint, out: Int32Array, n: number): number {
    if (typeof ip === 'number') {
      const slots = this.#slots
      const prefixes = this.#v4Prefixes
      for (let k = 0; k < prefixes.length; k++) {
        const prefix = prefixes[k]!
        const network = ip & this.#v4Masks[k]!
        const key = slotOf(network, prefix)
        const bit = filterBit(key, this.#filterShift)
        if ((this.#filter[bit >>> 5]! & (1 << (bit & 31))) === 0) continue
        let slot = key & this.#slotMask
        for (;;) {
          const at = slot << 2
          const p = slots[at + 1]!
          if (p === 0) break
          if (p === prefix + 1 && slots[at] === network) {
            const ref = slots[at + 2]!
            if (ref !== NO_RULES) out[n++] = ref
            break
          }
          slot = (slot + 1) & this.#slotMask
        }
      }
      return n
    }
    if (this.#v6.length === 0) return n
    const swapped = swapHalves(ip)
    for (const level of this.#v6) {
      const ref = level.map.get(swapped & level.mask)
      if (ref !== undefined && ref !== NO_RULES) out[n++] = ref
    }
    return n
  }
}
