/**
 * The diagnostic fixtures (test/fixtures/diagnostics/README.md): each renders exactly its
 * expected text (and, for the command line, exits with its expected code), each produces the code
 * it is named after, and every registered code has one. This test only reads the fixtures;
 * `npm run golden:accept` rewrites the expected files.
 */
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { test } from 'node:test'
import { DIAGNOSTIC_CODES } from '../../../src/diagnostics/codes.ts'
import { expectedExitPath, expectedTextPath, FIXTURE_DIR, listFixtures, runFixture, type Fixture } from './diagnostic-fixtures.ts'

const fixtures = listFixtures()
const ACCEPT = 'if the new output is right, run "npm run golden:accept" and review the diff'

function readExpected(path: string, f: Fixture): string {
  if (!existsSync(path)) assert.fail(`${f.name}: ${path} is missing; ${ACCEPT}`)
  return readFileSync(path, 'utf8')
}

for (const f of fixtures) {
  test(`${f.input} renders exactly ${f.name}.expected.txt and reports ${f.code}`, async () => {
    const out = await runFixture(f)
    assert.ok(out.codes.includes(f.code), `${f.name} reports ${out.codes.join(', ') || 'nothing'}, not ${f.code}`)
    assert.equal(out.text, readExpected(expectedTextPath(f), f))
    if (f.kind === 'cli') {
      const exit = readExpected(expectedExitPath(f), f).split('\n')[0]
      assert.equal(String(out.exitCode), exit, `${f.name}: exit code`)
    }
  })
}

test('every registered code has at least one fixture', () => {
  const covered = new Set(fixtures.map((f) => f.code))
  assert.deepEqual(
    Object.keys(DIAGNOSTIC_CODES).filter((c) => !covered.has(c)),
    [],
  )
})

test('every fixture is named after a registered code', () => {
  assert.deepEqual(
    fixtures.filter((f) => !(f.code in DIAGNOSTIC_CODES)).map((f) => f.input),
    [],
  )
})

test('the profile codes have a fixture in a policy file and one on the command line', () => {
  for (const code of ['CLOUD_UNKNOWN', 'REGION_UNKNOWN', 'CATALOG_UNKNOWN', 'FEATURE_UNKNOWN']) {
    const kinds = new Set(fixtures.filter((f) => f.code === code).map((f) => f.kind))
    assert.deepEqual([...kinds].sort(), ['cli', 'policy'], code)
  }
})

test('every expected file belongs to a fixture', () => {
  const names = new Set(fixtures.map((f) => f.name))
  const kinds = new Map(fixtures.map((f) => [f.name, f.kind]))
  const orphans = readdirSync(FIXTURE_DIR).filter((file) => {
    if (file.endsWith('.expected.txt')) return !names.has(file.slice(0, -'.expected.txt'.length))
    if (file.endsWith('.exit')) return kinds.get(file.slice(0, -'.exit'.length)) !== 'cli'
    return false
  })
  assert.deepEqual(orphans, [])
})
