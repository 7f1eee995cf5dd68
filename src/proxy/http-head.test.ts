// The request-head parser: what it accepts (with the fields the proxy uses) and, for each
// strictness rule, the exact refusal.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseHttpHead, type HttpHeadResult } from './http-head.ts'

const MAX = 16 * 1024
const parse = (text: string, max = MAX): HttpHeadResult => parseHttpHead(Buffer.from(text, 'latin1'), max)

test('CONNECT authority-form with the Proxy-Authorization field', () => {
  const r = parse('CONNECT mcr.microsoft.com:443 HTTP/1.1\r\nHost: mcr.microsoft.com:443\r\nProxy-Authorization: Basic dTpw\r\n\r\nrest')
  assert.equal(r.kind, 'ok')
  assert.equal(r.head.method, 'CONNECT')
  assert.equal(r.head.form, 'authority')
  assert.deepEqual(r.head.targetAuthority, { host: 'mcr.microsoft.com', isIpv6: false, port: 443 })
  assert.equal(r.head.proxyAuthorization, 'Basic dTpw')
  assert.equal(r.head.headBytes, r.head.headBytes > 0 ? Buffer.byteLength('CONNECT mcr.microsoft.com:443 HTTP/1.1\r\nHost: mcr.microsoft.com:443\r\nProxy-Authorization: Basic dTpw\r\n\r\n') : -1)
})

test('absolute-form: scheme, authority, path and query; Connection tokens; body framing', () => {
  const r = parse('POST http://security.ubuntu.com/ubuntu?x=1 HTTP/1.1\r\nHost: security.ubuntu.com\r\nConnection: keep-alive, X-Foo\r\nContent-Length: 5\r\n\r\n')
  assert.equal(r.kind, 'ok')
  assert.equal(r.head.form, 'absolute')
  assert.equal(r.head.scheme, 'http')
  assert.deepEqual(r.head.targetAuthority, { host: 'security.ubuntu.com', isIpv6: false, port: undefined })
  assert.equal(r.head.path, '/ubuntu?x=1')
  assert.deepEqual(r.head.connectionTokens, ['keep-alive', 'x-foo'])
  assert.equal(r.head.contentLength, 5)
  assert.equal(r.head.chunked, false)
})

test('origin-form with an IPv6 Host, chunked, leading empty line skipped', () => {
  const r = parse('\r\nGET /a HTTP/1.1\r\nHost: [::1]:8080\r\nTransfer-Encoding: chunked\r\n\r\n')
  assert.equal(r.kind, 'ok')
  assert.deepEqual(r.head.hostHeader, { host: '::1', isIpv6: true, port: 8080 })
  assert.equal(r.head.chunked, true)
})

test('identical Content-Length values collapse', () => {
  const r = parse('POST http://a.example/ HTTP/1.1\r\nHost: a.example\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\n')
  assert.equal(r.kind === 'ok' ? r.head.contentLength : -1, 3)
})

test('incomplete heads need more; too long ones are too large', () => {
  assert.deepEqual(parse('CONNECT a.example:443 HTTP/1.1\r\nHost: a'), { kind: 'needMore' })
  assert.deepEqual(parse(''), { kind: 'needMore' })
  assert.deepEqual(parse(`GET / HTTP/1.1\r\nX: ${'a'.repeat(200)}`, 100), { kind: 'tooLarge' })
  assert.deepEqual(parse(`GET / HTTP/1.1\r\nHost: a\r\nX: ${'a'.repeat(200)}\r\n\r\n`, 100), { kind: 'tooLarge' })
})

const REFUSED: ReadonlyArray<readonly [string, string, number, string]> = [
  ['bare LF', 'GET / HTTP/1.1\nHost: a\n\n', 400, 'bare LF line terminator'],
  ['bare CR', 'GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n', 400, 'bare CR in the head'],
  ['obs-fold', 'GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n z\r\n\r\n', 400, 'obsolete line folding'],
  ['space before colon', 'GET / HTTP/1.1\r\nHost : a\r\n\r\n', 400, 'invalid character in field name or before the colon'],
  ['duplicate Host', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400, 'duplicate Host field'],
  ['no Host in 1.1', 'GET / HTTP/1.1\r\nX: y\r\n\r\n', 400, 'HTTP/1.1 request without a Host field'],
  ['conflicting Content-Length', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n', 400, 'conflicting Content-Length values'],
  ['non-numeric Content-Length', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n', 400, 'invalid Content-Length'],
  ['TE and CL', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n', 400, 'both Transfer-Encoding and Content-Length'],
  ['TE gzip', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', 501, 'unsupported Transfer-Encoding "gzip, chunked"'],
  ['TE in 1.0', 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n', 400, 'Transfer-Encoding in an HTTP/1.0 request'],
  ['NUL in a value', 'GET / HTTP/1.1\r\nHost: a\r\nX: a\u0000b\r\n\r\n', 400, 'control character in field X'],
  ['HTTP/2.0', 'GET / HTTP/2.0\r\nHost: a\r\n\r\n', 505, 'unsupported version HTTP/2.0'],
  ['two spaces', 'GET  / HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'malformed request line (target)'],
  ['CONNECT without port', 'CONNECT a.example HTTP/1.1\r\n\r\n', 400, 'CONNECT target "a.example" has no port (host:port)'],
  ['CONNECT with userinfo', 'CONNECT u@a.example:443 HTTP/1.1\r\n\r\n', 400, 'CONNECT target "u@a.example:443" is not host[:port]'],
  ['lower-case connect', 'connect a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n', 400, 'host:port as the request target is for CONNECT only (in capitals: methods are case-sensitive)'],
  ['lower-case connect to an address', 'connect 10.0.0.1:443 HTTP/1.1\r\nHost: 10.0.0.1:443\r\n\r\n', 400, 'host:port as the request target is for CONNECT only (in capitals: methods are case-sensitive)'],
  ['GET to host:port', 'GET [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n', 400, 'host:port as the request target is for CONNECT only (in capitals: methods are case-sensitive)'],
  ['CONNECT to port 0', 'CONNECT a.example:0 HTTP/1.1\r\n\r\n', 400, 'CONNECT target "a.example:0": the port must be 1-65535'],
  ['Host with port 0', 'CONNECT a.example:0 HTTP/1.1\r\nHost: a.example:0\r\n\r\n', 400, 'invalid Host field: "a.example:0": the port must be 1-65535'],
  ['IPv6 Host with a bad port', 'GET / HTTP/1.1\r\nHost: [::1]:99999\r\n\r\n', 400, 'invalid Host field: "[::1]:99999": the port must be 1-65535'],
  ['userinfo in absolute-form', 'GET http://mcr.microsoft.com@evil.example/ HTTP/1.1\r\nHost: evil.example\r\n\r\n', 400, 'userinfo in the request target'],
  ['fragment', 'GET http://a.example/#x HTTP/1.1\r\nHost: a.example\r\n\r\n', 400, 'fragment in the request target'],
  ['percent-encoded host', 'GET http://a%2eexample/ HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'invalid authority in the request target'],
  ['invalid Host', 'GET / HTTP/1.1\r\nHost: a b\r\n\r\n', 400, 'invalid Host field: "a b" is not host[:port]'],
  ['port out of range', 'CONNECT a.example:65536 HTTP/1.1\r\n\r\n', 400, 'CONNECT target "a.example:65536": the port must be 1-65535'],
  ['duplicate Proxy-Authorization', 'CONNECT a.example:443 HTTP/1.1\r\nProxy-Authorization: a\r\nProxy-Authorization: b\r\n\r\n', 400, 'duplicate Proxy-Authorization field'],
]

for (const [name, text, status, detail] of REFUSED) {
  test(`refused: ${name}`, () => {
    assert.deepEqual(parse(text), { kind: 'malformed', status, detail })
  })
}

test('too many fields', () => {
  const fields = Array.from({ length: 101 }, (_, i) => `X-${i}: y\r\n`).join('')
  assert.deepEqual(parse(`GET / HTTP/1.1\r\nHost: a\r\n${fields}\r\n`), { kind: 'malformed', status: 400, detail: 'more than 100 header fields' })
})

test('a bare LF is refused as soon as it arrives, before the head is complete', () => {
  assert.deepEqual(parse('GET / HTTP/1.1\nHo'), { kind: 'malformed', status: 400, detail: 'bare LF line terminator' })
})
