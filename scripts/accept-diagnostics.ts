/**
 * `npm run golden:accept [-- NAME...]`: rewrites the expected files of the diagnostic fixtures
 * (test/fixtures/diagnostics) from the current output, like TypeScript's baseline accept, and
 * removes expected files whose fixture is gone. Review the result with `git diff` before
 * committing: a changed message is a change users see. The test never writes; this script does.
 */
import { existsSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs'
import { expectedExitPath, expectedTextPath, FIXTURE_DIR, listFixtures, runFixture } from '../test/unit/diagnostics/diagnostic-fixtures.ts'

const only = process.argv.slice(2)
const fixtures = listFixtures()
const unknown = only.filter((name) => !fixtures.some((f) => f.name === name))
if (unknown.length > 0) {
  console.error(`no fixture named ${unknown.join(', ')} (give names without extension: REGION_UNKNOWN.cli)`)
  process.exit(2)
}
const changed: string[] = []

function update(path: string, text: string): void {
  if (existsSync(path) && readFileSync(path, 'utf8') === text) return
  writeFileSync(path, text)
  changed.push(path.slice(FIXTURE_DIR.length))
}

for (const f of fixtures) {
  if (only.length > 0 && !only.includes(f.name)) continue
  const out = await runFixture(f)
  update(expectedTextPath(f), out.text)
  if (out.exitCode !== undefined) update(expectedExitPath(f), `${out.exitCode}\n`)
}

const removed: string[] = []
if (only.length === 0) {
  const kinds = new Map(fixtures.map((f) => [f.name, f.kind]))
  for (const file of readdirSync(FIXTURE_DIR)) {
    const orphan =
      (file.endsWith('.expected.txt') && !kinds.has(file.slice(0, -'.expected.txt'.length))) ||
      (file.endsWith('.exit') && kinds.get(file.slice(0, -'.exit'.length)) !== 'cli')
    if (orphan) {
      unlinkSync(`${FIXTURE_DIR}${file}`)
      removed.push(file)
    }
  }
}

for (const file of changed) console.log(`wrote   ${file}`)
for (const file of removed) console.log(`removed ${file}`)
console.log(`${changed.length} written, ${removed.length} removed; review with: git diff -- test/fixtures/diagnostics`)
