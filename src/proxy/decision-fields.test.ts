import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DecisionFields } from './decision-fields.ts'

test('a new connection\'s record has only protocol, host and port', () => {
  assert.deepEqual(new DecisionFields().record(), { protocol: 'unknown', host: null, port: null })
})

test('fields set in place appear in the record; the upstream is formatted when the record is made', () => {
  const f = new DecisionFields()
  f.protocol = 'https'
  f.host = 'example.com'
  f.port = 443
  f.sni = null
  f.alpn = ['h2']
  f.dnsMs = 0.5
  f.connectMs = 1.25
  f.upstreamAddress = '2001:db8::1'
  f.upstreamPort = 443
  assert.deepEqual(f.record(), {
    protocol: 'https',
    host: 'example.com',
    port: 443,
    sni: null,
    alpn: ['h2'],
    dnsMs: 0.5,
    connectMs: 1.25,
    upstream: '[2001:db8::1]:443',
  })
})

test('reset() forgets everything (the next request on a kept-alive connection)', () => {
  const f = new DecisionFields()
  f.protocol = 'http'
  f.method = 'GET'
  f.url = 'http://a.example/'
  f.request = 2
  f.reused = true
  f.handshakeMs = 3
  f.upstreamAddress = '127.0.0.1'
  f.upstreamPort = 80
  f.reset()
  assert.deepEqual(f.record(), { protocol: 'unknown', host: null, port: null })
})
