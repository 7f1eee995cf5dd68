// Address and port sets are merged into disjoint intervals (nft rejects overlapping elements).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { addressElements, nftComment, portElements } from '../../../src/dataplane/nftables/nft-syntax.ts'
import { parseAddressBlock, type Cidr } from '../../../src/policy/cidr.ts'
import { parseIp } from '../../../src/policy/ip-address.ts'

function cidrs(...texts: string[]): Cidr[] {
  return texts.flatMap((t) => {
    const p = parseAddressBlock(t)
    if (!p.ok || p.any) throw new Error(t)
    return [...p.cidrs]
  })
}

test('overlapping and adjacent blocks merge; output is sorted CIDRs', () => {
  assert.deepEqual(addressElements(cidrs('10.1.0.0/16', '10.0.0.0/8', '192.0.2.1', '192.0.2.0'), 4), ['10.0.0.0/8', '192.0.2.0/31'])
  assert.deepEqual(addressElements(cidrs('10.241.1.0-10.241.1.31', '10.241.1.32/27'), 4), ['10.241.1.0/26'])
  assert.deepEqual(addressElements(cidrs('2001:db8::/48', '2001:db8:0:1::/64', '10.0.0.1'), 6), ['2001:db8::/48'])
  assert.deepEqual(addressElements([], 4), [])
})

test('ports merge: lists, ranges, overlaps', () => {
  assert.deepEqual(portElements([{ from: 9000, to: 9000 }, { from: 22, to: 22 }, { from: 9000, to: 9005 }, { from: 9006, to: 9010 }]), ['22', '9000-9010'])
})

test('merged elements cover exactly the addresses of the input (property)', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 24, max: 32 })), { minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 255 }), (blocks, probe) => {
      const input = blocks.map(([last, prefix]) => {
        const mask = prefix === 32 ? 255 : (0xff << (32 - prefix)) & 0xff
        return `192.0.2.${last & mask}/${prefix}`
      })
      const out = addressElements(cidrs(...input), 4)
      const ip = parseIp(`192.0.2.${probe}`)!
      const inside = (list: string[]): boolean => cidrs(...list).some((c) => c.v === 4 && ip.v === 4 && ((ip.n >>> (32 - c.prefix)) << (32 - c.prefix)) >>> 0 === (c.prefix === 0 ? 0 : c.network))
      assert.equal(inside(out), inside(input))
    }),
  )
})

test('comments: quotes and control characters removed, at most 120 bytes', () => {
  assert.equal(nftComment('a"b\\c\nd'), 'comment "abcd"')
  assert.equal(nftComment('x'.repeat(300)).length, 'comment ""'.length + 120)
})
