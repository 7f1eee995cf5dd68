/**
 * @module Addresses as `int32` words, for the engine's hot path: `parseIpWords` reads IPv4 or
 * IPv6 text into a caller's `Int32Array` and allocates nothing. `parseIpCompact` (ip-address.ts)
 * gives IPv6 as a `bigint`, which costs a dozen heap allocations per address (the groups array,
 * every shift and or) and a `bigint` hash per table probe; at a few percent of IPv6 flows that
 * was a fifth of the engine's time on a small policy.
 *
 * Same grammar and answers as `parseIpCompact` (a property test holds the two together): dotted
 * quads without leading zeros; RFC 4291 §2.2 IPv6 text with one `::` at most and an optional
 * trailing dotted quad, optionally in brackets, no zone; IPv4-mapped IPv6 (`::ffff:a.b.c.d`,
 * RFC 4291 §2.5.5.2) folds to IPv4.
 */

export const IP_NONE = 0
export const IP_V4 = 4
export const IP_V6 = 6
export type IpKind = typeof IP_NONE | typeof IP_V4 | typeof IP_V6

/** Scratch for the eight 16-bit groups of an IPv6 address: parsing is synchronous. */
const groups = new Int32Array(8)

/**
 * Reads a dotted quad in `s[start, end)` (no leading zeros) into `out[at]` as an int32 and returns
 * true, or returns false. An int32 because a uint32 past 127.255.255.255 is no small integer and is
 * boxed on the heap: one allocation per address. `parseIpv4` (ip-address.ts) reads through this.
 */
export function readIpv4(s: string, start: number, end: number, out: Int32Array, at: number): boolean {
  let value = 0
  let octet = 0
  let digits = 0
  let parts = 0
  for (let i = start; i <= end; i++) {
    const c = i === end ? 0x2e : s.charCodeAt(i)
    if (c === 0x2e) {
      if (digits === 0 || parts === 4) return false
      value = (value << 8) | octet
      parts++
      octet = 0
      digits = 0
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && octet === 0) return false // leading zero
      octet = octet * 10 + (c - 0x30)
      digits++
      if (octet > 255) return false
    } else {
      return false
    }
  }
  if (parts !== 4) return false
  out[at] = value
  return true
}

/** The value of a hex digit's char code; -1 for any other. */
export function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10
  return -1
}

/**
 * Reads `text` into `out`: IPv4 as `out[0]` (int32, `| 0`), returning IP_V4; IPv6 as
 * `out[0..3]`, the 32-bit words most significant first, returning IP_V6; IP_NONE when `text`
 * is not an address (`out` then holds garbage).
 */
export function parseIpWords(text: string, out: Int32Array): IpKind {
  if (readIpv4(text, 0, text.length, out, 0)) return IP_V4
  let start = 0
  let end = text.length
  if (end > 0 && text.charCodeAt(0) === 0x5b && text.charCodeAt(end - 1) === 0x5d) {
    start = 1
    end--
  }
  if (!parseIpv6Groups(text, start, end)) return IP_NONE
  const w0 = (groups[0]! << 16) | groups[1]!
  const w1 = (groups[2]! << 16) | groups[3]!
  const w2 = (groups[4]! << 16) | groups[5]!
  const w3 = (groups[6]! << 16) | groups[7]!
  if (w0 === 0 && w1 === 0 && w2 === 0xffff) {
    out[0] = w3
    return IP_V4
  }
  out[0] = w0
  out[1] = w1
  out[2] = w2
  out[3] = w3
  return IP_V6
}

/** Parses IPv6 text in `s[start, end)` into `groups` (all eight, `::` expanded). */
function parseIpv6Groups(s: string, start: number, end: number): boolean {
  const len = end - start
  if (len < 2 || len > 45) return false
  let count = 0
  let gap = -1 // index in groups where "::" stands
  let i = start
  if (s.charCodeAt(start) === 0x3a) {
    if (s.charCodeAt(start + 1) !== 0x3a) return false
    gap = 0
    i = start + 2
    if (i === end) {
      groups.fill(0)
      return true
    }
  }
  while (i < end) {
    // An embedded IPv4 may end the address: find whether this group contains a dot.
    let j = i
    let hasDot = false
    while (j < end && s.charCodeAt(j) !== 0x3a) {
      if (s.charCodeAt(j) === 0x2e) hasDot = true
      j++
    }
    if (hasDot) {
      if (j !== end || count > 6 || !readIpv4(s, i, j, groups, count)) return false
      const v4 = groups[count]!
      groups[count++] = v4 >>> 16
      groups[count++] = v4 & 0xffff
      break
    }
    const groupLength = j - i
    if (groupLength === 0 || groupLength > 4 || count === 8) return false
    let g = 0
    for (let k = i; k < j; k++) {
      const h = hexValue(s.charCodeAt(k))
      if (h < 0) return false
      g = g * 16 + h
    }
    groups[count++] = g
    if (j === end) break
    // s[j] is ':'
    if (s.charCodeAt(j + 1) === 0x3a) {
      if (gap !== -1) return false
      gap = count
      i = j + 2
      if (i === end) break
    } else {
      i = j + 1
      if (i === end) return false // trailing single ':'
    }
  }
  if ((gap === -1 && count !== 8) || (gap !== -1 && count > 7)) return false
  if (gap !== -1) {
    // Move the groups after the gap to the end, zeros in between.
    const tail = count - gap
    for (let k = 0; k < tail; k++) groups[7 - k] = groups[count - 1 - k]!
    for (let k = gap; k < 8 - tail; k++) groups[k] = 0
  }
  return true
}

/** The four words of a 128-bit `bigint`, most significant first, as `parseIpWords` writes them. */
export function wordsOfIpv6(n: bigint): [number, number, number, number] {
  return [Number((n >> 96n) & 0xffffffffn) | 0, Number((n >> 64n) & 0xffffffffn) | 0, Number((n >> 32n) & 0xffffffffn) | 0, Number(n & 0xffffffffn) | 0]
}
