// The CIDR table against cidrContains, IPv4 and IPv6, with IPv6 blocks that differ only in their
// high 64 bits (V8 hashes bigint keys by the low 64 bits: the table swaps halves to spread them).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { cidrContains, parseAddressBlock, type Cidr } from '../../../src/policy/cidr.ts'
import { CidrTable } from '../../../src/policy/cidr-table.ts'
import { parseIp, type IpAddress } from '../../../src/policy/ip-address.ts'

function cidr(text: string): Cidr {
  const b = parseAddressBlock(text)
  if (!b.ok || b.any) throw new Error(text)
  return b.cidrs[0]!
}

function ip(text: string): IpAddress {
  const a = parseIp(text)
  if (!a) throw new Error(text)
  return a
}

function lookup(table: CidrTable<number>, address: IpAddress): number[] {
  const out: number[][] = []
  table.collect(address, out)
  return [...new Set(out.flat())].sort((a, b) => a - b)
}

test('IPv6 blocks of one prefix length that differ only in high bits are told apart', () => {
  const table = new CidrTable<number>()
  for (let i = 0; i < 2000; i++) table.add(cidr(`2001:db8:${i.toString(16)}::/48`), i)
  table.add(cidr('2001:db8:7::/64'), 2000)
  table.add(cidr('2001:db8:7::1'), 2001)
  table.add(cidr('::/0'), 2002)
  assert.deepEqual(lookup(table, ip('2001:db8:7::1')), [7, 2000, 2001, 2002])
  assert.deepEqual(lookup(table, ip('2001:db8:7:1::1')), [7, 2002])
  assert.deepEqual(lookup(table, ip('2001:db9::1')), [2002])
  assert.equal(table.has(ip('2001:db8:7cf::5')), true)
  assert.deepEqual(lookup(table, ip('10.0.0.1')), [])
})

const v4Arb = fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 })).map(([n, p]): Cidr => {
  const mask = p === 0 ? 0 : (0xffffffff << (32 - p)) >>> 0
  return { v: 4, network: (n & mask) >>> 0, prefix: p }
})
// Few distinct high and low halves, so that blocks and addresses overlap often.
const half = fc.constantFrom(0n, 1n, 0x20010db8n << 32n, (0x20010db8n << 32n) | 7n, 0xffffffffffffffffn)
const v6ValueArb = fc.tuple(half, half).map(([hi, lo]) => (hi << 64n) | lo)
const v6Arb = fc.tuple(v6ValueArb, fc.constantFrom(0, 16, 32, 48, 63, 64, 65, 96, 127, 128)).map(([n, p]): Cidr => {
  const all = (1n << 128n) - 1n
  const mask = p === 0 ? 0n : (all << BigInt(128 - p)) & all
  return { v: 6, network: n & mask, prefix: p }
})
const addressArb = fc.oneof(
  fc.integer({ min: 0, max: 0xffffffff }).map((n): IpAddress => ({ v: 4, n })),
  v6ValueArb.map((n): IpAddress => ({ v: 6, n })),
)

test('property: collect and has agree with cidrContains', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(v4Arb, v6Arb), { minLength: 1, maxLength: 30 }), fc.array(addressArb, { minLength: 1, maxLength: 20 }), (blocks, addresses) => {
      const table = new CidrTable<number>()
      for (const [i, b] of blocks.entries()) table.add(b, i)
      // Also probe the blocks' own network addresses: each must at least find its block.
      const probes = [...addresses, ...blocks.map((b): IpAddress => (b.v === 4 ? { v: 4, n: b.network } : { v: 6, n: b.network }))]
      for (const a of probes) {
        const expected = blocks.flatMap((b, i) => (cidrContains(b, a) ? [i] : []))
        assert.deepEqual(lookup(table, a), expected)
        assert.equal(table.has(a), expected.length > 0)
      }
    }),
    { numRuns: 500 },
  )
})
