/**
 * @module Address blocks: one IP (`10.0.0.1`), a CIDR (`10.0.0.0/16`, `fd00::/8`), a range
 * (`10.2.0.0-10.2.0.31`, as Azure IP Groups accept), or `*`. Ranges decompose into CIDRs.
 * A CIDR with host bits set (`10.0.0.1/16`) is rejected with the canonical block suggested.
 */
import { formatIp, formatIpv4, formatIpv6, parseIp, type IpAddress } from './ip-address.ts'

export type Cidr = { readonly v: 4; readonly network: number; readonly prefix: number } | { readonly v: 6; readonly network: bigint; readonly prefix: number }

export type ParsedBlock =
  | { readonly ok: true; readonly any: true }
  | { readonly ok: true; readonly any: false; readonly cidrs: readonly Cidr[]; readonly normal: string }
  | { readonly ok: false; readonly detail: string; readonly suggestion?: string }

const V4_ALL = 0xffffffff
const V6_ALL = (1n << 128n) - 1n

export function v4Mask(prefix: number): number {
  return prefix === 0 ? 0 : (V4_ALL << (32 - prefix)) >>> 0
}

export function v6Mask(prefix: number): bigint {
  return prefix === 0 ? 0n : (V6_ALL << BigInt(128 - prefix)) & V6_ALL
}

export function formatCidr(c: Cidr): string {
  return c.v === 4 ? `${formatIpv4(c.network)}/${c.prefix}` : `${formatIpv6(c.network)}/${c.prefix}`
}

export function cidrContains(c: Cidr, ip: IpAddress): boolean {
  if (c.v === 4) return ip.v === 4 && ((ip.n & v4Mask(c.prefix)) >>> 0) === c.network
  return ip.v === 6 && (ip.n & v6Mask(c.prefix)) === c.network
}

function parsePrefix(text: string, max: number): number {
  if (text.length === 0 || text.length > 3) return -1
  let n = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x30 || c > 0x39) return -1
    if (i > 0 && n === 0) return -1
    n = n * 10 + (c - 0x30)
  }
  return n <= max ? n : -1
}

/**
 * Parses an address block as a person wrote it. `normal` is the canonical spelling; a caller
 * reports a different input as not normalised.
 */
export function parseAddressBlock(input: string): ParsedBlock {
  if (input === '*') return { ok: true, any: true }
  const dash = input.indexOf('-')
  if (dash !== -1) return parseRange(input, dash)
  const slash = input.indexOf('/')
  const ipText = slash === -1 ? input : input.slice(0, slash)
  const ip = parseIp(ipText)
  if (!ip) return { ok: false, detail: `"${ipText}" is not an IPv4 or IPv6 address` }
  const max = ip.v === 4 ? 32 : 128
  const prefix = slash === -1 ? max : parsePrefix(input.slice(slash + 1), max)
  if (prefix < 0) return { ok: false, detail: `"${input.slice(slash + 1)}" is not a prefix length (0-${max})` }
  const cidr: Cidr =
    ip.v === 4 ? { v: 4, network: (ip.n & v4Mask(prefix)) >>> 0, prefix } : { v: 6, network: ip.n & v6Mask(prefix), prefix }
  const hostBits = ip.v === 4 ? cidr.network !== ip.n : cidr.network !== ip.n
  const normal = prefix === max ? formatIp(ip) : formatCidr(cidr)
  if (hostBits) {
    return { ok: false, detail: `"${input}" has host bits set after the /${prefix} prefix`, suggestion: formatCidr(cidr) }
  }
  return { ok: true, any: false, cidrs: [cidr], normal }
}

function parseRange(input: string, dash: number): ParsedBlock {
  const a = parseIp(input.slice(0, dash))
  const b = parseIp(input.slice(dash + 1))
  if (!a || !b) return { ok: false, detail: `"${input}" is not a range of two addresses (10.2.0.0-10.2.0.31)` }
  if (a.v !== b.v) return { ok: false, detail: `"${input}" mixes IPv4 and IPv6` }
  const lo = BigInt(a.n)
  const hi = BigInt(b.n)
  if (lo > hi) return { ok: false, detail: `"${input}" starts after it ends`, suggestion: `${formatIp(b)}-${formatIp(a)}` }
  const bits = a.v === 4 ? 32 : 128
  const cidrs: Cidr[] = []
  // Greedy decomposition: the largest aligned block that starts at `cur` and stays within `hi`.
  let cur = lo
  while (cur <= hi) {
    let size = 0
    while (size < bits) {
      const next = size + 1
      const blockMask = (1n << BigInt(next)) - 1n
      if ((cur & blockMask) !== 0n || cur + blockMask > hi) break
      size = next
    }
    const prefix = bits - size
    cidrs.push(a.v === 4 ? { v: 4, network: Number(cur), prefix } : { v: 6, network: cur, prefix })
    cur += 1n << BigInt(size)
  }
  return { ok: true, any: false, cidrs, normal: `${formatIp(a)}-${formatIp(b)}` }
}
