import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { test } from 'node:test'
import { createConnectionLog } from './connection-log.ts'
import { PolicyReloader, type CompanionFiles, type ReloadTarget } from './policy-reloader.ts'
import type { PolicyState } from './policy-state.ts'

const POLICY = 'apiVersion: aks-egress/v1\nname: reloader\nruleCollectionGroups: []\n'

/** A reload target whose reloads finish when the test says (the appliance's nft run takes a while). */
class SlowTarget implements ReloadTarget {
  readonly listeners = []
  readonly calls: string[] = []
  applied = 0
  rejected = 0
  fail = false
  #release: Array<() => void> = []
  reload(state: PolicyState): Promise<readonly string[]> {
    this.calls.push(state.policy.name)
    return new Promise((resolve, reject) => {
      this.#release.push(() => {
        if (this.fail) reject(new Error('nftables refused the new table'))
        else resolve([])
      })
    })
  }
  finishOne(): void {
    this.#release.shift()?.()
  }
  reloadApplied(): void {
    this.applied++
  }
  reloadRejected(): void {
    this.rejected++
  }
}

function setup(withFile = true): { dir: string; reloader: PolicyReloader; target: SlowTarget; lines: Array<Record<string, unknown>>; companion: { loads: number; applied: number; restored: number } } {
  const dir = mkdtempSync(join(tmpdir(), 'aks-egress-reloader-'))
  writeFileSync(join(dir, 'p.yaml'), POLICY)
  const lines: Array<Record<string, unknown>> = []
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>)
      cb()
    },
  })
  const companion = { loads: 0, applied: 0, restored: 0 }
  const companions: CompanionFiles = {
    load: () => {
      companion.loads++
      return {
        ok: true,
        summary: { hosts: { file: 'hosts', names: 1 } },
        apply: () => {
          companion.applied++
          return () => {
            companion.restored++
          }
        },
      }
    },
  }
  const target = new SlowTarget()
  const reloader = new PolicyReloader({
    server: target,
    file: withFile ? { path: join(dir, 'p.yaml'), label: 'p.yaml' } : null,
    log: createConnectionLog({ kind: 'stream', stream: sink }),
    stderr: { write: () => true },
    debounceMs: 10,
    companions,
  })
  return { dir, reloader, target, lines, companion }
}

const until = async (cond: () => boolean): Promise<void> => {
  const end = Date.now() + 5000
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 5))
  assert.ok(cond(), 'in time')
}

test('a SIGHUP during a file-change reload runs once after it, as SIGHUP: the companion files are read', async () => {
  const { dir, reloader, target, lines, companion } = setup()
  try {
    const first = reloader.reload('file-change')
    await until(() => target.calls.length === 1)
    void reloader.reload('SIGHUP')
    void reloader.reload('file-change') // a later file change does not turn the queued SIGHUP back into one
    target.finishOne()
    await first
    await until(() => target.calls.length === 2)
    target.finishOne()
    await until(() => lines.filter((l) => l['event'] === 'reload').length === 2)
    const reloads = lines.filter((l) => l['event'] === 'reload')
    assert.deepEqual(reloads.map((l) => [l['trigger'], l['result']]), [['file-change', 'ok'], ['SIGHUP', 'ok']])
    assert.deepEqual(reloads[1]!['hosts'], { file: 'hosts', names: 1 })
    assert.equal(companion.loads, 1, 'read once, by the SIGHUP reload only')
    assert.equal(target.calls.length, 2)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('the companion files are in force before the policy is put in force, and put back when the target refuses it', async () => {
  const { dir, reloader, target, lines, companion } = setup()
  try {
    target.fail = true
    const r = reloader.reload('SIGHUP')
    await until(() => target.calls.length === 1)
    assert.equal(companion.applied, 1, 'applied before the target reloads (its DNAT names resolve by them)')
    target.finishOne()
    assert.deepEqual(await r, { result: 'rejected', errors: 1 })
    assert.equal(companion.restored, 1)
    assert.equal(target.rejected, 1)
    assert.equal(lines.find((l) => l['event'] === 'reload')?.['result'], 'rejected')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('no policy file (a profile\'s default policy): SIGHUP reads the companion files alone', async () => {
  const { dir, reloader, target, lines, companion } = setup(false)
  try {
    reloader.watch()
    assert.deepEqual(await reloader.reload('SIGHUP'), { result: 'ok', warnings: [] })
    assert.equal(target.calls.length, 0, 'the policy in force is not reloaded')
    assert.equal(companion.applied, 1)
    assert.equal(target.applied, 1, 'counted as a reload put in force')
    const line = lines.find((l) => l['event'] === 'reload')
    assert.deepEqual([line?.['result'], line?.['note'], line?.['hosts']], ['ok', 'no policy file; the profile default policy stays', { file: 'hosts', names: 1 }])
    reloader.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
