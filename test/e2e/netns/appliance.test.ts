// The transparent appliance in the namespace testbed, with real clients (dig, an NTP client, TCP
// clients) in `node` and real services in `internet`. The cases run in order on one testbed.
// Until `serve --transparent` lands (issue 3), the firewall runs src/dataplane/transparent-main.ts:
// the nftables table and the DNS proxy; the HTTP/HTTPS cases come with the L7 listeners.
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { checkProfile, resolveEndpoints } from '../../../src/catalog/profile.ts'
import { loadPolicyFile } from '../../../src/config/load-policy.ts'
import { policyToPlain } from '../../../src/config/write-policy.ts'
import { buildDefaultPolicy } from '../../../src/policy/default-policy.ts'
import type { DnsPolicy, Policy } from '../../../src/policy/policy-model.ts'
import { canUseNetns } from './netns.ts'
import { ADDR, Testbed, type Proc } from './testbed.ts'

const usable = canUseNetns()
const skip = usable.ok ? false : usable.reason

/** The 2019-11 default policy of the testbed's cluster, plus the DNAT rule of the seed's fix. */
function policy(features: readonly string[], dnsPolicy: DnsPolicy = 'allow-all'): Policy {
  const { profile } = checkProfile(
    { location: 'westeurope', catalog: '2019-11', features, apiServerIp: ADDR.apiServer, nodeCidrs: ['10.240.0.0/16'] },
    { label: (f) => f },
  )
  const base = buildDefaultPolicy(profile!, resolveEndpoints(profile!)).policy
  return {
    ...base,
    settings: { ...base.settings, dnsPolicy },
    ruleCollectionGroups: [
      {
        name: 'ingress',
        priority: 100,
        ruleCollections: [
          {
            type: 'dnat',
            name: 'ingress-dnat',
            priority: 100,
            action: 'DNAT',
            rules: [
              {
                name: 'web',
                sourceAddresses: ['*'],
                sourceIpGroups: [],
                ipProtocols: ['TCP'],
                destinationAddress: ADDR.fwPublic,
                destinationPort: 8080,
                translatedAddress: ADDR.nodeService,
                translatedPort: 8081,
              },
            ],
          },
        ],
      },
      ...base.ruleCollectionGroups,
    ],
  }
}

function writePolicy(file: string, p: Policy): void {
  writeFileSync(file, JSON.stringify(policyToPlain(p), null, 2))
  const loaded = loadPolicyFile(file)
  assert.ok(loaded.policy, loaded.diagnostics.map((d) => d.message).join('; '))
}

describe('transparent appliance in network namespaces', { skip }, () => {
  let bed: Testbed
  let fw: Proc
  let policyFile: string

  before(async () => {
    bed = await Testbed.create()
    policyFile = join(bed.dir, 'policy.json')
    writePolicy(policyFile, policy([]))
    fw = await bed.startFirewall(['--policy', policyFile, '--learn-grace', '1'])
  })

  after(async () => {
    await bed.destroy()
  })

  const reload = async (p: Policy): Promise<void> => {
    const before = fw.lines.filter((l) => l.includes('"msg":"nftables-reloaded"')).length
    writePolicy(policyFile, p)
    fw.child.kill('SIGHUP')
    for (let i = 0; i < 50; i++) {
      if (fw.lines.filter((l) => l.includes('"msg":"nftables-reloaded"')).length > before) return
      await new Promise((r) => setTimeout(r, 100))
    }
    assert.fail(`no reload: ${fw.lines.slice(-3).join(' | ')}`)
  }

  test('dig through the DNS proxy; the query is logged with AZFWDnsQuery fields', async () => {
    assert.equal(bed.dig(bed.node, ADDR.fwInside, '+short', 'ntp.ubuntu.com').trim(), ADDR.ntp)
    const line = await fw.waitFor((l) => l.includes('"QueryName":"ntp.ubuntu.com"'))
    const rec = JSON.parse(line) as Record<string, unknown>
    assert.equal(rec['SourceIp'], ADDR.node)
    assert.equal(rec['Protocol'], 'udp')
    assert.equal(rec['ResponseCode'], 'NOERROR')
    assert.equal(rec['LearnedAddresses'], 1)
    assert.match(bed.dig(bed.node, ADDR.fwInside, '+tcp', 'ntp.ubuntu.com'), /status: NOERROR/)
  })

  test('NTP (UDP 123) to ntp.ubuntu.com: a real exchange through the learned set; other addresses denied', () => {
    const ok = bed.client(bed.node, ['ntp', ADDR.ntp])
    assert.deepEqual(ok, { ok: true, mode: 4, stratum: 2, echoed: true })
    assert.equal(bed.client(bed.node, ['ntp', ADDR.denied]).ok, false)
  })

  test('TCP 9000 and 22 to the API server address pass, masqueraded; other ports denied', () => {
    assert.deepEqual(bed.client(bed.node, ['tcp', ADDR.apiServer, '9000']), { ok: true, greeting: `9000 peer=${ADDR.fwPublic}` })
    assert.deepEqual(bed.client(bed.node, ['tcp', ADDR.apiServer, '22']), { ok: true, greeting: `22 peer=${ADDR.fwPublic}` })
    assert.equal(bed.client(bed.node, ['tcp', ADDR.apiServer, '1688']).ok, false)
  })

  test('*.hcp.<location>.azmk8s.io TCP 9000: denied until the name is resolved through the proxy', () => {
    assert.equal(bed.client(bed.node, ['tcp', ADDR.hcp, '9000']).ok, false)
    assert.equal(bed.dig(bed.node, ADDR.fwInside, '+short', 'x.hcp.westeurope.azmk8s.io').trim(), ADDR.hcp)
    assert.equal(bed.client(bed.node, ['tcp', ADDR.hcp, '9000']).ok, true)
  })

  test('TCP 1688 to kms.core.windows.net is denied without the windows add-on', () => {
    assert.match(bed.dig(bed.node, ADDR.fwInside, '+short', 'kms.core.windows.net'), new RegExp(ADDR.kms.replaceAll('.', '\\.')))
    assert.equal(bed.client(bed.node, ['tcp', ADDR.kms, '1688']).ok, false)
  })

  test('reload to the windows add-on while a connection is open: the connection lives on, TCP 1688 now passes', async () => {
    const held = bed.clientBackground(bed.node, ['tcp', ADDR.apiServer, '9000', '2000'])
    await held.waitFor((l) => l.includes('"holding":true'))
    await reload(policy(['windows']))
    assert.match(await held.waitFor((l) => l.includes('"ok"')), /"ok":true/)
    bed.dig(bed.node, ADDR.fwInside, '+short', 'kms.core.windows.net')
    assert.deepEqual(bed.client(bed.node, ['tcp', ADDR.kms, '1688']), { ok: true, greeting: `1688 peer=${ADDR.fwPublic}` })
  })

  test('a learned address expires (TTL 2 s + grace 1 s): the open connection survives, new ones are denied', async () => {
    bed.dig(bed.node, ADDR.fwInside, '+short', 'kms.core.windows.net')
    const held = bed.clientBackground(bed.node, ['tcp', ADDR.kms, '1688', '5000'])
    await held.waitFor((l) => l.includes('"holding":true'))
    await new Promise((r) => setTimeout(r, 4000))
    const set = bed.fw.exec(['nft', 'list', 'ruleset'])
    assert.doesNotMatch(set, new RegExp(ADDR.kms.replaceAll('.', '\\.')))
    assert.equal(bed.client(bed.node, ['tcp', ADDR.kms, '1688']).ok, false)
    assert.match(await held.waitFor((l) => l.includes('"ok"')), /"ok":true,.*"held":5000/)
  })

  test('DNAT: the firewall public address:8080 reaches the service in node; the reply path goes back through the firewall', async () => {
    const service = bed.clientBackground(bed.node, ['serve', ADDR.nodeService, '8081'])
    await service.waitFor((l) => l === 'ready')
    // The service sees the firewall's inside address (SNAT, as Azure does), so its reply goes back
    // through the firewall whatever the node's routes; the client sees the public address answer.
    assert.deepEqual(bed.client(bed.inet, ['tcp', ADDR.fwPublic, '8080']), { ok: true, greeting: `8081 peer=${ADDR.fwInside}` })
    assert.equal(bed.client(bed.inet, ['tcp', ADDR.fwPublic, '8081']).ok, false)
  })

  test('the appliance answers DNS to the node subnets only', () => {
    assert.match(bed.dig(bed.inet, ADDR.fwPublic, 'ntp.ubuntu.com'), /timed out|no servers could be reached/)
  })

  test('dnsPolicy allowed-only: a name no rule allows is REFUSED', async () => {
    await reload(policy(['windows'], 'allowed-only'))
    assert.match(bed.dig(bed.node, ADDR.fwInside, 'denied.example.test'), /status: REFUSED/)
    assert.match(bed.dig(bed.node, ADDR.fwInside, 'ntp.ubuntu.com'), /status: NOERROR/)
  })

  test('an invalid policy on reload is rejected and the running one stays', async () => {
    writeFileSync(policyFile, '{"apiVersion": "aks-egress/v1", "ruleCollectionGroups": [{"name": "x"}]}')
    fw.child.kill('SIGHUP')
    await fw.waitFor((l) => l.includes('"msg":"reload-rejected"'))
    assert.match(bed.fw.exec(['nft', 'list', 'tables']), /aks_egress/)
    assert.equal(bed.client(bed.node, ['tcp', ADDR.apiServer, '9000']).ok, true)
  })

  test('SIGTERM: the table is removed and the process exits 0', async () => {
    fw.child.kill('SIGTERM')
    assert.equal(await fw.exited(), 0)
    assert.equal(bed.tables(), '')
  })

  test('after a crash (SIGKILL) the table stays; --cleanup removes it', async () => {
    writePolicy(policyFile, policy([]))
    const crashed = await bed.startFirewall(['--policy', policyFile])
    crashed.child.kill('SIGKILL')
    await crashed.exited()
    assert.equal(bed.tables(), 'table inet aks_egress\n')
    const cleanup = bed.spawn(bed.fw, [process.execPath, '--import', 'tsx', 'src/dataplane/transparent-main.ts', '--cleanup'])
    assert.equal(await cleanup.exited(), 0)
    assert.equal(bed.tables(), '')
  })
})
