// Learning addresses from DNS answers into nftables sets: CNAME chains, poisoning, caps, batches,
// reload (plan/commit).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Answer, DecodedPacket } from 'dns-packet'
import { FqdnSetIndex } from '../../../src/dataplane/nftables/fqdn-sets.ts'
import { DnsMetrics } from '../../../src/dns/dns-metrics.ts'
import { addressesOfAnswer, batchText, FqdnLearner } from '../../../src/dns/learner.ts'
import { parseFqdnPattern, type FqdnPattern } from '../../../src/policy/fqdn-pattern.ts'

function p(text: string): { text: string; pattern: FqdnPattern } {
  const parsed = parseFqdnPattern(text)
  if (!parsed.ok) throw new Error(parsed.detail)
  return { text, pattern: parsed.pattern }
}

function answer(...answers: Answer[]): DecodedPacket {
  return { answers, flags: 0, flag_qr: true, flag_aa: false, flag_tc: false, flag_rd: true, flag_ra: true, flag_z: false, flag_ad: false, flag_cd: false }
}

const A = (name: string, data: string, ttl = 300): Answer => ({ type: 'A', name, data, ttl })
const CNAME = (name: string, data: string, ttl = 300): Answer => ({ type: 'CNAME', name, data, ttl })

test('a CNAME chain is followed; the smallest TTL along it counts; records off the chain are ignored', () => {
  const got = addressesOfAnswer('Mcr.Microsoft.com.', answer(CNAME('mcr.microsoft.com', 'a.tm.test', 600), CNAME('a.tm.test', 'b.cdn.test', 30), A('b.cdn.test', '203.0.113.80', 120), A('evil.test', '203.0.113.66')))
  assert.deepEqual(got, [{ names: ['mcr.microsoft.com', 'a.tm.test', 'b.cdn.test'], address: '203.0.113.80', v: 4, ttlSec: 30 }])
})

test('CNAME loops are cut and chains are bounded', () => {
  const got = addressesOfAnswer('a.test', answer(CNAME('a.test', 'b.test'), CNAME('b.test', 'a.test'), A('b.test', '192.0.2.1')))
  assert.deepEqual(got.map((g) => g.names), [['a.test', 'b.test']])
})

test('TTLs are capped at one hour', () => {
  assert.equal(addressesOfAnswer('a.test', answer(A('a.test', '192.0.2.1', 86400)))[0]?.ttlSec, 3600)
})

function setup(options: { maxPerName?: number; maxPerSet?: number } = {}): { learner: FqdnLearner; batches: string[]; metrics: DnsMetrics; clock: { t: number } } {
  const index = new FqdnSetIndex()
  index.add(0, 'g/c/s3', [p('*.s3.test')])
  index.add(1, 'g/c/one', [p('one.s3.test')])
  const batches: string[] = []
  const metrics = new DnsMetrics()
  const clock = { t: 1_000_000 }
  const learner = new FqdnLearner(index, { apply: (t) => { batches.push(t); return Promise.resolve() } }, metrics, { graceSec: 10, now: () => clock.t, ...options })
  return { learner, batches, metrics, clock }
}

test('an address goes into every matching set, once per batch; a repeat within the slack is not re-sent', async () => {
  const { learner, batches } = setup()
  assert.equal(await learner.learn('one.s3.test', answer(A('one.s3.test', '192.0.2.1', 50))), 2)
  assert.equal(batches.length, 1)
  assert.match(batches[0]!, /add element inet aks_egress fqdn0_v4 \{ 192\.0\.2\.1 timeout 60s \}\ndelete element inet aks_egress fqdn0_v4 \{ 192\.0\.2\.1 \}\nadd element inet aks_egress fqdn0_v4 \{ 192\.0\.2\.1 timeout 60s \}/)
  assert.match(batches[0]!, /fqdn1_v4 \{ 192\.0\.2\.1 timeout 60s \}/)
  assert.equal(await learner.learn('one.s3.test', answer(A('one.s3.test', '192.0.2.1', 50))), 0)
  assert.equal(batches.length, 1)
})

test('per-name cap: the address expiring soonest is evicted and removed from the set', async () => {
  const { learner, batches, metrics, clock } = setup({ maxPerName: 2 })
  await learner.learn('x.s3.test', answer(A('x.s3.test', '192.0.2.1', 100)))
  clock.t += 1000
  await learner.learn('x.s3.test', answer(A('x.s3.test', '192.0.2.2', 100)))
  clock.t += 1000
  await learner.learn('x.s3.test', answer(A('x.s3.test', '192.0.2.3', 100)))
  assert.equal(metrics.get('learn_evicted_name_cap_total'), 1)
  assert.match(batches.at(-1)!, /delete element inet aks_egress fqdn0_v4 \{ 192\.0\.2\.1 \}/)
  assert.equal(learner.elementCount(), 2)
})

test('per-set cap: a new address is refused (fail closed) and counted; nothing learned is disturbed', async () => {
  const { learner, metrics } = setup({ maxPerSet: 2 })
  await learner.learn('a.s3.test', answer(A('a.s3.test', '192.0.2.1')))
  await learner.learn('b.s3.test', answer(A('b.s3.test', '192.0.2.2')))
  assert.equal(await learner.learn('c.s3.test', answer(A('c.s3.test', '192.0.2.3'))), 0)
  assert.equal(metrics.get('learn_refused_set_cap_total'), 1)
  assert.equal(learner.elementCount(), 2)
})

test('reload: plan gives the new sets their elements with the remaining timeout; commit queues what came since', async () => {
  const { learner, batches, clock } = setup()
  await learner.learn('a.s3.test', answer(A('a.s3.test', '192.0.2.1', 100)))
  const next = new FqdnSetIndex()
  next.add(7, 'g/c/moved', [p('*.s3.test')])
  clock.t += 30_000
  const planned = learner.plan(next)
  assert.deepEqual([...planned], [['fqdn7_v4', [{ address: '192.0.2.1', timeoutSec: 80 }]]])
  await learner.learn('b.s3.test', answer(A('b.s3.test', '192.0.2.2', 100)))
  learner.commit(next, planned)
  await new Promise((r) => setImmediate(r))
  await new Promise((r) => setImmediate(r))
  assert.match(batches.at(-1)!, /fqdn7_v4 \{ 192\.0\.2\.2 timeout 110s \}/)
  assert.doesNotMatch(batches.at(-1)!, /192\.0\.2\.1/)
})

test('batch text for removals never deletes a missing element (add first)', () => {
  assert.equal(batchText([{ set: 's', address: '2001:db8::1', timeoutSec: undefined }]), 'add element inet aks_egress s { 2001:db8::1 timeout 1s }\ndelete element inet aks_egress s { 2001:db8::1 }\n')
})
