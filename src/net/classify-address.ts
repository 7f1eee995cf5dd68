/**
 * @module Which addresses the data plane may dial (DESIGN.md §4, smokescreen's `classifyAddr`).
 *
 * Every address a name resolves to is classified before it is dialled; anything but `public` is
 * refused unless `settings.unsafeAllowPrivateRanges` lists a block containing it (DNS rebinding,
 * SSRF to the instance metadata service). The classes are a closed set:
 *
 * | class              | blocks                                                                 |
 * |--------------------|------------------------------------------------------------------------|
 * | unspecified        | 0.0.0.0, :: (a connect to them reaches the local host)                  |
 * | loopback           | 127.0.0.0/8, ::1                                                       |
 * | private            | 10/8, 172.16/12, 192.168/16 (RFC 1918), fc00::/7 (RFC 4193)            |
 * | cgnat              | 100.64.0.0/10 (RFC 6598)                                               |
 * | link-local         | 169.254.0.0/16 incl. IMDS 169.254.169.254 (RFC 3927), fe80::/10        |
 * | azure-wireserver   | 168.63.129.16 (Azure DNS, health probes, the VM agent's wireserver)     |
 * | multicast          | 224.0.0.0/4, ff00::/8                                                  |
 * | broadcast          | 255.255.255.255                                                        |
 * | reserved           | 0/8, 192.0.0/24, TEST-NETs, 198.18/15, 240/4; ::/96, 100::/64,         |
 * |                    | 2001:db8::/32, 2001:20::/28 (RFC 6890 special-purpose registries)      |
 * | ipv4-mapped        | ::ffff:0:0/96 (RFC 4291 §2.5.5.2)                                      |
 * | nat64              | 64:ff9b::/96 (RFC 6052), 64:ff9b:1::/48 (RFC 8215)                     |
 * | 6to4               | 2002::/16 (RFC 3056)                                                   |
 * | teredo             | 2001::/32 (RFC 4380)                                                   |
 * | self               | an address and port the proxy itself listens on (a loop)               |
 * | public             | everything else                                                        |
 *
 * IPv4-embedding IPv6 forms are refused as such, whatever the IPv4 inside: they exist to reach an
 * IPv4 host by another path, which is exactly what a filter must not let through unexamined.
 * `self` and `unspecified` are never opened by `unsafeAllowPrivateRanges`.
 */
import { parseAddressBlock, type Cidr } from '../policy/cidr.ts'
import { CidrTable } from '../policy/cidr-table.ts'
import { compactIp, parseIpv4, parseIpv6, type IpAddress } from '../policy/ip-address.ts'

export type AddressClass =
  | 'public'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'cgnat'
  | 'link-local'
  | 'azure-wireserver'
  | 'multicast'
  | 'broadcast'
  | 'reserved'
  | 'ipv4-mapped'
  | 'nat64'
  | '6to4'
  | 'teredo'
  | 'self'

/** Every class except `public`, in a stable order (metrics labels, docs). */
export const DENIED_ADDRESS_CLASSES: readonly AddressClass[] = Object.freeze([
  'unspecified',
  'loopback',
  'private',
  'cgnat',
  'link-local',
  'azure-wireserver',
  'multicast',
  'broadcast',
  'reserved',
  'ipv4-mapped',
  'nat64',
  '6to4',
  'teredo',
  'self',
])

/** The special blocks, most specific first where they overlap (the table is searched by all). */
const SPECIAL_BLOCKS: ReadonlyArray<readonly [string, AddressClass]> = [
  ['168.63.129.16', 'azure-wireserver'],
  ['0.0.0.0', 'unspecified'],
  ['0.0.0.0/8', 'reserved'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'cgnat'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'reserved'],
  ['192.0.2.0/24', 'reserved'],
  ['192.88.99.0/24', 'reserved'],
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'reserved'],
  ['198.51.100.0/24', 'reserved'],
  ['203.0.113.0/24', 'reserved'],
  ['224.0.0.0/4', 'multicast'],
  ['255.255.255.255', 'broadcast'],
  ['240.0.0.0/4', 'reserved'],
  ['::', 'unspecified'],
  ['::1', 'loopback'],
  ['::/96', 'reserved'],
  ['64:ff9b::/96', 'nat64'],
  ['64:ff9b:1::/48', 'nat64'],
  ['100::/64', 'reserved'],
  ['2001::/32', 'teredo'],
  ['2001:20::/28', 'reserved'],
  ['2001:db8::/32', 'reserved'],
  ['2002::/16', '6to4'],
  ['fc00::/7', 'private'],
  ['fe80::/10', 'link-local'],
  ['ff00::/8', 'multicast'],
]

interface Entry {
  readonly prefix: number
  readonly cls: AddressClass
}

function buildTable(): CidrTable<Entry> {
  const table = new CidrTable<Entry>()
  for (const [text, cls] of SPECIAL_BLOCKS) {
    const parsed = parseAddressBlock(text)
    if (!parsed.ok || parsed.any) throw new Error(`classify-address: bad built-in block ${text}`)
    for (const c of parsed.cidrs) table.add(c, { prefix: c.prefix, cls })
  }
  return table
}

const TABLE = buildTable()
const MAPPED_PREFIX = 0xffffn

/**
 * An address as the classifier sees it: IPv4 or IPv6 **without** folding `::ffff:a.b.c.d` to IPv4
 * (the policy's `parseIp` folds; here the mapped form is a class of its own).
 */
export interface RawAddress {
  readonly ip: IpAddress
  readonly mapped: boolean
}

/** Parses the text of an address (no brackets, no zone); undefined when it is not one. */
export function parseRawAddress(text: string): RawAddress | undefined {
  const v4 = parseIpv4(text)
  if (v4 >= 0) return { ip: { v: 4, n: v4 }, mapped: false }
  const v6 = parseIpv6(text)
  if (v6 === undefined) return undefined
  if (v6 >> 32n === MAPPED_PREFIX) return { ip: { v: 4, n: Number(v6 & 0xffffffffn) }, mapped: true }
  return { ip: { v: 6, n: v6 }, mapped: false }
}

/** The proxy's own listening sockets: `address` may be unspecified (0.0.0.0, ::), meaning every local address. */
export interface ListenAddress {
  readonly address: string
  readonly port: number
}

export interface ClassifyContext {
  /** Blocks the policy opens (`settings.unsafeAllowPrivateRanges`), compiled by `compileAllowedRanges`. */
  readonly allowed: AllowedRanges
  /** The proxy's own listening addresses (`self`). */
  readonly listening: readonly ListenAddress[]
  /** Addresses of the local host's interfaces, used when a listener is on an unspecified address. */
  readonly localAddresses: readonly string[]
}

export interface AllowedRanges {
  readonly table: CidrTable<true>
  readonly size: number
}

/** Compiles `unsafeAllowPrivateRanges` (already validated by config/). Entries that do not parse are skipped. */
export function compileAllowedRanges(blocks: readonly string[]): AllowedRanges {
  const table = new CidrTable<true>()
  const cidrs: Cidr[] = []
  for (const b of blocks) {
    const parsed = parseAddressBlock(b)
    if (parsed.ok && !parsed.any) cidrs.push(...parsed.cidrs)
    else if (parsed.ok) {
      cidrs.push({ v: 4, network: 0, prefix: 0 }, { v: 6, network: 0n, prefix: 0 })
    }
  }
  for (const c of cidrs) table.add(c, true)
  return { table, size: cidrs.length }
}

export const NO_ALLOWED_RANGES: AllowedRanges = compileAllowedRanges([])

/** The class of an address by its blocks alone (no `self`, no policy). */
export function addressClassOf(addr: RawAddress): AddressClass {
  if (addr.mapped) return 'ipv4-mapped'
  const found: Entry[][] = []
  TABLE.collect(compactIp(addr.ip), found)
  let best: Entry | undefined
  for (const list of found) for (const e of list) if (!best || e.prefix > best.prefix) best = e
  return best ? best.cls : 'public'
}

function sameAddress(a: RawAddress, b: RawAddress): boolean {
  return a.mapped === b.mapped && a.ip.v === b.ip.v && a.ip.n === b.ip.n
}

function isSelf(addr: RawAddress, port: number, ctx: ClassifyContext): boolean {
  for (const l of ctx.listening) {
    if (l.port !== port) continue
    const la = parseRawAddress(l.address)
    if (!la) continue
    if (sameAddress(la, addr)) return true
    if (addressClassOf(la) === 'unspecified') {
      if (addressClassOf(addr) === 'loopback') return true
      for (const local of ctx.localAddresses) {
        const lo = parseRawAddress(local)
        if (lo && sameAddress(lo, addr)) return true
      }
    }
  }
  return false
}

export interface Classification {
  /** The class of the address by its blocks (or `self`). */
  readonly cls: AddressClass
  /** Whether the address may be dialled: public, or opened by the policy. */
  readonly allowed: boolean
}

/**
 * Classifies the address `text` as a destination on `port`.
 * @example classifyAddress('169.254.169.254', 80, ctx) // { cls: 'link-local', allowed: false }
 */
export function classifyAddress(text: string, port: number, ctx: ClassifyContext): Classification {
  const addr = parseRawAddress(text)
  if (!addr) return { cls: 'reserved', allowed: false }
  if (isSelf(addr, port, ctx)) return { cls: 'self', allowed: false }
  const cls = addressClassOf(addr)
  if (cls === 'public') return { cls, allowed: true }
  if (cls === 'unspecified' || cls === 'ipv4-mapped') return { cls, allowed: false }
  return { cls, allowed: ctx.allowed.size > 0 && ctx.allowed.table.has(compactIp(addr.ip)) }
}
