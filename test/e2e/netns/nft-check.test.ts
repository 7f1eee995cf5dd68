// The compiler's output is valid nftables for the real kernel: `nft -c -f` inside a namespace this
// test creates, then applied for real there, replaced atomically, and removed by the cleanup file.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { cleanupRuleset, compileNftables } from '../../../src/dataplane/nftables/compile-nftables.ts'
import { GOLDEN_CASES } from '../../unit/dataplane/nftables-cases.ts'
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

for (const c of GOLDEN_CASES) {
  test(`nft -c accepts the ${c.name} ruleset`, { skip }, () => {
    const text = compileNftables(c.policy(), c.options).text
    const r = ns!.try(['nft', '-c', '-f', '-'], text)
    assert.equal(r.stderr, '')
    assert.equal(r.status, 0)
  })
}

test('applied, replaced atomically, removed; other tables untouched', { skip }, () => {
  const [first, second] = GOLDEN_CASES
  ns!.exec(['nft', '-f', '-'], compileNftables(first!.policy(), first!.options).text)
  assert.equal(ns!.exec(['nft', 'list', 'tables']), 'table inet other\ntable inet aks_egress\n')
  ns!.exec(['nft', 'add', 'element', 'inet', 'aks_egress', 'fqdn3_v4', '{ 192.0.2.9 timeout 60s }'])
  // Reload: the new file replaces the table in one transaction (the old elements go with it).
  ns!.exec(['nft', '-f', '-'], compileNftables(second!.policy(), second!.options).text)
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
  const good = compileNftables(c.policy(), c.options).text
  ns!.exec(['nft', '-f', '-'], good)
  const before = ns!.exec(['nft', 'list', 'table', 'inet', 'aks_egress'])
  const broken = good.replace('counter drop comment "no rule matched"', 'counter dropp')
  assert.notEqual(ns!.try(['nft', '-f', '-'], broken).status, 0)
  assert.equal(ns!.exec(['nft', 'list', 'table', 'inet', 'aks_egress']), before)
  ns!.exec(['nft', '-f', '-'], cleanupRuleset())
})
