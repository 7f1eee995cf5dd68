// The HCL outline: where blocks and attributes are, and the order of static and dynamic blocks,
// which hcl2json loses and Terraform keeps.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { blocksOfType, outlineHcl, type HclBody } from '../../../src/verify/hcl-outline.ts'

const text = `# A comment with a brace {
resource "azurerm_firewall_policy_rule_collection_group" "aks" {
  name     = "aks-egress" # trailing comment }
  priority = 200
  application_rule_collection {
    name = "a"
    rule {
      name = "static-1"
      protocols { type = "Https" }
    }
    dynamic "rule" {
      for_each = { for k, v in var.m : k => "}" }
      content {
        name = rule.key
        destination_fqdns = [
          "a.example", # one
          /* two */ "\${x}}",
          lookup(rule.value, "f", ["}"]),
        ]
      }
    }
    rule {
      name = <<-EOT
        a } heredoc {
        EOT
    }
  }
}
`

function attr(body: HclBody | undefined, name: string): string | undefined {
  const a = body?.attributes.get(name)
  return a === undefined ? undefined : text.slice(a.valueSpan.start, a.valueSpan.end)
}

test('blocks, labels and attributes are located; comments, strings and heredocs are skipped whole', () => {
  const root = outlineHcl(text)
  assert.equal(root.blocks.length, 1)
  const res = root.blocks[0]!
  assert.equal(res.type, 'resource')
  assert.deepEqual(res.labels, ['azurerm_firewall_policy_rule_collection_group', 'aks'])
  assert.equal(text.slice(res.headerSpan.start, res.headerSpan.end), 'resource "azurerm_firewall_policy_rule_collection_group" "aks"')
  assert.equal(attr(res.body, 'name'), '"aks-egress"')
  assert.equal(attr(res.body, 'priority'), '200')
  const coll = blocksOfType(res.body, 'application_rule_collection')[0]
  assert.deepEqual(
    coll?.body.blocks.map((b) => [b.type, ...b.labels]),
    [['rule'], ['dynamic', 'rule'], ['rule']],
  )
  const [first, dyn, last] = coll.body.blocks
  // A one-line block: the attribute ends at the closing brace.
  assert.equal(attr(blocksOfType(first?.body, 'protocols')[0]?.body, 'type'), '"Https"')
  assert.equal(attr(dyn?.body, 'for_each'), '{ for k, v in var.m : k => "}" }')
  const content = blocksOfType(dyn?.body, 'content')[0]
  assert.equal(attr(content?.body, 'name'), 'rule.key')
  const fqdns = content?.body.attributes.get('destination_fqdns')
  assert.deepEqual(
    fqdns?.elements?.map((e) => text.slice(e.start, e.end)),
    ['"a.example"', '"${x}}"', 'lookup(rule.value, "f", ["}"])'],
  )
  assert.equal(attr(last?.body, 'name'), '<<-EOT\n        a } heredoc {\n        EOT')
  const nameAttr = res.body.attributes.get('name')!
  assert.equal(text.slice(nameAttr.nameSpan.start, nameAttr.nameSpan.end), 'name')
})

test('blocksOfType tells static blocks from dynamic ones by label', () => {
  const body = outlineHcl('dynamic "rule" {\n}\nrule {\n}\ndynamic "protocols" {\n}\n')
  assert.equal(blocksOfType(body, 'rule').length, 1)
  assert.equal(blocksOfType(body, 'dynamic', 'rule').length, 1)
  assert.equal(blocksOfType(body, 'dynamic', 'protocols').length, 1)
  assert.equal(blocksOfType(undefined, 'rule').length, 0)
})

test('any text gives an outline, in linear time: unclosed strings, braces and heredocs do not run away', () => {
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom('a', ' ', '\n', '=', '{', '}', '"', '$', '[', ']', '#', '/', '*', '<', '-', '\\') }), (s) => {
      outlineHcl(s)
    }),
    { numRuns: 500 },
  )
  for (const piece of ['{', 'a {', '"${', 'a = [', 'a = <<EOT\n', '/*', 'a = "', 'b "x" {\n c = 1\n']) {
    const big = piece.repeat(200_000 / piece.length)
    const started = performance.now()
    outlineHcl(big)
    assert.ok(performance.now() - started < 2000, `${JSON.stringify(piece)} repeated took too long`)
  }
})
