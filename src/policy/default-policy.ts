/**
 * @module The default policy of a profile: exactly what the catalog requires, nothing else
 * (what `aks-egress policy init` writes and what `explain`/`serve` use with profile options alone).
 *
 * One rule collection group per category: `aks-required` (priority 200), `aks-recommended` (300),
 * then one per add-on (400, 500, ...). Each group has a network collection (priority 100) for the
 * entries with TCP/UDP ports and an application collection (priority 200) for HTTP/HTTPS ones.
 * Every rule is named after its catalog entry id. Sources are the node CIDRs, or `*`.
 *
 * A network entry's destination is chosen among its target and alternatives, most specific
 * first: a given address (the API server IP), then an FQDN (learned through the DNS proxy; an
 * aks-egress extension for wildcards), then the entry's own service tag or `*` (never one of
 * those as a fallback alternative). An entry none of whose
 * choices has all its parameters is left out and returned in `omitted`, never dropped silently.
 */
import type { CatalogEntry } from '../catalog/catalog-types.ts'
import type { Profile, ResolvedEndpoint } from '../catalog/profile.ts'
import { parseAddressBlock } from './cidr.ts'
import {
  API_VERSION,
  DEFAULT_SETTINGS,
  type ApplicationProtocol,
  type ApplicationRule,
  type NetworkProtocol,
  type NetworkRule,
  type Policy,
  type RuleCollection,
  type RuleCollectionGroup,
} from './policy-model.ts'

export interface DefaultPolicy {
  readonly policy: Policy
  /** For each rule (by `group/collection/rule`), the endpoint it implements. */
  readonly origins: ReadonlyMap<string, ResolvedEndpoint>
  /** Endpoints left out because a parameter is missing, with the rule they would need. */
  readonly omitted: readonly ResolvedEndpoint[]
}

type DestinationKind = 'address' | 'fqdn' | 'service-tag' | 'any'

function classify(target: string): DestinationKind {
  if (target === '*') return 'any'
  const block = parseAddressBlock(target)
  if (block.ok) return 'address'
  // Service tags are CamelCase words with an optional `.region` (AzureCloud.westeurope).
  if (/^[A-Z][A-Za-z0-9]*(\.[A-Za-z0-9]+)?$/.test(target)) return 'service-tag'
  return 'fqdn'
}

const PREFERENCE: readonly DestinationKind[] = ['address', 'fqdn', 'service-tag', 'any']

/** The most specific fully-substituted destination of a network endpoint, if any. */
export function networkDestination(e: ResolvedEndpoint): { kind: DestinationKind; target: string } | undefined {
  const choices: Array<{ kind: DestinationKind; target: string }> = []
  if (e.missing.length === 0) choices.push({ kind: classify(e.target), target: e.target })
  for (const a of e.alternatives) choices.push({ kind: classify(a), target: a })
  for (const kind of PREFERENCE) {
    // A service tag or `*` is chosen only when it is the entry's own target: as a fallback it
    // would open far more than the entry needs (`AzureCloud` is every Azure address).
    const broad = kind === 'any' || kind === 'service-tag'
    const hit = choices.find((c) => c.kind === kind && (!broad || (c.target === e.target && e.missing.length === 0)))
    if (hit) return hit
  }
  return undefined
}

function groupKey(e: ResolvedEndpoint): string {
  return e.category === 'required' ? 'aks-required' : e.category === 'recommended' ? `aks-recommended` : `addon-${e.category}`
}

function applicationProtocols(entry: CatalogEntry): ApplicationProtocol[] {
  const out: ApplicationProtocol[] = []
  for (const p of entry.protocols) {
    const [scheme, port] = p.split(':')
    if (scheme === 'http') out.push({ type: 'Http', port: Number(port) })
    if (scheme === 'https') out.push({ type: 'Https', port: Number(port) })
  }
  return out
}

/** Network protocols and ports, one rule per IP protocol: `{TCP: [22, 9000], UDP: [123]}`. */
function networkPorts(entry: CatalogEntry): Map<NetworkProtocol, string[]> {
  const out = new Map<NetworkProtocol, string[]>()
  for (const p of entry.protocols) {
    const [scheme, port = ''] = p.split(':')
    const proto: NetworkProtocol | undefined = scheme === 'tcp' ? 'TCP' : scheme === 'udp' ? 'UDP' : undefined
    if (!proto) continue
    const list = out.get(proto) ?? []
    if (!list.includes(port)) list.push(port)
    out.set(proto, list)
  }
  return out
}

function rank(order: readonly string[], key: string): number {
  const i = order.indexOf(key)
  return i === -1 ? order.length : i
}

/** Builds the default policy of a profile from its resolved endpoints. */
export function buildDefaultPolicy(profile: Profile, endpoints: readonly ResolvedEndpoint[]): DefaultPolicy {
  const sources = profile.nodeCidrs.length > 0 ? [...profile.nodeCidrs] : ['*']
  const groups = new Map<string, { network: NetworkRule[]; application: ApplicationRule[] }>()
  const origins = new Map<string, ResolvedEndpoint>()
  const omitted: ResolvedEndpoint[] = []
  const groupOf = (key: string): { network: NetworkRule[]; application: ApplicationRule[] } => {
    let g = groups.get(key)
    if (!g) {
      g = { network: [], application: [] }
      groups.set(key, g)
    }
    return g
  }

  for (const e of endpoints) {
    const key = groupKey(e)
    const g = groupOf(key)
    const app = applicationProtocols(e.entry)
    const net = networkPorts(e.entry)
    let placed = false
    if (app.length > 0 && e.missing.length === 0) {
      g.application.push({ name: e.entry.id, sourceAddresses: sources, sourceIpGroups: [], protocols: app, targetFqdns: [e.target], fqdnTags: [] })
      origins.set(`${key}/${key}-application/${e.entry.id}`, e)
      placed = true
    }
    if (net.size > 0) {
      const dest = networkDestination(e)
      if (dest) {
        for (const [proto, ports] of net) {
          const name = net.size > 1 ? `${e.entry.id}.${proto.toLowerCase()}` : e.entry.id
          g.network.push({
            name,
            sourceAddresses: sources,
            sourceIpGroups: [],
            ipProtocols: [proto],
            destinationAddresses: dest.kind === 'fqdn' ? [] : [dest.target],
            destinationIpGroups: [],
            destinationFqdns: dest.kind === 'fqdn' ? [dest.target] : [],
            destinationPorts: ports,
          })
          origins.set(`${key}/${key}-network/${name}`, e)
        }
        placed = true
      }
    }
    if (!placed || (app.length > 0 && e.missing.length > 0)) omitted.push(e)
  }

  // Groups in a fixed order: required, recommended, then the add-ons as the profile lists them.
  const order = ['aks-required', 'aks-recommended', ...profile.features.map((f) => `addon-${f}`)]
  const keys = [...groups.keys()].sort((a, b) => rank(order, a) - rank(order, b))
  const ruleCollectionGroups: RuleCollectionGroup[] = []
  let priority = 200
  for (const key of keys) {
    const g = groupOf(key)
    const collections: RuleCollection[] = []
    if (g.network.length > 0) collections.push({ type: 'network', name: `${key}-network`, priority: 100, action: 'Allow', rules: g.network })
    if (g.application.length > 0) collections.push({ type: 'application', name: `${key}-application`, priority: 200, action: 'Allow', rules: g.application })
    if (collections.length > 0) ruleCollectionGroups.push({ name: key, priority, ruleCollections: collections })
    priority += 100
  }
  const policy: Policy = {
    apiVersion: API_VERSION,
    name: `aks-${profile.cloud}${profile.location ? `-${profile.location}` : ''}`,
    profile,
    settings: DEFAULT_SETTINGS,
    ipGroups: {},
    ruleCollectionGroups,
  }
  return { policy, origins, omitted }
}
