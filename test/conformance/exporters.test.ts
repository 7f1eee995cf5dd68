// The one conformance suite of the exporters (style-anchors §3, hono's common.case.test.ts): every
// registered exporter runs every policy case. For each: the output is produced, deterministic, and
// accounts for every rule (its path is in the text, or a diagnostic names it: never dropped); its
// diagnostics are UNSUPPORTED_BY_TARGET and name the target; and the target's validator accepts it.
// A target without a validator is skipped with that reason, never silently passed.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { EXPORTERS } from '../../src/export/registry.ts'
import { allRulePaths } from '../../src/export/policy-walk.ts'
import { POLICY_CASES } from './policy-cases.ts'
import { VALIDATORS } from './validators.ts'

for (const exporter of EXPORTERS) {
  describe(`exporter ${exporter.name}`, () => {
    test('declares a name, a description and an extension', () => {
      assert.match(exporter.name, /^[a-z][a-z0-9-]*$/)
      assert.ok(exporter.description.length > 10)
      assert.match(exporter.extension, /^[a-z]+$/)
    })
    for (const c of POLICY_CASES) {
      describe(`case ${c.name}: ${c.what}`, () => {
        const policy = c.policy()
        const result = exporter.export(policy, c.options)

        test('produces output, the same twice', () => {
          assert.ok(result.text.trim().length > 0)
          assert.equal(exporter.export(policy, c.options).text, result.text)
        })

        test('accounts for every rule: in the output, or named in a diagnostic', () => {
          const missing = allRulePaths(policy).filter((path) => !result.text.includes(path) && !result.diagnostics.some((d) => d.message.includes(`rule ${path}:`)))
          assert.deepEqual(missing, [])
        })

        test('reports only UNSUPPORTED_BY_TARGET diagnostics that name the target', () => {
          for (const d of result.diagnostics) {
            assert.equal(d.code, 'UNSUPPORTED_BY_TARGET')
            assert.ok(d.message.startsWith(`${exporter.name}: `), d.message)
          }
        })

        test("is accepted by the target's validator", async (t) => {
          const validate = VALIDATORS[exporter.name]
          if (!validate) {
            t.skip(`no validator for target ${exporter.name} in test/conformance/validators.ts`)
            return
          }
          const v = await validate(result.text)
          if ('skip' in v) {
            t.skip(v.skip)
            return
          }
          assert.deepEqual(v.problems, [])
        })
      })
    }
  })
}
