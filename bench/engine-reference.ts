/**
 * @module A naive evaluator of a policy, written from the rules of DESIGN.md §2 and
 * src/policy/flow.ts and sharing no code with the engine: every rule in processing order,
 * every pattern compared with string operations, every block by `bigint` arithmetic. It is slow
 * (linear in the rules) and exists only so that the benchmark cannot measure a broken engine.
 *
 * Scope: what the benchmark policies contain (no DNAT, no FQDN tags); anything else throws.
 */
import type { Flow } from '../src/policy/flow.ts'
import type { ApplicationProtocol, NetworkProtocol, Policy, RuleCollection } from '../src/policy/policy-model.ts'

export interface ReferenceDecision {
  readonly action: 'allow' | 'deny'
  readonly code: string
  readonly rulePath: string | null
}

type Ip = { readonly v: 4 | 6; readonly n: bigint }
interface Block {
  readonly v: 4 | 6
  readonly net: bigint
  readonly mask: bigint
}
type Pattern = { readonly kind: 'any' } | { readonly kind: 'exact'; readonly name: string } | { readonly kind: 'subdomain'; readonly dotBase: string } | { readonly kind: 'suffix'; readonly suffix: string }

interface Sources {
  readonly any: boolean
  readonly blocks: readonly Block[]
}

interface RefNetRule {
  readonly path: string
  readonly allow: boolean
  readonly protocols: readonly NetworkProtocol[]
  readonly ports: ReadonlyArray<readonly [number, number]>
  readonly sources: Sources
  readonly anyDestination: boolean
  readonly blocks: readonly Block[]
  readonly tags: readonly string[]
  readonly patterns: readonly Pattern[]
}

interface RefAppRule {
  readonly path: string
  readonly allow: boolean
  readonly protocols: readonly ApplicationProtocol[]
  readonly sources: Sources
  readonly patterns: readonly Pattern[]
}

/** IPv4 dotted quad or IPv6 (with `::`), to a bigint; undefined when not an address. */
export function parseAddress(text: string): Ip | undefined {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(text)) {
    const parts = text.split('.').map(Number)
    if (parts.some((p) => p > 255) || text.split('.').some((p) => p.length > 1 && p.startsWith('0'))) return undefined
    return { v: 4, n: parts.reduce((acc, p) => acc * 256n + BigInt(p), 0n) }
  }
  const s = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text
  if (!/^[0-9a-fA-F:]+$/.test(s) || s.split('::').length > 2) return undefined
  const [head = '', tail] = s.split('::')
  const a = head === '' ? [] : head.split(':')
  const b = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = tail === undefined ? a : [...a, ...new Array<string>(8 - a.length - b.length).fill('0'), ...b]
  if (groups.length !== 8 || groups.some((g) => g.length === 0 || g.length > 4)) return undefined
  const n = groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n)
  return { v: 6, n }
}

function parseBlock(text: string): Block | undefined {
  const slash = text.indexOf('/')
  const ip = parseAddress(slash === -1 ? text : text.slice(0, slash))
  if (!ip) return undefined
  const bits = ip.v === 4 ? 32 : 128
  const prefix = slash === -1 ? bits : Number(text.slice(slash + 1))
  const all = (1n << BigInt(bits)) - 1n
  const mask = (all << BigInt(bits - prefix)) & all
  return { v: ip.v, net: ip.n & mask, mask }
}

function inBlock(b: Block, ip: Ip): boolean {
  return b.v === ip.v && (ip.n & b.mask) === b.net
}

function parsePattern(text: string): Pattern {
  if (text === '*') return { kind: 'any' }
  if (text.startsWith('*.')) return { kind: 'subdomain', dotBase: text.slice(1) }
  if (text.startsWith('*')) return { kind: 'suffix', suffix: text.slice(1) }
  return { kind: 'exact', name: text }
}

function patternMatches(p: Pattern, name: string): boolean {
  switch (p.kind) {
    case 'any':
      return true
    case 'exact':
      return name === p.name
    case 'subdomain':
      return name.length > p.dotBase.length && name.endsWith(p.dotBase)
    case 'suffix':
      return name.endsWith(p.suffix)
  }
}

/** RFC 1035/1123 host name (with `_`), lower-cased, one trailing dot removed; undefined when invalid. */
export function normalHost(raw: string): string | undefined {
  const name = (raw.endsWith('.') ? raw.slice(0, -1) : raw).toLowerCase()
  if (name.length === 0 || name.length > 253) return undefined
  const labels = name.split('.')
  for (const l of labels) {
    if (l.length === 0 || l.length > 63 || !/^[a-z0-9_-]+$/.test(l) || l.startsWith('-') || l.endsWith('-')) return undefined
  }
  if (labels.length === 4 && labels.every((l) => /^[0-9]+$/.test(l))) return undefined
  return name
}

function sourcesOf(policy: Policy, addresses: readonly string[], groups: readonly string[]): Sources {
  const texts = [...addresses, ...groups.flatMap((g) => policy.ipGroups[g] ?? [])]
  if (texts.length === 0 || texts.includes('*')) return { any: true, blocks: [] }
  return { any: false, blocks: texts.map((t) => parseBlock(t) ?? fail(`source "${t}"`)) }
}

function fail(what: string): never {
  throw new Error(`reference evaluator: unsupported ${what}`)
}

function ordered(policy: Policy, type: RuleCollection['type']): Array<{ group: string; collection: RuleCollection }> {
  const out: Array<{ group: string; collection: RuleCollection }> = []
  const groups = policy.ruleCollectionGroups.map((g, i) => ({ g, i })).sort((a, b) => a.g.priority - b.g.priority || a.i - b.i)
  for (const { g } of groups) {
    const cols = g.ruleCollections.map((c, i) => ({ c, i })).sort((a, b) => a.c.priority - b.c.priority || a.i - b.i)
    for (const { c } of cols) if (c.type === type) out.push({ group: g.name, collection: c })
  }
  return out
}

export class ReferenceEvaluator {
  readonly #net: RefNetRule[] = []
  readonly #app: RefAppRule[] = []
  readonly #byPath = new Map<string, RefNetRule | RefAppRule>()

  constructor(policy: Policy) {
    if (ordered(policy, 'dnat').length > 0) fail('DNAT collections')
    for (const { group, collection } of ordered(policy, 'network')) {
      if (collection.type !== 'network') continue
      for (const rule of collection.rules) {
        const dest = [...rule.destinationAddresses, ...rule.destinationIpGroups.flatMap((g) => policy.ipGroups[g] ?? fail(`IP group ${g}`))]
        const blocks: Block[] = []
        const tags: string[] = []
        for (const d of dest) {
          if (d === '*') continue
          const b = parseBlock(d)
          if (b) blocks.push(b)
          else tags.push(d.toLowerCase())
        }
        const r: RefNetRule = {
          path: `${group}/${collection.name}/${rule.name}`,
          allow: collection.action === 'Allow',
          protocols: rule.ipProtocols,
          ports: rule.destinationPorts.map((p): [number, number] => {
            if (p === '*') return [1, 65535]
            const [a = '', b = a] = p.split('-')
            return [Number(a), Number(b)]
          }),
          sources: sourcesOf(policy, rule.sourceAddresses, rule.sourceIpGroups),
          anyDestination: dest.includes('*'),
          blocks,
          tags,
          patterns: rule.destinationFqdns.map(parsePattern),
        }
        this.#net.push(r)
        this.#byPath.set(r.path, r)
      }
    }
    for (const { group, collection } of ordered(policy, 'application')) {
      if (collection.type !== 'application') continue
      for (const rule of collection.rules) {
        if (rule.fqdnTags.length > 0) fail('FQDN tags')
        const r: RefAppRule = {
          path: `${group}/${collection.name}/${rule.name}`,
          allow: collection.action === 'Allow',
          protocols: rule.protocols,
          sources: sourcesOf(policy, rule.sourceAddresses, rule.sourceIpGroups),
          patterns: rule.targetFqdns.map(parsePattern),
        }
        this.#app.push(r)
        this.#byPath.set(r.path, r)
      }
    }
  }

  get ruleCount(): number {
    return this.#net.length + this.#app.length
  }

  decide(flow: Flow): ReferenceDecision {
    const ctx = context(flow)
    for (const r of this.#net) {
      if (netRuleMatches(r, flow, ctx)) return { action: r.allow ? 'allow' : 'deny', code: r.allow ? 'NETWORK_RULE_ALLOW' : 'NETWORK_RULE_DENY', rulePath: r.path }
    }
    const p = flow.protocol
    if (p !== 'http' && p !== 'https' && p !== 'mssql') return DENY
    // HTTP by Host; HTTPS and MSSQL by SNI, or by the CONNECT name when no SNI was read.
    const raw = p === 'http' || flow.sni === undefined ? flow.host : flow.sni
    if (raw === undefined || raw === null) return p === 'http' ? { action: 'deny', code: 'HOST_MISSING', rulePath: null } : { action: 'deny', code: 'SNI_MISSING', rulePath: null }
    const name = normalHost(raw)
    const isIp = name === undefined && parseAddress(raw) !== undefined
    if (name === undefined && !isIp) return { action: 'deny', code: 'INVALID_HOST', rulePath: null }
    for (const r of this.#app) {
      if (appRuleMatches(r, flow, ctx, name)) return { action: r.allow ? 'allow' : 'deny', code: r.allow ? 'APPLICATION_RULE_ALLOW' : 'APPLICATION_RULE_DENY', rulePath: r.path }
    }
    return DENY
  }

  /** Whether the rule at `path` matches the flow on its own (ignoring rules before it). */
  ruleMatches(path: string, flow: Flow): boolean {
    const r = this.#byPath.get(path)
    if (!r) return false
    const ctx = context(flow)
    if ('anyDestination' in r) return netRuleMatches(r, flow, ctx)
    const p = flow.protocol
    const raw = p === 'http' || flow.sni === undefined ? flow.host : flow.sni
    return raw !== undefined && raw !== null && appRuleMatches(r, flow, ctx, normalHost(raw))
  }
}

const DENY: ReferenceDecision = { action: 'deny', code: 'DEFAULT_DENY', rulePath: null }

interface FlowContext {
  /** undefined: no source given; null: given but not an address. */
  readonly source: Ip | null | undefined
  readonly destination: Ip | undefined
  /** The name network rules compare: the Host/CONNECT name, else the SNI; undefined if none or invalid. */
  readonly netName: string | undefined
}

function context(flow: Flow): FlowContext {
  const raw = flow.host ?? flow.sni ?? undefined
  return {
    source: flow.sourceIp === undefined ? undefined : (parseAddress(flow.sourceIp) ?? null),
    destination: flow.destinationIp === undefined ? undefined : parseAddress(flow.destinationIp),
    netName: raw === undefined ? undefined : normalHost(raw),
  }
}

function sourceOk(s: Sources, source: Ip | null | undefined): boolean {
  if (s.any || source === undefined) return true
  if (source === null) return false
  return s.blocks.some((b) => inBlock(b, source))
}

function netRuleMatches(r: RefNetRule, flow: Flow, ctx: FlowContext): boolean {
  const proto = flow.protocol === 'udp' ? 'UDP' : flow.protocol === 'icmp' ? 'ICMP' : 'TCP'
  if (!r.protocols.includes(proto) && !r.protocols.includes('Any')) return false
  if (proto !== 'ICMP' && !r.ports.some(([a, b]) => flow.destinationPort >= a && flow.destinationPort <= b)) return false
  if (!sourceOk(r.sources, ctx.source)) return false
  if (r.anyDestination) return true
  const dst = ctx.destination
  if (dst && r.blocks.some((b) => inBlock(b, dst))) return true
  if (flow.destinationTags?.some((t) => r.tags.includes(t.toLowerCase()))) return true
  const name = ctx.netName
  return name !== undefined && r.patterns.some((p) => patternMatches(p, name))
}

function appRuleMatches(r: RefAppRule, flow: Flow, ctx: FlowContext, name: string | undefined): boolean {
  const type = flow.protocol === 'http' ? 'Http' : flow.protocol === 'https' ? 'Https' : 'Mssql'
  if (!r.protocols.some((p) => p.type === type && p.port === flow.destinationPort)) return false
  if (!sourceOk(r.sources, ctx.source)) return false
  // An IP literal is matched by `*` only.
  return name === undefined ? r.patterns.some((p) => p.kind === 'any') : r.patterns.some((p) => patternMatches(p, name))
}
