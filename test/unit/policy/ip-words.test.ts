// parseIpWords (src/policy/ip-words.ts), the engine's allocation-free address parser, against
// parseIpCompact: the same texts accepted, the same address, IPv4-mapped IPv6 folded alike.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { parseIpCompact } from '../../../src/policy/ip-address.ts'
import { IP_NONE, IP_V4, IP_V6, parseIpWords, wordsOfIpv6 } from '../../../src/policy/ip-words.ts'

function assertAgrees(text: string, out = new Int32Array(4)): void {
  const want = parseIpCompact(text)
  const kind = parseIpWords(text, out)
  if (want === undefined) assert.equal(kind, IP_NONE, JSON.stringify(text))
  else if (typeof want === 'number') {
    assert.equal(kind, IP_V4, text)
    assert.equal(out[0], want, text)
  } else {
    assert.equal(kind, IP_V6, text)
    assert.deepEqual(Array.from(out), wordsOfIpv6(want), text)
  }
}

const cases = [
  '10.0.0.1', '255.255.255.255', '0.0.0.0', '010.0.0.1', '1.2.3', '1.2.3.4.5', '256.1.1.1', '',
  '::', '::1', '1::', '2001:db8::1', '2001:db8:0:0:0:0:0:1', '2001:db8::0:1', 'fe80::1:2:3:4:5:6', '1:2:3:4:5:6:7:8',
  '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7::', '::2:3:4:5:6:7:8', '1::2::3', ':1::', '1:::2', '1:', ':', '::ffff:10.0.0.1',
  '::ffff:a00:1', '[::1]', '[2001:db8::1]', '[10.0.0.1]', '[', '[]', '::1.2.3.4', '1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:7:1.2.3.4',
  '::1.2.3', '12345::', 'g::1', 'FFFF::ABCD', '::ffff:ffff:ffff', '2001:db8::1%eth0',
]

for (const text of cases) {
  test(`parseIpWords agrees with parseIpCompact: ${JSON.stringify(text)}`, () => {
    assertAgrees(text)
  })
}

test('parseIpWords agrees with parseIpCompact on random text (property), reusing one buffer', () => {
  const out = new Int32Array(4)
  const piece = fc.constantFrom('0', '1', 'f', 'F', 'ff', 'ffff', '10000', 'db8', '2001', ':', '::', '.', '1.2.3.4', '255', '256', 'g', '[', ']', '%')
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 16 }).map((p) => p.join('')), (text) => {
      assertAgrees(text, out)
    }),
    { numRuns: 20000, seed: 6 },
  )
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }), fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 8 }), (g, at, zeros) => {
      const groups = g.map((x, i) => (i >= at && i < at + zeros ? 0 : x))
      assertAgrees(groups.map((x) => x.toString(16)).join(':'), out)
      assertAgrees(groups.map((x) => x.toString(16)).join(':').replace(/(^|:)0(:0)+(:|$)/, '::'), out)
    }),
    { numRuns: 5000, seed: 7 },
  )
})
