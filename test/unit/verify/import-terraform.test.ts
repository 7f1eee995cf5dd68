// The Terraform importer's expansion: which blocks dynamic blocks, for_each and count make, in
// which order, and with which values, read back from the imported policy.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { importFirewallText } from '../../../src/verify/import-firewall.ts'

const POLICY_ID = '"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/firewallPolicies/p"'

/** A group resource around `body`, imported; each rule as "group/collection/rule fqdns". */
async function rules(body: string, head = ''): Promise<{ rules: string[]; diagnostics: string[] }> {
  const text = `${head}
resource "azurerm_firewall_policy_rule_collection_group" "g" {
  name               = "g"
  firewall_policy_id = ${POLICY_ID}
  priority           = 100
${body}
}
`
  const r = await importFirewallText(text, 'test.tf', undefined)
  const diagnostics = r.diagnostics.map((d) => `${d.code}: ${d.message}`)
  if (!r.ok) return { rules: [], diagnostics }
  const out: string[] = []
  for (const g of r.policy.ruleCollectionGroups) {
    for (const c of g.ruleCollections) {
      for (const rule of c.rules) out.push(`${g.name}/${c.name}/${rule.name}${'targetFqdns' in rule ? ` ${rule.targetFqdns.join(',')}` : ''}`)
    }
  }
  return { rules: out, diagnostics }
}

const collection = (inner: string): string => `  application_rule_collection {
    name     = "c"
    priority = 100
    action   = "Allow"
${inner}
  }`

const rule = (name: string, fqdn = '"x.example"'): string => `    rule {
      name              = ${name}
      source_addresses  = ["*"]
      destination_fqdns = [${fqdn}]
      protocols {
        type = "Https"
        port = 443
      }
    }`

const dynamicRule = (forEach: string, name: string, fqdn: string, iterator = ''): string => `    dynamic "rule" {
      for_each = ${forEach}
${iterator === '' ? '' : `      iterator = ${iterator}\n`}      content {
        name              = ${name}
        source_addresses  = ["*"]
        destination_fqdns = [${fqdn}]
        protocols {
          type = "Https"
          port = 443
        }
      }
    }`

test('a literal map in for_each: hcl2json gives it as JSON; keys in Go byte order ("10" < "9" < "a"), not JavaScript\'s', async () => {
  const r = await rules(collection(dynamicRule('{ b = "b.example", a = "a.example", "10" = "ten.example", "9" = "nine.example" }', 'rule.key', 'rule.value')))
  assert.deepEqual(r.rules, ['g/c/10 ten.example', 'g/c/9 nine.example', 'g/c/a a.example', 'g/c/b b.example'])
  assert.deepEqual(r.diagnostics, [])
})

test('a literal list of objects with references inside: in order, each element evaluated, the index as key', async () => {
  const head = 'variable "domain" {\n  default = "example.org"\n}\n'
  const r = await rules(collection(dynamicRule('[{ name = "z", host = "z.${var.domain}" }, { name = "a", host = "a.${var.domain}" }]', '"${r.key}-${r.value.name}"', 'r.value["host"]', 'r')), head)
  assert.deepEqual(r.rules, ['g/c/0-z z.example.org', 'g/c/1-a a.example.org'])
})

test('toset: sorted, duplicates gone, key and value the same string', async () => {
  const r = await rules(collection(dynamicRule('toset(["c.example", "a.example", "c.example"])', 'rule.key', 'rule.value')))
  assert.deepEqual(r.rules, ['g/c/a.example a.example', 'g/c/c.example c.example'])
})

test('static and dynamic blocks interleave in the order written', async () => {
  const body = collection([rule('"s1"'), dynamicRule('["d1", "d2"]', 'rule.value', '"x.example"'), rule('"s2"'), dynamicRule('["d3"]', 'rule.value', '"x.example"')].join('\n'))
  const r = await rules(body)
  assert.deepEqual(
    r.rules.map((x) => x.split(' ')[0]),
    ['g/c/s1', 'g/c/d1', 'g/c/d2', 'g/c/s2', 'g/c/d3'],
  )
})

test('nested dynamic blocks: the inner content sees the outer iterator; dynamic protocols', async () => {
  const head = `locals {
  collections = {
    web = { priority = 200, hosts = ["a.example", "b.example"] }
    api = { priority = 100, hosts = ["api.example"] }
  }
}
`
  const body = `  dynamic "application_rule_collection" {
    for_each = local.collections
    iterator = coll
    content {
      name     = coll.key
      priority = coll.value.priority
      action   = "Allow"
      dynamic "rule" {
        for_each = coll.value.hosts
        content {
          name              = "\${coll.key}-\${rule.key}"
          source_addresses  = ["*"]
          destination_fqdns = [rule.value]
          dynamic "protocols" {
            for_each = { Http = 80, Https = 443 }
            content {
              type = protocols.key
              port = protocols.value
            }
          }
        }
      }
    }
  }`
  const text = `${head}
resource "azurerm_firewall_policy_rule_collection_group" "g" {
  name               = "g"
  firewall_policy_id = ${POLICY_ID}
  priority           = 100
${body}
}
`
  const r = await importFirewallText(text, 'test.tf', undefined)
  assert.ok(r.ok)
  const colls = r.policy.ruleCollectionGroups[0]?.ruleCollections ?? []
  assert.deepEqual(
    colls.map((c) => [c.name, c.priority, c.rules.map((x) => x.name)]),
    [
      ['api', 100, ['api-0']],
      ['web', 200, ['web-0', 'web-1']],
    ],
  )
  const first = colls[0]?.rules[0]
  assert.ok(first !== undefined && 'protocols' in first && Array.isArray(first.protocols))
  assert.deepEqual(first.protocols, [
    { type: 'Http', port: 80 },
    { type: 'Https', port: 443 },
  ])
})

test('count and for_each on the resource: one group per index or key, each.value and count.index inside', async () => {
  const text = `
variable "tiers" {
  type    = set(string)
  default = ["gold", "bronze"]
}
resource "azurerm_firewall_policy_rule_collection_group" "by_key" {
  for_each           = var.tiers
  name               = "tier-\${each.key}"
  firewall_policy_id = ${POLICY_ID}
  priority           = each.value == "gold" ? 100 : 200
${collection(rule('each.value'))}
}
resource "azurerm_firewall_policy_rule_collection_group" "by_index" {
  count              = 2
  name               = "n-\${count.index}"
  firewall_policy_id = ${POLICY_ID}
  priority           = 300 + count.index
${collection(rule('"r${count.index}"'))}
}
`
  const r = await importFirewallText(text, 'test.tf', undefined)
  assert.ok(r.ok)
  assert.deepEqual(
    r.policy.ruleCollectionGroups.map((g) => [g.name, g.priority, g.ruleCollections[0]?.rules[0]?.name]),
    // hcl2json gives resources by name (by_index, by_key); a set's instances in order.
    [
      ['n-0', 300, 'r0'],
      ['n-1', 301, 'r1'],
      ['tier-bronze', 200, 'bronze'],
      ['tier-gold', 100, 'gold'],
    ],
  )
  assert.deepEqual(r.diagnostics, [])
})

test('an element whose attribute is unknown is left out with the reason; the other elements are expanded', async () => {
  const head = `variable "api_server_ip" {
  type = string
}
locals {
  hosts = {
    known = "mcr.microsoft.com"
    open  = var.api_server_ip
  }
}
`
  const r = await rules(collection(dynamicRule('local.hosts', 'rule.key', 'rule.value')), head)
  assert.deepEqual(r.rules, ['g/c/known mcr.microsoft.com', 'g/c/open '])
  assert.deepEqual(r.diagnostics, [
    'IMPORT_UNRESOLVED: "${rule.value}" cannot be resolved: variable "api_server_ip" has no default (give --var api_server_ip=VALUE); left out of the audit',
  ])
})

test('a reference to a resource named like a JavaScript prototype member is not in the file', async () => {
  const r = await rules(collection(rule('"r"', 'azurerm_ip_group.__proto__.id')))
  assert.deepEqual(r.diagnostics, ['IMPORT_UNRESOLVED: "${azurerm_ip_group.__proto__.id}" cannot be resolved: azurerm_ip_group.__proto__ is not in this file; left out of the audit'])
})
