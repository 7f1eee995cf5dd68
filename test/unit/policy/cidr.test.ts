/**
 * Address blocks (src/policy/cidr.ts): CIDRs with their prefix bounds and host bits, ranges and
 * their decomposition into the minimal CIDR list, checked against a reference decomposition and
 * by membership of random and boundary addresses.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { cidrContains, formatCidr, parseAddressBlock, v4Mask, v6Mask, type Cidr, type ParsedBlock } from '../../../src/policy/cidr.ts'
import { formatIpv4, formatIpv6 } from '../../../src/policy/ip-address.ts'

function ok(parsed: ParsedBlock): { cidrs: readonly Cidr[]; normal: string } {
  if (!parsed.ok) assert.fail(`expected a block, got: ${parsed.detail}`)
  if (parsed.any) assert.fail('expected a block, got "*"')
  return parsed
}

function failed(parsed: ParsedBlock): { detail: string; suggestion?: string } {
  if (parsed.ok) assert.fail('expected a rejection')
  return parsed
}

const v4 = (a: number, b: number, c: number, d: number): number => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0

const blocks: ReadonlyArray<readonly [sentence: string, input: string, cidrs: readonly Cidr[], normal: string]> = [
  ['a CIDR is one block', '10.0.0.0/16', [{ v: 4, network: v4(10, 0, 0, 0), prefix: 16 }], '10.0.0.0/16'],
  ['one address is a /32', '10.0.0.1', [{ v: 4, network: v4(10, 0, 0, 1), prefix: 32 }], '10.0.0.1'],
  ['a /32 is spelled as the bare address', '10.0.0.1/32', [{ v: 4, network: v4(10, 0, 0, 1), prefix: 32 }], '10.0.0.1'],
  ['prefix 0 is every IPv4 address', '0.0.0.0/0', [{ v: 4, network: 0, prefix: 0 }], '0.0.0.0/0'],
  ['an IPv6 CIDR is one block', 'fd00::/8', [{ v: 6, network: 0xfdn << 120n, prefix: 8 }], 'fd00::/8'],
  ['an IPv6 CIDR is spelled in lower case', 'FD00::/8', [{ v: 6, network: 0xfdn << 120n, prefix: 8 }], 'fd00::/8'],
  ['prefix 0 is every IPv6 address', '::/0', [{ v: 6, network: 0n, prefix: 0 }], '::/0'],
  ['a /128 is spelled as the bare address', '2001:db8::/128', [{ v: 6, network: 0x20010db8n << 96n, prefix: 128 }], '2001:db8::'],
  ['an aligned range is one CIDR', '10.2.0.0-10.2.0.31', [{ v: 4, network: v4(10, 2, 0, 0), prefix: 27 }], '10.2.0.0-10.2.0.31'],
  [
    'an unaligned range is the fewest CIDRs that cover it',
    '10.0.0.1-10.0.0.6',
    [
      { v: 4, network: v4(10, 0, 0, 1), prefix: 32 },
      { v: 4, network: v4(10, 0, 0, 2), prefix: 31 },
      { v: 4, network: v4(10, 0, 0, 4), prefix: 31 },
      { v: 4, network: v4(10, 0, 0, 6), prefix: 32 },
    ],
    '10.0.0.1-10.0.0.6',
  ],
  [
    'a range one past a block adds a /32',
    '10.0.0.0-10.0.1.0',
    [
      { v: 4, network: v4(10, 0, 0, 0), prefix: 24 },
      { v: 4, network: v4(10, 0, 1, 0), prefix: 32 },
    ],
    '10.0.0.0-10.0.1.0',
  ],
  ['a range of one address is a /32', '10.0.0.5-10.0.0.5', [{ v: 4, network: v4(10, 0, 0, 5), prefix: 32 }], '10.0.0.5-10.0.0.5'],
  ['the whole IPv4 space as a range is /0', '0.0.0.0-255.255.255.255', [{ v: 4, network: 0, prefix: 0 }], '0.0.0.0-255.255.255.255'],
  ['an IPv6 range decomposes too', 'fd00::-fd00::ff', [{ v: 6, network: 0xfd00n << 112n, prefix: 120 }], 'fd00::-fd00::ff'],
  ['a range is spelled with canonical addresses', '10.0.0.1-::ffff:10.0.0.2', [{ v: 4, network: v4(10, 0, 0, 1), prefix: 32 }, { v: 4, network: v4(10, 0, 0, 2), prefix: 32 }], '10.0.0.1-10.0.0.2'],
]

for (const [sentence, input, cidrs, normal] of blocks) {
  test(`${sentence}: ${input}`, () => {
    const parsed = ok(parseAddressBlock(input))
    assert.deepEqual(parsed.cidrs, cidrs)
    assert.equal(parsed.normal, normal)
  })
}

test('"*" is any address', () => {
  assert.deepEqual(parseAddressBlock('*'), { ok: true, any: true })
})

const bad: ReadonlyArray<readonly [sentence: string, input: string, detail: string, suggestion?: string]> = [
  ['host bits after the prefix are rejected with the network suggested', '10.0.0.1/16', '"10.0.0.1/16" has host bits set after the /16 prefix', '10.0.0.0/16'],
  ['host bits under /0 suggest 0.0.0.0/0', '1.2.3.4/0', '"1.2.3.4/0" has host bits set after the /0 prefix', '0.0.0.0/0'],
  ['IPv6 host bits are rejected with the network suggested', 'fd00::1/8', '"fd00::1/8" has host bits set after the /8 prefix', 'fd00::/8'],
  ['an IPv4 prefix above 32 is rejected', '10.0.0.0/33', '"33" is not a prefix length (0-32)'],
  ['an IPv6 prefix above 128 is rejected', 'fd00::/129', '"129" is not a prefix length (0-128)'],
  ['an empty prefix is rejected', '10.0.0.0/', '"" is not a prefix length (0-32)'],
  ['a prefix with a leading zero is rejected', '10.0.0.0/08', '"08" is not a prefix length (0-32)'],
  ['a four-digit prefix is rejected', 'fd00::/0128', '"0128" is not a prefix length (0-128)'],
  ['a second prefix is rejected', 'fd00::/8/8', '"8/8" is not a prefix length (0-128)'],
  ['a space before the prefix is rejected', '10.0.0.0/ 8', '" 8" is not a prefix length (0-32)'],
  ['an invalid address before the prefix is rejected', '10.0.0.256/8', '"10.0.0.256" is not an IPv4 or IPv6 address'],
  ['three octets are not an address', '1.2.3', '"1.2.3" is not an IPv4 or IPv6 address'],
  ['a reversed range is rejected with the range turned round', '10.0.0.9-10.0.0.1', '"10.0.0.9-10.0.0.1" starts after it ends', '10.0.0.1-10.0.0.9'],
  ['a range of IPv4 and IPv6 is rejected', '10.0.0.1-::1', '"10.0.0.1-::1" mixes IPv4 and IPv6'],
  ['a range without an end is rejected', '10.0.0.1-', '"10.0.0.1-" is not a range of two addresses (10.2.0.0-10.2.0.31)'],
  ['spaces around the dash are rejected', '10.0.0.1 - 10.0.0.2', '"10.0.0.1 - 10.0.0.2" is not a range of two addresses (10.2.0.0-10.2.0.31)'],
  ['a CIDR is not a range end', '10.0.0.0/8-10.0.0.9', '"10.0.0.0/8-10.0.0.9" is not a range of two addresses (10.2.0.0-10.2.0.31)'],
]

for (const [sentence, input, detail, suggestion] of bad) {
  test(`${sentence}: ${input}`, () => {
    const parsed = failed(parseAddressBlock(input))
    assert.equal(parsed.detail, detail)
    assert.equal(parsed.suggestion, suggestion)
  })
}

test('masks have the prefix many leading one bits', () => {
  assert.equal(v4Mask(0), 0)
  assert.equal(v4Mask(8), 0xff000000)
  assert.equal(v4Mask(31), 0xfffffffe)
  assert.equal(v4Mask(32), 0xffffffff)
  assert.equal(v6Mask(0), 0n)
  assert.equal(v6Mask(1), 1n << 127n)
  assert.equal(v6Mask(128), (1n << 128n) - 1n)
})

test('a CIDR contains addresses of its own family only', () => {
  const net4: Cidr = { v: 4, network: 0, prefix: 0 }
  const net6: Cidr = { v: 6, network: 0n, prefix: 0 }
  assert.equal(cidrContains(net4, { v: 4, n: 0x7f000001 }), true)
  assert.equal(cidrContains(net4, { v: 6, n: 1n }), false)
  assert.equal(cidrContains(net6, { v: 6, n: 1n }), true)
  assert.equal(cidrContains(net6, { v: 4, n: 1 }), false)
  assert.equal(formatCidr({ v: 6, network: 0xfdn << 120n, prefix: 8 }), 'fd00::/8')
})

/** The reference decomposition: the maximal aligned blocks inside [lo, hi], found top-down. */
function referenceBlocks(lo: bigint, hi: bigint, bits: number): Array<{ network: bigint; prefix: number }> {
  const out: Array<{ network: bigint; prefix: number }> = []
  const visit = (network: bigint, prefix: number): void => {
    const last = network + (1n << BigInt(bits - prefix)) - 1n
    if (last < lo || network > hi) return
    if (network >= lo && last <= hi) {
      out.push({ network, prefix })
      return
    }
    visit(network, prefix + 1)
    visit(network + (1n << BigInt(bits - prefix - 1)), prefix + 1)
  }
  visit(0n, 0)
  return out
}

const bits4 = 32
const bits6 = 128
// Range ends near aligned boundaries as well as anywhere.
const v4End = fc.oneof(
  fc.integer({ min: 0, max: 0xffffffff }),
  fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }), fc.integer({ min: -1, max: 1 })).map(([n, k, d]) => {
    const aligned = k === 32 ? 0 : Math.floor(n / 2 ** k) * 2 ** k
    return Math.min(0xffffffff, Math.max(0, aligned + d))
  }),
)
// IPv6 outside ::ffff:0:0/96 (those fold to IPv4): the top group is 0x2001.
const v6End = fc.tuple(fc.bigInt({ min: 0n, max: (1n << 112n) - 1n }), fc.integer({ min: 0, max: 112 })).map(([n, k]) => (0x2001n << 112n) | ((n >> BigInt(k)) << BigInt(k)))

function checkRange(lo: bigint, hi: bigint, v: 4 | 6, samples: readonly bigint[]): void {
  const bits = v === 4 ? bits4 : bits6
  const fmt = (n: bigint): string => (v === 4 ? formatIpv4(Number(n)) : formatIpv6(n))
  const parsed = ok(parseAddressBlock(`${fmt(lo)}-${fmt(hi)}`))
  const blocks = parsed.cidrs.map((c) => ({ network: BigInt(c.network), prefix: c.prefix }))
  // Aligned, in order, adjacent: together exactly [lo, hi].
  let next = lo
  for (const b of blocks) {
    const size = 1n << BigInt(bits - b.prefix)
    assert.equal(b.network % size, 0n, 'aligned')
    assert.equal(b.network, next, 'adjacent')
    next = b.network + size
  }
  assert.equal(next, hi + 1n, 'ends at hi')
  // Minimal: the maximal aligned blocks, as the reference finds them.
  assert.deepEqual(blocks, referenceBlocks(lo, hi, bits))
  // Membership of boundary and random addresses.
  const max = (1n << BigInt(bits)) - 1n
  const probes = [lo, hi, lo - 1n, hi + 1n, ...blocks.flatMap((b) => [b.network, b.network - 1n]), ...samples].filter((a) => a >= 0n && a <= max)
  for (const a of probes) {
    const ip = v === 4 ? { v: 4 as const, n: Number(a) } : { v: 6 as const, n: a }
    assert.equal(
      parsed.cidrs.some((c) => cidrContains(c, ip)),
      a >= lo && a <= hi,
      fmt(a),
    )
  }
}

test('an IPv4 range decomposes into the minimal CIDR list whose union is the range (property)', () => {
  fc.assert(
    fc.property(v4End, v4End, fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 8 }), (a, b, samples) => {
      const [lo, hi] = a <= b ? [a, b] : [b, a]
      checkRange(BigInt(lo), BigInt(hi), 4, samples.map(BigInt))
    }),
    { numRuns: 1000 },
  )
})

test('an IPv6 range decomposes into the minimal CIDR list whose union is the range (property)', () => {
  fc.assert(
    fc.property(v6End, v6End, fc.array(fc.bigInt({ min: 0n, max: (1n << 112n) - 1n }), { maxLength: 8 }), (a, b, samples) => {
      const [lo, hi] = a <= b ? [a, b] : [b, a]
      checkRange(lo, hi, 6, samples.map((s) => (0x2001n << 112n) | s))
    }),
    { numRuns: 300 },
  )
})

test('a reversed range is rejected, with the range turned round as the fix (property)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }), (a, b) => {
      fc.pre(a !== b)
      const [lo, hi] = a < b ? [a, b] : [b, a]
      const parsed = failed(parseAddressBlock(`${formatIpv4(hi)}-${formatIpv4(lo)}`))
      assert.equal(parsed.suggestion, `${formatIpv4(lo)}-${formatIpv4(hi)}`)
    }),
  )
})

test('a CIDR is accepted exactly when it has no host bits, and the suggestion is its network (property)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }), (n, prefix) => {
      const network = (n & v4Mask(prefix)) >>> 0
      const parsed = parseAddressBlock(`${formatIpv4(n)}/${prefix}`)
      if (network === n) {
        assert.deepEqual(ok(parsed).cidrs, [{ v: 4, network, prefix }])
      } else {
        const suggestion = failed(parsed).suggestion
        assert.equal(suggestion, `${formatIpv4(network)}/${prefix}`)
        assert.equal(ok(parseAddressBlock(suggestion)).normal, suggestion)
      }
    }),
    { numRuns: 1000 },
  )
})
