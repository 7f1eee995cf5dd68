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
 * The rules of each entry of one table while building: -1 none, an ordinal, or `-2 - k` for the
 * list `lists[k]` (two or more rules): no object per entry for the common case of one rule.
 */
class RuleSlots {
  readonly #values: number[] = []
  readonly #lists: number[][] = []

  /** Adds `ordinal` to entry `id`, a new entry when `id` is the number of entries so far. */
  push(id: number, ordinal: number): void {
    if (id === this.#values.length) {
      this.#values.push(ordinal)
      return
    }
    const v = this.#values[id]!
    if (v >= 0) {
      this.#values[id] = -2 - this.#lists.length
      this.#lists.push([v, ordinal])
    } else this.#lists[-2 - v]!.push(ordinal)
  }

  /** Every entry's postings reference. */
  refs(postings: PostingsBuilder): number[] {
    return this.#values.map((v) => (v >= 0 ? v : postings.add(this.#lists[-2 - v]!)))
  }
}

/** Patterns are added with `add`, then `build` makes the index. */
export class FqdnIndexBuilder {
  readonly #exact: SuffixTableBuilder
  readonly #subdomain: SuffixTableBuilder
  readonly #tails: SuffixTableBuilder
  /** Bases of tails; each entry's tail lengths as two masks in `#masks` (bit `l - 1` for length `l`). */
  readonly #bases: SuffixTableBuilder
  readonly #exactRules = new RuleSlots()
  readonly #subdomainRules = new RuleSlots()
  readonly #tailRules = new RuleSlots()
  readonly #masks: number[] = []
  readonly #any: number[] = []
  #rootTailsLo = 0
  #rootTailsHi = 0
  #size = 0

  constructor(options: FqdnIndexOptions = {}) {
    const bits = options.hashBits
    this.#exact = new SuffixTableBuilder(bits)
    this.#subdomain = new SuffixTableBuilder(bits)
    this.#tails = new SuffixTableBuilder(bits)
    this.#bases = new SuffixTableBuilder(bits)
  }

  /** Patterns added (a rule with three names counts three). */
  get size(): number {
    return this.#size
  }

  add(pattern: FqdnPattern, ordinal: number): void {
    this.#size++
    switch (pattern.kind) {
      case 'any':
        this.#any.push(ordinal)
        return
      case 'exact':
        this.#exactRules.push(this.#exact.entry(pattern.name), ordinal)
        return
      case 'subdomain':
        this.#subdomainRules.push(this.#subdomain.entry(pattern.base), ordinal)
        return
      case 'suffix': {
        const text = pattern.base === '' ? pattern.tail : `${pattern.tail}.${pattern.base}`
        this.#tailRules.push(this.#tails.entry(text), ordinal)
        const l = pattern.tail.length
        let lo = 0
        let hi = 0
        if (l <= 32) lo = 1 << (l - 1)
        else hi = 1 << (l - 33)
        if (pattern.base === '') {
          this.#rootTailsLo |= lo
          this.#rootTailsHi |= hi
          return
        }
        const base = this.#bases.entry(pattern.base)
        if (base * 2 === this.#masks.length) this.#masks.push(0, 0)
        this.#masks[base * 2]! |= lo
        this.#masks[base * 2 + 1]! |= hi
        return
      }
    }
  }

  build(postings: PostingsBuilder): FqdnIndex {
    return new FqdnIndex({
      exact: this.#exact.build(this.#exactRules.refs(postings)),
      subdomain: this.#subdomain.build(this.#subdomainRules.refs(postings)),
      bases: this.#bases.build(Array.from({ length: this.#bases.size }, (_, e) => e * 2)),
      masks: Int32Array.from(this.#masks),
      tails: this.#tails.build(this.#tailRules.refs(postings)),
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
