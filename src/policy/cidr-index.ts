/**
 * @module The engine's index of address blocks (network-rule destinations, large source sets):
 * every block that contains an address, as postings references (postings.ts). Addresses come as
 * `int32` words (ip-words.ts); nothing is allocated per lookup, IPv6 included.
 *
 * One open-addressing table of `int32`s per address family, for all prefix lengths, keyed by
 * (network, prefix); a lookup masks the address once per prefix length present and probes. The
 * probes do not depend on each other, so their cache misses overlap, and most find nothing (an
 * address is in a block of few of the lengths present): a bit filter of 16 bits per block, small
 * enough to stay in cache, answers most of those without reading the table.
 */
import { v4Mask, v6Mask, type Cidr } from './cidr.ts'
import { wordsOfIpv6 } from './ip-words.ts'
import { NO_RULES, type PostingsBuilder } from './postings.ts'

/** An IPv4 block as one int32, before mixing: the filter takes its bit from this (one multiply). */
function rawKey4(network: number, prefix: number): number {
  return network ^ Math.imul(prefix, 0x9e3779b9)
}

/** Murmur3's finaliser over `rawKey4`: the slot. */
function mix(h: number): number {
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return h ^ (h >>> 16)
}

function keyOf6(w0: number, w1: number, w2: number, w3: number, prefix: number): number {
  let h = Math.imul(prefix + 1, 0x9e3779b9)
  h = Math.imul(h ^ w0, 0x85ebca6b)
  h ^= h >>> 15
  h = Math.imul(h ^ w1, 0x85ebca6b)
  h ^= h >>> 15
  h = Math.imul(h ^ w2, 0x85ebca6b)
  h ^= h >>> 15
  h = Math.imul(h ^ w3, 0xc2b2ae35)
  return h ^ (h >>> 16)
}

/** The filter's bit for a key: the top bits of a Fibonacci product, independent of the slot's low bits of the mixed key. */
function filterBit(key: number, shift: number): number {
  return Math.imul(key, 0x9e3779b1) >>> shift
}

interface Filter {
  readonly bits: Int32Array
  readonly shift: number
}

function newFilter(keys: number): Filter {
  let log = 6
  while (1 << log < keys * 16) log++
  return { bits: new Int32Array(1 << (log - 5)), shift: 32 - log }
}

function capacityFor(n: number): number {
  let capacity = 8
  while (capacity * 0.5 < n) capacity *= 2
  return capacity
}

interface Block4 {
  readonly network: number
  readonly prefix: number
  readonly ordinals: number[]
}

interface Block6 {
  readonly words: readonly [number, number, number, number]
  readonly prefix: number
  readonly ordinals: number[]
}

export class CidrIndexBuilder {
  readonly #v4 = new Map<string, Block4>()
  readonly #v6 = new Map<string, Block6>()
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
    const key = `${cidr.network.toString(16)}/${cidr.prefix}`
    const e = this.#v6.get(key)
    if (e) e.ordinals.push(ordinal)
    else this.#v6.set(key, { words: wordsOfIpv6(cidr.network), prefix: cidr.prefix, ordinals: [ordinal] })
  }

  build(postings: PostingsBuilder): CidrIndex {
    // IPv4 slots: network, prefix + 1 (0: empty), postings reference, unused.
    const blocks4 = [...this.#v4.values()]
    const capacity4 = capacityFor(blocks4.length)
    const slots4 = new Int32Array(capacity4 * 4)
    const filter4 = newFilter(blocks4.length)
    const prefixes4 = new Set<number>()
    for (const b of blocks4) {
      prefixes4.add(b.prefix)
      const raw = rawKey4(b.network, b.prefix)
      const bit = filterBit(raw, filter4.shift)
      filter4.bits[bit >>> 5]! |= 1 << (bit & 31)
      let slot = mix(raw) & (capacity4 - 1)
      while (slots4[slot * 4 + 1] !== 0) slot = (slot + 1) & (capacity4 - 1)
      slots4[slot * 4] = b.network
      slots4[slot * 4 + 1] = b.prefix + 1
      slots4[slot * 4 + 2] = postings.add(b.ordinals)
    }
    // IPv6 slots: the network's four words, prefix + 1 (0: empty), postings reference, unused.
    const blocks6 = [...this.#v6.values()]
    const capacity6 = capacityFor(blocks6.length)
    const slots6 = new Int32Array(capacity6 * 8)
    const filter6 = newFilter(blocks6.length)
    const prefixes6 = new Set<number>()
    for (const b of blocks6) {
      prefixes6.add(b.prefix)
      const [w0, w1, w2, w3] = b.words
      const key = keyOf6(w0, w1, w2, w3, b.prefix)
      const bit = filterBit(key, filter6.shift)
      filter6.bits[bit >>> 5]! |= 1 << (bit & 31)
      let slot = key & (capacity6 - 1)
      while (slots6[slot * 8 + 4] !== 0) slot = (slot + 1) & (capacity6 - 1)
      slots6.set([w0, w1, w2, w3, b.prefix + 1, postings.add(b.ordinals)], slot * 8)
    }
    // Longest prefixes first: the order does not change the result, only which probe comes first.
    const v4Prefixes = Int32Array.from([...prefixes4].sort((a, b) => b - a))
    const v6Prefixes = Int32Array.from([...prefixes6].sort((a, b) => b - a))
    const v6Masks = new Int32Array(v6Prefixes.length * 4)
    v6Prefixes.forEach((p, k) => { v6Masks.set(wordsOfIpv6(v6Mask(p)), k * 4); })
    return new CidrIndex({
      slots4,
      filter4,
      v4Prefixes,
      v4Masks: v4Prefixes.map((p) => v4Mask(p) | 0),
      slots6,
      filter6,
      v6Prefixes,
      v6Masks,
    })
  }
}

interface CidrIndexData {
  readonly slots4: Int32Array
  readonly filter4: Filter
  readonly v4Prefixes: Int32Array
  readonly v4Masks: Int32Array
  readonly slots6: Int32Array
  readonly filter6: Filter
  readonly v6Prefixes: Int32Array
  /** Four words per prefix length, in the order of `v6Prefixes`. */
  readonly v6Masks: Int32Array
}

export class CidrIndex {
  readonly #slots4: Int32Array
  readonly #mask4: number
  readonly #filter4: Int32Array
  readonly #shift4: number
  readonly #v4Prefixes: Int32Array
  readonly #v4Masks: Int32Array
  readonly #slots6: Int32Array
  readonly #mask6: number
  readonly #filter6: Int32Array
  readonly #shift6: number
  readonly #v6Prefixes: Int32Array
  readonly #v6Masks: Int32Array

  constructor(d: CidrIndexData) {
    this.#slots4 = d.slots4
    this.#mask4 = (d.slots4.length >> 2) - 1
    this.#filter4 = d.filter4.bits
    this.#shift4 = d.filter4.shift
    this.#v4Prefixes = d.v4Prefixes
    this.#v4Masks = d.v4Masks
    this.#slots6 = d.slots6
    this.#mask6 = (d.slots6.length >> 3) - 1
    this.#filter6 = d.filter6.bits
    this.#shift6 = d.filter6.shift
    this.#v6Prefixes = d.v6Prefixes
    this.#v6Masks = d.v6Masks
  }

  /**
   * Writes into `out` from `n` on the reference of every block containing the IPv4 address `ip`
   * (int32) and returns the new count: at most 33 more.
   */
  collect4(ip: number, out: Int32Array, n: number): number {
    const slots = this.#slots4
    const mask = this.#mask4
    const prefixes = this.#v4Prefixes
    for (let k = 0; k < prefixes.length; k++) {
      const prefix = prefixes[k]!
      const network = ip & this.#v4Masks[k]!
      const raw = rawKey4(network, prefix)
      const bit = filterBit(raw, this.#shift4)
      if ((this.#filter4[bit >>> 5]! & (1 << (bit & 31))) === 0) continue
      for (let slot = mix(raw) & mask; ; slot = (slot + 1) & mask) {
        const at = slot << 2
        const p = slots[at + 1]!
        if (p === 0) break
        if (p === prefix + 1 && slots[at] === network) {
          const ref = slots[at + 2]!
          if (ref !== NO_RULES) out[n++] = ref
          break
        }
      }
    }
    return n
  }

  /**
   * As `collect4`, for the IPv6 address in `w[0..3]` (ip-words.ts): at most 129 more.
   */
  collect6(w: Int32Array, out: Int32Array, n: number): number {
    const slots = this.#slots6
    const mask = this.#mask6
    const prefixes = this.#v6Prefixes
    const masks = this.#v6Masks
    const a0 = w[0]!
    const a1 = w[1]!
    const a2 = w[2]!
    const a3 = w[3]!
    for (let k = 0; k < prefixes.length; k++) {
      const prefix = prefixes[k]!
      const m = k << 2
      const n0 = a0 & masks[m]!
      const n1 = a1 & masks[m + 1]!
      const n2 = a2 & masks[m + 2]!
      const n3 = a3 & masks[m + 3]!
      const key = keyOf6(n0, n1, n2, n3, prefix)
      const bit = filterBit(key, this.#shift6)
      if ((this.#filter6[bit >>> 5]! & (1 << (bit & 31))) === 0) continue
      for (let slot = key & mask; ; slot = (slot + 1) & mask) {
        const at = slot << 3
        const p = slots[at + 4]!
        if (p === 0) break
        if (p === prefix + 1 && slots[at] === n0 && slots[at + 1] === n1 && slots[at + 2] === n2 && slots[at + 3] === n3) {
          const ref = slots[at + 5]!
          if (ref !== NO_RULES) out[n++] = ref
          break
        }
      }
    }
    return n
  }
}
