/**
 * @module `dnsPolicy: allowed-only`: which names the DNS proxy answers. A name is allowed when a
 * rule of an Allow collection could allow traffic to it: an application rule's target FQDN or FQDN
 * tag name, or a network rule's destination FQDN; with the engine's wildcard semantics (the same
 * reversed-label trie). Every other name gets REFUSED, so lookups cannot carry data out
 * (DESIGN.md §4). `allow-all` (the default, as Azure Firewall) answers every name.
 */
import { canonicalHost } from '../policy/fqdn.ts'
import { parseFqdnPattern } from '../policy/fqdn-pattern.ts'
import { FqdnTrie } from '../policy/fqdn-trie.ts'
import type { Policy } from '../policy/policy-model.ts'

export interface NamePolicy {
  /** Whether the proxy answers queries for `name` (any case, with or without the final dot). */
  allows(name: string): boolean
}

export const ALLOW_ALL: NamePolicy = Object.freeze({ allows: () => true })

export function namePolicyFor(policy: Policy, fqdnTags: Readonly<Record<string, readonly string[]>>): NamePolicy {
  if (policy.settings.dnsPolicy === 'allow-all') return ALLOW_ALL
  const trie = new FqdnTrie<true>()
  const add = (text: string): void => {
    const parsed = parseFqdnPattern(text)
    if (parsed.ok) trie.insert(parsed.pattern, true)
  }
  for (const group of policy.ruleCollectionGroups) {
    for (const c of group.ruleCollections) {
      if (c.type === 'application' && c.action === 'Allow') {
        for (const r of c.rules) {
          for (const f of r.targetFqdns) add(f)
          for (const t of r.fqdnTags) for (const f of fqdnTags[t] ?? []) add(f)
        }
      } else if (c.type === 'network' && c.action === 'Allow') {
        for (const r of c.rules) for (const f of r.destinationFqdns) add(f)
      }
    }
  }
  const scratch: true[][] = []
  return {
    allows(name: string): boolean {
      const host = canonicalHost(name)
      if (host === undefined) return false
      scratch.length = 0
      trie.collect(host, scratch)
      const found = scratch.length > 0
      scratch.length = 0
      return found
    },
  }
}
