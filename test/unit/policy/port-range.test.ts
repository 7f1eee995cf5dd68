/**
 * Port specifications (src/policy/port-range.ts): one port, a range, or "*"; 1-65535.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { ALL_PORTS, parsePortSpec, portInRanges, type PortRange } from '../../../src/policy/port-range.ts'

const accepted: ReadonlyArray<readonly [sentence: string, input: string, range: PortRange, normal: string]> = [
  ['one port is a range of one', '443', { from: 443, to: 443 }, '443'],
  ['the lowest port is 1', '1', { from: 1, to: 1 }, '1'],
  ['the highest port is 65535', '65535', { from: 65535, to: 65535 }, '65535'],
  ['a range keeps its ends', '1000-2000', { from: 1000, to: 2000 }, '1000-2000'],
  ['a range of one port is written as the port', '80-80', { from: 80, to: 80 }, '80'],
  ['the full range is kept as written, not as "*"', '1-65535', { from: 1, to: 65535 }, '1-65535'],
  ['"*" is every port', '*', { from: 1, to: 65535 }, '*'],
]

for (const [sentence, input, range, normal] of accepted) {
  test(`${sentence}: ${JSON.stringify(input)}`, () => {
    assert.deepEqual(parsePortSpec(input), { ok: true, range, normal })
  })
}

const rejected: ReadonlyArray<readonly [sentence: string, input: string, detail: string]> = [
  ['port 0 is rejected', '0', '"0" is not a port (1-65535), a range (1000-2000) or "*"'],
  ['a port above 65535 is rejected', '65536', '"65536" is not a port (1-65535), a range (1000-2000) or "*"'],
  ['six digits are rejected', '123456', '"123456" is not a port (1-65535), a range (1000-2000) or "*"'],
  ['a leading zero is rejected', '080', '"080" is not a port (1-65535), a range (1000-2000) or "*"'],
  ['the empty string is rejected', '', '"" is not a port (1-65535), a range (1000-2000) or "*"'],
  ['a list in one string is rejected', '80,443', '"80,443" is not a port (1-65535), a range (1000-2000) or "*"'],
  ['a leading space is rejected', ' 80', '" 80" is not a port (1-65535), a range (1000-2000) or "*"'],
  ['a trailing space is rejected', '80 ', '"80 " is not a port (1-65535), a range (1000-2000) or "*"'],
  ['a sign is rejected', '+80', '"+80" is not a port (1-65535), a range (1000-2000) or "*"'],
  ['hexadecimal is rejected', '0x50', '"0x50" is not a port (1-65535), a range (1000-2000) or "*"'],
  ['an exponent is rejected', '8e1', '"8e1" is not a port (1-65535), a range (1000-2000) or "*"'],
  ['a protocol prefix is rejected', 'tcp:80', '"tcp:80" is not a port (1-65535), a range (1000-2000) or "*"'],
  ['a reversed range is rejected with the range turned round', '2000-1000', '"2000-1000" starts after it ends; write 1000-2000'],
  ['a range from 0 is rejected', '0-80', '"0-80" is not a port range of two ports 1-65535 (1000-2000)'],
  ['a range past 65535 is rejected', '1-65536', '"1-65536" is not a port range of two ports 1-65535 (1000-2000)'],
  ['a range without a start is rejected', '-80', '"-80" is not a port range of two ports 1-65535 (1000-2000)'],
  ['a range without an end is rejected', '80-', '"80-" is not a port range of two ports 1-65535 (1000-2000)'],
  ['two dashes are rejected', '1000--2000', '"1000--2000" is not a port range of two ports 1-65535 (1000-2000)'],
  ['"*" is not a range end', '*-80', '"*-80" is not a port range of two ports 1-65535 (1000-2000)'],
]

for (const [sentence, input, detail] of rejected) {
  test(`${sentence}: ${JSON.stringify(input)}`, () => {
    assert.deepEqual(parsePortSpec(input), { ok: false, detail })
  })
}

test('"*" is the frozen range of every port', () => {
  assert.deepEqual(ALL_PORTS, { from: 1, to: 65535 })
  assert.equal(Object.isFrozen(ALL_PORTS), true)
})

test('portInRanges: a port is in a list when one range holds it', () => {
  const ranges = [{ from: 80, to: 80 }, { from: 1000, to: 2000 }]
  assert.equal(portInRanges(80, ranges), true)
  assert.equal(portInRanges(1000, ranges), true)
  assert.equal(portInRanges(2000, ranges), true)
  assert.equal(portInRanges(81, ranges), false)
  assert.equal(portInRanges(999, ranges), false)
  assert.equal(portInRanges(2001, ranges), false)
  assert.equal(portInRanges(443, []), false)
})

test('a decimal number is a port exactly when it is 1 to 65535 (property)', () => {
  fc.assert(
    fc.property(fc.integer({ min: -100, max: 200000 }), (n) => {
      const parsed = parsePortSpec(String(n))
      if (n >= 1 && n <= 65535) assert.deepEqual(parsed, { ok: true, range: { from: n, to: n }, normal: String(n) })
      else assert.equal(parsed.ok, false)
    }),
    { numRuns: 2000 },
  )
})

test('"a-b" is a range exactly when a <= b, and holds exactly the ports from a to b (property)', () => {
  const port = fc.integer({ min: 1, max: 65535 })
  fc.assert(
    fc.property(port, port, port, (a, b, p) => {
      const parsed = parsePortSpec(`${a}-${b}`)
      if (a > b) {
        assert.deepEqual(parsed, { ok: false, detail: `"${a}-${b}" starts after it ends; write ${b}-${a}` })
        return
      }
      assert.deepEqual(parsed, { ok: true, range: { from: a, to: b }, normal: a === b ? String(a) : `${a}-${b}` })
      assert.equal(portInRanges(p, [parsed.range]), p >= a && p <= b)
    }),
    { numRuns: 2000 },
  )
})
