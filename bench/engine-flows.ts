/**
 * @module The deterministic flow mix the engine is measured on: hits on exact names, hits on
 * subdomain wildcards at depth 1–4 and on suffix wildcards, misses, apexes of wildcards,
 * look-alikes, IP flows into the network rules' CIDRs (IPv4 and IPv6), FQDN network flows, HTTPS
 * without SNI, HTTP without Host, IP literals and service tags. Each flow says what it was aimed
 * at (the rule path), so validation can check that the aimed rule matches it.
 *
 * Flows are built with their properties always in the same order, as a data plane building
 * them in one place would; which optional properties are present varies with the kind.
 */
import { makeFlow as makeEngineFlow, type Flow, type FlowProtocol } from '../src/policy/flow.ts'
import type { ApplicationProtocol } from '../src/policy/policy-model.ts'
import { formatIpv6Groups, randomDomain, randomLabel, type AppRuleInfo, type GeneratedPolicy, type NetRuleInfo, type PatternInfo, type RuleInfo } from './engine-policy.ts'
import { Prng } from './prng.ts'

export const FLOW_KINDS = [
  'exact', 'exact-upper', 'wildcard-d1', 'wildcard-d2', 'wildcard-d3', 'wildcard-d4', 'suffix', 'apex', 'miss', 'lookalike',
  'ip-v4', 'ip-v6', 'ip-miss', 'icmp', 'net-fqdn', 'no-sni', 'no-host', 'ip-literal', 'tag',
] as const
export type FlowKind = (typeof FLOW_KINDS)[number]

/** Share of each kind in the mix, in percent. */
export const FLOW_WEIGHTS: Readonly<Record<FlowKind, number>> = {
  exact: 22, 'exact-upper': 2, 'wildcard-d1': 11, 'wildcard-d2': 7, 'wildcard-d3': 3, 'wildcard-d4': 2, suffix: 3, apex: 2,
  miss: 15, lookalike: 5, 'ip-v4': 9, 'ip-v6': 3, 'ip-miss': 3, icmp: 1, 'net-fqdn': 6, 'no-sni': 3, 'no-host': 1,
  'ip-literal': 1, tag: 1,
}

export const FLOW_DESCRIPTIONS: Readonly<Record<FlowKind, string>> = {
  exact: 'HTTP/HTTPS/MSSQL to a name an exact pattern names (SNI, or Host/CONNECT name)',
  'exact-upper': 'as `exact`, with upper case and a trailing dot (normalised on the hot path)',
  'wildcard-d1': 'one label under a `*.x.y` base',
  'wildcard-d2': 'two labels under a `*.x.y` base',
  'wildcard-d3': 'three labels under a `*.x.y` base',
  'wildcard-d4': 'four labels under a `*.x.y` base',
  suffix: 'a name a `*x.y` suffix pattern matches (apex, look-alike label, or deeper)',
  apex: 'the base of a `*.x.y` pattern itself (the wildcard must not match it)',
  miss: 'random names, Azure-like and not, that no pattern was aimed at',
  lookalike: '`name.evil.tld`, `evilname`, a name with a changed label',
  'ip-v4': 'TCP/UDP to an address inside an IPv4 block of a network rule, on its port',
  'ip-v6': 'as `ip-v4`, IPv6',
  'ip-miss': 'TCP to a random public IPv4 address',
  icmp: 'ICMP to an address in a block of an ICMP or Any rule',
  'net-fqdn': 'TCP/UDP to a name of an FQDN network rule, on its port',
  'no-sni': 'HTTPS without the SNI extension (denied unless a network rule allows the address)',
  'no-host': 'HTTP without a Host header',
  'ip-literal': 'HTTPS/HTTP whose name is an IPv4 literal (CONNECT 1.2.3.4:443)',
  tag: 'TCP with a service tag on the destination (explain/audit)',
}

export interface BenchFlow {
  readonly kind: FlowKind
  readonly flow: Flow
  /** The rule path the flow was aimed at; null for flows aimed at nothing. */
  readonly intended: string | null
}

interface FlowFields {
  protocol: FlowProtocol
  destinationPort: number
  host?: string
  sni?: string | null
  destinationIp?: string
  sourceIp?: string
  destinationTags?: readonly string[]
}

/**
 * A flat copy of a string, as the data plane gets it from bytes off the wire. Names built here by
 * concatenation are V8 rope strings, which are slower to read than what a real flow carries.
 */
function flat(s: string): string {
  return Buffer.from(s, 'latin1').toString('latin1')
}

/** Builds the flow as the data plane does (one shape: `makeFlow`), with flat strings. */
function makeFlow(f: FlowFields): Flow {
  return makeEngineFlow({
    protocol: f.protocol,
    destinationPort: f.destinationPort,
    host: f.host === undefined ? undefined : flat(f.host),
    sni: typeof f.sni === 'string' ? flat(f.sni) : f.sni,
    destinationIp: f.destinationIp === undefined ? undefined : flat(f.destinationIp),
    sourceIp: f.sourceIp === undefined ? undefined : flat(f.sourceIp),
    destinationTags: f.destinationTags,
  })
}

function v4Text(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`
}

/** Expands canonical IPv6 text (as the generator writes it) to 8 groups. */
function v6Groups(text: string): number[] {
  const [head = '', tail] = text.split('::')
  const a = head === '' ? [] : head.split(':').map((h) => parseInt(h, 16))
  const b = tail === undefined || tail === '' ? [] : tail.split(':').map((h) => parseInt(h, 16))
  const zeros = tail === undefined ? 0 : 8 - a.length - b.length
  return [...a, ...new Array<number>(zeros).fill(0), ...b]
}

/** A random address inside a block (`a.b.c.d/p`, `x::/p`, or a single address). */
export function addressIn(r: Prng, cidr: string): string {
  const slash = cidr.indexOf('/')
  const ip = slash === -1 ? cidr : cidr.slice(0, slash)
  if (!ip.includes(':')) {
    const prefix = slash === -1 ? 32 : Number(cidr.slice(slash + 1))
    const parts = ip.split('.').map(Number)
    const net = (((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0)
    const hostBits = 32 - prefix
    const host = hostBits === 0 ? 0 : hostBits === 32 ? r.uint32() : r.uint32() & ((1 << hostBits) - 1)
    return v4Text((net | host) >>> 0)
  }
  const prefix = slash === -1 ? 128 : Number(cidr.slice(slash + 1))
  const groups = v6Groups(ip)
  for (let g = 0; g < 8; g++) {
    const netBits = Math.max(0, Math.min(16, prefix - g * 16))
    const hostMask = netBits === 16 ? 0 : 0xffff >>> netBits
    groups[g] = (groups[g]! | (r.int(0, 0xffff) & hostMask)) & 0xffff
  }
  return formatIpv6Groups(groups)
}

function randomPublicV4(r: Prng): string {
  return v4Text(((r.int(20, 223) << 24) | r.int(0, 0xffffff)) >>> 0)
}

/** A source address the rule accepts; for a rule open to any source, a node address (or none, or an outsider). */
function sourceFor(r: Prng, rule: RuleInfo | undefined): string | undefined {
  if (rule && rule.sources.length > 0) return addressIn(r, r.pick(rule.sources))
  const roll = r.float()
  if (roll < 0.85) return addressIn(r, '10.240.0.0/16')
  if (roll < 0.9) return addressIn(r, '10.241.0.0/16')
  if (roll < 0.95) return addressIn(r, '192.168.7.0/24')
  return undefined
}

function portIn(r: Prng, spec: string): number {
  if (spec === '*') return r.int(1, 65535)
  const dash = spec.indexOf('-')
  return dash === -1 ? Number(spec) : r.int(Number(spec.slice(0, dash)), Number(spec.slice(dash + 1)))
}

function netProtocol(r: Prng, rule: NetRuleInfo): FlowProtocol {
  const p = r.pick(rule.ipProtocols)
  if (p === 'TCP') return 'tcp'
  if (p === 'UDP') return 'udp'
  if (p === 'ICMP') return 'icmp'
  return r.chance(0.7) ? 'tcp' : 'udp'
}

function netFlow(r: Prng, rule: NetRuleInfo, extra: { destinationIp?: string; host?: string }): Flow {
  const protocol = netProtocol(r, rule)
  const source = sourceFor(r, rule)
  return makeFlow({
    protocol,
    destinationPort: protocol === 'icmp' ? 0 : portIn(r, r.pick(rule.ports)),
    ...extra,
    ...(source === undefined ? {} : { sourceIp: source }),
  })
}

/** An application flow to `name` by one of the rule's protocols (or HTTPS 443 for no rule). */
function appFlow(r: Prng, name: string, rule: AppRuleInfo | undefined): Flow {
  const proto: ApplicationProtocol = rule ? r.pick(rule.protocols) : r.weighted<ApplicationProtocol>([[{ type: 'Https', port: 443 }, 85], [{ type: 'Http', port: 80 }, 15]])
  const source = sourceFor(r, rule)
  const common = {
    destinationPort: proto.port,
    ...(r.chance(0.5) ? { destinationIp: randomPublicV4(r) } : {}),
    ...(source === undefined ? {} : { sourceIp: source }),
  }
  if (proto.type === 'Http') return makeFlow({ protocol: 'http', host: name, ...common })
  const protocol = proto.type === 'Https' ? 'https' : 'mssql'
  // Transparent mode reads the SNI; the explicit proxy knows the CONNECT name.
  return makeFlow(r.chance(0.7) ? { protocol, sni: name, ...common } : { protocol, host: name, ...common })
}

function labels(r: Prng, n: number): string {
  const out: string[] = []
  for (let i = 0; i < n; i++) out.push(randomLabel(r))
  return out.join('.')
}

function upperSome(r: Prng, name: string): string {
  let s = ''
  for (const c of name) s += r.chance(0.3) ? c.toUpperCase() : c
  return `${s}.`
}

function lookalike(r: Prng, name: string): string {
  const roll = r.float()
  if (roll < 0.35) return `${name}.${randomDomain(r)}`
  if (roll < 0.7) return `${randomLabel(r)}${name}`
  const parts = name.split('.')
  const i = Math.max(0, parts.length - 2)
  const label = parts[i]!
  parts[i] = `${label.slice(0, -1)}${label.endsWith('x') ? 'y' : 'x'}`
  return parts.join('.')
}

function patternsOf(list: readonly PatternInfo[], kind: PatternInfo['kind']): PatternInfo[] {
  return list.filter((p) => p.kind === kind)
}

/** `count` flows, shuffled, drawn by `FLOW_WEIGHTS` from what the policy contains. */
export function generateFlows(gen: GeneratedPolicy, count: number, seed = gen.seed): BenchFlow[] {
  const r = new Prng(seed ^ 0xf10f ^ Math.imul(gen.appRules, 0x85ebca6b))
  const exact = patternsOf(gen.appPatterns, 'exact')
  const subdomain = patternsOf(gen.appPatterns, 'subdomain')
  const suffix = patternsOf(gen.appPatterns, 'suffix')
  const v4 = gen.blocks.filter((b) => b.v === 4)
  const v6 = gen.blocks.filter((b) => b.v === 6)
  const icmp = gen.blocks.filter((b) => b.rule.ipProtocols.includes('ICMP') || b.rule.ipProtocols.includes('Any'))
  const tcp443 = gen.blocks.filter((b) => b.rule.ports.includes('443') && b.rule.ipProtocols.includes('TCP'))
  const table = Object.entries(FLOW_WEIGHTS) as Array<[FlowKind, number]>
  const out: BenchFlow[] = []
  const app = (p: PatternInfo): AppRuleInfo => p.rule as AppRuleInfo

  while (out.length < count) {
    const kind = r.weighted(table)
    let flow: Flow | undefined
    let intended: string | null = null
    switch (kind) {
      case 'exact':
      case 'exact-upper': {
        if (exact.length === 0) break
        const p = r.pick(exact)
        flow = appFlow(r, kind === 'exact' ? p.body : upperSome(r, p.body), app(p))
        intended = p.rule.path
        break
      }
      case 'wildcard-d1':
      case 'wildcard-d2':
      case 'wildcard-d3':
      case 'wildcard-d4': {
        if (subdomain.length === 0) break
        const p = r.pick(subdomain)
        const name = `${labels(r, Number(kind.slice(-1)))}.${p.body}`
        if (name.length > 253) break
        flow = appFlow(r, name, app(p))
        intended = p.rule.path
        break
      }
      case 'suffix': {
        if (suffix.length === 0) break
        const p = r.pick(suffix)
        const roll = r.float()
        const name = roll < 0.3 ? p.body : roll < 0.7 ? `${randomLabel(r)}${p.body}` : `${randomLabel(r)}.${randomLabel(r)}${p.body}`
        flow = appFlow(r, name, app(p))
        intended = p.rule.path
        break
      }
      case 'apex': {
        if (subdomain.length === 0) break
        const p = r.pick(subdomain)
        flow = appFlow(r, p.body, app(p))
        break
      }
      case 'miss': {
        const name = r.chance(0.3) ? `${randomLabel(r)}.${r.pick(['blob.core.windows.net', 'azurecr.io', 'vault.azure.net', 'microsoft.com'])}` : `${labels(r, r.int(0, 2))}${r.chance(0.5) ? '.' : ''}${randomDomain(r)}`.replace(/^\./, '')
        flow = appFlow(r, name, undefined)
        break
      }
      case 'lookalike': {
        if (exact.length === 0) break
        const p = r.pick(exact)
        const name = lookalike(r, p.body)
        if (name.length > 253) break
        flow = appFlow(r, name, app(p))
        break
      }
      case 'ip-v4':
      case 'ip-v6': {
        const list = kind === 'ip-v4' ? v4 : v6
        if (list.length === 0) break
        const b = r.pick(list)
        flow = netFlow(r, b.rule, { destinationIp: addressIn(r, b.cidr) })
        intended = b.rule.path
        break
      }
      case 'ip-miss': {
        const source = sourceFor(r, undefined)
        flow = makeFlow({ protocol: 'tcp', destinationPort: r.pick([443, 22, 8080]), destinationIp: randomPublicV4(r), ...(source === undefined ? {} : { sourceIp: source }) })
        break
      }
      case 'icmp': {
        if (icmp.length === 0) break
        const b = r.pick(icmp)
        const source = sourceFor(r, b.rule)
        flow = makeFlow({ protocol: 'icmp', destinationPort: 0, destinationIp: addressIn(r, b.cidr), ...(source === undefined ? {} : { sourceIp: source }) })
        intended = b.rule.path
        break
      }
      case 'net-fqdn': {
        if (gen.netPatterns.length === 0) break
        const p = r.pick(gen.netPatterns)
        const name = p.kind === 'exact' ? p.body : p.kind === 'subdomain' ? `${labels(r, r.int(1, 2))}.${p.body}` : `${randomLabel(r)}${p.body}`
        if (name.length > 253) break
        flow = netFlow(r, p.rule, { host: name, destinationIp: randomPublicV4(r) })
        if (flow.protocol === 'icmp') break
        intended = p.rule.path
        break
      }
      case 'no-sni': {
        const b = tcp443.length > 0 && r.chance(0.3) ? r.pick(tcp443) : undefined
        const source = sourceFor(r, b?.rule)
        flow = makeFlow({ protocol: 'https', destinationPort: 443, sni: null, destinationIp: b ? addressIn(r, b.cidr) : randomPublicV4(r), ...(source === undefined ? {} : { sourceIp: source }) })
        break
      }
      case 'no-host': {
        const source = sourceFor(r, undefined)
        flow = makeFlow({ protocol: 'http', destinationPort: 80, destinationIp: randomPublicV4(r), ...(source === undefined ? {} : { sourceIp: source }) })
        break
      }
      case 'ip-literal': {
        const ip = randomPublicV4(r)
        const source = sourceFor(r, undefined)
        const protocol = r.chance(0.8) ? 'https' : 'http'
        flow = makeFlow({ protocol, destinationPort: protocol === 'https' ? 443 : 80, host: ip, destinationIp: ip, ...(source === undefined ? {} : { sourceIp: source }) })
        break
      }
      case 'tag': {
        if (gen.tagRules.length === 0) break
        const t = r.pick(gen.tagRules)
        flow = netFlow(r, t.rule, { destinationIp: randomPublicV4(r) })
        flow = { ...flow, destinationTags: [t.tag] }
        intended = t.rule.path
        break
      }
    }
    if (flow) out.push({ kind, flow, intended })
  }
  return r.shuffle(out)
}

/**
 * The same flows in a skewed order: `count` draws by a Zipf law (exponent `s`) over the flows'
 * positions, as real traffic goes to a few names most of the time. With s = 1 over 65,536 flows,
 * the most frequent 1% of the flows make about 60% of the draws.
 */
export function zipfDraws<T>(list: readonly T[], count: number, seed: number, s = 1): T[] {
  const r = new Prng(seed ^ 0x21bf)
  const cumulative = new Float64Array(list.length)
  let total = 0
  for (let k = 0; k < list.length; k++) {
    total += 1 / (k + 1) ** s
    cumulative[k] = total
  }
  const out: T[] = []
  for (let i = 0; i < count; i++) {
    const x = r.float() * total
    let lo = 0
    let hi = list.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (cumulative[mid]! < x) lo = mid + 1
      else hi = mid
    }
    out.push(list[lo]!)
  }
  return out
}

/**
 * Copies of `flows`, each with strings of its own, allocated in list order, so that the flow
 * decided next lies in memory after the one decided last, as in a data plane that builds each flow
 * from the bytes it has just read and decides it at once. The generator shuffles its flows, which
 * scatters 65,536 of them (about 20 MB with their strings) over the heap; a timed loop over those
 * would count a cache and TLB miss or more per flow read, which no data plane pays. The timed
 * loops run over these copies; the scattered originals are timed once more for comparison.
 */
export function inDecisionOrder(flows: readonly Flow[]): Flow[] {
  return flows.map((f) =>
    makeFlow({
      protocol: f.protocol,
      destinationPort: f.destinationPort,
      ...(f.host === undefined ? {} : { host: f.host }),
      ...(f.sni === undefined ? {} : { sni: f.sni }),
      ...(f.destinationIp === undefined ? {} : { destinationIp: f.destinationIp }),
      ...(f.sourceIp === undefined ? {} : { sourceIp: f.sourceIp }),
      ...(f.destinationTags === undefined ? {} : { destinationTags: [...f.destinationTags] }),
    }),
  )
}
