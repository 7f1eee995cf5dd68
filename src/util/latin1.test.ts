import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { latin1 } from './latin1.ts'

test('latin1: one char per byte, from a Buffer and from a plain Uint8Array', () => {
  assert.equal(latin1(Buffer.from([0x61, 0xe9, 0x62]), 0, 3), 'a\xe9b')
  assert.equal(latin1(new Uint8Array([0x61, 0xe9, 0x62]), 0, 3), 'a\xe9b')
  assert.equal(latin1(new Uint8Array(10_000).fill(0x61), 1, 9_000), 'a'.repeat(8_999))
  assert.equal(latin1(new Uint8Array(4), 2, 2), '')
})

test('latin1: a view into a larger buffer reads its own bytes, not the buffer from its start', () => {
  const whole = new Uint8Array([0x78, 0x78, 0x61, 0x62, 0x63, 0x78])
  const view = whole.subarray(2, 5) // "abc", byteOffset 2
  assert.equal(latin1(view, 0, 3), 'abc')
  assert.equal(latin1(view, 1, 2), 'b')
  assert.equal(latin1(Buffer.from(whole.buffer, 1, 4), 1, 3), 'ab')
})

test('latin1 agrees with String.fromCharCode on any bytes and range', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(70), fc.nat(70), fc.boolean(), (bytes, a, b, asBuffer) => {
      const s = Math.min(a, b, bytes.length)
      const e = Math.min(Math.max(a, b), bytes.length)
      const input = asBuffer ? Buffer.from(bytes) : bytes
      assert.equal(latin1(input, s, e), String.fromCharCode(...bytes.subarray(s, e)))
    }),
  )
})
