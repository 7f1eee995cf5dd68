// Property tests of the two parsers that read untrusted bytes (fast-check): on random bytes and on
// mutated valid inputs they never throw, return one of their declared results, stay within their
// byte bound, decide the same whether the bytes come whole or split at any point, and finish fast.
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { test } from 'node:test'
import fc from 'fast-check'
import { parseClientHello } from '../../../src/proxy/client-hello.ts'
import { parseHttpHead } from '../../../src/proxy/http-head.ts'
import { ChunkedScanner } from '../../../src/proxy/chunked-scanner.ts'
import { bodyKind, parseResponseHead } from '../../../src/proxy/response-head.ts'
import { byteEdits, mutateBytes } from '../../support/mutate-bytes.ts'

const corpusDir = new URL('../../fixtures/client-hello/', import.meta.url)
const corpus = readdirSync(corpusDir)
  .filter((f) => f.endsWith('.bin'))
  .map((f) => readFileSync(new URL(f, corpusDir)))

const HEADS = [
  'CONNECT mcr.microsoft.com:443 HTTP/1.1\r\nHost: mcr.microsoft.com:443\r\nProxy-Authorization: Basic dTpw\r\n\r\n',
  'GET http://security.ubuntu.com/ubuntu/dists/ HTTP/1.1\r\nHost: security.ubuntu.com\r\nUser-Agent: apt\r\nAccept: */*\r\n\r\n',
  'POST /upload HTTP/1.1\r\nHost: [::1]:8080\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
].map((s) => Buffer.from(s, 'latin1'))

/** Valid inputs with up to eight byte edits (test/support/mutate-bytes.ts). */
const mutated = (seeds: readonly Buffer[]): fc.Arbitrary<Buffer> => fc.tuple(fc.constantFrom(...seeds), byteEdits(8)).map(([seed, edits]) => mutateBytes(seed, edits))

const HELLO_KINDS = new Set(['needMore', 'sni', 'noSni', 'notTls', 'malformed', 'tooLarge'])
const HEAD_KINDS = new Set(['needMore', 'ok', 'malformed', 'tooLarge'])

function checkHello(bytes: Buffer, max: number): void {
  const t0 = performance.now()
  const whole = parseClientHello(bytes, max)
  assert.ok(HELLO_KINDS.has(whole.kind), whole.kind)
  if (whole.kind === 'sni') assert.ok(whole.sni.length > 0 && whole.sni.length <= max)
  // Decided on any prefix ⇒ decided the same on the whole (a verdict is never taken back).
  for (const cut of [1, 5, 9, 43, 100, bytes.length >> 1]) {
    if (cut >= bytes.length) continue
    const r = parseClientHello(bytes.subarray(0, cut), max)
    if (r.kind !== 'needMore' && r.kind !== 'tooLarge') assert.deepEqual(whole, r, `prefix ${cut}`)
  }
  assert.ok(performance.now() - t0 < 1000, 'parse took too long')
}

function checkHead(bytes: Buffer, max: number): void {
  const t0 = performance.now()
  const whole = parseHttpHead(bytes, max)
  assert.ok(HEAD_KINDS.has(whole.kind), whole.kind)
  if (whole.kind === 'ok') assert.ok(whole.head.headBytes <= max && whole.head.headBytes <= bytes.length)
  // Incremental parsing (resuming the scan) agrees with parsing the whole.
  let scanned = 0
  let incremental = parseHttpHead(bytes.subarray(0, 0), max)
  for (let n = 1; n <= bytes.length && incremental.kind === 'needMore'; n += 7) {
    incremental = parseHttpHead(bytes.subarray(0, n), max, scanned)
    scanned = n
  }
  if (incremental.kind === 'needMore') incremental = parseHttpHead(bytes, max, scanned)
  if (incremental.kind === 'ok' && whole.kind === 'ok') assert.equal(incremental.head.headBytes, whole.head.headBytes)
  else assert.equal(incremental.kind, whole.kind)
  assert.ok(performance.now() - t0 < 1000, 'parse took too long')
}

test('ClientHello parser: random bytes', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 2048 }), fc.integer({ min: 0, max: 70_000 }), (b, max) => { checkHello(Buffer.from(b), max); }), { numRuns: 2000 })
})

test('ClientHello parser: random bytes behind a valid record header', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (b) => { checkHello(Buffer.concat([Buffer.from([22, 3, 1, (b.length >> 8) & 0xff, b.length & 0xff, 1]), Buffer.from(b)]), 65536); }),
    { numRuns: 2000 },
  )
})

test('ClientHello parser: mutated corpus', () => {
  fc.assert(fc.property(mutated(corpus), (b) => { checkHello(b, 65536); }), { numRuns: 3000 })
})

test('HTTP head parser: random bytes', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 1024 }), fc.integer({ min: 0, max: 4096 }), (b, max) => { checkHead(Buffer.from(b), max); }), { numRuns: 2000 })
})

test('HTTP head parser: random text of HTTP characters', () => {
  const chars = fc.constantFrom(...'GET CONNECT HTTP/1.1\r\n\r\nHost: a.example:443 :/?#@[]\t,chunked Content-Length 0123456789 Transfer-Encoding'.split(''))
  fc.assert(fc.property(fc.array(chars, { maxLength: 300 }), (cs) => { checkHead(Buffer.from(cs.join(''), 'latin1'), 16384); }), { numRuns: 2000 })
})

test('HTTP head parser: mutated heads', () => {
  fc.assert(fc.property(mutated(HEADS), (b) => { checkHead(b, 16384); }), { numRuns: 3000 })
})

test('chunked scanner: never throws, whole and split agree', () => {
  fc.assert(
    fc.property(mutated([Buffer.from('4\r\nWiki\r\n5;x\r\npedia\r\n0\r\nT: 1\r\n\r\nEXTRA')]), fc.nat(), (b, cut) => {
      const whole = new ChunkedScanner().feed(b)
      const s = new ChunkedScanner()
      const at = b.length === 0 ? 0 : cut % b.length
      const first = s.feed(b.subarray(0, at))
      if (first.kind === 'more') {
        const second = s.feed(b.subarray(at))
        if (whole.kind === 'done' && second.kind === 'done') assert.equal(second.end + at, whole.end)
        else assert.equal(second.kind, whole.kind)
      } else {
        assert.equal(first.kind, whole.kind)
      }
    }),
    { numRuns: 3000 },
  )
})

test('the whole 16 KiB bound fed one byte at a time costs linear time', () => {
  const head = Buffer.from(`GET / HTTP/1.1\r\nHost: a\r\nX: ${'a'.repeat(16_000)}\r\n\r\n`)
  const t0 = performance.now()
  let scanned = 0
  let r = parseHttpHead(head.subarray(0, 0), 32_768)
  for (let n = 1; n <= head.length && r.kind === 'needMore'; n++) {
    r = parseHttpHead(head.subarray(0, n), 32_768, scanned)
    scanned = n
  }
  assert.equal(r.kind, 'ok')
  const hello = readFileSync(new URL('large-17k-two-records.bin', corpusDir))
  let h = parseClientHello(hello.subarray(0, 0), 65536)
  for (let n = 1; n <= hello.length && h.kind === 'needMore'; n++) h = parseClientHello(hello.subarray(0, n), 65536)
  assert.equal(h.kind, 'sni')
  assert.ok(performance.now() - t0 < 5000, `took ${performance.now() - t0} ms`)
})

// The response-head parser (persistent forwarding): the same properties, and the framing it
// reports is self-consistent (never both chunked and a length; a head never claims bytes it was
// not given or past its bound).
const RESPONSES = [
  'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nabc',
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n',
  'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n',
  'HTTP/1.0 200 OK\r\nServer: old\r\n\r\nbody until close',
].map((s) => Buffer.from(s, 'latin1'))
const RESPONSE_KINDS = new Set(['needMore', 'ok', 'malformed', 'tooLarge'])

function checkResponse(bytes: Buffer, max: number): void {
  const t0 = performance.now()
  const whole = parseResponseHead(bytes, max)
  assert.ok(RESPONSE_KINDS.has(whole.kind), whole.kind)
  if (whole.kind === 'ok') {
    const h = whole.head
    assert.ok(h.headBytes <= max && h.headBytes <= bytes.length)
    assert.ok(!(h.chunked && h.contentLength !== undefined))
    assert.ok(h.status >= 100 && h.status <= 599)
    const b = bodyKind(h, 'GET')
    if (b.kind === 'length') assert.ok(Number.isSafeInteger(b.length) && b.length > 0)
  }
  // Decided on a prefix ⇒ the same decision on the whole; byte-by-byte resumption agrees.
  let scanned = 0
  let incremental = parseResponseHead(bytes.subarray(0, 0), max)
  for (let n = 1; n <= bytes.length && incremental.kind === 'needMore'; n += 5) {
    incremental = parseResponseHead(bytes.subarray(0, n), max, scanned)
    scanned = n
    if (incremental.kind === 'malformed' || incremental.kind === 'ok') assert.deepEqual(incremental, whole, `prefix ${n}`)
  }
  if (incremental.kind === 'needMore') incremental = parseResponseHead(bytes, max, scanned)
  if (incremental.kind !== 'tooLarge' && whole.kind !== 'tooLarge') assert.deepEqual(incremental, whole)
  assert.ok(performance.now() - t0 < 1000, 'parse took too long')
}

test('response-head parser: random bytes', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 1024 }), fc.integer({ min: 0, max: 4096 }), (b, max) => { checkResponse(Buffer.from(b), max); }), { numRuns: 2000 })
})

test('response-head parser: random text of HTTP characters', () => {
  const chars = fc.constantFrom(...'HTTP/1.1 200 OK\r\n\r\nContent-Length: 0123456789 Transfer-Encoding: chunked, gzip Connection close\t:'.split(''))
  fc.assert(fc.property(fc.array(chars, { maxLength: 300 }), (cs) => { checkResponse(Buffer.from(`HTTP/1.1 ${cs.join('')}`, 'latin1'), 16384); }), { numRuns: 3000 })
})

test('response-head parser: mutated responses', () => {
  fc.assert(fc.property(mutated(RESPONSES), fc.integer({ min: 16, max: 65536 }), (b, max) => { checkResponse(b, max); }), { numRuns: 4000 })
})

test('response-head parser: a 64 KiB head fed one byte at a time costs linear time', () => {
  const head = Buffer.from(`HTTP/1.1 200 OK\r\nX: ${'a'.repeat(64_000)}\r\n\r\n`)
  const t0 = performance.now()
  let scanned = 0
  let r = parseResponseHead(head.subarray(0, 0), 65_536)
  for (let n = 1; n <= head.length && r.kind === 'needMore'; n++) {
    r = parseResponseHead(head.subarray(0, n), 65_536, scanned)
    scanned = n
  }
  assert.equal(r.kind, 'ok')
  assert.ok(performance.now() - t0 < 5000, `took ${performance.now() - t0} ms`)
})
