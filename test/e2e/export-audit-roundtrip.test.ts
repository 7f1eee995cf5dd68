// The exporters and the audit hold each other to account: a policy exported to Azure Firewall
// form (ARM, Terraform) and read back by `audit` must allow every endpoint of its profile.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { after, describe, test } from 'node:test'
import { main } from '../../src/cli/main.ts'
import type { Io } from '../../src/cli/io.ts'

const dir = mkdtempSync(join(tmpdir(), 'aks-egress-roundtrip-'))
after(() => {
  rmSync(dir, { recursive: true, force: true })
})

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  const io: Io = {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    stdin: Readable.from([]),
    cwd: dir,
  }
  const code = await main(args, io)
  return { code, stdout, stderr }
}

const PROFILES: Array<{ name: string; args: string[] }> = [
  { name: '2026-06 public with add-ons', args: ['--cloud', 'public', '--location', 'westeurope', '--api-server', '20.50.60.70', '--node-cidr', '10.240.0.0/16', '--features', 'monitoring,azure-policy,gpu,windows'] },
  { name: '2026-06 usgov', args: ['--cloud', 'usgov', '--location', 'usgovvirginia', '--api-server', '20.50.60.70', '--node-cidr', '10.240.0.0/16'] },
  { name: '2019-11 public with add-ons', args: ['--catalog', '2019-11', '--location', 'westeurope', '--api-server', '20.50.60.70', '--features', 'monitoring,gpu,windows'] },
  { name: '2019-11 china', args: ['--catalog', '2019-11', '--cloud', 'china', '--location', 'chinaeast2', '--api-server', '20.50.60.70'] },
]

for (const target of ['arm', 'terraform'] as const) {
  describe(`export ${target}, then audit`, () => {
    for (const p of PROFILES) {
      test(p.name, async () => {
        const file = `${target}-${p.name.replace(/\W+/g, '-')}.out`
        const exported = await run(['export', target, ...p.args, '--out', file])
        assert.ok(exported.code === 0, `export: ${exported.stderr}`)
        const audited = await run(['audit', file, ...p.args.filter((a, i, all) => a !== '--node-cidr' && all[i - 1] !== '--node-cidr'), '--output', 'json'])
        assert.equal(audited.code, 0, `audit found a problem:\n${audited.stdout}\n${audited.stderr}`)
        const report = JSON.parse(audited.stdout) as { summary: { allowed: number; blocked: number; partial: number; broadRules: number } }
        assert.deepEqual({ ...report.summary, allowed: report.summary.allowed > 10 }, { ...report.summary, allowed: true, blocked: 0, partial: 0, broadRules: 0 })
      })
    }
  })
}
