// The engine's destination-block index (src/policy/cidr-index.ts) and source sets
// (src/policy/source-set.ts) against cidrContains, IPv4 and IPv6, small sets and large ones.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { cidrContains, parseAddressBlock, type Cidr } from '../../../src/policy/cidr.ts'
import { CidrIndexBuilder } from '../../../src/policy/cidr-index.ts'
import { parseIp, type IpAddress } from '../../../src/policy/ip-address.ts'
import { IP_V4, parseIpWords } from '../../../src/policy/ip-words.ts'
import { PostingsBuilder, postingsOf } from '../../../src/policy/postings.ts'
import { SourceSet, sourceSetKey } from '../../../src/policy/source-set.ts'

function cidrsOf(text: string): readonly Cidr[] {
  const b = parseAddressBlock(text)
  if (!b.ok || b.any) throw new Error(text)
  return b.cidrs
}

function ip(text: string): IpAddress {
  const a = parseIp(text)
  if (!a) throw new Error(text)
  return a
}

const v4 = fc.tuple(fc.constantFrom(10, 20, 255), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 255 })).map((p) => p.join('.'))
const v6 = fc.tuple(fc.constantFrom('2001:db8', '2001:db9', 'fd00'), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 })).map(([a, b, c]) => `${a}:${b}::${c}`)
/** An IPv4 block of any prefix length: an address of `v4` with the host bits cleared. */
const v4Block = fc.tuple(v4, fc.integer({ min: 0, max: 32 })).map(([a, prefix]) => {
  const n = ip(a).n as number
  const net = prefix === 0 ? 0 : (n & (0xffffffff << (32 - prefix))) >>> 0
  return `${[net >>> 24, (net >>> 16) & 255, (net >>> 8) & 255, net & 255].join('.')}/${prefix}`
})
const block = fc.oneof(
  v4,
  v4Block,
  fc.constantFrom('10.0.0.0/8', '10.1.0.0/16', '20.0.0.0/14', '0.0.0.0/0', '255.255.255.255', '10.0.1.0-10.0.2.3', '2001:db8::/32', '2001:db8:1::/48', '::/0', 'fd00::1'),
  v6,
)

test('property: the index collects exactly the blocks that contain an address', () => {
  fc.assert(
    fc.property(fc.array(block, { minLength: 1, maxLength: 30 }), fc.array(fc.oneof(v4, v6), { minLength: 1, maxLength: 20 }), (blocks, addresses) => {
      const builder = new CidrIndexBuilder()
      const all: Array<{ cidr: Cidr; i: number }> = []
      for (const [i, b] of blocks.entries()) {
        for (const cidr of cidrsOf(b)) {
          builder.add(cidr, i)
          all.push({ cidr, i })
        }
      }
      const postings = new PostingsBuilder()
      const index = builder.build(postings)
      const data = postings.finish()
      const out = new Int32Array(512)
      for (const text of addresses) {
        const a = ip(text)
        const words = new Int32Array(4)
        const kind = parseIpWords(text, words)
        const n = kind === IP_V4 ? index.collect4(words[0]!, out, 0) : index.collect6(words, out, 0)
        const got = [...new Set(Array.from(out.subarray(0, n)).flatMap((r) => postingsOf(r, data)))].sort((x, y) => x - y)
        const want = [...new Set(all.filter((x) => cidrContains(x.cidr, a)).map((x) => x.i))].sort((x, y) => x - y)
        assert.deepEqual(got, want, text)
      }
    }),
    { numRuns: 1000, seed: 424242 },
  )
})

test('property: a source set holds exactly the addresses its blocks contain (small sets scanned, large ones tabled)', () => {
  fc.assert(
    fc.property(fc.array(block, { minLength: 0, maxLength: 20 }), fc.array(fc.oneof(v4, v6), { minLength: 1, maxLength: 20 }), (blocks, addresses) => {
      const cidrs = blocks.flatMap((b) => cidrsOf(b))
      const set = new SourceSet(cidrs)
      for (const text of addresses) {
        const a = ip(text)
        const words = new Int32Array(4)
        assert.equal(set.has(parseIpWords(text, words), words), cidrs.some((c) => cidrContains(c, a)), text)
      }
    }),
    { numRuns: 1000, seed: 4242 },
  )
})

test('source sets of the same blocks in another order share a key; other blocks do not', () => {
  const a = [...cidrsOf('10.240.0.0/16'), ...cidrsOf('fd00::/8')]
  const b = [...cidrsOf('fd00::/8'), ...cidrsOf('10.240.0.0/16')]
  assert.equal(sourceSetKey(a), sourceSetKey(b))
  assert.notEqual(sourceSetKey(a), sourceSetKey(cidrsOf('10.240.0.0/15')))
})
