import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { missingServeFlags, NO_REEXEC_ENV, SERVE_NODE_FLAGS } from './serve-node-flags.ts'

const SUPERVISOR = new URL('../../test/support/supervisor.ts', import.meta.url).pathname

test('serve needs its flags unless given on the command line or in NODE_OPTIONS, in either spelling; other commands never', () => {
  assert.deepEqual(missingServeFlags(['serve', '--listen', ':3128'], [], {}), [...SERVE_NODE_FLAGS])
  assert.deepEqual(missingServeFlags(['serve'], ['--max_semi_space_size=16'], {}), [])
  assert.deepEqual(missingServeFlags(['serve'], [], { NODE_OPTIONS: '--enable-source-maps --max-semi-space-size=32' }), [])
  assert.deepEqual(missingServeFlags(['serve'], [], { [NO_REEXEC_ENV]: '1' }), [])
  assert.deepEqual(missingServeFlags(['explain', 'serve'], [], {}), [])
  assert.deepEqual(missingServeFlags([], [], {}), [])
})

/** Starts the supervisor; resolves with it and its child's first line. */
async function start(out: string): Promise<{ parent: ReturnType<typeof spawn>; child: { execArgv: string[]; ppid: number } }> {
  const parent = spawn(process.execPath, [...process.execArgv, SUPERVISOR, out], { stdio: ['ignore', 'pipe', 'inherit'] })
  let text = ''
  parent.stdout.setEncoding('utf8')
  while (!text.includes('\n')) {
    const [chunk] = (await once(parent.stdout, 'data')) as [string]
    text += chunk
  }
  return { parent, child: JSON.parse(text.split('\n')[0]!) as { execArgv: string[]; ppid: number } }
}

test('the child runs with the flags; a SIGTERM to the parent reaches it, and the parent leaves with its exit code', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aks-egress-reexec-'))
  const out = join(dir, 'stopped')
  const { parent, child } = await start(out)
  try {
    for (const f of SERVE_NODE_FLAGS) assert.ok(child.execArgv.includes(f), child.execArgv.join(' '))
    assert.equal(child.ppid, parent.pid)
    parent.kill('SIGTERM')
    const [code] = (await once(parent, 'exit')) as [number | null]
    assert.equal(code, 7)
    assert.equal(readFileSync(out, 'utf8'), 'SIGTERM')
  } finally {
    parent.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a parent killed outright stops its child as a SIGTERM does (no proxy left holding the ports)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aks-egress-reexec-'))
  const out = join(dir, 'stopped')
  const { parent } = await start(out)
  try {
    parent.kill('SIGKILL')
    await once(parent, 'exit')
    const until = Date.now() + 5000
    while (!existsSync(out) && Date.now() < until) await new Promise((r) => setTimeout(r, 20))
    assert.equal(readFileSync(out, 'utf8'), 'SIGTERM')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
