/**
 * @module The engine: a policy compiled once into indexes, and `decide(flow)` (DESIGN.md §2).
 *
 * Processing, as Azure Firewall does it (azure-facts §2.1–2.3):
 * 1. DNAT rules (a match translates and allows);
 * 2. network rules, whatever the group priorities (a match ends processing, so an allowing
 *    network rule wins over a denying application rule);
 * 3. application rules, only for HTTP (by Host), HTTPS and MSSQL (by SNI; none ⇒ denied with
 *    "SNI TLS extension was missing");
 * 4. default deny.
 * Within a phase the first rule in processing order that matches decides.
 *
 * Indexes: destinations go into a reversed-label FQDN trie, a CIDR table and a service-tag map;
 * each index entry is the list of ordinals (processing positions) of the rules naming it, sorted.
 * `decide` collects the candidate lists for the flow, then scans each list in order and keeps the
 * smallest ordinal whose rule also matches protocol, port and source: the first match.
 */
import { parseAddressBlock, type Cidr } from './cidr.ts'
import { CidrTable } from './cidr-table.ts'
import type { Decision } from './decision.ts'
import { DEFAULT_DENY, HOST_MISSING, INVALID_HOST, SNI_MISSING, ruleDecision, type DecisionPair } from './decisions.ts'
import type { Flow } from './flow.ts'
import { canonicalHost } from './fqdn.ts'
import { parseFqdnPattern, type FqdnPattern } from './fqdn-pattern.ts'
import { FqdnTrie } from './fqdn-trie.ts'
import { parseIp, parseIpCompact } from './ip-address.ts'
import type { ApplicationProtocol, NetworkProtocol, Policy, RuleRef } from './policy-model.ts'
import { parsePortSpec, portInRanges, type PortRange } from './port-range.ts'
import { collectionsInOrder } from './processing-order.ts'

export class PolicyCompileError extends Error {
  readonly code = 'ERR_POLICY_COMPILE'
  constructor(message: string) {
    super(message)
    this.name = 'PolicyCompileError'
  }
}

export interface CompileOptions {
  /** FQDN tags and the patterns they stand for (`AzureKubernetesService` → the catalog's names). */
  readonly fqdnTags?: Readonly<Record<string, readonly string[]>>
}

export interface EngineStats {
  readonly dnatRules: number
  readonly networkRules: number
  readonly applicationRules: number
  /** Patterns and blocks held by the indexes (a rule with three names counts three). */
  readonly fqdnPatterns: number
  readonly cidrBlocks: number
  readonly serviceTags: number
}

const P_TCP = 1
const P_UDP = 2
const P_ICMP = 4
const P_ALL = 7

/** A set of source addresses; `any` when the rule names `*`. */
interface SourceMatcher {
  readonly any: boolean
  readonly table: CidrTable<true>
}

interface NetRule {
  readonly ref: RuleRef
  readonly allow: boolean
  /** In the engine's mode, built on the first match (most rules of a large policy never match). */
  decision: Decision | undefined
  readonly protocols: number
  /** null: every port. */
  readonly ports: readonly PortRange[] | null
  readonly source: SourceMatcher
}

interface AppRule {
  readonly ref: RuleRef
  readonly allow: boolean
  /** In the engine's mode, built on the first match (most rules of a large policy never match). */
  decision: Decision | undefined
  /**
   * The rule's protocols as numbers `type << 16 | port` (Http 1, Https 2, Mssql 3): the first two
   * inline, the rest in `moreProtocols`, so that checking a candidate reads one object.
   */
  readonly protocol0: number
  readonly protocol1: number
  readonly moreProtocols: readonly number[] | undefined
  readonly source: SourceMatcher
}

interface NatRuleC {
  readonly ref: RuleRef
  readonly allow: boolean
  /** In the engine's mode, built on the first match (most rules of a large policy never match). */
  decision: Decision | undefined
  readonly protocols: number
  /** int32 IPv4 or bigint IPv6 (parseIpCompact). */
  readonly destination: number | bigint
  readonly port: number
  readonly source: SourceMatcher
}

function protocolBits(list: readonly NetworkProtocol[]): number {
  let bits = 0
  for (const p of list) bits |= p === 'TCP' ? P_TCP : p === 'UDP' ? P_UDP : p === 'ICMP' ? P_ICMP : P_ALL
  return bits
}

function flowProtocolBit(protocol: Flow['protocol']): number {
  switch (protocol) {
    case 'udp':
      return P_UDP
    case 'icmp':
      return P_ICMP
    default:
      return P_TCP
  }
}

function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new PolicyCompileError(what)
  return value
}

function blocksOf(policy: Policy, addresses: readonly string[], groups: readonly string[], where: string): { any: boolean; cidrs: Cidr[]; tags: string[] } {
  const cidrs: Cidr[] = []
  const tags: string[] = []
  let any = false
  const add = (text: string): void => {
    const parsed = parseAddressBlock(text)
    if (!parsed.ok) {
      tags.push(text.toLowerCase())
      return
    }
    if (parsed.any) any = true
    else cidrs.push(...parsed.cidrs)
  }
  for (const a of addresses) add(a)
  for (const g of groups) {
    const members = must(policy.ipGroups[g], `${where}: unknown IP group "${g}"`)
    for (const m of members) add(m)
  }
  return { any, cidrs, tags }
}

/** The matcher of every rule open to any source: one shared (most rules are), not a table each. */
const ANY_SOURCE: SourceMatcher = Object.freeze({ any: true, table: new CidrTable<true>() })

function sourceMatcher(policy: Policy, addresses: readonly string[], groups: readonly string[], where: string): SourceMatcher {
  const { any, cidrs, tags } = blocksOf(policy, addresses, groups, where)
  if (tags.length > 0) throw new PolicyCompileError(`${where}: "${tags[0] ?? ''}" is not an address block`)
  if (any || (addresses.length === 0 && groups.length === 0)) return ANY_SOURCE
  const table = new CidrTable<true>()
  for (const c of cidrs) table.add(c, true)
  return { any: false, table }
}

function pattern(text: string, where: string): FqdnPattern {
  const parsed = parseFqdnPattern(text)
  if (!parsed.ok) throw new PolicyCompileError(`${where}: "${text}": ${parsed.detail}`)
  return parsed.pattern
}

/** Scratch space for candidate lists: decide() is synchronous, so one buffer serves every call. */
const scratch: number[][] = []

export class Engine {
  readonly policy: Policy
  readonly stats: EngineStats
  readonly #report: boolean
  readonly #defaultDeny: Decision
  readonly #sniMissing: Decision
  readonly #hostMissing: Decision
  readonly #invalidHost: Decision
  readonly #nat: NatRuleC[] = []
  readonly #net: NetRule[] = []
  readonly #netNames = new FqdnTrie<number>()
  readonly #netCidrs = new CidrTable<number>()
  readonly #netTags = new Map<string, number[]>()
  readonly #netAny: number[] = []
  readonly #app: AppRule[] = []
  readonly #appNames = new FqdnTrie<number>()

  constructor(policy: Policy, options: CompileOptions = {}) {
    this.policy = policy
    this.#report = policy.settings.mode === 'report'
    this.#defaultDeny = this.#pick(DEFAULT_DENY)
    this.#sniMissing = this.#pick(SNI_MISSING)
    this.#hostMissing = this.#pick(HOST_MISSING)
    this.#invalidHost = this.#pick(INVALID_HOST)
    this.#compileNat()
    this.#compileNetwork()
    this.#compileApplication(options.fqdnTags ?? {})
    this.stats = Object.freeze({
      dnatRules: this.#nat.length,
      networkRules: this.#net.length,
      applicationRules: this.#app.length,
      fqdnPatterns: this.#netNames.size + this.#appNames.size,
      cidrBlocks: this.#netCidrs.size,
      serviceTags: this.#netTags.size,
    })
  }

  #compileNat(): void {
    for (const { group, collection } of collectionsInOrder(this.policy, 'dnat')) {
      for (const rule of collection.rules) {
        const ref: RuleRef = { group: group.name, collection: collection.name, rule: rule.name, type: 'dnat' }
        const where = `${group.name}/${collection.name}/${rule.name}`
        const destination = must(parseIpCompact(rule.destinationAddress), `${where}: destinationAddress "${rule.destinationAddress}" is not an IP address`)
        this.#nat.push({
          ref,
          allow: true,
          decision: this.#pick(ruleDecision(ref, true, {
            ...(rule.translatedAddress === undefined ? {} : { address: rule.translatedAddress }),
            ...(rule.translatedFqdn === undefined ? {} : { fqdn: rule.translatedFqdn }),
            port: rule.translatedPort,
          })),
          protocols: protocolBits(rule.ipProtocols),
          destination,
          port: rule.destinationPort,
          source: sourceMatcher(this.policy, rule.sourceAddresses, rule.sourceIpGroups, where),
        })
      }
    }
  }

  #compileNetwork(): void {
    for (const { group, collection } of collectionsInOrder(this.policy, 'network')) {
      for (const rule of collection.rules) {
        const ref: RuleRef = { group: group.name, collection: collection.name, rule: rule.name, type: 'network' }
        const where = `${group.name}/${collection.name}/${rule.name}`
        const ordinal = this.#net.length
        let ports: PortRange[] | null = []
        for (const spec of rule.destinationPorts) {
          const parsed = parsePortSpec(spec)
          if (!parsed.ok) throw new PolicyCompileError(`${where}: ${parsed.detail}`)
          if (parsed.range.from === 1 && parsed.range.to === 65535) ports = null
          if (ports) ports.push(parsed.range)
        }
        this.#net.push({
          ref,
          allow: collection.action === 'Allow',
          decision: undefined,
          protocols: protocolBits(rule.ipProtocols),
          ports,
          source: sourceMatcher(this.policy, rule.sourceAddresses, rule.sourceIpGroups, where),
        })
        const dest = blocksOf(this.policy, rule.destinationAddresses, rule.destinationIpGroups, where)
        if (dest.any) this.#netAny.push(ordinal)
        for (const c of dest.cidrs) this.#netCidrs.add(c, ordinal)
        for (const tag of dest.tags) {
          const list = this.#netTags.get(tag)
          if (list) list.push(ordinal)
          else this.#netTags.set(tag, [ordinal])
        }
        for (const f of rule.destinationFqdns) this.#netNames.insert(pattern(f, where), ordinal)
      }
    }
  }

  #compileApplication(tags: Readonly<Record<string, readonly string[]>>): void {
    for (const { group, collection } of collectionsInOrder(this.policy, 'application')) {
      for (const rule of collection.rules) {
        const ref: RuleRef = { group: group.name, collection: collection.name, rule: rule.name, type: 'application' }
        const where = `${group.name}/${collection.name}/${rule.name}`
        const ordinal = this.#app.length
        this.#app.push({
          ref,
          allow: collection.action === 'Allow',
          decision: undefined,
          ...packProtocols(rule.protocols),
          source: sourceMatcher(this.policy, rule.sourceAddresses, rule.sourceIpGroups, where),
        })
        for (const f of rule.targetFqdns) this.#appNames.insert(pattern(f, where), ordinal)
        for (const tag of rule.fqdnTags) {
          const names = must(tags[tag], `${where}: unknown FQDN tag "${tag}"`)
          for (const f of names) this.#appNames.insert(pattern(f, `${where} (FQDN tag ${tag})`), ordinal)
        }
      }
    }
  }

  /** Decides a flow. Pure: the same policy and flow always give the same decision. */
  decide(flow: Flow): Decision {
    return this.#decide(flow)
  }

  /** A decision pair in the engine's mode. */
  #pick(pair: DecisionPair): Decision {
    return this.#report ? pair.report : pair.enforce
  }

  /** A rule's decision, built once on its first match. */
  #decisionOf(r: { readonly ref: RuleRef; readonly allow: boolean; decision: Decision | undefined }): Decision {
    return (r.decision ??= this.#pick(ruleDecision(r.ref, r.allow)))
  }

  #decide(flow: Flow): Decision {
    // Each property of the flow is read once: flows built in different places have different
    // shapes, and a property load that sees many shapes is slow.
    const { protocol, destinationPort: port, host, sni, sourceIp, destinationIp, destinationTags } = flow
    // Addresses as int32 (IPv4) or bigint (IPv6): no object per decision.
    const source = sourceIp === undefined ? undefined : (parseIpCompact(sourceIp) ?? null)
    const destination = destinationIp === undefined ? undefined : parseIpCompact(destinationIp)
    const bit = flowProtocolBit(protocol)

    // 1. DNAT
    if (destination !== undefined && this.#nat.length > 0) {
      for (const r of this.#nat) {
        if ((r.protocols & bit) === 0 || r.port !== port) continue
        if (r.destination !== destination) continue
        if (!sourceMatches(r.source, source)) continue
        return this.#decisionOf(r)
      }
    }

    // 2. Network rules: by address, by service tag, and by name (the CONNECT or Host name, else
    // the SNI) for FQDN destinations.
    const isHttp = protocol === 'http'
    const isApp = isHttp || protocol === 'https' || protocol === 'mssql'
    const netRaw = host ?? sni ?? undefined
    const netName = netRaw === undefined ? undefined : canonicalHost(netRaw)
    // Every phase empties `scratch` before it returns; the checks below only guard against a
    // throw mid-phase (a non-string tag) leaving lists behind, without a call per decision.
    if (this.#net.length > 0) {
      const lists = scratch
      if (lists.length !== 0) lists.length = 0
      if (this.#netAny.length > 0) lists.push(this.#netAny)
      if (destination !== undefined) this.#netCidrs.collect(destination, lists)
      if (netName !== undefined) this.#netNames.collect(netName, lists)
      if (destinationTags && this.#netTags.size > 0) {
        for (const t of destinationTags) {
          const list = this.#netTags.get(t.toLowerCase())
          if (list) lists.push(list)
        }
      }
      const found = lists.length === 0 ? undefined : this.#firstNetwork(lists, port, bit, source)
      if (lists.length !== 0) lists.length = 0
      if (found) return this.#decisionOf(found)
    }

    // 3. Application rules: HTTP by Host, HTTPS and MSSQL by SNI.
    if (!isApp) return this.#defaultDeny
    const appRaw = isHttp || sni === undefined ? host : sni
    if (appRaw === undefined || appRaw === null) return isHttp ? this.#hostMissing : this.#sniMissing
    const appName = appRaw === netRaw ? netName : canonicalHost(appRaw)
    const lists = scratch
    if (lists.length !== 0) lists.length = 0
    if (appName !== undefined) this.#appNames.collect(appName, lists)
    else if (parseIp(appRaw)) this.#appNames.collectAny(lists)
    else return this.#invalidHost
    if (lists.length === 0) return this.#defaultDeny
    const found = this.#firstApplication(lists, isHttp ? PROTOCOL_CODE.Http : protocol === 'https' ? PROTOCOL_CODE.Https : PROTOCOL_CODE.Mssql, port, source)
    lists.length = 0
    return found ? this.#decisionOf(found) : this.#defaultDeny
  }

  #firstNetwork(lists: readonly number[][], port: number, bit: number, source: number | bigint | null | undefined): NetRule | undefined {
    let best = Infinity
    for (const list of lists) {
      for (const ordinal of list) {
        if (ordinal >= best) break
        const r = this.#net[ordinal]!
        if ((r.protocols & bit) === 0) continue
        if (r.ports !== null && bit !== P_ICMP && !portInRanges(port, r.ports)) continue
        if (!sourceMatches(r.source, source)) continue
        best = ordinal
        break
      }
    }
    return best === Infinity ? undefined : this.#net[best]
  }

  #firstApplication(lists: readonly number[][], type: number, port: number, source: number | bigint | null | undefined): AppRule | undefined {
    let best = Infinity
    for (const list of lists) {
      for (const ordinal of list) {
        if (ordinal >= best) break
        const r = this.#app[ordinal]!
        const key = (type << 16) | port
        if (r.protocol0 !== key && r.protocol1 !== key && (r.moreProtocols === undefined || !r.moreProtocols.includes(key))) continue
        if (!sourceMatches(r.source, source)) continue
        best = ordinal
        break
      }
    }
    return best === Infinity ? undefined : this.#app[best]
  }
}

const PROTOCOL_CODE = { Http: 1, Https: 2, Mssql: 3 } as const

function packProtocols(protocols: readonly ApplicationProtocol[]): { protocol0: number; protocol1: number; moreProtocols: readonly number[] | undefined } {
  const keys = protocols.map((p) => (PROTOCOL_CODE[p.type] << 16) | p.port)
  return { protocol0: keys[0] ?? -1, protocol1: keys[1] ?? -1, moreProtocols: keys.length > 2 ? keys.slice(2) : undefined }
}

/** `source`: undefined = not given (not checked); null = given but not an address (matches `*` only). */
function sourceMatches(m: SourceMatcher, source: number | bigint | null | undefined): boolean {
  if (m.any || source === undefined) return true
  if (source === null) return false
  return m.table.has(source)
}

/** Compiles a validated policy. Throws `PolicyCompileError` only on input the validator lets through by mistake. */
export function compilePolicy(policy: Policy, options: CompileOptions = {}): Engine {
  return new Engine(policy, options)
}
