// Rewrites the exporters' golden files (test/golden/<case>/<target>.*) from the current code:
// `npm run golden:accept:export`. Review the diff before committing it.
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { GOLDEN_DIR, goldenFiles } from '../test/conformance/golden.ts'

const files = goldenFiles()
const cases = new Set([...files.keys()].map((p) => p.split('/')[0] ?? ''))
mkdirSync(GOLDEN_DIR, { recursive: true })
for (const dir of readdirSync(GOLDEN_DIR)) {
  // Only the exporters' case folders are ours: other golden files in test/golden are left alone.
  if (cases.has(dir) && statSync(new URL(dir, GOLDEN_DIR)).isDirectory()) rmSync(new URL(dir, GOLDEN_DIR), { recursive: true })
}
for (const [path, text] of files) {
  const file = new URL(path, GOLDEN_DIR)
  mkdirSync(new URL('.', file), { recursive: true })
  writeFileSync(file, text)
}
console.log(`wrote ${files.size} golden files for ${cases.size} cases under test/golden/`)
