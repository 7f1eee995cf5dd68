/**
 * @module Pieces of nftables syntax (nft(8)): address and port sets written as merged intervals,
 * quoting of comments. Pure string work, shared by the ruleset compiler and the set updates.
 *
 * Why merge: an anonymous set `{ 10.0.0.0/8, 10.1.0.0/16 }` is rejected by nft ("conflicting
 * intervals specified"), and a policy may well name overlapping blocks (a CIDR and an IP group
 * that contains part of it). Blocks are merged into disjoint intervals first, then each interval is
 * written as the CIDRs it decomposes into (ranges `a-b` are valid too, but CIDRs read better).
 */
import type { Cidr } from '../../policy/cidr.ts'
import { formatIpv4, formatIpv6 } from '../../policy/ip-address.ts'
import type { PortRange } from '../../policy/port-range.ts'

/** nft limits a rule comment to 128 bytes (NFT_USERDATA_MAXLEN covers all user data). */
export const MAX_COMMENT_BYTES = 120

/** A comment statement: `comment "..."`, with `"` and `\` and control characters removed. */
export function nftComment(text: string): string {
  let clean = text.replace(/["\\\u0000-\u001f\u007f]/g, '')
  while (Buffer.byteLength(clean) > MAX_COMMENT_BYTES) clean = clean.slice(0, -1)
  return `comment "${clean}"`
}

interface Interval {
  lo: bigint
  hi: bigint
}

function intervalsOf(cidrs: readonly Cidr[], bits: number): Interval[] {
  const list = cidrs.map((c) => {
    const lo = BigInt(c.network)
    const size = 1n << BigInt(bits - c.prefix)
    return { lo, hi: lo + size - 1n }
  })
  list.sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0))
  const out: Interval[] = []
  for (const i of list) {
    const last = out[out.length - 1]
    if (last && i.lo <= last.hi + 1n) {
      if (i.hi > last.hi) last.hi = i.hi
    } else out.push({ ...i })
  }
  return out
}

/** The aligned blocks covering [lo, hi], largest first (the range decomposition of cidr.ts). */
function blocksOf(i: Interval, bits: number): Array<{ network: bigint; prefix: number }> {
  const out: Array<{ network: bigint; prefix: number }> = []
  let cur = i.lo
  while (cur <= i.hi) {
    let size = 0
    while (size < bits) {
      const mask = (1n << BigInt(size + 1)) - 1n
      if ((cur & mask) !== 0n || cur + mask > i.hi) break
      size++
    }
    out.push({ network: cur, prefix: bits - size })
    cur += 1n << BigInt(size)
  }
  return out
}

/**
 * The elements of an address set of one family, merged and sorted: `10.0.0.0/8`, `1.2.3.4`.
 * Empty input gives an empty list.
 */
export function addressElements(cidrs: readonly Cidr[], v: 4 | 6): string[] {
  const bits = v === 4 ? 32 : 128
  const out: string[] = []
  for (const interval of intervalsOf(cidrs.filter((c) => c.v === v), bits)) {
    for (const b of blocksOf(interval, bits)) {
      const text = v === 4 ? formatIpv4(Number(b.network)) : formatIpv6(b.network)
      out.push(b.prefix === bits ? text : `${text}/${b.prefix}`)
    }
  }
  return out
}

/** The elements of a port set, merged and sorted: `22`, `1000-2000`. */
export function portElements(ranges: readonly PortRange[]): string[] {
  const list = [...ranges].sort((a, b) => a.from - b.from)
  const merged: Array<{ from: number; to: number }> = []
  for (const r of list) {
    const last = merged[merged.length - 1]
    if (last && r.from <= last.to + 1) last.to = Math.max(last.to, r.to)
    else merged.push({ from: r.from, to: r.to })
  }
  return merged.map((r) => (r.from === r.to ? String(r.from) : `${r.from}-${r.to}`))
}

/** `x` for one element, `{ x, y }` for more. */
export function setExpression(elements: readonly string[]): string {
  if (elements.length === 1) return elements[0]!
  return `{ ${elements.join(', ')} }`
}
