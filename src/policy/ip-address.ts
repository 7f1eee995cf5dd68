/**
 * @module IP address parsing and formatting, character by character (no `Number()` on parts, no
 * regular expressions): the parsers reject what they do not understand rather than guess.
 *
 * - IPv4: dotted quad, decimal, 0–255 per octet, no leading zeros (RFC 6943 §3.1.1 warns that
 *   `010.0.0.1` is octal to some parsers), nothing else (`1.2.3`, `0x7f.1`, `1e2.0.0.1`: rejected).
 * - IPv6: RFC 4291 §2.2 text forms, `::` once, an optional trailing dotted IPv4; no zone index.
 *   IPv4-mapped addresses (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2) fold to IPv4 for matching.
 * IPv4 is a uint32 `number`, IPv6 a 128-bit `bigint`.
 */

import { hexValue, readIpv4 } from './ip-words.ts'

/** Scratch for one IPv4 word: parsing is synchronous. */
const word = new Int32Array(1)

export type IpAddress = { readonly v: 4; readonly n: number } | { readonly v: 6; readonly n: bigint }

/** Parses a dotted-quad IPv4 address in `s[start, end)`; -1 when invalid. */
export function parseIpv4(s: string, start = 0, end = s.length): number {
  return readIpv4(s, start, end, word, 0) ? word[0]! >>> 0 : -1
}

/** Parses an IPv6 address (no brackets, no zone); undefined when invalid. */
export function parseIpv6(s: string): bigint | undefined {
  if (s.length < 2 || s.length > 45) return undefined
  const groups: number[] = []
  let gap = -1 // index in groups where "::" stands
  let i = 0
  if (s.startsWith('::')) {
    gap = 0
    i = 2
    if (s.length === 2) return 0n
  } else if (s.charCodeAt(0) === 0x3a) {
    return undefined
  }
  while (i < s.length) {
    // An embedded IPv4 may end the address: find whether this group contains a dot.
    let j = i
    let hasDot = false
    while (j < s.length && s.charCodeAt(j) !== 0x3a) {
      if (s.charCodeAt(j) === 0x2e) hasDot = true
      j++
    }
    if (hasDot) {
      if (j !== s.length) return undefined
      const v4 = parseIpv4(s, i, j)
      if (v4 < 0) return undefined
      groups.push(v4 >>> 16, v4 & 0xffff)
      break
    }
    const len = j - i
    if (len === 0 || len > 4) return undefined
    let g = 0
    for (let k = i; k < j; k++) {
      const h = hexValue(s.charCodeAt(k))
      if (h < 0) return undefined
      g = g * 16 + h
    }
    groups.push(g)
    if (j === s.length) break
    // s[j] is ':'
    if (s.charCodeAt(j + 1) === 0x3a) {
      if (gap !== -1) return undefined
      gap = groups.length
      i = j + 2
      if (i === s.length) break
    } else {
      i = j + 1
      if (i === s.length) return undefined // trailing single ':'
    }
  }
  if (groups.length > 8 || (gap === -1 && groups.length !== 8) || (gap !== -1 && groups.length > 7)) return undefined
  let n = 0n
  const fill = 8 - groups.length
  for (let k = 0, out = 0; out < 8; out++) {
    const g = gap !== -1 && out >= gap && out < gap + fill ? 0 : (groups[k++] ?? 0)
    n = (n << 16n) | BigInt(g)
  }
  return n
}

/** Parses IPv4 or IPv6 (IPv4-mapped IPv6 folds to IPv4). Brackets are accepted around IPv6. */
export function parseIp(text: string): IpAddress | undefined {
  const v4 = parseIpv4(text)
  if (v4 >= 0) return { v: 4, n: v4 }
  let s = text
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1)
  const v6 = parseIpv6(s)
  if (v6 === undefined) return undefined
  if (v6 >> 32n === 0xffffn) return { v: 4, n: Number(v6 & 0xffffffffn) }
  return { v: 6, n: v6 }
}

export function isIpLiteral(text: string): boolean {
  return parseIp(text) !== undefined
}

export function formatIpv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`
}

/** RFC 5952 canonical text: lower case, longest run of two or more zero groups as `::`. */
export function formatIpv6(n: bigint): string {
  if (n >> 32n === 0xffffn) return `::ffff:${formatIpv4(Number(n & 0xffffffffn))}`
  const groups: number[] = []
  for (let k = 7; k >= 0; k--) groups.push(Number((n >> BigInt(k * 16)) & 0xffffn))
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

export function formatIp(ip: IpAddress): string {
  return ip.v === 4 ? formatIpv4(ip.n) : formatIpv6(ip.n)
}

/**
 * The hot-path form of `parseIp`: an IPv4 address as an int32 `number` (`| 0`, never boxed), an
 * IPv6 one as a `bigint`, IPv4-mapped IPv6 folded to IPv4; undefined when invalid. Allocates
 * nothing for IPv4.
 */
export function parseIpCompact(text: string): number | bigint | undefined {
  const v4 = parseIpv4(text)
  if (v4 >= 0) return v4 | 0
  let s = text
  if (s.length > 0 && s.charCodeAt(0) === 0x5b && s.charCodeAt(s.length - 1) === 0x5d) s = s.slice(1, -1)
  const v6 = parseIpv6(s)
  if (v6 === undefined) return undefined
  if (v6 >> 32n === 0xffffn) return Number(v6 & 0xffffffffn) | 0
  return v6
}

/** The compact form of a parsed address (int32 IPv4, bigint IPv6), as `CidrTable` takes it. */
export function compactIp(ip: IpAddress): number | bigint {
  return ip.v === 4 ? ip.n | 0 : ip.n
}
