/** Concise builders for policies in tests: defaults for what a case does not care about. */
import type { ApplicationRule, NatRule, NetworkRule, Policy, RuleCollection, RuleCollectionGroup, Settings } from '../../../src/policy/policy-model.ts'
import { API_VERSION, DEFAULT_SETTINGS } from '../../../src/policy/policy-model.ts'

export function app(name: string, targetFqdns: readonly string[], protocols = ['Https:443'], extra: Partial<ApplicationRule> = {}): ApplicationRule {
  return {
    name,
    sourceAddresses: [],
    sourceIpGroups: [],
    protocols: protocols.map((p) => {
      const [type, port] = p.split(':')
      return { type: type as 'Http' | 'Https' | 'Mssql', port: Number(port) }
    }),
    targetFqdns,
    fqdnTags: [],
    ...extra,
  }
}

export function net(name: string, spec: Partial<NetworkRule> & { ports: readonly string[] }): NetworkRule {
  const { ports, ...rest } = spec
  return {
    name,
    sourceAddresses: [],
    sourceIpGroups: [],
    ipProtocols: ['TCP'],
    destinationAddresses: [],
    destinationIpGroups: [],
    destinationFqdns: [],
    destinationPorts: ports,
    ...rest,
  }
}

export function dnat(name: string, spec: Omit<NatRule, 'name' | 'sourceAddresses' | 'sourceIpGroups'> & Partial<NatRule>): NatRule {
  return { name, sourceAddresses: [], sourceIpGroups: [], ...spec }
}

export function coll(type: 'application', name: string, priority: number, action: 'Allow' | 'Deny', rules: ApplicationRule[]): RuleCollection
export function coll(type: 'network', name: string, priority: number, action: 'Allow' | 'Deny', rules: NetworkRule[]): RuleCollection
export function coll(type: 'dnat', name: string, priority: number, action: 'DNAT', rules: NatRule[]): RuleCollection
export function coll(type: RuleCollection['type'], name: string, priority: number, action: string, rules: unknown[]): RuleCollection {
  return { type, name, priority, action, rules } as RuleCollection
}

export function group(name: string, priority: number, ...ruleCollections: RuleCollection[]): RuleCollectionGroup {
  return { name, priority, ruleCollections }
}

export function policy(groups: RuleCollectionGroup[], opts: { settings?: Partial<Settings>; ipGroups?: Record<string, readonly string[]> } = {}): Policy {
  return {
    apiVersion: API_VERSION,
    name: 'test',
    settings: { ...DEFAULT_SETTINGS, ...opts.settings },
    ipGroups: opts.ipGroups ?? {},
    ruleCollectionGroups: groups,
  }
}
