/**
 * @module The nftables sets of FQDN network rules, and which of them a DNS name feeds.
 *
 * Every network rule with `destinationFqdns` gets one set per address family (`fqdn<N>_v4`,
 * `fqdn<N>_v6`, N the rule's processing position). The DNS proxy learns an answer's addresses into
 * the sets of every rule one of whose patterns matches the queried name (or a name of its CNAME
 * chain). Matching uses the reversed-label trie (policy/fqdn-trie.ts), held to the same pattern
 * semantics as `decide()`: `*.b.com` matches `a.b.com` and `x.a.b.com` but never `b.com`.
 */
import { canonicalHost } from '../../policy/fqdn.ts'
import { FqdnTrie } from '../../policy/fqdn-trie.ts'
import type { FqdnPattern } from '../../policy/fqdn-pattern.ts'

export interface FqdnSet {
  /** The rule's processing position among network rules. */
  readonly ordinal: number
  /** `group/collection/rule`. */
  readonly rule: string
  readonly v4: string
  readonly v6: string
  readonly patterns: readonly string[]
}

export function fqdnSetNames(ordinal: number): { v4: string; v6: string } {
  return { v4: `fqdn${ordinal}_v4`, v6: `fqdn${ordinal}_v6` }
}

export class FqdnSetIndex {
  readonly #sets: FqdnSet[] = []
  readonly #trie = new FqdnTrie<FqdnSet>()
  readonly #scratch: FqdnSet[][] = []

  add(ordinal: number, rule: string, patterns: ReadonlyArray<{ readonly text: string; readonly pattern: FqdnPattern }>): FqdnSet {
    const set: FqdnSet = Object.freeze({ ordinal, rule, ...fqdnSetNames(ordinal), patterns: Object.freeze(patterns.map((p) => p.text)) })
    this.#sets.push(set)
    for (const p of patterns) this.#trie.insert(p.pattern, set)
    return set
  }

  get size(): number {
    return this.#sets.length
  }

  all(): readonly FqdnSet[] {
    return this.#sets
  }

  /** The sets a name feeds (no duplicates, in rule order). `name` in any case, with or without the final dot. */
  setsFor(name: string): FqdnSet[] {
    const host = canonicalHost(name)
    if (host === undefined || this.#sets.length === 0) return []
    const lists = this.#scratch
    lists.length = 0
    this.#trie.collect(host, lists)
    const out = new Set<FqdnSet>()
    for (const list of lists) for (const s of list) out.add(s)
    lists.length = 0
    return [...out].sort((a, b) => a.ordinal - b.ordinal)
  }
}
