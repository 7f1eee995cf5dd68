// `aks-egress audit` of Terraform written the way modules write it: dynamic blocks over variables
// and locals, for_each and count on resources, try() and lookup() for optional fields. Expected
// results come from what the fixtures mean; the tutorial rewritten with dynamic blocks must audit
// exactly as the tutorial written out.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { MAX_TERRAFORM_BLOCKS } from '../../../src/verify/terraform-dynamic.ts'
import { FIXTURES, runCli } from '../../helpers/run-cli.ts'

interface AuditJson {
  endpoints: Array<{ id: string; protocol: string; status: string; decisions: Array<{ flow: string; action: string; rule: string | null }> }>
  broadRules: unknown[]
  fix: unknown
  summary: Record<string, number>
  diagnostics: Array<{ code: string; message: string }>
}

async function audit(args: readonly string[], cwd?: string): Promise<{ code: number; json: AuditJson; stderr: string }> {
  const r = await runCli(['audit', ...args, '--output', 'json'], cwd === undefined ? {} : { cwd })
  return { code: r.code, json: JSON.parse(r.stdout) as AuditJson, stderr: r.stderr }
}

/** Each endpoint as "id protocol status rule, rule". */
function outcome(j: AuditJson): string[] {
  return j.endpoints.map((e) => `${e.id} ${e.protocol} ${e.status} ${e.decisions.map((d) => d.rule ?? d.action).join(', ')}`)
}

function withTemp(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'aks-egress-tf-'))
  return run(dir).finally(() => {
    rmSync(dir, { recursive: true, force: true })
  })
}

const fixture = (name: string): string => readFileSync(join(FIXTURES, 'audit', name), 'utf8')

test('the tutorial written with dynamic blocks over variables audits exactly as the tutorial written out', async () => {
  const variants = [
    ['--node-cidr', '10.42.1.0/24'],
    ['--node-cidr', '10.42.1.0/24', '--var', 'api_server_ip=20.61.10.5', '--api-server', '20.61.10.5'],
    ['--node-cidr', '10.99.0.0/24'],
    ['--location', 'northeurope'],
  ]
  for (const args of variants) {
    const plain = await audit(['audit/tutorial.tf', ...args])
    const dynamic = await audit(['audit/tutorial-dynamic.tf', ...args])
    assert.equal(dynamic.code, plain.code, args.join(' '))
    assert.deepEqual(outcome(dynamic.json), outcome(plain.json), args.join(' '))
    assert.deepEqual(dynamic.json.summary, plain.json.summary)
    assert.deepEqual(dynamic.json.broadRules, plain.json.broadRules)
    assert.deepEqual(dynamic.json.fix, plain.json.fix)
  }
  const clean = await audit(['audit/tutorial-dynamic.tf', '--node-cidr', '10.42.1.0/24'])
  assert.equal(clean.json.summary['allowed'], 16)
  assert.equal(clean.json.endpoints.find((e) => e.id === 'public.network.tunnel-udp-1194')?.decisions[0]?.rule, 'aks-egress/aksfwnr/apiudp')
  // The open variable is reported where the expanded rule reads it: the content attribute.
  assert.match(
    clean.stderr,
    /tutorial-dynamic\.tf:131:35 - warning IMPORT_UNRESOLVED: "\$\{concat\(rule\.value\.destination_addresses, .*\)\}" cannot be resolved: variable "api_server_ip" has no default/,
  )
  assert.doesNotMatch(clean.stderr, /IMPORT_UNSUPPORTED/)
})

test('for_each on the rule collection group (a map variable) and on IP groups (a set), count on an optional group', async () => {
  const { code, json, stderr } = await audit(['audit/for-each-groups.tf', '--node-cidr', '10.42.2.0/24', '--location', 'westeurope'])
  assert.equal(code, 1)
  assert.doesNotMatch(stderr, /IMPORT_/)
  const out = outcome(json)
  assert.deepEqual(out.slice(0, 3), [
    'public.network.tunnel-udp-1194 udp:1194 allowed aks-network/aks-network-net/tunnel-udp',
    'public.network.tunnel-tcp-9000 tcp:9000 allowed aks-network/aks-network-net/tunnel-tcp',
    'public.network.ntp udp:123 allowed aks-network/aks-network-net/ntp',
  ])
  assert.deepEqual(
    out.filter((o) => !o.includes(' allowed aks-app/aks-app-app/aks-tag') && !o.includes('not-checked')).slice(3),
    ['public.packages https:443 blocked blocklist/no-package-feeds/microsoft-packages'],
  )
  assert.deepEqual(json.summary, { allowed: 15, blocked: 1, partial: 0, notChecked: 2, broadRules: 0 })
  // count = 0: the blocklist group is not created.
  const open = await audit(['audit/for-each-groups.tf', '--node-cidr', '10.42.1.0/24', '--location', 'westeurope', '--var', 'block_package_feeds=false'])
  assert.equal(open.code, 0)
  assert.equal(open.json.summary['blocked'], 0)
  // The IP groups (for_each over a set) hold the node pools' subnets and nothing else.
  const outside = await audit(['audit/for-each-groups.tf', '--node-cidr', '10.42.3.0/24', '--location', 'westeurope'])
  assert.equal(outside.json.summary['allowed'], 0)
})

test('locals with try() and lookup() defaults: an entry without protocols gets Https:443, one with other sources does not cover the nodes', async () => {
  const { code, json, stderr } = await audit(['audit/locals-try-lookup.tf', '--node-cidr', '10.240.0.0/16', '--location', 'westeurope'])
  assert.equal(code, 1)
  assert.doesNotMatch(stderr, /IMPORT_/)
  assert.deepEqual(
    outcome(json).filter((o) => !o.includes(' allowed aks-egress/aks-fqdns/aks-fqdns') && !o.includes('not-checked')),
    [
      'public.network.tunnel-udp-1194 udp:1194 allowed aks-egress/aks-network/tunnel-udp',
      'public.network.tunnel-tcp-9000 tcp:9000 blocked deny',
      'public.network.ntp udp:123 allowed aks-egress/aks-network/ntp',
      'public.mcr https:443 blocked deny',
      'public.mcr-data https:443 blocked deny',
      'public.mcr-edge https:443 blocked deny',
      'ubuntu-updates.security http:80 allowed aks-egress/aks-fqdns/ubuntu-fqdns',
      'ubuntu-updates.azure-archive http:80 allowed aks-egress/aks-fqdns/ubuntu-fqdns',
      'ubuntu-updates.changelogs http:80 allowed aks-egress/aks-fqdns/ubuntu-fqdns',
    ],
  )
  assert.deepEqual(json.summary, { allowed: 12, blocked: 4, partial: 0, notChecked: 2, broadRules: 0 })
  // From the subnet the MCR rule names, MCR is allowed and nothing else.
  const other = await audit(['audit/locals-try-lookup.tf', '--node-cidr', '10.1.0.0/16', '--location', 'westeurope'])
  assert.deepEqual(
    outcome(other.json).filter((o) => o.includes(' allowed ')),
    ['public.mcr https:443 allowed aks-egress/aks-fqdns/mcr-fqdns', 'public.mcr-data https:443 allowed aks-egress/aks-fqdns/mcr-fqdns', 'public.mcr-edge https:443 allowed aks-egress/aks-fqdns/mcr-fqdns'],
  )
})

test('static and dynamic blocks of one type keep their written order, as Terraform expands them in place', async () => {
  const file = (dynamicFirst: boolean): string => {
    const stat = `    rule {
      name              = "static"
      source_addresses  = ["*"]
      destination_fqdns = ["mcr.microsoft.com"]
      protocols {
        type = "Https"
        port = 443
      }
    }
`
    const dyn = `    dynamic "rule" {
      for_each = toset(["mcr.microsoft.com"])
      content {
        name              = "dynamic"
        source_addresses  = ["*"]
        destination_fqdns = [rule.value]
        protocols {
          type = "Https"
          port = 443
        }
      }
    }
`
    return `resource "azurerm_firewall_policy_rule_collection_group" "g" {
  name               = "g"
  firewall_policy_id = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/firewallPolicies/p"
  priority           = 100
  application_rule_collection {
    name     = "c"
    priority = 100
    action   = "Allow"
${dynamicFirst ? dyn + stat : stat + dyn}  }
}
`
  }
  await withTemp(async (dir) => {
    for (const dynamicFirst of [true, false]) {
      writeFileSync(join(dir, 'order.tf'), file(dynamicFirst))
      const { json } = await audit(['order.tf', '--location', 'westeurope'], dir)
      assert.equal(json.endpoints.find((e) => e.id === 'public.mcr')?.decisions[0]?.rule, `g/c/${dynamicFirst ? 'dynamic' : 'static'}`)
    }
  })
})

test('what cannot be evaluated keeps a located warning and is left out: a for expression, a resource attribute, a list for_each on a resource', async () => {
  await withTemp(async (dir) => {
    const tf = fixture('tutorial-dynamic.tf')
      .replace('for_each = var.network_rule_collections', 'for_each = { for k, v in var.network_rule_collections : k => v }')
      .replace('for_each = rule.value.protocols == null ? [] : rule.value.protocols', 'for_each = azurerm_firewall_policy.aks.dns')
    writeFileSync(join(dir, 'open.tf'), tf)
    const { json, stderr } = await audit(['open.tf', '--location', 'westeurope', '--node-cidr', '10.42.1.0/24'], dir)
    assert.match(
      stderr,
      /open\.tf:118:16 - warning IMPORT_UNSUPPORTED: aks-egress: dynamic "network_rule_collection" is not expanded: its for_each cannot be evaluated \(a for expression is not evaluated by the audit\); the blocks it generates are not audited/,
    )
    assert.match(
      stderr,
      /open\.tf:155:24 - warning IMPORT_UNSUPPORTED: aks-egress\/aksfwar\/fqdn: dynamic "protocols" is not expanded: its for_each cannot be evaluated \(azurerm_firewall_policy\.aks\.dns is a resource attribute, known only after apply\)/,
    )
    // Nothing is guessed: no network rule, and an application rule without protocols matches nothing.
    assert.equal(json.summary['allowed'], 0)

    const listed = fixture('tutorial-dynamic.tf').replace(
      'resource "azurerm_firewall_policy_rule_collection_group" "aks" {\n',
      'resource "azurerm_firewall_policy_rule_collection_group" "aks" {\n  for_each = ["one"]\n',
    )
    writeFileSync(join(dir, 'listed.tf'), listed)
    const r = await runCli(['audit', 'listed.tf'], { cwd: dir })
    assert.equal(r.code, 2)
    assert.match(r.stderr, /listed\.tf:113:14 - warning IMPORT_UNSUPPORTED: azurerm_firewall_policy_rule_collection_group\.aks: for_each is a list, which Terraform rejects for a resource \(it needs a map or a set of strings: toset\(\.\.\.\)\); its instances are not audited/)
  })
})

test('a value from a variable that the audit rejects is reported at the content attribute that reads it', async () => {
  await withTemp(async (dir) => {
    writeFileSync(join(dir, 'bad.tf'), fixture('tutorial-dynamic.tf').replace('destination_fqdn_tags = ["AzureKubernetesService"]', 'destination_fqdns = ["mcr.microsoft.com", "bad..name"]'))
    const { json, stderr } = await audit(['bad.tf', '--location', 'westeurope', '--node-cidr', '10.42.1.0/24'], dir)
    assert.match(stderr, /bad\.tf:151:35 - warning FQDN_INVALID: aks-egress\/aksfwar\/fqdn: FQDN "bad\.\.name" the name has an empty label/)
    assert.equal(json.endpoints.find((e) => e.id === 'public.mcr')?.status, 'allowed')
  })
})

test(`expansion stops at ${MAX_TERRAFORM_BLOCKS} blocks with a warning; the file is still audited`, async () => {
  const range = (n: number): string => Array.from({ length: n }, (_, i) => String(i)).join(', ')
  const tf = `locals {
  collections = [${range(400)}]
  rules       = [${range(300)}]
}
resource "azurerm_firewall_policy_rule_collection_group" "g" {
  name               = "big"
  firewall_policy_id = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/firewallPolicies/p"
  priority           = 100
  dynamic "network_rule_collection" {
    for_each = local.collections
    content {
      name     = "c\${network_rule_collection.value}"
      priority = 100 + network_rule_collection.key
      action   = "Allow"
      dynamic "rule" {
        for_each = local.rules
        content {
          name                  = "r\${rule.value}"
          protocols             = ["TCP"]
          source_addresses      = ["10.0.0.0/8"]
          destination_addresses = ["10.0.0.1"]
          destination_ports     = ["443"]
        }
      }
    }
  }
}
`
  await withTemp(async (dir) => {
    writeFileSync(join(dir, 'big.tf'), tf)
    const started = performance.now()
    const r = await runCli(['audit', 'big.tf', '--location', 'westeurope'], { cwd: dir })
    assert.equal(r.code, 1)
    assert.match(r.stderr, /big\.tf:17:9 - warning IMPORT_UNSUPPORTED: big\/c332: the file expands to more than 100000 blocks and resource instances; the rest are left out of the audit/)
    assert.equal(r.stderr.match(/IMPORT_UNSUPPORTED/g)?.length, 1)
    // A bound on a hang, not a benchmark: loaded machines are slow.
    assert.ok(performance.now() - started < 60_000)
  })
})

test('values that double at each reference stop at the evaluation budget, with one warning, quickly', async () => {
  const lists = Array.from({ length: 28 }, (_, i) => `  l${i + 1} = concat(local.l${i}, local.l${i})`).join('\n')
  const strings = Array.from({ length: 28 }, (_, i) => `  s${i + 1} = "\${local.s${i}}\${local.s${i}}"`).join('\n')
  const tf = `locals {
  l0 = ["mcr.microsoft.com"]
${lists}
  s0 = "x"
${strings}
}
resource "azurerm_firewall_policy_rule_collection_group" "g" {
  name               = "g"
  firewall_policy_id = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/firewallPolicies/p"
  priority           = 100
  application_rule_collection {
    name     = "c"
    priority = 100
    action   = "Allow"
    rule {
      name              = local.s28
      source_addresses  = ["*"]
      destination_fqdns = local.l28
      protocols {
        type = "Https"
        port = 443
      }
    }
  }
}
`
  await withTemp(async (dir) => {
    writeFileSync(join(dir, 'doubling.tf'), tf)
    const started = performance.now()
    const r = await runCli(['audit', 'doubling.tf', '--location', 'westeurope'], { cwd: dir })
    // A bound on a hang, not a benchmark: loaded machines are slow.
    assert.ok(performance.now() - started < 60_000)
    assert.equal(r.code, 1)
    assert.match(r.stderr, /doubling\.tf:\d+:\d+ - warning IMPORT_UNRESOLVED: "\$\{local\.s28\}" cannot be resolved: a template makes a string longer than 1000000 characters/)
    assert.match(r.stderr, /warning IMPORT_UNRESOLVED: "\$\{local\.l28\}" cannot be resolved: evaluating the file takes more than \d+ steps/)
    // Said once, and the literal values around are still read.
    assert.equal(r.stderr.match(/IMPORT_UNRESOLVED/g)?.length, 2)
    assert.doesNotMatch(r.stderr, /MISSING_KEY/)
  })
})
