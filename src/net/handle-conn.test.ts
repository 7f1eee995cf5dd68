// HandleConn over loopback with real sockets: connect, bytes both ways, the peer's FIN, a FIN
// sent, a refused connect, a reset, reads into reused buffers, backpressure, and silence after close.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { HandleConn, type HandleConnOwner } from './handle-conn.ts'
import { LiteServer, uvError } from './lite-socket.ts'
import { readBufferPool } from './read-buffers.ts'

/** Records what a HandleConn tells its owner. */
class Recorder implements HandleConnOwner {
  readonly chunks: Buffer[] = []
  borrowed = 0
  eof = 0
  drained = 0
  finished = 0
  failed: Error[] = []
  connected: Array<Error | undefined> = []
  #waiters: Array<() => void> = []
  connRead(_c: HandleConn, chunk: Buffer, borrowed: boolean): void {
    // A borrowed chunk is valid until the next read: copied.
    this.chunks.push(borrowed ? Buffer.from(chunk) : chunk)
    if (borrowed) this.borrowed++
    this.#wake()
  }
  connEof(): void {
    this.eof++
    this.#wake()
  }
  connDrained(): void {
    this.drained++
    this.#wake()
  }
  connFinished(): void {
    this.finished++
    this.#wake()
  }
  connFailed(_c: HandleConn, status: number, syscall: 'read' | 'write' | 'shutdown'): void {
    this.failed.push(uvError(status, syscall))
    this.#wake()
  }
  connConnected(_c: HandleConn, e: Error | undefined): void {
    this.connected.push(e)
    this.#wake()
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('latin1')
  }
  #wake(): void {
    for (const w of this.#waiters.splice(0)) w()
  }
  async until(check: () => boolean, limitMs = 3000): Promise<void> {
    const end = Date.now() + limitMs
    while (!check()) {
      if (Date.now() > end) throw new Error('condition not met in time')
      await Promise.race([new Promise<void>((r) => this.#waiters.push(r)), sleep(20)])
    }
  }
}

async function server(onConnection: (s: Socket) => void): Promise<{ server: Server; port: number }> {
  const srv = createServer({ allowHalfOpen: true }, onConnection)
  srv.listen(0, '127.0.0.1')
  await once(srv, 'listening')
  return { server: srv, port: (srv.address() as AddressInfo).port }
}

test('connect, bytes both ways, the peer\'s FIN, then a FIN sent after the bytes written', async () => {
  let peer: Socket | undefined
  const got: Buffer[] = []
  const { server: srv, port } = await server((s) => {
    peer = s
    s.on('data', (c: Buffer) => got.push(c))
  })
  try {
    const r = new Recorder()
    const c = HandleConn.connect('127.0.0.1', port, r)
    await r.until(() => r.connected.length === 1)
    assert.equal(r.connected[0], undefined)
    c.readStart()
    assert.equal(c.write(Buffer.from('ping')), true, 'a small write is taken at once')
    await r.until(() => peer !== undefined)
    peer!.end('pong')
    await r.until(() => r.eof === 1)
    assert.equal(r.text(), 'pong')
    assert.equal(c.bytesRead, 4)
    assert.equal(c.eof, true)
    const peerEnded = once(peer!, 'end')
    c.shutdown()
    await r.until(() => r.finished === 1)
    await peerEnded
    assert.equal(Buffer.concat(got).toString(), 'ping')
    assert.equal(c.bytesWritten, 4)
    c.close()
    assert.equal(c.closed, true)
  } finally {
    srv.close()
  }
})

test('a refused connect is reported with its code and address', async () => {
  const { server: srv, port } = await server(() => undefined)
  srv.close()
  await once(srv, 'close')
  const r = new Recorder()
  const c = HandleConn.connect('127.0.0.1', port, r)
  await r.until(() => r.connected.length === 1)
  const e = r.connected[0] as NodeJS.ErrnoException
  assert.equal(e.code, 'ECONNREFUSED')
  assert.match(e.message, new RegExp(`127\\.0\\.0\\.1:${port}`))
  c.close()
})

test('a reset by the peer is a failure; after close() nothing more is reported', async () => {
  let peer: Socket | undefined
  const { server: srv, port } = await server((s) => {
    peer = s
  })
  try {
    const r = new Recorder()
    const c = HandleConn.connect('127.0.0.1', port, r)
    await r.until(() => r.connected.length === 1 && peer !== undefined)
    c.readStart()
    peer!.resetAndDestroy()
    await r.until(() => r.failed.length === 1)
    assert.equal((r.failed[0] as NodeJS.ErrnoException).code, 'ECONNRESET')
    c.close()
    const failedBefore = r.failed.length
    c.readStart()
    assert.equal(c.write(Buffer.from('x')), true, 'a write after close is dropped')
    await sleep(50)
    assert.equal(r.failed.length, failedBefore)
  } finally {
    srv.close()
  }
})

test('reads into reused buffers: a download arrives whole, large reads borrowed, with backpressure by readStop', async () => {
  const size = 4 * 1024 * 1024
  const data = Buffer.alloc(size)
  for (let i = 0; i < size; i++) data[i] = (i * 7) & 0xff
  const { server: srv, port } = await server((s) => {
    s.end(data)
  })
  try {
    const r = new Recorder()
    const c = HandleConn.connect('127.0.0.1', port, r)
    await r.until(() => r.connected.length === 1)
    c.readIntoReusedBuffers()
    c.readStart()
    // Stop and start again while the bytes arrive: nothing lost or reordered.
    for (let i = 0; i < 5 && r.eof === 0; i++) {
      await sleep(10)
      c.readStop()
      assert.equal(c.reading, false)
      await sleep(10)
      c.readStart()
    }
    await r.until(() => r.eof === 1, 10_000)
    assert.equal(Buffer.compare(Buffer.concat(r.chunks), data), 0)
    assert.ok(r.borrowed > 0, 'bulk reads go into the connection\'s own buffer')
    c.close()
  } finally {
    srv.close()
  }
})

test('a burst\'s own read buffer goes back to the pool only once the owner reads again: a view it still holds is never another connection\'s read buffer', async () => {
  // Connection A: a burst (its first read fills the shared buffer), then a small read on its own
  // buffer, which the owner holds as if its write were pending (it stops reading, as the relay
  // does). Connection B's burst meanwhile must not read into that buffer.
  const burst = (fill: number): Buffer => Buffer.alloc(64 * 1024, fill)
  let peerA: Socket | undefined
  let peerB: Socket | undefined
  const a = await server((s) => (peerA = s))
  const b = await server((s) => (peerB = s))
  class Holder extends Recorder {
    held: Buffer | undefined
    override connRead(conn: HandleConn, chunk: Buffer, borrowed: boolean): void {
      if (borrowed && chunk.length < 4096) {
        // A small read on the own buffer: kept as a view, reads stopped until "its write is done".
        this.held = chunk
        conn.readStop()
      }
      super.connRead(conn, chunk, borrowed)
    }
  }
  const ra = new Holder()
  const rb = new Recorder()
  const ca = HandleConn.connect('127.0.0.1', a.port, ra)
  const cb = HandleConn.connect('127.0.0.1', b.port, rb)
  try {
    await ra.until(() => ra.connected.length === 1 && rb.connected.length === 1 && peerA !== undefined && peerB !== undefined)
    ca.readIntoReusedBuffers()
    cb.readIntoReusedBuffers()
    ca.readStart()
    cb.readStart()
    peerA!.write(burst(1))
    await ra.until(() => ra.text().length === 64 * 1024)
    assert.ok(ra.borrowed > 0, 'the burst went into an own buffer')
    peerA!.write(Buffer.alloc(100, 2))
    await ra.until(() => ra.held !== undefined)
    // B's bursts while A holds its view: each takes a buffer, from the pool or new, never A's.
    for (let i = 0; i < 4; i++) {
      const before = rb.text().length
      peerB!.write(burst(3 + i))
      await rb.until(() => rb.text().length === before + 64 * 1024)
      peerB!.write(Buffer.alloc(10, 9))
      await rb.until(() => rb.text().length === before + 64 * 1024 + 10)
    }
    assert.deepEqual([...new Set(ra.held)], [2], 'A\'s held view still holds A\'s bytes')
    const pooled = readBufferPool().pooled
    // A reads again: its write is done, its buffer may be pooled now.
    ca.readStart()
    peerA!.write(Buffer.alloc(10, 4))
    await ra.until(() => ra.text().length === 64 * 1024 + 110)
    assert.equal(readBufferPool().pooled, pooled + 1, 'A\'s buffer went back to the pool')
  } finally {
    ca.close()
    cb.close()
    peerA?.destroy()
    peerB?.destroy()
    a.server.close()
    b.server.close()
  }
})

test('a write the kernel cannot take at once is pending until drained; bytes are kept until then', async () => {
  let peer: Socket | undefined
  const received: Buffer[] = []
  const { server: srv, port } = await server((s) => {
    peer = s
    s.pause()
    s.on('data', (c: Buffer) => received.push(c))
  })
  try {
    const r = new Recorder()
    const c = HandleConn.connect('127.0.0.1', port, r)
    await r.until(() => r.connected.length === 1 && peer !== undefined)
    const chunk = Buffer.alloc(1024 * 1024, 0x62)
    let pending = false
    let written = 0
    for (let i = 0; i < 64 && !pending; i++) {
      pending = !c.write(chunk)
      written += chunk.length
    }
    assert.equal(pending, true, 'the kernel buffers filled')
    assert.ok(c.pendingBytes > 0)
    peer!.resume()
    await r.until(() => r.drained === 1, 10_000)
    assert.equal(c.pendingBytes, 0)
    c.shutdown()
    await once(peer!, 'end')
    assert.equal(Buffer.concat(received).length, written)
    c.close()
  } finally {
    srv.close()
  }
})

test('an accepted handle taken from a LiteServer works the same way', async () => {
  const r = new Recorder()
  let accepted: HandleConn | undefined
  const lite = new LiteServer({
    takeHandle: (handle) => {
      accepted = new HandleConn(handle, r)
      accepted.readStart()
      return true
    },
  })
  const { port } = lite.listen('127.0.0.1', 0)
  const client = connect({ host: '127.0.0.1', port, allowHalfOpen: true })
  await once(client, 'connect')
  try {
    client.end('hello')
    await r.until(() => r.eof === 1)
    assert.equal(r.text(), 'hello')
    const peer: { address?: string; port?: number } = {}
    assert.equal(accepted!.peer(peer), true)
    assert.equal(peer.port, client.localPort)
    const chunks: Buffer[] = []
    client.on('data', (c: Buffer) => chunks.push(c))
    const reply = once(client, 'end')
    accepted!.write(Buffer.from('bye'))
    accepted!.shutdown()
    await reply
    assert.equal(Buffer.concat(chunks).toString(), 'bye')
    accepted!.close()
  } finally {
    lite.close()
    client.destroy()
  }
})
