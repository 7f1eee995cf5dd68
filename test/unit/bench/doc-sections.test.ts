// docs/benchmarks.md: a suite's results replace only the text between its own markers, so suites
// re-run independently never clobber each other or the hand-written text around them.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { spliceSection } from '../../../bench/doc-sections.ts'

const doc = [
  '# Benchmarks',
  'intro',
  '<!-- bench:engine:start -->',
  'old engine',
  '<!-- bench:engine:end -->',
  'hand-written analysis',
  '<!-- bench:proxy:start -->',
  'old proxy',
  '<!-- bench:proxy:end -->',
  '',
].join('\n')

test('replaces only the named suite between its markers', () => {
  const out = spliceSection(doc, 'engine', '\nnew engine\n')
  assert.equal(out, doc.replace('old engine', 'new engine'))
})

test('a suite without markers is appended with its markers', () => {
  const out = spliceSection('# Benchmarks\n', 'dns', 'dns results')
  assert.equal(out, '# Benchmarks\n\n<!-- bench:dns:start -->\ndns results\n<!-- bench:dns:end -->\n')
})

test('unbalanced or repeated markers are refused, not guessed', () => {
  assert.throws(() => spliceSection('<!-- bench:engine:start -->\nx\n', 'engine', 'y'), /unbalanced/)
  assert.throws(() => spliceSection('<!-- bench:engine:end -->\n<!-- bench:engine:start -->\n', 'engine', 'y'), /unbalanced/)
  assert.throws(() => spliceSection(`${doc}<!-- bench:engine:start -->\n`, 'engine', 'y'), /unbalanced/)
})
