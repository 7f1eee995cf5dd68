// ScannedName (src/policy/scanned-name.ts) reads a name once for the engine's hash indexes: it
// must accept exactly what canonicalHost accepts, produce the same normal form, and record, for
// every position, the hash suffixHash gives the same characters (the hash patterns are stored by).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { canonicalHost } from '../../../src/policy/fqdn.ts'
import { ScannedName, suffixHash } from '../../../src/policy/scanned-name.ts'

const label63 = 'a'.repeat(63)
const name253 = `${label63}.${label63}.${label63}.${'b'.repeat(61)}`

/** The scan and canonicalHost agree on `input`, and every recorded hash and label start is right. */
function assertAgrees(scan: ScannedName, input: string): void {
  const expected = canonicalHost(input)
  const ok = scan.scan(input)
  assert.equal(ok, expected !== undefined, JSON.stringify(input))
  if (expected === undefined) return
  assert.equal(scan.text(), expected)
  assert.equal(scan.length, expected.length)
  for (let i = 0; i < expected.length; i++) assert.equal(scan.hashes[i], suffixHash(expected, i), `${JSON.stringify(input)} at ${i}`)
  const starts = Array.from(scan.labelStarts.subarray(0, scan.labels))
  const want: number[] = []
  for (let i = expected.length - 1; i > 0; i--) if (expected[i - 1] === '.') want.push(i)
  want.push(0)
  assert.deepEqual(starts, want, JSON.stringify(input))
}

const cases: ReadonlyArray<readonly [sentence: string, input: string]> = [
  ['a name in normal form', 'mcr.microsoft.com'],
  ['upper case', 'MCR.Microsoft.COM'],
  ['a trailing dot', 'mcr.microsoft.com.'],
  ['two trailing dots', 'example.com..'],
  ['a leading dot', '.example.com'],
  ['the empty string', ''],
  ['a single dot', '.'],
  ['a single label', 'localhost'],
  ['a label of 63 characters', `${label63}.example`],
  ['a label of 64 characters', `a${label63}.example`],
  ['a first label of 64 characters', `a${label63}`],
  ['a name of 253 characters', name253],
  ['a name of 253 characters and a trailing dot', `${name253}.`],
  ['a name of 254 characters', `${name253}b`],
  ['a hyphen at the start of the first label', '-a.example'],
  ['a hyphen at the end of the first label', 'a-.example'],
  ['a hyphen at the end of the last label', 'example.a-'],
  ['a hyphen at the start of a middle label', 'a.-b.example'],
  ['underscores', '_sip._tcp.example.com'],
  ['an IPv4 address', '1.2.3.4'],
  ['an all-digit last label', 'example.123'],
  ['a hex last label', 'example.0x7f'],
  ['a hex last label in upper case', 'example.0X7F'],
  ['"0x" alone as the last label', 'example.0x'],
  ['a hex-looking label that is not hex', 'example.0x7g'],
  ['an IPv6 address', '::1'],
  ['a port', 'example.com:443'],
  ['Unicode', 'bücher.example'],
  ['a NUL byte', 'example.com\u0000'],
  ['DEL', 'example.com\u007f'],
  ['a character just past Z', 'exampl[.com'],
  ['a character just before a', 'exampl`.com'],
]

for (const [sentence, input] of cases) {
  test(`ScannedName agrees with canonicalHost: ${sentence}`, () => {
    assertAgrees(new ScannedName(), input)
  })
}

test('ScannedName agrees with canonicalHost on random ASCII (property), reusing one instance', () => {
  const scan = new ScannedName()
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom('a', 'B', 'f', 'x', 'X', 'Z', '0', '7', '9', '-', '_', '.', 'xn--', '0x', '0X', 'ab', '1.2.3.4', '127.1', ' ', '/', '*', '@', '[', '`', '{'), { maxLength: 30 }).map((p) => p.join('')),
      (input) => {
        assertAgrees(scan, input)
      },
    ),
    { numRuns: 20000, seed: 11 },
  )
  for (const long of [`${'a'.repeat(63)}.com`, `${'a'.repeat(64)}.com`, `${'a.'.repeat(126)}a`, `${'a.'.repeat(127)}a`]) assertAgrees(scan, long)
})
