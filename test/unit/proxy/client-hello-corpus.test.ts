// The ClientHello corpus (test/fixtures/client-hello, made by scripts/make-client-hello-corpus.ts):
// each named scenario parses to exactly this, whole and when fed in every prefix (a hello that
// arrives in pieces must never be decided before it is complete).
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { test } from 'node:test'
import { parseClientHello, type ClientHelloResult } from '../../../src/proxy/client-hello.ts'

const dir = new URL('../../fixtures/client-hello/', import.meta.url)
const MAX = 64 * 1024

const EXPECTED: Record<string, ClientHelloResult> = {
  'node-sni-alpn.bin': { kind: 'sni', sni: 'mcr.microsoft.com', alpn: ['h2', 'http/1.1'] },
  'openssl-sni-alpn-konnectivity.bin': { kind: 'sni', sni: 'x.hcp.westeurope.azmk8s.io', alpn: ['konnectivity'] },
  'openssl-no-sni.bin': { kind: 'noSni', alpn: [] },
  'curl-sni.bin': { kind: 'sni', sni: 'mcr.microsoft.com', alpn: ['h2', 'http/1.1'] },
  'python-sni.bin': { kind: 'sni', sni: 'westeurope.data.mcr.microsoft.com', alpn: [] },
  'split-records.bin': { kind: 'sni', sni: 'mcr.microsoft.com', alpn: ['h2'] },
  'large-17k-two-records.bin': { kind: 'sni', sni: 'mcr.microsoft.com', alpn: [] },
  'no-extensions.bin': { kind: 'noSni', alpn: [] },
  'grease.bin': { kind: 'sni', sni: 'mcr.microsoft.com', alpn: ['\u001a\u001a', 'h2'] },
  'duplicate-extension.bin': { kind: 'malformed', detail: 'extension 43 appears twice' },
  'two-host-names.bin': { kind: 'malformed', detail: 'server_name holds two host_name entries' },
  'sni-non-ascii.bin': { kind: 'malformed', detail: 'host_name has a byte outside printable ASCII' },
  'empty-record.bin': { kind: 'malformed', detail: 'empty handshake record' },
  'interleaved-alert.bin': { kind: 'malformed', detail: 'a non-handshake record interleaves the ClientHello' },
  'not-tls-http.bin': { kind: 'notTls' },
  'sslv2-compatible-hello.bin': { kind: 'notTls' },
  'truncated.bin': { kind: 'needMore' },
}

test('every corpus file has an expectation, and every expectation a file', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.bin')).sort()
  assert.deepEqual(files, Object.keys(EXPECTED).sort())
})

for (const [file, expected] of Object.entries(EXPECTED)) {
  test(`corpus ${file} parses to ${expected.kind}`, () => {
    const bytes = readFileSync(new URL(file, dir))
    assert.deepEqual(parseClientHello(bytes, MAX), expected)
    // No prefix is decided differently, except as needMore (or an early verdict that equals the final one).
    for (let n = 0; n < bytes.length; n++) {
      const r = parseClientHello(bytes.subarray(0, n), MAX)
      if (r.kind !== 'needMore') assert.deepEqual(r, expected, `prefix of ${n} bytes`)
    }
  })
}

test('the 17 KiB hello is tooLarge under a 16 KiB bound, and so are its long prefixes', () => {
  const bytes = readFileSync(new URL('large-17k-two-records.bin', dir))
  assert.deepEqual(parseClientHello(bytes, 16 * 1024), { kind: 'tooLarge' })
  assert.deepEqual(parseClientHello(bytes.subarray(0, 16 * 1024 + 100), 16 * 1024), { kind: 'tooLarge' })
})
