// The fast JSON reader builds the tree the YAML parser builds for the same JSON text: same
// values, same node kinds, same source ranges (so diagnostics point at the same place).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { isMap, isPair, isScalar, isSeq, parseDocument, type Node } from 'yaml'
import { loadPolicyText } from '../../../src/config/load-policy.ts'
import { MAX_JSON_DEPTH, parseJsonNodes } from '../../../src/config/parse-json-nodes.ts'
import { renderDiagnostics } from '../../../src/diagnostics/render-diagnostic.ts'

/** A comparable picture of a tree: kinds, values and the start and end of every node. */
function shape(node: Node | null | undefined): unknown {
  if (isMap(node)) return { map: [node.range?.[0], node.range?.[1]], items: node.items.map((p) => (isPair(p) ? [shape(p.key as Node), shape(p.value as Node)] : null)) }
  if (isSeq(node)) return { seq: [node.range?.[0], node.range?.[1]], items: node.items.map((x) => shape(x as Node)) }
  if (isScalar(node)) return { scalar: node.value, at: [node.range?.[0], node.range?.[1]] }
  return null
}

test('same tree and ranges as the YAML parser, on random JSON', () => {
  fc.assert(
    fc.property(fc.json({ maxDepth: 5 }), fc.constantFrom(0, 2), (text, indent) => {
      const value = JSON.parse(text) as unknown
      if (typeof value !== 'object' || value === null) return
      const pretty = JSON.stringify(value, null, indent)
      // YAML 1.2 reads "-0" as 0 and large exponents differently; compare on texts both read alike.
      if (/-0[,\]}\s]|e[+-]?\d{3}/i.test(pretty)) return
      const fast = parseJsonNodes(pretty)
      assert.ok(fast, pretty)
      const yaml = parseDocument(pretty)
      if (yaml.errors.length > 0) return
      assert.deepEqual(shape(fast.root), shape(yaml.contents as Node))
    }),
    { numRuns: 300, seed: 11 },
  )
})

test('anything that is not strict JSON is left to the YAML parser', () => {
  for (const text of ['{apiVersion: aks-egress/v1}', '{"a": 1,}', "{'a': 1}", '{"a": 01}', '{"a": 1} x', '[1 2]', '{"a": "\u0001"}', '{"a": tru}']) {
    assert.equal(parseJsonNodes(text), undefined, text)
  }
  assert.equal(parseJsonNodes(`${'['.repeat(MAX_JSON_DEPTH + 2)}${']'.repeat(MAX_JSON_DEPTH + 2)}`), undefined)
})

test('escapes are decoded', () => {
  const parsed = parseJsonNodes('{"a\\u00e9\\n": "x\\"y\\\\z\\/"}')
  assert.ok(parsed && isMap(parsed.root))
  const pair = parsed.root.items[0]
  assert.ok(isPair(pair) && isScalar(pair.key) && isScalar(pair.value))
  assert.deepEqual([pair.key.value, pair.value.value], ['aé\n', 'x"y\\z/'])
})

test('a policy in JSON gets the same diagnostics as in YAML, duplicate keys included', () => {
  const json = '{\n  "apiVersion": "aks-egress/v1",\n  "ruleCollectionGroups": [\n    {"name": "g", "priority": 70000, "ruleCollections": [], "name": "h"}\n  ]\n}\n'
  const loaded = loadPolicyText(json, 'p.json')
  assert.equal(
    renderDiagnostics(loaded.diagnostics, new Map([['p.json', loaded.source!]])),
    [
      'p.json:4:61 - error DUPLICATE_KEY: Key "name" appears twice in one mapping (first on line 4); JSON readers would keep only one',
      '  4 |     {"name": "g", "priority": 70000, "ruleCollections": [], "name": "h"}',
      '    |                                                             ^^^^^^',
      '  fix: remove or rename one of the two',
      '',
      '1 error, 0 warnings',
    ].join('\n'),
  )
  const valid = loadPolicyText(json.replace(', "name": "h"', ''), 'p.json')
  assert.equal(renderDiagnostics(valid.diagnostics, new Map([['p.json', valid.source!]])).split('\n')[0], 'p.json:4:31 - error PRIORITY_RANGE: ruleCollectionGroups[0].priority is 70000; it must be between 100 and 65000')
})
