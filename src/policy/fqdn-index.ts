/**
 * @module The engine's FQDN pattern index: the patterns of network rules (destination FQDNs) and
 * of application rules (target FQDNs) in one set of open-addressing hash tables of `int32`s,
 * probed with the suffix hashes `ScannedName` computed in its one pass over the name. No regular
 * expression, no backtracking, no string built per lookup (DESIGN.md §2).
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
 * Both rule types share the tables: a string's slot holds the postings reference (postings.ts)
 * of its network rules and that of its application rules, so one lookup answers both phases of
 * a decision, where an index per type made an HTTPS flow probe every suffix twice (the network
 * phase matches its name too, in case an FQDN network rule takes its port). A lookup writes
 * pairs (network reference, application reference); a string one type does not name has
 * `NO_RULES` on that side.
 *
 * Most lookups stop early, because the build merges into an entry the rules of the patterns its
 * string decides:
 * - a name that is an exact pattern: every other pattern that matches it is fixed by the string,
 *   so the exact entry holds their rules too, and a hit answers the whole lookup (plus `*`);
 * - a name under a subdomain base `b.com` (`*.b.com`): every pattern whose question is answered
 *   inside `b.com` (`*.com`, `*b.com`, `*om`, ...) matches every name under it alike, so the
 *   subdomain entry holds their rules too. Label starts are probed from the longest suffix down,
 *   and the first subdomain hit ends the lookup after the one probe that depends on the label left
 *   of the base (the tails on base `b.com`).
 * So the probes at every shorter label start, and every tail length of bases such as `com`, are
 * left to names that no exact or subdomain pattern covers. A policy whose merged lists would grow
 * past `mergeBudget` extra ordinals (thousands of wildcard rules over thousands of names under
 * them) is built without the merge, and probes every table.
 *
 * Layout (typed arrays, no object per pattern): one suffix table (suffix-table.ts) per kind, so
 * that a hit reads one slot, and each table is as small as its kind: the exact names are most of
 * a large policy, and are probed once per name; the others are probed at every label start, or at
 * every tail length, and mostly find nothing, which their filters answer from cache. Tail lengths
 * are two 32-bit masks per base, for the tails of both types. Every hash hit is confirmed against
 * the characters: equal hashes of different strings (and `hashBits` makes them common, for tests)
 * cost a comparison, never a wrong answer.
 */
import type { FqdnPattern } from './fqdn-pattern.ts'
import { NO_RULES, type PostingsBuilder } from './postings.ts'
import { ScannedName } from './scanned-name.ts'
import { SuffixTableBuilder, type SuffixTable } from './suffix-table.ts'

export interface FqdnIndexOptions {
  /**
   * Bits of the hash kept (1–32, default 32). Fewer bits make distinct strings share hashes:
   * tests use it to exercise the confirmation of hits; decisions do not depend on it.
   */
  readonly hashBits?: number
  /**
   * Most rule ordinals the merge of wildcard rules into exact and subdomain entries may add
   * (default: four per pattern, at least 2^20); past it the index is built without the merge, so
   * the merge's memory and time stay bounded whatever the policy. Tests set 0 to exercise the
   * probes the merge saves.
   */
  readonly mergeBudget?: number
}

/**
 * The rules of one type for each entry of one table while building: -1 none, an ordinal, or
 * `-2 - k` for the list `lists[k]` (two or more rules): no object per entry for the common case
 * of one rule. Entries the other type created in between are filled with -1.
 */
class RuleSlots {
  readonly #values: number[] = []
  readonly #lists: number[][] = []

  /** Adds `ordinal` to entry `id`. */
  push(id: number, ordinal: number): void {
    while (this.#values.length <= id) this.#values.push(NO_RULES)
    const v = this.#values[id]!
    if (v === NO_RULES) this.#values[id] = ordinal
    else if (v >= 0) {
      this.#values[id] = -2 - this.#lists.length
      this.#lists.push([v, ordinal])
    } else this.#lists[-2 - v]!.push(ordinal)
  }

  /** Appends the ordinals of entry `id` to `into`. */
  appendTo(id: number, into: number[]): void {
    const v = this.#values[id] ?? NO_RULES
    if (v >= 0) into.push(v)
    else if (v !== NO_RULES) for (const o of this.#lists[-2 - v]!) into.push(o)
  }

  /** Replaces the ordinals of entry `id` (any order; repeats are dropped by the postings). */
  set(id: number, ordinals: number[]): void {
    while (this.#values.length <= id) this.#values.push(NO_RULES)
    if (ordinals.length === 1) this.#values[id] = ordinals[0]!
    else {
      this.#values[id] = -2 - this.#lists.length
      this.#lists.push(ordinals)
    }
  }

  /** The postings reference of each of the table's `entries` entries. */
  refs(postings: PostingsBuilder, entries: number): number[] {
    const refs = this.#values.map((v) => (v >= -1 ? v : postings.add(this.#lists[-2 - v]!)))
    while (refs.length < entries) refs.push(NO_RULES)
    return refs
  }
}

/** The rule types an index holds; a lookup's pairs hold their references in this order. */
export const NETWORK_RULES = 0
export const APPLICATION_RULES = 1
export type RuleType = typeof NETWORK_RULES | typeof APPLICATION_RULES

/** Patterns are added with `add`, then `build` makes the index. */
export class FqdnIndexBuilder {
  readonly #exact: SuffixTableBuilder
  readonly #subdomain: SuffixTableBuilder
  readonly #tails: SuffixTableBuilder
  /** Bases of tails; each entry's tail lengths as two masks in `#masks` (bit `l - 1` for length `l`). */
  readonly #bases: SuffixTableBuilder
  /** Per table, the rules of each type. */
  readonly #exactRules = [new RuleSlots(), new RuleSlots()] as const
  readonly #subdomainRules = [new RuleSlots(), new RuleSlots()] as const
  readonly #tailRules = [new RuleSlots(), new RuleSlots()] as const
  readonly #masks: number[] = []
  readonly #any: [number[], number[]] = [[], []]
  #rootTailsLo = 0
  #rootTailsHi = 0
  readonly #sizes = [0, 0]
  /** The text of each exact entry and of each subdomain base, by entry. */
  readonly #exactTexts: string[] = []
  readonly #subdomainTexts: string[] = []
  readonly #hashBits: number | undefined
  readonly #mergeBudget: number | undefined

  constructor(options: FqdnIndexOptions = {}) {
    const bits = options.hashBits
    this.#hashBits = bits
    this.#mergeBudget = options.mergeBudget
    this.#exact = new SuffixTableBuilder(bits)
    this.#subdomain = new SuffixTableBuilder(bits)
    this.#tails = new SuffixTableBuilder(bits)
    this.#bases = new SuffixTableBuilder(bits)
  }

  /** Patterns added for rules of `type` (a rule with three names counts three). */
  size(type: RuleType): number {
    return this.#sizes[type]!
  }

  /** Adds `pattern` for the rule of type `type` at `ordinal`. */
  add(pattern: FqdnPattern, ordinal: number, type: RuleType): void {
    this.#sizes[type]!++
    switch (pattern.kind) {
      case 'any':
        this.#any[type].push(ordinal)
        return
      case 'exact': {
        const e = this.#exact.entry(pattern.name)
        if (e === this.#exactTexts.length) this.#exactTexts.push(pattern.name)
        this.#exactRules[type].push(e, ordinal)
        return
      }
      case 'subdomain': {
        const e = this.#subdomain.entry(pattern.base)
        if (e === this.#subdomainTexts.length) this.#subdomainTexts.push(pattern.base)
        this.#subdomainRules[type].push(e, ordinal)
        return
      }
      case 'suffix': {
        const text = pattern.base === '' ? pattern.tail : `${pattern.tail}.${pattern.base}`
        this.#tailRules[type].push(this.#tails.entry(text), ordinal)
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

  /** The index; each type's lists go into its own postings (`network`, `application`). */
  build(network: PostingsBuilder, application: PostingsBuilder): FqdnIndex {
    const complete = this.#mergeWildcards()
    const refs = (slots: readonly [RuleSlots, RuleSlots], table: SuffixTableBuilder): [number[], number[]] => [slots[0].refs(network, table.size), slots[1].refs(application, table.size)]
    return new FqdnIndex({
      exact: this.#exact.build(...refs(this.#exactRules, this.#exact)),
      subdomain: this.#subdomain.build(...refs(this.#subdomainRules, this.#subdomain)),
      bases: this.#bases.build(Array.from({ length: this.#bases.size }, (_, e) => e * 2)),
      masks: Int32Array.from(this.#masks),
      tails: this.#tails.build(...refs(this.#tailRules, this.#tails)),
      anyNetwork: network.add(this.#any[0]),
      anyApplication: application.add(this.#any[1]),
      rootTailsLo: this.#rootTailsLo,
      rootTailsHi: this.#rootTailsHi,
      complete,
    })
  }

  /**
   * Adds to every exact entry the rules of the subdomain and suffix patterns its string matches,
   * and to every subdomain entry (base `B` of `*.B`) those of the patterns every name under `B`
   * matches: the patterns that match `B` as a name, less exact `B`, plus `*.B`'s own. Both are
   * found with an index of the subdomain and tail tables alone whose values are entry numbers
   * (subdomain entries first, then tails), probing every table. Returns false, changing nothing,
   * when the lists would grow past the budget.
   */
  #mergeWildcards(): boolean {
    const subdomainCount = this.#subdomain.size
    const budget = this.#mergeBudget ?? Math.max(1 << 20, 4 * (this.#sizes[0]! + this.#sizes[1]!))
    if (this.#exactTexts.length + subdomainCount === 0) return true
    const numbers = (count: number, from: number): number[] => Array.from({ length: count }, (_, e) => from + e)
    const bits = this.#hashBits
    const probe = new FqdnIndex({
      exact: new SuffixTableBuilder(bits).build([]),
      subdomain: this.#subdomain.build(numbers(subdomainCount, 0)),
      bases: this.#bases.build(numbers(this.#bases.size, 0).map((e) => e * 2)),
      masks: Int32Array.from(this.#masks),
      tails: this.#tails.build(numbers(this.#tails.size, subdomainCount)),
      anyNetwork: NO_RULES,
      anyApplication: NO_RULES,
      rootTailsLo: this.#rootTailsLo,
      rootTailsHi: this.#rootTailsHi,
      complete: false,
    })
    const name = new ScannedName()
    const out = new Int32Array(512)
    // The merges, applied once all are known: each reads the entries' own rules, not merged ones.
    const mergedInto: RuleSlots[] = []
    const mergedEntry: number[] = []
    const mergedOrdinals: number[][] = []
    const extra: number[] = []
    let added = 0
    /** Queues the merge into entry `e` of `rules` of what `text` collects; false past the budget. */
    const merge = (rules: readonly [RuleSlots, RuleSlots], e: number, text: string): boolean => {
      // Patterns are names in normal form, which always scan; if one did not, the merge would be
      // incomplete: build without it.
      if (!name.scan(text)) return false
      const n = probe.collect(name, out, 0)
      if (n === 0) return true
      for (const type of [NETWORK_RULES, APPLICATION_RULES] as const) {
        extra.length = 0
        for (let k = 0; k < n; k += 2) {
          const id = out[k]!
          if (id < subdomainCount) this.#subdomainRules[type].appendTo(id, extra)
          else this.#tailRules[type].appendTo(id - subdomainCount, extra)
        }
        if (extra.length === 0) continue
        added += extra.length
        if (added > budget) return false
        const ordinals: number[] = []
        rules[type].appendTo(e, ordinals)
        for (const o of extra) ordinals.push(o)
        mergedInto.push(rules[type])
        mergedEntry.push(e)
        mergedOrdinals.push(ordinals)
      }
      return true
    }
    const exactTexts = this.#exactTexts
    for (let e = 0; e < exactTexts.length; e++) if (!merge(this.#exactRules, e, exactTexts[e]!)) return false
    const subdomainTexts = this.#subdomainTexts
    for (let e = 0; e < subdomainTexts.length; e++) if (!merge(this.#subdomainRules, e, subdomainTexts[e]!)) return false
    for (let i = 0; i < mergedInto.length; i++) mergedInto[i]!.set(mergedEntry[i]!, mergedOrdinals[i]!)
    return true
  }
}

interface FqdnIndexData {
  readonly exact: SuffixTable
  readonly subdomain: SuffixTable
  readonly bases: SuffixTable
  readonly masks: Int32Array
  readonly tails: SuffixTable
  readonly anyNetwork: number
  readonly anyApplication: number
  readonly rootTailsLo: number
  readonly rootTailsHi: number
  /** Exact entries hold the rules of every pattern their string matches (the build's merge). */
  readonly complete: boolean
}

export class FqdnIndex {
  readonly #exact: SuffixTable
  readonly #subdomain: SuffixTable
  /** Bases of tails: the value is the index of the base's two length masks in `#masks`. */
  readonly #bases: SuffixTable
  readonly #masks: Int32Array
  readonly #tails: SuffixTable
  readonly #anyNetwork: number
  readonly #anyApplication: number
  readonly #rootTailsLo: number
  readonly #rootTailsHi: number
  readonly #complete: boolean

  constructor(d: FqdnIndexData) {
    this.#exact = d.exact
    this.#subdomain = d.subdomain
    this.#bases = d.bases
    this.#masks = d.masks
    this.#tails = d.tails
    this.#anyNetwork = d.anyNetwork
    this.#anyApplication = d.anyApplication
    this.#rootTailsLo = d.rootTailsLo
    this.#rootTailsHi = d.rootTailsHi
    this.#complete = d.complete
  }

  /** The application rules of `*` only: what an IP literal in place of a name matches. */
  anyApplication(): number {
    return this.#anyApplication
  }

  /**
   * Writes into `out` from `n` on a pair (network rules, application rules) of postings
   * references for every string of the index that `name` matches, and returns the new `n`: at
   * most `2 * (2 + name.length)` entries (one pair per label, plus one per character for tails,
   * which end inside labels, plus `*`), so `out` needs that much room from `n` on.
   */
  collect(name: ScannedName, out: Int32Array, n: number): number {
    if (this.#anyNetwork !== NO_RULES || this.#anyApplication !== NO_RULES) {
      out[n++] = this.#anyNetwork
      out[n++] = this.#anyApplication
    }
    const exact = this.#exact.find(name, 0)
    if (exact >= 0) {
      n = pair(this.#exact, exact, out, n)
      // The entry holds every pattern that matches the name (see the module's comment).
      if (this.#complete) return n
    }
    const starts = name.labelStarts
    const complete = this.#complete
    const subdomain = this.#subdomain
    const bases = this.#bases
    // From the longest suffix (all labels but the first) down to the last label.
    for (let k = name.labels - 2; k >= 0; k--) {
      const start = starts[k]!
      const sub = subdomain.find(name, start)
      n = pair(subdomain, sub, out, n)
      const at = bases.find(name, start)
      // Tails of suffix patterns on this base, inside the label on the left (it ends at start - 1).
      if (at >= 0) {
        const mask = bases.slots[at + 1]!
        n = this.#collectTails(name, starts[k + 1]!, start - 1, this.#masks[mask]!, this.#masks[mask + 1]!, out, n)
      }
      // The subdomain entry holds every pattern answered inside this suffix (the module's comment).
      if (complete && sub >= 0) return n
    }
    if ((this.#rootTailsLo | this.#rootTailsHi) !== 0) n = this.#collectTails(name, starts[0]!, name.length, this.#rootTailsLo, this.#rootTailsHi, out, n)
    return n
  }

  /** Suffix patterns whose tail ends the label `[labelStart, labelEnd)`: one probe per tail length present. */
  #collectTails(name: ScannedName, labelStart: number, labelEnd: number, lo: number, hi: number, out: Int32Array, n: number): number {
    const tails = this.#tails
    const room = labelEnd - labelStart
    for (let half = 0; half < 2; half++) {
      let m = half === 0 ? lo : hi
      const base = half === 0 ? 1 : 33
      while (m !== 0) {
        const bit = m & -m
        m ^= bit
        const length = base + 31 - Math.clz32(bit)
        if (length > room) return n
        n = pair(tails, tails.find(name, labelEnd - length), out, n)
      }
    }
    return n
  }
}

/** Appends the pair of references of slot `at` of `table` (none when `at` is -1). */
function pair(table: SuffixTable, at: number, out: Int32Array, n: number): number {
  if (at < 0) return n
  const slots = table.slots
  out[n] = slots[at + 1]!
  out[n + 1] = slots[at + 2]!
  return n + 2
}
