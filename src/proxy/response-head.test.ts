// The response-head parser and the body-length rules (RFC 9112 §6.3): what is accepted, and for
// each strictness rule the exact refusal.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { bodyKind, originKeepsAlive, parseResponseHead, type ResponseHeadResult } from './response-head.ts'

const MAX = 64 * 1024
const parse = (text: string, max = MAX): ResponseHeadResult => parseResponseHead(Buffer.from(text, 'latin1'), max)
const ok = (text: string, max = MAX) => {
  const r = parse(text, max)
  if (r.kind !== 'ok') assert.fail(`expected ok, got ${JSON.stringify(r)}`)
  return r.head
}

test('a 200 with Content-Length, fields in order, head length', () => {
  const text = 'HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 3\r\nConnection: keep-alive, X-A\r\n\r\n'
  const h = ok(`${text}abc`)
  assert.equal(h.status, 200)
  assert.equal(h.reason, 'OK')
  assert.equal(h.version, '1.1')
  assert.equal(h.contentLength, 3)
  assert.equal(h.chunked, false)
  assert.deepEqual(h.connectionTokens, ['keep-alive', 'x-a'])
  assert.deepEqual(h.headers[0], ['Server', 'nginx'])
  assert.equal(h.headBytes, Buffer.byteLength(text))
  assert.deepEqual(bodyKind(h, 'GET'), { kind: 'length', length: 3 })
  assert.equal(originKeepsAlive(h), true)
})

test('status line without a reason phrase, with and without the SP', () => {
  assert.equal(ok('HTTP/1.1 204\r\n\r\n').reason, '')
  assert.equal(ok('HTTP/1.1 204 \r\n\r\n').reason, '')
})

test('body length: HEAD, 1xx, 204, 304 have none whatever the fields say; chunked; close-delimited', () => {
  const cl = ok('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n')
  assert.deepEqual(bodyKind(cl, 'HEAD'), { kind: 'none' })
  assert.deepEqual(bodyKind(ok('HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n'), 'GET'), { kind: 'none' })
  assert.deepEqual(bodyKind(ok('HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n'), 'GET'), { kind: 'none' })
  assert.deepEqual(bodyKind(ok('HTTP/1.1 100 Continue\r\n\r\n'), 'POST'), { kind: 'none' })
  assert.deepEqual(bodyKind(ok('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'), 'GET'), { kind: 'chunked' })
  assert.deepEqual(bodyKind(ok('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n'), 'GET'), { kind: 'chunked' })
  assert.deepEqual(bodyKind(ok('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'), 'GET'), { kind: 'none' })
  assert.deepEqual(bodyKind(ok('HTTP/1.1 200 OK\r\nServer: x\r\n\r\n'), 'GET'), { kind: 'close' })
  assert.deepEqual(bodyKind(ok('HTTP/1.0 200 OK\r\n\r\n'), 'GET'), { kind: 'close' })
})

test('origin keep-alive: 1.1 unless close; 1.0 only with keep-alive', () => {
  assert.equal(originKeepsAlive(ok('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')), false)
  assert.equal(originKeepsAlive(ok('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n')), false)
  assert.equal(originKeepsAlive(ok('HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n')), true)
})

test('incomplete heads need more; long ones are too large', () => {
  assert.deepEqual(parse(''), { kind: 'needMore' })
  assert.deepEqual(parse('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n'), { kind: 'needMore' })
  assert.deepEqual(parse(`HTTP/1.1 200 OK\r\nX: ${'a'.repeat(200)}`, 100), { kind: 'tooLarge' })
  assert.deepEqual(parse(`HTTP/1.1 200 OK\r\nX: ${'a'.repeat(200)}\r\n\r\n`, 100), { kind: 'tooLarge' })
})

test('incremental scanning agrees with a whole parse', () => {
  const text = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-Y: z\r\n\r\nabc', 'latin1')
  let scanned = 0
  let r: ResponseHeadResult = { kind: 'needMore' }
  for (let n = 1; n <= text.length && r.kind === 'needMore'; n++) {
    r = parseResponseHead(text.subarray(0, n), MAX, scanned)
    scanned = n
  }
  // -1 unless the head was parsed: one assertion for both.
  assert.equal(r.kind === 'ok' ? r.head.headBytes : -1, text.length - 3)
})

const REFUSED: ReadonlyArray<readonly [string, string, string]> = [
  ['not HTTP', 'SSH-2.0-OpenSSH\r\n\r\n', 'not an HTTP/1.x status line'],
  ['leading empty line', '\r\nHTTP/1.1 200 OK\r\n\r\n', 'not an HTTP/1.x status line'],
  ['HTTP/2.0', 'HTTP/2.0 200 OK\r\n\r\n', 'not an HTTP/1.x status line'],
  ['HTTP/1.2', 'HTTP/1.2 200 OK\r\n\r\n', 'unsupported HTTP version'],
  ['two-digit status', 'HTTP/1.1 20 OK\r\n\r\n', 'malformed status line'],
  ['status 600', 'HTTP/1.1 600 X\r\n\r\n', 'status code 600 out of range'],
  ['status 099', 'HTTP/1.1 099 X\r\n\r\n', 'status code 99 out of range'],
  ['four-digit status', 'HTTP/1.1 2000 OK\r\n\r\n', 'malformed status line'],
  ['control in reason', 'HTTP/1.1 200 O\u0001K\r\n\r\n', 'control character in the reason phrase'],
  ['bare LF', 'HTTP/1.1 200 OK\nContent-Length: 0\n\n', 'bare LF line terminator'],
  ['bare LF in a field', 'HTTP/1.1 200 OK\r\nX: a\nContent-Length: 0\r\n\r\n', 'bare LF line terminator'],
  ['bare CR', 'HTTP/1.1 200 OK\r\nX: a\rContent-Length: 5\r\n\r\n', 'bare CR in the head'],
  ['obs-fold', 'HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n', 'obsolete line folding'],
  ['space before colon', 'HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\n', 'invalid character in field name or before the colon'],
  ['empty field name', 'HTTP/1.1 200 OK\r\n: x\r\n\r\n', 'empty or invalid field name'],
  ['invalid field name', 'HTTP/1.1 200 OK\r\nX(y): 1\r\n\r\n', 'invalid character in field name or before the colon'],
  ['control in value', 'HTTP/1.1 200 OK\r\nX: a\u0000b\r\n\r\n', 'control character in field X'],
  ['duplicate CL, equal', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n', 'duplicate Content-Length'],
  ['duplicate CL, conflicting', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\ncontent-length: 6\r\n\r\n', 'duplicate Content-Length'],
  ['CL list', 'HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n', 'invalid Content-Length'],
  ['CL sign', 'HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n', 'invalid Content-Length'],
  ['CL empty', 'HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n', 'invalid Content-Length'],
  ['CL huge', 'HTTP/1.1 200 OK\r\nContent-Length: 9999999999999999\r\n\r\n', 'invalid Content-Length'],
  ['TE and CL', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n', 'both Transfer-Encoding and Content-Length'],
  ['TE not ending in chunked', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n', 'Transfer-Encoding "chunked, gzip" does not end in chunked'],
  ['TE gzip only', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n', 'Transfer-Encoding "gzip" does not end in chunked'],
  ['TE chunked twice', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n', 'chunked applied more than once'],
  ['TE empty', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: ,\r\n\r\n', 'Transfer-Encoding "" does not end in chunked'],
  ['TE with parameters', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked;q=1\r\n\r\n', 'invalid Transfer-Encoding'],
  ['TE in 1.0', 'HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', 'Transfer-Encoding in an HTTP/1.0 response'],
  ['too many fields', `HTTP/1.1 200 OK\r\n${'X: y\r\n'.repeat(257)}\r\n`, 'more than 256 header fields'],
]

for (const [name, text, detail] of REFUSED) {
  test(`refused: ${name}`, () => {
    assert.deepEqual(parse(text), { kind: 'malformed', detail })
  })
}
