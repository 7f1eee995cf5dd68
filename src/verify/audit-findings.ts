/**
 * @module What an audit says beyond allowed/blocked: the rules that allow far more than the
 * catalog needs (`*` targets and destinations, `0.0.0.0/0`, every port, protocol Any), and what to
 * add for each blocked endpoint, as a policy fragment of our format (valid for `aks-egress policy
 * validate`) and as `az` commands for the firewall the export came from.
 *
 * A fix must come before what blocks: a denying collection shadows an allow placed after it, and
 * a denying network rule shadows every application rule (network rules are processed first,
 * azure-facts §2.1). The fix's priority is therefore chosen below the blocking group's, and a
 * network deny that shadows an application flow is named as the thing to narrow.
 */
import type { Profile, ResolvedEndpoint } from '../catalog/profile.ts'
import { parseAddressBlock } from '../policy/cidr.ts'
import { isBroadPattern, parseFqdnPattern } from '../policy/fqdn-pattern.ts'
import {
  API_VERSION,
  DEFAULT_SETTINGS,
  type ApplicationProtocol,
  type ApplicationRule,
  type NetworkProtocol,
  type NetworkRule,
  type Policy,
  type RuleCollection,
} from '../policy/policy-model.ts'
import { isApiServerEndpoint, type EndpointResult } from './audit-policy.ts'

export interface BroadRule {
  readonly rule: string
  readonly type: 'application' | 'network'
  readonly reasons: readonly string[]
}

function isAnyDestination(a: string): boolean {
  if (a === '*') return true
  if (a.toLowerCase() === 'internet') return true
  const b = parseAddressBlock(a)
  return b.ok && !b.any && b.cidrs.some((c) => c.prefix === 0)
}

/** Allowing rules that open far more than any catalog entry needs. */
export function findBroadRules(policy: Policy, endpoints: readonly ResolvedEndpoint[]): BroadRule[] {
  // Ports for which the catalog itself offers `*` as the destination (Microsoft's `*:1194`, `*:123`).
  const starPorts = new Set<string>()
  for (const e of endpoints) {
    if (!(e.entry.alternatives ?? []).includes('*') && e.entry.target !== '*') continue
    for (const p of e.entry.protocols) starPorts.add(p)
  }
  const out: BroadRule[] = []
  for (const g of policy.ruleCollectionGroups) {
    for (const c of g.ruleCollections) {
      if (c.type === 'dnat' || c.action !== 'Allow') continue
      for (const r of c.rules) {
        const reasons: string[] = []
        const path = `${g.name}/${c.name}/${r.name}`
        if (c.type === 'application' && 'targetFqdns' in r) {
          for (const f of r.targetFqdns) {
            const p = parseFqdnPattern(f)
            if (f === '*') reasons.push(`target "*" allows every name on ${r.protocols.map((x) => `${x.type}:${x.port}`).join(', ')}`)
            else if (p.ok && isBroadPattern(p.pattern)) reasons.push(`target "${f}" allows every name under a top-level domain`)
          }
        }
        if (c.type === 'network' && 'destinationPorts' in r) {
          const anyDest = r.destinationAddresses.some(isAnyDestination) || r.destinationFqdns.includes('*')
          const anyPort = r.destinationPorts.includes('*')
          const anyProto = r.ipProtocols.includes('Any')
          if (anyDest) {
            const which = [...r.destinationAddresses.filter(isAnyDestination), ...r.destinationFqdns.filter((f) => f === '*')].map((x) => `"${x}"`).join(', ')
            const ports = r.ipProtocols.flatMap((p) => r.destinationPorts.map((port) => `${p.toLowerCase()}:${port}`))
            const catalogOk = !anyPort && ports.length > 0 && ports.every((p) => starPorts.has(p))
            reasons.push(
              `destination ${which} is every address${
                catalogOk
                  ? ' (Microsoft\'s page offers "*" for these ports, but AzureCloud.<location> or the API server IP is narrower)'
                  : r.destinationPorts.some((p) => p === '*' || p === '443' || p === '80')
                    ? '; network rules are processed before application rules, so this bypasses every FQDN rule on those ports'
                    : ''
              }`,
            )
          }
          if (anyPort) reasons.push('destination ports "*": every port')
          if (anyProto) reasons.push('protocol Any: every IP protocol')
        }
        if (reasons.length > 0) out.push({ rule: path, type: c.type, reasons })
      }
    }
  }
  return out
}

export interface Fix {
  /** The fragment as a policy of our format (one rule collection group). */
  readonly policy: Policy
  /** `az` commands adding the same rules to the audited firewall. */
  readonly az: readonly string[]
  /** What else to do (a deny to narrow, an FQDN network rule needing DNS proxy). */
  readonly notes: readonly string[]
}

export const FIX_GROUP = 'aks-egress-fix'

function q(text: string): string {
  return /^[A-Za-z0-9_./:=@-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`
}

/** The rules to add so that every blocked or partial endpoint is allowed. */
export function buildFix(results: readonly EndpointResult[], imported: Policy, profile: Profile, firewall: { kind: 'policy' | 'classic'; name: string }): Fix | undefined {
  const failing = results.filter((r) => r.status === 'blocked' || r.status === 'partial')
  if (failing.length === 0) return undefined
  const sources = profile.nodeCidrs.length > 0 ? [...profile.nodeCidrs] : ['*']
  const notes: string[] = []
  const network: NetworkRule[] = []
  const application: ApplicationRule[] = []
  const appByEntry = new Map<string, { rule: ApplicationRule; protocols: ApplicationProtocol[] }>()
  // Groups of a parent policy precede every group of the audited one whatever its priority
  // (azure-facts §2.1): a fix here cannot come before them, and their priorities are not ours.
  const inheritedFrom = new Map(imported.ruleCollectionGroups.flatMap((g) => (g.inherited ? [[g.name, g.inherited.policy] as const] : [])))
  const groupPriority = new Map(imported.ruleCollectionGroups.filter((g) => !g.inherited).map((g) => [g.name, g.priority]))
  const collectionPriority = new Map<string, number>()
  for (const g of imported.ruleCollectionGroups) for (const c of g.ruleCollections) collectionPriority.set(`${g.name}/${c.name}`, c.priority)
  let denyBound = Infinity
  const shadowing = new Set<string>()
  const noteSeen = new Set<string>()
  const note = (text: string): void => {
    if (!noteSeen.has(text)) {
      noteSeen.add(text)
      notes.push(text)
    }
  }

  for (const r of failing) {
    const [scheme, port] = r.protocol.split(':') as [string, string]
    for (const s of r.samples) {
      const d = s.decision
      if (d.action !== 'deny' || !d.rule) continue
      const bound = firewall.kind === 'classic' ? (collectionPriority.get(`${d.rule.group}/${d.rule.collection}`) ?? Infinity) : (groupPriority.get(d.rule.group) ?? Infinity)
      const parent = inheritedFrom.get(d.rule.group)
      if (parent !== undefined) {
        note(`${d.rulePath ?? ''} is in the parent policy ${parent}, which Azure processes before every rule collection group of ${firewall.name} whatever its priority: no rule added to ${firewall.name} can allow ${s.flow}; add the fix to ${parent}, or narrow that deny there`)
      } else if (d.rule.type === 'network' && (scheme === 'http' || scheme === 'https')) {
        note(`${d.rulePath ?? ''} is a denying network rule: network rules are processed before application rules, so no application rule can allow ${s.flow}; narrow or remove it`)
      } else {
        denyBound = Math.min(denyBound, bound)
        shadowing.add(d.rulePath ?? '')
      }
    }
    const e = r.endpoint
    if (scheme === 'http' || scheme === 'https') {
      const proto: ApplicationProtocol = { type: scheme === 'http' ? 'Http' : 'Https', port: Number(port) }
      const existing = appByEntry.get(e.entry.id)
      if (existing) existing.protocols.push(proto)
      else {
        const protocols = [proto]
        const rule: ApplicationRule = { name: e.entry.id, sourceAddresses: sources, sourceIpGroups: [], protocols, targetFqdns: [e.target], fqdnTags: [] }
        appByEntry.set(e.entry.id, { rule, protocols })
        application.push(rule)
      }
      continue
    }
    const proto: NetworkProtocol = scheme === 'udp' ? 'UDP' : 'TCP'
    let destinationAddresses: string[] = []
    let destinationFqdns: string[] = []
    if (isApiServerEndpoint(e)) {
      destinationAddresses = [profile.apiServerIp ?? (profile.location ? `AzureCloud.${profile.location}` : 'AzureCloud')]
    } else if (e.entry.kind === 'fqdn') {
      destinationFqdns = [e.target]
      note(`${e.entry.id}: a network rule to the FQDN ${e.target} needs the firewall's DNS proxy (and Azure accepts exact names only there)`)
    } else if (e.entry.kind === 'any') destinationAddresses = ['*']
    else destinationAddresses = [e.target]
    const name = e.entry.protocols.filter((p) => p.startsWith('tcp') || p.startsWith('udp')).length > 1 ? `${e.entry.id}.${r.protocol.replace(':', '-')}` : e.entry.id
    if (network.some((n) => n.name === name)) continue
    network.push({ name, sourceAddresses: sources, sourceIpGroups: [], ipProtocols: [proto], destinationAddresses, destinationIpGroups: [], destinationFqdns, destinationPorts: [port] })
  }

  // A priority before every blocking deny, and free.
  const taken = new Set(firewall.kind === 'classic' ? [...collectionPriority.values()] : [...groupPriority.values()])
  let priority: number | undefined
  for (let p = 100; p <= 65000 && p < denyBound; p += 100) {
    if (!taken.has(p)) {
      priority = p
      if (denyBound === Infinity) break
    }
  }
  if (priority === undefined) {
    for (let p = Math.min(denyBound - 1, 65000); p >= 100; p--) {
      if (!taken.has(p)) {
        priority = p
        break
      }
    }
  }
  if (priority === undefined) {
    note(`no priority is free before the denying rules; narrow or remove them`)
    priority = 100
  }

  if (shadowing.size > 0 && priority < denyBound) {
    note(`the fix has priority ${priority}, before the denying rule${shadowing.size === 1 ? '' : 's'} ${[...shadowing].join(', ')}: if that deny is intended for the cluster's nodes too, the cluster cannot work without another source for these endpoints (a mirror, a private endpoint)`)
  }
  const collections: RuleCollection[] = []
  if (network.length > 0) collections.push({ type: 'network', name: `${FIX_GROUP}-network`, priority: firewall.kind === 'classic' ? priority : 100, action: 'Allow', rules: network })
  if (application.length > 0) collections.push({ type: 'application', name: `${FIX_GROUP}-application`, priority: firewall.kind === 'classic' ? priority : 200, action: 'Allow', rules: application })
  const policy: Policy = {
    apiVersion: API_VERSION,
    name: FIX_GROUP,
    profile,
    settings: DEFAULT_SETTINGS,
    ipGroups: {},
    ruleCollectionGroups: [{ name: FIX_GROUP, priority, ruleCollections: collections }],
  }
  return { policy, az: azCommands(policy, firewall), notes }
}

function azCommands(policy: Policy, firewall: { kind: 'policy' | 'classic'; name: string }): string[] {
  const group = policy.ruleCollectionGroups[0]
  if (!group) return []
  const out: string[] = []
  const fw = q(firewall.name)
  if (firewall.kind === 'policy') {
    const common = `-g "$RESOURCE_GROUP" --policy-name ${fw}`
    out.push(`az network firewall policy rule-collection-group create ${common} -n ${group.name} --priority ${group.priority}`)
    for (const c of group.ruleCollections) {
      c.rules.forEach((r, i) => {
        const args = ruleArgs(c, r, 'policy')
        if (i === 0) {
          out.push(
            `az network firewall policy rule-collection-group collection add-filter-collection ${common} --rule-collection-group-name ${group.name} -n ${c.name} --collection-priority ${c.priority} --action Allow --rule-name ${q(r.name)} ${args}`,
          )
        } else {
          out.push(`az network firewall policy rule-collection-group collection rule add ${common} --rule-collection-group-name ${group.name} --collection-name ${c.name} --name ${q(r.name)} ${args}`)
        }
      })
    }
    return out
  }
  for (const c of group.ruleCollections) {
    c.rules.forEach((r, i) => {
      const cmd = c.type === 'network' ? 'network-rule' : 'application-rule'
      const first = i === 0 ? ` --priority ${c.priority} --action Allow` : ''
      out.push(`az network firewall ${cmd} create -g "$RESOURCE_GROUP" -f ${fw} --collection-name ${c.name} -n ${q(r.name)}${first} ${ruleArgs(c, r, 'classic')}`)
    })
  }
  return out
}

function ruleArgs(c: RuleCollection, r: RuleCollection['rules'][number], kind: 'policy' | 'classic'): string {
  const list = (xs: readonly string[]): string => xs.map(q).join(' ')
  const parts: string[] = []
  if (c.type === 'network' && 'destinationPorts' in r) {
    if (kind === 'policy') parts.push('--rule-type NetworkRule', `--ip-protocols ${list(r.ipProtocols)}`)
    else parts.push(`--protocols ${list(r.ipProtocols)}`)
    parts.push(`--source-addresses ${list(r.sourceAddresses)}`)
    if (r.destinationAddresses.length > 0) parts.push(`--destination-addresses ${list(r.destinationAddresses)}`)
    if (r.destinationFqdns.length > 0) parts.push(`--destination-fqdns ${list(r.destinationFqdns)}`)
    parts.push(`--destination-ports ${list(r.destinationPorts)}`)
  } else if (c.type === 'application' && 'targetFqdns' in r) {
    if (kind === 'policy') parts.push('--rule-type ApplicationRule')
    parts.push(`--protocols ${r.protocols.map((p) => `${p.type}=${p.port}`).join(' ')}`, `--source-addresses ${list(r.sourceAddresses)}`, `--target-fqdns ${list(r.targetFqdns)}`)
  }
  return parts.join(' ')
}
