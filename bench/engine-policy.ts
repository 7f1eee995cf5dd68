/**
 * @module Deterministic benchmark policies: N application rules over FQDN patterns (about 60%
 * exact, 35% `*.x.y` subdomain wildcards, 5% `*x.y` suffix wildcards; Azure-like and random
 * names of 2–5 labels), a proportionate set of network rules (IPv4 and IPv6 CIDRs, IP groups,
 * service tags, FQDN network rules), spread over several rule collection groups and collections
 * with shuffled priorities and a few Deny collections. The same size and seed always give the
 * same policy. Alongside the policy it returns what the flow generator needs to aim at rules.
 */
import type { ApplicationProtocol, ApplicationRule, NetworkProtocol, NetworkRule, Policy, RuleCollection, RuleCollectionGroup } from '../src/policy/policy-model.ts'
import { Prng } from './prng.ts'

export type PatternKind = 'exact' | 'subdomain' | 'suffix'

/** An FQDN pattern of the policy, with the rule that names it. */
export interface PatternInfo {
  readonly kind: PatternKind
  readonly text: string
  /** exact: the name; subdomain: the base after `*.`; suffix: the text after `*`. */
  readonly body: string
  readonly rule: RuleInfo
}

export interface RuleInfo {
  /** `group/collection/rule`. */
  readonly path: string
  readonly allow: boolean
  /** Source blocks; empty = any. */
  readonly sources: readonly string[]
}

export interface AppRuleInfo extends RuleInfo {
  readonly protocols: readonly ApplicationProtocol[]
}

export interface NetRuleInfo extends RuleInfo {
  readonly ipProtocols: readonly NetworkProtocol[]
  readonly ports: readonly string[]
}

export interface BlockInfo {
  readonly cidr: string
  readonly v: 4 | 6
  readonly rule: NetRuleInfo
}

export interface GeneratedPolicy {
  readonly policy: Policy
  readonly seed: number
  readonly appRules: number
  readonly netRules: number
  readonly appPatterns: readonly PatternInfo[]
  readonly netPatterns: ReadonlyArray<PatternInfo & { readonly rule: NetRuleInfo }>
  readonly blocks: readonly BlockInfo[]
  readonly tagRules: ReadonlyArray<{ readonly tag: string; readonly rule: NetRuleInfo }>
  /** Source blocks flows draw their source address from (the node subnets). */
  readonly nodeSubnets: readonly string[]
}

const AZURE_BASES = [
  'blob.core.windows.net', 'queue.core.windows.net', 'table.core.windows.net', 'file.core.windows.net', 'dfs.core.windows.net',
  'vault.azure.net', 'azurecr.io', 'servicebus.windows.net', 'database.windows.net', 'ods.opinsights.azure.com',
  'oms.opinsights.azure.com', 'monitoring.azure.com', 'azmk8s.io', 'cloudapp.azure.com', 'azurewebsites.net', 'azureedge.net',
  'trafficmanager.net', 'microsoft.com', 'microsoftonline.com', 'azure.com', 'azure.net', 'azure-api.net', 'ubuntu.com',
  'docker.io', 'github.com', 'githubusercontent.com', 'windows.net', 'chinacloudapi.cn', 'usgovcloudapi.net',
]
const REGIONS = [
  'westeurope', 'northeurope', 'eastus', 'eastus2', 'westus2', 'westus3', 'centralus', 'uksouth', 'francecentral',
  'germanywestcentral', 'swedencentral', 'japaneast', 'southeastasia', 'australiaeast', 'brazilsouth', 'canadacentral',
]
const TLDS = ['com', 'net', 'io', 'org', 'dev', 'cloud', 'de', 'co.uk', 'app', 'ai', 'nl', 'fr', 'info', 'tech']
const SYLLABLES = [
  'ka', 'zu', 'mi', 'ro', 'te', 'lan', 'por', 'vex', 'sta', 'dri', 'no', 'qua', 'bel', 'sin', 'tor', 'ex', 'am', 'pli',
  'cor', 'hub', 'net', 'ops', 'dat', 'api', 'cdn', 'img', 'log', 'sec', 'web', 'app', 'pro', 'dev', 'stg', 'eu', 'us',
]
const NODE_SUBNETS = ['10.240.0.0/16', '10.241.0.0/16', 'fd00:10:240::/64']

const SERVICE_TAGS = ['AzureCloud.westeurope', 'AzureCloud.eastus', 'AzureMonitor', 'AzureContainerRegistry.westeurope', 'Storage.westeurope', 'AzureKeyVault']

/** A DNS label of 3–15 characters from syllables, sometimes with digits or a hyphen inside. */
export function randomLabel(r: Prng): string {
  let s = ''
  const n = r.int(1, 4)
  for (let i = 0; i < n; i++) s += r.pick(SYLLABLES)
  if (r.chance(0.3)) s += String(r.int(0, 999))
  if (r.chance(0.1) && s.length > 2) {
    const at = r.int(1, s.length - 1)
    s = `${s.slice(0, at)}-${s.slice(at)}`
  }
  return s.slice(0, 40)
}

/** A registrable-looking domain: `label.tld` (2–3 labels). */
export function randomDomain(r: Prng): string {
  return `${randomLabel(r)}.${r.pick(TLDS)}`
}

function labelCount(name: string): number {
  let n = 1
  for (let i = 0; i < name.length; i++) if (name.charCodeAt(i) === 0x2e) n++
  return n
}

/** Prefixes `base` with random labels up to a total of `labels` (at least one added). */
function under(r: Prng, base: string, labels: number): string {
  let name = `${randomLabel(r)}.${base}`
  while (labelCount(name) < labels) name = `${randomLabel(r)}.${name}`
  return name
}

/** A wildcard base: 2–5 labels, Azure-like (`acct.blob.core.windows.net`, `westeurope.azmk8s.io`) or random. */
function wildcardBase(r: Prng): string {
  const roll = r.float()
  if (roll < 0.15) return r.chance(0.5) ? `${r.pick(REGIONS)}.${r.pick(AZURE_BASES)}` : `${randomLabel(r)}.${r.pick(AZURE_BASES)}`
  if (roll < 0.65) return randomDomain(r)
  return `${randomLabel(r)}.${randomDomain(r)}`
}

/** An exact name of 2–5 labels: under an Azure base, under a wildcard base already used, or random. */
function exactName(r: Prng, wildcardBases: readonly string[]): string {
  const roll = r.float()
  if (roll < 0.35) {
    const base = r.pick(AZURE_BASES)
    return under(r, base, Math.max(labelCount(base) + 1, r.int(2, 5)))
  }
  if (roll < 0.5 && wildcardBases.length > 0) {
    const base = r.pick(wildcardBases)
    if (labelCount(base) < 5) return under(r, base, r.int(labelCount(base) + 1, 5))
  }
  const domain = randomDomain(r)
  return r.chance(0.15) ? domain : under(r, domain, r.int(3, 5))
}

const APP_PROTOCOLS: ReadonlyArray<readonly [readonly ApplicationProtocol[], number]> = [
  [[{ type: 'Https', port: 443 }], 70],
  [[{ type: 'Http', port: 80 }, { type: 'Https', port: 443 }], 15],
  [[{ type: 'Https', port: 8443 }], 5],
  [[{ type: 'Http', port: 80 }], 5],
  [[{ type: 'Mssql', port: 1433 }], 5],
]

const V4_PREFIXES: ReadonlyArray<readonly [number, number]> = [[32, 40], [24, 25], [28, 10], [16, 10], [27, 4], [22, 5], [20, 4], [8, 2]]
const V6_PREFIXES: ReadonlyArray<readonly [number, number]> = [[128, 30], [64, 40], [56, 10], [48, 20]]

function ipv4Block(r: Prng): string {
  const prefix = r.weighted(V4_PREFIXES)
  // Public-looking first octets (20–223, not 127), so blocks spread over the space.
  let first = r.int(20, 223)
  if (first === 127) first = 128
  const n = ((first << 24) | r.int(0, 0xffffff)) >>> 0
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0
  const net = (n & mask) >>> 0
  const text = `${net >>> 24}.${(net >>> 16) & 255}.${(net >>> 8) & 255}.${net & 255}`
  return prefix === 32 ? text : `${text}/${prefix}`
}

function hex16(r: Prng): number {
  return r.int(0, 0xffff)
}

/** An IPv6 block under 2001:db8::/32-like documentation space and a few real-looking /16s, canonical text. */
function ipv6Block(r: Prng): string {
  const prefix = r.weighted(V6_PREFIXES)
  const groups = [r.pick([0x2001, 0x2603, 0x2a01, 0x2620]), hex16(r), hex16(r), hex16(r), hex16(r), hex16(r), hex16(r), hex16(r)]
  // Clear the host bits: whole groups past the prefix, and the partial group.
  for (let g = 0; g < 8; g++) {
    const bitsHere = Math.max(0, Math.min(16, prefix - g * 16))
    groups[g] = bitsHere === 0 ? 0 : groups[g]! & ((0xffff << (16 - bitsHere)) & 0xffff)
  }
  return formatIpv6Groups(groups) + (prefix === 128 ? '' : `/${prefix}`)
}

/** RFC 5952 text of 8 groups (longest run of 2+ zero groups as `::`). */
export function formatIpv6Groups(groups: readonly number[]): string {
  let bestStart = -1
  let bestLen = 1
  for (let k = 0; k < 8; ) {
    if (groups[k] !== 0) {
      k++
      continue
    }
    let e = k
    while (e < 8 && groups[e] === 0) e++
    if (e - k > bestLen) {
      bestStart = k
      bestLen = e - k
    }
    k = e
  }
  const hex = groups.map((g) => g.toString(16))
  if (bestStart === -1) return hex.join(':')
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`
}

interface NetKind {
  readonly protocols: readonly NetworkProtocol[]
  readonly ports: readonly string[]
}

const NET_CIDR_KINDS: ReadonlyArray<readonly [NetKind, number]> = [
  [{ protocols: ['TCP'], ports: ['443'] }, 30],
  [{ protocols: ['TCP'], ports: ['22', '9000'] }, 8],
  [{ protocols: ['UDP'], ports: ['1194'] }, 6],
  [{ protocols: ['UDP'], ports: ['53'] }, 5],
  [{ protocols: ['UDP'], ports: ['123'] }, 5],
  [{ protocols: ['TCP'], ports: ['8000-8999'] }, 6],
  [{ protocols: ['TCP', 'UDP'], ports: ['443', '5671-5672'] }, 8],
  [{ protocols: ['Any'], ports: ['*'] }, 8],
  [{ protocols: ['TCP'], ports: ['80', '443'] }, 20],
  [{ protocols: ['ICMP'], ports: ['*'] }, 4],
]

const NET_FQDN_KINDS: ReadonlyArray<readonly [NetKind, number]> = [
  [{ protocols: ['TCP'], ports: ['9000'] }, 20],
  [{ protocols: ['TCP'], ports: ['22'] }, 10],
  [{ protocols: ['UDP'], ports: ['1194'] }, 15],
  [{ protocols: ['UDP'], ports: ['123'] }, 15],
  [{ protocols: ['TCP'], ports: ['5671', '5672'] }, 15],
  [{ protocols: ['TCP'], ports: ['443'] }, 15],
  [{ protocols: ['TCP'], ports: ['1024-65535'] }, 10],
]

/** Deterministic, distinct priorities in [lo, hi], in shuffled order. */
function priorities(r: Prng, count: number, lo: number, hi: number): number[] {
  const step = Math.max(1, Math.floor((hi - lo) / Math.max(1, count)))
  const out: number[] = []
  for (let i = 0; i < count; i++) out.push(lo + i * step)
  return r.shuffle(out)
}

/** Splits `total` items into chunks of `min`–`max` (the last may be smaller). */
function chunks(r: Prng, total: number, min: number, max: number): number[] {
  const out: number[] = []
  let left = total
  while (left > 0) {
    const n = Math.min(left, r.int(min, max))
    out.push(n)
    left -= n
  }
  return out
}

interface Builder {
  readonly name: string
  readonly priority: number
  readonly collections: RuleCollection[]
}

export const DEFAULT_SEED = 0x5eed

const FIRST_NET_ROLLS = [0.01, 0.65, 0.8, 0.3]

/**
 * A policy with `size` application rules (about 1.3 FQDN patterns each) and `size / 10`
 * network rules (at least 4).
 */
export function generatePolicy(size: number, seed = DEFAULT_SEED): GeneratedPolicy {
  const r = new Prng(seed ^ Math.imul(size, 0x9e3779b1))
  const used = new Set<string>()
  const wildcardBases: string[] = []
  const appPatterns: PatternInfo[] = []
  const netPatterns: Array<PatternInfo & { rule: NetRuleInfo }> = []
  const blocks: BlockInfo[] = []
  const tagRules: Array<{ tag: string; rule: NetRuleInfo }> = []

  const groupCount = 1 + Math.ceil(Math.log10(size + 1))
  const groups: Builder[] = priorities(r, groupCount, 100, 60000).map((priority, i) => ({ name: `rcg-${i + 1}`, priority, collections: [] }))
  const collectionPriorities = new Map<Builder, number[]>()
  const takePriority = (g: Builder): number => {
    let list = collectionPriorities.get(g)
    if (!list || list.length === 0) {
      list = priorities(r, 400, 100, 60000)
      collectionPriorities.set(g, list)
    }
    return list.pop()!
  }

  const sourcesOf = (): string[] => {
    const roll = r.float()
    if (roll < 0.65) return []
    if (roll < 0.8) return ['*']
    if (roll < 0.9) return ['10.240.0.0/16']
    return ['10.240.0.0/16', 'fd00:10:240::/64']
  }

  const newPattern = (): { kind: PatternKind; text: string; body: string } => {
    for (let attempt = 0; ; attempt++) {
      const roll = r.float()
      let kind: PatternKind
      let body: string
      if (roll < 0.6) {
        kind = 'exact'
        body = exactName(r, wildcardBases)
      } else if (roll < 0.95) {
        kind = 'subdomain'
        body = wildcardBase(r)
      } else {
        kind = 'suffix'
        body = r.chance(0.3) ? `${randomLabel(r)}.${r.pick(AZURE_BASES)}` : randomDomain(r)
      }
      const text = kind === 'exact' ? body : kind === 'subdomain' ? `*.${body}` : `*${body}`
      if (!used.has(text) || attempt > 20) {
        used.add(text)
        if (kind === 'subdomain') wildcardBases.push(body)
        return { kind, text, body }
      }
    }
  }

  // Application rules.
  const appCollections = chunks(r, size, 20, 400)
  let appRuleNo = 0
  for (const [ci, count] of appCollections.entries()) {
    const group = r.pick(groups)
    const allow = ci === 0 || !r.chance(0.05)
    const collectionName = `app-${allow ? 'allow' : 'deny'}-${ci + 1}`
    const rules: ApplicationRule[] = []
    for (let k = 0; k < count; k++) {
      const name = `app-${++appRuleNo}`
      const n = r.weighted<number>([[1, 80], [2, 12], [3, 5], [5, 3]])
      const sources = sourcesOf()
      const protocols = r.weighted(APP_PROTOCOLS)
      const info: AppRuleInfo = { path: `${group.name}/${collectionName}/${name}`, allow, sources: sources.filter((s) => s !== '*'), protocols }
      const targetFqdns: string[] = []
      for (let p = 0; p < n; p++) {
        const pat = newPattern()
        targetFqdns.push(pat.text)
        appPatterns.push({ ...pat, rule: info })
      }
      rules.push({ name, sourceAddresses: sources, sourceIpGroups: [], protocols, targetFqdns, fqdnTags: [] })
    }
    group.collections.push({ type: 'application', name: collectionName, priority: takePriority(group), action: allow ? 'Allow' : 'Deny', rules })
  }

  // Network rules: CIDRs (v4 and v6), IP groups, service tags, FQDNs.
  const netCount = Math.max(4, Math.round(size / 10))
  const ipGroups: Record<string, string[]> = { 'aks-nodes': ['10.240.0.0/16', '10.241.0.0/16'] }
  const netCollections = chunks(r, netCount, 10, 200)
  let netRuleNo = 0
  for (const [ci, count] of netCollections.entries()) {
    const group = r.pick(groups)
    const allow = ci === 0 || !r.chance(0.1)
    const collectionName = `net-${allow ? 'allow' : 'deny'}-${ci + 1}`
    const rules: NetworkRule[] = []
    for (let k = 0; k < count; k++) {
      const name = `net-${++netRuleNo}`
      const path = `${group.name}/${collectionName}/${name}`
      // The first four rules are one of each kind, so that even the smallest policy has them all.
      const roll = FIRST_NET_ROLLS[netRuleNo - 1] ?? r.float()
      const useGroup = r.chance(0.2)
      const sourceAddresses = useGroup ? [] : sourcesOf()
      const sourceIpGroups = useGroup ? ['aks-nodes'] : []
      const sources = useGroup ? ipGroups['aks-nodes']! : sourceAddresses.filter((s) => s !== '*')
      let destinationAddresses: string[] = []
      const destinationIpGroups: string[] = []
      let destinationFqdns: string[] = []
      let kind: NetKind
      if (roll < 0.6) {
        kind = r.weighted(NET_CIDR_KINDS)
        const info: NetRuleInfo = { path, allow, sources, ipProtocols: kind.protocols, ports: kind.ports }
        const n = r.weighted<number>([[1, 60], [2, 25], [4, 15]])
        const list: string[] = []
        for (let b = 0; b < n; b++) {
          const v: 4 | 6 = r.chance(0.2) ? 6 : 4
          const cidr = v === 4 ? ipv4Block(r) : ipv6Block(r)
          list.push(cidr)
          blocks.push({ cidr, v, rule: info })
        }
        if (r.chance(0.25)) {
          const g = `dst-${netRuleNo}`
          ipGroups[g] = list
          destinationIpGroups.push(g)
        } else {
          destinationAddresses = list
        }
      } else if (roll < 0.7) {
        kind = r.weighted(NET_CIDR_KINDS.filter(([k]) => !k.protocols.includes('ICMP')))
        const tag = r.pick(SERVICE_TAGS)
        destinationAddresses = [tag]
        tagRules.push({ tag, rule: { path, allow, sources, ipProtocols: kind.protocols, ports: kind.ports } })
      } else {
        kind = r.weighted(NET_FQDN_KINDS)
        const info: NetRuleInfo = { path, allow, sources, ipProtocols: kind.protocols, ports: kind.ports }
        const n = r.weighted<number>([[1, 75], [2, 25]])
        for (let p = 0; p < n; p++) {
          // A third reuse an application rule's name (same name, another port); the rest are new.
          const reuse = appPatterns.length > 0 && r.chance(0.3) ? r.pick(appPatterns) : undefined
          const pat = reuse && reuse.kind !== 'suffix' ? { kind: reuse.kind, text: reuse.text, body: reuse.body } : newPattern()
          destinationFqdns.push(pat.text)
          netPatterns.push({ ...pat, rule: info })
        }
        destinationFqdns = [...new Set(destinationFqdns)]
      }
      rules.push({ name, sourceAddresses, sourceIpGroups, ipProtocols: kind.protocols, destinationAddresses, destinationIpGroups, destinationFqdns, destinationPorts: kind.ports })
    }
    group.collections.push({ type: 'network', name: collectionName, priority: takePriority(group), action: allow ? 'Allow' : 'Deny', rules })
  }

  const ruleCollectionGroups: RuleCollectionGroup[] = groups
    .filter((g) => g.collections.length > 0)
    .map((g) => ({ name: g.name, priority: g.priority, ruleCollections: g.collections }))
  const policy: Policy = {
    apiVersion: 'aks-egress/v1',
    name: `bench-${size}`,
    settings: { mode: 'enforce', dnsPolicy: 'allow-all', unsafeAllowPrivateRanges: [] },
    ipGroups,
    ruleCollectionGroups,
  }
  return { policy, seed, appRules: size, netRules: netCount, appPatterns, netPatterns, blocks, tagRules, nodeSubnets: NODE_SUBNETS }
}
