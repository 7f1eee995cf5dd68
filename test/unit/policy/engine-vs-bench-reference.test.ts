// The compiled engine against the benchmark's naive evaluator (bench/engine-reference.ts, no code
// shared with the engine) on generated policies and flow mixes: same action, reason code and rule
// for every flow. The benchmark runs the same check at 10, 1,000 and 100,000 rules before timing.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { generateFlows } from '../../../bench/engine-flows.ts'
import { generatePolicy } from '../../../bench/engine-policy.ts'
import { ReferenceEvaluator } from '../../../bench/engine-reference.ts'
import { compilePolicy } from '../../../src/policy/compile-policy.ts'
import type { Flow } from '../../../src/policy/flow.ts'

for (const size of [10, 300]) {
  test(`${size} rules: the engine decides every flow as the naive evaluator does`, () => {
    const gen = generatePolicy(size)
    const engine = compilePolicy(gen.policy)
    const reference = new ReferenceEvaluator(gen.policy)
    const codes = new Set<string>()
    for (const { flow, kind } of generateFlows(gen, 4096)) {
      const d = engine.decide(flow)
      const r = reference.decide(flow)
      assert.deepEqual({ action: d.action, code: d.code, rule: d.rulePath }, { action: r.action, code: r.code, rule: r.rulePath }, `${kind} ${JSON.stringify(flow)}`)
      codes.add(d.code)
    }
    // The mix reaches every outcome a policy without DNAT can give, so the comparison is not vacuous.
    for (const code of ['APPLICATION_RULE_ALLOW', 'NETWORK_RULE_ALLOW', 'DEFAULT_DENY', 'SNI_MISSING', 'HOST_MISSING']) assert.ok(codes.has(code), code)
  })
}

test('a flow that makes decide throw leaves no candidates behind for the next flow', () => {
  const gen = generatePolicy(300)
  const engine = compilePolicy(gen.policy)
  const reference = new ReferenceEvaluator(gen.policy)
  const tagRule = gen.tagRules.find((t) => t.rule.ipProtocols.some((p) => p === 'TCP' || p === 'Any') && t.rule.sources.length === 0)!
  const port = Number(tagRule.rule.ports[0]!.split('-')[0])
  const tagged: Flow = { protocol: 'tcp', destinationPort: port, destinationIp: '192.0.2.9', destinationTags: [tagRule.tag] }
  assert.equal(engine.decide(tagged).rulePath, reference.decide(tagged).rulePath)
  assert.notEqual(engine.decide(tagged).rulePath, null)
  // The first tag fills the candidate lists, the second (not a string) throws.
  const bad = { ...tagged, destinationTags: [tagRule.tag, 42] } as unknown as Flow
  assert.throws(() => engine.decide(bad), TypeError)
  const clean: Flow = { protocol: 'tcp', destinationPort: port, destinationIp: '192.0.2.9' }
  assert.equal(reference.decide(clean).code, 'DEFAULT_DENY')
  assert.equal(engine.decide(clean).code, 'DEFAULT_DENY')
})
