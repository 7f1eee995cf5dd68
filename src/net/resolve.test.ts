// The resolver: literals and hosts overrides never reach DNS; a server that never answers is a
// TIMEOUT within the bound; answers are cached for their TTL and no longer.
import assert from 'node:assert/strict'
import { createSocket } from 'node:dgram'
import { test } from 'node:test'
import { NameResolver } from './resolve.ts'

test('IP literals and hosts overrides are answered without DNS', async () => {
  const resolver = new NameResolver({ hosts: new Map([['mcr.microsoft.com', ['127.0.0.2']]]), upstream: ['127.0.0.1:9'], timeoutMs: 500, cacheMaxEntries: 10, cacheMaxTtlSeconds: 60 })
  assert.deepEqual(await resolver.resolve('10.0.0.1'), { ok: true, addresses: ['10.0.0.1'], source: 'literal' })
  assert.deepEqual(await resolver.resolve('mcr.microsoft.com'), { ok: true, addresses: ['127.0.0.2'], source: 'hosts' })
  // The same answers synchronously (the proxy's dial takes no promise for them); other names need DNS.
  assert.deepEqual(resolver.known('::1'), { ok: true, addresses: ['::1'], source: 'literal' })
  assert.deepEqual(resolver.known('mcr.microsoft.com'), { ok: true, addresses: ['127.0.0.2'], source: 'hosts' })
  assert.equal(resolver.known('packages.microsoft.com'), undefined)
  assert.equal(resolver.known('1.example'), undefined)
  resolver.close()
})

test('a DNS server that never answers is a TIMEOUT within the bound', async () => {
  const silent = createSocket('udp4')
  await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve))
  const resolver = new NameResolver({ upstream: [`127.0.0.1:${silent.address().port}`], timeoutMs: 300, cacheMaxEntries: 10, cacheMaxTtlSeconds: 60 })
  const t0 = Date.now()
  const r = await resolver.resolve('mcr.microsoft.com')
  const elapsed = Date.now() - t0
  resolver.close()
  silent.close()
  assert.equal(r.ok, false)
  assert.equal(r.failure, 'TIMEOUT')
  assert.ok(elapsed >= 250 && elapsed < 3000, `${elapsed} ms`)
})

test('answers are cached for their TTL, capped, and the cache is bounded', async () => {
  const server = createSocket('udp4')
  let queries = 0
  server.on('message', (msg, peer) => {
    queries++
    const qEnd = msg.indexOf(0, 12) + 5
    const qtype = msg.readUInt16BE(qEnd - 4)
    const header = Buffer.from(msg.subarray(0, 12))
    header.writeUInt16BE(0x8180, 2)
    header.writeUInt16BE(qtype === 1 ? 1 : 0, 6)
    const answer = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 20, 61, 99, 1])
    server.send(Buffer.concat([header, msg.subarray(12, qEnd), ...(qtype === 1 ? [answer] : [])]), peer.port, peer.address)
  })
  await new Promise<void>((resolve) => server.bind(0, '127.0.0.1', resolve))
  let now = 1_000_000
  const resolver = new NameResolver({ upstream: [`127.0.0.1:${server.address().port}`], timeoutMs: 1000, cacheMaxEntries: 1, cacheMaxTtlSeconds: 20 }, () => now)
  try {
    assert.equal(resolver.known('mcr.microsoft.com'), undefined)
    assert.deepEqual(await resolver.resolve('mcr.microsoft.com'), { ok: true, addresses: ['20.61.99.1'], source: 'dns' })
    assert.equal(queries, 2) // A and AAAA
    now += 19_000
    assert.deepEqual(resolver.known('mcr.microsoft.com'), { ok: true, addresses: ['20.61.99.1'], source: 'cache' })
    assert.deepEqual(await resolver.resolve('mcr.microsoft.com'), { ok: true, addresses: ['20.61.99.1'], source: 'cache' })
    now += 2_000 // past the 20 s cap (the TTL was 30 s)
    assert.equal(resolver.known('mcr.microsoft.com'), undefined)
    assert.equal((await resolver.resolve('mcr.microsoft.com')).ok && queries, 4)
    await resolver.resolve('packages.microsoft.com') // evicts mcr (one entry)
    assert.deepEqual(await resolver.resolve('mcr.microsoft.com'), { ok: true, addresses: ['20.61.99.1'], source: 'dns' })
  } finally {
    resolver.close()
    server.close()
  }
})
