/**
 * @module The policy as an Azure Firewall Policy can hold it: the one translation the four Azure
 * targets (azure-cli, arm, bicep, terraform) share, so they say the same thing in four syntaxes.
 *
 * What Azure cannot express as written, and what the plan does (docs/exporters.md has the table):
 * - A wildcard FQDN in a network rule (Azure: exact names only, fqdn-filtering-network-rules.md):
 *   an AKS control-plane name (`*.hcp.<region>.azmk8s.io` and the sovereign clouds' equivalents)
 *   becomes the profile's API server IP when it has one, else the service tag `AzureCloud.<region>`
 *   (what Microsoft's own example uses); `*` becomes `*`; any other wildcard is left out (error).
 * - A network rule with FQDNs and addresses is split in two rules (`NAME` and `NAME-fqdns`):
 *   Azure takes either destination FQDNs or addresses in one rule.
 * - Application protocols Firewall Policy lacks (`Mssql`, ports above 64000) become a network
 *   rule TCP PORT to the same names, in a network collection beside the original.
 * - IPv6 addresses (not supported in rules, firewall-known-issues) are left out of the rule.
 * - NAT rules on ports above 63999 (known issue) are left out.
 * - Two collections of a group, or two groups, with one priority are renumbered, order kept.
 * - ICMP to the internet is kept with a warning (Azure Firewall does not SNAT it).
 * - `mode: report` and `dnsPolicy: allowed-only` have no Azure equivalent (warnings).
 * The FQDN tag `AzureKubernetesService` stays the tag. FQDNs in network rules turn DNS proxy on.
 */
import { checkRegion } from '../../catalog/regions.ts'
import { CLOUDS } from '../../catalog/catalog-types.ts'
import type { Diagnostic } from '../../diagnostics/diagnostic.ts'
import { parseAddressBlock } from '../../policy/cidr.ts'
import { MAX_PRIORITY, type ApplicationRule, type NatRule, type NetworkRule, type Policy } from '../../policy/policy-model.ts'
import { unsupported, type ExportOptions } from '../exporter.ts'
import { classifyAddress, patternOf } from '../policy-walk.ts'

/** Firewall Policy application rules take ports 0–64000 (azurerm `protocols.port`). */
export const MAX_APPLICATION_PORT = 64000
/** DNAT rules take ports 1–63999 (firewall-known-issues). */
export const MAX_NAT_PORT = 63999
/** ARM limit on rule collections (firewall-known-issues). */
export const MAX_RULE_COLLECTIONS = 2000

/** A value the user gives at deployment: a literal, or a parameter of the template/script. */
export type AzParam = 'firewallPublicIp' | 'serviceIp'
export type AzValue = { readonly literal: string } | { readonly param: AzParam }

interface AzRuleBase {
  readonly name: string
  readonly description: string
  readonly sourceAddresses: readonly string[]
  readonly sourceIpGroups: readonly string[]
}
export interface AzApplicationRule extends AzRuleBase {
  readonly ruleType: 'ApplicationRule'
  readonly protocols: ReadonlyArray<{ readonly protocolType: 'Http' | 'Https'; readonly port: number }>
  readonly targetFqdns: readonly string[]
  readonly fqdnTags: readonly string[]
}
export interface AzNetworkRule extends AzRuleBase {
  readonly ruleType: 'NetworkRule'
  readonly ipProtocols: readonly string[]
  readonly destinationAddresses: readonly string[]
  readonly destinationIpGroups: readonly string[]
  readonly destinationFqdns: readonly string[]
  readonly destinationPorts: readonly string[]
}
export interface AzNatRule extends AzRuleBase {
  readonly ruleType: 'NatRule'
  readonly ipProtocols: readonly string[]
  readonly destinationAddress: AzValue
  readonly destinationPort: number
  readonly translatedAddress?: AzValue
  readonly translatedFqdn?: string
  readonly translatedPort: number
}
export type AzFilterRule = AzApplicationRule | AzNetworkRule

export type AzCollection =
  | { readonly kind: 'filter'; readonly name: string; readonly priority: number; readonly action: 'Allow' | 'Deny'; readonly ruleType: 'ApplicationRule' | 'NetworkRule'; readonly rules: readonly AzFilterRule[] }
  | { readonly kind: 'nat'; readonly name: string; readonly priority: number; readonly action: 'DNAT'; readonly rules: readonly AzNatRule[] }

export interface AzGroup {
  readonly name: string
  readonly priority: number
  readonly collections: readonly AzCollection[]
}

export interface AzPlan {
  readonly policyName: string
  readonly location?: string
  readonly groups: readonly AzGroup[]
  readonly ipGroups: ReadonlyArray<{ readonly name: string; readonly addresses: readonly string[] }>
  /** Network rules use FQDNs: the policy must enable DNS proxy (fqdn-filtering-network-rules.md). */
  readonly dnsProxy: boolean
  /** The DNAT rule for ingress (--service-ip) was added. */
  readonly ingress: boolean
  readonly diagnostics: readonly Diagnostic[]
}

const CONTROL_PLANE_SUFFIXES: readonly string[] = ['azmk8s.io', 'cx.prod.service.azk8s.cn', 'cx.aks.containerservice.azure.us']

/**
 * The Azure destination that stands for a wildcard AKS control-plane name: the API server IP
 * (most specific), or `AzureCloud.<region>` (the region read from the name, else the profile's).
 */
export function controlPlaneSubstitute(pattern: string, policy: Policy): string | undefined {
  const p = patternOf(pattern)
  if (p.kind !== 'subdomain') return undefined
  const suffix = CONTROL_PLANE_SUFFIXES.find((s) => p.base === s || p.base.endsWith(`.${s}`))
  if (suffix === undefined) return undefined
  if (policy.profile?.apiServerIp !== undefined) return policy.profile.apiServerIp
  const labels = p.base.slice(0, p.base.length - suffix.length).split('.').filter((l) => l.length > 0)
  const candidate = labels[labels.length - 1]
  const region = candidate !== undefined && CLOUDS.some((c) => checkRegion(c, candidate).ok) ? candidate : policy.profile?.location
  return region === undefined ? 'AzureCloud' : `AzureCloud.${region}`
}

function isV6(text: string): boolean {
  const a = classifyAddress(text)
  return a.kind === 'block' && a.v === 6
}

function isPrivateV4(text: string): boolean {
  const parsed = parseAddressBlock(text)
  if (!parsed.ok || parsed.any) return false
  return parsed.cidrs.every((c) => {
    if (c.v !== 4) return false
    const n = c.network
    const inBlock = (base: number, prefix: number): boolean => c.prefix >= prefix && (n >>> (32 - prefix)) === (base >>> (32 - prefix))
    return inBlock(0x0a000000, 8) || inBlock(0xac100000, 12) || inBlock(0xc0a80000, 16) || inBlock(0x64400000, 10)
  })
}

/** An Azure name (≤ 80 characters, see checkAzureName) not yet in `taken`. */
export function uniqueName(base: string, suffix: string, taken: Set<string>): string {
  for (let i = 1; ; i++) {
    const tail = i === 1 ? suffix : `${suffix}${i}`
    const name = `${base.slice(0, 80 - tail.length).replace(/[.-]+$/, '')}${tail}`
    if (!taken.has(name.toLowerCase())) {
      taken.add(name.toLowerCase())
      return name
    }
  }
}

export function buildAzurePlan(policy: Policy, options: ExportOptions, target: string): AzPlan {
  const diagnostics: Diagnostic[] = []
  const warn = (rule: string | undefined, construct: string, outcome: string, fix?: string): void => {
    diagnostics.push(unsupported({ target, rule, construct, outcome, severity: 'warning', fix }))
  }
  const fail = (rule: string | undefined, construct: string, outcome: string, fix?: string): void => {
    diagnostics.push(unsupported({ target, rule, construct, outcome, severity: 'error', fix }))
  }
  const location = policy.profile?.location

  if (policy.settings.mode === 'report') {
    warn(undefined, 'mode: report (allow everything, log what would be denied)', 'Azure Firewall has no report mode: the exported rules enforce', 'review the policy with "aks-egress explain" before deploying')
  }
  if (policy.settings.dnsPolicy === 'allowed-only') {
    warn(undefined, 'dnsPolicy: allowed-only', "not expressed: Azure Firewall's DNS proxy resolves every name for every client")
  }

  // IP groups: Azure rules take IPv4 only.
  const ipGroups = Object.entries(policy.ipGroups).map(([name, members]) => {
    const v6 = members.filter(isV6)
    if (v6.length > 0) fail(undefined, `IPv6 addresses ${v6.join(', ')} in IP group "${name}" (Azure Firewall rules do not support IPv6)`, 'left out of the IP group')
    return { name, addresses: members.filter((m) => !isV6(m)) }
  })

  const sourcesOf = (path: string, rule: { sourceAddresses: readonly string[]; sourceIpGroups: readonly string[] }): string[] | undefined => {
    const v6 = rule.sourceAddresses.filter(isV6)
    const kept = rule.sourceAddresses.filter((s) => !isV6(s))
    if (v6.length === 0) return kept
    if (kept.length === 0 && rule.sourceIpGroups.length === 0) {
      fail(path, `IPv6 source addresses ${v6.join(', ')} (Azure Firewall rules do not support IPv6)`, 'rule left out: no source is left')
      return undefined
    }
    fail(path, `IPv6 source addresses ${v6.join(', ')} (Azure Firewall rules do not support IPv6)`, 'left out of the rule\'s sources')
    return kept
  }
  const describe = (path: string, description: string | undefined): string => (description === undefined ? path : `${path}: ${description}`)

  let dnsProxy = false
  const groups: AzGroup[] = []
  let collectionCount = 0
  const collectionNames = new Set<string>()
  for (const g of policy.ruleCollectionGroups) for (const c of g.ruleCollections) collectionNames.add(c.name.toLowerCase())

  for (const group of policy.ruleCollectionGroups) {
    const collections: Array<{ c: AzCollection; generated: boolean }> = []
    for (const coll of group.ruleCollections) {
      const prefix = `${group.name}/${coll.name}/`
      if (coll.type === 'dnat') {
        const rules: AzNatRule[] = []
        for (const r of coll.rules) {
          const nat = natRule(prefix + r.name, r)
          if (nat) rules.push(nat)
        }
        collections.push({ c: { kind: 'nat', name: coll.name, priority: coll.priority, action: 'DNAT', rules }, generated: false })
        continue
      }
      if (coll.type === 'network') {
        const rules: AzNetworkRule[] = []
        const taken = new Set(coll.rules.map((r) => r.name.toLowerCase()))
        for (const r of coll.rules) rules.push(...networkRules(prefix + r.name, r, taken))
        collections.push({ c: { kind: 'filter', name: coll.name, priority: coll.priority, action: coll.action, ruleType: 'NetworkRule', rules }, generated: false })
        continue
      }
      const rules: AzApplicationRule[] = []
      const fallback: AzNetworkRule[] = []
      const needsFallback = coll.rules.some((r) => r.protocols.some((p) => p.type === 'Mssql' || p.port > MAX_APPLICATION_PORT))
      const fallbackName = needsFallback ? uniqueName(coll.name, '-network', collectionNames) : ''
      for (const r of coll.rules) {
        const out = applicationRule(prefix + r.name, r, fallbackName)
        if (out.app) rules.push(out.app)
        fallback.push(...out.network)
      }
      collections.push({ c: { kind: 'filter', name: coll.name, priority: coll.priority, action: coll.action, ruleType: 'ApplicationRule', rules }, generated: false })
      if (fallback.length > 0) {
        collections.push({ c: { kind: 'filter', name: fallbackName, priority: coll.priority, action: coll.action, ruleType: 'NetworkRule', rules: fallback }, generated: true })
      }
    }
    // A collection whose rules were all left out, or moved to a network collection, is not written.
    const kept = collections.filter((x) => x.c.rules.length > 0)
    const renumbered = distinctPriorities(
      kept.map((x) => x.c),
      (c, index, from, to) => {
        if (kept[index]?.generated !== true) warn(undefined, `rule collections of group "${group.name}" sharing priority ${from} (Azure needs distinct priorities)`, `collection "${c.name}" gets priority ${to}; the order is kept`)
      },
    )
    if (renumbered.overflow) fail(undefined, `the collections of group "${group.name}"`, `cannot be given distinct priorities up to ${MAX_PRIORITY}`, 'space the priorities out')
    collectionCount += renumbered.items.length
    groups.push({ name: group.name, priority: group.priority, collections: renumbered.items })
  }

  let ingress = false
  if (options.serviceIp !== undefined) {
    const taken = new Set(groups.map((g) => g.name.toLowerCase()))
    const name = uniqueName('aks-ingress', '', taken)
    const port = options.servicePort ?? 80
    const usedPriorities = new Set(groups.map((g) => g.priority))
    let priority = 100
    while (usedPriorities.has(priority)) priority++
    groups.unshift({
      name,
      priority,
      collections: [
        {
          kind: 'nat',
          name: uniqueName(`${name}-dnat`, '', collectionNames),
          priority: 100,
          action: 'DNAT',
          rules: [
            {
              ruleType: 'NatRule',
              name: `ingress-${port}`,
              description: `Ingress: firewall public IP port ${port} to the internal load balancer ${options.serviceIp}:${port} (asymmetric routing fix, limit-egress-traffic)`,
              sourceAddresses: ['*'],
              sourceIpGroups: [],
              ipProtocols: ['TCP'],
              destinationAddress: { param: 'firewallPublicIp' },
              destinationPort: port,
              translatedAddress: { param: 'serviceIp' },
              translatedPort: port,
            },
          ],
        },
      ],
    })
    collectionCount++
    ingress = true
  }

  const groupOrder = distinctPriorities(groups, (g, _index, from, to) => {
    warn(undefined, `rule collection groups sharing priority ${from} (Azure needs distinct priorities)`, `group "${g.name}" gets priority ${to}; the order is kept`)
  })
  if (groupOrder.overflow) fail(undefined, 'the rule collection groups', `cannot be given distinct priorities up to ${MAX_PRIORITY}`, 'space the priorities out')
  if (collectionCount > MAX_RULE_COLLECTIONS) {
    fail(undefined, `${collectionCount} rule collections`, `Azure Firewall takes at most ${MAX_RULE_COLLECTIONS}: the deployment will fail`, 'merge collections')
  }

  return {
    policyName: options.policyName ?? policy.name,
    ...(location === undefined ? {} : { location }),
    groups: groupOrder.items,
    ipGroups,
    dnsProxy,
    ingress,
    diagnostics,
  }

  function networkRules(path: string, r: NetworkRule, taken: Set<string>): AzNetworkRule[] {
    const sources = sourcesOf(path, r)
    if (!sources) return []
    const addresses: string[] = []
    const fqdns: string[] = []
    const addressesV6 = r.destinationAddresses.filter(isV6)
    for (const a of r.destinationAddresses) if (!isV6(a) && !addresses.includes(a)) addresses.push(a)
    if (addressesV6.length > 0) {
      const construct = `IPv6 destination addresses ${addressesV6.join(', ')} (Azure Firewall rules do not support IPv6)`
      if (addresses.length + r.destinationFqdns.length + r.destinationIpGroups.length === 0) {
        fail(path, construct, 'rule left out: no destination is left')
        return []
      }
      fail(path, construct, 'left out of the rule\'s destinations')
    }
    for (const f of r.destinationFqdns) {
      const p = patternOf(f)
      if (p.kind === 'exact') {
        if (!fqdns.includes(f)) fqdns.push(f)
        continue
      }
      if (p.kind === 'any') {
        if (!addresses.includes('*')) addresses.push('*')
        warn(path, 'destination FQDN "*" in a network rule (Azure takes exact names only)', 'expressed as destination address "*" (every address, also without a DNS lookup)')
        continue
      }
      const sub = controlPlaneSubstitute(f, policy)
      if (sub !== undefined) {
        if (!addresses.includes(sub)) addresses.push(sub)
        const what = sub === policy.profile?.apiServerIp ? `the API server IP ${sub} (the profile's apiServerIp)` : `the service tag ${sub} (broader: every Azure address of the region)`
        warn(path, `wildcard FQDN "${f}" in a network rule (Azure takes exact names only)`, `expressed as ${what}`, sub.startsWith('AzureCloud') ? 'give the API server IP (--api-server) for a narrower rule' : undefined)
        continue
      }
      const alone = r.destinationFqdns.length === 1 && r.destinationAddresses.length === 0 && r.destinationIpGroups.length === 0
      fail(path, `wildcard FQDN "${f}" in a network rule (Azure takes exact names only, and no service tag stands for it)`, alone ? 'rule left out' : 'left out of the rule', 'list the exact names, or use an application rule if the traffic is HTTP or HTTPS')
    }
    if (addresses.length + fqdns.length + r.destinationIpGroups.length === 0) return []
    if (fqdns.length > 0) dnsProxy = true
    if (r.ipProtocols.includes('ICMP')) {
      const internet = addresses.some((a) => a === '*' || classifyAddress(a).kind === 'service-tag' || !isPrivateV4(a)) || fqdns.length > 0
      if (internet) warn(path, 'ICMP to internet destinations', 'kept, but Azure Firewall does not SNAT ICMP, so it does not reach the internet')
    }
    const base = {
      ruleType: 'NetworkRule' as const,
      description: describe(path, r.description),
      sourceAddresses: sources,
      sourceIpGroups: r.sourceIpGroups,
      ipProtocols: r.ipProtocols,
      destinationPorts: r.destinationPorts,
    }
    const out: AzNetworkRule[] = []
    if (addresses.length > 0 || r.destinationIpGroups.length > 0) {
      out.push({ ...base, name: r.name, destinationAddresses: addresses, destinationIpGroups: r.destinationIpGroups, destinationFqdns: [] })
    }
    if (fqdns.length > 0) {
      const name = out.length > 0 ? uniqueName(r.name, '-fqdns', taken) : r.name
      out.push({ ...base, name, destinationAddresses: [], destinationIpGroups: [], destinationFqdns: fqdns })
    }
    return out
  }

  function applicationRule(path: string, r: ApplicationRule, collection: string): { app?: AzApplicationRule; network: AzNetworkRule[] } {
    const sources = sourcesOf(path, r)
    if (!sources) return { network: [] }
    const good: Array<{ protocolType: 'Http' | 'Https'; port: number }> = []
    const badPorts: number[] = []
    const bad: string[] = []
    for (const p of r.protocols) {
      if (p.type !== 'Mssql' && p.port <= MAX_APPLICATION_PORT) good.push({ protocolType: p.type, port: p.port })
      else {
        bad.push(`${p.type}:${p.port}`)
        if (!badPorts.includes(p.port)) badPorts.push(p.port)
      }
    }
    const out: { app?: AzApplicationRule; network: AzNetworkRule[] } = { network: [] }
    if (good.length > 0) {
      out.app = { ruleType: 'ApplicationRule', name: r.name, description: describe(path, r.description), sourceAddresses: sources, sourceIpGroups: r.sourceIpGroups, protocols: good, targetFqdns: r.targetFqdns, fqdnTags: r.fqdnTags }
    }
    if (bad.length === 0) return out
    const mssqlOnly = r.protocols.every((p) => p.type === 'Mssql' || p.port <= MAX_APPLICATION_PORT) && bad.every((b) => b.startsWith('Mssql'))
    const construct = `application protocol${bad.length > 1 ? 's' : ''} ${bad.join(', ')} (Firewall Policy application rules take Http and Https on ports up to ${MAX_APPLICATION_PORT})`
    const fqdns: string[] = []
    const addresses: string[] = []
    const lost: string[] = []
    for (const f of r.targetFqdns) {
      const p = patternOf(f)
      if (p.kind === 'exact') fqdns.push(f)
      else if (p.kind === 'any') addresses.push('*')
      else if (mssqlOnly) addresses.push(location === undefined ? 'Sql' : `Sql.${location}`)
      else lost.push(f)
    }
    lost.push(...r.fqdnTags.map((t) => `FQDN tag ${t}`))
    if (fqdns.length + addresses.length === 0) {
      fail(path, construct, `left out: no network rule can stand for ${lost.join(', ')}`, 'write a network rule with the destination addresses')
      return out
    }
    const name = out.app ? `${r.name}-tcp` : r.name
    const base = { ruleType: 'NetworkRule' as const, description: describe(path, r.description), sourceAddresses: sources, sourceIpGroups: r.sourceIpGroups, ipProtocols: ['TCP'], destinationIpGroups: [], destinationPorts: badPorts.map(String) }
    if (addresses.length > 0) out.network.push({ ...base, name, destinationAddresses: [...new Set(addresses)], destinationFqdns: [] })
    if (fqdns.length > 0) {
      dnsProxy = true
      out.network.push({ ...base, name: addresses.length > 0 ? `${name}-fqdns` : name, destinationAddresses: [], destinationFqdns: fqdns })
    }
    const subst = [...fqdns.map((f) => `FQDN ${f}`), ...[...new Set(addresses)].map((a) => (a.startsWith('Sql') ? `service tag ${a} (broader)` : `address ${a}`))]
    warn(path, construct, `expressed as network rule TCP ${badPorts.join(',')} to ${subst.join(', ')} in collection "${collection}" (processed with the network rules, before every application rule)${lost.length > 0 ? `; ${lost.join(', ')} left out` : ''}`)
    if (lost.length > 0) fail(path, `${lost.join(', ')} with ${bad.join(', ')}`, 'left out: a network rule cannot match it')
    return out
  }

  function natRule(path: string, r: NatRule): AzNatRule | undefined {
    const sources = sourcesOf(path, r)
    if (!sources) return undefined
    if (isV6(r.destinationAddress) || (r.translatedAddress !== undefined && isV6(r.translatedAddress))) {
      fail(path, 'an IPv6 address in a DNAT rule (Azure Firewall rules do not support IPv6)', 'rule left out')
      return undefined
    }
    if (r.destinationPort > MAX_NAT_PORT) {
      fail(path, `DNAT destination port ${r.destinationPort} (Azure Firewall DNAT takes ports 1-${MAX_NAT_PORT})`, 'rule left out', `use a port up to ${MAX_NAT_PORT}`)
      return undefined
    }
    return {
      ruleType: 'NatRule',
      name: r.name,
      description: describe(path, r.description),
      sourceAddresses: sources,
      sourceIpGroups: r.sourceIpGroups,
      ipProtocols: r.ipProtocols,
      destinationAddress: { literal: r.destinationAddress },
      destinationPort: r.destinationPort,
      ...(r.translatedAddress === undefined ? {} : { translatedAddress: { literal: r.translatedAddress } }),
      ...(r.translatedFqdn === undefined ? {} : { translatedFqdn: r.translatedFqdn }),
      translatedPort: r.translatedPort,
    }
  }
}

/**
 * Gives items distinct priorities in their order (priority, then position), raising a tie to the
 * next free value: Azure rejects two collections of a group (or two groups) with one priority.
 */
function distinctPriorities<T extends { readonly name: string; readonly priority: number }>(
  items: readonly T[],
  onChange: (item: T, index: number, from: number, to: number) => void,
): { items: T[]; overflow: boolean } {
  const order = items.map((item, index) => ({ item, index })).sort((a, b) => a.item.priority - b.item.priority || a.index - b.index)
  let last = 0
  let overflow = false
  const next = new Map<number, T>()
  for (const { item, index } of order) {
    let p = item.priority
    if (p <= last) {
      p = last + 1
      if (p > MAX_PRIORITY) overflow = true
      onChange(item, index, item.priority, p)
    }
    last = p
    next.set(index, p === item.priority ? item : { ...item, priority: p })
  }
  return { items: items.map((item, i) => next.get(i) ?? item), overflow }
}
