// The transparent listeners' ports and the table's redirects agree: one plan (listener-plan.ts)
// for `serve` and `export nftables`; with the running listeners' ports given, an application port
// without a listener is not redirected (fail closed); Mssql ports never are.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { compileNftables } from '../../../src/dataplane/nftables/compile-nftables.ts'
import { DEFAULT_LISTENER_PORT_OFFSET, listenPortsFor, planTransparentListeners } from '../../../src/proxy/listener-plan.ts'
import { buildPolicyState } from '../../../src/proxy/policy-state.ts'
import type { ApplicationProtocol, Policy } from '../../../src/policy/policy-model.ts'
import { fixturePolicy } from './nftables-cases.ts'

function withApp(protocols: ApplicationProtocol[]): Policy {
  const base = fixturePolicy('full')
  return {
    ...base,
    ruleCollectionGroups: [
      {
        name: 'ports',
        priority: 100,
        ruleCollections: [
          {
            type: 'application',
            name: 'ports',
            priority: 100,
            action: 'Allow',
            rules: [{ name: 'p', sourceAddresses: ['*'], sourceIpGroups: [], protocols, targetFqdns: ['example.com'], fqdnTags: [] }],
          },
        ],
      },
    ],
  }
}

const redirects = (text: string): string[] => [...text.matchAll(/tcp dport (\d+) counter redirect to :(\d+)/g)].map((m) => `${m[1]}->${m[2]}`)

test('P + 15000, and above 65535 the first port from 10000 that no listener and no application port uses', () => {
  assert.equal(DEFAULT_LISTENER_PORT_OFFSET, 15000)
  assert.deepEqual([...listenPortsFor([443, 80, 60000, 10000, 55000], 15000)], [
    [80, 15080],
    [443, 15443],
    [10000, 25000],
    [55000, 10001],
    [60000, 10002],
  ])
  assert.deepEqual([...listenPortsFor([443], 0)], [[443, 443]])
})

test('export nftables redirects to the ports serve listens on by default', () => {
  const policy = withApp([
    { type: 'Https', port: 443 },
    { type: 'Http', port: 80 },
    { type: 'Https', port: 60000 },
  ])
  const plan = planTransparentListeners(buildPolicyState(policy, 'p'), { kind: 'offset', offset: DEFAULT_LISTENER_PORT_OFFSET })
  assert.deepEqual(
    plan.listeners.map((l) => `${l.originalPort}->${l.listenPort}`).sort(),
    redirects(compileNftables(policy).text).sort(),
  )
})

test('given the running listeners: a port without one is not redirected, and reported', () => {
  const policy = withApp([
    { type: 'Https', port: 443 },
    { type: 'Https', port: 8443 },
  ])
  const r = compileNftables(policy, { listenerPorts: new Map([[443, 40001]]) })
  assert.deepEqual(redirects(r.text), ['443->40001'])
  assert.match(r.text, /ct status dnat tcp dport 40001 accept/)
  assert.ok(r.notes.some((n) => n.construct === 'Https:8443 (no L7 listener is open for it)' && n.severity === 'error'))
})

test('Mssql ports are not redirected; a port of both Http and Https rules is served by the TLS listener', () => {
  const policy = withApp([
    { type: 'Mssql', port: 1433 },
    { type: 'Http', port: 8080 },
    { type: 'Https', port: 8080 },
  ])
  const r = compileNftables(policy)
  assert.deepEqual(redirects(r.text), ['8080->23080'])
  assert.match(r.text, /comment "Https:8080 to the L7 listener"/)
  assert.ok(r.notes.some((n) => n.construct.startsWith('Mssql:1433')))
  const plan = planTransparentListeners(buildPolicyState(policy, 'p'), { kind: 'offset', offset: DEFAULT_LISTENER_PORT_OFFSET })
  assert.deepEqual(plan.listeners, [{ kind: 'tls', originalPort: 8080, listenPort: 23080 }])
})
