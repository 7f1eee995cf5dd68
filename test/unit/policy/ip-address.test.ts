/**
 * IP address parsing and formatting (src/policy/ip-address.ts): what is accepted and rejected,
 * RFC 5952 canonical text, and properties checked against independent parsers (node:net,
 * WHATWG URL).
 */
import assert from 'node:assert/strict'
import { isIPv4, isIPv6 } from 'node:net'
import { test } from 'node:test'
import fc from 'fast-check'
import { formatIp, formatIpv4, formatIpv6, isIpLiteral, parseIp, parseIpv4, parseIpv6, type IpAddress } from '../../../src/policy/ip-address.ts'

/** An IPv6 address from its eight 16-bit groups. */
function v6(...groups: number[]): bigint {
  assert.equal(groups.length, 8)
  return groups.reduce((n, g) => (n << 16n) | BigInt(g), 0n)
}

const accepted: ReadonlyArray<readonly [sentence: string, input: string, expected: IpAddress]> = [
  ['a dotted quad is IPv4', '192.0.2.1', { v: 4, n: 0xc0000201 }],
  ['the lowest IPv4 address is accepted', '0.0.0.0', { v: 4, n: 0 }],
  ['the highest IPv4 address is accepted', '255.255.255.255', { v: 4, n: 0xffffffff }],
  ['a single zero octet is not a leading zero', '10.0.0.1', { v: 4, n: 0x0a000001 }],
  ['"::" is the unspecified IPv6 address', '::', { v: 6, n: 0n }],
  ['"::1" is the IPv6 loopback', '::1', { v: 6, n: 1n }],
  ['"1::" puts the group first and the zeros after it', '1::', { v: 6, n: v6(1, 0, 0, 0, 0, 0, 0, 0) }],
  ['eight groups need no "::"', '2001:db8:0:0:1:0:0:1', { v: 6, n: v6(0x2001, 0xdb8, 0, 0, 1, 0, 0, 1) }],
  ['hexadecimal digits may be upper case', '2001:DB8::AbCd', { v: 6, n: v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0xabcd) }],
  ['groups may have leading zeros (RFC 4291 §2.2)', '2001:0db8:0000::0001', { v: 6, n: v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1) }],
  ['"::" may stand for a single zero group', '1:2:3:4:5:6:7::', { v: 6, n: v6(1, 2, 3, 4, 5, 6, 7, 0) }],
  ['"::" may come first before seven groups', '::1:2:3:4:5:6:7', { v: 6, n: v6(0, 1, 2, 3, 4, 5, 6, 7) }],
  ['an IPv4-mapped address folds to IPv4 (RFC 4291 §2.5.5.2)', '::ffff:1.2.3.4', { v: 4, n: 0x01020304 }],
  ['an IPv4-mapped address in hexadecimal folds to IPv4 too', '::ffff:0102:0304', { v: 4, n: 0x01020304 }],
  ['an IPv4-mapped address written in full folds to IPv4', '0:0:0:0:0:FFFF:10.0.0.1', { v: 4, n: 0x0a000001 }],
  ['an embedded IPv4 outside ::ffff:0:0/96 stays IPv6', '64:ff9b::192.0.2.33', { v: 6, n: v6(0x64, 0xff9b, 0, 0, 0, 0, 0xc000, 0x0221) }],
  ['six groups and an embedded IPv4 make eight', '1:2:3:4:5:6:1.2.3.4', { v: 6, n: v6(1, 2, 3, 4, 5, 6, 0x0102, 0x0304) }],
  ['an IPv4-compatible address (::a.b.c.d) is not folded', '::1.2.3.4', { v: 6, n: v6(0, 0, 0, 0, 0, 0, 0x0102, 0x0304) }],
  ['brackets around IPv6 are accepted', '[::1]', { v: 6, n: 1n }],
  ['brackets around an IPv4-mapped address are accepted and it folds', '[::ffff:1.2.3.4]', { v: 4, n: 0x01020304 }],
]

for (const [sentence, input, expected] of accepted) {
  test(`${sentence}: ${JSON.stringify(input)}`, () => {
    assert.deepEqual(parseIp(input), expected)
    assert.equal(isIpLiteral(input), true)
  })
}

const rejected: ReadonlyArray<readonly [sentence: string, input: string]> = [
  ['an octet with a leading zero is rejected, as some parsers read it as octal (RFC 6943 §3.1.1)', '01.2.3.4'],
  ['a leading zero in the last octet is rejected', '1.2.3.04'],
  ['a double zero octet is rejected', '00.0.0.0'],
  ['three octets are not an address', '1.2.3'],
  ['five octets are not an address', '1.2.3.4.5'],
  ['a hexadecimal octet is rejected', '0x7f.0.0.1'],
  ['an exponent is not a number here', '1e2.0.0.1'],
  ['a leading space is rejected', ' 1.2.3.4'],
  ['a trailing space is rejected', '1.2.3.4 '],
  ['a trailing line break is rejected', '1.2.3.4\n'],
  ['an octet above 255 is rejected', '256.0.0.1'],
  ['an empty octet is rejected', '1..2.3'],
  ['a trailing dot is rejected', '1.2.3.4.'],
  ['a leading dot is rejected', '.1.2.3.4'],
  ['the empty string is not an address', ''],
  ['a 32-bit integer is not an address', '2130706433'],
  ['a sign is rejected', '+1.2.3.4'],
  ['full-width digits are rejected', '１.2.3.4'],
  ['nine groups are too many', '1:2:3:4:5:6:7:8:9'],
  ['seven groups without "::" are too few', '1:2:3:4:5:6:7'],
  ['"::" twice is ambiguous', '1::2::3'],
  ['":::" is rejected', ':::'],
  ['"::" cannot stand for no group at all', '1:2:3:4::5:6:7:8'],
  ['a zone index is rejected (%eth0)', 'fe80::1%eth0'],
  ['a URL-encoded zone index is rejected (%25)', 'fe80::1%25eth0'],
  ['a group of five digits is rejected', '12345::'],
  ['a non-hexadecimal digit is rejected', 'g::1'],
  ['a single leading colon is rejected', ':1::'],
  ['a single trailing colon is rejected', '1::2:'],
  ['an embedded IPv4 must come last', '1.2.3.4::'],
  ['an embedded IPv4 must have four octets', '::ffff:1.2.3'],
  ['an embedded IPv4 octet must not have a leading zero', '::ffff:01.2.3.4'],
  ['seven groups and an embedded IPv4 are nine', '1:2:3:4:5:6:7:1.2.3.4'],
  ['brackets around IPv4 are rejected', '[1.2.3.4]'],
  ['an unclosed bracket is rejected', '[::1'],
  ['a closing bracket alone is rejected', '::1]'],
  ['double brackets are rejected', '[[::1]]'],
  ['a space before IPv6 is rejected', ' ::1'],
]

for (const [sentence, input] of rejected) {
  test(`${sentence}: ${JSON.stringify(input)}`, () => {
    assert.equal(parseIp(input), undefined)
    assert.equal(isIpLiteral(input), false)
  })
}

test('parseIpv4 reads a part of a string, and -1 means invalid', () => {
  assert.equal(parseIpv4('x10.0.0.1y', 1, 9), 0x0a000001)
  assert.equal(parseIpv4('10.0.0.1', 0, 7), -1)
})

const canonical: ReadonlyArray<readonly [sentence: string, input: bigint, expected: string]> = [
  ['the longest run of zero groups is shortened to "::" (RFC 5952 §4.2.1)', v6(0x2001, 0xdb8, 0, 0, 0, 0, 2, 1), '2001:db8::2:1'],
  ['a single zero group is not shortened (RFC 5952 §4.2.2)', v6(0x2001, 0xdb8, 0, 1, 1, 1, 1, 1), '2001:db8:0:1:1:1:1:1'],
  ['the longer of two zero runs is shortened (RFC 5952 §4.2.3)', v6(0x2001, 0, 0, 1, 0, 0, 0, 1), '2001:0:0:1::1'],
  ['of two equal zero runs the first is shortened (RFC 5952 §4.2.3)', v6(0x2001, 0xdb8, 0, 0, 1, 0, 0, 1), '2001:db8::1:0:0:1'],
  ['leading zeros are dropped and hex is lower case (RFC 5952 §4.1, §4.3)', v6(0x2001, 0x0db8, 0xabcd, 0, 0, 0, 0, 0x0001), '2001:db8:abcd::1'],
  ['all zeros is "::"', 0n, '::'],
  ['the loopback is "::1"', 1n, '::1'],
  ['zeros at the end are shortened', v6(1, 0, 0, 0, 0, 0, 0, 0), '1::'],
  ['an address without zero groups is written in full', v6(0x2001, 0xdb8, 0xaaaa, 0xbbbb, 0xcccc, 0xdddd, 0xeeee, 0xffff), '2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff'],
  ['an IPv4-mapped address is written in mixed notation (RFC 5952 §5)', v6(0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304), '::ffff:1.2.3.4'],
]

for (const [sentence, input, expected] of canonical) {
  test(`${sentence}: ${expected}`, () => {
    assert.equal(formatIpv6(input), expected)
  })
}

test('IPv4 is formatted as a dotted quad', () => {
  assert.equal(formatIpv4(0), '0.0.0.0')
  assert.equal(formatIpv4(0xffffffff), '255.255.255.255')
  assert.equal(formatIp({ v: 4, n: 0xc0000201 }), '192.0.2.1')
  assert.equal(formatIp({ v: 6, n: 1n }), '::1')
})

// Generators. IPv6 groups are zero half of the time, so that runs of zero groups are common.
const group = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff }))
const groups = fc.array(group, { minLength: 8, maxLength: 8 })
const ipv6Value = groups.map((g) => g.reduce((n, x) => (n << 16n) | BigInt(x), 0n))
const ipv4Value = fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.constantFrom(0, 1, 0x7f000001, 0xffffffff))
const address: fc.Arbitrary<IpAddress> = fc.oneof(
  ipv4Value.map((n): IpAddress => ({ v: 4, n })),
  ipv6Value.map((n): IpAddress => ({ v: 6, n })),
  ipv4Value.map((n): IpAddress => ({ v: 6, n: (0xffffn << 32n) | BigInt(n) })),
)

/** The address parseIp gives for x: IPv4-mapped IPv6 folds to IPv4. */
function folded(x: IpAddress): IpAddress {
  return x.v === 6 && x.n >> 32n === 0xffffn ? { v: 4, n: Number(x.n & 0xffffffffn) } : x
}

test('parseIp(formatIp(x)) is x, IPv4-mapped IPv6 folded to IPv4 (property)', () => {
  fc.assert(
    fc.property(address, (x) => {
      assert.deepEqual(parseIp(formatIp(x)), folded(x))
    }),
    { numRuns: 2000 },
  )
})

test('every spelling of an IPv6 address (full, padded, upper case) parses to it (property)', () => {
  fc.assert(
    fc.property(groups, fc.boolean(), fc.boolean(), (g, pad, upper) => {
      let text = g.map((x) => (pad ? x.toString(16).padStart(4, '0') : x.toString(16))).join(':')
      if (upper) text = text.toUpperCase()
      const n = g.reduce((acc, x) => (acc << 16n) | BigInt(x), 0n)
      assert.deepEqual(parseIp(text), folded({ v: 6, n }))
    }),
    { numRuns: 1000 },
  )
})

test('formatIpv6 writes what the WHATWG URL serializer writes, outside ::ffff:0:0/96 (property)', () => {
  // The URL standard's IPv6 serializer compresses the first longest run of two or more zero
  // groups, as RFC 5952 §4.2 does; it does not use mixed notation, so mapped addresses are left out.
  fc.assert(
    fc.property(groups, (g) => {
      const n = g.reduce((acc, x) => (acc << 16n) | BigInt(x), 0n)
      fc.pre(n >> 32n !== 0xffffn)
      const full = g.map((x) => x.toString(16)).join(':')
      assert.equal(formatIpv6(n), new URL(`http://[${full}]/`).hostname.slice(1, -1))
    }),
    { numRuns: 2000 },
  )
})

test('parseIpv4 accepts exactly what node:net isIPv4 accepts (property)', () => {
  const text = fc.array(fc.constantFrom('0', '1', '2', '5', '9', '.', '25', '255', '256', '00', '1.2.3.4'), { maxLength: 12 }).map((a) => a.join(''))
  fc.assert(
    fc.property(text, (s) => {
      assert.equal(parseIpv4(s) >= 0, isIPv4(s), s)
    }),
    { numRuns: 5000 },
  )
})

test('parseIpv6 accepts exactly what node:net isIPv6 accepts, zone indexes aside (property)', () => {
  // isIPv6 accepts "fe80::1%eth0"; aks-egress rejects zone indexes, so "%" is not generated.
  const token = fc.constantFrom('::', ':', '.', '0', '1', 'f', 'F', 'ffff', 'abcd', '12345', '1.2.3.4', '255', '00', 'g')
  const text = fc.array(token, { maxLength: 16 }).map((a) => a.join(''))
  fc.assert(
    fc.property(text, (s) => {
      assert.equal(parseIpv6(s) !== undefined, isIPv6(s), s)
    }),
    { numRuns: 10000 },
  )
})
