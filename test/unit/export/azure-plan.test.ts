// The Azure plan's decisions, one by one (docs/exporters.md, the decisions table).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { checkProfile } from '../../../src/catalog/profile.ts'
import { buildAzurePlan, controlPlaneSubstitute, uniqueName } from '../../../src/export/azure/azure-plan.ts'
import { API_VERSION, DEFAULT_SETTINGS, type Policy, type RuleCollection } from '../../../src/policy/policy-model.ts'

function policy(collections: RuleCollection[], profile: { location?: string; apiServerIp?: string } = { location: 'westeurope' }): Policy {
  const p = checkProfile({ cloud: 'public', catalog: '2026-06', ...profile }, { label: (f) => f }).profile
  return { apiVersion: API_VERSION, name: 'p', ...(p ? { profile: p } : {}), settings: DEFAULT_SETTINGS, ipGroups: {}, ruleCollectionGroups: [{ name: 'g', priority: 200, ruleCollections: collections }] }
}

test('AKS control-plane wildcards become the API server IP, else AzureCloud.<region of the name>; others have no substitute', () => {
  assert.equal(controlPlaneSubstitute('*.hcp.westeurope.azmk8s.io', policy([])), 'AzureCloud.westeurope')
  assert.equal(controlPlaneSubstitute('*.hcp.chinaeast2.cx.prod.service.azk8s.cn', policy([])), 'AzureCloud.chinaeast2')
  assert.equal(controlPlaneSubstitute('*.tun.usgovvirginia.cx.aks.containerservice.azure.us', policy([])), 'AzureCloud.usgovvirginia')
  assert.equal(controlPlaneSubstitute('*.azmk8s.io', policy([])), 'AzureCloud.westeurope')
  assert.equal(controlPlaneSubstitute('*.hcp.westeurope.azmk8s.io', policy([], { location: 'westeurope', apiServerIp: '20.50.1.2' })), '20.50.1.2')
  assert.equal(controlPlaneSubstitute('*.example.com', policy([])), undefined)
  assert.equal(controlPlaneSubstitute('hcp.westeurope.azmk8s.io', policy([])), undefined)
})

test('a network rule with FQDNs and addresses is split; FQDNs turn DNS proxy on', () => {
  const plan = buildAzurePlan(
    policy([{ type: 'network', name: 'n', priority: 100, action: 'Allow', rules: [{ name: 'ntp', sourceAddresses: ['*'], sourceIpGroups: [], ipProtocols: ['UDP'], destinationAddresses: ['1.2.3.4'], destinationIpGroups: [], destinationFqdns: ['ntp.ubuntu.com'], destinationPorts: ['123'] }] }]),
    {},
    'arm',
  )
  const rules = plan.groups[0]?.collections[0]?.rules ?? []
  assert.deepEqual(rules.map((r) => [r.name, 'destinationFqdns' in r ? r.destinationFqdns : []]), [['ntp', []], ['ntp-fqdns', ['ntp.ubuntu.com']]])
  assert.equal(plan.dnsProxy, true)
  assert.deepEqual(plan.diagnostics, [])
})

test('Mssql becomes a TCP network rule in a network collection beside the application collection', () => {
  const plan = buildAzurePlan(
    policy([{ type: 'application', name: 'apps', priority: 100, action: 'Allow', rules: [{ name: 'sql', sourceAddresses: ['*'], sourceIpGroups: [], protocols: [{ type: 'Mssql', port: 1433 }], targetFqdns: ['db.database.windows.net'], fqdnTags: [] }] }]),
    {},
    'arm',
  )
  const collections = plan.groups[0]?.collections ?? []
  assert.equal(collections.length, 1, 'the emptied application collection is not written')
  const net = collections[0]
  assert.ok(net)
  assert.equal(net.name, 'apps-network')
  assert.equal(net.priority, 100)
  assert.deepEqual(net.rules.map((r) => ('destinationPorts' in r ? [r.name, r.destinationPorts, r.destinationFqdns] : [])), [['sql', ['1433'], ['db.database.windows.net']]])
  assert.equal(plan.diagnostics.length, 1)
  assert.equal(plan.diagnostics[0]?.severity, 'warning')
})

test('shared priorities are renumbered in order, with a warning', () => {
  const empty = { sourceAddresses: ['*'], sourceIpGroups: [], ipProtocols: ['TCP' as const], destinationAddresses: ['1.2.3.4'], destinationIpGroups: [], destinationFqdns: [], destinationPorts: ['1'] }
  const plan = buildAzurePlan(
    policy([
      { type: 'network', name: 'a', priority: 100, action: 'Allow', rules: [{ name: 'r', ...empty }] },
      { type: 'network', name: 'b', priority: 100, action: 'Deny', rules: [{ name: 'r', ...empty }] },
      { type: 'network', name: 'c', priority: 101, action: 'Allow', rules: [{ name: 'r', ...empty }] },
    ]),
    {},
    'arm',
  )
  assert.deepEqual(plan.groups[0]?.collections.map((c) => [c.name, c.priority]), [['a', 100], ['b', 101], ['c', 102]])
  assert.equal(plan.diagnostics.length, 2)
})

test('generated names stay unique and at most 80 characters', () => {
  const taken = new Set(['x-fqdns'])
  assert.equal(uniqueName('x', '-fqdns', taken), 'x-fqdns2')
  assert.equal(uniqueName('a'.repeat(80), '-fqdns', taken).length, 80)
})
