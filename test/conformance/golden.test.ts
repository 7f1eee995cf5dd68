// Every exporter's output for every policy case equals its reviewed golden file. On a wanted
// change: `npm run golden:accept:export`, then review the diff of test/golden/ like code.
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { test } from 'node:test'
import { GOLDEN_DIR, goldenFiles } from './golden.ts'

const expected = goldenFiles()

for (const [path, text] of expected) {
  test(`golden ${path}`, () => {
    const file = new URL(path, GOLDEN_DIR)
    assert.ok(existsSync(file), `test/golden/${path} is missing: run npm run golden:accept:export and review it`)
    assert.equal(text, readFileSync(file, 'utf8'), `test/golden/${path} differs: run npm run golden:accept:export and review the diff`)
  })
}

test('no golden file outlives its case or target', () => {
  const found: string[] = []
  for (const dir of readdirSync(GOLDEN_DIR)) {
    if (!statSync(new URL(dir, GOLDEN_DIR)).isDirectory()) continue
    for (const f of readdirSync(new URL(`${dir}/`, GOLDEN_DIR))) found.push(`${dir}/${f}`)
  }
  assert.deepEqual(found.filter((f) => !expected.has(f)), [])
})
