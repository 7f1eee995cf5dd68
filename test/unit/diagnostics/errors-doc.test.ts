// docs/errors.md has one "## CODE" heading per code of the registry, and no other (fastify's
// errors test, both directions): a code cannot ship undocumented, a doc cannot outlive its code.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { DIAGNOSTIC_CODES } from '../../../src/diagnostics/codes.ts'

const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8')
const headings = [...doc.matchAll(/^## ([A-Z0-9_]+)\s*$/gm)].map((m) => m[1])

test('every registered code has a heading in docs/errors.md', () => {
  const missing = Object.keys(DIAGNOSTIC_CODES).filter((c) => !headings.includes(c))
  assert.deepEqual(missing, [])
})

test('docs/errors.md documents no code the registry lacks, and none twice', () => {
  const extra = headings.filter((h) => h !== undefined && !(h in DIAGNOSTIC_CODES))
  assert.deepEqual(extra, [])
  assert.equal(new Set(headings).size, headings.length)
})

test('warnings are marked as warnings in the doc', () => {
  for (const [code, info] of Object.entries(DIAGNOSTIC_CODES)) {
    const section = doc.split(`## ${code}\n`)[1]?.split('\n## ')[0] ?? ''
    assert.equal(section.trimStart().startsWith('(warning)'), info.severity === 'warning', code)
  }
})
