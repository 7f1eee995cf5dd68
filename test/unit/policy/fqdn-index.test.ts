// The engine's FQDN hash index (src/policy/fqdn-index.ts) against the reference matcher
// (matchFqdnPattern). With `hashBits` of 1 or 2 nearly every string shares its hash with others,
// so every hit goes through the comparison of characters: the answers must not change. Network
// and application patterns share the tables: each type must get its own patterns, and only them.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { APPLICATION_RULES, FqdnIndexBuilder, NETWORK_RULES, type FqdnIndex, type RuleType } from '../../../src/policy/fqdn-index.ts'
import { matchFqdnPattern, parseFqdnPattern, type FqdnPattern } from '../../../src/policy/fqdn-pattern.ts'
import { PostingsBuilder, postingsOf } from '../../../src/policy/postings.ts'
import { ScannedName } from '../../../src/policy/scanned-name.ts'

function pattern(text: string): FqdnPattern {
  const p = parseFqdnPattern(text)
  if (!p.ok) throw new Error(`${text}: ${p.detail}`)
  return p.pattern
}

interface Built {
  readonly index: FqdnIndex
  /** Per rule type. */
  readonly postings: readonly [Int32Array, Int32Array]
}

/** An index of `texts`, pattern `i` for rule `i` of type `typeOf(i)` (application by default). */
function indexOf(texts: readonly string[], hashBits?: number, typeOf: (i: number) => RuleType = () => APPLICATION_RULES, mergeBudget?: number): Built {
  const b = new FqdnIndexBuilder({ ...(hashBits === undefined ? {} : { hashBits }), ...(mergeBudget === undefined ? {} : { mergeBudget }) })
  for (const [i, t] of texts.entries()) b.add(pattern(t), i, typeOf(i))
  const network = new PostingsBuilder()
  const application = new PostingsBuilder()
  const index = b.build(network, application)
  return { index, postings: [network.finish(), application.finish()] }
}

const scan = new ScannedName()
const out = new Int32Array(512)

/** The pattern numbers of rules of `type` collected for `name`, sorted and without repeats. */
function lookup({ index, postings }: Built, name: string, type: RuleType = APPLICATION_RULES): number[] {
  assert.ok(scan.scan(name), name)
  const n = index.collect(scan, out, 0)
  assert.equal(n % 2, 0)
  const all: number[] = []
  for (let k = type; k < n; k += 2) all.push(...postingsOf(out[k]!, postings[type]))
  return [...new Set(all)].sort((a, b) => a - b)
}

for (const hashBits of [undefined, 1, 2]) {
  const where = hashBits === undefined ? 'full hashes' : `${hashBits}-bit hashes (every hit confirmed)`

  test(`${where}: exact, subdomain and suffix patterns on one base collect exactly what matches`, () => {
    const texts = ['*b.com', '*xb.com', '*axb.com', '*ab.com', '*b.net', '*.b.com', 'b.com', '*com', '*contoso.com', 'a.b.com', '*']
    const idx = indexOf(texts, hashBits)
    assert.deepEqual(lookup(idx, 'b.com'), [0, 6, 7, 10])
    assert.deepEqual(lookup(idx, 'xb.com'), [0, 1, 7, 10])
    assert.deepEqual(lookup(idx, 'axb.com'), [0, 1, 2, 7, 10])
    assert.deepEqual(lookup(idx, 'a.axb.com'), [0, 1, 2, 7, 10])
    assert.deepEqual(lookup(idx, 'ab.com'), [0, 3, 7, 10])
    assert.deepEqual(lookup(idx, 'a.b.com'), [0, 5, 7, 9, 10])
    assert.deepEqual(lookup(idx, 'A.B.COM.'), [0, 5, 7, 9, 10])
    assert.deepEqual(lookup(idx, 'bx.com'), [7, 10])
    assert.deepEqual(lookup(idx, 'b.net'), [4, 10])
    assert.deepEqual(lookup(idx, 'mycontoso.com'), [7, 8, 10])
    assert.deepEqual(lookup(idx, 'contoso.com.evil.net'), [10])
  })

  test(`${where}: a thousand suffix patterns on one base, and tails of 32 and more characters`, () => {
    const texts: string[] = []
    for (let i = 0; i < 1000; i++) texts.push(`*t${i.toString(36)}.com`)
    texts.push(`*${'q'.repeat(31)}.com`, `*${'q'.repeat(32)}.com`, `*${'q'.repeat(33)}.com`, `*${'r'.repeat(62)}.com`, `*${'s'.repeat(40)}`)
    const idx = indexOf(texts, hashBits)
    assert.deepEqual(lookup(idx, 'at7.com'), [7])
    assert.deepEqual(lookup(idx, 'x.t7.com'), [7])
    assert.deepEqual(lookup(idx, 'zt11.com'), [37])
    assert.deepEqual(lookup(idx, 'zt1.com'), [1])
    assert.deepEqual(lookup(idx, 't.com'), [])
    assert.deepEqual(lookup(idx, `${'q'.repeat(33)}.com`), [1000, 1001, 1002])
    assert.deepEqual(lookup(idx, `a${'q'.repeat(31)}.com`), [1000])
    assert.deepEqual(lookup(idx, `a${'r'.repeat(61)}.com`), [])
    assert.deepEqual(lookup(idx, `a${'r'.repeat(62)}.com`), [1003])
    assert.deepEqual(lookup(idx, `${'r'.repeat(62)}.com`), [1003])
    assert.deepEqual(lookup(idx, `x.${'s'.repeat(41)}`), [1004])
  })
}

const labelArb = fc.constantFrom('a', 'b', 'ab', 'ba', 'xab', 'c', 'com', 'net', 'co', 'xn--p1ai', '_s')
const nameArb = fc.array(labelArb, { minLength: 1, maxLength: 5 }).map((l) => l.join('.'))
const patternArb = fc.oneof(
  { weight: 3, arbitrary: nameArb },
  { weight: 3, arbitrary: nameArb.map((n) => `*.${n}`) },
  { weight: 3, arbitrary: nameArb.map((n) => `*${n}`) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('b', 'ab', 'o', 'om'), nameArb).map(([t, n]) => `*${t}.${n}`) },
  { weight: 1, arbitrary: fc.constant('*') },
)

test('network and application patterns on the same strings are told apart', () => {
  const texts = ['a.b.com', 'a.b.com', '*.b.com', '*b.com', '*xb.com', '*', 'b.com']
  const types: RuleType[] = [NETWORK_RULES, APPLICATION_RULES, NETWORK_RULES, APPLICATION_RULES, NETWORK_RULES, NETWORK_RULES, APPLICATION_RULES]
  for (const hashBits of [undefined, 1]) {
    const idx = indexOf(texts, hashBits, (i) => types[i]!)
    assert.deepEqual(lookup(idx, 'a.b.com', NETWORK_RULES), [0, 2, 5])
    assert.deepEqual(lookup(idx, 'a.b.com', APPLICATION_RULES), [1, 3])
    assert.deepEqual(lookup(idx, 'xb.com', NETWORK_RULES), [4, 5])
    assert.deepEqual(lookup(idx, 'xb.com', APPLICATION_RULES), [3])
    assert.deepEqual(lookup(idx, 'b.com', APPLICATION_RULES), [3, 6])
    assert.deepEqual(lookup(idx, 'b.net', APPLICATION_RULES), [])
    assert.equal(idx.index.anyApplication(), -1)
  }
})

test('property: the index collects exactly the patterns matchFqdnPattern accepts, per rule type, with full and with 1- and 2-bit hashes, with and without the merge into exact entries', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(patternArb, fc.boolean()), { minLength: 1, maxLength: 40 }), fc.array(nameArb, { minLength: 1, maxLength: 20 }), fc.constantFrom(32, 1, 2), fc.constantFrom(undefined, 0, 3), (entries, names, hashBits, mergeBudget) => {
      const texts = entries.map(([t]) => t)
      const typeOf = (i: number): RuleType => (entries[i]![1] ? NETWORK_RULES : APPLICATION_RULES)
      const idx = indexOf(texts, hashBits, typeOf, mergeBudget)
      const parsed = texts.map(pattern)
      // The exact patterns' own names too: those answer from one entry when the merge was made.
      for (const name of [...names, ...texts.filter((t) => !t.startsWith('*'))]) {
        for (const type of [NETWORK_RULES, APPLICATION_RULES] as const) {
          const expected = parsed.flatMap((p, i) => (typeOf(i) === type && matchFqdnPattern(p, name) ? [i] : []))
          assert.deepEqual(lookup(idx, name, type), expected, `${name} (${hashBits} bits, type ${type})`)
        }
      }
    }),
    { numRuns: 2000, seed: 20261130 },
  )
})

test('an exact name collects the subdomain and suffix patterns over it from its one entry, and the same without the merge', () => {
  // `*b.com` is a suffix pattern (tail `b`): it matches `a.b.com` and `b.com` alike (DESIGN.md §2).
  const texts = ['a.b.com', '*.b.com', '*b.com', '*.com', 'b.com', '*om', 'x.a.b.com']
  for (const mergeBudget of [undefined, 0, 1]) {
    const idx = indexOf(texts, undefined, undefined, mergeBudget)
    assert.deepEqual(lookup(idx, 'a.b.com'), [0, 1, 2, 3, 5], `budget ${mergeBudget}`)
    assert.deepEqual(lookup(idx, 'b.com'), [2, 3, 4, 5], `budget ${mergeBudget}`)
    assert.deepEqual(lookup(idx, 'x.a.b.com'), [1, 2, 3, 5, 6], `budget ${mergeBudget}`)
    assert.deepEqual(lookup(idx, 'z.b.com'), [1, 2, 3, 5], `budget ${mergeBudget}`)
  }
})

test('a name under a subdomain base collects the patterns answered inside the base from its entry, and the tails on the base itself', () => {
  const texts = ['*.b.com', '*.com', '*om', '*x.b.com', '*.a.b.com', 'q.a.b.com', '*b.com']
  const parsed = texts.map(pattern)
  for (const mergeBudget of [undefined, 0]) {
    const idx = indexOf(texts, undefined, undefined, mergeBudget)
    for (const name of ['zx.b.com', 'y.a.b.com', 'x.a.b.com', 'q.a.b.com', 'deep.er.zx.b.com', 'b.com', 'com', 'x.com']) {
      const expected = parsed.flatMap((p, i) => (matchFqdnPattern(p, name) ? [i] : []))
      assert.deepEqual(lookup(idx, name), expected, `${name}, budget ${mergeBudget}`)
    }
  }
})

test('texts kept in their slot (up to 47 characters) and texts kept apart (longer) are both confirmed, also when hashes collide', () => {
  const label = (c: string, n: number): string => c.repeat(n)
  // 47 and 48 characters exactly, and names of 100-253 characters, as exact and subdomain patterns.
  const at47 = `${label('a', 39)}.example`
  const at48 = `${label('a', 40)}.example`
  const long = `${label('b', 63)}.${label('c', 63)}.${label('d', 63)}.${label('e', 61)}`
  const texts = [at47, at48, long, `*.${at48}`, `*.${label('c', 63)}.${label('d', 63)}.${label('e', 61)}`, `*x${at48}`]
  const parsed = texts.map(pattern)
  const names = [at47, at48, long, `q.${at48}`, `q${at48}`, `qx${at48}`, `x.${label('c', 63)}.${label('d', 63)}.${label('e', 61)}`, `${label('a', 38)}.example`, `${label('a', 41)}.example`, `${label('b', 62)}f.${label('c', 63)}.${label('d', 63)}.${label('e', 61)}`]
  for (const hashBits of [undefined, 1]) {
    const idx = indexOf(texts, hashBits)
    for (const name of names) {
      const expected = parsed.flatMap((p, i) => (matchFqdnPattern(p, name) ? [i] : []))
      assert.deepEqual(lookup(idx, name), expected, `${name.length} characters, ${hashBits ?? 32} bits`)
    }
  }
})
