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
 * Indexes: destination names of both rule types go into one FQDN hash index (fqdn-index.ts), so
 * that one lookup serves the network and the application phase; blocks into a CIDR index
 * (cidr-index.ts), service tags into a map. Each index entry is a postings reference
 * (postings.ts): the ordinals (processing positions) of the rules naming it, ascending. `decide`
 * gathers the references for the flow into one `int32` buffer, then scans each list in order
 * and keeps the smallest ordinal whose rule also matches protocol, port and source: the first
 * match. What a rule is checked against lives in typed arrays indexed by ordinal (one cache line
 * per candidate); its decision object is built on its first match and shared after.
 *
 * The hot path allocates nothing (but a rule's decision, on its first match, and lower-cased
 * service tags, which only explain and audit pass): the name is read once into reused scratch
 * (scanned-name.ts), addresses are parsed to int32 words (ip-words.ts), the source address only
 * when a candidate rule restricts sources. A per-protocol, per-port prefilter (port-cover.ts) skips the lookups
 * of destination kinds no network rule takes the flow's port with.
 */
import { parseAddressBlock, type Cidr } from './cidr.ts'
import { CidrIndexBuilder, type CidrIndex } from './cidr-index.ts'
import type { Decision } from './decision.ts'
import { DEFAULT_DENY, HOST_MISSING, INVALID_HOST, SNI_MISSING, ruleDecision, type DecisionPair } from './decisions.ts'
import type { Flow } from './flow.ts'
import { APPLICATION_RULES, FqdnIndexBuilder, NETWORK_RULES, type FqdnIndex } from './fqdn-index.ts'
import { parseFqdnPattern, type FqdnPattern } from './fqdn-pattern.ts'
import { parseIpCompact } from './ip-address.ts'
import { IP_NONE, IP_V4, IP_V6, parseIpWords, wordsOfIpv6, type IpKind } from './ip-words.ts'
import type { ApplicationProtocol, NetworkProtocol, Policy, RuleRef } from './policy-model.ts'
import { parsePortSpec, portInRanges, type PortRange } from './port-range.ts'
import { COVER_ADDRESS, COVER_NAME, COVER_TAG, PortCoverBuilder, type PortCover } from './port-cover.ts'
import { NO_RULES, PostingsBuilder } from './postings.ts'
import { collectionsInOrder } from './processing-order.ts'
import { RuleOrigins } from './rule-origins.ts'
import { ScannedName } from './scanned-name.ts'
import { SourceSet, sourceSetKey } from './source-set.ts'

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
  /**
   * For tests: bits of the FQDN indexes' hashes kept (1–32, default 32). Fewer bits force
   * distinct names to share hashes, so that the confirmation of hits is exercised; decisions are
   * the same for every value, only slower for small ones.
   */
  readonly hashBits?: number
  /** For tests: `FqdnIndexOptions.mergeBudget` (0 builds the name index without its merge). */
  readonly mergeBudget?: number
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

/** Index of the rule's source set in `#sources`; -1: any source. */
const ANY_SOURCE = -1

/**
 * Network rules, NET_STRIDE int32 per ordinal: protocol bits, the first port range (1–65535 for
 * `*`, as port-range.ts reads it), the index of further ranges in `#netMorePorts` (-1: none), the
 * source set.
 */
const NET_STRIDE = 8
const N_PROTOCOLS = 0
const N_FROM = 1
const N_TO = 2
const N_MORE_PORTS = 3
const N_SOURCE = 4

/**
 * Application rules, APP_STRIDE int32 per ordinal: the first two protocols as `type << 16 | port`
 * (Http 1, Https 2, Mssql 3; -1 none), the index of further ones in `#appMoreProtocols` (-1:
 * none), the source set.
 */
const APP_STRIDE = 4
const A_PROTOCOL0 = 0
const A_PROTOCOL1 = 1
const A_MORE = 2
const A_SOURCE = 3

interface NatRuleC {
  /** In the engine's mode, built at compile time (DNAT rules are few). */
  readonly decision: Decision
  readonly protocols: number
  /** The destination address as `parseIpWords` gives it: its kind and words (IPv4: d0 only). */
  readonly kind: IpKind
  readonly d0: number
  readonly d1: number
  readonly d2: number
  readonly d3: number
  readonly port: number
  readonly source: number
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

/**
 * Where the compiler is, for error messages: one object updated in place per rule and turned into
 * text only when something is wrong (a string per rule would cost more than the rule's indexing).
 */
class Where {
  group = ''
  collection = ''
  rule = ''

  at(group: string, collection: string, rule: string): this {
    this.group = group
    this.collection = collection
    this.rule = rule
    return this
  }

  toString(): string {
    return `${this.group}/${this.collection}/${this.rule}`
  }
}

function blocksOf(policy: Policy, addresses: readonly string[], groups: readonly string[], where: Where): { any: boolean; cidrs: Cidr[]; tags: string[] } {
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
    else for (const c of parsed.cidrs) cidrs.push(c)
  }
  for (const a of addresses) add(a)
  for (const g of groups) {
    const members = policy.ipGroups[g]
    if (members === undefined) throw new PolicyCompileError(`${where.toString()}: unknown IP group "${g}"`)
    for (const m of members) add(m)
  }
  return { any, cidrs, tags }
}

function pattern(text: string, where: Where, tag?: string): FqdnPattern {
  const parsed = parseFqdnPattern(text)
  if (!parsed.ok) throw new PolicyCompileError(`${where.toString()}${tag === undefined ? '' : ` (FQDN tag ${tag})`}: "${text}": ${parsed.detail}`)
  return parsed.pattern
}

const PROTOCOL_CODE = { Http: 1, Https: 2, Mssql: 3 } as const
/** A flow key no rule protocol has (rule keys are >= 0x10000, or -1 for none). */
const NO_PROTOCOL = -2

/**
 * Scratch shared by every engine: decide() is synchronous, so one of each serves every call.
 * `refs` takes the network phase's references by address: at most 1 (`*` destinations) + 33 or
 * 129 (blocks). `nameRefs` takes the name index's pairs: at most 2 × (2 + 253) = 510 for a
 * 253-character name (see FqdnIndex.collect). `sourceWords` and `destinationWords` hold the flow's addresses (ip-words.ts).
 */
const refs = new Int32Array(512)
const nameRefs = new Int32Array(512)
const scanned = new ScannedName()
const sourceWords = new Int32Array(4)
const destinationWords = new Int32Array(4)

/** `#sourceKind` before the source address is parsed. */
const NOT_PARSED = -1

export class Engine {
  readonly policy: Policy
  readonly stats: EngineStats
  readonly #report: boolean
  readonly #defaultDeny: Decision
  readonly #sniMissing: Decision
  readonly #hostMissing: Decision
  readonly #invalidHost: Decision
  readonly #sources: SourceSet[] = []
  readonly #sourceKeys = new Map<string, number>()
  /** Source lists as written ([addresses, groups] as JSON) → source set index (or ANY_SOURCE). */
  readonly #sourceLists = new Map<string, number>()
  readonly #nat: NatRuleC[] = []

  // Network rules, by ordinal.
  readonly #netCount: number
  readonly #net: Int32Array
  readonly #netMorePorts: Array<readonly PortRange[]> = []
  readonly #netOrigins = new RuleOrigins('network')
  readonly #netDecisions: Array<Decision | undefined>
  readonly #netPostings: Int32Array
  /** Rules whose destination is `*`. */
  readonly #netAny: number
  readonly #netCidrs: CidrIndex
  readonly #netTags: Map<string, number>
  readonly #netCover: PortCover

  // Application rules, by ordinal.
  readonly #appCount: number
  readonly #app: Int32Array
  readonly #appMoreProtocols: Array<readonly number[]> = []
  readonly #appOrigins = new RuleOrigins('application')
  readonly #appDecisions: Array<Decision | undefined>
  readonly #appPostings: Int32Array

  /** Destination FQDNs of network rules and target FQDNs of application rules. */
  readonly #names: FqdnIndex

  // Per decision: the flow's source address, parsed (into `sourceWords`) only when a rule
  // restricts sources.
  #sourceText: string | undefined = undefined
  #sourceKind: IpKind | typeof NOT_PARSED = NOT_PARSED

  constructor(policy: Policy, options: CompileOptions = {}) {
    this.policy = policy
    this.#report = policy.settings.mode === 'report'
    this.#defaultDeny = this.#pick(DEFAULT_DENY)
    this.#sniMissing = this.#pick(SNI_MISSING)
    this.#hostMissing = this.#pick(HOST_MISSING)
    this.#invalidHost = this.#pick(INVALID_HOST)
    const names = new FqdnIndexBuilder({
      ...(options.hashBits === undefined ? {} : { hashBits: options.hashBits }),
      ...(options.mergeBudget === undefined ? {} : { mergeBudget: options.mergeBudget }),
    })
    this.#compileNat()

    const net = this.#compileNetwork(names)
    this.#netCount = net.count
    this.#net = net.rules
    this.#netDecisions = new Array<Decision | undefined>(this.#netCount).fill(undefined)
    const netPostings = new PostingsBuilder((a, b) => this.#netCovers(a, b))
    this.#netAny = netPostings.add(net.any)
    this.#netCidrs = net.cidrs.build(netPostings)
    this.#netTags = new Map([...net.tags].map(([tag, list]) => [tag, netPostings.add(list)] as const))
    this.#netCover = net.cover.build()

    const app = this.#compileApplication(options.fqdnTags ?? {}, names)
    this.#appCount = app.count
    this.#app = app.rules
    this.#appDecisions = new Array<Decision | undefined>(this.#appCount).fill(undefined)
    const appPostings = new PostingsBuilder((a, b) => this.#appCovers(a, b))
    this.#names = names.build(netPostings, appPostings)
    this.#netPostings = netPostings.finish()
    this.#appPostings = appPostings.finish()

    // Only compiling needed these.
    this.#sourceKeys.clear()
    this.#sourceLists.clear()
    this.stats = Object.freeze({
      dnatRules: this.#nat.length,
      networkRules: this.#netCount,
      applicationRules: this.#appCount,
      fqdnPatterns: names.size(NETWORK_RULES) + names.size(APPLICATION_RULES),
      cidrBlocks: net.cidrs.size,
      serviceTags: this.#netTags.size,
    })
  }

  /** The index of the source set of a rule, shared with every rule naming the same blocks. */
  #sourceSet(addresses: readonly string[], groups: readonly string[], where: Where): number {
    // Most rules name one of a few source lists (a node subnet, an IP group): each list is read once.
    if (addresses.length === 0 && groups.length === 0) return ANY_SOURCE
    // JSON: unambiguous whatever the strings hold (a malformed address must still be read, and fail).
    const listKey = JSON.stringify([addresses, groups])
    const known = this.#sourceLists.get(listKey)
    if (known !== undefined) return known
    const index = this.#readSourceSet(addresses, groups, where)
    this.#sourceLists.set(listKey, index)
    return index
  }

  #readSourceSet(addresses: readonly string[], groups: readonly string[], where: Where): number {
    const { any, cidrs, tags } = blocksOf(this.policy, addresses, groups, where)
    if (tags.length > 0) throw new PolicyCompileError(`${where.toString()}: "${tags[0] ?? ''}" is not an address block`)
    if (any || (addresses.length === 0 && groups.length === 0)) return ANY_SOURCE
    const key = sourceSetKey(cidrs)
    let index = this.#sourceKeys.get(key)
    if (index === undefined) {
      index = this.#sources.length
      this.#sources.push(new SourceSet(cidrs))
      this.#sourceKeys.set(key, index)
    }
    return index
  }

  #compileNat(): void {
    const where = new Where()
    for (const { group, collection } of collectionsInOrder(this.policy, 'dnat')) {
      for (const rule of collection.rules) {
        const ref: RuleRef = { group: group.name, collection: collection.name, rule: rule.name, type: 'dnat' }
        where.at(group.name, collection.name, rule.name)
        const destination = parseIpCompact(rule.destinationAddress)
        if (destination === undefined) throw new PolicyCompileError(`${where.toString()}: destinationAddress "${rule.destinationAddress}" is not an IP address`)
        const [d0, d1, d2, d3] = typeof destination === 'number' ? [destination, 0, 0, 0] : wordsOfIpv6(destination)
        this.#nat.push({
          decision: this.#pick(ruleDecision(ref, true, {
            ...(rule.translatedAddress === undefined ? {} : { address: rule.translatedAddress }),
            ...(rule.translatedFqdn === undefined ? {} : { fqdn: rule.translatedFqdn }),
            port: rule.translatedPort,
          })),
          protocols: protocolBits(rule.ipProtocols),
          kind: typeof destination === 'number' ? IP_V4 : IP_V6,
          d0,
          d1,
          d2,
          d3,
          port: rule.destinationPort,
          source: this.#sourceSet(rule.sourceAddresses, rule.sourceIpGroups, where),
        })
      }
    }
  }

  #compileNetwork(names: FqdnIndexBuilder): { count: number; rules: Int32Array; any: number[]; cidrs: CidrIndexBuilder; tags: Map<string, number[]>; cover: PortCoverBuilder } {
    const where = new Where()
    let ordinal = 0
    const rows: number[] = []
    const any: number[] = []
    const cidrs = new CidrIndexBuilder()
    const tags = new Map<string, number[]>()
    const cover = new PortCoverBuilder()
    for (const { group, collection } of collectionsInOrder(this.policy, 'network')) {
      if (collection.rules.length > 0) this.#netOrigins.add(group, collection, ordinal)
      for (const rule of collection.rules) {
        where.at(group.name, collection.name, rule.name)
        let ports: PortRange[] | null = []
        for (const spec of rule.destinationPorts) {
          const parsed = parsePortSpec(spec)
          if (!parsed.ok) throw new PolicyCompileError(`${where.toString()}: ${parsed.detail}`)
          if (parsed.range.from === 1 && parsed.range.to === 65535) ports = null
          if (ports) ports.push(parsed.range)
        }
        const protocols = protocolBits(rule.ipProtocols)
        const source = this.#sourceSet(rule.sourceAddresses, rule.sourceIpGroups, where)
        const first = ports?.[0]
        let more = -1
        if (ports && ports.length > 1) {
          more = this.#netMorePorts.length
          this.#netMorePorts.push(ports.slice(1))
        }
        // Every port is 1-65535; a rule with no port at all (an empty list) takes no port: an
        // empty first range.
        rows.push(protocols, ports === null ? 1 : (first?.from ?? 1), ports === null ? 65535 : (first?.to ?? 0), more, source, 0, 0, 0)

        const dest = blocksOf(this.policy, rule.destinationAddresses, rule.destinationIpGroups, where)
        let kinds = 0
        if (dest.any) {
          any.push(ordinal)
          kinds |= COVER_ADDRESS
        }
        for (const c of dest.cidrs) {
          cidrs.add(c, ordinal)
          kinds |= COVER_ADDRESS
        }
        for (const tag of dest.tags) {
          const list = tags.get(tag)
          if (list) list.push(ordinal)
          else tags.set(tag, [ordinal])
          kinds |= COVER_TAG
        }
        for (const f of rule.destinationFqdns) {
          names.add(pattern(f, where), ordinal, NETWORK_RULES)
          kinds |= COVER_NAME
        }
        cover.add((protocols & P_TCP) !== 0, (protocols & P_UDP) !== 0, (protocols & P_ICMP) !== 0, ports, kinds)
        ordinal++
      }
    }
    return { count: ordinal, rules: Int32Array.from(rows), any, cidrs, tags, cover }
  }

  #compileApplication(tags: Readonly<Record<string, readonly string[]>>, names: FqdnIndexBuilder): { count: number; rules: Int32Array } {
    const where = new Where()
    let ordinal = 0
    const rows: number[] = []
    for (const { group, collection } of collectionsInOrder(this.policy, 'application')) {
      if (collection.rules.length > 0) this.#appOrigins.add(group, collection, ordinal)
      for (const rule of collection.rules) {
        where.at(group.name, collection.name, rule.name)
        const keys = protocolKeys(rule.protocols)
        let more = -1
        if (keys.length > 2) {
          more = this.#appMoreProtocols.length
          this.#appMoreProtocols.push(keys.slice(2))
        }
        rows.push(keys[0] ?? -1, keys[1] ?? -1, more, this.#sourceSet(rule.sourceAddresses, rule.sourceIpGroups, where))
        for (const f of rule.targetFqdns) names.add(pattern(f, where), ordinal, APPLICATION_RULES)
        for (const tag of rule.fqdnTags) {
          const list = tags[tag]
          if (list === undefined) throw new PolicyCompileError(`${where.toString()}: unknown FQDN tag "${tag}"`)
          for (const f of list) names.add(pattern(f, where, tag), ordinal, APPLICATION_RULES)
        }
        ordinal++
      }
    }
    return { count: ordinal, rules: Int32Array.from(rows) }
  }

  /** Decides a flow. Pure: the same policy and flow always give the same decision. */
  decide(flow: Flow): Decision {
    return this.#decide(flow)
  }

  /** A decision pair in the engine's mode. */
  #pick(pair: DecisionPair): Decision {
    return this.#report ? pair.report : pair.enforce
  }

  #netDecision(ordinal: number): Decision {
    let d = this.#netDecisions[ordinal]
    if (d === undefined) {
      const { ref, allow } = this.#netOrigins.of(ordinal)
      d = this.#netDecisions[ordinal] = this.#pick(ruleDecision(ref, allow))
    }
    return d
  }

  #appDecision(ordinal: number): Decision {
    let d = this.#appDecisions[ordinal]
    if (d === undefined) {
      const { ref, allow } = this.#appOrigins.of(ordinal)
      d = this.#appDecisions[ordinal] = this.#pick(ruleDecision(ref, allow))
    }
    return d
  }

  /**
   * Whether the flow's source is in source set `set`. A flow without a source passes every
   * source condition; one whose source is not an address passes only `*`.
   */
  #sourceIn(set: number): boolean {
    if (set === ANY_SOURCE) return true
    const text = this.#sourceText
    if (text === undefined) return true
    let kind = this.#sourceKind
    if (kind === NOT_PARSED) kind = this.#sourceKind = parseIpWords(text, sourceWords)
    return kind !== IP_NONE && this.#sources[set]!.has(kind, sourceWords)
  }

  #decide(flow: Flow): Decision {
    // Each property of the flow is read once: flows built in different places have different
    // shapes, and a property load that sees many shapes is slow.
    const { protocol, destinationPort: port, host, sni, sourceIp, destinationIp, destinationTags } = flow
    this.#sourceText = sourceIp
    this.#sourceKind = NOT_PARSED
    const bit = flowProtocolBit(protocol)
    // The destination in `destinationWords`, parsed once, when a phase needs it.
    let destination: IpKind = IP_NONE
    const hasNat = this.#nat.length > 0

    // 1. DNAT
    if (hasNat && destinationIp !== undefined) {
      destination = parseIpWords(destinationIp, destinationWords)
      if (destination !== IP_NONE) {
        const w = destinationWords
        for (const r of this.#nat) {
          if ((r.protocols & bit) === 0 || r.port !== port) continue
          if (r.kind !== destination || r.d0 !== w[0]) continue
          if (destination === IP_V6 && (r.d1 !== w[1] || r.d2 !== w[2] || r.d3 !== w[3])) continue
          if (!this.#sourceIn(r.source)) continue
          return r.decision
        }
      }
    }

    // 2. Network rules: by address, by service tag, and by name (the CONNECT or Host name, else
    // the SNI) for FQDN destinations.
    const isHttp = protocol === 'http'
    const isApp = isHttp || protocol === 'https' || protocol === 'mssql'
    const netRaw = host ?? sni ?? undefined
    // The name in `scanned`: which raw string, and whether it is a valid name; when it is, the
    // pairs of references its lookup found are in `nameRefs`, `names` of them.
    let scannedRaw: string | undefined
    let scannedOk = false
    let names = 0
    if (this.#netCount > 0) {
      const cover = this.#netCover.coverOf(bit, port)
      let n = 0
      if ((cover & COVER_ADDRESS) !== 0) {
        if (this.#netAny !== NO_RULES) refs[n++] = this.#netAny
        if (destinationIp !== undefined) {
          // Parsed already when the DNAT phase ran.
          if (!hasNat) destination = parseIpWords(destinationIp, destinationWords)
          if (destination === IP_V4) n = this.#netCidrs.collect4(destinationWords[0]!, refs, n)
          else if (destination === IP_V6) n = this.#netCidrs.collect6(destinationWords, refs, n)
        }
      }
      if ((cover & COVER_NAME) !== 0 && netRaw !== undefined) {
        scannedRaw = netRaw
        scannedOk = scanned.scan(netRaw)
        if (scannedOk) names = this.#names.collect(scanned, nameRefs, 0)
      }
      let best = this.#netCount
      for (let k = 0; k < n; k++) best = this.#firstNetwork(refs[k]!, best, port, bit)
      for (let k = 0; k < names; k += 2) {
        const ref = nameRefs[k]!
        if (ref !== NO_RULES) best = this.#firstNetwork(ref, best, port, bit)
      }
      if ((cover & COVER_TAG) !== 0 && destinationTags && this.#netTags.size > 0) {
        for (const t of destinationTags) {
          const ref = this.#netTags.get(t.toLowerCase())
          if (ref !== undefined) best = this.#firstNetwork(ref, best, port, bit)
        }
      }
      if (best < this.#netCount) return this.#netDecision(best)
    }

    // 3. Application rules: HTTP by Host, HTTPS and MSSQL by SNI.
    if (!isApp) return this.#defaultDeny
    const appRaw = isHttp || sni === undefined ? host : sni
    if (appRaw === undefined || appRaw === null) return isHttp ? this.#hostMissing : this.#sniMissing
    if (appRaw !== scannedRaw) {
      scannedOk = scanned.scan(appRaw)
      names = scannedOk ? this.#names.collect(scanned, nameRefs, 0) : 0
    }
    if (!scannedOk) {
      // An IP literal in place of a name matches `*` only.
      if (parseIpWords(appRaw, destinationWords) === IP_NONE) return this.#invalidHost
      const any = this.#names.anyApplication()
      if (any === NO_RULES) return this.#defaultDeny
      nameRefs[0] = NO_RULES
      nameRefs[1] = any
      names = 2
    }
    if (names === 0) return this.#defaultDeny
    const type = isHttp ? PROTOCOL_CODE.Http : protocol === 'https' ? PROTOCOL_CODE.Https : PROTOCOL_CODE.Mssql
    // A port outside 0–65535 (never off the wire; `explain` input) would spill into the type
    // bits and could equal another rule protocol's key: it matches no application rule.
    const key = (port | 0) === port && port >= 0 && port <= 0xffff ? (type << 16) | port : NO_PROTOCOL
    let best = this.#appCount
    for (let k = 1; k < names; k += 2) {
      const ref = nameRefs[k]!
      if (ref !== NO_RULES) best = this.#firstApplication(ref, best, key)
    }
    return best < this.#appCount ? this.#appDecision(best) : this.#defaultDeny
  }

  /**
   * Network rule `a` takes every flow `b` takes (postings.ts `Covers`): every protocol, every
   * port range and every source of `b`'s is `a`'s too (a source set only if it is the same set).
   * Called for many pairs while compiling: no allocation.
   */
  #netCovers(a: number, b: number): boolean {
    const net = this.#net
    const x = a * NET_STRIDE
    const y = b * NET_STRIDE
    if ((net[y + N_PROTOCOLS]! & ~net[x + N_PROTOCOLS]!) !== 0) return false
    const sa = net[x + N_SOURCE]!
    if (sa !== ANY_SOURCE && sa !== net[y + N_SOURCE]) return false
    if (!this.#netRangeInside(x, net[y + N_FROM]!, net[y + N_TO]!)) return false
    const more = net[y + N_MORE_PORTS]!
    if (more >= 0) for (const r of this.#netMorePorts[more]!) if (!this.#netRangeInside(x, r.from, r.to)) return false
    return true
  }

  /** The port range `from`–`to` (empty when `from > to`) lies inside one range of the network rule at `x`. */
  #netRangeInside(x: number, from: number, to: number): boolean {
    const net = this.#net
    if (from > to || (net[x + N_FROM]! <= from && to <= net[x + N_TO]!)) return true
    const more = net[x + N_MORE_PORTS]!
    return more >= 0 && this.#netMorePorts[more]!.some((q) => q.from <= from && to <= q.to)
  }

  /** Application rule `a` takes every flow `b` takes: every protocol and every source of `b`'s is `a`'s too. */
  #appCovers(a: number, b: number): boolean {
    const app = this.#app
    const x = a * APP_STRIDE
    const y = b * APP_STRIDE
    const sa = app[x + A_SOURCE]!
    if (sa !== ANY_SOURCE && sa !== app[y + A_SOURCE]) return false
    const k0 = app[y + A_PROTOCOL0]!
    const k1 = app[y + A_PROTOCOL1]!
    if ((k0 !== -1 && !this.#appHasKey(x, k0)) || (k1 !== -1 && !this.#appHasKey(x, k1))) return false
    const more = app[y + A_MORE]!
    return more < 0 || this.#appMoreProtocols[more]!.every((k) => this.#appHasKey(x, k))
  }

  #appHasKey(x: number, key: number): boolean {
    const app = this.#app
    if (app[x + A_PROTOCOL0] === key || app[x + A_PROTOCOL1] === key) return true
    const more = app[x + A_MORE]!
    return more >= 0 && this.#appMoreProtocols[more]!.includes(key)
  }

  /** The smaller of `best` and the first rule of postings `ref` that takes the flow. */
  #firstNetwork(ref: number, best: number, port: number, bit: number): number {
    if (ref >= 0) return ref < best && this.#netTakes(ref, port, bit) ? ref : best
    const postings = this.#netPostings
    const at = -2 - ref
    const end = at + 1 + postings[at]!
    for (let i = at + 1; i < end; i++) {
      const ordinal = postings[i]!
      if (ordinal >= best) break
      if (this.#netTakes(ordinal, port, bit)) return ordinal
    }
    return best
  }

  #netTakes(ordinal: number, port: number, bit: number): boolean {
    const net = this.#net
    const at = ordinal * NET_STRIDE
    if ((net[at + N_PROTOCOLS]! & bit) === 0) return false
    if (bit !== P_ICMP && !(port >= net[at + N_FROM]! && port <= net[at + N_TO]!)) {
      const more = net[at + N_MORE_PORTS]!
      if (more < 0 || !portInRanges(port, this.#netMorePorts[more]!)) return false
    }
    return this.#sourceIn(net[at + N_SOURCE]!)
  }

  /** The smaller of `best` and the first rule of postings `ref` that takes protocol `key` (`type << 16 | port`). */
  #firstApplication(ref: number, best: number, key: number): number {
    if (ref >= 0) return ref < best && this.#appTakes(ref, key) ? ref : best
    const postings = this.#appPostings
    const at = -2 - ref
    const end = at + 1 + postings[at]!
    for (let i = at + 1; i < end; i++) {
      const ordinal = postings[i]!
      if (ordinal >= best) break
      if (this.#appTakes(ordinal, key)) return ordinal
    }
    return best
  }

  #appTakes(ordinal: number, key: number): boolean {
    const app = this.#app
    const at = ordinal * APP_STRIDE
    if (app[at + A_PROTOCOL0] !== key && app[at + A_PROTOCOL1] !== key) {
      const more = app[at + A_MORE]!
      if (more < 0 || !this.#appMoreProtocols[more]!.includes(key)) return false
    }
    return this.#sourceIn(app[at + A_SOURCE]!)
  }
}

function protocolKeys(protocols: readonly ApplicationProtocol[]): number[] {
  return protocols.map((p) => (PROTOCOL_CODE[p.type] << 16) | p.port)
}

/** Compiles a validated policy. Throws `PolicyCompileError` only on input the validator lets through by mistake. */
export function compilePolicy(policy: Policy, options: CompileOptions = {}): Engine {
  return new Engine(policy, options)
}
