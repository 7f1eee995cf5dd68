// A rule's postings leave out the rules an earlier rule of the same list covers (postings.ts
// `Covers`): cases where a later rule looks covered but is not, because it takes flows the earlier
// one does not (another source, protocol, port), so it must stay and decide those flows.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { compilePolicy } from '../../../src/policy/compile-policy.ts'
import type { Flow } from '../../../src/policy/flow.ts'
import type { Policy } from '../../../src/policy/policy-model.ts'
import { app, coll, group, net, policy } from './builders.ts'
import { referenceDecide } from './reference-evaluator.ts'

function rulePath(p: Policy, flow: Flow): string {
  const d = compilePolicy(p).decide(flow)
  assert.deepEqual(d, referenceDecide(p, flow), 'the engine and the reference evaluator agree')
  return d.rulePath ?? d.code
}

const https = (host: string, extra: Partial<Flow> = {}): Flow => ({ protocol: 'https', host, destinationPort: 443, ...extra })

test('application rules on one name: a later rule with a wider source, protocol or port still decides the flows it alone takes', () => {
  const p = policy([
    group('g', 100, coll('application', 'c', 100, 'Allow', [
      app('nodes-only', ['a.example.com', '*.example.com'], ['Https:443'], { sourceAddresses: ['10.0.0.0/8'] }),
      app('http-too', ['a.example.com', '*.example.com'], ['Http:80', 'Https:443'], { sourceAddresses: ['10.0.0.0/8'] }),
      app('any-source', ['a.example.com', '*.example.com'], ['Https:443']),
      app('covered', ['a.example.com', '*.example.com'], ['Https:443'], { sourceAddresses: ['10.1.0.0/16'] }),
      app('other-port', ['a.example.com', '*.example.com'], ['Https:8443']),
    ])),
  ])
  for (const name of ['a.example.com', 'b.example.com']) {
    assert.equal(rulePath(p, https(name, { sourceIp: '10.1.2.3' })), 'g/c/nodes-only')
    assert.equal(rulePath(p, { protocol: 'http', host: name, destinationPort: 80, sourceIp: '10.1.2.3' }), 'g/c/http-too')
    assert.equal(rulePath(p, https(name, { sourceIp: '192.168.1.1' })), 'g/c/any-source')
    assert.equal(rulePath(p, https(name, { destinationPort: 8443, sourceIp: '192.168.1.1' })), 'g/c/other-port')
    assert.equal(rulePath(p, { protocol: 'http', host: name, destinationPort: 80, sourceIp: '192.168.1.1' }), 'DEFAULT_DENY')
  }
})

test('network rules on one address block or name: a later rule with another protocol, port or source still decides the flows it alone takes', () => {
  const rules = (dest: Partial<Parameters<typeof net>[1]>) => [
    net('tcp-443-nodes', { ...dest, ports: ['443'], sourceAddresses: ['10.0.0.0/8'] }),
    net('tcp-443-any', { ...dest, ports: ['443'] }),
    net('tcp-range', { ...dest, ports: ['400-500'] }),
    net('covered', { ...dest, ports: ['443'], sourceAddresses: ['10.1.0.0/16'] }),
    net('udp-443', { ...dest, ports: ['443'], ipProtocols: ['UDP'] }),
    net('udp-too', { ...dest, ports: ['400-450', '9000'], ipProtocols: ['TCP', 'UDP'] }),
  ]
  for (const [dest, flow] of [
    [{ destinationAddresses: ['20.1.0.0/16'] }, { destinationIp: '20.1.2.3' }],
    [{ destinationFqdns: ['a.example.com'] }, { host: 'a.example.com' }],
  ] as const) {
    const p = policy([group('g', 100, coll('network', 'n', 100, 'Allow', rules(dest)))])
    const tcp = (port: number, sourceIp: string): Flow => ({ protocol: 'tcp', destinationPort: port, sourceIp, ...flow })
    assert.equal(rulePath(p, tcp(443, '10.1.2.3')), 'g/n/tcp-443-nodes')
    assert.equal(rulePath(p, tcp(443, '192.168.1.1')), 'g/n/tcp-443-any')
    assert.equal(rulePath(p, tcp(444, '10.1.2.3')), 'g/n/tcp-range')
    assert.equal(rulePath(p, tcp(9000, '10.1.2.3')), 'g/n/udp-too')
    assert.equal(rulePath(p, { protocol: 'udp', destinationPort: 443, sourceIp: '10.1.2.3', ...flow }), 'g/n/udp-443')
    assert.equal(rulePath(p, { protocol: 'udp', destinationPort: 444, sourceIp: '10.1.2.3', ...flow }), 'g/n/udp-too')
    assert.equal(rulePath(p, tcp(501, '10.1.2.3')), 'DEFAULT_DENY')
  }
})
