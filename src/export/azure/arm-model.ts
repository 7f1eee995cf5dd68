/**
 * @module The ARM shapes of the plan (azure-facts §4.1): `Microsoft.Network/firewallPolicies`,
 * its `ruleCollectionGroups`, `ipGroups` and the route table, as plain objects. The ARM and Bicep
 * exporters serialise the same objects; expressions (parameters, resource IDs) come from the
 * caller, so each syntax writes its own.
 */
import type { AzCollection, AzFilterRule, AzGroup, AzNatRule, AzPlan, AzValue } from './azure-plan.ts'

/** API version of every resource written (azure-facts §4.1, §4.2: 2024-05-01). */
export const NETWORK_API_VERSION = '2024-05-01'

export interface ArmExpressions<E> {
  value(v: AzValue): string | E
  ipGroupId(name: string): string | E
}

type Json<E> = string | number | boolean | E | Json<E>[] | { [key: string]: Json<E> }

function nonEmpty<E>(key: string, list: ReadonlyArray<string | E>): Record<string, Json<E>> {
  return list.length > 0 ? { [key]: [...list] } : {}
}

function filterRule<E>(r: AzFilterRule, x: ArmExpressions<E>): Record<string, Json<E>> {
  const common = {
    ruleType: r.ruleType,
    name: r.name,
    description: r.description,
    ...nonEmpty<E>('sourceAddresses', r.sourceAddresses),
    ...nonEmpty<E>('sourceIpGroups', r.sourceIpGroups.map((g) => x.ipGroupId(g))),
  }
  if (r.ruleType === 'ApplicationRule') {
    return {
      ...common,
      protocols: r.protocols.map((p) => ({ protocolType: p.protocolType, port: p.port })),
      ...nonEmpty<E>('targetFqdns', r.targetFqdns),
      ...nonEmpty<E>('fqdnTags', r.fqdnTags),
    }
  }
  return {
    ...common,
    ipProtocols: [...r.ipProtocols],
    ...nonEmpty<E>('destinationAddresses', r.destinationAddresses),
    ...nonEmpty<E>('destinationIpGroups', r.destinationIpGroups.map((g) => x.ipGroupId(g))),
    ...nonEmpty<E>('destinationFqdns', r.destinationFqdns),
    destinationPorts: [...r.destinationPorts],
  }
}

function natRule<E>(r: AzNatRule, x: ArmExpressions<E>): Record<string, Json<E>> {
  return {
    ruleType: 'NatRule',
    name: r.name,
    description: r.description,
    ipProtocols: [...r.ipProtocols],
    ...nonEmpty<E>('sourceAddresses', r.sourceAddresses),
    ...nonEmpty<E>('sourceIpGroups', r.sourceIpGroups.map((g) => x.ipGroupId(g))),
    destinationAddresses: [x.value(r.destinationAddress)],
    destinationPorts: [String(r.destinationPort)],
    ...(r.translatedAddress === undefined ? {} : { translatedAddress: x.value(r.translatedAddress) }),
    ...(r.translatedFqdn === undefined ? {} : { translatedFqdn: r.translatedFqdn }),
    translatedPort: String(r.translatedPort),
  }
}

function collection<E>(c: AzCollection, x: ArmExpressions<E>): Record<string, Json<E>> {
  if (c.kind === 'nat') {
    return { ruleCollectionType: 'FirewallPolicyNatRuleCollection', name: c.name, priority: c.priority, action: { type: 'DNAT' }, rules: c.rules.map((r) => natRule(r, x)) }
  }
  return { ruleCollectionType: 'FirewallPolicyFilterRuleCollection', name: c.name, priority: c.priority, action: { type: c.action }, rules: c.rules.map((r) => filterRule(r, x)) }
}

/** `properties` of a rule collection group. */
export function ruleCollectionGroupProperties<E>(g: AzGroup, x: ArmExpressions<E>): Record<string, Json<E>> {
  return { priority: g.priority, ruleCollections: g.collections.map((c) => collection(c, x)) }
}

/** `properties` of the firewall policy: Standard (DNS proxy needs it), threat intel Alert (the default). */
export function firewallPolicyProperties(plan: AzPlan): Record<string, Json<never>> {
  return {
    sku: { tier: 'Standard' },
    threatIntelMode: 'Alert',
    ...(plan.dnsProxy ? { dnsSettings: { enableProxy: true } } : {}),
  }
}

/**
 * The routes of limit-egress-traffic.md: everything to the firewall's private IP, and the
 * firewall's own public IP to the Internet (asymmetric routing, azure-facts §3.2).
 */
export function routeTableRoutes<E>(privateIp: string | E, publicIpSlash32: string | E): Array<Record<string, Json<E>>> {
  return [
    { name: 'default-to-firewall', properties: { addressPrefix: '0.0.0.0/0', nextHopType: 'VirtualAppliance', nextHopIpAddress: privateIp } },
    { name: 'firewall-public-ip', properties: { addressPrefix: publicIpSlash32, nextHopType: 'Internet' } },
  ]
}
