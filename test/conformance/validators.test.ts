// The validators must be able to fail: each gets an output broken the way a careless exporter
// would break it, and must say so.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { findExporter } from '../../src/export/registry.ts'
import { POLICY_CASES } from './policy-cases.ts'
import { checkAzCommand, readBicep, VALIDATORS } from './validators.ts'

const base = POLICY_CASES.find((c) => c.name === 'constructs')!
function output(target: string): string {
  return findExporter(target)!.export(base.policy(), base.options).text
}
async function problems(target: string, text: string): Promise<readonly string[]> {
  const v = await VALIDATORS[target]!(text)
  if ('skip' in v) return ['skipped: ' + v.skip]
  return v.problems
}

test('azure-cli: an unknown flag, a bad enum value and a missing flag are caught', () => {
  assert.deepEqual(checkAzCommand('az network route-table create -g rg -n rt --bogus 1'), ['az network route-table create: unknown flag --bogus'])
  assert.match(checkAzCommand('az network firewall policy rule-collection-group create -g rg --policy-name p -n g --priority 50').join(), /outside 100-65000/)
  assert.match(checkAzCommand('az network firewall policy rule-collection-group collection rule add -g rg --policy-name p --rule-collection-group-name g --collection-name c --name r --rule-type NetworkRule --ip-protocols SCTP').join(), /SCTP is not one of/)
  assert.match(checkAzCommand('az network firewall policy rule-collection-group create -g rg -n g --priority 200').join(), /missing --policy-name/)
})

test('azure-cli: a syntax error fails bash -n', async () => {
  assert.match((await problems('azure-cli', `${output('azure-cli')}\nif then\n`)).join(), /bash -n/)
})

test('arm: a network rule with FQDNs and addresses, and an application port above 64000, are caught', async () => {
  const t = JSON.parse(output('arm')) as { resources: Array<{ type: string; properties: { ruleCollections: Array<{ rules: Array<Record<string, unknown>> }> } }> }
  const rcg = t.resources.find((r) => r.type.endsWith('ruleCollectionGroups') && JSON.stringify(r).includes('NetworkRule'))!
  const rule = rcg.properties.ruleCollections.flatMap((c) => c.rules).find((r) => r['ruleType'] === 'NetworkRule')!
  rule['destinationFqdns'] = ['example.com']
  rule['destinationAddresses'] = ['1.2.3.4']
  const app = t.resources.flatMap((r) => (r.type.endsWith('ruleCollectionGroups') ? r.properties.ruleCollections.flatMap((c) => c.rules) : [])).find((r) => r['ruleType'] === 'ApplicationRule')!
  app['protocols'] = [{ protocolType: 'Https', port: 64443 }]
  const found = (await problems('arm', JSON.stringify(t))).join('\n')
  assert.match(found, /must NOT be valid/)
  assert.match(found, /must be <= 64000/)
})

test('bicep: the reader reads the output back, and an undeclared parameter is caught', async () => {
  const read = readBicep(output('bicep'))
  assert.ok(read.resources.some((r) => r.type === 'Microsoft.Network/firewallPolicies/ruleCollectionGroups@2024-05-01'))
  assert.match((await problems('bicep', output('bicep').replace('nextHopIpAddress: firewallPrivateIp', 'nextHopIpAddress: firewallPrivateAddress'))).join(), /firewallPrivateAddress is not declared/)
})

test('terraform: a priority out of range and a NAT action other than Dnat are caught', async () => {
  const text = output('terraform').replace('priority           = 150', 'priority           = 70000').replace('action   = "Dnat"', 'action   = "DNAT"')
  const found = (await problems('terraform', text)).join('\n')
  assert.match(found, /priority 70000 outside 100-65000/)
  assert.match(found, /action DNAT/)
})

test('squid: an ACL of an unknown type fails squid -k parse', async () => {
  const found = await problems('squid', `${output('squid')}\nacl broken nonsense\n`)
  assert.ok(found.length > 0)
  if (!found[0]?.startsWith('skipped')) assert.match(found.join(), /Invalid ACL type|FATAL/)
})

test('cilium: two L3 selectors in one rule and an unknown field are caught', async () => {
  const text = output('cilium').replace('    - toEntities:\n        - cluster\n', '    - toEntities:\n        - cluster\n      toCIDR:\n        - 1.2.3.4/32\n      toFQDN:\n        - matchName: x.com\n')
  const found = (await problems('cilium', text)).join('\n')
  assert.match(found, /combines toCIDR and toEntities/)
  assert.match(found, /toFQDN: not a field/)
})

test('calico: domains in a Deny rule are caught', async () => {
  const text = output('calico').replace(/- action: Allow\n(\s+)protocol: TCP\n(\s+)destination:\n(\s+)domains:/, '- action: Deny\n$1protocol: TCP\n$2destination:\n$3domains:')
  assert.match((await problems('calico', text)).join(), /domains in a Deny rule/)
})

test('networkpolicy: a port outside the schema and an unknown field are caught', async () => {
  const text = output('networkpolicy').replace('policyTypes:', 'policyType:')
  assert.match((await problems('networkpolicy', text)).join(), /policyType: not a field/)
})
