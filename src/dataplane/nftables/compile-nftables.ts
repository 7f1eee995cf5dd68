/**
 * @module The nftables compiler: a policy in, the text of one `nft -f` file out (pure, no I/O).
 *
 * The file owns exactly one table, `table inet aks_egress` (IPv4 and IPv6 in one table), and
 * replaces it atomically: it first declares the table (a no-op if it exists), deletes it, and
 * declares it anew, all in the one transaction `nft -f` commits. Other tables are never named.
 *
 * Chains, following Azure Firewall's processing (azure-facts §2.1: DNAT, then network rules, then
 * application rules; the first match decides; no match is deny):
 * - `prerouting` (nat, dstnat): DNAT rules translate the firewall's address and port to the
 *   internal service. Then every network rule that could match a TCP flow to an application-rule
 *   port is checked (in any order: each only says "a network rule decides this flow, leave it
 *   to the forward chain"). What is left on an `Http`/`Https` port is redirected to the L7
 *   listener standing for that port (`redirect to :PORT`): application rules decide there.
 *   Traffic to the appliance itself and traffic between node subnets is never redirected.
 * - `flowtable ft` (flowtable.ts, default on): established TCP and UDP flows are offloaded to it by
 *   the forward chain's first rule, and from then on forwarded (NAT included) from the ingress of
 *   the appliance's interfaces, past the hooks below: the per-packet cost of the table is paid by
 *   a flow's first packets only. Off with `flowtable: false` (a kernel without nf_flow_table).
 * - `forward` (filter, policy drop): established and related flows pass (so connections live on
 *   when a learned address expires, and across reloads); invalid ones are dropped (before any
 *   accept of a new flow: conntrack could not place them); flows between node subnets pass (the
 *   seed: filtering inside the subnet is not supported); DNATed flows pass; then the network
 *   rules in processing order, an Allow collection's rule accepting and a Deny collection's rule
 *   dropping; the rest is dropped (the default deny).
 * - `input` (filter, policy drop): the appliance accepts loopback, replies, ICMP essentials, the
 *   redirected L7 flows, DNS and its own TCP services from the node subnets, SSH from `sshFrom`,
 *   and (on Azure) DHCP and the platform address 168.63.129.16.
 * - `postrouting` (nat, srcnat): DNATed flows are SNATed to the appliance (Azure: "Inbound DNAT:
 *   connections are SNATed to a firewall private IP", so replies come back through it whatever the
 *   service's routes); outbound flows are masqueraded on the egress interface, except toward
 *   private ranges (Azure: "doesn't SNAT when the destination IP address is a private IP range per
 *   IANA RFC 1918", azure-facts §2.9).
 *
 * What nftables cannot express is reported in `notes` (and as a comment in the file), never
 * dropped silently: service tags (no address ranges at hand), a DNAT rule to an FQDN that was not
 * resolved, a DNAT rule mixing address families, Mssql application rules (no transparent L7
 * listener for them).
 */
import type { Cidr } from '../../policy/cidr.ts'
import { parseAddressBlock } from '../../policy/cidr.ts'
import { parseFqdnPattern, type FqdnPattern } from '../../policy/fqdn-pattern.ts'
import { parseIp } from '../../policy/ip-address.ts'
import type { NetworkProtocol, NetworkRule, Policy } from '../../policy/policy-model.ts'
import { rulePath } from '../../policy/policy-model.ts'
import { parsePortSpec, type PortRange } from '../../policy/port-range.ts'
import { collectionsInOrder } from '../../policy/processing-order.ts'
import { DEFAULT_LISTENER_PORT_OFFSET, listenPortsFor } from '../../proxy/listener-plan.ts'
import { FqdnSetIndex, type FqdnSet } from './fqdn-sets.ts'
import { FLOW_OFFLOAD_RULE, flowtableDeclaration, flowtableDevices } from './flowtable.ts'
import { addressElements, nftComment, portElements, setExpression } from './nft-syntax.ts'

export const TABLE_FAMILY = 'inet'
export const TABLE_NAME = 'aks_egress'
export const TABLE = `${TABLE_FAMILY} ${TABLE_NAME}`

/** RFC 1918 and RFC 6598 (shared address space): no SNAT toward them, as Azure Firewall. */
export const PRIVATE_V4 = ['10.0.0.0/8', '100.64.0.0/10', '172.16.0.0/12', '192.168.0.0/16'] as const
/** IPv6 unique local addresses (RFC 4193). */
export const PRIVATE_V6 = ['fc00::/7'] as const
/** Azure's platform address: DHCP, DNS, health probes, the VM agent (azure-facts §2.4). */
export const AZURE_PLATFORM_IP = '168.63.129.16'

/** An L7 listener the redirect points at. */
export interface ListenerPort {
  readonly kind: 'Http' | 'Https'
  /** The port clients connected to (the application rule's port). */
  readonly originalPort: number
  /** The local port of the listener that stands for it. */
  readonly listenerPort: number
}

/** A learned address to carry over into a new ruleset (reload), with its remaining lifetime. */
export interface LearnedElement {
  readonly address: string
  readonly timeoutSec: number
}

export interface NftablesOptions {
  /** The node subnets; default: the policy profile's `nodeCidrs`. */
  readonly nodeCidrs?: readonly string[]
  /** The interface toward the internet, where outbound flows are masqueraded. Default `eth0`. */
  readonly egressInterface?: string
  /**
   * The interfaces toward the node subnets, when not the egress interface (a two-NIC appliance):
   * devices of the flowtable with the egress interface. Default none (one NIC, as on Azure).
   */
  readonly ingressInterfaces?: readonly string[]
  /** Declare the flowtable and offload established flows to it (flowtable.ts). Default true. */
  readonly flowtable?: boolean
  /**
   * Listener port per application-rule port: the ports the running listeners are bound to. Ports
   * missing from a given map are not redirected. Default: the listener plan's default offset,
   * `15000 + port` (above 50535: the first free port from 10000; proxy/listener-plan.ts).
   */
  readonly listenerPorts?: ReadonlyMap<number, number>
  /** The DNS proxy's port on the appliance (accepted from the node subnets). Default 53. */
  readonly dnsPort?: number
  /** Other TCP ports of the appliance the node subnets may reach (the explicit proxy, admin). */
  readonly serviceTcpPorts?: readonly number[]
  /** Sources allowed to reach SSH (TCP 22) on the appliance: CIDRs, or `*`. Default `['*']`. */
  readonly sshFrom?: readonly string[]
  /** Accept DHCP and 168.63.129.16 on input (an Azure VM needs them). Default true. */
  readonly azurePlatform?: boolean
  /** SNAT outbound flows toward private ranges too. Default false (as Azure Firewall). */
  readonly snatPrivateRanges?: boolean
  /** Addresses already learned, per set name: included in the new table (reload). */
  readonly learned?: ReadonlyMap<string, readonly LearnedElement[]>
  /** The addresses of DNAT rules' `translatedFqdn`s, resolved by the caller. */
  readonly resolvedFqdns?: ReadonlyMap<string, string>
}

/** Something nftables cannot express as written (the exporter turns it into UNSUPPORTED_BY_TARGET). */
export interface NftablesNote {
  /** `group/collection/rule`; undefined for the whole ruleset. */
  readonly rule: string | undefined
  /** What cannot be expressed. */
  readonly construct: string
  /** What the ruleset does instead. */
  readonly outcome: string
  /** `error`: a rule or part of one is left out; `warning`: a substitute, or outside L4's job. */
  readonly severity: 'error' | 'warning'
}

export function formatNote(n: NftablesNote): string {
  return `${n.rule === undefined ? 'policy' : `rule ${n.rule}`}: ${n.construct}; ${n.outcome}`.replace(/[\r\n]/g, ' ')
}

export interface NftablesRuleset {
  /** The `nft -f` file. */
  readonly text: string
  /** The FQDN sets, for the DNS proxy's learning. */
  readonly sets: FqdnSetIndex
  readonly listeners: readonly ListenerPort[]
  readonly notes: readonly NftablesNote[]
  readonly stats: { readonly networkRules: number; readonly dnatRules: number; readonly lines: number }
  /** The flowtable's devices; undefined when the table has none. */
  readonly flowtableDevices: readonly string[] | undefined
}

/** The file that removes the table, whether it exists or not (`--cleanup`, exit). */
export function cleanupRuleset(): string {
  return `table ${TABLE}\ndelete table ${TABLE}\n`
}

interface Blocks {
  any: boolean
  v4: Cidr[]
  v6: Cidr[]
  tags: string[]
}

function blocks(policy: Policy, addresses: readonly string[], groups: readonly string[]): Blocks {
  const out: Blocks = { any: false, v4: [], v6: [], tags: [] }
  const add = (text: string): void => {
    const parsed = parseAddressBlock(text)
    if (!parsed.ok) out.tags.push(text)
    else if (parsed.any) out.any = true
    else for (const c of parsed.cidrs) (c.v === 4 ? out.v4 : out.v6).push(c)
  }
  for (const a of addresses) add(a)
  for (const g of groups) for (const m of policy.ipGroups[g] ?? []) add(m)
  return out
}

function cidrsOf(texts: readonly string[]): Blocks {
  const out: Blocks = { any: false, v4: [], v6: [], tags: [] }
  for (const t of texts) {
    const parsed = parseAddressBlock(t)
    if (!parsed.ok) out.tags.push(t)
    else if (parsed.any) out.any = true
    else for (const c of parsed.cidrs) (c.v === 4 ? out.v4 : out.v6).push(c)
  }
  return out
}

const FAMILY = { 4: 'ip', 6: 'ip6' } as const
type V = 4 | 6

/** `ip saddr { ... }` for one family, '' for any, undefined when the family has no address. */
function addrMatch(b: Blocks, v: V, dir: 'saddr' | 'daddr'): string | undefined {
  if (b.any) return ''
  const list = v === 4 ? b.v4 : b.v6
  if (list.length === 0) return undefined
  return `${FAMILY[v]} ${dir} ${setExpression(addressElements(list, v))}`
}

/**
 * Named interval sets, shared by content: a list of addresses or ports that appears in several
 * rules is declared once. Why not anonymous sets (`ip daddr { a, b }`): the kernel allocates each
 * one a set of its own, found by a name scan, so 10,000 rules with lists take minutes to load;
 * single elements (no set at all) and a few shared named sets keep loading near linear.
 */
class NamedSets {
  readonly #byKey = new Map<string, string>()
  readonly decls: string[] = []

  get(type: 'ipv4_addr' | 'ipv6_addr' | 'inet_service', elements: readonly string[]): string {
    const key = `${type} ${elements.join(',')}`
    let name = this.#byKey.get(key)
    if (name === undefined) {
      name = `${type === 'inet_service' ? 'ports' : type === 'ipv4_addr' ? 'addr4' : 'addr6'}_${this.#byKey.size}`
      this.#byKey.set(key, name)
      this.decls.push(`set ${name} { type ${type}; flags interval; elements = { ${elements.join(', ')} }; }`)
    }
    return name
  }
}

/** One dimension of a rule's match: its alternatives (one rule line each), or fewer through a named set. */
interface Dimension {
  alts: string[]
  readonly collapse?: () => string[]
}

/** At most this many lines per rule (per family) before lists become named sets. */
const EXPANSION_BUDGET = 8

function product(dims: readonly Dimension[]): number {
  return dims.reduce((n, d) => n * d.alts.length, 1)
}

/** The lines of a match: the cross product of the dimensions, within the budget. */
function expand(dims: Dimension[]): string[] {
  while (product(dims) > EXPANSION_BUDGET) {
    const d = dims.filter((x) => x.collapse && x.alts.length > 1).sort((a, b) => b.alts.length - a.alts.length)[0]
    if (!d?.collapse) break
    d.alts = d.collapse()
  }
  let lines = ['']
  for (const d of dims) lines = lines.flatMap((l) => d.alts.map((a) => joinParts(l, a)))
  return lines
}

function addressDimension(b: Blocks, v: V, dir: 'saddr' | 'daddr', named: NamedSets): Dimension | undefined {
  if (b.any) return { alts: [''] }
  const list = v === 4 ? b.v4 : b.v6
  if (list.length === 0) return undefined
  const elements = addressElements(list, v)
  return {
    alts: elements.map((e) => `${FAMILY[v]} ${dir} ${e}`),
    collapse: () => [`${FAMILY[v]} ${dir} @${named.get(v === 4 ? 'ipv4_addr' : 'ipv6_addr', elements)}`],
  }
}

/** The L4 part of a network rule for one family (0: both); '' = every protocol. */
function protocolDimension(protocols: readonly NetworkProtocol[], ports: readonly PortRange[] | null, v: V | 0, named: NamedSets): Dimension {
  const any = protocols.includes('Any')
  const has = (p: NetworkProtocol): boolean => any || protocols.includes(p)
  const icmp = v === 4 ? ['icmp'] : v === 6 ? ['ipv6-icmp'] : ['icmp', 'ipv6-icmp']
  if (any && ports === null) return { alts: [''] }
  const l4: string[] = []
  if (has('TCP')) l4.push('tcp')
  if (has('UDP')) l4.push('udp')
  // ICMP has no ports: the engine matches an ICMP flow whatever the rule's ports.
  const icmpAlts = has('ICMP') ? icmp.map((i) => `meta l4proto ${i}`) : []
  if (ports === null) return { alts: [...l4.map((p) => `meta l4proto ${p}`), ...icmpAlts] }
  if (ports.length === 0) return { alts: icmpAlts }
  const elements = portElements(ports)
  return {
    alts: [...l4.flatMap((p) => elements.map((e) => `${p} dport ${e}`)), ...icmpAlts],
    collapse: () => [...l4.map((p) => `${p} dport @${named.get('inet_service', elements)}`), ...icmpAlts],
  }
}

function parsePorts(specs: readonly string[]): PortRange[] | null {
  const out: PortRange[] = []
  for (const spec of specs) {
    const parsed = parsePortSpec(spec)
    if (!parsed.ok) continue
    if (parsed.range.from === 1 && parsed.range.to === 65535) return null
    out.push(parsed.range)
  }
  return out
}

function intersect(ports: readonly PortRange[] | null, wanted: readonly number[]): number[] {
  if (ports === null) return [...wanted]
  return wanted.filter((p) => ports.some((r) => p >= r.from && p <= r.to))
}

function joinParts(...parts: Array<string | undefined>): string {
  return parts.filter((p) => p !== undefined && p !== '').join(' ')
}

interface CompiledNetRule {
  readonly path: string
  readonly allow: boolean
  readonly rule: NetworkRule
  readonly src: Blocks
  readonly dst: Blocks
  readonly set: FqdnSet | undefined
  readonly ports: PortRange[] | null
}

/** The match expressions of a network rule (one per line), given its L4 dimension per family. */
function ruleMatches(r: CompiledNetRule, l4: (v: V | 0) => Dimension, named: NamedSets): string[] {
  if (r.src.any && r.dst.any) return expand([l4(0)])
  const lines: string[] = []
  for (const v of [4, 6] as const) {
    const src = addressDimension(r.src, v, 'saddr', named)
    if (src === undefined) continue
    const dstAddr = addressDimension(r.dst, v, 'daddr', named)
    const fqdn = r.set && !r.dst.any ? `${FAMILY[v]} daddr @${v === 4 ? r.set.v4 : r.set.v6}` : undefined
    const dims: Dimension[] = [src]
    if (dstAddr && r.dst.any && r.src.any) dims.push({ alts: [`meta nfproto ipv${v}`] })
    else if (dstAddr) dims.push(dstAddr)
    if (dstAddr && fqdn !== undefined) {
      // Addresses and learned names are two destinations of one rule: lines for each.
      lines.push(...expand([src, dstAddr, l4(v)]), ...expand([{ alts: [...src.alts] }, { alts: [fqdn] }, l4(v)]))
      continue
    }
    if (!dstAddr && fqdn === undefined) continue
    if (!dstAddr && fqdn !== undefined) dims.push({ alts: [fqdn] })
    dims.push(l4(v))
    lines.push(...expand(dims))
  }
  return lines
}

function learnedElements(learned: readonly { address: string; timeoutSec: number }[] | undefined, v: V): string {
  if (!learned) return ''
  const els = learned
    .filter((e) => parseIp(e.address)?.v === v && e.timeoutSec >= 1)
    .map((e) => `${e.address} timeout ${Math.ceil(e.timeoutSec)}s`)
  return els.length === 0 ? '' : ` elements = { ${els.join(', ')} };`
}

/** Compiles a checked policy into the `nft -f` text of the aks-egress table. */
export function compileNftables(policy: Policy, options: NftablesOptions = {}): NftablesRuleset {
  const notes: NftablesNote[] = []
  const nodes = cidrsOf(options.nodeCidrs ?? policy.profile?.nodeCidrs ?? [])
  const egress = options.egressInterface ?? 'eth0'
  const offload = options.flowtable === false ? undefined : flowtableDevices(egress, options.ingressInterfaces)
  const dnsPort = options.dnsPort ?? 53
  const sshFrom = cidrsOf(options.sshFrom ?? ['*'])
  const azure = options.azurePlatform ?? true
  const report = policy.settings.mode === 'report'
  const sets = new FqdnSetIndex()
  if (nodes.v4.length === 0 && nodes.v6.length === 0) {
    notes.push({
      rule: undefined,
      construct: 'no node subnets (profile nodeCidrs or --node-cidr)',
      outcome: 'DNS and the proxy ports are accepted from private ranges, and no traffic is exempt as internal',
      severity: 'warning',
    })
  }
  const clientSources: Blocks = nodes.v4.length + nodes.v6.length > 0 ? nodes : cidrsOf([...PRIVATE_V4, ...PRIVATE_V6])

  // Application-rule ports: the L7 listeners.
  const appPorts = new Map<number, 'Http' | 'Https'>()
  const appRules: Array<{ path: string; protocols: string }> = []
  for (const { group, collection } of collectionsInOrder(policy, 'application')) {
    for (const rule of collection.rules) {
      const web = rule.protocols.filter((p) => p.type !== 'Mssql')
      if (web.length > 0) appRules.push({ path: `${group.name}/${collection.name}/${rule.name}`, protocols: web.map((p) => `${p.type}:${p.port}`).join(',') })
      for (const p of rule.protocols) {
        if (p.type === 'Mssql') {
          notes.push({
            rule: `${group.name}/${collection.name}/${rule.name}`,
            construct: `Mssql:${p.port} (no transparent L7 listener for it)`,
            outcome: 'not redirected: such flows fall to the network rules (add one for the SQL address)',
            severity: 'error',
          })
          continue
        }
        const known = appPorts.get(p.port)
        if (known !== undefined && known !== p.type) {
          // As the listener plan (proxy/listener-plan.ts): the port's listener reads TLS.
          notes.push({ rule: `${group.name}/${collection.name}/${rule.name}`, construct: `${p.type}:${p.port} where another rule has ${known}:${p.port}`, outcome: `the Https listener serves port ${p.port}`, severity: 'warning' })
          appPorts.set(p.port, 'Https')
          continue
        }
        appPorts.set(p.port, p.type)
      }
    }
  }
  // Listener ports: those of the running listeners when given (serve --transparent binds them
  // first), else the listener plan's default offset (listener-plan.ts), so that the export shows
  // what serve applies. An application port without a listener is not redirected: its flows fall
  // to the network rules (fail closed), never to a port something else may listen on.
  const listeners: ListenerPort[] = []
  const defaults = listenPortsFor(appPorts.keys(), DEFAULT_LISTENER_PORT_OFFSET)
  for (const [port, kind] of [...appPorts].sort((a, b) => a[0] - b[0])) {
    const listenerPort = options.listenerPorts ? options.listenerPorts.get(port) : defaults.get(port)
    if (listenerPort === undefined) {
      notes.push({ rule: undefined, construct: `${kind}:${port} (no L7 listener is open for it)`, outcome: 'not redirected: such flows fall to the network rules', severity: 'error' })
      continue
    }
    listeners.push({ kind, originalPort: port, listenerPort })
  }
  const redirectPorts = listeners.map((l) => l.originalPort)

  // Network rules, in processing order.
  const net: CompiledNetRule[] = []
  for (const { group, collection } of collectionsInOrder(policy, 'network')) {
    for (const rule of collection.rules) {
      const path = rulePath({ group: group.name, collection: collection.name, rule: rule.name, type: 'network' })
      const ordinal = net.length
      const dst = blocks(policy, rule.destinationAddresses, rule.destinationIpGroups)
      for (const tag of dst.tags) {
        notes.push({ rule: path, construct: `service tag "${tag}" (no address ranges at hand)`, outcome: 'left out: flows to it are not allowed by this rule (use its CIDRs or an IP group)', severity: 'error' })
      }
      const patterns: Array<{ text: string; pattern: FqdnPattern }> = []
      for (const f of rule.destinationFqdns) {
        const parsed = parseFqdnPattern(f)
        if (parsed.ok) patterns.push({ text: f, pattern: parsed.pattern })
      }
      const set = patterns.length > 0 ? sets.add(ordinal, path, patterns) : undefined
      // Empty source lists mean any source, as in the engine.
      const noSource = rule.sourceAddresses.length === 0 && rule.sourceIpGroups.length === 0
      const src = noSource ? cidrsOf(['*']) : blocks(policy, rule.sourceAddresses, rule.sourceIpGroups)
      net.push({ path, allow: collection.action === 'Allow', rule, src, dst, set, ports: parsePorts(rule.destinationPorts) })
    }
  }

  const named = new NamedSets()
  const out: string[] = []
  const line = (indent: number, text: string): void => {
    out.push(`${'\t'.repeat(indent)}${text}`)
  }
  line(0, `table ${TABLE}`)
  line(0, `delete table ${TABLE}`)
  line(0, `table ${TABLE} {`)

  // Sets.
  line(1, `set node_v4 { type ipv4_addr; flags interval;${nodes.v4.length > 0 ? ` elements = { ${addressElements(nodes.v4, 4).join(', ')} };` : ''} }`)
  line(1, `set node_v6 { type ipv6_addr; flags interval;${nodes.v6.length > 0 ? ` elements = { ${addressElements(nodes.v6, 6).join(', ')} };` : ''} }`)
  for (const s of sets.all()) {
    line(1, `# ${s.rule}: ${s.patterns.join(', ')}`)
    line(1, `set ${s.v4} { type ipv4_addr; flags timeout;${learnedElements(options.learned?.get(s.v4), 4)} }`)
    line(1, `set ${s.v6} { type ipv6_addr; flags timeout;${learnedElements(options.learned?.get(s.v6), 6)} }`)
  }

  const setsEnd = out.length
  if (offload) line(1, flowtableDeclaration(offload))

  // DNAT rules.
  interface Dnat {
    path: string
    v: V
    proto: 'tcp' | 'udp'
    dest: string
    port: number
    to: string
    toPort: number
    src: Blocks
  }
  const dnats: Dnat[] = []
  for (const { group, collection } of collectionsInOrder(policy, 'dnat')) {
    for (const rule of collection.rules) {
      const path = `${group.name}/${collection.name}/${rule.name}`
      const dest = parseIp(rule.destinationAddress)
      const toText = rule.translatedAddress ?? (rule.translatedFqdn === undefined ? undefined : options.resolvedFqdns?.get(rule.translatedFqdn))
      const to = toText === undefined ? undefined : parseIp(toText)
      if (!dest) continue
      if (!to) {
        notes.push({ rule: path, construct: `translatedFqdn "${rule.translatedFqdn ?? ''}" (not resolved)`, outcome: 'left out', severity: 'error' })
        continue
      }
      if (to.v !== dest.v) {
        notes.push({ rule: path, construct: 'DNAT between IPv4 and IPv6 (nftables NAT keeps the family)', outcome: 'left out', severity: 'error' })
        continue
      }
      for (const proto of rule.ipProtocols) {
        dnats.push({
          path,
          v: dest.v,
          proto: proto === 'TCP' ? 'tcp' : 'udp',
          dest: rule.destinationAddress,
          port: rule.destinationPort,
          to: toText!,
          toPort: rule.translatedPort,
          src: rule.sourceAddresses.length === 0 && rule.sourceIpGroups.length === 0 ? cidrsOf(['*']) : blocks(policy, rule.sourceAddresses, rule.sourceIpGroups),
        })
      }
    }
  }
  // prerouting
  line(1, 'chain prerouting {')
  line(2, 'type nat hook prerouting priority dstnat; policy accept;')
  for (const d of dnats) {
    const src = addressDimension(d.src, d.v, 'saddr', named)
    if (src === undefined) continue
    const to = d.v === 4 ? `${d.to}:${d.toPort}` : `[${d.to}]:${d.toPort}`
    for (const m of expand([{ alts: [`${FAMILY[d.v]} daddr ${d.dest}`] }, src, { alts: [`${d.proto} dport ${d.port}`] }])) {
      line(2, `${m} counter dnat ${FAMILY[d.v]} to ${to} ${nftComment(d.path)}`)
    }
  }
  if (listeners.length > 0) {
    line(2, 'fib daddr type local accept')
    line(2, 'ip saddr @node_v4 ip daddr @node_v4 accept')
    line(2, 'ip6 saddr @node_v6 ip6 daddr @node_v6 accept')
    // A network rule that matches decides the flow at L4 (azure-facts §2.1): no redirect.
    for (const r of net) {
      if (!r.rule.ipProtocols.includes('TCP') && !r.rule.ipProtocols.includes('Any')) continue
      const ports = intersect(r.ports, redirectPorts)
      if (ports.length === 0) continue
      const l4 = (): Dimension => protocolDimension(['TCP'], ports.map((p) => ({ from: p, to: p })), 0, named)
      for (const m of ruleMatches(r, l4, named)) line(2, `${m} accept ${nftComment(`network rule ${r.path}`)}`)
    }
    // Application rules are decided by the L7 listeners, in processing order.
    for (const a of appRules) line(2, `# application rule ${a.path} (${a.protocols}): decided by the L7 listener`)
    for (const l of listeners) {
      line(2, `tcp dport ${l.originalPort} counter redirect to :${l.listenerPort} ${nftComment(`${l.kind}:${l.originalPort} to the L7 listener`)}`)
    }
  }
  line(1, '}')

  // forward
  line(1, 'chain forward {')
  line(2, 'type filter hook forward priority filter; policy drop;')
  if (offload) line(2, FLOW_OFFLOAD_RULE)
  line(2, 'ct state established,related accept')
  line(2, 'ct state invalid drop')
  line(2, `ip saddr @node_v4 ip daddr @node_v4 accept ${nftComment('inside the node subnets: not filtered')}`)
  line(2, `ip6 saddr @node_v6 ip6 daddr @node_v6 accept ${nftComment('inside the node subnets: not filtered')}`)
  for (const d of dnats) {
    line(2, `${FAMILY[d.v]} daddr ${d.to} ${d.proto} dport ${d.toPort} ct status dnat ct original ${FAMILY[d.v]} daddr ${d.dest} counter accept ${nftComment(d.path)}`)
  }
  for (const r of net) {
    const verdict = r.allow ? 'accept' : report ? 'accept' : 'drop'
    const what = r.allow ? r.path : report ? `would deny: ${r.path}` : r.path
    for (const m of ruleMatches(r, (v) => protocolDimension(r.rule.ipProtocols, r.ports, v, named), named)) {
      line(2, `${m === '' ? '' : `${m} `}counter ${verdict} ${nftComment(what)}`)
    }
  }
  line(2, `counter ${report ? 'accept' : 'drop'} ${nftComment(report ? 'would deny: no rule matched' : 'no rule matched')}`)
  line(1, '}')

  // input
  line(1, 'chain input {')
  line(2, 'type filter hook input priority filter; policy drop;')
  line(2, 'iif lo accept')
  line(2, 'ct state established,related accept')
  line(2, 'ct state invalid drop')
  line(2, 'icmp type { echo-request, destination-unreachable, time-exceeded, parameter-problem } accept')
  line(2, 'icmpv6 type { echo-request, destination-unreachable, packet-too-big, time-exceeded, parameter-problem, nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } accept')
  if (azure) {
    line(2, `udp sport 67 udp dport 68 accept ${nftComment('DHCP')}`)
    line(2, `udp sport 547 udp dport 546 accept ${nftComment('DHCPv6')}`)
    line(2, `ip saddr ${AZURE_PLATFORM_IP} accept ${nftComment('Azure platform: DNS, health probes, VM agent')}`)
  }
  if (listeners.length > 0) {
    line(2, `ct status dnat tcp dport ${setExpression(listeners.map((l) => String(l.listenerPort)))} accept ${nftComment('redirected to the L7 listeners')}`)
  }
  const tcpServices = [...new Set(options.serviceTcpPorts ?? [])].sort((a, b) => a - b)
  for (const v of [4, 6] as const) {
    const src = addrMatch(clientSources, v, 'saddr')
    if (src === undefined || src === '') continue
    line(2, `${src} meta l4proto { tcp, udp } th dport ${dnsPort} accept ${nftComment('DNS proxy')}`)
    if (tcpServices.length > 0) line(2, `${src} tcp dport ${setExpression(tcpServices.map(String))} accept ${nftComment('aks-egress services')}`)
  }
  if (sshFrom.any) line(2, `tcp dport 22 accept ${nftComment('SSH')}`)
  else {
    for (const v of [4, 6] as const) {
      const src = addrMatch(sshFrom, v, 'saddr')
      if (src !== undefined) line(2, `${src} tcp dport 22 accept ${nftComment('SSH')}`)
    }
  }
  line(2, 'counter drop')
  line(1, '}')

  // postrouting
  line(1, 'chain postrouting {')
  line(2, 'type nat hook postrouting priority srcnat; policy accept;')
  for (const d of dnats) {
    line(2, `${FAMILY[d.v]} daddr ${d.to} ${d.proto} dport ${d.toPort} ct status dnat ct original ${FAMILY[d.v]} daddr ${d.dest} masquerade ${nftComment(`${d.path}: replies through the firewall`)}`)
  }
  const iface = `oifname ${JSON.stringify(egress)}`
  if (options.snatPrivateRanges === true) line(2, `${iface} masquerade`)
  else {
    line(2, `${iface} ip daddr != { ${PRIVATE_V4.join(', ')} } masquerade`)
    line(2, `${iface} ip6 daddr != ${PRIVATE_V6[0]} masquerade`)
  }
  line(1, '}')
  line(0, '}')

  out.splice(setsEnd, 0, ...named.decls.map((d) => `\t${d}`))
  const header = [
    `# aks-egress nftables ruleset for policy "${policy.name}"${report ? ' (report mode: denials are counted, not enforced)' : ''}`,
    '# Applied atomically with `nft -f`: the table is declared, deleted and declared anew in one transaction.',
    ...notes.map((n) => `# ${n.severity.toUpperCase()} ${formatNote(n)}`),
  ]
  return {
    text: `${[...header, ...out].join('\n')}\n`,
    sets,
    listeners,
    notes,
    stats: { networkRules: net.length, dnatRules: dnats.length, lines: out.length },
    flowtableDevices: offload,
  }
}
