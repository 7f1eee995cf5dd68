// Azure Firewall's rule processing (azure-facts §2.1–2.2, rule-processing.md), case by case.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { compilePolicy } from '../../../src/policy/compile-policy.ts'
import type { Decision } from '../../../src/policy/decision.ts'
import type { Flow } from '../../../src/policy/flow.ts'
import type { Policy } from '../../../src/policy/policy-model.ts'
import { app, coll, dnat, group, net, policy } from './builders.ts'
import { referenceDecide } from './reference-evaluator.ts'

/** Decides with the compiled engine, and checks the reference evaluator agrees. */
function decide(p: Policy, flow: Flow): Decision {
  const d = compilePolicy(p).decide(flow)
  assert.deepEqual(d, referenceDecide(p, flow), 'the engine and the reference evaluator agree')
  return d
}

const https = (host: string, extra: Partial<Flow> = {}): Flow => ({ protocol: 'https', host, destinationPort: 443, ...extra })

describe('rule processing order', () => {
  test('an allowing network rule ends processing: application rules that would deny are not consulted', () => {
    // The documented example: network rule TCP 80,443 to * allows; application Deny for google.com.
    const p = policy([
      group('g', 100, coll('network', 'net', 200, 'Allow', [net('web', { destinationAddresses: ['*'], ports: ['80', '443'] })]), coll('application', 'deny-google', 100, 'Deny', [app('google', ['google.com'])])),
    ])
    const d = decide(p, https('google.com', { destinationIp: '142.250.1.1' }))
    assert.equal(d.action, 'allow')
    assert.equal(d.code, 'NETWORK_RULE_ALLOW')
    assert.equal(d.rulePath, 'g/net/web')
  })

  test('network rules come before application rules whatever the group priorities', () => {
    const p = policy([
      group('apps-first', 100, coll('application', 'allow-mcr', 100, 'Allow', [app('mcr', ['mcr.microsoft.com'])])),
      group('net-last', 65000, coll('network', 'deny-443', 100, 'Deny', [net('all-443', { destinationAddresses: ['*'], ports: ['443'] })])),
    ])
    const d = decide(p, https('mcr.microsoft.com'))
    assert.equal(d.code, 'NETWORK_RULE_DENY')
    assert.equal(d.rulePath, 'net-last/deny-443/all-443')
  })

  test('DNAT rules come before network rules, and a DNAT match translates and allows', () => {
    const p = policy([
      group('net', 100, coll('network', 'deny-all', 100, 'Deny', [net('everything', { ipProtocols: ['Any'], destinationAddresses: ['*'], ports: ['*'] })])),
      group('ingress', 65000, coll('dnat', 'web', 100, 'DNAT', [dnat('http', { ipProtocols: ['TCP'], destinationAddress: '20.1.2.3', destinationPort: 80, translatedAddress: '10.240.0.10', translatedPort: 8080 })])),
    ])
    const d = decide(p, { protocol: 'tcp', destinationIp: '20.1.2.3', destinationPort: 80, sourceIp: '203.0.113.9' })
    assert.equal(d.action, 'allow')
    assert.equal(d.code, 'DNAT_RULE')
    assert.deepEqual(d.translation, { address: '10.240.0.10', port: 8080 })
    assert.equal(d.reason, 'Translated by DNAT rule ingress/web/http to 10.240.0.10:8080')
    // Another port of the public address is not translated: the network deny applies.
    assert.equal(decide(p, { protocol: 'tcp', destinationIp: '20.1.2.3', destinationPort: 81 }).code, 'NETWORK_RULE_DENY')
  })

  test('rule collection groups are processed by priority, lower first', () => {
    const mk = (denyPriority: number): Policy =>
      policy([
        group('allow', 300, coll('application', 'a', 100, 'Allow', [app('mcr', ['mcr.microsoft.com'])])),
        group('deny', denyPriority, coll('application', 'd', 100, 'Deny', [app('mcr', ['mcr.microsoft.com'])])),
      ])
    assert.equal(decide(mk(200), https('mcr.microsoft.com')).code, 'APPLICATION_RULE_DENY')
    assert.equal(decide(mk(400), https('mcr.microsoft.com')).code, 'APPLICATION_RULE_ALLOW')
  })

  test('within a group, collections are processed by priority; the first match ends processing', () => {
    const mk = (allow: number, deny: number): Policy =>
      policy([group('g', 100, coll('application', 'deny-wide', deny, 'Deny', [app('all-ms', ['*.microsoft.com'])]), coll('application', 'allow-mcr', allow, 'Allow', [app('mcr', ['mcr.microsoft.com'])]))])
    assert.equal(decide(mk(100, 200), https('mcr.microsoft.com')).rulePath, 'g/allow-mcr/mcr')
    assert.equal(decide(mk(200, 100), https('mcr.microsoft.com')).rulePath, 'g/deny-wide/all-ms')
    // A name only the wide rule covers is denied either way.
    assert.equal(decide(mk(100, 200), https('login.microsoft.com')).code, 'APPLICATION_RULE_DENY')
  })

  test('equal priorities keep the order of the policy file', () => {
    const p = policy([group('g', 100, coll('application', 'first', 100, 'Deny', [app('a', ['x.example'])]), coll('application', 'second', 100, 'Allow', [app('b', ['x.example'])]))])
    assert.equal(decide(p, https('x.example')).rulePath, 'g/first/a')
  })

  test('within a collection the first listed rule is named', () => {
    const p = policy([group('g', 100, coll('application', 'c', 100, 'Allow', [app('wide', ['*.example']), app('exact', ['x.example'])]))])
    assert.equal(decide(p, https('x.example')).rulePath, 'g/c/wide')
  })

  test('no match is deny, with the default reason', () => {
    const d = decide(policy([]), https('mcr.microsoft.com'))
    assert.deepEqual(d, { action: 'deny', code: 'DEFAULT_DENY', reason: 'No rule matched. Proceeding with default action', rule: null, rulePath: null, isDefault: true, wouldDeny: false })
  })
})

describe('application rules', () => {
  const p = policy([
    group(
      'g',
      100,
      coll('application', 'c', 100, 'Allow', [
        app('mcr', ['mcr.microsoft.com']),
        app('ubuntu', ['security.ubuntu.com'], ['Http:80']),
        app('sql', ['db.database.windows.net'], ['Mssql:1433']),
        app('any-http', ['*'], ['Http:8080']),
      ]),
    ),
  ])
  test('HTTPS is matched by SNI; HTTP by Host; the port must be the rule\'s', () => {
    assert.equal(decide(p, https('mcr.microsoft.com')).code, 'APPLICATION_RULE_ALLOW')
    assert.equal(decide(p, https('mcr.microsoft.com', { destinationPort: 8443 })).code, 'DEFAULT_DENY')
    assert.equal(decide(p, { protocol: 'http', host: 'security.ubuntu.com', destinationPort: 80 }).code, 'APPLICATION_RULE_ALLOW')
    assert.equal(decide(p, https('security.ubuntu.com')).code, 'DEFAULT_DENY')
    assert.equal(decide(p, { protocol: 'http', host: 'mcr.microsoft.com', destinationPort: 80 }).code, 'DEFAULT_DENY')
  })
  test('the SNI decides, not the destination address or the CONNECT host', () => {
    // Azure "ignores the packet's destination IP address": an allowed SNI towards any address is
    // allowed (the data plane then dials the address the name resolves to).
    assert.equal(decide(p, { protocol: 'https', destinationIp: '203.0.113.66', sni: 'mcr.microsoft.com', destinationPort: 443 }).code, 'APPLICATION_RULE_ALLOW')
    assert.equal(decide(p, { protocol: 'https', host: 'mcr.microsoft.com', sni: 'evil.example', destinationPort: 443 }).code, 'DEFAULT_DENY')
  })
  test('HTTPS without SNI is denied with Azure\'s reason, unless a network rule allows it', () => {
    const d = decide(p, { protocol: 'https', destinationIp: '20.50.1.2', sni: null, destinationPort: 443 })
    assert.equal(d.code, 'SNI_MISSING')
    assert.equal(d.reason, 'SNI TLS extension was missing')
    const withNet = policy([...p.ruleCollectionGroups, group('n', 200, coll('network', 'api', 100, 'Allow', [net('api-server', { destinationAddresses: ['20.50.1.2'], ports: ['443'] })]))])
    assert.equal(decide(withNet, { protocol: 'https', destinationIp: '20.50.1.2', sni: null, destinationPort: 443 }).code, 'NETWORK_RULE_ALLOW')
  })
  test('HTTP without Host is denied with its own reason', () => {
    assert.equal(decide(p, { protocol: 'http', destinationIp: '20.50.1.2', destinationPort: 80 }).code, 'HOST_MISSING')
  })
  test('an IP literal in the Host header matches only "*"', () => {
    assert.equal(decide(p, { protocol: 'http', host: '20.50.1.2', destinationIp: '20.50.1.2', destinationPort: 8080 }).code, 'APPLICATION_RULE_ALLOW')
    assert.equal(decide(p, { protocol: 'http', host: '20.50.1.2', destinationIp: '20.50.1.2', destinationPort: 80 }).code, 'DEFAULT_DENY')
  })
  test('MSSQL is matched by SNI on its port', () => {
    assert.equal(decide(p, { protocol: 'mssql', host: 'db.database.windows.net', destinationPort: 1433 }).code, 'APPLICATION_RULE_ALLOW')
  })
  test('application rules never apply to TCP or UDP flows', () => {
    assert.equal(decide(p, { protocol: 'tcp', host: 'mcr.microsoft.com', destinationPort: 443 }).code, 'DEFAULT_DENY')
  })
})

describe('network rules', () => {
  const p = policy(
    [
      group(
        'g',
        100,
        coll('network', 'c', 100, 'Allow', [
          net('ntp', { ipProtocols: ['UDP'], destinationFqdns: ['ntp.ubuntu.com'], ports: ['123'] }),
          net('tunnel', { destinationFqdns: ['*.hcp.westeurope.azmk8s.io'], ports: ['9000', '22'], sourceIpGroups: ['nodes'] }),
          net('range', { destinationAddresses: ['10.1.0.0-10.1.0.9'], ports: ['1000-2000'] }),
          net('monitor', { destinationAddresses: ['AzureMonitor'], ports: ['443'] }),
          net('ping', { ipProtocols: ['ICMP'], destinationIpGroups: ['dns'], ports: ['*'] }),
          net('v6', { ipProtocols: ['Any'], destinationAddresses: ['2001:db8::/32'], ports: ['53'] }),
        ]),
      ),
    ],
    { ipGroups: { nodes: ['10.240.0.0/16'], dns: ['168.63.129.16'] } },
  )
  test('protocol, port and name must all match', () => {
    assert.equal(decide(p, { protocol: 'udp', host: 'ntp.ubuntu.com', destinationPort: 123 }).rulePath, 'g/c/ntp')
    assert.equal(decide(p, { protocol: 'tcp', host: 'ntp.ubuntu.com', destinationPort: 123 }).code, 'DEFAULT_DENY')
    assert.equal(decide(p, { protocol: 'udp', host: 'ntp.ubuntu.com', destinationPort: 124 }).code, 'DEFAULT_DENY')
  })
  test('wildcard FQDNs in network rules (an aks-egress extension) and source IP groups', () => {
    assert.equal(decide(p, { protocol: 'tcp', host: 'aks-1.hcp.westeurope.azmk8s.io', destinationPort: 9000, sourceIp: '10.240.3.4' }).rulePath, 'g/c/tunnel')
    assert.equal(decide(p, { protocol: 'tcp', host: 'aks-1.hcp.westeurope.azmk8s.io', destinationPort: 9000, sourceIp: '10.241.3.4' }).code, 'DEFAULT_DENY')
    assert.equal(decide(p, { protocol: 'tcp', host: 'aks-1.hcp.westeurope.azmk8s.io', destinationPort: 443 }).code, 'DEFAULT_DENY')
  })
  test('address ranges and port ranges', () => {
    assert.equal(decide(p, { protocol: 'tcp', destinationIp: '10.1.0.9', destinationPort: 2000 }).rulePath, 'g/c/range')
    assert.equal(decide(p, { protocol: 'tcp', destinationIp: '10.1.0.10', destinationPort: 2000 }).code, 'DEFAULT_DENY')
    assert.equal(decide(p, { protocol: 'tcp', destinationIp: '10.1.0.0', destinationPort: 999 }).code, 'DEFAULT_DENY')
  })
  test('service tags match symbolically, case-insensitively', () => {
    assert.equal(decide(p, { protocol: 'tcp', destinationIp: '20.1.1.1', destinationTags: ['azuremonitor'], destinationPort: 443 }).rulePath, 'g/c/monitor')
    assert.equal(decide(p, { protocol: 'tcp', destinationIp: '20.1.1.1', destinationPort: 443 }).code, 'DEFAULT_DENY')
  })
  test('ICMP has no port; destination IP groups', () => {
    assert.equal(decide(p, { protocol: 'icmp', destinationIp: '168.63.129.16', destinationPort: 0 }).rulePath, 'g/c/ping')
    assert.equal(decide(p, { protocol: 'udp', destinationIp: '168.63.129.16', destinationPort: 53 }).code, 'DEFAULT_DENY')
  })
  test('IPv6 blocks, and IPv4-mapped IPv6 sources fold to IPv4', () => {
    assert.equal(decide(p, { protocol: 'udp', destinationIp: '2001:db8::53', destinationPort: 53 }).rulePath, 'g/c/v6')
    assert.equal(decide(p, { protocol: 'tcp', host: 'x.hcp.westeurope.azmk8s.io', destinationPort: 22, sourceIp: '::ffff:10.240.0.1' }).rulePath, 'g/c/tunnel')
  })
})

describe('report mode', () => {
  test('allows everything, says what enforce would deny, and keeps the rule that decided', () => {
    const p = policy([group('g', 100, coll('application', 'deny', 100, 'Deny', [app('x', ['x.example'])]))], { settings: { mode: 'report' } })
    const denied = decide(p, https('x.example'))
    assert.equal(denied.action, 'allow')
    assert.equal(denied.wouldDeny, true)
    assert.equal(denied.code, 'APPLICATION_RULE_DENY')
    assert.equal(denied.rulePath, 'g/deny/x')
    assert.equal(denied.reason, 'Report mode: allowed; enforce would deny: Denied by application rule g/deny/x')
    const other = decide(p, https('y.example'))
    assert.equal(other.action, 'allow')
    assert.equal(other.wouldDeny, true)
    assert.equal(other.isDefault, true)
  })
})
