// The DNS proxy with real clients (dig) on loopback, in front of a fake authoritative upstream.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import dgram from 'node:dgram'
import { after, before, test } from 'node:test'
import { promisify } from 'node:util'
import { DnsProxy, type DnsProxyOptions } from '../../../src/dns/dns-proxy.ts'
import type { DnsQueryLog } from '../../../src/dns/dns-log.ts'
import { FqdnLearner } from '../../../src/dns/learner.ts'
import { namePolicyFor } from '../../../src/dns/name-policy.ts'
import { FqdnSetIndex } from '../../../src/dataplane/nftables/fqdn-sets.ts'
import { parseFqdnPattern, type FqdnPattern } from '../../../src/policy/fqdn-pattern.ts'
import { defaultPolicy2019 } from '../../unit/dataplane/nftables-cases.ts'
import { startFakeDns, type FakeDns } from '../../support/fake-dns.ts'

const run = promisify(execFile)
const big = Array.from({ length: 40 }, (_, i) => ({ type: 'A' as const, data: `198.51.100.${i + 1}`, ttl: 120 }))
let upstream: FakeDns
const proxies: DnsProxy[] = []

before(async () => {
  upstream = await startFakeDns({
    records: {
      'ntp.ubuntu.com': [{ type: 'A', data: '203.0.113.123', ttl: 30 }],
      'mcr.microsoft.com': [{ type: 'CNAME', data: 'mcr.trafficmanager.test', ttl: 600 }],
      'mcr.trafficmanager.test': [{ type: 'A', data: '203.0.113.80', ttl: 120 }],
      'big.test': big,
      'x.hcp.westeurope.azmk8s.io': [{ type: 'A', data: '203.0.113.9', ttl: 60 }, { type: 'AAAA', data: '2001:db8::9', ttl: 60 }],
    },
    truncate: ['big.test'],
    silent: ['slow.test'],
  })
})

after(async () => {
  for (const p of proxies) await p.close()
  await upstream.close()
})

async function proxy(extra: Partial<DnsProxyOptions> = {}): Promise<{ p: DnsProxy; port: number; logs: DnsQueryLog[] }> {
  const logs: DnsQueryLog[] = []
  const p = new DnsProxy({ listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: upstream.port }, queryTimeoutMs: 500, log: (r) => logs.push(r), ...extra })
  proxies.push(p)
  const { port } = await p.start()
  return { p, port, logs }
}

async function dig(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('dig', ['@127.0.0.1', '-p', String(port), '+tries=1', '+time=2', ...args])
  return stdout
}

test('answers over UDP, then from the cache with the TTL counted down, and logs AZFWDnsQuery fields', async () => {
  const { p, port, logs } = await proxy()
  const first = await dig(port, 'ntp.ubuntu.com', 'A', '+noall', '+answer')
  assert.match(first, /^ntp\.ubuntu\.com\.\s+30\s+IN\s+A\s+203\.0\.113\.123$/m)
  await new Promise((r) => setTimeout(r, 1100))
  const second = await dig(port, 'NTP.Ubuntu.com', 'A', '+noall', '+answer')
  assert.match(second, /^ntp\.ubuntu\.com\.\s+(29|28)\s+IN\s+A\s+203\.0\.113\.123$/im)
  assert.equal(p.metrics.get('cache_hits_total'), 1)
  assert.equal(p.metrics.get('cache_misses_total'), 1)
  const a = logs[0]!
  const b = logs[1]!
  assert.equal(a.Cached, false)
  assert.equal(b.Cached, true)
  assert.equal(a.QueryName, 'ntp.ubuntu.com.'.replace(/\.$/, ''))
  assert.equal(a.QueryType, 'A')
  assert.equal(a.QueryClass, 'IN')
  assert.equal(a.Protocol, 'udp')
  assert.equal(a.SourceIp, '127.0.0.1')
  assert.equal(a.ResponseCode, 'NOERROR')
  assert.match(a.ResponseFlags, /^qr,aa,rd?/)
  assert.equal(a.ErrorNumber, 0)
  assert.ok(a.RequestSize > 12 && a.ResponseSize > a.RequestSize)
  assert.equal(typeof a.DnssecOkBit, 'boolean')
  assert.ok(a.EDNS0BufferSize >= 512)
})

test('TCP queries, length-prefixed, several on one connection', async () => {
  const { logs, port } = await proxy()
  const out = await dig(port, '+tcp', '+keepopen', 'ntp.ubuntu.com', 'A', 'x.hcp.westeurope.azmk8s.io', 'AAAA', '+noall', '+answer')
  assert.match(out, /203\.0\.113\.123/)
  assert.match(out, /2001:db8::9/)
  assert.deepEqual(logs.map((l) => l.Protocol), ['tcp', 'tcp'])
})

test('a truncated upstream UDP answer is asked again over TCP; a small UDP client gets TC and retries over TCP', async () => {
  const { p, port } = await proxy()
  const udpOnly = await dig(port, '+notcp', '+ignore', '+bufsize=512', 'big.test', 'A')
  assert.match(udpOnly, /flags: qr[^;]*tc/)
  assert.equal(p.metrics.get('upstream_tcp_retries_total'), 1)
  assert.equal(p.metrics.get('truncated_to_client_total'), 1)
  const full = await dig(port, 'big.test', 'A', '+noall', '+answer')
  assert.equal(full.trim().split('\n').length, 40)
})

test('allowed-only: names no rule allows are REFUSED, allowed names answered', async () => {
  const policy = defaultPolicy2019()
  const names = namePolicyFor({ ...policy, settings: { ...policy.settings, dnsPolicy: 'allowed-only' } }, {})
  const { p, port, logs } = await proxy({ names })
  assert.match(await dig(port, 'exfil-c2VjcmV0.evil.test', 'A'), /status: REFUSED/)
  assert.match(await dig(port, 'ntp.ubuntu.com', 'A'), /status: NOERROR/)
  assert.match(await dig(port, 'deep.x.hcp.westeurope.azmk8s.io', 'A'), /status: NXDOMAIN/)
  assert.equal(p.metrics.get('refused_total'), 1)
  assert.equal(logs[0]!.ResponseCode, 'REFUSED')
  assert.equal(logs[0]!.ErrorNumber, 4)
  assert.equal(upstream.queries.udp > 0, true)
})

test('malformed packets are dropped and counted; the proxy keeps serving', async () => {
  const { p, port } = await proxy()
  const s = dgram.createSocket('udp4')
  const garbage = [Buffer.alloc(0), Buffer.from([1, 2, 3]), Buffer.alloc(12, 0xff), Buffer.from('000001000001000000000000ff', 'hex'), Buffer.alloc(600, 0x41)]
  for (const g of garbage) await new Promise<void>((r) => { s.send(g, port, '127.0.0.1', () => { r(); }); })
  s.close()
  await new Promise((r) => setTimeout(r, 100))
  assert.ok(p.metrics.get('malformed_queries_total') >= 4, String(p.metrics.get('malformed_queries_total')))
  assert.match(await dig(port, 'ntp.ubuntu.com', 'A'), /status: NOERROR/)
})

test('an upstream that does not answer gives SERVFAIL after the timeout, logged with the error', async () => {
  const { p, port, logs } = await proxy()
  assert.match(await dig(port, 'slow.test', 'A'), /status: SERVFAIL/)
  assert.equal(p.metrics.get('upstream_timeouts_total'), 1)
  assert.equal(logs[0]!.ErrorNumber, 1)
  assert.match(logs[0]!.ErrorMessage, /no answer from 127\.0\.0\.1:\d+ over UDP within 500 ms/)
})

test('NXDOMAIN is cached (negative TTL from the SOA)', async () => {
  const { p, port } = await proxy()
  await dig(port, 'nothing.test', 'A')
  assert.match(await dig(port, 'nothing.test', 'A'), /status: NXDOMAIN/)
  assert.equal(p.metrics.get('cache_hits_total'), 1)
})

test('in-flight bound: beyond it, SERVFAIL and overload counted', async () => {
  const { p, port } = await proxy({ maxInflight: 1 })
  const slow = dig(port, 'slow.test', 'A')
  await new Promise((r) => setTimeout(r, 100))
  assert.match(await dig(port, 'other.test', 'A'), /status: SERVFAIL/)
  assert.equal(p.metrics.get('overload_total'), 1)
  await slow
})

test('learning: CNAME chains followed, answers wait for the batch, per-name sets fed', async () => {
  const index = new FqdnSetIndex()
  const pattern = (t: string): { text: string; pattern: FqdnPattern } => {
    const parsed = parseFqdnPattern(t)
    if (!parsed.ok) throw new Error(parsed.detail)
    return { text: t, pattern: parsed.pattern }
  }
  index.add(0, 'g/c/mcr', [pattern('mcr.microsoft.com')])
  index.add(1, 'g/c/hcp', [pattern('*.hcp.westeurope.azmk8s.io')])
  const applied: string[] = []
  const learner = new FqdnLearner(index, { apply: async (t) => { await new Promise((r) => setTimeout(r, 50)); applied.push(t) } })
  const { port, logs } = await proxy({ learn: (n, pkt) => learner.learn(n, pkt) })
  await dig(port, 'mcr.microsoft.com', 'A')
  assert.equal(applied.length, 1, 'the answer came after its batch was applied')
  assert.match(applied[0]!, /^add element inet aks_egress fqdn0_v4 \{ 203\.0\.113\.80 timeout 18\ds \}$/m)
  await dig(port, 'x.hcp.westeurope.azmk8s.io', 'AAAA')
  assert.match(applied[1]!, /add element inet aks_egress fqdn1_v6 \{ 2001:db8::9 timeout 1[12]\ds \}/)
  assert.equal(logs[0]!.LearnedAddresses, 1)
  await dig(port, 'ntp.ubuntu.com', 'A')
  assert.equal(applied.length, 2, 'names of no rule are not learned')
})
