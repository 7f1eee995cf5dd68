// The DNS query line serialised by hand (dns/dns-log.ts dnsLogLine, written by the connection
// log) is the line pino writes for the same record: same keys in the same order, same values.
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { test } from 'node:test'
import { pinoDnsSink, type DnsQueryLog } from '../../../src/dns/dns-log.ts'
import { createConnectionLog } from '../../../src/proxy/connection-log.ts'

const RECORDS: DnsQueryLog[] = [
  {
    SourceIp: '10.240.0.4', SourcePort: 54195, QueryId: 14360, QueryType: 'A', QueryClass: 'IN', QueryName: 'ntp.ubuntu.com', Protocol: 'udp',
    RequestSize: 55, DnssecOkBit: false, EDNS0BufferSize: 1232, ResponseCode: 'NOERROR', ResponseFlags: 'qr,aa,rd,ad', ResponseSize: 62,
    RequestDurationSecs: 0.025005341, ErrorNumber: 0, ErrorMessage: '', Cached: false, LearnedAddresses: 1,
  },
  {
    SourceIp: 'fd00::4', SourcePort: 1, QueryId: 0, QueryType: 'TXT', QueryClass: '', QueryName: 'we"ird\\name.\u00e9\u0001', Protocol: 'tcp',
    RequestSize: 512, DnssecOkBit: true, EDNS0BufferSize: 4096, ResponseCode: 'SERVFAIL', ResponseFlags: '', ResponseSize: 12,
    RequestDurationSecs: 3.000000001, ErrorNumber: 1, ErrorMessage: 'no answer\nfrom "x"', Cached: true, LearnedAddresses: 0,
  },
]

function collect(): { stream: Writable; lines: string[] } {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter((l) => l !== ''))
      done()
    },
  })
  return { stream, lines }
}

test('the hand-serialised DNS line is the line pino writes for the same record', async () => {
  const byPino = collect()
  const byHand = collect()
  const a = createConnectionLog({ kind: 'stream', stream: byPino.stream })
  const b = createConnectionLog({ kind: 'stream', stream: byHand.stream })
  const sink = pinoDnsSink(a.logger)
  for (const r of RECORDS) {
    sink(r)
    b.dns(r)
  }
  await new Promise((r) => setImmediate(r))
  assert.equal(byHand.lines.length, RECORDS.length)
  const untimed = (line: string): Record<string, unknown> => {
    const o = JSON.parse(line) as Record<string, unknown>
    assert.match(String(o['time']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    o['time'] = 'T'
    return o
  }
  for (let i = 0; i < RECORDS.length; i++) {
    const p = untimed(byPino.lines[i]!)
    const h = untimed(byHand.lines[i]!)
    assert.deepEqual(Object.keys(h), Object.keys(p))
    assert.deepEqual(h, p)
  }
})

test('the DNS line follows the log level: nothing below info', async () => {
  const out = collect()
  createConnectionLog({ kind: 'stream', stream: out.stream }, 'warn').dns(RECORDS[0]!)
  await new Promise((r) => setImmediate(r))
  assert.deepEqual(out.lines, [])
})
