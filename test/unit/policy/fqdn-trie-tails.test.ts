// The FQDN trie against the reference matcher (matchFqdnPattern), with many suffix patterns
// (`*xb.com`) on one base: the tails of a node are a backwards character trie, and a lookup must
// collect exactly the patterns that match, whatever their number and overlap.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { matchFqdnPattern, parseFqdnPattern, type FqdnPattern } from '../../../src/policy/fqdn-pattern.ts'
import { FqdnTrie } from '../../../src/policy/fqdn-trie.ts'

function pattern(text: string): FqdnPattern {
  const p = parseFqdnPattern(text)
  if (!p.ok) throw new Error(`${text}: ${p.detail}`)
  return p.pattern
}

function trieOf(texts: readonly string[]): FqdnTrie<number> {
  const trie = new FqdnTrie<number>()
  for (const [i, t] of texts.entries()) trie.insert(pattern(t), i)
  return trie
}

/** The values collected for `name`, sorted and without repeats. */
function lookup(trie: FqdnTrie<number>, name: string): number[] {
  const out: number[][] = []
  trie.collect(name, out)
  return [...new Set(out.flat())].sort((a, b) => a - b)
}

test('suffix patterns on one base: each label collects exactly the tails it ends with', () => {
  const texts = ['*b.com', '*xb.com', '*axb.com', '*ab.com', '*b.net', '*.b.com', 'b.com', '*com', '*contoso.com']
  const trie = trieOf(texts)
  assert.deepEqual(lookup(trie, 'b.com'), [0, 6, 7])
  assert.deepEqual(lookup(trie, 'xb.com'), [0, 1, 7])
  assert.deepEqual(lookup(trie, 'axb.com'), [0, 1, 2, 7])
  assert.deepEqual(lookup(trie, 'a.axb.com'), [0, 1, 2, 7])
  assert.deepEqual(lookup(trie, 'ab.com'), [0, 3, 7])
  assert.deepEqual(lookup(trie, 'a.b.com'), [0, 5, 7])
  assert.deepEqual(lookup(trie, 'bx.com'), [7])
  assert.deepEqual(lookup(trie, 'b.net'), [4])
  assert.deepEqual(lookup(trie, 'mycontoso.com'), [7, 8])
  assert.deepEqual(lookup(trie, 'contoso.com.evil.net'), [])
})

test('a thousand suffix patterns on one base still match exactly', () => {
  const texts: string[] = []
  for (let i = 0; i < 1000; i++) texts.push(`*t${i.toString(36)}.com`)
  const trie = trieOf(texts)
  assert.deepEqual(lookup(trie, 'at7.com'), [7])
  assert.deepEqual(lookup(trie, 'x.t7.com'), [7])
  // `zt11` ends with the tail `t11` (value 37), not with `t1` (value 1).
  assert.deepEqual(lookup(trie, 'zt11.com'), [37])
  assert.deepEqual(lookup(trie, 'zt1.com'), [1])
  assert.deepEqual(lookup(trie, 't.com'), [])
})

const labelArb = fc.constantFrom('a', 'b', 'ab', 'ba', 'xab', 'c', 'com', 'net', 'co')
const nameArb = fc.array(labelArb, { minLength: 1, maxLength: 4 }).map((l) => l.join('.'))
const patternArb = fc.oneof(
  nameArb,
  nameArb.map((n) => `*.${n}`),
  nameArb.map((n) => `*${n}`),
  fc.constant('*'),
)

test('property: the trie collects exactly the patterns matchFqdnPattern accepts', () => {
  fc.assert(
    fc.property(fc.array(patternArb, { minLength: 1, maxLength: 40 }), fc.array(nameArb, { minLength: 1, maxLength: 20 }), (texts, names) => {
      const trie = trieOf(texts)
      const parsed = texts.map(pattern)
      for (const name of names) {
        const expected = parsed.flatMap((p, i) => (matchFqdnPattern(p, name) ? [i] : []))
        assert.deepEqual(lookup(trie, name), expected, name)
      }
    }),
    { numRuns: 500 },
  )
})
