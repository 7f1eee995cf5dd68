/**
 * @module A hash table of name suffixes, for the FQDN index (fqdn-index.ts): open addressing
 * over one `Int32Array`, probed with the suffix hashes `ScannedName` computed, every hit
 * confirmed against the stored characters.
 *
 * Most probes of a lookup ask about strings that are not there (the suffixes of a name that no
 * pattern names). A bit filter in front of the table answers those from a few kilobytes that stay
 * in the CPU caches: one bit per key, 16 bits of filter per key stored, so about 6% of absent
 * strings get past it to the table, which is megabytes and a cache and TLB miss per probe at
 * 100,000 rules. The filter never says no to a stored key, so it changes cost, not answers.
 *
 * Slots: 4 `int32` each, the mixed hash (the key), the caller's value, the text's offset and length (0:
 * empty slot; stored texts are never empty), so a probe confirms a hit from the slot it read.
 */
import { NAME_HASH_SEED, nameHashStep, type ScannedName } from './scanned-name.ts'

/** Murmur3's finaliser: FNV's low bits are weak, and the slot is taken from them. */
function mix(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return h ^ (h >>> 16)
}

/**
 * The filter's bit for a hash: the top bits of a Fibonacci product, one multiply, so that a probe
 * the filter turns away costs no more than that (the slot's key is mixed only past the filter).
 */
function filterBit(hash: number, shift: number): number {
  return Math.imul(hash, 0x9e3779b1) >>> shift
}

export class SuffixTableBuilder {
  readonly #texts: string[] = []
  readonly #values: number[] = []

  get size(): number {
    return this.#texts.length
  }

  /** Adds a distinct text (normal form, not empty) with its value. */
  add(text: string, value: number): void {
    this.#texts.push(text)
    this.#values.push(value)
  }

  /** `hashBits` (1–32): bits of the hash kept; fewer force collisions (tests). */
  build(hashBits = 32): SuffixTable {
    if (!Number.isInteger(hashBits) || hashBits < 1 || hashBits > 32) throw new RangeError(`hashBits must be 1-32, not ${hashBits}`)
    const keyMask = hashBits === 32 ? -1 : (1 << hashBits) - 1
    const texts = this.#texts
    const n = texts.length
    // Load factor at most 0.7: linear probing then reads 1.5-2 slots on a hit, one cache line
    // most of the time; the filter keeps most misses (3-6 slots at this load) off the table.
    let capacity = 8
    while (capacity * 0.7 < n) capacity *= 2
    const slotMask = capacity - 1
    const slots = new Int32Array(capacity * 4)
    let filterLog = 6
    while (1 << filterLog < n * 16) filterLog++
    const filter = new Int32Array(1 << (filterLog - 5))
    const filterShift = 32 - filterLog
    let textLength = 0
    for (const t of texts) textLength += t.length
    const text = new Uint8Array(textLength)
    let offset = 0
    for (let e = 0; e < n; e++) {
      const t = texts[e]!
      // One pass over the characters: copy them and hash them from the end, as ScannedName does.
      let h = NAME_HASH_SEED
      for (let i = t.length - 1; i >= 0; i--) {
        const c = t.charCodeAt(i)
        text[offset + i] = c
        h = nameHashStep(h, c)
      }
      // With `hashBits` < 32 the hash is cut before anything is derived from it, so that strings
      // whose cut hashes are equal pass the filter and meet in the slots alike.
      const cut = h & keyMask
      const key = mix(cut)
      const bit = filterBit(cut, filterShift)
      filter[bit >>> 5]! |= 1 << (bit & 31)
      let slot = key & slotMask
      while (slots[slot * 4 + 3] !== 0) slot = (slot + 1) & slotMask
      slots[slot * 4] = key
      slots[slot * 4 + 1] = this.#values[e]!
      slots[slot * 4 + 2] = offset
      slots[slot * 4 + 3] = t.length
      offset += t.length
    }
    return new SuffixTable(slots, slotMask, keyMask, filter, filterShift, text)
  }
}

export class SuffixTable {
  readonly #slots: Int32Array
  readonly #slotMask: number
  readonly #keyMask: number
  readonly #filter: Int32Array
  readonly #filterShift: number
  readonly #text: Uint8Array

  constructor(slots: Int32Array, slotMask: number, keyMask: number, filter: Int32Array, filterShift: number, text: Uint8Array) {
    this.#slots = slots
    this.#slotMask = slotMask
    this.#keyMask = keyMask
    this.#filter = filter
    this.#filterShift = filterShift
    this.#text = text
  }

  /** The value stored for the suffix of `name` at `start`, or `absent`. */
  find(name: ScannedName, start: number, absent: number): number {
    const cut = name.hashes[start]! & this.#keyMask
    const bit = filterBit(cut, this.#filterShift)
    if ((this.#filter[bit >>> 5]! & (1 << (bit & 31))) === 0) return absent
    const key = mix(cut)
    const slots = this.#slots
    const mask = this.#slotMask
    let slot = key & mask
    for (;;) {
      const at = slot << 2
      const length = slots[at + 3]!
      if (length === 0) return absent
      if (slots[at] === key && name.suffixEquals(start, this.#text, slots[at + 2]!, length)) return slots[at + 1]!
      slot = (slot + 1) & mask
    }
  }
}
