// LiteSocket and LiteServer (src/net/lite-socket.ts) against real loopback sockets, with a plain
// net.Socket / net.Server as the peer and LiteSocket ↔ LiteSocket: the semantics contract of
// src/net/stream-socket.ts. Listening (127.0.0.1, ::1, EADDRINUSE, close() while a connection
// lives), connecting (refused, IPv6), 'data' only while resumed and nothing lost across a pause,
// byte counts, write callbacks, backpressure ('drain' after a 16 MiB write to a peer that does
// not read), half-close both ways, end(chunk), destroySoon(), destroy() with and without an
// error, the inactivity timeout, the `onread` sink and its buffer switch, a peer's reset, and no
// handle left behind after many connections. Every server and socket a test opens it closes.
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { EventEmitter, once } from 'node:events'
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { test, type TestContext } from 'node:test'
import { LiteServer, LiteSocket, liteSelfTest, liteSocketsAvailable, type LiteOnRead } from './lite-socket.ts'
import type { StreamSocket } from './stream-socket.ts'

const T = { timeout: 15_000 }

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

function sha(buf: Uint8Array): string {
  return createHash('sha256').update(buf).digest('hex')
}

/** Whether this host can listen on ::1 (IPv6 loopback). */
const ipv6 = await new Promise<boolean>((resolve) => {
  const s = createServer()
  s.once('error', () => {
    resolve(false)
  })
  s.listen(0, '::1', () => {
    s.close(() => {
      resolve(true)
    })
  })
})

/** What a test opened: closed (sockets destroyed, servers closed, all awaited) after it. */
class Opened {
  readonly sockets = new Set<StreamSocket>()
  readonly servers = new Set<Server | LiteServer>()

  constructor(t: TestContext) {
    // Bounded: a socket that never closes (a broken implementation) fails the test, not the run.
    t.after(() => this.closeAll(), { timeout: 5000 })
  }

  socket<S extends StreamSocket>(s: S): S {
    this.sockets.add(s)
    return watchClose(s)
  }

  async closeAll(): Promise<void> {
    const waits: Promise<unknown>[] = []
    for (const s of this.sockets) {
      if (!s.closed) {
        // Errors of a socket destroyed here are not the test's business.
        s.on('error', () => {})
        waits.push(once(s, 'close'))
        s.destroy()
      }
    }
    await Promise.all(waits)
    for (const server of this.servers) {
      if (server instanceof LiteServer) server.close()
      else if (server.listening) await new Promise((resolve) => server.close(resolve))
    }
  }

  /** A net.Server (half-open, as the proxy's) on `host`:0; its accepted sockets are tracked. */
  async netServer(host = '127.0.0.1', options: { pauseOnConnect?: boolean } = {}): Promise<{ server: Server; port: number }> {
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: options.pauseOnConnect === true }, (s) => this.socket(s))
    this.servers.add(server)
    await new Promise<void>((resolve) => server.listen(0, host, resolve))
    return { server, port: (server.address() as AddressInfo).port }
  }

  liteServer(host = '127.0.0.1'): { server: LiteServer; port: number } {
    const server = new LiteServer()
    this.servers.add(server)
    const { port } = server.listen(host, 0)
    // Accepted sockets are tracked before any test listener sees them.
    server.on('connection', (s: LiteSocket) => this.socket(s))
    return { server, port }
  }

  netConnect(port: number, host = '127.0.0.1'): Socket {
    return this.socket(connect({ host, port, allowHalfOpen: true }))
  }

  liteConnect(port: number, host = '127.0.0.1', onread?: LiteOnRead): LiteSocket {
    return this.socket(LiteSocket.connect({ host, port, ...(onread ? { onread } : {}) }))
  }

  /**
   * A connected LiteSocket (dialled) and its peer, a net.Socket accepted by a net.Server;
   * `pauseOnConnect`: the peer does not read until resumed (a slow reader).
   */
  async liteToNet(options: { pauseOnConnect?: boolean } = {}): Promise<{ lite: LiteSocket; peer: Socket }> {
    const { server, port } = await this.netServer('127.0.0.1', options)
    const accepted = once(server, 'connection') as Promise<[Socket]>
    const lite = this.liteConnect(port)
    const [[peer]] = await Promise.all([accepted, once(lite, 'connect')])
    return { lite, peer }
  }

  /** A LiteSocket accepted by a LiteServer, its peer a net.Socket that dialled. */
  async netToLite(): Promise<{ lite: LiteSocket; peer: Socket }> {
    const { server, port } = this.liteServer()
    const accepted = once(server, 'connection') as Promise<[LiteSocket]>
    const peer = this.netConnect(port)
    const [[lite]] = await Promise.all([accepted, once(peer, 'connect')])
    return { lite, peer }
  }

  /** LiteSocket ↔ LiteSocket: `client` dialled, `accepted` by a LiteServer (paused). */
  async litePair(host = '127.0.0.1'): Promise<{ client: LiteSocket; accepted: LiteSocket }> {
    const { server, port } = this.liteServer(host)
    const acceptedP = once(server, 'connection') as Promise<[LiteSocket]>
    const client = this.liteConnect(port, host)
    const [[accepted]] = await Promise.all([acceptedP, once(client, 'connect')])
    return { client, accepted }
  }
}

/** The socket's events, in order, from now on. */
function record(s: EventEmitter, names: readonly string[] = ['connect', 'data', 'end', 'finish', 'drain', 'timeout', 'error', 'close']): string[] {
  const log: string[] = []
  for (const name of names) s.on(name, () => log.push(name))
  return log
}

/** Resumes `s` and reads everything until the peer's FIN. */
/** `a` ends with `aData` and `b` with `bData` at once; each must read exactly what the other sent. */
async function endBothWays(a: StreamSocket, b: StreamSocket, aData: Buffer | string, bData: Buffer | string): Promise<void> {
  const atB = readAll(b)
  const atA = readAll(a)
  a.end(aData)
  b.end(bData)
  assert.equal(sha(await atB), sha(Buffer.from(aData)))
  assert.equal(sha(await atA), sha(Buffer.from(bData)))
}

function readAll(s: StreamSocket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    s.on('data', (c: Buffer) => chunks.push(c))
    s.once('end', () => {
      resolve(Buffer.concat(chunks))
    })
    s.once('error', reject)
    s.resume()
  })
}

/** `hadError` of the sockets that closed, for `closed` (set by a listener `watchClose` adds first). */
const closedWith = new WeakMap<StreamSocket, boolean>()

function watchClose<S extends StreamSocket>(s: S): S {
  s.once('close', (hadError: boolean) => closedWith.set(s, hadError))
  return s
}

/** Resolves with `hadError` when `s` closes (at once if it has, for a socket given to `watchClose`). */
function closed(s: StreamSocket): Promise<boolean> {
  const had = closedWith.get(s)
  if (had !== undefined) return Promise.resolve(had)
  assert.equal(s.closed, false, 'closed() of a socket that closed unwatched')
  return new Promise((resolve) => s.once('close', resolve))
}

/** A port nobody listens on: one a server of our own just let go. */
async function deadPort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const port = (s.address() as AddressInfo).port
  await new Promise((resolve) => s.close(resolve))
  return port
}

function tcpHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP')).length
}

// ---------------------------------------------------------------------------------------------

test('liteSocketsAvailable() is true on this Node', () => {
  assert.equal(liteSocketsAvailable(), true)
})

test('liteSelfTest(): an echo over loopback passes and leaves no handle; one given no time says why, and leaves none either', T, async () => {
  await sleep(50)
  const before = tcpHandles()
  assert.equal(await liteSelfTest(), undefined)
  // With no time at all it gives up (or, on a fast loopback, finishes within the timer's first
  // millisecond): either way it says nothing else and leaves nothing open.
  const late = await liteSelfTest(0)
  if (late !== undefined) assert.match(late, /^no echo over loopback within 0 ms$/)
  await sleep(50)
  assert.ok(tcpHandles() <= before, `${tcpHandles()} TCP handles, ${before} before`)
})

test('LiteServer on 127.0.0.1:0: address(), each connection a paused LiteSocket with the peer address and port', T, async (t) => {
  const o = new Opened(t)
  const { server, port } = o.liteServer('127.0.0.1')
  assert.ok(port > 0)
  assert.deepEqual(server.address(), { address: '127.0.0.1', port })
  const accepted = once(server, 'connection') as Promise<[LiteSocket]>
  const peer = o.netConnect(port)
  await once(peer, 'connect')
  const [lite] = await accepted
  assert.ok(lite instanceof LiteSocket)
  assert.equal(lite.isPaused(), true)
  assert.equal(lite.remoteAddress, '127.0.0.1')
  assert.equal(lite.remotePort, peer.localPort)
  assert.equal(lite.destroyed, false)
  assert.equal(lite.closed, false)
  assert.equal(lite.connecting, false)
  // Paused: the peer's bytes wait.
  const log = record(lite)
  peer.write('hello')
  await sleep(50)
  assert.deepEqual(log, [])
  const data = once(lite, 'data') as Promise<[Buffer]>
  lite.resume()
  assert.equal((await data)[0].toString(), 'hello')
})

test('LiteServer on ::1, and LiteSocket.connect to ::1: data both ways', { ...T, skip: ipv6 ? false : '::1 is not available here' }, async (t) => {
  const o = new Opened(t)
  const { server, port } = o.liteServer('::1')
  assert.deepEqual(server.address(), { address: '::1', port })
  // A net.Socket dials the LiteServer.
  const acceptedP = once(server, 'connection') as Promise<[LiteSocket]>
  const peer = o.netConnect(port, '::1')
  await once(peer, 'connect')
  const [accepted] = await acceptedP
  assert.equal(accepted.remoteAddress, '::1')
  assert.equal(accepted.remotePort, peer.localPort)
  // LiteSocket ↔ LiteSocket over ::1.
  const { client, accepted: other } = await o.litePair('::1')
  assert.equal(client.remoteAddress, '::1')
  assert.equal(other.remoteAddress, '::1')
  await endBothWays(client, other, 'ping6', 'pong6')
  // LiteSocket.connect to a net.Server on ::1.
  const { server: netServer, port: netPort } = await o.netServer('::1')
  const peerP = once(netServer, 'connection') as Promise<[Socket]>
  const lite = o.liteConnect(netPort, '::1')
  await once(lite, 'connect')
  const [netPeer] = await peerP
  assert.equal(netPeer.remoteAddress, '::1')
  const got = once(netPeer, 'data') as Promise<[Buffer]>
  lite.write('v6')
  assert.equal((await got)[0].toString(), 'v6')
})

test('listen on a port in use throws an error with code EADDRINUSE (held by a net.Server, and by a LiteServer)', T, async (t) => {
  const o = new Opened(t)
  const { port: netPort } = await o.netServer('127.0.0.1')
  assert.throws(() => new LiteServer().listen('127.0.0.1', netPort), (e: NodeJS.ErrnoException) => e.code === 'EADDRINUSE' && e.syscall === 'listen')
  const { port: litePort } = o.liteServer('127.0.0.1')
  const second = new LiteServer()
  assert.throws(() => second.listen('127.0.0.1', litePort), { code: 'EADDRINUSE' })
  assert.equal(second.address(), null)
  second.close()
  // The failed listens left no handle: the port is still served by the first LiteServer.
  const peer = o.netConnect(litePort)
  await once(peer, 'connect')
})

test('LiteServer.close() stops accepting (a new connect is refused) while an accepted connection keeps working', T, async (t) => {
  const o = new Opened(t)
  const { server, port } = o.liteServer()
  const accepted = once(server, 'connection') as Promise<[LiteSocket]>
  const peer = o.netConnect(port)
  const [[lite]] = await Promise.all([accepted, once(peer, 'connect')])
  let later = 0
  server.on('connection', () => later++)
  server.close()
  assert.equal(server.address(), null)
  server.close() // twice: harmless
  const refused = o.netConnect(port)
  const [err] = (await once(refused, 'error')) as [NodeJS.ErrnoException]
  assert.equal(err.code, 'ECONNREFUSED')
  // The accepted connection still works both ways.
  const up = readAll(lite)
  peer.end('still here')
  assert.equal((await up).toString(), 'still here')
  const down = readAll(peer)
  lite.end('and back')
  assert.equal((await down).toString(), 'and back')
  assert.equal(await closed(lite), false)
  assert.equal(later, 0)
})

test('LiteSocket.connect to a net.Server: connect, then data both ways; byte counts', T, async (t) => {
  const o = new Opened(t)
  const { server, port } = await o.netServer()
  const peerP = once(server, 'connection') as Promise<[Socket]>
  const lite = o.liteConnect(port)
  assert.equal(lite.connecting, true)
  assert.equal(lite.remoteAddress, '127.0.0.1')
  assert.equal(lite.remotePort, port)
  const log = record(lite, ['connect', 'error', 'close'])
  await once(lite, 'connect')
  assert.equal(lite.connecting, false)
  assert.deepEqual(log, ['connect'])
  const [peer] = await peerP
  const upData = randomBytes(300_000)
  const downData = randomBytes(200_001)
  await endBothWays(lite, peer, upData, downData)
  assert.equal(await closed(lite), false)
  assert.equal(lite.bytesWritten, upData.length)
  assert.equal(lite.bytesRead, downData.length)
})

test('LiteSocket ↔ LiteSocket: data both ways, byte counts, both close by themselves after both FINs', T, async (t) => {
  const o = new Opened(t)
  const { client, accepted } = await o.litePair()
  assert.equal(accepted.remotePort !== undefined && accepted.remotePort > 0, true)
  const a = randomBytes(1_000_000)
  const b = randomBytes(777_777)
  await endBothWays(client, accepted, a, b)
  const [c1, c2] = await Promise.all([closed(client), closed(accepted)])
  assert.equal(c1, false)
  assert.equal(c2, false)
  assert.deepEqual([client.bytesWritten, client.bytesRead, accepted.bytesWritten, accepted.bytesRead], [a.length, b.length, b.length, a.length])
})

test('connect to a closed port: error ECONNREFUSED, then close(hadError true), destroyed and closed; never connect', T, async (t) => {
  const o = new Opened(t)
  const port = await deadPort()
  const lite = o.liteConnect(port)
  const log = record(lite, ['connect', 'error', 'close', 'end', 'finish'])
  let error: NodeJS.ErrnoException | undefined
  lite.on('error', (e: NodeJS.ErrnoException) => (error = e))
  const hadError = await closed(lite)
  assert.equal(hadError, true)
  assert.equal(error?.code, 'ECONNREFUSED')
  assert.equal(error.syscall, 'connect')
  assert.deepEqual(log, ['error', 'close'])
  assert.equal(lite.destroyed, true)
  assert.equal(lite.closed, true)
  await sleep(20)
  assert.deepEqual(log, ['error', 'close'])
  // A write then fails without throwing.
  const [werr] = await new Promise<[Error | null | undefined]>((resolve) => {
    assert.equal(
      lite.write('x', (e) => {
        resolve([e])
      }),
      false,
    )
  })
  assert.ok(werr instanceof Error)
})

test('writes while connecting are kept and sent in order once connected; end(chunk) too; a refused connect calls them back with its error', T, async (t) => {
  const o = new Opened(t)
  const { server, port } = await o.netServer()
  const peerP = once(server, 'connection') as Promise<[Socket]>
  const lite = o.liteConnect(port)
  assert.equal(lite.connecting, true)
  const calls: string[] = []
  assert.equal(lite.write('one,', (e) => calls.push(`one ${String(e ?? 'ok')}`)), false)
  lite.write(Buffer.from('two,'), (e) => calls.push(`two ${String(e ?? 'ok')}`))
  lite.end('three')
  const [peer] = await peerP
  assert.equal((await readAll(peer)).toString(), 'one,two,three')
  assert.deepEqual(calls, ['one ok', 'two ok'])
  assert.equal(lite.writableLength, 0)

  const refused = o.liteConnect(await deadPort())
  refused.on('error', () => {})
  const failed = await new Promise<Error | null | undefined>((resolve) => refused.write('lost', resolve))
  assert.ok(failed instanceof Error)
  assert.equal((failed as NodeJS.ErrnoException).code, 'ECONNREFUSED')
})

test("setTimeout(ms): no 'timeout' while a large write is still draining to a slow reader (as net.Socket), one once nothing moves", T, async (t) => {
  const o = new Opened(t)
  const { lite, peer } = await o.liteToNet({ pauseOnConnect: true })
  const data = randomBytes(12 * 1024 * 1024)
  let count = 0
  const timeouts = (): number => count
  lite.setTimeout(200, () => count++)
  let done = false
  lite.write(data, () => (done = true))
  assert.ok(lite.writableLength > 0, 'the write is queued')
  // The reader takes a chunk every 5 ms: the queue shrinks between two firings of the timer.
  let got = 0
  peer.on('data', (c: Buffer) => {
    got += c.length
    peer.pause()
    setTimeout(() => peer.resume(), 5)
  })
  peer.resume()
  while (!done) await sleep(25)
  assert.equal(got > 0, true)
  assert.equal(timeouts(), 0, 'no timeout while the write made progress')
  // Now nothing moves either way: the timeout comes.
  peer.pause()
  await sleep(500)
  assert.ok(timeouts() >= 1, `timeouts ${timeouts()}`)
})

test("'data' only after resume(); pause() stops it; what the peer writes meanwhile arrives after resume, byte-exact; byte counts", T, async (t) => {
  const o = new Opened(t)
  const { lite, peer } = await o.netToLite()
  const data = randomBytes(4 * 1024 * 1024)
  const chunks: Buffer[] = []
  let events = 0
  lite.on('data', (c: Buffer) => {
    events++
    chunks.push(c)
  })
  const ended = once(lite, 'end')
  // The peer writes everything while the LiteSocket is paused: nothing may arrive.
  peer.end(data)
  await sleep(100)
  assert.equal(events, 0)
  assert.equal(lite.bytesRead, 0)
  // Resume until the first 'data', then pause again: 'data' stops.
  lite.resume()
  await once(lite, 'data')
  lite.pause()
  assert.equal(lite.isPaused(), true)
  const seen = events
  await sleep(100)
  assert.equal(events, seen, "'data' while paused")
  assert.ok(lite.bytesRead < data.length)
  // Pause and resume from inside 'data' too.
  let n = 0
  lite.on('data', () => {
    if (++n % 5 === 0) {
      lite.pause()
      setTimeout(() => lite.resume(), 1)
    }
  })
  lite.resume()
  await ended
  const got = Buffer.concat(chunks)
  assert.equal(got.length, data.length)
  assert.equal(sha(got), sha(data))
  assert.equal(lite.bytesRead, data.length)
  assert.equal(lite.readableEnded, true)
  assert.equal(lite.bytesWritten, 0)
  const back = Buffer.from('x'.repeat(1000))
  lite.end(back)
  assert.equal(lite.bytesWritten, back.length)
  assert.equal((await readAll(peer)).length, back.length)
})

test('write(): every callback runs once, in order, small (sync) and queued (async) writes alike; strings are UTF-8', T, async (t) => {
  const o = new Opened(t)
  const { lite, peer } = await o.liteToNet()
  peer.pause()
  const order: number[] = []
  let syncCalls = 0
  let inWrite = true
  assert.equal(
    lite.write('é€', () => {
      order.push(0)
      if (inWrite) syncCalls++
    }),
    true,
  )
  inWrite = false
  // 64 writes of 256 KiB to a peer that does not read: later ones queue.
  const parts = Array.from({ length: 64 }, () => randomBytes(256 * 1024))
  let sawFalse = false
  parts.forEach((p, i) => {
    if (!lite.write(p, () => order.push(i + 1))) sawFalse = true
  })
  assert.ok(sawFalse)
  assert.ok(order.length < parts.length + 1, 'every write completed while the peer did not read')
  const got = readAll(peer)
  lite.end()
  const all = await got
  assert.deepEqual(order, Array.from({ length: parts.length + 1 }, (_, i) => i))
  assert.equal(sha(all), sha(Buffer.concat([Buffer.from('é€', 'utf8'), ...parts])))
  assert.ok(syncCalls <= 1)
})

/** A 16 MiB write from `writer` to `reader` (which does not read until told), the contract's backpressure. */
async function bigWrite(writer: StreamSocket, startReading: () => void, received: Promise<Buffer>): Promise<void> {
  const data = randomBytes(16 * 1024 * 1024)
  let drains = 0
  writer.on('drain', () => drains++)
  let cbErr: Error | null | undefined = null
  let called = 0
  const ret = writer.write(data, (e) => {
    called++
    cbErr = e
  })
  assert.equal(ret, false)
  assert.ok(writer.writableLength > 0)
  await sleep(100)
  // The peer does not read: still queued, no 'drain'.
  assert.ok(writer.writableLength > 0)
  assert.equal(drains, 0)
  assert.equal(called, 0)
  startReading()
  await once(writer, 'drain')
  assert.equal(writer.writableLength, 0)
  assert.equal(called, 1)
  assert.equal(cbErr, undefined)
  writer.end()
  const got = await received
  assert.equal(got.length, data.length)
  assert.equal(sha(got), sha(data))
  assert.equal(drains, 1)
  assert.equal(writer.bytesWritten, data.length)
}

test("a 16 MiB write to a net.Socket that does not read: false, writableLength > 0, 'drain' once it reads, every byte in order", T, async (t) => {
  const o = new Opened(t)
  const { lite, peer } = await o.liteToNet({ pauseOnConnect: true })
  let startRead!: () => void
  const received = new Promise<Buffer>((resolve, reject) => {
    startRead = () => {
      readAll(peer).then(resolve, reject)
    }
  })
  await bigWrite(lite, startRead, received)
})

test("LiteSocket ↔ LiteSocket: a 16 MiB write to one that is paused: 'drain' after resume, every byte in order", T, async (t) => {
  const o = new Opened(t)
  const { client, accepted } = await o.litePair()
  const chunks: Buffer[] = []
  accepted.on('data', (c: Buffer) => chunks.push(c))
  const received = once(accepted, 'end').then(() => Buffer.concat(chunks))
  await bigWrite(client, () => accepted.resume(), received)
})

test("half-close: the peer's FIN gives 'end' and readableEnded, the socket still writes; end() then closes it ('close' once)", T, async (t) => {
  const o = new Opened(t)
  const { lite, peer } = await o.netToLite()
  const log = record(lite, ['end', 'finish', 'error', 'close'])
  const peerGot = readAll(peer)
  lite.resume()
  peer.end()
  await once(lite, 'end')
  assert.equal(lite.readableEnded, true)
  assert.equal(lite.destroyed, false)
  assert.equal(lite.writableEnded, false)
  // Still writable after the peer's FIN, many times.
  for (let i = 0; i < 10; i++) lite.write(`line ${i}\n`)
  await sleep(30)
  assert.equal(lite.destroyed, false)
  lite.end('last')
  assert.equal(lite.writableEnded, true)
  const hadError = await closed(lite)
  assert.equal(hadError, false)
  assert.equal(lite.writableFinished, true)
  assert.equal((await peerGot).toString(), Array.from({ length: 10 }, (_, i) => `line ${i}\n`).join('') + 'last')
  await sleep(20)
  assert.deepEqual(log, ['end', 'finish', 'close'])
})

test("end(): the peer sees the FIN after every byte, 'finish' and writableFinished; the peer's later FIN closes the socket ('close' once)", T, async (t) => {
  const o = new Opened(t)
  const { lite, peer } = await o.liteToNet()
  const log = record(lite, ['end', 'finish', 'error', 'close'])
  lite.resume()
  const data = randomBytes(3 * 1024 * 1024)
  const peerGot = readAll(peer)
  lite.write(data)
  lite.end()
  assert.equal(lite.writableEnded, true)
  assert.equal(sha(await peerGot), sha(data))
  if (!lite.writableFinished) await once(lite, 'finish')
  assert.equal(lite.writableFinished, true)
  // The peer may still write back (half-open).
  assert.equal(lite.destroyed, false)
  const back = once(lite, 'data') as Promise<[Buffer]>
  peer.write('after your FIN')
  assert.equal((await back)[0].toString(), 'after your FIN')
  assert.deepEqual(log, ['finish'])
  peer.end()
  assert.equal(await closed(lite), false)
  await sleep(20)
  assert.deepEqual(log, ['finish', 'end', 'close'])
  assert.equal(lite.closed, true)
})

test('LiteSocket ↔ LiteSocket half-close: each side writes after the other one ended', T, async (t) => {
  const o = new Opened(t)
  const { client, accepted } = await o.litePair()
  const clientLog = record(client, ['end', 'finish', 'error', 'close'])
  const acceptedLog = record(accepted, ['end', 'finish', 'error', 'close'])
  const up = readAll(accepted)
  client.end('question')
  assert.equal((await up).toString(), 'question')
  assert.equal(accepted.readableEnded, true)
  const down = readAll(client)
  accepted.write('answer, ')
  await sleep(20)
  accepted.end('after your FIN')
  assert.equal((await down).toString(), 'answer, after your FIN')
  await Promise.all([accepted.closed ? undefined : closed(accepted), client.closed ? undefined : closed(client)])
  await sleep(20)
  assert.deepEqual(clientLog, ['finish', 'end', 'close'])
  assert.deepEqual(acceptedLog, ['end', 'finish', 'close'])
})

test('end(chunk) sends the chunk then the FIN; end() twice and end(chunk) after end() add nothing', T, async (t) => {
  const o = new Opened(t)
  const { lite, peer } = await o.liteToNet()
  const got = readAll(peer)
  lite.end('the chunk')
  lite.end()
  lite.end('ignored')
  assert.equal((await got).toString(), 'the chunk')
  assert.equal(lite.bytesWritten, 'the chunk'.length)
  peer.end()
  lite.resume()
  assert.equal(await closed(lite), false)
})

test('destroySoon() with bytes still queued: every byte is delivered, then the FIN, then the socket closes', T, async (t) => {
  const o = new Opened(t)
  const { lite, peer } = await o.liteToNet({ pauseOnConnect: true })
  const log = record(lite, ['finish', 'error', 'close'])
  const data = randomBytes(8 * 1024 * 1024)
  assert.equal(lite.write(data), false)
  lite.destroySoon()
  assert.equal(lite.writableEnded, true)
  await sleep(50)
  assert.equal(lite.destroyed, false, 'destroyed before its bytes were sent')
  const got = await readAll(peer)
  assert.equal(sha(got), sha(data))
  if (!lite.closed) assert.equal(await closed(lite), false)
  assert.deepEqual(log, ['finish', 'close'])
  assert.equal(lite.destroyed, true)
})

test("destroy() without an error: 'close'(false) once, no 'error'; twice is harmless; a write after it fails; the peer sees the close", T, async (t) => {
  const o = new Opened(t)
  const { lite, peer } = await o.liteToNet()
  const log = record(lite, ['end', 'finish', 'error', 'close'])
  const closeArgs: unknown[] = []
  lite.on('close', (hadError: boolean) => closeArgs.push(hadError))
  const peerEnd = readAll(peer)
  lite.destroy()
  lite.destroy()
  assert.equal(lite.destroyed, true)
  let writeErr: Error | null | undefined
  assert.equal(
    lite.write('late', (e) => (writeErr = e)),
    false,
  )
  await once(lite, 'close')
  lite.destroy()
  await sleep(30)
  assert.deepEqual(log, ['close'])
  assert.deepEqual(closeArgs, [false])
  assert.equal(lite.closed, true)
  assert.ok(writeErr instanceof Error, 'the write callback got an error')
  // The peer (half-open) sees the FIN of the close as its 'end'.
  assert.equal((await peerEnd).length, 0)
})

test("destroy(err): 'error' with that error, then 'close'(true), each once, even if destroy is called again", T, async (t) => {
  const o = new Opened(t)
  const { client, accepted } = await o.litePair()
  const log = record(client, ['end', 'finish', 'error', 'close'])
  const errors: unknown[] = []
  client.on('error', (e) => errors.push(e))
  const closeArgs: unknown[] = []
  client.on('close', (hadError: boolean) => closeArgs.push(hadError))
  const boom = new Error('boom')
  client.destroy(boom)
  client.destroy(new Error('second'))
  client.destroy()
  assert.equal(await closed(client), true)
  await sleep(30)
  assert.deepEqual(log, ['error', 'close'])
  assert.deepEqual(errors, [boom])
  assert.deepEqual(closeArgs, [true])
  let writeErr: Error | null | undefined
  assert.equal(
    client.write('late', (e) => (writeErr = e)),
    false,
  )
  await sleep(5)
  assert.ok(writeErr instanceof Error)
  // The LiteSocket peer sees the close as its 'end' (then it may close too).
  const got = await readAll(accepted)
  assert.equal(got.length, 0)
})

test("destroy() with writes queued: each write's callback still runs once", T, async (t) => {
  const o = new Opened(t)
  const { lite } = await o.liteToNet({ pauseOnConnect: true })
  let calls = 0
  for (let i = 0; i < 8; i++) lite.write(randomBytes(1024 * 1024), () => calls++)
  assert.ok(lite.writableLength > 0)
  lite.destroy()
  await once(lite, 'close')
  await sleep(20)
  assert.equal(calls, 8)
})

test("setTimeout(ms): 'timeout' after inactivity, refreshed by reads and writes; setTimeout(0) cancels; none after destroy", T, async (t) => {
  const o = new Opened(t)
  const { lite, peer } = await o.liteToNet()
  lite.resume()
  peer.resume()
  // Fires after inactivity, with the callback as a 'timeout' listener.
  let fired = 0
  const t0 = performance.now()
  lite.setTimeout(150, () => fired++)
  await once(lite, 'timeout')
  const after = performance.now() - t0
  assert.equal(fired, 1)
  assert.ok(after >= 140, `fired after ${after.toFixed(0)} ms`)
  assert.equal(lite.destroyed, false, "a 'timeout' does not close the socket")
  // Reads keep it from firing: the peer writes every 25 ms for 500 ms.
  let timeouts = 0
  const onTimeout = (): void => {
    timeouts++
  }
  lite.on('timeout', onTimeout)
  lite.setTimeout(200)
  for (let i = 0; i < 20; i++) {
    peer.write('r')
    await sleep(25)
  }
  assert.equal(timeouts, 0, 'timed out while reading')
  // Writes keep it from firing too.
  for (let i = 0; i < 20; i++) {
    lite.write('w')
    await sleep(25)
  }
  assert.equal(timeouts, 0, 'timed out while writing')
  // setTimeout(0) cancels.
  lite.setTimeout(0)
  await sleep(300)
  assert.equal(timeouts, 0, 'fired after setTimeout(0)')
  // A timer set, then the socket destroyed: it never fires (and it did not keep anything alive).
  lite.setTimeout(50)
  lite.destroy()
  await once(lite, 'close')
  await sleep(150)
  assert.equal(timeouts, 0, 'fired after destroy')
  lite.removeListener('timeout', onTimeout)
})

test("setTimeout(ms): after a 'timeout' that is ignored, new activity re-arms it (as net.Socket does)", T, async (t) => {
  const o = new Opened(t)
  // The reference: a net.Socket, and the LiteSocket, in the same scenario.
  const { lite, peer } = await o.liteToNet()
  const { server, port } = await o.netServer()
  const netPeerP = once(server, 'connection') as Promise<[Socket]>
  const node = o.netConnect(port)
  await once(node, 'connect')
  const [netPeer] = await netPeerP
  for (const [s, p] of [
    [node, netPeer],
    [lite, peer],
  ] as const) {
    s.resume()
    let timeouts = 0
    s.on('timeout', () => timeouts++)
    s.setTimeout(100)
    await once(s, 'timeout')
    assert.equal(timeouts, 1)
    // Activity after the timeout, then silence: 'timeout' again.
    p.write('x')
    await once(s, 'data')
    await sleep(300)
    assert.equal(timeouts, 2, `${s === lite ? 'LiteSocket' : 'net.Socket'}: no second 'timeout' after new activity`)
  }
})

test('onread: reads go into the given buffer; returning false pauses; a different buffer from buffer() is used from the next read on', T, async (t) => {
  const o = new Opened(t)
  const { server, port } = await o.netServer()
  const peerP = once(server, 'connection') as Promise<[Socket]>
  const bufA = Buffer.alloc(64)
  const bufB = Buffer.alloc(64)
  let current = bufA
  const reads: { which: 'A' | 'B' | '?'; bytes: Buffer }[] = []
  let pauseNext = true
  let gotRead: (() => void) | undefined
  const onread: LiteOnRead = {
    buffer: () => current,
    callback: (n, buf) => {
      reads.push({ which: buf === bufA ? 'A' : buf === bufB ? 'B' : '?', bytes: Buffer.from(buf.subarray(0, n)) })
      gotRead?.()
      if (pauseNext) {
        pauseNext = false
        // The next read goes into bufB.
        current = bufB
        return false
      }
      return true
    },
  }
  const nextRead = (): Promise<void> =>
    new Promise((resolve) => {
      gotRead = resolve
    })
  const lite = o.liteConnect(port, '127.0.0.1', onread)
  const first = nextRead()
  await once(lite, 'connect')
  // A socket with a sink reads at once.
  assert.equal(lite.isPaused(), false)
  const [peer] = await peerP
  peer.write('first read')
  await first
  assert.deepEqual(reads, [{ which: 'A', bytes: Buffer.from('first read') }])
  assert.equal(bufA.subarray(0, 10).toString(), 'first read')
  // The callback returned false: paused, the peer's next bytes wait.
  assert.equal(lite.isPaused(), true)
  bufA.fill(0x2a)
  peer.write('second read')
  await sleep(80)
  assert.equal(reads.length, 1)
  const second = nextRead()
  lite.resume()
  await second
  assert.deepEqual(reads[1], { which: 'B', bytes: Buffer.from('second read') })
  assert.equal(bufB.subarray(0, 11).toString(), 'second read')
  assert.ok(
    bufA.every((x) => x === 0x2a),
    'the old buffer was written after the switch',
  )
  assert.equal(lite.bytesRead, 'first read'.length + 'second read'.length)
  // Many reads through the 64-byte buffer: every byte, in order.
  const data = randomBytes(256 * 1024)
  const before = reads.length
  const ended = once(lite, 'end')
  peer.end(data)
  await ended
  const rest = reads.slice(before)
  assert.ok(rest.length >= data.length / 64)
  assert.ok(rest.every((r) => r.which === 'B'))
  assert.equal(sha(Buffer.concat(rest.map((r) => r.bytes))), sha(data))
  lite.end()
  assert.equal(await closed(lite), false)
})

test('onread: a large payload through a small buffer arrives byte-exact, with pauses from the callback', T, async (t) => {
  const o = new Opened(t)
  const { server, port } = await o.netServer()
  const peerP = once(server, 'connection') as Promise<[Socket]>
  const buf = Buffer.alloc(1024)
  const chunks: Buffer[] = []
  // The socket, for the callback (it runs only after the connect).
  const ref: { lite?: LiteSocket } = {}
  let n = 0
  const lite0 = o.liteConnect(port, '127.0.0.1', {
    buffer: () => buf,
    callback: (bytes, b) => {
      chunks.push(Buffer.from(b.subarray(0, bytes)))
      if (++n % 50 === 0) {
        setTimeout(() => ref.lite?.resume(), 1)
        return false
      }
      return true
    },
  })
  ref.lite = lite0
  await once(lite0, 'connect')
  const [peer] = await peerP
  const data = randomBytes(2 * 1024 * 1024)
  const ended = once(lite0, 'end')
  peer.end(data)
  await ended
  const got = Buffer.concat(chunks)
  assert.equal(got.length, data.length)
  assert.equal(sha(got), sha(data))
  assert.equal(lite0.bytesRead, data.length)
})

test("a peer's reset: 'error' ECONNRESET then 'close'(true) on a reading LiteSocket, never an uncaught exception", T, async (t) => {
  const o = new Opened(t)
  const { lite, peer } = await o.netToLite()
  const log = record(lite, ['end', 'error', 'close'])
  let error: NodeJS.ErrnoException | undefined
  lite.on('error', (e: NodeJS.ErrnoException) => (error = e))
  lite.resume()
  peer.resetAndDestroy()
  assert.equal(await closed(lite), true)
  assert.equal(error?.code, 'ECONNRESET')
  assert.deepEqual(log, ['error', 'close'])
  assert.equal(lite.destroyed, true)
})

test("a peer's reset seen by a paused LiteSocket that writes: it closes (with an error), the write's callback runs", T, async (t) => {
  const o = new Opened(t)
  const { lite, peer } = await o.liteToNet()
  lite.on('error', () => {})
  peer.resetAndDestroy()
  await sleep(50)
  let calls = 0
  // The first write may still be taken by the kernel; one after the RST fails.
  const closeP = closed(lite)
  for (let i = 0; i < 20 && !lite.destroyed; i++) {
    lite.write(randomBytes(64 * 1024), () => calls++)
    await sleep(10)
  }
  assert.equal(await closeP, true)
  await sleep(10)
  assert.ok(calls > 0)
})

test('no handle leak: 500 connect/close cycles (destroy, half-close both ways, reset, refusal) leave no TCP handle behind', T, async (t) => {
  const o = new Opened(t)
  const { server, port } = o.liteServer()
  const refusedPort = await deadPort()
  await sleep(20)
  const before = tcpHandles()
  for (let i = 0; i < 500; i++) {
    const mode = i % 5
    if (mode === 4) {
      const s = LiteSocket.connect({ host: '127.0.0.1', port: refusedPort })
      s.on('error', () => {})
      await closed(s)
      continue
    }
    const acceptedP = once(server, 'connection') as Promise<[LiteSocket]>
    const client = LiteSocket.connect({ host: '127.0.0.1', port })
    await once(client, 'connect')
    const [accepted] = await acceptedP
    client.on('error', () => {})
    accepted.on('error', () => {})
    const both = Promise.all([closed(client), closed(accepted)])
    if (mode === 0) {
      client.destroy()
      accepted.destroy()
    } else if (mode === 1) {
      // Half-close both ways with a few bytes.
      client.resume()
      accepted.resume()
      client.end('x')
      accepted.end('y')
    } else if (mode === 2) {
      // One side destroys, the other sees the FIN and ends.
      accepted.resume()
      accepted.once('end', () => accepted.end())
      client.destroy()
    } else {
      client.destroy(new Error('cycle'))
      accepted.resume()
      accepted.once('end', () => {
        accepted.destroySoon()
      })
    }
    await both
  }
  await sleep(20)
  assert.ok(tcpHandles() <= before, `TCP handles: ${before} before, ${tcpHandles()} after`)
  // The accepted sockets (tracked by the server helper) are all closed.
  assert.equal(o.sockets.size, 400)
  for (const s of o.sockets) assert.equal(s.closed, true)
})
