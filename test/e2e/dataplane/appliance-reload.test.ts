// The appliance's reload is all or nothing (dataplane/appliance.ts), with the proxy's real
// listeners on loopback and an nft runner that records (and can refuse) what it is given, so no
// kernel table is touched: a refused table leaves the old listeners and policy; an accepted one
// redirects each port to the port its listener is bound to, also for a port whose rule turned
// from Http to Https (same socket) and for a new port (a new listener).
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { once } from 'node:events'
import { after, before, test } from 'node:test'
import { loadPolicyText } from '../../../src/config/load-policy.ts'
import { Appliance } from '../../../src/dataplane/appliance.ts'
import { NftApplyError, type NftRunner } from '../../../src/dataplane/nftables/nft-runner.ts'
import { createConnectionLog } from '../../../src/proxy/connection-log.ts'
import { buildPolicyState, type PolicyState } from '../../../src/proxy/policy-state.ts'
import { logSink, startProxy, type ProxyHandle } from '../proxy/harness.ts'

function policy(apps: string): string {
  return `apiVersion: aks-egress/v1
name: e2e-appliance-reload
ruleCollectionGroups:
  - name: g
    priority: 200
    ruleCollections:
      - name: app
        type: application
        priority: 200
        action: Allow
        rules:
${apps}`
}
const rule = (name: string, protocol: string, fqdn: string): string => `          - name: ${name}
            sourceAddresses: ["*"]
            protocols: [${protocol}]
            targetFqdns: [${fqdn}]
`
const A = policy(rule('mcr', 'Https:443', 'mcr.microsoft.com') + rule('ubuntu', 'Http:80', 'security.ubuntu.com'))
const B = policy(rule('mcr', 'Https:443', 'mcr.microsoft.com') + rule('ubuntu-tls', 'Https:80', 'security.ubuntu.com') + rule('data', 'Https:8443', '"*.data.mcr.microsoft.com"'))

function state(text: string): PolicyState {
  const loaded = loadPolicyText(text, 'e2e.yaml')
  if (!loaded.policy) throw new Error(JSON.stringify(loaded.diagnostics))
  return buildPolicyState(loaded.policy, 'e2e.yaml')
}

/** Records every nft file; refuses them while `refuse` is set. */
class RecordingRunner implements NftRunner {
  readonly applied: string[] = []
  refuse = false
  apply(text: string): Promise<void> {
    if (this.refuse) return Promise.reject(new NftApplyError('nft -f - failed (exit 1)', 'Error: Could not process rule'))
    this.applied.push(text)
    return Promise.resolve()
  }
}

let proxy: ProxyHandle
let appliance: Appliance
const runner = new RecordingRunner()
const events = logSink()

before(async () => {
  proxy = await startProxy({ policy: A, hosts: {}, transparent: true })
  appliance = new Appliance({
    server: proxy.server,
    nft: { egressInterface: 'eth9', dnsPort: 53 },
    dns: { listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: 9 } },
    runner,
    logger: createConnectionLog({ kind: 'stream', stream: events }).logger,
  })
  assert.equal(proxy.server.ready, false, 'not ready before the table and the DNS proxy')
  await appliance.start()
})

after(async () => {
  await appliance.stop(0)
})

const redirects = (text: string): string[] => [...text.matchAll(/tcp dport (\d+) counter redirect to :(\d+)/g)].map((m) => `${m[1]}->${m[2]}`)
const ports = (): string[] => proxy.server.listeners.filter((l) => l.kind === 'tls' || l.kind === 'http').map((l) => `${l.kind}:${l.originalPort ?? 0}@${l.port}`)

test('start: the table redirects each application port to the port its listener is bound to; then ready', () => {
  assert.equal(runner.applied.length, 1)
  assert.deepEqual(redirects(runner.applied[0]!), [`80->${proxy.transparentPort('http', 80)}`, `443->${proxy.transparentPort('tls', 443)}`])
  assert.equal(proxy.server.ready, true)
  assert.ok(events.lines.some((l) => l['event'] === 'nftables-applied'))
})

test('a table the kernel refuses: the reload rejects; the old listeners, ports and policy stay; the listener opened for it is closed', async () => {
  const before = ports()
  const oldState = proxy.server.state
  runner.refuse = true
  await assert.rejects(appliance.reload(state(B)), /nftables refused the new table \(the old one stays\): nft -f - failed \(exit 1\): Error: Could not process rule/)
  runner.refuse = false
  assert.deepEqual(ports(), before)
  assert.equal(proxy.server.state, oldState)
  assert.equal(runner.applied.length, 1)
})

test('an accepted table: the policy switches; 80 keeps its socket and now reads TLS; 8443 gets a listener the table redirects to', async () => {
  const port80 = proxy.transparentPort('http', 80)
  const next = state(B)
  await appliance.reload(next)
  assert.equal(proxy.server.state, next)
  const port8443 = proxy.transparentPort('tls', 8443)
  assert.equal(proxy.transparentPort('tls', 80), port80)
  assert.deepEqual(redirects(runner.applied[1]!), [`80->${port80}`, `443->${proxy.transparentPort('tls', 443)}`, `8443->${port8443}`])
  // The listener of 8443 accepts, and the one of 80 now answers plain HTTP with nothing (a TLS port).
  const s = connect({ host: '127.0.0.1', port: port8443 })
  await once(s, 'connect')
  s.destroy()
  const http = connect({ host: '127.0.0.1', port: port80 })
  http.end('GET / HTTP/1.1\r\nHost: security.ubuntu.com\r\n\r\n')
  const chunks: Buffer[] = []
  http.on('data', (c: Buffer) => chunks.push(c))
  await once(http, 'close')
  assert.equal(Buffer.concat(chunks).length, 0)
  assert.equal((await proxy.log.waitFor((l) => l['listener'] === 'tls:80'))['code'], 'NOT_TLS')
})

test('back to the first policy: 8443 is no longer redirected and its listener is closed', async () => {
  const port8443 = proxy.transparentPort('tls', 8443)
  await appliance.reload(state(A))
  assert.doesNotMatch(runner.applied[2]!, /8443/)
  assert.throws(() => proxy.transparentPort('tls', 8443), /no tls listener for 8443/)
  const s = connect({ host: '127.0.0.1', port: port8443 })
  const [err] = (await once(s, 'error')) as [NodeJS.ErrnoException]
  assert.equal(err.code, 'ECONNREFUSED')
})
