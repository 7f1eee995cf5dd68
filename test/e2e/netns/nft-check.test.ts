// The compiler's output is valid nftables for the real kernel: `nft -c -f` inside a namespace this
// test creates, then applied for real there, replaced atomically, and removed by the cleanup file.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { cleanupRuleset, compileNftables } from '../../../src/dataplane/nftables/compile-nftables.ts'
import { GOLDEN_CASES } from '../../unit/dataplane/nftables-cases.ts'
import { kernelHasFlowtable, nftCheckProblems, type RunNft } from '../../support/nft-check.ts'
import { canUseNetns, Netns, newGroup, sweepStaleNamespaces } from './netns.ts'

const usable = canUseNetns()
const skip = usable.ok ? false : usable.reason
let ns: Netns | undefined

before(() => {
  if (skip !== false) return
  sweepStaleNamespaces()
  ns = Netns.create(newGroup(), 'nftcheck')
  // A table of someone else's: it must survive everything aks-egress does.
  ns.exec(['nft', '-f', '-'], 'table inet other {\n\tchain c { type filter hook forward priority 10; policy accept; }\n}\n')
})

after(() => {
  ns?.delete()
})

const run: RunNft = (argv, input) => ns!.try(argv, input)

for (const c of GOLDEN_CASES) {
  test(`nft -c accepts the ${c.name} ruleset (the flowtable lines by test/support/nft-check.ts on a kernel without them)`, { skip }, () => {
    const text = compileNftables(c.policy(), c.options).text
    assert.deepEqual(nftCheckProblems(run, text), [])
  })
}

test('a kernel without flowtables refuses exactly the flowtable lines; the fallback table passes in full', { skip }, (t) => {
  if (kernelHasFlowtable(run)) {
    t.skip('this kernel has flowtables: the rulesets above passed nft -c as they are')
    return
  }
  const c = GOLDEN_CASES[0]!
  const text = compileNftables(c.policy(), c.options).text
  const r = ns!.try(['nft', '-c', '-f', '-'], text)
  assert.notEqual(r.status, 0)
  const errors = r.stderr.split('\n').filter((l) => l.includes('Error:'))
  assert.equal(errors.length, 2, r.stderr)
  for (const e of errors) assert.match(e, /Error: Could not process rule: No such file or directory$/)
  const fallback = compileNftables(c.policy(), { ...c.options, flowtable: false }).text
  assert.equal(ns!.try(['nft', '-c', '-f', '-'], fallback).status, 0)
})

test('with flowtables: applied for real, listed with the devices, removed with the table', { skip }, (t) => {
  if (!kernelHasFlowtable(run)) {
    t.skip('this kernel has no flowtables (CONFIG_NF_FLOW_TABLE): nothing to apply')
    return
  }
  ns!.exec(['ip', 'link', 'add', 'ft0', 'type', 'veth', 'peer', 'name', 'ft1'])
  try {
    const c = GOLDEN_CASES[0]!
    ns!.exec(['nft', '-f', '-'], compileNftables(c.policy(), { ...c.options, egressInterface: 'ft1', ingressInterfaces: ['ft0'] }).text)
    assert.match(ns!.exec(['nft', 'list', 'flowtables']), /flowtable ft \{[^}]*devices = \{ (ft0, ft1|ft1, ft0) \}/s)
    ns!.exec(['nft', '-f', '-'], cleanupRuleset())
    assert.doesNotMatch(ns!.exec(['nft', 'list', 'flowtables']), /flowtable ft/)
  } finally {
    ns!.exec(['ip', 'link', 'del', 'ft0'])
  }
})

// The table applied for real: without the flowtable where the kernel has none (serve's fallback).
const applied = (c: (typeof GOLDEN_CASES)[number]): string => compileNftables(c.policy(), kernelHasFlowtable(run) ? c.options : { ...c.options, flowtable: false }).text

test('applied, replaced atomically, removed; other tables untouched', { skip }, () => {
  const [first, second] = GOLDEN_CASES
  ns!.exec(['nft', '-f', '-'], applied(first!))
  assert.equal(ns!.exec(['nft', 'list', 'tables']), 'table inet other\ntable inet aks_egress\n')
  ns!.exec(['nft', 'add', 'element', 'inet', 'aks_egress', 'fqdn3_v4', '{ 192.0.2.9 timeout 60s }'])
  // Reload: the new file replaces the table in one transaction (the old elements go with it).
  ns!.exec(['nft', '-f', '-'], applied(second!))
  const listed = ns!.exec(['nft', 'list', 'chain', 'inet', 'aks_egress', 'forward'])
  assert.match(listed, /would deny: no rule matched/)
  assert.doesNotMatch(ns!.exec(['nft', 'list', 'set', 'inet', 'aks_egress', 'fqdn3_v4']), /192\.0\.2\.9/)
  ns!.exec(['nft', '-f', '-'], cleanupRuleset())
  assert.equal(ns!.exec(['nft', 'list', 'tables']), 'table inet other\n')
  // Cleanup is idempotent: the table is already gone.
  ns!.exec(['nft', '-f', '-'], cleanupRuleset())
  assert.equal(ns!.exec(['nft', 'list', 'tables']), 'table inet other\n')
})

test('a broken file changes nothing (the transaction is all or nothing)', { skip }, () => {
  const c = GOLDEN_CASES[0]!
  const good = applied(c)
  ns!.exec(['nft', '-f', '-'], good)
  const before = ns!.exec(['nft', 'list', 'table', 'inet', 'aks_egress'])
  const broken = good.replace('counter drop comment "no rule matched"', 'counter dropp')
  assert.notEqual(ns!.try(['nft', '-f', '-'], broken).status, 0)
  assert.equal(ns!.exec(['nft', 'list', 'table', 'inet', 'aks_egress']), before)
  ns!.exec(['nft', '-f', '-'], cleanupRuleset())
})
