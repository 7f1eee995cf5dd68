// dialChecked: the next checked address is tried when one refuses; refused classes are reported;
// a name no address of which may be dialled is never connected to.
import assert from 'node:assert/strict'
import { createServer, type AddressInfo } from 'node:net'
import { test } from 'node:test'
import { compileAllowedRanges, NO_ALLOWED_RANGES } from './classify-address.ts'
import { connectOnce, dialChecked, resolveChecked, resolveCheckedKnown } from './dial-checked.ts'
import { NameResolver } from './resolve.ts'

const r = (): number => 16 + Math.floor(Math.random() * 200)

test('an address that refuses is skipped for the next one of the name', async () => {
  const server = createServer((s) => s.end())
  const live = `127.${r()}.${r()}.${r()}`
  const dead = `127.${r()}.${r()}.${r()}`
  await new Promise<void>((resolve) => server.listen(0, live, resolve))
  const port = (server.address() as AddressInfo).port
  const resolver = new NameResolver({ hosts: new Map([['mcr.microsoft.com', [dead, '10.1.2.3', live]]]), timeoutMs: 1000, cacheMaxEntries: 0, cacheMaxTtlSeconds: 0 })
  try {
    const result = await dialChecked('mcr.microsoft.com', port, {
      resolver,
      classify: { allowed: compileAllowedRanges(['127.0.0.0/8']), listening: [], localAddresses: [] },
      dialTimeoutMs: 1000,
      maxAttempts: 4,
    })
    assert.equal(result.ok, true)
    assert.equal(result.address, live)
    assert.deepEqual(result.refused, [{ address: '10.1.2.3', cls: 'private' }])
    result.socket.destroy()
  } finally {
    server.close()
    resolver.close()
  }
})

test('a name whose addresses are all refused is never dialled', async () => {
  const resolver = new NameResolver({ hosts: new Map([['imds.example', ['169.254.169.254', '::ffff:127.0.0.1', '168.63.129.16']]]), timeoutMs: 1000, cacheMaxEntries: 0, cacheMaxTtlSeconds: 0 })
  const result = await dialChecked('imds.example', 80, { resolver, classify: { allowed: NO_ALLOWED_RANGES, listening: [], localAddresses: [] }, dialTimeoutMs: 1000, maxAttempts: 4 })
  resolver.close()
  assert.equal(result.ok, false)
  assert.equal(result.failure, 'DESTINATION_FORBIDDEN')
  assert.equal(result.detail, 'imds.example resolves only to addresses the proxy may not dial (link-local, ipv4-mapped, azure-wireserver)')
  assert.equal(result.connectMs, 0)
})

test('names the resolver knows are checked synchronously, with the same result as resolveChecked; others are left to it', async () => {
  const resolver = new NameResolver({ hosts: new Map([['mcr.microsoft.com', ['10.1.2.3', '127.0.0.5']]]), upstream: ['127.0.0.1:9'], timeoutMs: 200, cacheMaxEntries: 0, cacheMaxTtlSeconds: 0 })
  const options = { resolver, classify: { allowed: compileAllowedRanges(['127.0.0.0/8']), listening: [], localAddresses: [] } }
  try {
    const known = resolveCheckedKnown('mcr.microsoft.com', 443, options)
    const slow = await resolveChecked('mcr.microsoft.com', 443, options)
    assert.ok(known?.ok && slow.ok)
    assert.deepEqual(known.allowed, ['127.0.0.5'])
    assert.deepEqual(known.refused, [{ address: '10.1.2.3', cls: 'private' }])
    assert.deepEqual({ ...known, dnsMs: 0 }, { ...slow, dnsMs: 0 })
    const literal = resolveCheckedKnown('169.254.169.254', 80, options)
    assert.equal(literal?.ok === false && literal.failure, 'DESTINATION_FORBIDDEN')
    assert.equal(resolveCheckedKnown('packages.microsoft.com', 443, options), undefined)
    const aborted = resolveCheckedKnown('mcr.microsoft.com', 443, { ...options, signal: { aborted: true, addEventListener: () => {}, removeEventListener: () => {} } })
    assert.equal(aborted?.ok === false && aborted.failure, 'ABORTED')
  } finally {
    resolver.close()
  }
})

test('a cancel that is already aborted (the client went away) stops the dial; listeners are removed after a dial', async () => {
  const server = createServer((s) => s.end())
  const live = `127.${r()}.${r()}.${r()}`
  await new Promise<void>((resolve) => server.listen(0, live, resolve))
  const port = (server.address() as AddressInfo).port
  const resolver = new NameResolver({ hosts: new Map([['mcr.microsoft.com', [live]]]), timeoutMs: 1000, cacheMaxEntries: 0, cacheMaxTtlSeconds: 0 })
  const listeners = new Set<() => void>()
  const cancel = {
    aborted: false,
    addEventListener: (_t: 'abort', l: () => void) => listeners.add(l),
    removeEventListener: (_t: 'abort', l: () => void) => listeners.delete(l),
  }
  const options = { resolver, classify: { allowed: compileAllowedRanges(['127.0.0.0/8']), listening: [], localAddresses: [] }, dialTimeoutMs: 1000, maxAttempts: 4, signal: cancel }
  try {
    const ok = await dialChecked('mcr.microsoft.com', port, options)
    assert.ok(ok.ok)
    ok.socket.destroy()
    assert.equal(listeners.size, 0)
    cancel.aborted = true
    const aborted = await dialChecked('mcr.microsoft.com', port, options)
    assert.ok(!aborted.ok)
    assert.equal(aborted.failure, 'ABORTED')
  } finally {
    server.close()
    resolver.close()
  }
})

test('an origin that resets after the connect, before anyone reads it, does not throw (it used to end the process)', async () => {
  const server = createServer((s) => {
    setTimeout(() => s.resetAndDestroy(), 20)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  try {
    const socket = await connectOnce('127.0.0.1', port, 1000)
    assert.ok(typeof socket !== 'string')
    // Not events.once: it would reject on the 'error' that the listener of connectOnce swallows.
    await new Promise((resolve) => socket.once('close', resolve))
    assert.equal(socket.destroyed, true)
  } finally {
    server.close()
  }
})

test('connectOnce settles once, by connect, refusal or cancel, and leaves only its error guard on the socket', async () => {
  const server = createServer((s) => s.end())
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  try {
    const socket = await connectOnce('127.0.0.1', port, 1000)
    assert.ok(typeof socket !== 'string')
    assert.equal(socket.listenerCount('connect'), 0)
    assert.equal(socket.listenerCount('error'), 1)
    socket.destroy()
    // A refusal: a port nobody listens on (the one just closed by a server of our own).
    const gone = createServer()
    await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve))
    const deadPort = (gone.address() as AddressInfo).port
    await new Promise<void>((resolve) => gone.close(() => {
      resolve()
    }))
    assert.equal(await connectOnce('127.0.0.1', deadPort, 1000), 'ECONNREFUSED')
    // A cancel while connecting: its listener is called once and removed.
    const listeners = new Set<() => void>()
    const cancel = {
      aborted: false,
      addEventListener: (_t: 'abort', l: () => void) => listeners.add(l),
      removeEventListener: (_t: 'abort', l: () => void) => listeners.delete(l),
    }
    const pending = connectOnce('127.0.0.1', port, 1000, cancel)
    assert.equal(listeners.size, 1)
    for (const l of [...listeners]) l()
    assert.equal(await pending, 'ABORTED')
    assert.equal(listeners.size, 0)
  } finally {
    server.close()
  }
})
