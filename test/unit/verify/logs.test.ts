// `aks-egress logs`: every Azure Firewall log shape (resource-specific JSON and CSV, legacy msg
// lines, storage records) and the aks-egress decision log, mapped to the catalog.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { stringify } from 'yaml'
import { loadPolicyText } from '../../../src/config/load-policy.ts'
import { parseAzureMessage } from '../../../src/verify/azure-firewall-log.ts'
import { CsvSplitter, detectLogFormat, JsonArraySplitter } from '../../../src/verify/log-reader.ts'
import { parseOwnDecision } from '../../../src/verify/own-decision-log.ts'
import { runCli } from '../../helpers/run-cli.ts'

interface Group {
  id?: string
  target: string
  protocol: string
  category: string
  matchedBy: string
  count: number
  wouldDeny: number
  names: string[]
  rules: string[]
  withPolicy?: string
}
interface LogsJson {
  files: Array<{ file: string; format: string; records: number; invalid: number }>
  summary: { records: number; denials: number; sniMissing: number; bySource: Record<string, number> }
  needed: Group[]
  addons: Group[]
  other: Group[]
  dnsFailures: Array<{ name: string; code: string; count: number }>
  fix: unknown
}

async function logs(args: string[]): Promise<{ code: number; json: LogsJson; stderr: string }> {
  const r = await runCli(['logs', ...args, '--output', 'json'], { cwd: new URL('../../fixtures/logs/', import.meta.url).pathname })
  return { code: r.code, json: JSON.parse(r.stdout) as LogsJson, stderr: r.stderr }
}

test('legacy msg shapes parse: policy-based, classic, default action, missing SNI, URL, network, threat intel, DNS, DNAT', () => {
  assert.deepEqual(parseAzureMessage('HTTPS request from 10.13.1.4:55583 to winatp-gw-cus3.microsoft.com:443. Action: Deny. Policy: my-policy. Rule Collection Group: DefaultApplicationRuleCollectionGroup. Rule Collection: block-sites. Rule: block-microsoft'), {
    source: 'AzureDiagnostics',
    kind: 'application',
    protocol: 'HTTPS',
    action: 'deny',
    sourceIp: '10.13.1.4',
    sourcePort: 55583,
    host: 'winatp-gw-cus3.microsoft.com',
    destinationPort: 443,
    rule: 'DefaultApplicationRuleCollectionGroup/block-sites/block-microsoft',
    reason: 'Policy: my-policy',
  })
  const noMatch = parseAzureMessage('HTTPS request from 10.1.0.5:55640 to v10.vortex-win.data.microsoft.com:443. Action: Deny. No rule matched. Proceeding with default action')
  assert.equal(noMatch?.reason, 'No rule matched. Proceeding with default action')
  assert.equal(noMatch.rule, undefined)
  const sni = parseAzureMessage('HTTPS request from 10.1.0.5:55640. Action: Deny. Reason: SNI TLS extension was missing.')
  assert.equal(sni?.sniMissing, true)
  assert.equal(sni.host, undefined)
  const url = parseAzureMessage('HTTP request from 10.0.0.4:5000 to security.ubuntu.com:80. Url: security.ubuntu.com/ubuntu. Action: Allow. Rule Collection: c1. Rule: r1')
  assert.deepEqual([url?.host, url?.destinationPort, url?.action, url?.rule], ['security.ubuntu.com', 80, 'allow', 'c1/r1'])
  const net = parseAzureMessage('TCP request from 111.35.136.173:12518 to 13.78.143.217:2323. Action: Deny')
  assert.deepEqual([net?.kind, net?.destinationIp, net?.destinationPort, net?.action], ['network', '13.78.143.217', 2323, 'deny'])
  assert.equal(parseAzureMessage('HTTP request from 10.0.0.5:54074 to bad.example:80. Action: Alert. ThreatIntel: Bot Networks')?.kind, 'threat')
  assert.deepEqual(parseAzureMessage('DNS Request: 11.5.0.7:48197 \u2013 15676 AAA IN md-l1l1pg5lcmkq.blob.core.windows.net. udp 55 false 512 NOERROR - 0 2.000301956s')?.dns, {
    name: 'md-l1l1pg5lcmkq.blob.core.windows.net',
    type: 'AAA',
    responseCode: 'NOERROR',
  })
  assert.equal(parseAzureMessage("TCP request from 203.0.113.7:61000 to 20.73.112.19:80 was DNAT'ed to 10.42.1.250:80")?.kind, 'nat')
  assert.equal(parseAzureMessage('something else entirely'), undefined)
})

test('the decision log parser reads decision lines and skips close lines', () => {
  const r = parseOwnDecision({ event: 'decision', srcIp: '10.0.0.4', srcPort: 1, protocol: 'https', host: 'a.example', port: 443, sni: 'a.example', action: 'allow', rule: null, code: 'DEFAULT_DENY', reason: 'x', wouldDeny: true })
  assert.deepEqual(r, { source: 'aks-egress', kind: 'application', protocol: 'HTTPS', action: 'allow', wouldDeny: true, sourceIp: '10.0.0.4', sourcePort: 1, host: 'a.example', destinationPort: 443, reason: 'DEFAULT_DENY' })
  assert.equal(parseOwnDecision({ event: 'close', conn: 1 }), undefined)
})

test('format detection and the splitters: arrays and records documents, quoted CSV across chunks', () => {
  assert.equal(detectLogFormat('\uFEFF[\n {"a":1}'), 'json-array')
  assert.equal(detectLogFormat('{"records": [\n'), 'json-array')
  assert.equal(detectLogFormat('{"a":1}\n{"a":2}\n'), 'json-lines')
  assert.equal(detectLogFormat('"TimeGenerated [UTC]",msg_s\r\n'), 'csv')
  assert.equal(detectLogFormat('HTTPS request from 10.0.0.1:1 to a:443. Action: Deny\n'), 'msg-lines')
  assert.equal(detectLogFormat('hello world\n'), undefined)

  const s = new JsonArraySplitter()
  const text = '{"records": [{"a": "x]}[{"}, {"b": [1, {"c": 2}]}, 3, {"d": "\\""}]}'
  const out: string[] = []
  // One character at a time: elements spanning chunks are reassembled.
  for (const ch of text) for (const item of s.push(ch)) if ('text' in item) out.push(item.text)
  assert.deepEqual(out.map((t) => JSON.parse(t) as unknown), [{ a: 'x]}[{' }, { b: [1, { c: 2 }] }, { d: '"' }])

  const csv = new CsvSplitter()
  const rows: string[][] = []
  const data = 'a,b,c\r\n1,"two, with ""quotes""","multi\nline"\r\n\r\n4,5,6'
  for (const part of [data.slice(0, 17), data.slice(17, 18), data.slice(18)]) for (const item of csv.push(part)) if ('fields' in item) rows.push(item.fields)
  for (const item of csv.end()) if ('fields' in item) rows.push(item.fields)
  assert.deepEqual(rows, [
    ['a', 'b', 'c'],
    ['1', 'two, with "quotes"', 'multi\nline'],
    ['4', '5', '6'],
  ])
})

test('every log shape at once: needs grouped by catalog entry, add-ons named, others listed, exit 1', async () => {
  const { code, json, stderr } = await logs(['azfw-application.json', 'azfw-network.csv', 'azure-diagnostics.jsonl', 'storage-records.json', 'decisions.jsonl', 'azfw-dns.jsonl', '--location', 'westeurope'])
  assert.equal(code, 1)
  assert.deepEqual(
    json.files.map((f) => [f.file, f.format, f.records, f.invalid]),
    [
      ['azfw-application.json', 'json-array', 9, 0],
      ['azfw-network.csv', 'csv', 5, 0],
      ['azure-diagnostics.jsonl', 'json-lines', 12, 1],
      ['storage-records.json', 'json-array', 3, 0],
      ['decisions.jsonl', 'json-lines', 4, 0],
      ['azfw-dns.jsonl', 'json-lines', 2, 0],
    ],
  )
  assert.match(stderr, /warning LOG_RECORD_INVALID: 1 record of "azure-diagnostics\.jsonl" could not be read \(json-lines\): azure-diagnostics\.jsonl:13: not JSON/)
  const needed = Object.fromEntries(json.needed.map((g) => [`${g.id ?? ''} ${g.protocol}`, g]))
  assert.equal(needed['public.hcp https:443']?.count, 2)
  assert.deepEqual(needed['public.hcp https:443'].names, ['myaks-dns-4f3c2b1a.hcp.westeurope.azmk8s.io'])
  assert.equal(needed['public.network.tunnel-udp-1194 udp:1194']?.matchedBy, 'port')
  assert.equal(needed['public.network.tunnel-udp-1194 udp:1194'].count, 2)
  assert.equal(needed['public.network.ntp udp:123']?.count, 2)
  assert.deepEqual(needed['public.packages https:443']?.rules, ['corp-blocklist/block-package-mirrors/no-public-packages'])
  assert.equal(needed['public.management https:443']?.wouldDeny, 1)
  assert.equal(needed['ubuntu-updates.changelogs http:80']?.category, 'recommended')
  assert.deepEqual(json.addons.map((g) => `${g.category} ${g.target}`).sort(), ['gpu nvidia.github.io', 'gpu us.download.nvidia.com', 'monitoring dc.services.visualstudio.com'])
  assert.deepEqual(json.other.map((g) => g.target).sort(), ['52.168.10.20', 'api.example.org', 'ghcr.io'])
  assert.equal(json.summary.sniMissing, 3)
  assert.deepEqual(json.dnsFailures, [
    { name: 'mcr.microsoft.com', code: 'SERVFAIL', count: 1 },
    { name: 'packages.aks.azure.com', code: 'SERVFAIL', count: 1 },
  ])
  // The fragment is a policy aks-egress accepts, with a rule per needed entry.
  const loaded = loadPolicyText(stringify(json.fix), 'fix.yaml')
  assert.deepEqual(loaded.diagnostics, [])
  const names = loaded.policy?.ruleCollectionGroups.flatMap((g) => g.ruleCollections.flatMap((c) => c.rules.map((r) => r.name))) ?? []
  assert.deepEqual(names.sort(), [
    'public.acs-mirror',
    'public.hcp',
    'public.login',
    'public.management',
    'public.network.ntp',
    'public.network.tunnel-tcp-9000',
    'public.network.tunnel-udp-1194',
    'public.packages',
    'ubuntu-updates.changelogs',
  ])
})

test('with the add-on in the profile, its denials are needs; without a location, <location> matches any region label', async () => {
  const { json } = await logs(['azfw-application.json', '--features', 'gpu'])
  assert.deepEqual(json.addons, [])
  assert.ok(json.needed.some((g) => g.id === 'gpu.nvidia-github' || g.target === 'nvidia.github.io'))
  assert.equal(json.needed.find((g) => g.id === 'public.hcp')?.target, '*.hcp.<location>.azmk8s.io')
})

test('--policy says whether a policy would allow each denial; a clean log exits 0', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aks-egress-logs-'))
  try {
    const init = await runCli(['policy', 'init', '--location', 'westeurope', '--out', join(dir, 'policy.yaml')])
    assert.equal(init.code, 0, init.stderr)
    const r = await runCli(['logs', join(new URL('../../fixtures/logs/', import.meta.url).pathname, 'azfw-application.json'), '--policy', 'policy.yaml', '--output', 'json'], { cwd: dir })
    const json = JSON.parse(r.stdout) as LogsJson
    assert.equal(json.needed.find((g) => g.id === 'public.hcp')?.withPolicy, 'allowed by aks-required/aks-required-application/public.hcp')
    assert.equal(json.other.find((g) => g.target === 'api.example.org')?.withPolicy, 'still denied (DEFAULT_DENY)')
    writeFileSync(join(dir, 'clean.log'), 'HTTPS request from 10.240.0.4:1 to mcr.microsoft.com:443. Action: Allow. Rule Collection: a. Rule: b\n')
    const clean = await runCli(['logs', 'clean.log', '--location', 'westeurope'], { cwd: dir })
    assert.equal(clean.code, 0)
    assert.match(clean.stdout, /No denial of an endpoint the profile needs\./)
    writeFileSync(join(dir, 'junk.txt'), 'nothing to see\n')
    const junk = await runCli(['logs', 'junk.txt'], { cwd: dir })
    assert.equal(junk.code, 2)
    assert.match(junk.stderr, /junk\.txt - error LOG_FORMAT_UNKNOWN: "junk\.txt" is not a log aks-egress reads/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('the table output groups and explains', async () => {
  const r = await runCli(['logs', 'azfw-network.csv', '--location', 'westeurope'], { cwd: new URL('../../fixtures/logs/', import.meta.url).pathname })
  assert.equal(r.code, 1)
  assert.match(r.stdout, /^Needed by the cluster and denied:\nCOUNT +ENDPOINT +PORT +CATEGORY +DETAILS\n2 +AzureCloud\.westeurope +udp:1194 +required +by port; seen as 20\.61\.10\.5; default deny$/m)
  assert.match(r.stdout, /^1 +52\.168\.10\.20 +tcp:5432 +other +DefaultNetworkRuleCollectionGroup\/deny-db\/no-postgres$/m)
})

test('logs shows progress on a terminal only', async () => {
  const cwd = new URL('../../fixtures/logs/', import.meta.url).pathname
  const tty = await runCli(['logs', 'azfw-network.csv', '--location', 'westeurope'], { cwd, isTTY: true })
  assert.match(tty.stderr, /^\r\x1b\[Kreading azfw-network\.csv: 0\.0 of 0\.0 MiB, 0 records\r\x1b\[K$/)
  const piped = await runCli(['logs', 'azfw-network.csv', '--location', 'westeurope'], { cwd })
  assert.equal(piped.stderr, '')
})
