// `aks-egress logs` on the log of `serve --transparent` itself: decision lines are connections, DNS
// query lines (AZFWDnsQuery fields, event "dns") are DNS records, and process events (start,
// nftables-applied, reload, close, ...) are skipped, not reported as unreadable.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { runCli } from '../../helpers/run-cli.ts'

const LINES = [
  { level: 'info', time: '2026-11-30T00:59:09.742Z', event: 'nftables-applied', table: 'inet aks_egress', rules: 74, sets: 3, notes: [], msg: 'nftables table applied' },
  { level: 'info', time: '2026-11-30T00:59:09.747Z', event: 'start', policy: 'policy.yaml', mode: 'enforce', listeners: [], msg: 'serving' },
  {
    level: 'info', time: '2026-11-30T00:59:09.825Z', event: 'dns', SourceIp: '10.240.0.4', SourcePort: 60600, QueryId: 46153, QueryType: 'A', QueryClass: 'IN',
    QueryName: 'mcr.microsoft.com', Protocol: 'udp', RequestSize: 58, DnssecOkBit: false, EDNS0BufferSize: 1232, ResponseCode: 'SERVFAIL', ResponseFlags: 'qr,rd,ra',
    ResponseSize: 58, RequestDurationSecs: 3.001, ErrorNumber: 1, ErrorMessage: 'no answer from 168.63.129.16:53 over UDP within 3000 ms', Cached: false, LearnedAddresses: 0, msg: 'dns',
  },
  {
    level: 'info', time: '2026-11-30T00:59:09.868Z', event: 'decision', conn: 1, listener: 'tls:443', explicit: false, srcIp: '10.240.0.4', srcPort: 40934, protocol: 'https',
    host: 'mcr.microsoft.com', port: 443, sni: 'mcr.microsoft.com', action: 'deny', rule: null, code: 'DEFAULT_DENY', reason: 'No rule matched. Proceeding with default action', wouldDeny: false, msg: 'deny',
  },
  { level: 'info', time: '2026-11-30T00:59:09.883Z', event: 'close', conn: 1, bytesUp: 725, bytesDown: 1677, durationMs: 23.13, msg: 'close' },
  { level: 'info', time: '2026-11-30T01:00:00.000Z', event: 'reload', trigger: 'SIGHUP', result: 'ok', msg: 'policy reloaded' },
]

test('the appliance log: a decision and a DNS query read, events skipped', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aks-egress-applog-'))
  try {
    writeFileSync(join(dir, 'serve.log'), `${LINES.map((l) => JSON.stringify(l)).join('\n')}\n`)
    const r = await runCli(['logs', 'serve.log', '--location', 'westeurope', '--output', 'json'], { cwd: dir })
    assert.equal(r.stderr, '')
    const json = JSON.parse(r.stdout) as { files: Array<{ records: number; invalid: number }>; dnsFailures: unknown[]; summary: { denials: number; bySource: Record<string, number> } }
    assert.deepEqual(json.files.map((f) => [f.records, f.invalid]), [[2, 0]])
    assert.equal(json.summary.denials, 1)
    assert.deepEqual(json.summary.bySource, { 'aks-egress': 1, AZFWDnsQuery: 1 })
    assert.deepEqual(json.dnsFailures, [{ name: 'mcr.microsoft.com', code: 'SERVFAIL', count: 1 }])
    assert.equal(r.code, 1)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
