/**
 * Host names (src/policy/fqdn.ts): the normal form of names people write (normalizeName) and of
 * names read off the network (canonicalHost).
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { canonicalHost, MAX_LABEL_LENGTH, MAX_NAME_LENGTH, normalizeName, type NameProblem } from '../../../src/policy/fqdn.ts'

const label63 = 'a'.repeat(63)
const label64 = 'a'.repeat(64)
/** 253 characters: three labels of 63, one of 61, and four dots (RFC 1035 §2.3.4's 255 octets on the wire). */
const name253 = `${label63}.${label63}.${label63}.${'b'.repeat(61)}`
const name254 = `${name253}b`

test('the limits are those of RFC 1035', () => {
  assert.equal(MAX_LABEL_LENGTH, 63)
  assert.equal(MAX_NAME_LENGTH, 253)
  assert.equal(name253.length, 253)
})

const normal: ReadonlyArray<readonly [sentence: string, input: string, expected: string]> = [
  ['a name in normal form is kept', 'mcr.microsoft.com', 'mcr.microsoft.com'],
  ['upper case is lowered', 'MCR.Microsoft.COM', 'mcr.microsoft.com'],
  ['one trailing dot is removed', 'mcr.microsoft.com.', 'mcr.microsoft.com'],
  ['a Unicode name becomes punycode (IDNA)', 'bücher.example', 'xn--bcher-kva.example'],
  ['a Unicode name in upper case becomes the same punycode', 'BÜCHER.EXAMPLE', 'xn--bcher-kva.example'],
  ['a Unicode name with a trailing dot becomes punycode without it', 'bücher.example.', 'xn--bcher-kva.example'],
  ['punycode is kept', 'xn--bcher-kva.example', 'xn--bcher-kva.example'],
  ['full-width letters are mapped as IDNA maps them (UTS 46)', 'ａ.example', 'a.example'],
  ['a label of 63 characters is accepted', `${label63}.example`, `${label63}.example`],
  ['a name of 253 characters is accepted', name253, name253],
  ['a name of 253 characters and a trailing dot is accepted', `${name253}.`, name253],
  ['an underscore is accepted at the start of a label (SRV, DKIM)', '_dmarc.example.com', '_dmarc.example.com'],
  ['an underscore is accepted inside a label', 'a_b.example', 'a_b.example'],
  ['SRV labels are accepted', '_sip._tcp.example.com', '_sip._tcp.example.com'],
  ['a hyphen inside a label is accepted', 'a-b.example', 'a-b.example'],
  ['a single label is a name', 'localhost', 'localhost'],
  ['digits are accepted in labels', '1e100.net', '1e100.net'],
]

for (const [sentence, input, expected] of normal) {
  test(`normalizeName: ${sentence}: ${JSON.stringify(input.length > 40 ? `${input.slice(0, 37)}...` : input)}`, () => {
    assert.deepEqual(normalizeName(input), { ok: true, name: expected })
  })
}

const invalid: ReadonlyArray<readonly [sentence: string, input: string, problem: NameProblem, detail: string]> = [
  ['the empty string is not a name', '', 'empty', 'the name is empty'],
  ['"." is not a name', '.', 'empty-label', 'the name has an empty label ("..", or a leading dot)'],
  ['".." is not a name', '..', 'empty-label', 'the name has an empty label ("..", or a leading dot)'],
  ['a leading dot is an empty label', '.example.com', 'empty-label', 'the name has an empty label ("..", or a leading dot)'],
  ['two dots in a row are an empty label', 'a..example', 'empty-label', 'the name has an empty label ("..", or a leading dot)'],
  ['only one trailing dot is removed', 'example.com..', 'empty-label', 'the name has an empty label ("..", or a leading dot)'],
  ['a label of 64 characters is too long', `${label64}.example`, 'label-too-long', `label "${label64}" has 64 characters; at most 63 are allowed`],
  ['a name of 254 characters is too long', name254, 'too-long', 'the name has 254 characters; at most 253 are allowed'],
  ['a label starting with a hyphen is rejected', '-a.example', 'hyphen-edge', 'label "-a" starts or ends with "-"'],
  ['a label ending with a hyphen is rejected', 'a-.example', 'hyphen-edge', 'label "a-" starts or ends with "-"'],
  ['a last label ending with a hyphen is rejected', 'example.a-', 'hyphen-edge', 'label "a-" starts or ends with "-"'],
  ['an IPv4 address is not a name', '1.2.3.4', 'ip-literal', '"1.2.3.4" is an IP address, not a name'],
  ['an IPv4 address with a trailing dot is not a name', '1.2.3.4.', 'ip-literal', '"1.2.3.4" is an IP address, not a name'],
  ['a shortened IPv4 address is not a name', '127.1', 'ip-literal', '"127.1" ends in a numeric label; resolvers read such names as IP addresses ("127.1", "0x7f.1", "2130706433" all mean 127.0.0.1)'],
  ['a 32-bit decimal address is not a name', '2130706433', 'ip-literal', '"2130706433" ends in a numeric label; resolvers read such names as IP addresses ("127.1", "0x7f.1", "2130706433" all mean 127.0.0.1)'],
  ['a hex address is not a name', '0x7f000001', 'ip-literal', '"0x7f000001" ends in a numeric label; resolvers read such names as IP addresses ("127.1", "0x7f.1", "2130706433" all mean 127.0.0.1)'],
  ['a name ending in a numeric label is not a name (RFC 3696 §2)', 'mcr.microsoft.123', 'ip-literal', '"mcr.microsoft.123" ends in a numeric label; resolvers read such names as IP addresses ("127.1", "0x7f.1", "2130706433" all mean 127.0.0.1)'],
  ['an IPv6 address is not a name', '::1', 'bad-character', 'character ":" is not allowed in a host name'],
  ['a bracketed IPv6 address is not a name', '[::1]', 'bad-character', 'character "[" is not allowed in a host name'],
  ['a port is not part of a name', 'example.com:443', 'bad-character', 'character ":" is not allowed in a host name'],
  ['a space is rejected', 'a b.example', 'bad-character', 'character " " is not allowed in a host name'],
  ['a "*" is rejected in a name', '*.example', 'bad-character', 'character "*" is not allowed in a host name'],
  ['a path is rejected', 'example.com/x', 'bad-character', 'character "/" is not allowed in a host name'],
  ['a path after a Unicode name is rejected, not cut off', 'bücher.example/evil.com', 'bad-character', 'character "/" is not allowed in a host name'],
  ['a query after a Unicode name is rejected', 'bücher.example?x', 'bad-character', 'character "?" is not allowed in a host name'],
  ['a fragment after a Unicode name is rejected', 'bücher.example#x', 'bad-character', 'character "#" is not allowed in a host name'],
  ['a backslash after a Unicode name is rejected', 'bücher.example\\x', 'bad-character', 'character "\\\\" is not allowed in a host name'],
  ['a percent escape in a Unicode name is rejected, not decoded', 'ü%2e.example', 'bad-character', 'character "%" is not allowed in a host name'],
  ['user information before a Unicode name is rejected', 'user@bücher.example', 'bad-character', 'character "@" is not allowed in a host name'],
  ['punycode with Unicode in it is not an IDN', 'xn--ü.example', 'bad-idn', '"xn--ü.example" is not a valid internationalised domain name'],
]

for (const [sentence, input, problem, detail] of invalid) {
  test(`normalizeName: ${sentence}: ${JSON.stringify(input.length > 40 ? `${input.slice(0, 37)}...` : input)}`, () => {
    assert.deepEqual(normalizeName(input), { ok: false, problem, detail })
  })
}

test('normalizeName: the label limit applies to the punycode, not to the Unicode', () => {
  // 59 characters as written; "xn--" + 58 "a" + "-y9f" is 66.
  const ace = `xn--${'a'.repeat(58)}-y9f`
  assert.deepEqual(normalizeName(`${'a'.repeat(58)}ü.example`), {
    ok: false,
    problem: 'label-too-long',
    detail: `label "${ace}" has 66 characters; at most 63 are allowed`,
  })
})

const hosts: ReadonlyArray<readonly [sentence: string, input: string, expected: string | undefined]> = [
  ['a host in normal form is kept', 'mcr.microsoft.com', 'mcr.microsoft.com'],
  ['upper case is lowered', 'MCR.Microsoft.com', 'mcr.microsoft.com'],
  ['one trailing dot is removed', 'mcr.microsoft.com.', 'mcr.microsoft.com'],
  ['punycode is kept', 'xn--bcher-kva.example', 'xn--bcher-kva.example'],
  ['Unicode is refused: SNI carries A-labels (RFC 6066 §3)', 'bücher.example', undefined],
  ['an underscore is accepted', '_dmarc.example.com', '_dmarc.example.com'],
  ['a label of 63 characters is accepted', `${label63}.example`, `${label63}.example`],
  ['a label of 64 characters is refused', `${label64}.example`, undefined],
  ['a name of 253 characters is accepted', name253, name253],
  ['a name of 254 characters is refused', name254, undefined],
  ['a hyphen at a label edge is refused', '-a.example', undefined],
  ['an IPv4 address is refused', '1.2.3.4', undefined],
  ['an IPv6 address is refused', '::1', undefined],
  ['a host with a port is refused', 'example.com:443', undefined],
  ['the empty string is refused', '', undefined],
  ['"." is refused', '.', undefined],
  ['two trailing dots are refused', 'example.com..', undefined],
  ['a NUL byte is refused', 'example.com\u0000', undefined],
  ['DEL is refused', 'example.com\u007f', undefined],
]

for (const [sentence, input, expected] of hosts) {
  test(`canonicalHost: ${sentence}: ${JSON.stringify(input.length > 40 ? `${input.slice(0, 37)}...` : input)}`, () => {
    assert.equal(canonicalHost(input), expected)
  })
}

const asciiName = fc
  .array(fc.constantFrom('a', 'B', 'z', '0', '9', '-', '_', '.', 'xn--', 'ab', '1.2.3.4', ' ', ':', '/', '*', '\u007f'), { maxLength: 20 })
  .map((a) => a.join(''))

test('canonicalHost agrees with normalizeName on ASCII input (property)', () => {
  fc.assert(
    fc.property(asciiName, (s) => {
      const n = normalizeName(s)
      assert.equal(canonicalHost(s), n.ok ? n.name : undefined, JSON.stringify(s))
    }),
    { numRuns: 5000 },
  )
})

test('a normalized name is lower-case ASCII within the limits, and normalizing it again keeps it (property)', () => {
  const anyName = fc.oneof(asciiName, fc.array(fc.constantFrom('ü', 'Ä', 'ß', '例', 'a', '.', '-', 'X'), { maxLength: 12 }).map((a) => a.join('')))
  fc.assert(
    fc.property(anyName, (s) => {
      const n = normalizeName(s)
      if (!n.ok) return
      assert.match(n.name, /^[a-z0-9_.-]+$/)
      assert.ok(!n.name.endsWith('.'))
      assert.ok(n.name.length <= MAX_NAME_LENGTH)
      for (const label of n.name.split('.')) assert.ok(label.length >= 1 && label.length <= MAX_LABEL_LENGTH)
      assert.deepEqual(normalizeName(n.name), n)
    }),
    { numRuns: 3000 },
  )
})
