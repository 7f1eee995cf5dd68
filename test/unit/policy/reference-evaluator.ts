/**
 * The naive reference evaluator: Azure Firewall's rule processing written the plain way, rule by
 * rule, with string comparisons and no indexes. The compiled engine must agree with it on every
 * policy and flow (engine-differential.test.ts). Only the decision wording is shared
 * (src/policy/decisions.ts), not the matching.
 */
import { cidrContains, parseAddressBlock } from '../../../src/policy/cidr.ts'
import type { Decision } from '../../../src/policy/decision.ts'
import { DEFAULT_DENY, HOST_MISSING, INVALID_HOST, SNI_MISSING, ruleDecision } from '../../../src/policy/decisions.ts'
import type { Flow } from '../../../src/policy/flow.ts'
import { canonicalHost } from '../../../src/policy/fqdn.ts'
import { matchFqdnPattern, parseFqdnPattern } from '../../../src/policy/fqdn-pattern.ts'
import { parseIp } from '../../../src/policy/ip-address.ts'
import type { Policy, RuleCollection, RuleCollectionGroup } from '../../../src/policy/policy-model.ts'
import { parsePortSpec } from '../../../src/policy/port-range.ts'

function sorted<T extends { priority: number }>(xs: readonly T[]): T[] {
  const indexed = xs.map((x, i) => [x, i] as const)
  indexed.sort((a, b) => (a[0].priority !== b[0].priority ? a[0].priority - b[0].priority : a[1] - b[1]))
  return indexed.map((p) => p[0])
}

function inOrder(policy: Policy, type: RuleCollection['type']): Array<[RuleCollectionGroup, RuleCollection]> {
  const out: Array<[RuleCollectionGroup, RuleCollection]> = []
  // Groups of a parent (base) policy come first, the farthest ancestor first (azure-facts §2.1).
  const depths = [...new Set(policy.ruleCollectionGroups.map((g) => g.inherited?.depth ?? 0))].sort((a, b) => b - a)
  for (const depth of depths) for (const g of sorted(policy.ruleCollectionGroups.filter((x) => (x.inherited?.depth ?? 0) === depth))) for (const c of sorted(g.ruleCollections)) if (c.type === type) out.push([g, c])
  return out
}

function addressMatches(policy: Policy, addresses: readonly string[], groups: readonly string[], ip: string | undefined, tags: readonly string[]): boolean {
  const all = [...addresses, ...groups.flatMap((g) => policy.ipGroups[g] ?? [])]
  for (const a of all) {
    if (a === '*') return true
    const block = parseAddressBlock(a)
    if (block.ok && !block.any) {
      const parsed = ip === undefined ? undefined : parseIp(ip)
      if (parsed && block.cidrs.some((c) => cidrContains(c, parsed))) return true
    } else if (!block.ok && tags.some((t) => t.toLowerCase() === a.toLowerCase())) return true
  }
  return false
}

function sourceMatches(policy: Policy, addresses: readonly string[], groups: readonly string[], flow: Flow): boolean {
  if (flow.sourceIp === undefined) return true
  if (addresses.length === 0 && groups.length === 0) return true
  return addressMatches(policy, addresses, groups, flow.sourceIp, [])
}

function nameMatches(patterns: readonly string[], name: string | undefined): boolean {
  if (name === undefined) return false
  return patterns.some((p) => {
    const parsed = parseFqdnPattern(p)
    return parsed.ok && matchFqdnPattern(parsed.pattern, name)
  })
}

export function referenceDecide(policy: Policy, flow: Flow, fqdnTags: Readonly<Record<string, readonly string[]>> = {}): Decision {
  const pick = (d: { enforce: Decision; report: Decision }): Decision => (policy.settings.mode === 'report' ? d.report : d.enforce)
  const l4 = flow.protocol === 'udp' ? 'UDP' : flow.protocol === 'icmp' ? 'ICMP' : 'TCP'
  const dst = flow.destinationIp === undefined ? undefined : parseIp(flow.destinationIp)

  for (const [g, c] of inOrder(policy, 'dnat')) {
    if (c.type !== 'dnat' || !dst) continue
    for (const r of c.rules) {
      const target = parseIp(r.destinationAddress)
      if (!target || target.v !== dst.v || target.n !== dst.n) continue
      if (r.destinationPort !== flow.destinationPort || !r.ipProtocols.some((p) => p === l4)) continue
      if (!sourceMatches(policy, r.sourceAddresses, r.sourceIpGroups, flow)) continue
      const t = { ...(r.translatedAddress === undefined ? {} : { address: r.translatedAddress }), ...(r.translatedFqdn === undefined ? {} : { fqdn: r.translatedFqdn }), port: r.translatedPort }
      return pick(ruleDecision({ group: g.name, collection: c.name, rule: r.name, type: 'dnat' }, true, t))
    }
  }

  const netName = flow.host ?? flow.sni ?? undefined
  const netCanonical = netName === undefined ? undefined : canonicalHost(netName)
  for (const [g, c] of inOrder(policy, 'network')) {
    if (c.type !== 'network') continue
    for (const r of c.rules) {
      if (!r.ipProtocols.some((p) => p === 'Any' || p === l4)) continue
      if (l4 !== 'ICMP' && !r.destinationPorts.some((spec) => {
        const p = parsePortSpec(spec)
        return p.ok && flow.destinationPort >= p.range.from && flow.destinationPort <= p.range.to
      })) continue
      if (!sourceMatches(policy, r.sourceAddresses, r.sourceIpGroups, flow)) continue
      const byAddress = addressMatches(policy, r.destinationAddresses, r.destinationIpGroups, flow.destinationIp, flow.destinationTags ?? [])
      if (!byAddress && !nameMatches(r.destinationFqdns, netCanonical)) continue
      return pick(ruleDecision({ group: g.name, collection: c.name, rule: r.name, type: 'network' }, c.action === 'Allow'))
    }
  }

  if (flow.protocol !== 'http' && flow.protocol !== 'https' && flow.protocol !== 'mssql') return pick(DEFAULT_DENY)
  const raw = flow.protocol === 'http' || flow.sni === undefined ? flow.host : flow.sni
  if (raw === undefined || raw === null) return pick(flow.protocol === 'http' ? HOST_MISSING : SNI_MISSING)
  const name = canonicalHost(raw)
  const isIp = name === undefined && parseIp(raw) !== undefined
  if (name === undefined && !isIp) return pick(INVALID_HOST)
  const type = flow.protocol === 'http' ? 'Http' : flow.protocol === 'https' ? 'Https' : 'Mssql'
  for (const [g, c] of inOrder(policy, 'application')) {
    if (c.type !== 'application') continue
    for (const r of c.rules) {
      if (!r.protocols.some((p) => p.type === type && p.port === flow.destinationPort)) continue
      if (!sourceMatches(policy, r.sourceAddresses, r.sourceIpGroups, flow)) continue
      const patterns = [...r.targetFqdns, ...r.fqdnTags.flatMap((t) => fqdnTags[t] ?? [])]
      const hit = isIp ? patterns.includes('*') : nameMatches(patterns, name)
      if (!hit) continue
      return pick(ruleDecision({ group: g.name, collection: c.name, rule: r.name, type: 'application' }, c.action === 'Allow'))
    }
  }
  return pick(DEFAULT_DENY)
}
