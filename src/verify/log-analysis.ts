/**
 * @module What the logs say the cluster needed and was denied (DESIGN.md §6): each denial mapped
 * to a catalog entry, grouped and counted.
 *
 * A denial names a host (application rules, the aks-egress log) or only an address (network
 * rules). Hosts are matched against the FQDN patterns of the catalog's entries, the profile's
 * first, then those of the edition's other add-ons ("you need add-on X"). A placeholder the profile
 * does not fill (`<location>`) matches any one label. Addresses are matched against the profile's
 * API server and DNS server addresses, and, for ports no web traffic uses (UDP 1194, TCP 9000,
 * TCP 22, UDP 123), against the entries with that port ("by port": Azure logs no name for them).
 * Memory is bounded: groups are keyed by entry, and the other denials by destination up to a cap.
 */
import type { CatalogEntry } from '../catalog/catalog-types.ts'
import { resolveEndpoints, selects, substitute, type Profile, type ResolvedEndpoint } from '../catalog/profile.ts'
import { loadEdition } from '../catalog/load-catalog.ts'
import { canonicalHost } from '../policy/fqdn.ts'
import { matchFqdnPattern, parseFqdnPattern, type FqdnPattern } from '../policy/fqdn-pattern.ts'
import { isDenial, type LogRecord } from './log-record.ts'

/** Distinct "other" destinations kept; the rest are counted together. */
export const MAX_OTHER_DESTINATIONS = 10000
/** Distinct names and sources remembered per group, as examples. */
export const MAX_EXAMPLES = 5

const BY_PORT = new Set(['udp:1194', 'tcp:9000', 'tcp:22', 'udp:123'])

interface Candidate {
  readonly entry: CatalogEntry
  readonly endpoint?: ResolvedEndpoint
  /** The pattern with the profile's parameters; `<x>` labels left for `matchWithPlaceholders`. */
  readonly pattern?: FqdnPattern
  readonly labels?: readonly string[]
  readonly target: string
  /** `required`, `recommended`, or the add-on's name. */
  readonly category: string
  readonly inProfile: boolean
}

export interface DenialGroup {
  /** `entry id` + protocol, or the destination for other denials. */
  readonly key: string
  readonly entry?: CatalogEntry
  /** The profile's endpoint, for entries the profile selects. */
  readonly endpoint?: ResolvedEndpoint
  readonly target: string
  readonly protocol: string
  readonly category: string
  readonly inProfile: boolean
  /** How the denial was mapped: by name, or by port only. */
  readonly matchedBy: 'name' | 'port' | 'none'
  count: number
  wouldDenyCount: number
  firstTime?: string
  lastTime?: string
  readonly names: Set<string>
  readonly sources: Set<string>
  readonly rules: Set<string>
}

export interface LogSummary {
  records: number
  denials: number
  bySource: Record<string, number>
  sniMissing: number
  sniMissingSources: Set<string>
  dnsFailures: Map<string, { count: number; code: string }>
  /** Denials not kept as groups because MAX_OTHER_DESTINATIONS was reached. */
  otherOverflow: number
}

function labelsOf(pattern: string): string[] {
  return pattern.split('.')
}

/** `*.hcp.<location>.azmk8s.io` against a name, `<x>` standing for any one label. */
function matchWithPlaceholders(labels: readonly string[], name: string): boolean {
  const n = name.split('.')
  if (labels[0] === '*') {
    const rest = labels.slice(1)
    if (n.length <= rest.length) return false
    return rest.every((l, i) => l.startsWith('<') || l === n[n.length - rest.length + i])
  }
  return labels.length === n.length && labels.every((l, i) => l.startsWith('<') || l === n[i])
}

export class LogAnalysis {
  readonly profile: Profile
  readonly groups = new Map<string, DenialGroup>()
  readonly summary: LogSummary = { records: 0, denials: 0, bySource: {}, sniMissing: 0, sniMissingSources: new Set(), dnsFailures: new Map(), otherOverflow: 0 }
  readonly #candidates: Candidate[] = []
  readonly #addresses = new Map<string, Candidate[]>()
  #others = 0

  constructor(profile: Profile) {
    this.profile = profile
    const endpoints = resolveEndpoints(profile)
    const byId = new Map(endpoints.map((e) => [e.entry.id, e]))
    const edition = loadEdition(profile.catalog)
    for (const entry of edition.entries) {
      if (!entry.clouds.includes(profile.cloud)) continue
      const endpoint = byId.get(entry.id)
      const inProfile = endpoint !== undefined && selects(profile, entry)
      const category = entry.category === 'required' ? 'required' : entry.category === 'recommended' ? 'recommended' : (entry.feature ?? 'addon')
      const { text, missing } = substitute(entry.target, profile)
      const base = { entry, target: text, category, inProfile, ...(endpoint ? { endpoint } : {}) }
      if (entry.kind === 'fqdn') {
        if (missing.length === 0) {
          const p = parseFqdnPattern(text)
          if (p.ok) this.#candidates.push({ ...base, pattern: p.pattern })
        } else this.#candidates.push({ ...base, labels: labelsOf(text) })
      } else if (entry.kind === 'address' && missing.length === 0) {
        const list = this.#addresses.get(text) ?? []
        list.push(base)
        this.#addresses.set(text, list)
      } else {
        this.#candidates.push(base)
      }
    }
    // Profile entries first, so that a name in both the profile and an add-on maps to the profile.
    this.#candidates.sort((a, b) => Number(b.inProfile) - Number(a.inProfile))
  }

  /** Adds one record. */
  add(r: LogRecord): void {
    this.summary.records++
    this.summary.bySource[r.source] = (this.summary.bySource[r.source] ?? 0) + 1
    if (r.kind === 'dns') {
      const code = r.dns?.responseCode ?? (r.dns?.error === undefined ? 'NOERROR' : 'ERROR')
      if (r.dns && code !== 'NOERROR' && code !== 'NXDOMAIN' && this.#matchName(r.dns.name, undefined) && this.summary.dnsFailures.size < MAX_OTHER_DESTINATIONS) {
        const f = this.summary.dnsFailures.get(r.dns.name) ?? { count: 0, code }
        f.count++
        this.summary.dnsFailures.set(r.dns.name, f)
      }
      return
    }
    if (!isDenial(r)) return
    this.summary.denials++
    if (r.sniMissing) {
      this.summary.sniMissing++
      if (r.sourceIp !== undefined && this.summary.sniMissingSources.size < MAX_EXAMPLES) this.summary.sniMissingSources.add(r.sourceIp)
      return
    }
    const proto = (r.protocol ?? '').toLowerCase()
    const scheme = proto === 'https' || proto === 'http' || proto === 'tcp' || proto === 'udp' ? proto : proto === 'mssql' ? 'tcp' : 'tcp'
    const protocol = `${scheme}:${r.destinationPort ?? 0}`
    let match: { c: Candidate; by: 'name' | 'port' } | undefined
    const host = r.host === undefined ? undefined : (canonicalHost(r.host) ?? r.host.toLowerCase())
    if (host !== undefined) {
      const c = this.#matchName(host, protocol)
      if (c) match = { c, by: 'name' }
    }
    if (!match && r.destinationIp !== undefined) {
      const c = this.#addresses.get(r.destinationIp)?.find((x) => x.entry.protocols.includes(protocol as never))
      if (c) match = { c, by: 'name' }
    }
    if (!match && r.kind !== 'application' && BY_PORT.has(protocol)) {
      const c = this.#candidates.find((x) => x.entry.protocols.includes(protocol as never)) ?? [...this.#addresses.values()].flat().find((x) => x.entry.protocols.includes(protocol as never))
      if (c) match = { c, by: 'port' }
    }
    let key: string
    let group: DenialGroup | undefined
    if (match) {
      key = `${match.c.entry.id} ${protocol}`
      group = this.groups.get(key)
      if (!group) {
        group = newGroup(key, match.c.target, protocol, match.c.category, match.c.inProfile, match.by, match.c.entry, match.c.endpoint)
        this.groups.set(key, group)
      }
    } else {
      const dest = host ?? r.destinationIp ?? '(unknown)'
      key = `other ${dest} ${protocol}`
      group = this.groups.get(key)
      if (!group) {
        if (this.#others >= MAX_OTHER_DESTINATIONS) {
          this.summary.otherOverflow++
          return
        }
        this.#others++
        group = newGroup(key, dest, protocol, 'other', false, 'none')
        this.groups.set(key, group)
      }
    }
    group.count++
    if (r.wouldDeny === true) group.wouldDenyCount++
    if (r.time !== undefined) {
      if (group.firstTime === undefined || r.time < group.firstTime) group.firstTime = r.time
      if (group.lastTime === undefined || r.time > group.lastTime) group.lastTime = r.time
    }
    if (host !== undefined && group.names.size < MAX_EXAMPLES) group.names.add(host)
    if (r.destinationIp !== undefined && host === undefined && group.names.size < MAX_EXAMPLES) group.names.add(r.destinationIp)
    if (r.sourceIp !== undefined && group.sources.size < MAX_EXAMPLES) group.sources.add(r.sourceIp)
    const rule = r.rule ?? (r.reason?.startsWith('No rule matched') || r.reason === 'Default Action' || r.reason === 'DEFAULT_DENY' ? 'default deny' : r.reason)
    if (rule !== undefined && group.rules.size < MAX_EXAMPLES) group.rules.add(rule)
  }

  #matchName(host: string, protocol: string | undefined): Candidate | undefined {
    for (const c of this.#candidates) {
      if (c.entry.kind !== 'fqdn') continue
      const hit = c.pattern ? matchFqdnPattern(c.pattern, host) : c.labels ? matchWithPlaceholders(c.labels, host) : false
      if (!hit) continue
      if (protocol === undefined || c.entry.protocols.includes(protocol as never)) return c
    }
    return undefined
  }

  /** Groups in order: the profile's needs, then add-ons, then other denials; by count. */
  sorted(): DenialGroup[] {
    const rank = (g: DenialGroup): number => (g.inProfile ? 0 : g.entry ? 1 : 2)
    return [...this.groups.values()].sort((a, b) => rank(a) - rank(b) || b.count - a.count || a.key.localeCompare(b.key))
  }
}

function newGroup(
  key: string,
  target: string,
  protocol: string,
  category: string,
  inProfile: boolean,
  matchedBy: DenialGroup['matchedBy'],
  entry?: CatalogEntry,
  endpoint?: ResolvedEndpoint,
): DenialGroup {
  return {
    key,
    target,
    protocol,
    category,
    inProfile,
    matchedBy,
    count: 0,
    wouldDenyCount: 0,
    names: new Set(),
    sources: new Set(),
    rules: new Set(),
    ...(entry ? { entry } : {}),
    ...(endpoint ? { endpoint } : {}),
  }
}
