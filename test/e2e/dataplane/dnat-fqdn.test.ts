// DNAT rules with translatedFqdn (Azure's `--translated-fqdn`): the appliance resolves the name at
// start and on every reload, and again on a timer; when the address changes the table is replaced.
// The kernel side is covered by the namespace suite (test/e2e/netns: a DNAT by name end to end);
// here a recording nft runner shows each table the appliance asks for, and the resolver's answer
// is the test's to change (it stands for the DNS server).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { loadPolicyText } from '../../../src/config/load-policy.ts'
import type { NftRunner } from '../../../src/dataplane/nftables/nft-runner.ts'
import { TransparentAppliance } from '../../../src/dataplane/transparent.ts'
import type { ResolveResult } from '../../../src/net/resolve.ts'
import type { Policy } from '../../../src/policy/policy-model.ts'

const policyText = (fqdn: string): string => `apiVersion: aks-egress/v1
name: dnat-fqdn
ruleCollectionGroups:
  - name: ingress
    priority: 100
    ruleCollections:
      - name: dnat
        type: dnat
        priority: 100
        action: DNAT
        rules:
          - name: web
            sourceAddresses: ["*"]
            ipProtocols: [TCP]
            destinationAddress: 192.0.2.1
            destinationPort: 8080
            translatedFqdn: ${fqdn}
            translatedPort: 80
`

function load(text: string): Policy {
  const loaded = loadPolicyText(text, 'dnat.yaml')
  if (!loaded.policy) throw new Error(JSON.stringify(loaded.diagnostics))
  return loaded.policy
}

class RecordingRunner implements NftRunner {
  readonly applied: string[] = []
  apply(text: string): Promise<void> {
    this.applied.push(text)
    return Promise.resolve()
  }
}

const dnatTo = (text: string | undefined): string[] => [...(text ?? '').matchAll(/dnat ip to (\S+)/g)].map((m) => m[1]!)

test('translatedFqdn is resolved at start, re-resolved on a timer (a change replaces the table), and on reload', async () => {
  const answers = new Map<string, string[]>([['web.internal.example', ['10.240.0.80']]])
  const resolve = (name: string): Promise<ResolveResult> => {
    const a = answers.get(name)
    return Promise.resolve(a ? { ok: true, addresses: a, source: 'dns' } : { ok: false, failure: 'NOT_FOUND', detail: `${name}: NXDOMAIN` })
  }
  const runner = new RecordingRunner()
  const applied = (): number => runner.applied.length
  const events: Array<Record<string, unknown>> = []
  const appliance = new TransparentAppliance(load(policyText('web.internal.example')), {
    nft: { egressInterface: 'eth9', dnsPort: 53, listenerPorts: new Map() },
    dns: { listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: 9 } },
    runner,
    resolve,
    dnatRefreshMs: 20,
    onEvent: (e) => events.push(e),
  })
  await appliance.start()
  try {
    assert.deepEqual(dnatTo(runner.applied[0]), ['10.240.0.80:80'])
    // Unchanged answers: no new table.
    await sleep(80)
    assert.equal(runner.applied.length, 1)
    // The service moved: the next refresh replaces the table.
    answers.set('web.internal.example', ['fd00::80', '10.240.0.81'])
    for (let i = 0; i < 100 && applied() < 2; i++) await sleep(10)
    assert.deepEqual(dnatTo(runner.applied[1]), ['10.240.0.81:80'], 'the IPv4 address, for an IPv4 destination')
    assert.deepEqual(events.find((e) => e['event'] === 'dnat-fqdn-changed')?.['after'], { 'web.internal.example': '10.240.0.81' })
    // A reload to a name that does not resolve: the rule is left out, with a note saying so.
    await appliance.reload(load(policyText('gone.internal.example')))
    const last = runner.applied.at(-1)
    assert.deepEqual(dnatTo(last), [])
    assert.ok(appliance.ruleset.notes.some((n) => n.rule === 'ingress/dnat/web' && /translatedFqdn "gone\.internal\.example" \(not resolved\)/.test(n.construct)))
    // Once it resolves, the refresh puts it in.
    answers.set('gone.internal.example', ['10.240.0.90'])
    const count = runner.applied.length
    for (let i = 0; i < 100 && applied() === count; i++) await sleep(10)
    assert.deepEqual(dnatTo(runner.applied.at(-1)), ['10.240.0.90:80'])
  } finally {
    await appliance.stop()
  }
})
