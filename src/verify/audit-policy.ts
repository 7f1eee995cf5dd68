/**
 * @module The audit: every endpoint a profile requires, decided by the engine against a policy
 * read from an Azure Firewall export (DESIGN.md §6).
 *
 * - HTTP/HTTPS entries are application flows (Host / SNI). A wildcard entry is decided on the
 *   samples of pattern-coverage.ts, so "allowed" means the whole pattern is.
 * - TCP/UDP entries are network flows to the name, address or service tag.
 * - API server and tunnel endpoints (the `*.hcp.`/`*.tun.` names, entries whose target or
 *   alternatives are `<api-server-ip>`) also carry the service tags `AzureCloud.<location>` and
 *   `AzureCloud` and, when given, the API server's IP and FQDN, so that a network rule to any of
 *   those, or to `*`, reaches them, as Microsoft's tutorial sets it up (azure-facts §1.10).
 * - An FQDN tag rule counts for exactly the names `aksFqdnTagNames` gives (compiled in).
 * - An entry whose target needs a parameter the profile lacks is decided symbolically when it is
 *   an API server endpoint without a condition, else reported as not checked, never guessed.
 */
import type { EndpointProtocol } from '../catalog/catalog-types.ts'
import type { Profile, ResolvedEndpoint } from '../catalog/profile.ts'
import type { Engine } from '../policy/compile-policy.ts'
import type { Decision } from '../policy/decision.ts'
import type { Flow, FlowProtocol } from '../policy/flow.ts'
import { matchFqdnPattern, parseFqdnPattern, type FqdnPattern } from '../policy/fqdn-pattern.ts'
import type { Policy } from '../policy/policy-model.ts'
import { coverageSamples } from './pattern-coverage.ts'

export type EndpointStatus = 'allowed' | 'blocked' | 'partial' | 'not-checked'

export interface SampleDecision {
  /** The flow as text: `https://aks-egress-probe-7f3a.hcp.westeurope.azmk8s.io:443`. */
  readonly flow: string
  /** `generic`, or the rule pattern whose region the sample stands for. */
  readonly region: string
  readonly decision: Decision
}

export interface EndpointResult {
  readonly endpoint: ResolvedEndpoint
  readonly protocol: EndpointProtocol
  readonly status: EndpointStatus
  readonly samples: readonly SampleDecision[]
  /** Why not checked, or how the decision was reached (symbolic, coverage). */
  readonly note?: string
}

export interface AuditOptions {
  /** The cluster's API server FQDN: decided instead of the generic `*.hcp.` sample. */
  readonly apiServerFqdn?: string | undefined
}

const API_NAME = /^\*\.(hcp|tun)\./

/** Whether an entry is the API server or its tunnel (reached by tag, IP or FQDN). */
export function isApiServerEndpoint(e: ResolvedEndpoint): boolean {
  if (e.entry.target === '<api-server-ip>') return true
  if ((e.entry.alternatives ?? []).includes('<api-server-ip>')) return true
  return API_NAME.test(e.entry.target)
}

/** The first usable host address of a node subnet (Azure keeps .0-.3 for itself). */
export function sampleSource(profile: Profile): string | undefined {
  const cidr = profile.nodeCidrs[0]
  if (cidr === undefined) return undefined
  const [ip, prefix] = cidr.split('/')
  if (ip === undefined || ip.includes(':')) return ip
  const n = ip.split('.').map(Number)
  if (Number(prefix ?? 32) > 29) return ip
  n[3] = (n[3] ?? 0) + 4
  return n.join('.')
}

/** Every FQDN pattern the policy's rules name, FQDN tag expansions included. */
export function policyPatterns(policy: Policy, fqdnTags: Readonly<Record<string, readonly string[]>>): FqdnPattern[] {
  const texts = new Set<string>()
  for (const g of policy.ruleCollectionGroups) {
    for (const c of g.ruleCollections) {
      for (const r of c.rules) {
        if ('targetFqdns' in r) {
          for (const f of r.targetFqdns) texts.add(f)
          for (const t of r.fqdnTags) for (const f of fqdnTags[t] ?? []) texts.add(f)
        }
        if ('destinationFqdns' in r) for (const f of r.destinationFqdns) texts.add(f)
      }
    }
  }
  const out: FqdnPattern[] = []
  for (const t of texts) {
    const p = parseFqdnPattern(t)
    if (p.ok) out.push(p.pattern)
  }
  return out
}

function flowText(f: Flow): string {
  const host = f.host ?? f.destinationIp ?? (f.destinationTags?.[0] ?? '*')
  const shown = host.includes(':') ? `[${host}]` : host
  return `${f.protocol}://${shown}:${f.destinationPort}`
}

function statusOf(samples: readonly SampleDecision[]): EndpointStatus {
  const allowed = samples.filter((s) => s.decision.action === 'allow').length
  if (allowed === samples.length) return 'allowed'
  return allowed === 0 ? 'blocked' : 'partial'
}

/** Audits every endpoint × protocol of a profile against a compiled policy. */
export function auditEndpoints(engine: Engine, profile: Profile, endpoints: readonly ResolvedEndpoint[], patterns: readonly FqdnPattern[], options: AuditOptions = {}): EndpointResult[] {
  const results: EndpointResult[] = []
  const source = sampleSource(profile)
  const location = profile.location
  for (const e of endpoints) {
    const api = isApiServerEndpoint(e)
    const tags = api ? (location ? [`AzureCloud.${location}`, 'AzureCloud'] : ['AzureCloud']) : []
    for (const protocol of e.entry.protocols) {
      const [scheme, portText] = protocol.split(':') as [FlowProtocol, string]
      const port = Number(portText)
      const base: Flow = {
        protocol: scheme,
        destinationPort: port,
        ...(source === undefined ? {} : { sourceIp: source }),
        ...(tags.length > 0 ? { destinationTags: tags } : {}),
        ...(api && profile.apiServerIp !== undefined ? { destinationIp: profile.apiServerIp } : {}),
      }
      const decide = (flow: Flow, region: string): SampleDecision => ({ flow: flowText(flow), region, decision: engine.decide(flow) })
      const named = (name: string): Flow => ({ ...base, host: name, ...(scheme === 'https' ? { sni: name } : {}) })
      const push = (samples: SampleDecision[], note?: string): void => {
        results.push({ endpoint: e, protocol, status: statusOf(samples), samples, ...(note === undefined ? {} : { note }) })
      }

      if (e.missing.length > 0) {
        const needs = e.missing.map((m) => `<${m}>`).join(' and ')
        if (api && !e.entry.condition && e.entry.kind !== 'fqdn') {
          const flow: Flow = { ...base, ...(options.apiServerFqdn ? { host: options.apiServerFqdn } : {}) }
          push([decide(flow, 'generic')], `${needs} not given: decided by service tag ${tags.join(', ')}${options.apiServerFqdn ? ` and FQDN ${options.apiServerFqdn}` : ''} (give --api-server if a rule names the API server's address)`)
        } else {
          results.push({ endpoint: e, protocol, status: 'not-checked', samples: [], note: `needs ${needs}${e.entry.condition ? ` (${e.entry.condition})` : ''}` })
        }
        continue
      }
      switch (e.entry.kind) {
        case 'fqdn': {
          const parsed = parseFqdnPattern(e.target)
          if (!parsed.ok) {
            results.push({ endpoint: e, protocol, status: 'not-checked', samples: [], note: `the catalog target "${e.target}" is not a pattern: ${parsed.detail}` })
            break
          }
          const pattern = parsed.pattern
          if (api && options.apiServerFqdn !== undefined && pattern.kind !== 'exact' && parseFqdnPattern(options.apiServerFqdn).ok && matchFqdnPattern(pattern, options.apiServerFqdn)) {
            push([decide(named(options.apiServerFqdn), 'generic')], `decided for the API server FQDN ${options.apiServerFqdn}`)
            break
          }
          const samples = coverageSamples(pattern, patterns).map((s) => decide(named(s.name), s.region))
          const note = pattern.kind === 'exact' ? undefined : coverageNote(samples)
          push(samples, note)
          break
        }
        case 'address':
          push([decide({ ...base, destinationIp: e.target, ...(options.apiServerFqdn && api ? { host: options.apiServerFqdn } : {}) }, 'generic')])
          break
        case 'service-tag': {
          const own = [e.target, ...(e.target.startsWith('AzureCloud.') ? ['AzureCloud'] : [])]
          const all = [...new Set([...own, ...tags])]
          push([decide({ ...base, destinationTags: all, ...(options.apiServerFqdn && api ? { host: options.apiServerFqdn } : {}) }, 'generic')])
          break
        }
        case 'any':
          push([decide(base, 'generic')])
          break
      }
    }
  }
  return results
}

function coverageNote(samples: readonly SampleDecision[]): string {
  const allowed = samples.filter((s) => s.decision.action === 'allow')
  if (samples.length === 1) return allowed.length === 1 ? 'the whole pattern: a rule covers it' : 'no rule covers any name of the pattern'
  if (allowed.length === samples.length) return `the whole pattern: ${samples.length} sample names (one generic, one per narrower rule pattern) all allowed`
  if (allowed.length === 0) return `no name of the pattern is allowed (${samples.length} sample names)`
  const generic = samples.find((s) => s.region === 'generic')
  const allowedRegions = allowed.filter((s) => s.region !== 'generic').map((s) => s.region)
  const deniedRegions = samples.filter((s) => s.decision.action === 'deny' && s.region !== 'generic').map((s) => s.region)
  if (generic?.decision.action === 'allow') return `allowed except names matching ${deniedRegions.join(', ')}`
  return `only names matching ${allowedRegions.join(', ')} are allowed, not the whole pattern`
}
