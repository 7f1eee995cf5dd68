// The network-rule prefilter (src/policy/port-cover.ts): for every protocol and port, the kinds
// of destination some rule takes the flow with. It may only skip a lookup that could not match,
// so it must never miss a kind; for whole ports in range it is exact.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { COVER_ADDRESS, COVER_ALL, COVER_NAME, COVER_TAG, PortCoverBuilder } from '../../../src/policy/port-cover.ts'
import { portInRanges, type PortRange } from '../../../src/policy/port-range.ts'

interface RuleShape {
  readonly tcp: boolean
  readonly udp: boolean
  readonly icmp: boolean
  readonly ports: readonly PortRange[] | null
  readonly kinds: number
}

const edge = fc.constantFrom(1, 2, 22, 80, 443, 444, 1023, 1024, 65534, 65535)
const range = fc.tuple(edge, edge).map(([a, b]) => ({ from: Math.min(a, b), to: Math.max(a, b) }))
const rule = fc.record({
  tcp: fc.boolean(),
  udp: fc.boolean(),
  icmp: fc.boolean(),
  ports: fc.option(fc.array(range, { maxLength: 3 }), { nil: null, freq: 4 }),
  kinds: fc.integer({ min: 0, max: COVER_ALL }),
})
const flowPort = fc.oneof(edge, fc.constantFrom(0, 3, 1000, -1, 65536, 70000, 443.5, Number.NaN, 2 ** 40))

/** What the engine checks per rule: protocol, then port (ICMP has none; every port is 1-65535). */
function takes(r: RuleShape, protocol: 1 | 2 | 4, port: number): boolean {
  const on = protocol === 1 ? r.tcp : protocol === 2 ? r.udp : r.icmp
  if (!on) return false
  return protocol === 4 || portInRanges(port, r.ports ?? [{ from: 1, to: 65535 }])
}

test('property: the prefilter never misses a kind of rule that takes the flow, and is exact for whole ports', () => {
  fc.assert(
    fc.property(fc.array(rule, { maxLength: 8 }), fc.constantFrom<1 | 2 | 4>(1, 2, 4), flowPort, (rules, protocol, port) => {
      const builder = new PortCoverBuilder()
      for (const r of rules) builder.add(r.tcp, r.udp, r.icmp, r.ports, r.kinds)
      const cover = builder.build().coverOf(protocol, port)
      let needed = 0
      for (const r of rules) if (takes(r, protocol, port)) needed |= r.kinds
      assert.equal(cover & needed, needed, `needed ${needed}, cover ${cover}`)
      if (protocol === 4 || Number.isInteger(port)) assert.equal(cover, needed)
    }),
    { numRuns: 600, seed: 99 },
  )
})

test('a policy of UDP 123 name rules and TCP 443 address rules: HTTPS skips the name lookup', () => {
  const b = new PortCoverBuilder()
  b.add(false, true, false, [{ from: 123, to: 123 }], COVER_NAME)
  b.add(true, false, false, [{ from: 443, to: 443 }], COVER_ADDRESS)
  b.add(true, true, true, null, COVER_TAG)
  const c = b.build()
  assert.equal(c.coverOf(1, 443), COVER_ADDRESS | COVER_TAG)
  assert.equal(c.coverOf(2, 123), COVER_NAME | COVER_TAG)
  assert.equal(c.coverOf(1, 123), COVER_TAG)
  assert.equal(c.coverOf(4, 0), COVER_TAG)
  assert.equal(c.coverOf(1, 0), 0)
  assert.equal(c.coverOf(2, 65536), 0)
  assert.equal(c.coverOf(1, 443.5), COVER_ALL)
})
