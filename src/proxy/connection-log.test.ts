import assert from 'node:assert/strict'
import { closeSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { createConnectionLog, LOG_FLUSH_MS, LOG_MAX_BUFFERED_BYTES } from './connection-log.ts'
import { openLogFile } from './open-log-file.ts'

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

function lines(path: string): string[] {
  try {
    return readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0)
  } catch {
    return []
  }
}

test('a file log: lines below the buffer size are written about LOG_FLUSH_MS after they came, again after a quiet time, and at flush()', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aks-egress-log-'))
  const path = join(dir, 'proxy.log')
  const opened = openLogFile(path)
  assert.ok(opened.ok)
  const log = createConnectionLog({ kind: 'file', fd: opened.fd, path })
  try {
    log.logger.info({ event: 'one' }, 'one')
    log.logger.info({ event: 'two' }, 'two')
    assert.deepEqual(lines(path), [])
    await sleep(LOG_FLUSH_MS * 4)
    assert.deepEqual(lines(path).map((l) => (JSON.parse(l) as { event: string }).event), ['one', 'two'])
    // Quiet, then one more line: the flush is armed again.
    await sleep(LOG_FLUSH_MS * 2)
    log.logger.info({ event: 'three' }, 'three')
    await sleep(LOG_FLUSH_MS * 4)
    assert.equal(lines(path).length, 3)
    log.logger.info({ event: 'four' }, 'four')
    await log.flush()
    assert.equal(lines(path).length, 4)
  } finally {
    await log.flush()
    rmSync(dir, { recursive: true, force: true })
  }
})

test('reopen (logrotate create mode): the lines before stay in the renamed file, the next go to a new file at the path; none lost, doubled or reordered', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aks-egress-log-'))
  const path = join(dir, 'proxy.log')
  const opened = openLogFile(path)
  assert.ok(opened.ok)
  const log = createConnectionLog({ kind: 'file', fd: opened.fd, path })
  const numbers = (p: string): number[] => lines(p).map((l) => (JSON.parse(l) as { n: number }).n)
  try {
    for (let n = 0; n < 500; n++) log.logger.info({ n }, 'line')
    // Some of them written already, the rest buffered (LOG_BUFFER_BYTES batches).
    await sleep(LOG_FLUSH_MS * 3)
    for (let n = 500; n < 520; n++) log.logger.info({ n }, 'line')
    renameSync(path, `${path}.1`)
    assert.deepEqual(log.reopen(), { ok: true })
    for (let n = 520; n < 1000; n++) log.logger.info({ n }, 'line')
    await log.flush()
    const before = numbers(`${path}.1`)
    const after = numbers(path)
    // Where the cut falls depends on the write in flight at the reopen (it ends in the old file);
    // what must hold: the lines written before it are in the old file, most after it in the new
    // one, and together they are every line once, in order.
    assert.ok(before.length >= 500, `the lines written before the rotation stay in the renamed file (${before.length})`)
    assert.ok(after.length >= 400, `the lines after it are in the new file (${after.length})`)
    assert.deepEqual([...before, ...after], Array.from({ length: 1000 }, (_, i) => i))
    assert.equal(statSync(path).mode & 0o777, 0o640)
    // Rotated again: a second reopen works the same way.
    renameSync(path, `${path}.2`)
    assert.deepEqual(log.reopen(), { ok: true })
    log.logger.info({ n: 1000 }, 'line')
    await log.flush()
    assert.deepEqual(numbers(path), [1000])
    assert.equal(log.writeErrors, 0)
  } finally {
    await log.flush()
    rmSync(dir, { recursive: true, force: true })
  }
})

test('reopen of a path that cannot be opened: said at once, and the lines go on to the file open before', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aks-egress-log-'))
  const path = join(dir, 'logs', 'proxy.log')
  const opened = openLogFile(path)
  assert.ok(opened.ok)
  const log = createConnectionLog({ kind: 'file', fd: opened.fd, path })
  try {
    log.logger.info({ n: 1 }, 'line')
    // The directory becomes a file: the path cannot be opened again.
    renameSync(join(dir, 'logs'), join(dir, 'kept'))
    writeFileSync(join(dir, 'logs'), 'not a directory')
    const r = log.reopen()
    assert.deepEqual(r, { ok: false, detail: `${join(dir, 'logs')} is not a directory` })
    log.logger.info({ n: 2 }, 'line')
    await log.flush()
    assert.deepEqual(lines(join(dir, 'kept', 'proxy.log')).map((l) => (JSON.parse(l) as { n: number }).n), [1, 2])
    assert.equal(log.writeErrors, 0)
  } finally {
    await log.flush()
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a destination that fails (/dev/full): told once, writes counted and tried again, lines kept up to LOG_MAX_BUFFERED_BYTES then dropped, flush() bounded', async () => {
  const opened = openLogFile('/dev/full')
  assert.ok(opened.ok)
  const told: string[] = []
  // The descriptor stays open: the log keeps trying to write to it (as serve's does until exit),
  // and a closed number reused by another open would receive those bytes.
  const log = createConnectionLog({ kind: 'file', fd: opened.fd, path: '/dev/full' }, 'info', (e, name) => told.push(`${name}: ${e.message}`))
  {
    log.logger.info({ event: 'one' }, 'one')
    await sleep(LOG_FLUSH_MS * 4)
    assert.deepEqual(told, ['/dev/full: ENOSPC: no space left on device, write'])
    const first = log.writeErrors
    assert.ok(first >= 1)
    // The kept batch is written again at each flush while bytes wait.
    await sleep(LOG_FLUSH_MS * 4)
    assert.ok(log.writeErrors > first)
    assert.equal(told.length, 1)
    const line = 'x'.repeat(1000)
    for (let i = 0; i < (LOG_MAX_BUFFERED_BYTES / 1000) * 1.25 && log.droppedLines === 0; i++) log.logger.info({ event: 'fill', line }, 'fill')
    assert.ok(log.droppedLines > 0, 'lines beyond the bound are dropped')
    const t0 = Date.now()
    await log.flush(300)
    assert.ok(Date.now() - t0 < 2000)
  }
})

test('openLogFile: makes missing directories, creates the file 0640, appends; refuses a path under a file and a directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aks-egress-log-'))
  try {
    const path = join(dir, 'a', 'b', 'proxy.log')
    writeFileSync(join(dir, 'file'), '')
    for (const text of ['one\n', 'two\n']) {
      const r = openLogFile(path)
      assert.ok(r.ok)
      writeSync(r.fd, text)
      closeSync(r.fd)
    }
    assert.equal(readFileSync(path, 'utf8'), 'one\ntwo\n')
    assert.equal(statSync(path).mode & 0o777, 0o640)
    assert.deepEqual(openLogFile(join(dir, 'file', 'x.log')), { ok: false, detail: `${join(dir, 'file')} is not a directory` })
    const d = openLogFile(dir)
    // The caller names the path (`--log PATH: ...`): the detail is the reason alone.
    assert.deepEqual(d, { ok: false, detail: 'EISDIR: illegal operation on a directory' })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
