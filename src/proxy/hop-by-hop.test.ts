// The heads a forwarding proxy writes (RFC 9110 §7.6.1 hop-by-hop fields, RFC 9112 §6.3 framing
// written by the proxy) and the client's keep-alive rules (RFC 9112 §9.3), exactly.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { clientAllowsKeepAlive, clientResponseHead, onlyChunked, originRequestHead } from './hop-by-hop.ts'
import { parseHttpHead, type HttpRequestHead } from './http-head.ts'
import { parseResponseHead, type HttpResponseHead } from './response-head.ts'

function request(text: string): HttpRequestHead {
  const r = parseHttpHead(Buffer.from(text, 'latin1'), 16384)
  if (r.kind !== 'ok') assert.fail(JSON.stringify(r))
  return r.head
}

function response(text: string): HttpResponseHead {
  const r = parseResponseHead(Buffer.from(text, 'latin1'), 65536)
  if (r.kind !== 'ok') assert.fail(JSON.stringify(r))
  return r.head
}

test('the origin request: hop-by-hop and named fields removed, Host set, one Content-Length, nothing about the connection while pooling', () => {
  const head = request(
    'POST http://a.example/p?q HTTP/1.1\r\nHost: a.example\r\nConnection: keep-alive, X-Hop, content-length, Host\r\nX-Hop: 1\r\nKeep-Alive: 5\r\n' +
      'Proxy-Connection: keep-alive\r\nTE: trailers\r\nUpgrade: websocket\r\nProxy-Authorization: Basic dTpw\r\nProxy-Authenticate: x\r\nAccept: */*\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\n',
  )
  assert.equal(originRequestHead(head, 'a.example', true), 'POST /p?q HTTP/1.1\r\nHost: a.example\r\nAccept: */*\r\nContent-Length: 2\r\n\r\n')
  assert.equal(originRequestHead(head, 'a.example:8080', false), 'POST /p?q HTTP/1.1\r\nHost: a.example:8080\r\nAccept: */*\r\nContent-Length: 2\r\nConnection: close\r\n\r\n')
})

test('the origin request: chunked framing written as one Transfer-Encoding field; Trailer kept; HTTP/1.1 for an HTTP/1.0 client', () => {
  const chunked = request('PUT /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\nTrailer: X-Sum\r\n\r\n')
  assert.equal(originRequestHead(chunked, 'a', true), 'PUT /x HTTP/1.1\r\nHost: a\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\n\r\n')
  const old = request('GET http://a/ HTTP/1.0\r\nUser-Agent: old\r\n\r\n')
  assert.equal(originRequestHead(old, 'a', true), 'GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: old\r\n\r\n')
})

test('the client response: hop-by-hop fields replaced by the proxy\'s own Connection; framing kept; decoded drops it', () => {
  const h = response('HTTP/1.0 200 OK\r\nConnection: keep-alive, X-Hop, Transfer-Encoding\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\nProxy-Authenticate: Basic\r\nUpgrade: h2c\r\nContent-Length: 3\r\nX-Ok: y\r\n\r\n')
  assert.equal(clientResponseHead(h, 'keep-alive'), 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-Ok: y\r\nConnection: keep-alive\r\n\r\n')
  const c = response('HTTP/1.1 206 \r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n')
  assert.equal(clientResponseHead(c, 'close'), 'HTTP/1.1 206 \r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\nConnection: close\r\n\r\n')
  assert.equal(clientResponseHead(c, 'close', true), 'HTTP/1.1 206 \r\nConnection: close\r\n\r\n')
  assert.equal(clientResponseHead(response('HTTP/1.1 100 Continue\r\n\r\n'), undefined), 'HTTP/1.1 100 Continue\r\n\r\n')
})

test('onlyChunked: exactly one coding, chunked', () => {
  assert.equal(onlyChunked(response('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n')), true)
  assert.equal(onlyChunked(response('HTTP/1.1 200 OK\r\nTransfer-Encoding: ,Chunked,\r\n\r\n')), true)
  assert.equal(onlyChunked(response('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n')), false)
  assert.equal(onlyChunked(response('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n')), false)
})

test('client keep-alive (RFC 9112 §9.3): HTTP/1.1 unless close, HTTP/1.0 only when asked; Proxy-Connection counts', () => {
  const cases: ReadonlyArray<readonly [string, boolean]> = [
    ['GET / HTTP/1.1\r\nHost: a\r\n\r\n', true],
    ['GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n', false],
    ['GET / HTTP/1.1\r\nHost: a\r\nConnection: X, Close\r\n\r\n', false],
    ['GET / HTTP/1.1\r\nHost: a\r\nProxy-Connection: close\r\n\r\n', false],
    ['GET / HTTP/1.1\r\nHost: a\r\nProxy-Connection: closed\r\n\r\n', true],
    ['GET / HTTP/1.0\r\n\r\n', false],
    ['GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n', true],
    ['GET / HTTP/1.0\r\nProxy-Connection: keep-alive\r\n\r\n', true],
    ['GET / HTTP/1.0\r\nConnection: keep-alive\r\nProxy-Connection: close\r\n\r\n', false],
  ]
  for (const [text, expected] of cases) assert.equal(clientAllowsKeepAlive(request(text)), expected, JSON.stringify(text))
})
