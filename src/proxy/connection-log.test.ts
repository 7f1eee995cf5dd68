import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { createConnectionLog, LOG_FLUSH_MS } from './connection-log.ts'

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
  const log = createConnectionLog({ kind: 'file', path })
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
    log.flush()
    assert.equal(lines(path).length, 4)
  } finally {
    log.flush()
    rmSync(dir, { recursive: true, force: true })
  }
})
