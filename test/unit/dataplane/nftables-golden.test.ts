// Golden files of the nftables compiler: the exact text `nft -f` receives, reviewed as a diff.
// UPDATE_GOLDEN=1 rewrites them (then read the diff before committing).
import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { test } from 'node:test'
import { compileNftables } from '../../../src/dataplane/nftables/compile-nftables.ts'
import { withoutFlowtable } from '../../support/nft-check.ts'
import { FIXTURES, GOLDEN_CASES } from './nftables-cases.ts'

for (const c of GOLDEN_CASES) {
  test(`nftables golden: ${c.name}`, () => {
    const text = compileNftables(c.policy(), c.options).text
    const file = `${FIXTURES}${c.name}.expected.nft`
    if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(file, text)
    assert.equal(text, readFileSync(file, 'utf8'))
  })
}

test('flowtable: false is the same table without the flowtable and its offload rule (serve\'s fallback)', () => {
  for (const c of GOLDEN_CASES) {
    const on = compileNftables(c.policy(), { ...c.options, flowtable: true }).text
    const off = compileNftables(c.policy(), { ...c.options, flowtable: false }).text
    assert.equal(withoutFlowtable(on), off, c.name)
    assert.match(on, /\n\tflowtable ft \{ hook ingress priority filter; devices = \{ "[^"]+"(, "[^"]+")* \}; \}\n/)
    // Offload only what the chain already accepted: the offload rule comes right before it.
    assert.match(on, /\n\t\tct state established meta l4proto \{ tcp, udp \} flow add @ft comment "[^"]*"\n\t\tct state established,related accept\n\t\tct state invalid drop\n/)
  }
})

test('the flowtable devices: the ingress interfaces, then the egress interface, each once', () => {
  const c = GOLDEN_CASES[0]!
  assert.deepEqual(compileNftables(c.policy(), { egressInterface: 'eth0' }).flowtableDevices, ['eth0'])
  assert.deepEqual(compileNftables(c.policy(), { egressInterface: 'eth1', ingressInterfaces: ['eth0', 'eth1'] }).flowtableDevices, ['eth0', 'eth1'])
  assert.equal(compileNftables(c.policy(), { flowtable: false }).flowtableDevices, undefined)
})
