// The DNS proxy's pure parts: cache TTL rules and bounds, TCP framing, message checks, name policy.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import dnsPacket from 'dns-packet'
import fc from 'fast-check'
import { cacheTtl, DnsCache } from '../../../src/dns/dns-cache.ts'
import { agedWire, checkQuery, decodeMessage, questionEnd, ttlLayout } from '../../../src/dns/dns-message.ts'
import { namePolicyFor } from '../../../src/dns/name-policy.ts'
import { FrameReader, frame } from '../../../src/dns/tcp-framing.ts'
import { defaultPolicy2019 } from '../dataplane/nftables-cases.ts'

function decoded(p: dnsPacket.Packet): ReturnType<typeof decodeMessage> {
  return decodeMessage(dnsPacket.encode(p))
}

const SOA = (ttl: number, minimum: number): dnsPacket.Answer => ({ type: 'SOA', name: 'test', ttl, data: { mname: 'ns', rname: 'h', serial: 1, refresh: 1, retry: 1, expire: 1, minimum } })

test('cache TTL: positive = smallest answer TTL capped at 1 h; negative = min(SOA TTL, MINIMUM) capped at 30 min; TC and SERVFAIL never', () => {
  const ttl = (p: dnsPacket.Packet): number => {
    const d = decoded(p)
    assert.ok(d.ok)
    return cacheTtl(d.packet, d.header)
  }
  assert.equal(ttl({ type: 'response', answers: [{ type: 'A', name: 'a', ttl: 99999, data: '192.0.2.1' }, { type: 'A', name: 'a', ttl: 7200, data: '192.0.2.2' }] }), 3600)
  assert.equal(ttl({ type: 'response', answers: [{ type: 'A', name: 'a', ttl: 30, data: '192.0.2.1' }] }), 30)
  assert.equal(ttl({ type: 'response', flags: 3, authorities: [SOA(86400, 7200)] }), 1800)
  assert.equal(ttl({ type: 'response', flags: 3, authorities: [SOA(60, 300)] }), 60)
  assert.equal(ttl({ type: 'response', flags: 3 }), 0)
  assert.equal(ttl({ type: 'response', flags: 2 }), 0)
  assert.equal(ttl({ type: 'response', flags: 0x0200, answers: [{ type: 'A', name: 'a', ttl: 30, data: '192.0.2.1' }] }), 0)
})

test('cache: bounded in entries, least recently used first; entries expire', () => {
  const c = new DnsCache(2)
  const pkt = { flags: 0 } as unknown as dnsPacket.DecodedPacket
  c.set('a', pkt, 10, 0)
  c.set('b', pkt, 10, 0)
  assert.ok(c.get('a', 1))
  assert.equal(c.set('c', pkt, 10, 2), 1)
  assert.equal(c.get('b', 3), undefined)
  assert.ok(c.get('a', 3))
  assert.equal(c.get('a', 10_001), undefined)
  assert.equal(c.size, 1)
})

test('cache: a name asked between one-off names stays cached through ten times its size of insertions; the one-off names go', () => {
  const c = new DnsCache(1000)
  const pkt = { flags: 0 } as unknown as dnsPacket.DecodedPacket
  c.set('hot', pkt, 3600, 0)
  for (let i = 0; i < 10_000; i++) {
    c.set(`once${i}`, pkt, 3600, 0)
    if (i % 100 === 0) assert.ok(c.get('hot', 1), `hot evicted after ${i} insertions`)
  }
  assert.equal(c.size, 1000)
  assert.equal(c.get('once0', 1), undefined)
  assert.ok(c.get('once9999', 1))
})

test('TCP framing: frames across chunk boundaries, several per chunk; zero length and oversize are errors', () => {
  const r = new FrameReader(100)
  const a = frame(Buffer.from('hello'))
  const b = frame(Buffer.from('world!'))
  const all = Buffer.concat([a, b])
  assert.deepEqual(r.push(all.subarray(0, 3)), [])
  assert.deepEqual(r.push(all.subarray(3, 9))?.map(String), ['hello'])
  assert.deepEqual(r.push(all.subarray(9))?.map(String), ['world!'])
  assert.equal(new FrameReader(100).push(Buffer.from([0, 0])), undefined)
  assert.equal(new FrameReader(10).push(Buffer.concat([Buffer.from([0, 200]), Buffer.alloc(20)])), undefined)
})

test('TCP framing: random chunking of random frames gives back the frames (property)', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1 }), (msgs, cuts) => {
      const wire = Buffer.concat(msgs.map((m) => frame(Buffer.from(m))))
      const r = new FrameReader(70000)
      const out: Buffer[] = []
      let at = 0
      let i = 0
      while (at < wire.length) {
        const n = cuts[i++ % cuts.length]!
        out.push(...(r.push(wire.subarray(at, at + n)) ?? []))
        at += n
      }
      assert.deepEqual(out.map((b) => b.toString('hex')), msgs.map((m) => Buffer.from(m).toString('hex')))
    }),
  )
})

test('decoding never throws on random or mutated bytes (property)', () => {
  const valid = dnsPacket.encode({ type: 'query', id: 1, flags: 0x0100, questions: [{ type: 'A', name: 'ntp.ubuntu.com' }] })
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), (bytes, flips) => {
      decodeMessage(Buffer.from(bytes))
      const m = Buffer.from(valid)
      for (const [at, v] of flips) m[at] = v
      const d = decodeMessage(m)
      if (d.ok) checkQuery(d)
    }),
    { numRuns: 2000 },
  )
})

test('queries the proxy serves: one question, opcode QUERY, not a response', () => {
  const q = decoded({ type: 'query', id: 7, flags: 0x0100, questions: [{ type: 'AAAA', name: 'MCR.microsoft.com.' }], additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: dnsPacket.DNSSEC_OK } as dnsPacket.Answer] })
  assert.ok(q.ok)
  const c = checkQuery(q)
  assert.ok(c.ok)
  assert.equal(c.info.name, 'mcr.microsoft.com')
  assert.equal(c.info.ednsBufferSize, 1232)
  assert.equal(c.info.dnssecOk, true)
  const two = decoded({ type: 'query', questions: [{ type: 'A', name: 'a' }, { type: 'A', name: 'b' }] })
  assert.ok(two.ok)
  assert.deepEqual(checkQuery(two), { ok: false, rcode: 1, error: '2 questions; exactly one is served' })
  const notify = decoded({ type: 'query', flags: 4 << 11, questions: [{ type: 'SOA', name: 'a' }] })
  assert.ok(notify.ok)
  assert.equal(checkQuery(notify).ok, false)
})

test('allowed-only name policy: allow-rule names (exact, wildcard subdomains, FQDN tags) only', () => {
  const base = defaultPolicy2019()
  const names = namePolicyFor({ ...base, settings: { ...base.settings, dnsPolicy: 'allowed-only' } }, { AzureKubernetesService: ['tagged.example.com'] })
  for (const n of ['ntp.ubuntu.com', 'NTP.ubuntu.com.', 'x.hcp.westeurope.azmk8s.io', 'kms.core.windows.net', 'mcr.microsoft.com']) assert.equal(names.allows(n), true, n)
  for (const n of ['hcp.westeurope.azmk8s.io', 'evil.test', '', 'ntp.ubuntu.com.evil.test', 'tagged.example.com']) assert.equal(names.allows(n), false, n)
  assert.equal(namePolicyFor(base, {}).allows('anything.test'), true)
})

test('a cached answer is aged in place: the query ID and question spelling, TTLs lowered, OPT untouched', () => {
  const wire = dnsPacket.encode({
    type: 'response',
    id: 999,
    flags: 0x0180,
    questions: [{ type: 'A', name: 'mcr.microsoft.com' }],
    answers: [
      { type: 'CNAME', name: 'mcr.microsoft.com', ttl: 600, data: 'x.tm.test' },
      { type: 'A', name: 'x.tm.test', ttl: 30, data: '192.0.2.1' },
    ],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0 } as dnsPacket.Answer],
  })
  const layout = ttlLayout(wire)
  assert.ok(layout)
  assert.deepEqual(layout.ttls, [600, 30])
  const query = dnsPacket.encode({ type: 'query', id: 4242, flags: 0x0100, questions: [{ type: 'A', name: 'MCR.Microsoft.COM' }] })
  const aged = agedWire(wire, layout, query, questionEnd(query), 45)
  assert.ok(aged)
  const d = dnsPacket.decode(aged)
  assert.equal(d.id, 4242)
  assert.equal(d.questions?.[0]?.name, 'MCR.Microsoft.COM')
  assert.deepEqual(d.answers?.map((a) => (a.type === 'OPT' ? -1 : a.ttl)), [555, 0])
  assert.equal(d.additionals?.[0]?.type, 'OPT')
  assert.equal(agedWire(wire, layout, dnsPacket.encode({ type: 'query', questions: [{ type: 'A', name: 'a.test' }] }), 12 + 8 + 4, 0), undefined)
  assert.equal(ttlLayout(wire.subarray(0, wire.length - 1)), undefined)
})
