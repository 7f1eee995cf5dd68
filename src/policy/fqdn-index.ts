/**
 * @module The engine's FQDN pattern index: every pattern of one rule type in open-addressing hash
 * tables of `int32`s, probed with the suffix hashes `ScannedName` computed in its one pass over
 * the name. No regular expression, no backtracking, no string built per lookup (DESIGN.md §2).
 *
 * Every question a pattern asks is whether the name ends with a string, at a place that depends
 * on the kind of pattern:
 * - `a.b.com` (exact): the suffix at position 0 is `a.b.com`;
 * - `*.b.com` (subdomain): the suffix at the start of a label other than the first is `b.com`;
 * - `*xb.com` (suffix: tail `xb`, base `com`): the suffix at the start of a label is `com`, and
 *   the suffix inside the label on its left, `length(tail)` characters before the dot, is `xb.com`;
 *   with an empty base (`*xb`) the same, inside the last label.
 * So the index holds the strings `a.b.com` (exact), `b.com` (subdomain base), `com` (base of
 * tails, with its tails' lengths) and `xb.com` (tail), each with the rules of the patterns that end
 * there. A lookup probes the whole name once for exact patterns, each other label start for
 * subdomain bases and bases of tails, and inside a label only the lengths a base's tails have.
 * The probes of one name do not depend on each other, so the CPU overlaps their cache misses,
 * where a trie walk waits for each node.
 *
 * Layout (typed arrays, no object per pattern): one suffix table (suffix-table.ts) per kind, so
 * that a hit reads one slot holding the rules' postings reference (postings.ts), and each table
 * is as small as its kind: the exact names are most of a large policy, and are probed once per
 * name; the others are probed at every label start, or at every tail length, and mostly find
 * nothing, which their filters answer from cache. Tail lengths are two 32-bit masks per base.
 * Every hash hit is confirmed against the characters: equal hashes of different strings (and
 * `hashBits` makes them common, for tests) cost a comparison, never a wrong answer.
 */
import type { FqdnPattern } from './fqdn-pattern.ts'
import { NO_RULES, type PostingsBuilder } from './postings.ts'
import type { ScannedName } from './scanned-name.ts'
import { SuffixTableBuilder, type SuffixTable } from './suffix-table.ts'

export interface FqdnIndexOptions {
  /**
   * Bits of the hash kept (1–32, default 32). Fewer bits make distinct strings share hashes:
   * tests use it to exercise the confirmation of hits; decisions do not depend on it.
   */
  readonly hashBits?: number
}

/**
 * Rules per entry and kind while building: -1 none, an ordinal, or `-2 - k` for the list
 * `lists[k]` (two or more rules): no object per entry for the common case of one rule.
 */
class RuleSlots {
  readonly values: number[] = []
  readonly lists: number[][] = []

  push(id: number, ordinal: number): void {
    const v = this.values[id]
    if (v === undefined || v === -1) this.values[id] = ordinal
    else if (v >= 0) {
      this.values[id] = -2 - this.lists.length
      this.lists.push([v, ordinal])
    } else this.lists[-2 - v]!.push(ordinal)
  }

  ref(id: number, postings: PostingsBuilder): number {
    const v = this.values[id]
    if (v === undefined || v >= -1) return v ?? NO_RULES
    return postings.add(this.lists[-2 - v]!)
  }
}

/** Patterns are added with `add`, then `build` makes the index. */
export class FqdnIndexBuilder {
  readonly #ids = new Map<string, number>()
  readonly #texts: string[] = []
  readonly #exact = new RuleSlots()
  readonly #subdomain = new RuleSlots()
  readonly #tail = new RuleSlots()
  /** Per base entry: the lengths (1–62) of its tails, as two masks (bit `l - 1` of the pair for length `l`); 0: none. */
  readonly #tailsLo: number[] = []
  readonly #tailsHi: number[] = []
  readonly #any: number[] = []
  #rootTailsLo = 0
  #rootTailsHi = 0
  #size = 0

  /** Patterns added (a rule with three names counts three). */
  get size(): number {
    return this.#size
  }

  #id(text: string): number {
    let id = this.#ids.get(text)
    if (id === undefined) {
      id = this.#texts.length
      this.#ids.set(text, id)
      this.#texts.push(text)
      this.#tailsLo.push(0)
      this.#tailsHi.push(0)
    }
    return id
  }

  add(pattern: FqdnPattern, ordinal: number): void {
    this.#size++
    switch (pattern.kind) {
      case 'any':
        this.#any.push(ordinal)
        return
      case 'exact':
        this.#exact.push(this.#id(pattern.name), ordinal)
        return
      case 'subdomain':
        this.#subdomain.push(this.#id(pattern.base), ordinal)
        return
      case 'suffix': {
        const text = pattern.base === '' ? pattern.tail : `${pattern.tail}.${pattern.base}`
        this.#tail.push(this.#id(text), ordinal)
        const l = pattern.tail.length
        if (pattern.base === '') {
          if (l <= 32) this.#rootTailsLo |= 1 << (l - 1)
          else this.#rootTailsHi |= 1 << (l - 33)
        } else {
          const base = this.#id(pattern.base)
          if (l <= 32) this.#tailsLo[base]! |= 1 << (l - 1)
          else this.#tailsHi[base]! |= 1 << (l - 33)
        }
        return
      }
    }
  }

  build(postings: PostingsBuilder, options: FqdnIndexOptions = {}): FqdnIndex {
    const texts = this.#texts
    const exact = new SuffixTableBuilder()
    const subdomain = new SuffixTableBuilder()
    const bases = new SuffixTableBuilder()
    const tails = new SuffixTableBuilder()
    const masks: number[] = []
    for (let id = 0; id < texts.length; id++) {
      const text = texts[id]!
      const e = this.#exact.ref(id, postings)
      if (e !== NO_RULES) exact.add(text, e)
      const sub = this.#subdomain.ref(id, postings)
      if (sub !== NO_RULES) subdomain.add(text, sub)
      const t = this.#tail.ref(id, postings)
      if (t !== NO_RULES) tails.add(text, t)
      const lo = this.#tailsLo[id]!
      const hi = this.#tailsHi[id]!
      if ((lo | hi) !== 0) {
        bases.add(text, masks.length)
        masks.push(lo, hi)
      }
    }
    const bits = options.hashBits
    return new FqdnIndex({
      exact: exact.build(bits),
      subdomain: subdomain.build(bits),
      bases: bases.build(bits),
      masks: Int32Array.from(masks),
      tails: tails.build(bits),
      any: postings.add(this.#any),
      rootTailsLo: this.#rootTailsLo,
      rootTailsHi: this.#rootTailsHi,
    })
  }
}

interface FqdnIndexData {
  readonly exact: SuffixTable
  readonly subdomain: SuffixTable
  readonly bases: SuffixTable
  readonly masks: Int32Array
  readonly tails: SuffixTable
  readonly any: number
  readonly rootTailsLo: number
  readonly rootTailsHi: number
}

export class FqdnIndex {
  readonly #exact: SuffixTable
  readonly #subdomain: SuffixTable
  /** Bases of tails: the value is the index of the base's two length masks in `#masks`. */
  readonly #bases: SuffixTable
  readonly #masks: Int32Array
  readonly #tails: SuffixTable
  readonly #any: number
  readonly #rootTailsLo: number
  readonly #rootTailsHi: number

  constructor(d: FqdnIndexData) {
    this.#exact = d.exact
    this.#subdomain = d.subdomain
    this.#bases = d.bases
    this.#masks = d.masks
    this.#tails = d.tails
    this.#any = d.any
    this.#rootTailsLo = d.rootTailsLo
    this.#rootTailsHi = d.rootTailsHi
  }

  /** The rules of `*` only: what an IP literal in place of a name matches. */
  any(): number {
    return this.#any
  }

  /**
   * Writes into `out` from `n` on the postings reference of every pattern that matches `name`,
   * and returns the new count: at most `2 + name.length` (one per label, plus one per character
   * for tails, which end inside labels, plus `*`), so `out` needs that much room from `n` on.
   */
  collect(name: ScannedName, out: Int32Array, n: number): number {
    if (this.#any !== NO_RULES) out[n++] = this.#any
    const starts = name.labelStarts
    const labels = name.labels
    if ((this.#rootTailsLo | this.#rootTailsHi) !== 0) n = this.#collectTails(name, starts[0]!, name.length, this.#rootTailsLo, this.#rootTailsHi, out, n)
    const exact = this.#exact.find(name, 0, NO_RULES)
    if (exact !== NO_RULES) out[n++] = exact
    for (let k = 0; k < labels - 1; k++) {
      const start = starts[k]!
      const sub = this.#subdomain.find(name, start, NO_RULES)
      if (sub !== NO_RULES) out[n++] = sub
      const mask = this.#bases.find(name, start, -1)
      // Tails of suffix patterns on this base, inside the label on the left (it ends at start - 1).
      if (mask >= 0) n = this.#collectTails(name, starts[k + 1]!, start - 1, this.#masks[mask]!, this.#masks[mask + 1]!, out, n)
    }
    return n
  }
  /** Suffix patterns whose tail ends the label `[labelStart, labelEnd)`: one probe per tail length present. */
  #collectTails(name: ScannedName, labelStart: number, labelEnd: number, lo: number, hi: number, out: Int32Array, n: number): number {
    const room = labelEnd - labelStart
    for (let half = 0; half < 2; half++) {
      let m = half === 0 ? lo : hi
      const base = half === 0 ? 1 : 33
      while (m !== 0) {
        const bit = m & -m
        m ^= bit
        const length = base + 31 - Math.clz32(bit)
        if (length > room) return n
        const tail = this.#tails.find(name, labelEnd - length, NO_RULES)
        if (tail !== NO_RULES) out[n++] = tail
      }
    }
    return n
  }
}
