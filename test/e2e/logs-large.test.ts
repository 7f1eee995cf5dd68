// `aks-egress logs` streams: a log file several times larger than the heap it is allowed is read
// to the end with the right counts. The child runs with a capped V8 heap, and reports its peak
// resident set size; buffering a file (or its rows) would exceed both.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, openSync, rmSync, statSync, writeSync, closeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'

const ROOT = new URL('../../', import.meta.url).pathname
const HEAP_MB = 64
const RSS_LIMIT_MB = 200

function writeBig(path: string, targetBytes: number, asArray: boolean): number {
  const fd = openSync(path, 'w')
  let bytes = 0
  let rows = 0
  const hosts = ['mcr.microsoft.com', 'myaks-dns-1.hcp.westeurope.azmk8s.io', 'api.example.org', 'packages.microsoft.com']
  try {
    if (asArray) bytes += writeSync(fd, '[\n')
    while (bytes < targetBytes) {
      let chunk = ''
      for (let i = 0; i < 2000; i++, rows++) {
        const host = hosts[rows % hosts.length]!
        const row = {
          TimeGenerated: `2026-11-29T08:${String(rows % 60).padStart(2, '0')}:00Z`,
          Protocol: 'HTTPS',
          SourceIp: `10.240.${(rows >> 8) & 255}.${rows & 255}`,
          SourcePort: 30000 + (rows % 30000),
          DestinationPort: 443,
          Fqdn: host,
          Action: host === 'mcr.microsoft.com' ? 'Allow' : 'Deny',
          RuleCollectionGroup: '',
          RuleCollection: '',
          Rule: '',
          ActionReason: 'Default Action',
          Type: 'AZFWApplicationRule',
        }
        chunk += (asArray && rows > 0 ? ',\n' : '') + JSON.stringify(row) + (asArray ? '' : '\n')
      }
      bytes += writeSync(fd, chunk)
    }
    if (asArray) writeSync(fd, '\n]\n')
  } finally {
    closeSync(fd)
  }
  return rows
}

function runChild(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const script = `
    const { main } = await import(${JSON.stringify(new URL('src/cli/main.ts', `file://${ROOT}`).href)})
    let out = ''
    const code = await main(${JSON.stringify(args)}, { stdout: { write: (t) => { out += t } }, stderr: process.stderr, stdin: process.stdin, cwd: process.cwd() })
    process.stdout.write(out)
    process.stderr.write('MAXRSS_KB=' + process.resourceUsage().maxRSS + '\\n')
    process.exitCode = code
  `
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`--max-old-space-size=${HEAP_MB}`, '--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', reject)
    child.on('close', (code) => {
      resolve({ code, stdout, stderr })
    })
  })
}

test(`logs reads >200 MB of JSON lines and a JSON array with a ${HEAP_MB} MB heap`, { timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aks-egress-biglog-'))
  try {
    const lines = join(dir, 'big.jsonl')
    const array = join(dir, 'big.json')
    const rowsLines = writeBig(lines, 160 * 1024 * 1024, false)
    const rowsArray = writeBig(array, 64 * 1024 * 1024, true)
    const size = statSync(lines).size + statSync(array).size
    assert.ok(size > 200 * 1024 * 1024)
    const r = await runChild(['logs', lines, array, '--location', 'westeurope', '--output', 'json'])
    assert.equal(r.code, 1, r.stderr.slice(-2000))
    const json = JSON.parse(r.stdout) as { files: Array<{ records: number; invalid: number }>; summary: { records: number; denials: number }; needed: Array<{ id?: string; count: number }>; other: Array<{ target: string; count: number }> }
    assert.deepEqual(
      json.files.map((f) => [f.records, f.invalid]),
      [
        [rowsLines, 0],
        [rowsArray, 0],
      ],
    )
    const total = rowsLines + rowsArray
    assert.equal(json.summary.records, total)
    // Every fourth row is allowed (mcr); hcp, packages and example.org each take a quarter.
    const quarter = (n: number, k: number): number => Math.floor(n / 4) + (n % 4 > k ? 1 : 0)
    const hcp = quarter(rowsLines, 1) + quarter(rowsArray, 1)
    assert.equal(json.needed.find((g) => g.id === 'public.hcp')?.count, hcp)
    assert.equal(json.other.find((g) => g.target === 'api.example.org')?.count, quarter(rowsLines, 2) + quarter(rowsArray, 2))
    const rssKb = Number(/MAXRSS_KB=(\d+)/.exec(r.stderr)?.[1])
    assert.ok(rssKb > 0)
    assert.ok(rssKb < RSS_LIMIT_MB * 1024, `peak RSS ${Math.round(rssKb / 1024)} MB for ${Math.round(size / 1024 / 1024)} MB of logs`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
