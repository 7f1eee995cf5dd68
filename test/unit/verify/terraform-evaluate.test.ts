// The Terraform expression evaluator: what rule files write evaluates as Terraform evaluates it;
// what it cannot know is an unknown with a reason (never a guess); Terraform's own errors are
// errors, which try() and can() catch.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parse } from '@cdktf/hcl2json'
import { parseHclExpression, parseHclJsonString } from '../../../src/verify/hcl-expression.ts'
import { TerraformEvaluator, type TfScope } from '../../../src/verify/terraform-evaluate.ts'
import { iterationScope, moduleScope } from '../../../src/verify/terraform-scope.ts'
import { isMap, TfResource, TfSet, TfUnknown, type Evaluated, type TfValue } from '../../../src/verify/terraform-value.ts'

type Obj = Record<string, unknown>

/** A value as plain data: maps as objects (keys in Terraform's order), sets and unknowns marked. */
function plain(v: TfValue): unknown {
  if (v instanceof TfUnknown) return { unknown: v.reason }
  if (v instanceof TfSet) return { set: v.items.map(plain) }
  if (Array.isArray(v)) return v.map(plain)
  if (isMap(v)) return { map: [...v.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([k, x]) => [k, plain(x)]) }
  return v
}

function result(r: Evaluated): unknown {
  if (r.ok) return plain(r.value)
  return { [r.unknown ? 'unknown' : 'error']: r.reason }
}

const MODULE = `
variable "location" {
  default = "westeurope"
}
variable "api_server_ip" {
  type = string
}
variable "ports" {
  type    = list(number)
  default = ["443", 80]
}
variable "rules" {
  type = map(object({
    fqdns     = list(string)
    protocols = optional(list(object({ type = string, port = number })), [{ type = "Https", port = 443 }])
    sources   = optional(list(string))
  }))
  default = {
    mcr = { fqdns = ["mcr.microsoft.com"], extra = "dropped" }
    aks = { fqdns = ["*.hcp.westeurope.azmk8s.io"], protocols = [{ type = "Https", port = "443" }], sources = ["10.0.0.0/8"] }
  }
}
variable "flags" {
  type    = set(string)
  default = ["b", "a", "b"]
}
locals {
  tag      = "AzureCloud.\${var.location}"
  mixed    = toset(["b", "a", 3, "a"])
  nested   = [["a", ["b"]], [], "c"]
  objects  = { "10" = "ten", "9" = "nine", b = 2, a = 1 }
  partial  = { known = "x", open = var.api_server_ip }
  self     = local.self
  doubled0 = ["x", "y"]
  doubled1 = concat(local.doubled0, local.doubled0)
  doubled2 = concat(local.doubled1, local.doubled1)
}
`

async function moduleOf(hcl: string, vars = new Map<string, string>(), evaluator = new TerraformEvaluator()): Promise<{ evaluator: TerraformEvaluator; scope: TfScope }> {
  const doc = (await parse('test.tf', hcl)) as Obj
  const variables = new Map<string, Obj>()
  for (const [k, v] of Object.entries((doc['variable'] ?? {}) as Obj)) variables.set(k, (v as Obj[])[0]!)
  const locals = new Map<string, unknown>()
  for (const l of (doc['locals'] ?? []) as Obj[]) for (const [k, v] of Object.entries(l)) locals.set(k, v)
  const resource = (type: string, name: string): Evaluated | undefined =>
    type === 'azurerm_ip_group' && name === 'nodes' ? { ok: true, value: new TfResource('azurerm_ip_group.nodes', [['id', '/ipGroups/aks-nodes']]) } : undefined
  return { evaluator, scope: moduleScope({ evaluator, variables, locals, vars, resource }) }
}

async function evaluate(expr: string, options: { vars?: Map<string, string>; scope?: (s: TfScope) => TfScope } = {}): Promise<unknown> {
  const { evaluator, scope } = await moduleOf(MODULE, options.vars)
  const parsed = parseHclExpression(expr)
  assert.ok(parsed.ok, expr)
  return result(evaluator.expression(parsed.expr, options.scope ? options.scope(scope) : scope))
}

test('literals, templates and escapes', async () => {
  const cases: Array<[string, unknown]> = [
    ['"a\\tb\\u00e9"', 'a\tbé'],
    ['"$${literal} %%{x}"', '${literal} %{x}'],
    ['"${1}"', 1],
    ['"p-${1 + 2}-${true}"', 'p-3-true'],
    ['[1, "a", null, true]', [1, 'a', null, true]],
    ['{ a = 1, "b c" = 2, (local.tag) = 3 }', { map: [['AzureCloud.westeurope', 3], ['a', 1], ['b c', 2]] }],
    ['var.location == "westeurope" ? "yes" : "no"', 'yes'],
    ['!(1 < 2) || 3 % 2 == 1 && "1" + 1 == 2', true],
    ['-1.5 * 2', -3],
    // Terraform converts the strings "true" and "false" where a bool is wanted.
    ['"true" && !"false"', true],
  ]
  for (const [expr, want] of cases) assert.deepEqual(await evaluate(expr), want, expr)
})

test('variables: the default converted to the declared type (optional defaults, dropped attributes), or --var', async () => {
  assert.deepEqual(await evaluate('var.ports'), [443, 80])
  assert.deepEqual(await evaluate('var.flags'), { set: ['a', 'b'] })
  assert.deepEqual(await evaluate('var.rules.mcr'), {
    map: [
      ['fqdns', ['mcr.microsoft.com']],
      ['protocols', [{ map: [['port', 443], ['type', 'Https']] }]],
      ['sources', null],
    ],
  })
  assert.deepEqual(await evaluate('var.rules["aks"].protocols[0].port'), 443)
  assert.deepEqual(await evaluate('try(var.rules.mcr.extra, "gone")'), 'gone')
  assert.deepEqual(await evaluate('var.api_server_ip'), { unknown: 'variable "api_server_ip" has no default (give --var api_server_ip=VALUE)' })
  // -var: a plain string for a primitive type; HCL for a collection, then converted.
  assert.deepEqual(await evaluate('var.api_server_ip', { vars: new Map([['api_server_ip', '20.1.2.3']]) }), '20.1.2.3')
  assert.deepEqual(await evaluate('var.ports', { vars: new Map([['ports', '["9000", 22]']]) }), [9000, 22])
  assert.deepEqual(await evaluate('var.ports', { vars: new Map([['ports', '["x"]']]) }), { unknown: 'variable "ports" does not match its type: a string is not a number' })
})

test('iterators: NAME.key, NAME.value.attr, NAME.value["attr"], lookup, try, nested iterators', async () => {
  const outer = (s: TfScope): TfScope => iterationScope(s, 'collection', 'aks', new Map([['rules', new Map([['r1', new Map<string, TfValue>([['fqdns', ['a.example']]])]])]]))
  const inner = (s: TfScope): TfScope => iterationScope(outer(s), 'rule', 'r1', new Map<string, TfValue>([['fqdns', ['a.example']], ['sources', null]]))
  const cases: Array<[string, unknown]> = [
    ['rule.key', 'r1'],
    ['"${collection.key}-${rule.key}"', 'aks-r1'],
    ['rule.value.fqdns', ['a.example']],
    ['rule.value["fqdns"][0]', 'a.example'],
    ['collection.value.rules[rule.key].fqdns', ['a.example']],
    ['lookup(rule.value, "fqdns", [])', ['a.example']],
    ['lookup(rule.value, "ports", ["443"])', ['443']],
    ['try(rule.value.ports, ["443"])', ['443']],
    // Present but null: try and lookup give null, as in Terraform; no default is guessed.
    ['try(rule.value.sources, ["*"])', null],
    ['lookup(rule.value, "sources", ["*"])', null],
    ['can(rule.value.ports)', false],
    ['rule.value.ports', { error: 'the object has no attribute "ports"' }],
  ]
  for (const [expr, want] of cases) assert.deepEqual(await evaluate(expr, { scope: inner }), want, expr)
})

test('collection functions: toset orders and unifies, flatten, concat, merge, keys and values in lexical order', async () => {
  const cases: Array<[string, unknown]> = [
    ['local.mixed', { set: ['3', 'a', 'b'] }],
    ['toset([3, 1, 2, 1])', { set: [1, 2, 3] }],
    ['tolist(toset(["b", "a"]))', ['a', 'b']],
    ['flatten(local.nested)', ['a', 'b', 'c']],
    ['flatten([local.nested, ["d"]])', ['a', 'b', 'c', 'd']],
    ['concat(["a"], ["b", "c"])', ['a', 'b', 'c']],
    ['merge({ a = 1, b = 2 }, null, { b = 3 })', { map: [['a', 1], ['b', 3]] }],
    // Go's byte order: "10" < "9" < "a"; not JavaScript's integer-keys-first order.
    ['keys(local.objects)', ['10', '9', 'a', 'b']],
    ['values(local.objects)', ['ten', 'nine', 1, 2]],
    ['length(local.objects)', 4],
    ['length("héllo")', 5],
    ['coalesce(null, "", "x")', 'x'],
    ['distinct(["a", "b", "a"])', ['a', 'b']],
    ['lower("AzureCloud")', 'azurecloud'],
    ['tostring(443)', '443'],
    ['tonumber("9000")', 9000],
    ['azurerm_ip_group.nodes.id', '/ipGroups/aks-nodes'],
  ]
  for (const [expr, want] of cases) assert.deepEqual(await evaluate(expr), want, expr)
})

test('unknown parts stay inside collections; what reads them is unknown, and try() cannot skip them', async () => {
  const reason = 'variable "api_server_ip" has no default (give --var api_server_ip=VALUE)'
  assert.deepEqual(await evaluate('local.partial'), { map: [['known', 'x'], ['open', { unknown: reason }]] })
  assert.deepEqual(await evaluate('local.partial.known'), 'x')
  assert.deepEqual(await evaluate('keys(local.partial)'), ['known', 'open'])
  assert.deepEqual(await evaluate('local.partial.open'), { unknown: reason })
  assert.deepEqual(await evaluate('"ip ${local.partial.open}"'), { unknown: reason })
  assert.deepEqual(await evaluate('try(local.partial.open, "default")'), { unknown: reason })
  assert.deepEqual(await evaluate('try(local.partial, {})'), { unknown: reason })
  assert.deepEqual(await evaluate('local.partial == null ? [] : [1]'), [1])
  assert.deepEqual(await evaluate('local.partial == { known = "x" }'), { unknown: reason })
  assert.deepEqual(await evaluate('toset([local.partial.known, var.api_server_ip])'), { unknown: reason })
  assert.deepEqual(await evaluate('try(azurerm_ip_group.nodes.cidrs, [])'), { unknown: 'azurerm_ip_group.nodes.cidrs is a resource attribute, known only after apply' })
  assert.deepEqual(await evaluate('try(azurerm_virtual_network.hub.address_space, [])'), { unknown: 'azurerm_virtual_network.hub.address_space is a resource attribute, known only after apply' })
})

test('what the audit does not evaluate is an unknown with its reason', async () => {
  const cases: Array<[string, string]> = [
    ['[for x in var.ports : x]', 'a for expression is not evaluated by the audit'],
    ['{ for k, v in var.rules : k => v.fqdns }', 'a for expression is not evaluated by the audit'],
    ['var.rules[*].fqdns', 'a splat expression ([*]) is not evaluated by the audit'],
    ['"a%{ if true }b%{ endif }"', 'a template directive (%{ }) is not evaluated by the audit'],
    ['cidrsubnet("10.0.0.0/8", 8, 1)', 'the function cidrsubnet() is not evaluated by the audit'],
    // Names of JavaScript's Object.prototype are not functions or roots here.
    ['constructor("x")', 'the function constructor() is not evaluated by the audit'],
    ['toString()', 'the function toString() is not evaluated by the audit'],
    ['constructor.name', '"constructor" is not a name the audit knows here'],
    ['local.self', 'local.self refers to itself'],
    ['local.missing', 'local "missing" is not defined in this file'],
    ['data.azurerm_client_config.current.tenant_id', 'a data source is read only when Terraform plans'],
    ['each.key', 'each.key and each.value exist only in a resource with for_each'],
    ['nosuch', '"nosuch" is not a name the audit knows here'],
  ]
  for (const [expr, reason] of cases) assert.deepEqual(await evaluate(expr), { unknown: reason }, expr)
  // Terraform's own errors are errors.
  assert.deepEqual(await evaluate('var.ports[5]'), { error: 'the index 5 is out of range (the list has 2 elements)' })
  assert.deepEqual(await evaluate('toset(var.ports)[0]'), { error: 'a set has no index; convert it with tolist()' })
  assert.deepEqual(await evaluate('lookup(var.rules, "x")'), { error: 'lookup(): there is no key "x" and no default' })
})

test('hcl2json strings: literal text is already unescaped; only $${ and %%{ are escapes', () => {
  assert.deepEqual(parseHclJsonString('a\\b $${x} 100%'), { ok: true, expr: { kind: 'literal', value: 'a\\b ${x} 100%' } })
  const t = parseHclJsonString('g-${each.key}')
  assert.ok(t.ok && t.expr.kind === 'template' && t.expr.parts[0] === 'g-')
  assert.equal(parseHclJsonString('${"unclosed}').ok, false)
})

test('bounds: nesting, reference chains and values that double at each reference stop with a reason', async () => {
  const deep = parseHclExpression(`${'['.repeat(40)}1${']'.repeat(40)}`)
  assert.deepEqual(deep, { ok: false, reason: 'expressions nest more than 32 deep' })
  const chain = parseHclExpression(Array.from({ length: 100 }, () => '1').join(' + '))
  assert.equal(chain.ok, false)
  // A chain of 40 locals, each referring to the next.
  const locals = Array.from({ length: 40 }, (_, i) => `  l${i} = ${i === 39 ? '"end"' : `local.l${i + 1}`}`).join('\n')
  const { evaluator: e1, scope: s1 } = await moduleOf(`locals {\n${locals}\n}\n`)
  const r1 = parseHclExpression('local.l0')
  assert.ok(r1.ok)
  assert.deepEqual(result(e1.expression(r1.expr, s1)), { unknown: 'references nest more than 32 deep' })
  // 2^30 elements if evaluated: the step budget ends it quickly.
  const doubling = Array.from({ length: 30 }, (_, i) => `  d${i + 1} = concat(local.d${i}, local.d${i})`).join('\n')
  const { evaluator: e2, scope: s2 } = await moduleOf(`locals {\n  d0 = ["x"]\n${doubling}\n}\n`, new Map(), new TerraformEvaluator(100_000))
  const r2 = parseHclExpression('length(flatten([local.d30]))')
  assert.ok(r2.ok)
  const started = performance.now()
  assert.deepEqual(result(e2.expression(r2.expr, s2)), { unknown: 'evaluating the file takes more than 100000 steps' })
  assert.ok(performance.now() - started < 2000)
})
