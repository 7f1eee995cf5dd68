// The DNS proxy's fast path reads ordinary queries from their bytes; it must agree with the full
// decoder (dns-packet, then checkQuery) on every query it accepts, and decline anything unusual.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import dnsPacket from 'dns-packet'
import fc from 'fast-check'
import { checkQuery, decodeMessage, questionEnd, quickQuery } from '../../../src/dns/dns-message.ts'

const label = fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/)
const name = fc.array(label, { minLength: 1, maxLength: 5 }).map((l) => l.join('.'))

test('on ordinary queries, the fast path reads what the full decoder reads', () => {
  fc.assert(
    fc.property(
      name,
      fc.constantFrom('A', 'AAAA', 'CNAME', 'TXT', 'MX', 'SRV', 'CAA', 'PTR'),
      fc.integer({ min: 0, max: 65535 }),
      fc.boolean(),
      fc.boolean(),
      fc.option(fc.record({ size: fc.integer({ min: 0, max: 65535 }), dnssec: fc.boolean() }), { nil: undefined }),
      (qname, type, id, rd, cd, edns) => {
        const msg = dnsPacket.encode({
          type: 'query',
          id,
          flags: (rd ? dnsPacket.RECURSION_DESIRED : 0) | (cd ? dnsPacket.CHECKING_DISABLED : 0),
          questions: [{ type: type, name: qname, class: 'IN' }],
          ...(edns ? { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: edns.size, flags: edns.dnssec ? dnsPacket.DNSSEC_OK : 0, options: [] } as unknown as dnsPacket.Answer] } : {}),
        })
        const quick = quickQuery(msg)
        const full = decodeMessage(msg)
        assert.ok(full.ok)
        const checked = checkQuery(full)
        assert.ok(checked.ok)
        if (msg.length > 4096) return
        assert.ok(quick, qname)
        assert.deepEqual(
          { id: quick.id, rd: quick.rd, cd: quick.cd, name: quick.name, sentName: quick.sentName, type: quick.type, dnssecOk: quick.dnssecOk, ednsBufferSize: quick.ednsBufferSize, questionEnd: quick.questionEnd },
          { id, rd, cd, name: checked.info.name, sentName: checked.info.question.name, type: checked.info.type, dnssecOk: checked.info.dnssecOk, ednsBufferSize: checked.info.ednsBufferSize, questionEnd: questionEnd(msg) },
        )
      },
    ),
    { numRuns: 2000, seed: 3 },
  )
})

test('anything unusual takes the full path', () => {
  const base = { type: 'query' as const, id: 7, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A' as const, name: 'mcr.microsoft.com' }] }
  const response = dnsPacket.encode({ ...base, type: 'response', flags: dnsPacket.AUTHORITATIVE_ANSWER })
  const two = dnsPacket.encode({ ...base, questions: [...base.questions, { type: 'AAAA', name: 'x.example' }] })
  const chaos = dnsPacket.encode({ ...base, questions: [{ type: 'TXT', name: 'version.bind', class: 'CH' }] })
  const odd = dnsPacket.encode({ ...base, questions: [{ type: 'A', name: 'ex ample.com' }] })
  const trailing = Buffer.concat([dnsPacket.encode(base), Buffer.from([0])])
  const unknownType = dnsPacket.encode({ ...base, questions: [{ type: 'NAPTR', name: 'x.example' }] })
  for (const [what, msg] of Object.entries({ response, two, chaos, odd, trailing, unknownType })) assert.equal(quickQuery(msg), undefined, what)
})

test('random and mutated bytes never throw', () => {
  const seed = dnsPacket.encode({ type: 'query', id: 1, flags: 0, questions: [{ type: 'A', name: 'a.b' }] })
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), fc.array(fc.tuple(fc.nat(seed.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), (bytes, flips) => {
      quickQuery(Buffer.from(bytes))
      const m = Buffer.from(seed)
      for (const [i, v] of flips) m[i] = v
      const q = quickQuery(m)
      if (q) {
        // Whatever the fast path accepts, the full decoder accepts and reads alike.
        const full = decodeMessage(m)
        assert.ok(full.ok)
        const checked = checkQuery(full)
        assert.ok(checked.ok)
        assert.equal(q.name, checked.info.name)
      }
    }),
    { numRuns: 5000, seed: 5 },
  )
})
