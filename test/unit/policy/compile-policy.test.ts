// compilePolicy's own behaviour, beside the decisions the differential tests cover: the errors it
// throws on input the validator should have stopped (each names the rule), and rule paths when
// collections are empty or many (rules are located from their ordinals on their first match).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { compilePolicy, PolicyCompileError } from '../../../src/policy/compile-policy.ts'
import { app, coll, group, net, policy } from './builders.ts'

function compileError(run: () => unknown): string {
  try {
    run()
  } catch (e) {
    assert.ok(e instanceof PolicyCompileError, String(e))
    return e.message
  }
  assert.fail('no PolicyCompileError')
}

test('compile errors name the rule: unknown IP group, source that is no address, bad port, unknown FQDN tag, bad pattern in a tag', () => {
  assert.equal(
    compileError(() => compilePolicy(policy([group('g', 100, coll('network', 'c', 100, 'Allow', [net('r', { ports: ['443'], destinationIpGroups: ['nope'] })]))]))),
    'g/c/r: unknown IP group "nope"',
  )
  assert.equal(
    compileError(() => compilePolicy(policy([group('g', 100, coll('application', 'c', 100, 'Allow', [app('ok', ['a.com']), app('r', ['b.com'], ['Https:443'], { sourceAddresses: ['AzureCloud'] })]))]))),
    'g/c/r: "azurecloud" is not an address block',
  )
  assert.equal(compileError(() => compilePolicy(policy([group('g', 100, coll('network', 'c', 100, 'Allow', [net('r', { ports: ['0'], destinationAddresses: ['*'] })]))]))).startsWith('g/c/r: "0" is not a port'), true)
  assert.equal(
    compileError(() => compilePolicy(policy([group('g', 100, coll('application', 'c', 100, 'Allow', [app('r', [], ['Https:443'], { fqdnTags: ['Nope'] })]))]))),
    'g/c/r: unknown FQDN tag "Nope"',
  )
  assert.equal(
    compileError(() => compilePolicy(policy([group('g', 100, coll('application', 'c', 100, 'Allow', [app('r', [], ['Https:443'], { fqdnTags: ['T'] })]))]), { fqdnTags: { T: ['a.*.com'] } })).startsWith('g/c/r (FQDN tag T): "a.*.com": '),
    true,
  )
})

test('rule paths come out right across empty collections and many collections', () => {
  const collections = []
  for (let i = 0; i < 50; i++) {
    collections.push(coll('application', `empty-${i}`, 100 + i * 10, 'Allow', []))
    collections.push(coll('application', `c-${i}`, 105 + i * 10, i % 2 === 0 ? 'Allow' : 'Deny', [app(`r-${i}-0`, [`a${i}.example.com`]), app(`r-${i}-1`, [`b${i}.example.com`])]))
  }
  collections.push(coll('network', 'empty-net', 90, 'Allow', []))
  collections.push(coll('network', 'net', 95, 'Deny', [net('n0', { ports: ['22'], destinationFqdns: ['a0.example.com'] })]))
  const engine = compilePolicy(policy([group('g', 100, ...collections)]))
  for (const i of [0, 1, 17, 49]) {
    for (const k of [0, 1]) {
      const d = engine.decide({ protocol: 'https', destinationPort: 443, sni: `${k === 0 ? 'a' : 'b'}${i}.example.com` })
      assert.equal(d.rulePath, `g/c-${i}/r-${i}-${k}`)
      assert.equal(d.action, i % 2 === 0 ? 'allow' : 'deny')
      assert.deepEqual(d.rule, { group: 'g', collection: `c-${i}`, rule: `r-${i}-${k}`, type: 'application' })
    }
  }
  assert.equal(engine.decide({ protocol: 'tcp', destinationPort: 22, host: 'a0.example.com' }).rulePath, 'g/net/n0')
})
