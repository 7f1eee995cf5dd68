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
 * Slots: 4 `int32` each (16 bytes, four to a cache line): the mixed hash (the key), two values of
 * the caller's (the FQDN index keeps the network and the application rules of a string in one slot,
 * so that one probe answers both phases), and where the text is (0: empty slot). Texts are stored
 * after a byte holding their length (names are at most 253 characters), so a hit reads its
 * length with its characters, from the line the comparison reads anyway.
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

/**
 * Texts are added one at a time and deduplicated as they come, in a growable table of the same
 * layout as the finished one, keyed by the same hash: each text is hashed once, and compiling a
 * large policy needs no `Map` of strings. `build` then sets each entry's value and the filter.
 */
export class SuffixTableBuilder {
  readonly #keyMask: number
  #capacity = 16
  /** Per slot: key, entry + 1 (0: empty). */
  #slots = new Int32Array(16 * 2)
  /** Per entry: the cut hash (filter), the key, where its text is (its length byte). */
  #entries: number[] = []
  /** Offset 0 is never a text, so that a slot's 0 means empty. */
  #text = new Uint8Array(256)
  #textLength = 1

  /** `hashBits` (1–32): bits of the hash kept; fewer force collisions (tests). */
  constructor(hashBits = 32) {
    if (!Number.isInteger(hashBits) || hashBits < 1 || hashBits > 32) throw new RangeError(`hashBits must be 1-32, not ${hashBits}`)
    this.#keyMask = hashBits === 32 ? -1 : (1 << hashBits) - 1
  }

  /** Entries (distinct texts). */
  get size(): number {
    return (this.#entries.length / 3) | 0
  }

  /** The entry of `text` (normal form, not empty): the existing one, or a new one (`size - 1`). */
  entry(text: string): number {
    let h = NAME_HASH_SEED
    for (let i = text.length - 1; i >= 0; i--) h = nameHashStep(h, text.charCodeAt(i))
    // With `hashBits` < 32 the hash is cut before anything is derived from it, so that strings
    // whose cut hashes are equal pass the filter and meet in the slots alike.
    const cut = h & this.#keyMask
    const key = mix(cut)
    const mask = this.#capacity - 1
    let slot = key & mask
    for (;;) {
      const e = this.#slots[slot * 2 + 1]!
      if (e === 0) break
      if (this.#slots[slot * 2] === key && this.#equals(e - 1, text)) return e - 1
      slot = (slot + 1) & mask
    }
    const entry = this.size
    const textAt = this.#append(text)
    this.#entries.push(cut, key, textAt)
    this.#slots[slot * 2] = key
    this.#slots[slot * 2 + 1] = entry + 1
    // Load factor at most 0.7: linear probing then reads 1.5-2 slots on a hit, one cache line
    // most of the time; the filter keeps most misses (3-6 slots at this load) off the table.
    if (entry + 1 > this.#capacity * 0.7) this.#grow()
    return entry
  }

  #equals(entry: number, text: string): boolean {
    const at = this.#entries[entry * 3 + 2]!
    if (this.#text[at] !== text.length) return false
    for (let i = 0; i < text.length; i++) if (this.#text[at + 1 + i] !== text.charCodeAt(i)) return false
    return true
  }

  /** Appends `text` after its length byte; returns where the length byte is. */
  #append(text: string): number {
    if (text.length === 0 || text.length > 255) throw new RangeError(`suffix texts are 1-255 characters, not ${text.length}`)
    const at = this.#textLength
    if (at + 1 + text.length > this.#text.length) {
      const bigger = new Uint8Array(Math.max(this.#text.length * 2, at + 1 + text.length))
      bigger.set(this.#text)
      this.#text = bigger
    }
    this.#text[at] = text.length
    for (let i = 0; i < text.length; i++) this.#text[at + 1 + i] = text.charCodeAt(i)
    this.#textLength += 1 + text.length
    return at
  }

  #grow(): void {
    this.#capacity *= 2
    const mask = this.#capacity - 1
    const slots = new Int32Array(this.#capacity * 2)
    const entries = this.#entries
    for (let e = 0; e < this.size; e++) {
      const key = entries[e * 3 + 1]!
      let slot = key & mask
      while (slots[slot * 2 + 1] !== 0) slot = (slot + 1) & mask
      slots[slot * 2] = key
      slots[slot * 2 + 1] = e + 1
    }
    this.#slots = slots
  }

  /** The table, `first[e]` and `second[e]` the values of entry `e` (`second` absent: -1). */
  build(first: readonly number[], second?: readonly number[]): SuffixTable {
    const entries = this.#entries
    const n = this.size
    let filterLog = 6
    while (1 << filterLog < n * 16) filterLog++
    const filter = new Int32Array(1 << (filterLog - 5))
    const filterShift = 32 - filterLog
    const mask = this.#capacity - 1
    const slots = new Int32Array(this.#capacity * 4)
    for (let e = 0; e < n; e++) {
      const at = e * 3
      const bit = filterBit(entries[at]!, filterShift)
      filter[bit >>> 5]! |= 1 << (bit & 31)
      const key = entries[at + 1]!
      let slot = key & mask
      while (slots[slot * 4 + 3] !== 0) slot = (slot + 1) & mask
      slots[slot * 4] = key
      slots[slot * 4 + 1] = first[e]!
      slots[slot * 4 + 2] = second === undefined ? -1 : second[e]!
      slots[slot * 4 + 3] = entries[at + 2]!
    }
    return new SuffixTable(slots, mask, this.#keyMask, filter, filterShift, this.#text.slice(0, this.#textLength))
  }
}

export class SuffixTable {
  /** The slots, read by callers at the offset `find` returns: `+ 1` first value, `+ 2` second. */
  readonly slots: Int32Array
  readonly #slotMask: number
  readonly #keyMask: number
  readonly #filter: Int32Array
  readonly #filterShift: number
  readonly #text: Uint8Array

  constructor(slots: Int32Array, slotMask: number, keyMask: number, filter: Int32Array, filterShift: number, text: Uint8Array) {
    this.slots = slots
    this.#slotMask = slotMask
    this.#keyMask = keyMask
    this.#filter = filter
    this.#filterShift = filterShift
    this.#text = text
  }

  /**
   * The offset in `slots` of the slot of the suffix of `name` at `start`, or -1: one read of
   * the filter, and past it one slot or a few, and the stored text of a key that matches.
   */
  find(name: ScannedName, start: number): number {
    const cut = name.hashes[start]! & this.#keyMask
    const bit = filterBit(cut, this.#filterShift)
    if ((this.#filter[bit >>> 5]! & (1 << (bit & 31))) === 0) return -1
    const key = mix(cut)
    const slots = this.slots
    const mask = this.#slotMask
    let slot = key & mask
    for (;;) {
      const at = slot << 2
      const textAt = slots[at + 3]!
      if (textAt === 0) return -1
      if (slots[at] === key && name.suffixEquals(start, this.#text, textAt)) return at
      slot = (slot + 1) & mask
    }
  }
}
