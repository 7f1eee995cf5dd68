import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { addConnectionTokens, isTchar, parseFieldLine, parseLengthDigits } from './http-field.ts'

const line = (text: string): readonly [string, string] | string => parseFieldLine(text, 0, text.length)

test('field lines: name and value as sent, the value without surrounding OWS', () => {
  assert.deepEqual(line('Host: mcr.microsoft.com'), ['Host', 'mcr.microsoft.com'])
  assert.deepEqual(line('X-A:\t a b \t'), ['X-A', 'a b'])
  assert.deepEqual(line('Empty:'), ['Empty', ''])
  assert.deepEqual(line('Latin: caf\xe9'), ['Latin', 'caf\xe9'])
})

test('field lines: what RFC 9112 §5 refuses is refused with the reason', () => {
  assert.equal(line(' folded: x'), 'obsolete line folding')
  assert.equal(line('\tfolded: x'), 'obsolete line folding')
  assert.equal(line(': x'), 'empty or invalid field name')
  assert.equal(line('Host : x'), 'invalid character in field name or before the colon')
  assert.equal(line('Host'), 'invalid character in field name or before the colon')
  assert.equal(line('X: a\x00b'), 'control character in field X')
  assert.equal(line('X: a\x7fb'), 'control character in field X')
})

test('Content-Length digits: digits only, at most 15 of them', () => {
  assert.equal(parseLengthDigits('0'), 0)
  assert.equal(parseLengthDigits('007'), 7)
  assert.equal(parseLengthDigits('999999999999999'), 999_999_999_999_999)
  for (const bad of ['', '1000000000000000', '+1', '-1', '1.0', '1 ', '0x10', '１']) assert.equal(parseLengthDigits(bad), -1, JSON.stringify(bad))
})

test('Content-Length digits: agree with a decimal reading for every string of up to 15 digits', () => {
  fc.assert(
    fc.property(fc.stringMatching(/^[0-9]{1,15}$/), (digits) => parseLengthDigits(digits) === Number(digits)),
  )
})

test('Connection tokens: lower case, trimmed, empty list elements skipped, appended', () => {
  const into = ['close']
  addConnectionTokens(' Keep-Alive , ,X-Secret,', into)
  assert.deepEqual(into, ['close', 'keep-alive', 'x-secret'])
})

test('tchar', () => {
  assert.ok(isTchar(0x21) && isTchar(0x7e) && !isTchar(0x3a) && !isTchar(0x20))
})
