/**
 * @module What every exporter needs from a policy: its rules in Azure Firewall's processing order
 * with their paths, addresses classified (IPv4, IPv6, `*`, service tag), IP groups and the
 * `AzureKubernetesService` FQDN tag expanded, and FQDN patterns parsed.
 */
import { aksFqdnTagNames, resolveEndpoints } from '../catalog/profile.ts'
import { formatCidr, parseAddressBlock } from '../policy/cidr.ts'
import { parseFqdnPattern, type FqdnPattern } from '../policy/fqdn-pattern.ts'
import {
  rulePath,
  type ApplicationRule,
  type NatRule,
  type NetworkRule,
  type Policy,
  type RuleCollection,
  type RuleCollectionGroup,
} from '../policy/policy-model.ts'
import { collectionsInOrder } from '../policy/processing-order.ts'

export type WalkedRule =
  | { readonly type: 'application'; readonly group: RuleCollectionGroup; readonly collection: Extract<RuleCollection, { type: 'application' }>; readonly rule: ApplicationRule; readonly path: string; readonly action: 'Allow' | 'Deny' }
  | { readonly type: 'network'; readonly group: RuleCollectionGroup; readonly collection: Extract<RuleCollection, { type: 'network' }>; readonly rule: NetworkRule; readonly path: string; readonly action: 'Allow' | 'Deny' }
  | { readonly type: 'dnat'; readonly group: RuleCollectionGroup; readonly collection: Extract<RuleCollection, { type: 'dnat' }>; readonly rule: NatRule; readonly path: string; readonly action: 'DNAT' }

/** Every rule in Azure Firewall's processing order: DNAT, then network, then application rules. */
export function rulesInProcessingOrder(policy: Policy): WalkedRule[] {
  const out: WalkedRule[] = []
  for (const { group, collection } of collectionsInOrder(policy, 'dnat')) {
    for (const rule of collection.rules) out.push({ type: 'dnat', group, collection, rule, path: pathOf(group, collection, rule.name), action: 'DNAT' })
  }
  for (const { group, collection } of collectionsInOrder(policy, 'network')) {
    for (const rule of collection.rules) out.push({ type: 'network', group, collection, rule, path: pathOf(group, collection, rule.name), action: collection.action })
  }
  for (const { group, collection } of collectionsInOrder(policy, 'application')) {
    for (const rule of collection.rules) out.push({ type: 'application', group, collection, rule, path: pathOf(group, collection, rule.name), action: collection.action })
  }
  return out
}

/** Every rule path of the policy, in file order (what the conformance suite accounts for). */
export function allRulePaths(policy: Policy): string[] {
  const out: string[] = []
  for (const g of policy.ruleCollectionGroups) for (const c of g.ruleCollections) for (const r of c.rules) out.push(pathOf(g, c, r.name))
  return out
}

function pathOf(group: RuleCollectionGroup, collection: RuleCollection, rule: string): string {
  return rulePath({ group: group.name, collection: collection.name, rule, type: collection.type })
}

/** An address of a rule, classified. CIDRs are canonical; ranges are decomposed into CIDRs. */
export type AddressClass =
  | { readonly kind: 'any' }
  | { readonly kind: 'block'; readonly text: string; readonly v: 4 | 6; readonly cidrs: readonly string[] }
  | { readonly kind: 'service-tag'; readonly text: string }

export function classifyAddress(text: string): AddressClass {
  const parsed = parseAddressBlock(text)
  if (parsed.ok && parsed.any) return { kind: 'any' }
  if (parsed.ok) {
    const v = parsed.cidrs[0]?.v ?? 4
    return { kind: 'block', text, v, cidrs: parsed.cidrs.map(formatCidr) }
  }
  return { kind: 'service-tag', text }
}

/** The members of the IP groups named, in order, without duplicates. */
export function expandIpGroups(policy: Policy, names: readonly string[]): string[] {
  const out = new Set<string>()
  for (const n of names) for (const m of policy.ipGroups[n] ?? []) out.add(m)
  return [...out]
}

/** The names the `AzureKubernetesService` tag stands for under the policy's profile. */
export function fqdnTagNames(policy: Policy, tag: string): string[] {
  if (tag !== 'AzureKubernetesService' || !policy.profile) return []
  return aksFqdnTagNames(resolveEndpoints(policy.profile))
}

/** Parses a pattern the policy checker has already accepted. */
export function patternOf(text: string): FqdnPattern {
  const parsed = parseFqdnPattern(text)
  if (!parsed.ok) return { kind: 'exact', text, name: text }
  return parsed.pattern
}

/**
 * Whether the rule's sources are "the cluster": `*`, or exactly the profile's node subnets (the
 * sources the default policy writes). Targets that select pods rather than addresses express such
 * a rule for every selected pod without a diagnostic.
 */
export function isClusterSource(policy: Policy, sourceAddresses: readonly string[], sourceIpGroups: readonly string[]): boolean {
  if (sourceIpGroups.length > 0) return false
  if (sourceAddresses.length === 0 || sourceAddresses.includes('*')) return true
  const nodes = policy.profile?.nodeCidrs ?? []
  return nodes.length > 0 && sourceAddresses.every((s) => nodes.includes(s))
}

/** A name valid as a Kubernetes object name (RFC 1123 subdomain, at most 253 characters). */
export function kubernetesName(name: string): string {
  const lowered = name.toLowerCase().replace(/[^a-z0-9.-]+/g, '-').replace(/^[^a-z0-9]+/, '').replace(/[^a-z0-9]+$/, '')
  return (lowered.length > 0 ? lowered : 'aks-egress').slice(0, 253)
}
