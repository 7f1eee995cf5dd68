import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ChunkedScanner } from './chunked-scanner.ts'

const BODY = '4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nTrailer: x\r\n\r\n'

test('finds the end of a chunked body, whole and one byte at a time', () => {
  const whole = new ChunkedScanner()
  const bytes = Buffer.from(`${BODY}GET /smuggled HTTP/1.1\r\n`)
  assert.deepEqual(whole.feed(bytes), { kind: 'done', end: BODY.length })
  const split = new ChunkedScanner()
  for (let i = 0; i < BODY.length - 1; i++) assert.deepEqual(split.feed(bytes.subarray(i, i + 1)), { kind: 'more' }, `byte ${i}`)
  assert.deepEqual(split.feed(bytes.subarray(BODY.length - 1, BODY.length + 3)), { kind: 'done', end: 1 })
})

test('refuses bad framing', () => {
  assert.deepEqual(new ChunkedScanner().feed(Buffer.from('x\r\n')), { kind: 'invalid', detail: 'chunk size missing' })
  assert.deepEqual(new ChunkedScanner().feed(Buffer.from('1\r\nab\r\n')), { kind: 'invalid', detail: 'chunk data not followed by CRLF' })
  assert.deepEqual(new ChunkedScanner().feed(Buffer.from('11111111111111111\r\n')), { kind: 'invalid', detail: 'chunk size too long' })
  assert.deepEqual(new ChunkedScanner().feed(Buffer.from('1\nA')), { kind: 'invalid', detail: 'invalid character in chunk size' })
  assert.deepEqual(new ChunkedScanner(8).feed(Buffer.from('1;aaaaaaaaaaaa\r\n')), { kind: 'invalid', detail: 'invalid chunk extension' })
})

test('reports the runs of chunk data, whole and split, without sizes, extensions, CRLFs or trailers', () => {
  const bytes = Buffer.from(`${BODY}NEXT`)
  const runs = (feeds: number[]): string => {
    const s = new ChunkedScanner()
    let out = ''
    let at = 0
    for (const n of [...feeds, bytes.length]) {
      const part = bytes.subarray(at, Math.min(n, bytes.length))
      const r = s.feed(part, 0, (a, b) => {
        out += part.subarray(a, b).toString()
      })
      at = Math.min(n, bytes.length)
      if (r.kind !== 'more') break
    }
    return out
  }
  assert.equal(runs([]), 'Wikipedia')
  assert.equal(runs([11, 12, 13, 20]), 'Wikipedia')
  for (let i = 1; i < BODY.length; i++) assert.equal(runs([i]), 'Wikipedia', `split at ${i}`)
})
