// The appliance, `aks-egress serve --transparent`, in the namespace testbed: real clients in `node`
// (dig, an NTP client, TCP clients, curl, a kept-alive TLS client), real services in `internet`
// (TLS origins with certificates of a test CA made at test time), the firewall's nftables table,
// DNS proxy and L7 listeners in `firewall`. The cases run in order on one testbed.
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { checkProfile, resolveEndpoints } from '../../../src/catalog/profile.ts'
import { loadPolicyFile } from '../../../src/config/load-policy.ts'
import { policyToPlain } from '../../../src/config/write-policy.ts'
import { buildDefaultPolicy } from '../../../src/policy/default-policy.ts'
import type { DnsPolicy, Policy, RuleCollectionGroup } from '../../../src/policy/policy-model.ts'
import { kernelHasFlowtable } from '../../support/nft-check.ts'
import { canUseNetns } from './netns.ts'
import { ADDR, Testbed, type Proc } from './testbed.ts'

const usable = canUseNetns()
const skip = usable.ok ? false : usable.reason

interface PolicyOptions {
  readonly features?: readonly string[]
  readonly dnsPolicy?: DnsPolicy
  /** An application rule for mcr.microsoft.com on Https:8443. */
  readonly mcr8443?: boolean
  /** Leave out the catalog's rule for mcr.microsoft.com. */
  readonly withoutMcr?: boolean
}

/**
 * The 2019-11 default policy of the testbed's cluster, plus the DNAT rule of the seed's fix. The
 * internet's services are on documentation addresses (203.0.113.0/24), which the L7 proxy refuses
 * to dial unless the policy opens them.
 */
function policy(o: PolicyOptions = {}): Policy {
  const { profile } = checkProfile(
    { location: 'westeurope', catalog: '2019-11', features: o.features ?? [], apiServerIp: ADDR.apiServer, nodeCidrs: ['10.240.0.0/16'] },
    { label: (f) => f },
  )
  const base = buildDefaultPolicy(profile!, resolveEndpoints(profile!)).policy
  const groups: RuleCollectionGroup[] = base.ruleCollectionGroups.map((g) => ({
    ...g,
    ruleCollections: g.ruleCollections.map((c) => (c.type === 'application' && o.withoutMcr === true ? { ...c, rules: c.rules.filter((r) => !r.targetFqdns.includes('mcr.microsoft.com')) } : c)),
  }))
  const extra: RuleCollectionGroup[] =
    o.mcr8443 === true
      ? [
          {
            name: 'extra',
            priority: 64000,
            ruleCollections: [
              {
                type: 'application',
                name: 'extra-app',
                priority: 100,
                action: 'Allow',
                rules: [{ name: 'mcr-8443', sourceAddresses: ['10.240.0.0/16'], sourceIpGroups: [], protocols: [{ type: 'Https', port: 8443 }], targetFqdns: ['mcr.microsoft.com'], fqdnTags: [] }],
              },
            ],
          },
        ]
      : []
  return {
    ...base,
    settings: { ...base.settings, dnsPolicy: o.dnsPolicy ?? 'allow-all', unsafeAllowPrivateRanges: ['203.0.113.0/24'] },
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
              {
                // The same service by name: the appliance resolves translatedFqdn itself (--hosts here).
                name: 'web-by-name',
                sourceAddresses: ['*'],
                sourceIpGroups: [],
                ipProtocols: ['TCP'],
                destinationAddress: ADDR.fwPublic,
                destinationPort: 8082,
                translatedFqdn: 'web.internal.example',
                translatedPort: 8081,
              },
            ],
          },
        ],
      },
      ...groups,
      ...extra,
    ],
  }
}

function writePolicy(file: string, p: Policy): void {
  writeFileSync(file, JSON.stringify(policyToPlain(p), null, 2))
  const loaded = loadPolicyFile(file)
  assert.ok(loaded.policy, loaded.diagnostics.map((d) => d.message).join('; '))
}

const json = (line: string): Record<string, unknown> => JSON.parse(line) as Record<string, unknown>
const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

describe('the appliance (serve --transparent) in network namespaces', { skip }, () => {
  let bed: Testbed
  let fw: Proc
  let policyFile: string
  /** The kernel can make flowtables (CONFIG_NF_FLOW_TABLE): serve uses one by default, else falls back. */
  let flowtables: boolean

  before(async () => {
    bed = await Testbed.create()
    flowtables = kernelHasFlowtable((argv, input) => bed.fw.try(argv, input))
    policyFile = join(bed.dir, 'policy.json')
    writePolicy(policyFile, policy())
    const hostsFile = join(bed.dir, 'hosts')
    writeFileSync(hostsFile, `${ADDR.nodeService} web.internal.example\n`)
    fw = await bed.startFirewall(['--policy', policyFile, '--hosts', hostsFile, '--learn-grace', '1', '--listen', `${ADDR.fwInside}:3128`, '--ingress-interface', 'f-node', '--no-watch'])
  })

  after(async () => {
    await bed.destroy()
  })

  /** Writes the policy, sends SIGHUP and waits for the reload's line; returns it. */
  const reload = async (p: Policy): Promise<Record<string, unknown>> => {
    const seen = fw.lines.filter((l) => l.includes('"event":"reload"')).length
    writePolicy(policyFile, p)
    fw.child.kill('SIGHUP')
    await fw.waitFor(() => fw.lines.filter((l) => l.includes('"event":"reload"')).length > seen)
    const line = json(fw.lines.filter((l) => l.includes('"event":"reload"'))[seen]!)
    assert.equal(line['result'], 'ok', JSON.stringify(line))
    return line
  }

  /** The node's resolution through the firewall's DNS proxy (the way nodes resolve). */
  const resolveName = (name: string): string => bed.dig(bed.node, ADDR.fwInside, '+short', name).trim().split('\n').pop() ?? ''

  /** curl from the node to NAME, at the address the DNS proxy gave (or `address`). */
  const curlName = (url: string, address?: string, ...extra: string[]): ReturnType<Testbed['curl']> => {
    const u = new URL(url)
    const port = u.port === '' ? (u.protocol === 'https:' ? '443' : '80') : u.port
    return bed.curl(bed.node, ['--resolve', `${u.hostname}:${port}:${address ?? resolveName(u.hostname)}`, ...extra, url])
  }

  /** The first line from index `from` on that matches, waiting for it. */
  const lineAfter = async (from: number, pred: (line: string) => boolean): Promise<Record<string, unknown>> => {
    const found = await fw.waitFor(() => fw.lines.slice(from).some(pred))
    return json(fw.lines.slice(from).find(pred) ?? found)
  }

  const originConnections = (label: string): number => (bed.services?.lines ?? []).filter((l) => l.includes(`"origin":"${label}"`)).length

  test('startup: the listeners, the table and the DNS proxy; the table redirects each application port to its listener', async () => {
    await fw.waitFor(() => fw.stderr().includes('aks-egress serve: '))
    // The DNAT name was resolved before the table went in: no rule left out.
    assert.doesNotMatch(fw.stderr(), /UNSUPPORTED_BY_TARGET/)
    const start = json(fw.lines.find((l) => l.includes('"event":"start"'))!)
    assert.deepEqual(start['appliance'], { table: 'inet aks_egress', egressInterface: 'f-inet', flowtable: flowtables ? ['f-node', 'f-inet'] : null, dnsListen: `${ADDR.fwInside}:53`, dnsUpstream: `${ADDR.dns}:53` })
    const ft = flowtables ? 'flowtable on f-node,f-inet' : 'no flowtable'
    assert.match(fw.stderr(), new RegExp(`^aks-egress serve: explicit 10\\.240\\.0\\.1:3128, tls:443 0\\.0\\.0\\.0:15443, http:80 0\\.0\\.0\\.0:15080, admin 127\\.0\\.0\\.1:9901; policy \\S+ \\(enforce\\): 5 network, 13 application, 2 DNAT rules; hosts \\S+ \\(1 name\\), dns 198\\.51\\.100\\.53:53; table inet aks_egress \\(\\d+ lines, 3 FQDN sets, egress f-inet, ${ft}\\), DNS proxy 10\\.240\\.0\\.1:53$`, 'm'))
    const pre = bed.fw.exec(['nft', 'list', 'chain', 'inet', 'aks_egress', 'prerouting'])
    assert.match(pre, /tcp dport 80 counter packets \d+ bytes \d+ redirect to :15080/)
    assert.match(pre, /tcp dport 443 counter packets \d+ bytes \d+ redirect to :15443/)
    assert.match(bed.fw.exec(['nft', 'list', 'chain', 'inet', 'aks_egress', 'input']), /ip saddr 10\.240\.0\.0\/16 tcp dport 3128 accept comment "aks-egress services"/)
    assert.equal(bed.admin('/readyz'), 'ready\n')
  })

  test('the flowtable: on the appliance\'s two interfaces when the kernel has flowtables; else FLOWTABLE_UNSUPPORTED and the table without it', () => {
    const table = bed.fw.exec(['nft', 'list', 'table', 'inet', 'aks_egress'])
    const forward = bed.fw.exec(['nft', 'list', 'chain', 'inet', 'aks_egress', 'forward'])
    if (flowtables) {
      assert.match(table, /flowtable ft \{\s*hook ingress priority filter\s*devices = \{ (f-inet, f-node|f-node, f-inet) \}/)
      // The offload rule comes before everything else: only flows the chain accepted get there.
      assert.match(forward, /policy drop;\s*ct state established meta l4proto \{ tcp, udp \} flow add @ft[^\n]*\n\s*ct state established,related accept\n\s*ct state invalid drop\n/)
      assert.doesNotMatch(fw.stderr(), /FLOWTABLE_UNSUPPORTED/)
    } else {
      assert.doesNotMatch(table, /flowtable|flow add/)
      assert.match(forward, /policy drop;\s*ct state established,related accept\n\s*ct state invalid drop\n/)
      assert.match(fw.stderr(), /^warning FLOWTABLE_UNSUPPORTED: this kernel has no nftables flowtable .*: Error: Could not process rule: No such file or directory; the table is applied without the fast path/m)
    }
  })

  test('dig through the DNS proxy; the query is logged with AZFWDnsQuery fields', async () => {
    assert.equal(bed.dig(bed.node, ADDR.fwInside, '+short', 'ntp.ubuntu.com').trim(), ADDR.ntp)
    const rec = json(await fw.waitFor((l) => l.includes('"event":"dns"') && l.includes('"QueryName":"ntp.ubuntu.com"')))
    assert.equal(rec['msg'], 'dns')
    assert.equal(rec['level'], 'info')
    assert.equal(rec['SourceIp'], ADDR.node)
    assert.equal(rec['Protocol'], 'udp')
    assert.equal(rec['QueryType'], 'A')
    assert.equal(rec['ResponseCode'], 'NOERROR')
    assert.equal(rec['LearnedAddresses'], 1)
    assert.equal(typeof rec['time'], 'string')
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
    assert.equal(resolveName('x.hcp.westeurope.azmk8s.io'), ADDR.hcp)
    assert.equal(bed.client(bed.node, ['tcp', ADDR.hcp, '9000']).ok, true)
  })

  test('TCP 1688 to kms.core.windows.net is denied without the windows add-on', () => {
    assert.match(bed.dig(bed.node, ADDR.fwInside, '+short', 'kms.core.windows.net'), new RegExp(escape(ADDR.kms)))
    assert.equal(bed.client(bed.node, ['tcp', ADDR.kms, '1688']).ok, false)
  })

  test('HTTPS with curl: an allowed catalog name reaches its origin through the TLS listener; a denied one gets access_denied', async () => {
    const ok = curlName('https://mcr.microsoft.com/v2/')
    assert.equal(ok.stderr, '')
    assert.equal(ok.stdout, `origin=mcr GET /v2/ host=mcr.microsoft.com peer=${ADDR.fwPublic}\n`)
    const d = json(await fw.waitFor((l) => l.includes('"event":"decision"') && l.includes('"sni":"mcr.microsoft.com"')))
    assert.equal(d['listener'], 'tls:443')
    assert.equal(d['srcIp'], ADDR.node)
    assert.equal(d['upstream'], `${ADDR.mcr}:443`)
    assert.equal(d['code'], 'APPLICATION_RULE_ALLOW')
    assert.equal(d['rule'], 'aks-required/aks-required-application/public.mcr')
    const denied = curlName('https://denied.example.test/')
    assert.equal(denied.status, 35)
    assert.match(denied.stderr, /alert access denied/)
    const dd = json(await fw.waitFor((l) => l.includes('"event":"decision"') && l.includes('"sni":"denied.example.test"')))
    assert.equal(dd['code'], 'DEFAULT_DENY')
    assert.equal(dd['action'], 'deny')
    assert.equal(originConnections('denied'), 0)
  })

  test('HTTP with curl: an allowed catalog name is forwarded by the HTTP listener; a denied one gets 403 with the reason', async () => {
    const ok = curlName('http://security.ubuntu.com/ubuntu/dists/')
    assert.equal(ok.stdout, `http peer=${ADDR.fwPublic} host=security.ubuntu.com\n`)
    const d = json(await fw.waitFor((l) => l.includes('"event":"decision"') && l.includes('"host":"security.ubuntu.com"')))
    assert.equal(d['listener'], 'http:80')
    assert.equal(d['rule'], 'aks-recommended/aks-recommended-application/ubuntu-updates.security')
    const denied = curlName('http://denied.example.test/', undefined, '-i')
    assert.match(denied.stdout, /^HTTP\/1\.1 403 Forbidden\r\n/)
    assert.match(denied.stdout, /\r\nX-Aks-Egress-Reason: DEFAULT_DENY\r\n/)
    assert.match(denied.stdout, /Action: Deny\. Reason: No rule matched\. Proceeding with default action\.\n$/)
  })

  test('SNI spoofing: a connection to a denied address with an allowed SNI reaches the allowed name\'s address', async () => {
    const before = originConnections('denied')
    const from = fw.lines.length
    const r = curlName('https://mcr.microsoft.com/spoof', ADDR.denied)
    assert.equal(r.stdout, `origin=mcr GET /spoof host=mcr.microsoft.com peer=${ADDR.fwPublic}\n`)
    assert.equal(originConnections('denied'), before, 'the client\'s original destination was never dialled')
    const d = await lineAfter(from, (l) => l.includes('"event":"decision"') && l.includes('"listener":"tls:443"'))
    assert.equal(d['sni'], 'mcr.microsoft.com')
    assert.equal(d['action'], 'allow')
    assert.equal(d['upstream'], `${ADDR.mcr}:443`)
  })

  test('the explicit proxy on the appliance\'s inside address serves the nodes (CONNECT)', () => {
    const r = bed.curl(bed.node, ['-x', `http://${ADDR.fwInside}:3128`, 'https://mcr.microsoft.com/explicit'])
    assert.equal(r.stdout, `origin=mcr GET /explicit host=mcr.microsoft.com peer=${ADDR.fwPublic}\n`)
  })

  test('reload (windows add-on, a new Https port 8443) with L4 and L7 connections open: both live on; TCP 1688 passes; 8443 is redirected to its new listener', async () => {
    const heldL4 = bed.clientBackground(bed.node, ['tcp', ADDR.apiServer, '9000', '2500'])
    const heldL7 = bed.clientBackground(bed.node, ['https', 'mcr.microsoft.com', ADDR.mcr, '443', bed.pki.caPath, '2500'])
    await heldL4.waitFor((l) => l.includes('"holding":true'))
    await heldL7.waitFor((l) => l.includes('"holding":true'))
    const line = await reload(policy({ features: ['windows'], mcr8443: true }))
    assert.deepEqual(
      (line['listeners'] as Array<{ kind: string; originalPort?: number; port: number }>).filter((l) => l.kind === 'tls').map((l) => [l.originalPort, l.port]),
      [
        [443, 15443],
        [8443, 23443],
      ],
    )
    assert.match(await heldL4.waitFor((l) => l.includes('"ok"')), /"ok":true/)
    const l7 = json(await heldL7.waitFor((l) => l.includes('"ok"')))
    assert.deepEqual(l7, {
      ok: true,
      before: `origin=mcr GET /before host=mcr.microsoft.com peer=${ADDR.fwPublic}`,
      after: `origin=mcr GET /after host=mcr.microsoft.com peer=${ADDR.fwPublic}`,
    })
    resolveName('kms.core.windows.net')
    assert.deepEqual(bed.client(bed.node, ['tcp', ADDR.kms, '1688']), { ok: true, greeting: `1688 peer=${ADDR.fwPublic}` })
    assert.match(bed.fw.exec(['nft', 'list', 'chain', 'inet', 'aks_egress', 'prerouting']), /tcp dport 8443 counter packets \d+ bytes \d+ redirect to :23443/)
    assert.match(bed.admin('/listeners'), /\{"kind":"tls","originalPort":8443,"address":"0\.0\.0\.0","port":23443\}/)
    const r = curlName('https://mcr.microsoft.com:8443/new-port')
    assert.equal(r.stdout, `origin=mcr-8443 GET /new-port host=mcr.microsoft.com:8443 peer=${ADDR.fwPublic}\n`)
  })

  test('a learned address expires (TTL 2 s + grace 1 s): the open connection survives, new ones are denied', async () => {
    resolveName('kms.core.windows.net')
    const held = bed.clientBackground(bed.node, ['tcp', ADDR.kms, '1688', '5000'])
    await held.waitFor((l) => l.includes('"holding":true'))
    await new Promise((r) => setTimeout(r, 4000))
    const set = bed.fw.exec(['nft', 'list', 'ruleset'])
    assert.doesNotMatch(set, new RegExp(escape(ADDR.kms)))
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
    // translatedFqdn: resolved by the appliance at start, translated like an address.
    assert.deepEqual(bed.client(bed.inet, ['tcp', ADDR.fwPublic, '8082']), { ok: true, greeting: `8081 peer=${ADDR.fwInside}` })
    assert.match(bed.fw.exec(['nft', 'list', 'chain', 'inet', 'aks_egress', 'prerouting']), new RegExp(`tcp dport 8082 .*dnat ip to ${escape(ADDR.nodeService)}:8081`))
  })

  test('bulk flows through the fast path: an allowed flow carries 4 MiB both ways (offloaded after its first packets), a denied one stays denied, the DNAT reply path too', () => {
    // Several round trips after the handshake, so an offloaded flow is used for most of it.
    assert.deepEqual(bed.client(bed.node, ['bulk', ADDR.apiServer, '9000', String(4 << 20)]), { ok: true, bytes: 4 << 20, peer: ADDR.fwPublic })
    assert.equal(bed.client(bed.node, ['tcp', ADDR.apiServer, '1688']).ok, false)
    // The DNAT test's service (node 10.240.0.80:8081) still listens: 4 MiB through the DNAT.
    assert.deepEqual(bed.client(bed.inet, ['bulk', ADDR.fwPublic, '8080', String(4 << 20)]), { ok: true, bytes: 4 << 20, peer: ADDR.fwInside })
    assert.equal(bed.client(bed.node, ['tcp', ADDR.denied, '9000']).ok, false)
  })

  test('the appliance answers DNS to the node subnets only', () => {
    assert.match(bed.dig(bed.inet, ADDR.fwPublic, 'ntp.ubuntu.com'), /timed out|no servers could be reached/)
  })

  test('reload that removes a name and a port while a TLS connection is open: it lives on; new connections follow the new policy; the port is no longer redirected', async () => {
    const held = bed.clientBackground(bed.node, ['https', 'mcr.microsoft.com', ADDR.mcr, '443', bed.pki.caPath, '2000'])
    await held.waitFor((l) => l.includes('"holding":true'))
    const line = await reload(policy({ features: ['windows'], withoutMcr: true }))
    assert.deepEqual((line['listeners'] as Array<{ kind: string; originalPort?: number }>).filter((l) => l.kind === 'tls').map((l) => l.originalPort), [443])
    assert.match(await held.waitFor((l) => l.includes('"ok"')), /"after":"origin=mcr GET \/after/)
    const denied = curlName('https://mcr.microsoft.com/gone')
    assert.match(denied.stderr, /alert access denied/)
    assert.doesNotMatch(bed.fw.exec(['nft', 'list', 'chain', 'inet', 'aks_egress', 'prerouting']), /8443/)
    assert.doesNotMatch(bed.admin('/listeners'), /8443/)
    const closedPort = curlName('https://mcr.microsoft.com:8443/', undefined, '--connect-timeout', '2')
    assert.equal(closedPort.status, 28, 'dropped by the forward chain: no network rule allows TCP 8443')
  })

  test('dnsPolicy allowed-only: a name no rule allows is REFUSED', async () => {
    await reload(policy({ features: ['windows'], dnsPolicy: 'allowed-only' }))
    assert.match(bed.dig(bed.node, ADDR.fwInside, 'denied.example.test'), /status: REFUSED/)
    assert.match(bed.dig(bed.node, ADDR.fwInside, 'ntp.ubuntu.com'), /status: NOERROR/)
  })

  test('an invalid policy on reload is refused: the table, the listeners and the proxy\'s policy stay', async () => {
    const tableBefore = bed.fw.exec(['nft', 'list', 'chain', 'inet', 'aks_egress', 'forward']).replace(/counter packets \d+ bytes \d+/g, '')
    writeFileSync(policyFile, '{"apiVersion": "aks-egress/v1", "ruleCollectionGroups": [{"name": "x"}]}')
    fw.child.kill('SIGHUP')
    const r = json(await fw.waitFor((l) => l.includes('"event":"reload"') && l.includes('"result":"rejected"')))
    assert.equal(r['trigger'], 'SIGHUP')
    assert.equal(bed.fw.exec(['nft', 'list', 'chain', 'inet', 'aks_egress', 'forward']).replace(/counter packets \d+ bytes \d+/g, ''), tableBefore)
    assert.equal(bed.client(bed.node, ['tcp', ADDR.apiServer, '9000']).ok, true)
    assert.match(curlName('http://security.ubuntu.com/still').stdout, /^http peer=/)
  })

  test('one /metrics: the proxy\'s decisions and the DNS proxy\'s counters', () => {
    const metrics = bed.admin('/metrics')
    assert.match(metrics, /^aks_egress_dns_queries_udp_total [1-9]\d*$/m)
    assert.match(metrics, /^aks_egress_dns_queries_tcp_total [1-9]\d*$/m)
    assert.match(metrics, /^aks_egress_dns_responses_total\{rcode="REFUSED"\} 1$/m)
    assert.match(metrics, /^aks_egress_dns_learned_addresses_total [1-9]\d*$/m)
    assert.match(metrics, /^aks_egress_dns_cache_entries \d+$/m)
    assert.match(metrics, /^aks_egress_decisions_total\{listener="tls:443",action="allow",code="APPLICATION_RULE_ALLOW",rule="aks-required\/aks-required-application\/public\.mcr"\} [1-9]\d*$/m)
    assert.match(metrics, /^aks_egress_policy_reloads_total\{result="rejected"\} 1$/m)
  })

  test('SIGTERM: the table is removed and the process exits 0', async () => {
    fw.child.kill('SIGTERM')
    assert.equal(await fw.exited(), 0)
    assert.equal(bed.tables(), '')
    assert.match(fw.lines.join('\n'), /"event":"nftables-removed"/)
  })

  test('after a crash (SIGKILL) the table stays; serve --cleanup removes it', async () => {
    writePolicy(policyFile, policy())
    const crashed = await bed.startFirewall(['--policy', policyFile])
    crashed.child.kill('SIGKILL')
    await crashed.exited()
    assert.equal(bed.tables(), 'table inet aks_egress\n')
    const cleanup = await bed.serveOnce(['--cleanup'])
    assert.equal(cleanup.code, 0)
    assert.match(cleanup.stderr, /table inet aks_egress removed/)
    assert.equal(bed.tables(), '')
  })

  test('a DNS proxy that cannot listen: exit 1 and no table left behind', async () => {
    const r = await bed.serveOnce(['--transparent', '--egress-interface', 'f-inet', '--dns-listen', '10.240.0.99:53', '--dns-upstream', ADDR.dns, '--policy', policyFile])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /error: .*EADDRNOTAVAIL/)
    assert.equal(bed.tables(), '')
  })
})
