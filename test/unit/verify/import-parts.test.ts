// The importers' parts: ARM expressions and the JSON reader with spans.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { evaluateArm } from '../../../src/verify/arm-expression.ts'
import { parseJsonWithSpans } from '../../../src/verify/json-with-spans.ts'

const scope = {
  parameters: new Map<string, unknown>([
    ['location', 'westeurope'],
    ['ports', ['1194', '9000']],
  ]) as Map<string, never>,
  variables: new Map<string, unknown>([
    ['tag', "[concat('AzureCloud.', parameters('location'))]"],
    ['self', "[variables('self')]"],
  ]) as Map<string, never>,
}

test('ARM expressions: the functions exports use evaluate; deployment-time ones are unresolved with a reason', () => {
  const ok: Array<[string, unknown]> = [
    ["[parameters('location')]", 'westeurope'],
    ["[parameters('LOCATION')]", 'westeurope'],
    ["[variables('tag')]", 'AzureCloud.westeurope'],
    ["[format('*.hcp.{0}.azmk8s.io', parameters('location'))]", '*.hcp.westeurope.azmk8s.io'],
    ["[toUpper('it''s')]", "IT'S"],
    ["[parameters('ports')[1]]", '9000'],
    ["[concat(parameters('ports'), createArray('22'))]", ['1194', '9000', '22']],
    ["[resourceId('Microsoft.Network/ipGroups', 'aks-nodes')]", '/providers/Microsoft.Network/ipGroups/aks-nodes'],
    ['[[not an expression]', '[not an expression]'],
    ['plain', 'plain'],
  ]
  for (const [input, want] of ok) assert.deepEqual(evaluateArm(input, scope), { ok: true, value: want }, input)
  assert.deepEqual(evaluateArm("[parameters('apiServerIp')]", scope), { ok: false, reason: "parameters('apiServerIp') has no value (no defaultValue; give --var apiServerIp=VALUE)" })
  assert.deepEqual(evaluateArm('[resourceGroup().location]', scope), { ok: false, reason: 'resourceGroup() is evaluated only at deployment' })
  assert.equal(evaluateArm("[variables('self')]", scope).ok, false)
})

test('JSON with spans: values and keys are located; errors give the offset', () => {
  const text = '\uFEFF{\n  "a": [1, "x\\u0041"],\n\t"b": {"c": null}\n}'
  const r = parseJsonWithSpans(text)
  assert.ok(r.ok)
  assert.deepEqual(r.value, { a: [1, 'xA'], b: { c: null } })
  const span = r.spans.get(['a', 1])
  assert.equal(text.slice(span?.start, span?.end), '"x\\u0041"')
  const key = r.spans.keyOf(['b'])
  assert.equal(text.slice(key?.start, key?.end), '"b"')
  assert.deepEqual(parseJsonWithSpans('{"a": tru}'), { ok: false, message: 'Expected a JSON value, found "t"', offset: 6 })
  assert.deepEqual(parseJsonWithSpans('[1, 2'), { ok: false, message: 'Expected "," or "]", found the end of the file', offset: 5 })
  assert.equal(parseJsonWithSpans('['.repeat(300)).ok, false)
})
