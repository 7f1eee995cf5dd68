// `aks-egress audit`: hand-written exports of real setups (Microsoft's tutorial, the seed's own
// rules, a broken hub policy, Terraform) held against profiles, through the command line.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { loadPolicyText } from '../../../src/config/load-policy.ts'
import { stringify } from 'yaml'
import { FIXTURES, runCli } from '../../helpers/run-cli.ts'

interface AuditJson {
  endpoints: Array<{ id: string; target: string; protocol: string; status: string; note?: string; decisions: Array<{ flow: string; region: string; action: string; rule: string | null; code: string }> }>
  broadRules: Array<{ rule: string; reasons: string[] }>
  fix: { policy: unknown; az: string[]; notes: string[] } | null
  summary: { allowed: number; blocked: number; partial: number; notChecked: number }
  diagnostics: Array<{ code: string; message: string }>
}

async function auditJson(args: string[]): Promise<{ code: number; json: AuditJson; stderr: string }> {
  const r = await runCli(['audit', ...args, '--output', 'json'])
  return { code: r.code, json: JSON.parse(r.stdout) as AuditJson, stderr: r.stderr }
}

function status(j: AuditJson, id: string, protocol: string): string | undefined {
  return j.endpoints.find((e) => e.id === id && e.protocol === protocol)?.status
}

test("Microsoft's tutorial setup (classic firewall, az network firewall show) audits clean", async () => {
  const { code, json } = await auditJson(['audit/tutorial-classic.json', '--location', 'westeurope'])
  assert.equal(code, 0)
  assert.deepEqual(json.summary, { allowed: 16, blocked: 0, partial: 0, notChecked: 2, broadRules: 0 })
  const udp = json.endpoints.find((e) => e.id === 'public.network.tunnel-udp-1194')
  assert.equal(udp?.decisions[0]?.rule, 'aks-egress-fw/aksfwnr/apiudp')
  // The FQDN tag covers the whole *.hcp. pattern, decided on the generic probe name.
  const hcp = json.endpoints.find((e) => e.id === 'public.hcp')
  assert.equal(hcp?.decisions[0]?.flow, 'https://aks-egress-probe-7f3a.hcp.westeurope.azmk8s.io:443')
  assert.equal(hcp.decisions[0].rule, 'aks-egress-fw/aksfwar/fqdn')
  // Conditional entries whose parameter is not given are reported, not guessed.
  assert.match(json.endpoints.find((e) => e.id === 'public.network.api-server')?.note ?? '', /needs <api-server-ip> \(if pods access the API server/)
  assert.equal(json.fix, null)
})

test("the tutorial as an ARM template of a firewall policy audits clean; expressions are evaluated, open parameters reported", async () => {
  const r = await runCli(['audit', 'audit/tutorial-policy-template.json'])
  assert.equal(r.code, 0)
  assert.match(r.stdout, /^allowed {6}AzureCloud\.westeurope {7}udp:1194 {3}required {5}DefaultNetworkRuleCollectionGroup\/aksfwnr\/apiudp$/m)
  assert.match(r.stdout, /Result: 16 allowed, 0 blocked, 0 partly allowed, 2 not checked; 0 broad rules\./)
  // The location came from the policy's AzureCloud.westeurope tags.
  assert.match(r.stderr, /warning LOCATION_INFERRED: --location not given: auditing for westeurope/)
  assert.match(
    r.stderr,
    /tutorial-policy-template\.json:61:38 - warning IMPORT_UNRESOLVED: "\[parameters\('serviceIp'\)\]" cannot be resolved: parameters\('serviceIp'\) has no value \(no defaultValue; give --var serviceIp=VALUE\)/,
  )
  const withVar = await runCli(['audit', 'audit/tutorial-policy-template.json', '--location', 'westeurope', '--var', 'serviceIp=10.42.1.250'])
  assert.equal(withVar.code, 0)
  assert.doesNotMatch(withVar.stderr, /IMPORT_UNRESOLVED|LOCATION_INFERRED/)
})

test("the seed's own setup (2019-11: network rule to the API server IP, FQDN application rules) audits clean", async () => {
  const { code, json } = await auditJson(['audit/seed-setup-template.json', '--catalog', '2019-11', '--location', 'westeurope', '--api-server', '20.61.10.5', '--node-cidr', '10.240.0.0/16'])
  assert.equal(code, 0)
  assert.equal(json.summary.blocked, 0)
  assert.equal(json.summary.allowed, 21)
  // TCP 22/9000 of the *.hcp. and *.tun. rows reach the API server by its IP.
  assert.equal(json.endpoints.find((e) => e.id === 'public.tun' && e.protocol === 'tcp:22')?.decisions[0]?.rule, 'aks-seed-fw/aks-tunnel/api-server')
  assert.deepEqual(json.broadRules, [{ rule: 'aks-seed-fw/aks-tunnel/ntp', type: 'network', reasons: ['destination "*" is every address'] }])
})

test('without --api-server, a rule to the API server IP cannot be matched: the tunnel is reported blocked, with the hint', async () => {
  const { code, json } = await auditJson(['audit/seed-setup-template.json', '--catalog', '2019-11', '--location', 'westeurope'])
  assert.equal(code, 1)
  const tunnel = json.endpoints.find((e) => e.id === 'public.network.tunnel' && e.protocol === 'tcp:9000')
  assert.equal(tunnel?.status, 'blocked')
  assert.match(tunnel.note ?? '', /decided by service tag AzureCloud\.westeurope, AzureCloud .*give --api-server/)
})

test('a source outside the node subnet does not count: rules for 10.240.0.0/16 do not allow nodes in 10.1.0.0/16', async () => {
  const { code, json } = await auditJson(['audit/seed-setup-template.json', '--catalog', '2019-11', '--location', 'westeurope', '--api-server', '20.61.10.5', '--node-cidr', '10.1.0.0/16'])
  assert.equal(code, 1)
  assert.equal(json.summary.allowed, 0)
})

test('a broken hub policy: missing tunnel rule, wrong port, a deny collection shadowing the tag, a partial wildcard', async () => {
  const { code, json } = await auditJson(['audit/broken-groups.json', '--location', 'westeurope', '--node-cidr', '10.240.0.0/16'])
  assert.equal(code, 1)
  assert.equal(status(json, 'public.network.tunnel-udp-1194', 'udp:1194'), 'blocked')
  const tcp = json.endpoints.find((e) => e.id === 'public.network.tunnel-tcp-9000')
  assert.equal(tcp?.status, 'blocked')
  assert.equal(tcp.decisions[0]?.code, 'DEFAULT_DENY')
  const packages = json.endpoints.find((e) => e.id === 'public.packages')
  assert.equal(packages?.status, 'blocked')
  assert.equal(packages.decisions[0]?.rule, 'corp-blocklist/block-package-mirrors/no-public-packages')
  const data = json.endpoints.find((e) => e.id === 'public.mcr-data')
  assert.equal(data?.status, 'partial')
  assert.equal(data.note, 'allowed except names matching westeurope.data.mcr.microsoft.com')
  assert.deepEqual(
    data.decisions.map((d) => [d.flow, d.action]),
    [
      ['https://aks-egress-probe-7f3a.data.mcr.microsoft.com:443', 'allow'],
      ['https://westeurope.data.mcr.microsoft.com:443', 'deny'],
    ],
  )
  assert.deepEqual(
    json.broadRules.map((b) => b.rule),
    ['DefaultNetworkRuleCollectionGroup/aksfwnr/onprem-all-ports', 'DefaultNetworkRuleCollectionGroup/aksfwnr/smtp-relay', 'DefaultApplicationRuleCollectionGroup/aksfwar/legacy-proxy'],
  )
  assert.deepEqual(json.broadRules[1]?.reasons, ['destination "0.0.0.0/0" is every address', 'protocol Any: every IP protocol'])

  // The fix comes before the deny (group priority 100 < 150), and is a valid policy of our format.
  assert.ok(json.fix)
  assert.equal(json.fix.az[0], 'az network firewall policy rule-collection-group create -g "$RESOURCE_GROUP" --policy-name hub-fwpolicy -n aks-egress-fix --priority 100')
  assert.ok(json.fix.az.some((c) => c.includes("--target-fqdns '*.data.mcr.microsoft.com'")))
  assert.match(json.fix.notes[0] ?? '', /before the denying rule corp-blocklist\/block-package-mirrors\/no-public-packages/)
  const loaded = loadPolicyText(stringify(json.fix.policy), 'fix.yaml')
  assert.deepEqual(loaded.diagnostics, [])
  assert.equal(loaded.policy?.ruleCollectionGroups[0]?.ruleCollections.flatMap((c) => c.rules.map((r) => r.name)).join(' '), 'public.network.tunnel-udp-1194 public.network.tunnel-tcp-9000 public.mcr-data public.packages')
})

test('the fix printed by the table output is accepted by aks-egress policy validate', async () => {
  const r = await runCli(['audit', 'audit/broken-groups.json', '--location', 'westeurope'])
  assert.equal(r.code, 1)
  const yamlText = r.stdout.split('The same as an aks-egress policy (aks-egress policy validate accepts it):\n')[1]?.split('\n\nResult:')[0] ?? ''
  const dir = mkdtempSync(join(tmpdir(), 'aks-egress-audit-'))
  try {
    writeFileSync(join(dir, 'fix.yaml'), yamlText.replace(/^ {2}/gm, ''))
    const v = await runCli(['policy', 'validate', 'fix.yaml'], { cwd: dir })
    assert.equal(v.stdout, 'fix.yaml: valid (1 group, 4 rules)\n')
    assert.equal(v.code, 0)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('the tutorial in Terraform (policy rule collection group, IP group, locals) audits clean; an open variable is reported at its line', async () => {
  const r = await runCli(['audit', 'audit/tutorial.tf', '--node-cidr', '10.42.1.0/24', '--output', 'json'])
  assert.equal(r.code, 0)
  const json = JSON.parse(r.stdout) as AuditJson
  assert.equal(json.summary.blocked, 0)
  assert.equal(json.endpoints.find((e) => e.id === 'public.network.tunnel-udp-1194')?.decisions[0]?.rule, 'aks-egress/aksfwnr/apiudp')
  assert.match(r.stderr, /tutorial\.tf:67:32 - warning IMPORT_UNRESOLVED: "\$\{var\.api_server_ip\}" cannot be resolved: variable "api_server_ip" has no default/)
  // The IP group resolves: nodes outside it are not allowed.
  const outside = await runCli(['audit', 'audit/tutorial.tf', '--node-cidr', '10.99.0.0/24'])
  assert.equal(outside.code, 1)
})

test('classic Terraform rule collections: wrong UDP port, an FQDN tag rule without protocol, a dynamic block over a variable', async () => {
  const { code, json, stderr } = await auditJson(['audit/classic-broken.tf', '--location', 'northeurope', '--node-cidr', '10.240.0.0/16'])
  assert.equal(code, 1)
  assert.equal(status(json, 'public.network.tunnel-udp-1194', 'udp:1194'), 'blocked')
  assert.equal(status(json, 'public.network.tunnel-tcp-9000', 'tcp:9000'), 'allowed')
  assert.equal(status(json, 'public.mcr', 'https:443'), 'blocked')
  assert.equal(status(json, 'ubuntu-updates.security', 'http:80'), 'allowed')
  // The dynamic block iterates the variable's default, [], and generates no rule: nothing to warn.
  assert.doesNotMatch(stderr, /IMPORT_UNSUPPORTED|IMPORT_UNRESOLVED/)
  assert.match(stderr, /classic-broken\.tf:52:24 - warning PROTOCOL_INVALID: hub-fw\/aks-fqdns\/aks: application rule without a protocol matches no traffic/)
  assert.ok(json.fix?.az.every((c) => c.startsWith('az network firewall network-rule create') || c.startsWith('az network firewall application-rule create')))
  // A list(string) variable given on the command line is read as HCL, as Terraform reads -var.
  const extra = await auditJson(['audit/classic-broken.tf', '--location', 'northeurope', '--node-cidr', '10.240.0.0/16', '--var', 'extra_fqdns=["mcr.microsoft.com", "*.data.mcr.microsoft.com"]'])
  const mcr = extra.json.endpoints.find((e) => e.id === 'public.mcr')
  assert.equal(mcr?.status, 'allowed')
  assert.equal(mcr.decisions[0]?.rule, 'hub-fw/aks-fqdns/mcr.microsoft.com')
  assert.equal(status(extra.json, 'public.mcr-data', 'https:443'), 'allowed')
})

test('a network rule to * on TCP 443 allows every HTTPS endpoint before application rules, and is flagged', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aks-egress-audit-'))
  try {
    const groups = [
      {
        name: 'net',
        priority: 100,
        ruleCollections: [
          {
            name: 'wide',
            priority: 100,
            ruleCollectionType: 'FirewallPolicyFilterRuleCollection',
            action: { type: 'Allow' },
            rules: [
              { ruleType: 'NetworkRule', name: 'https-anywhere', ipProtocols: ['TCP'], sourceAddresses: ['*'], destinationAddresses: ['*'], destinationPorts: ['443', '80', '9000'] },
              { ruleType: 'NetworkRule', name: 'tunnel', ipProtocols: ['UDP'], sourceAddresses: ['*'], destinationAddresses: ['*'], destinationPorts: ['1194', '123'] },
            ],
          },
        ],
      },
    ]
    writeFileSync(join(dir, 'groups.json'), JSON.stringify(groups))
    const r = await runCli(['audit', 'groups.json', '--location', 'westeurope', '--output', 'json'], { cwd: dir })
    const json = JSON.parse(r.stdout) as AuditJson
    assert.equal(r.code, 0)
    assert.equal(json.summary.blocked, 0)
    assert.equal(json.endpoints.find((e) => e.id === 'public.mcr')?.decisions[0]?.code, 'NETWORK_RULE_ALLOW')
    assert.match(json.broadRules[0]?.reasons[0] ?? '', /bypasses every FQDN rule/)
    assert.match(json.broadRules[1]?.reasons[0] ?? '', /Microsoft's page offers "\*" for these ports/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('bad input exits 2 with a located diagnostic', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aks-egress-audit-'))
  try {
    writeFileSync(join(dir, 'bad.json'), '{\n  "resources": [\n    {"type": "Microsoft.Network/firewallPolicies", }\n  ]\n}\n')
    writeFileSync(join(dir, 'empty.json'), '{"value": []}')
    writeFileSync(join(dir, 'two.json'), JSON.stringify([{ type: 'Microsoft.Network/azureFirewalls', name: 'fw-a', networkRuleCollections: [] }, { type: 'Microsoft.Network/azureFirewalls', name: 'fw-b', networkRuleCollections: [] }]))
    const bad = await runCli(['audit', 'bad.json', '--location', 'westeurope'], { cwd: dir })
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /^bad\.json:3:52 - error IMPORT_SYNTAX: Not well-formed JSON: Expected a key in double quotes, found "}"/)
    const empty = await runCli(['audit', 'empty.json'], { cwd: dir })
    assert.equal(empty.code, 2)
    assert.match(empty.stderr, /error IMPORT_FORMAT_UNKNOWN: "empty\.json" holds no Azure Firewall rules/)
    const two = await runCli(['audit', 'two.json'], { cwd: dir })
    assert.equal(two.code, 2)
    assert.match(two.stderr, /holds 2 firewall policies or firewalls \(fw-a, fw-b\).*\n {2}fix: choose one with --firewall fw-a/)
    const one = await runCli(['audit', 'two.json', '--firewall', 'fw-b', '--location', 'westeurope'], { cwd: dir })
    assert.equal(one.code, 1)
    const tf = await runCli(['audit', 'audit/nonexistent.tf'])
    assert.equal(tf.code, 2)
    assert.match(tf.stderr, /error FILE_UNREADABLE: Cannot read "audit\/nonexistent\.tf": ENOENT/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a source list that cannot be resolved matches no source; it is not an empty list, which Azure reads as any source', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aks-egress-audit-'))
  try {
    const tf = readFileSync(join(FIXTURES, 'audit/tutorial.tf'), 'utf8').replaceAll('source_ip_groups      = [azurerm_ip_group.nodes.id]', 'source_addresses = var.node_cidrs')
    writeFileSync(join(dir, 'open-sources.tf'), tf)
    const open = await runCli(['audit', 'open-sources.tf', '--node-cidr', '10.99.0.0/24', '--output', 'json'], { cwd: dir })
    const openJson = JSON.parse(open.stdout) as AuditJson
    assert.equal(open.code, 1)
    assert.equal(openJson.summary.allowed, 0)
    assert.match(open.stderr, /open-sources\.tf:50:26 - warning IMPORT_UNRESOLVED: "\$\{var\.node_cidrs\}" cannot be resolved: variable "node_cidrs" has no default/)
    const given = await runCli(['audit', 'open-sources.tf', '--node-cidr', '10.99.0.0/24', '--var', 'node_cidrs=10.99.0.0/16'], { cwd: dir })
    assert.match(given.stdout, /Result: 15 allowed, 1 blocked/)

    const arm = JSON.parse(readFileSync(join(FIXTURES, 'audit/tutorial-policy-template.json'), 'utf8')) as Record<string, unknown>
    const text = JSON.stringify(arm).replaceAll('"sourceAddresses":["*"]', '"sourceAddresses":"[parameters(\'nodeCidrs\')]"')
    assert.notEqual(text, JSON.stringify(arm))
    writeFileSync(join(dir, 'open-sources.json'), text)
    const armOpen = await runCli(['audit', 'open-sources.json', '--location', 'westeurope', '--node-cidr', '10.99.0.0/24', '--var', 'serviceIp=10.42.1.250'], { cwd: dir })
    assert.match(armOpen.stdout, /Result: 0 allowed/)
    assert.match(armOpen.stderr, /IMPORT_UNRESOLVED: "\[parameters\('nodeCidrs'\)\]" cannot be resolved/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
