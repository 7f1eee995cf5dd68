// OriginReader on real loopback sockets, on both socket layers (LiteSocket and net.Socket): bytes
// read before a sink is attached are kept, in order; and a burst's own read buffer goes back to
// the pool only once the sink has let the socket read again, so a view the sink still holds (a
// write of it pending) is never another socket's read buffer.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { connectOnce } from './dial-checked.ts'
import { originReaderOf } from './origin-reader.ts'
import { readBufferPool } from './read-buffers.ts'
import type { StreamSocket } from './stream-socket.ts'

async function server(): Promise<{ server: Server; port: number; peers: Socket[] }> {
  const peers: Socket[] = []
  const srv = createServer((s) => {
    s.on('error', () => undefined)
    peers.push(s)
  })
  srv.listen(0, '127.0.0.1')
  await once(srv, 'listening')
  return { server: srv, port: (srv.address() as AddressInfo).port, peers }
}

async function dial(port: number, layer: 'lite' | 'node'): Promise<StreamSocket> {
  const s = await connectOnce('127.0.0.1', port, 2000, undefined, layer)
  if (typeof s === 'string') throw new Error(`connect failed: ${s}`)
  return s
}

async function until(check: () => boolean, limitMs = 3000): Promise<void> {
  const end = Date.now() + limitMs
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await sleep(5)
  }
}

for (const layer of ['lite', 'node'] as const) {
  test(`${layer}: reads before the sink is attached are kept in order, bursts included`, async () => {
    const srv = await server()
    const s = await dial(srv.port, layer)
    try {
      await until(() => srv.peers.length === 1)
      const sent = Buffer.concat([Buffer.alloc(100, 1), Buffer.alloc(40 * 1024, 2), Buffer.alloc(10, 3)])
      srv.peers[0]!.write(sent.subarray(0, 100))
      await sleep(20)
      srv.peers[0]!.write(sent.subarray(100))
      await sleep(50)
      const got: Buffer[] = []
      const held = originReaderOf(s)!.attach((chunk) => {
        got.push(Buffer.from(chunk))
        return true
      })
      s.resume()
      const want = sent.length
      const total = (): number => held.reduce((n, b) => n + b.length, 0) + got.reduce((n, b) => n + b.length, 0)
      await until(() => total() === want)
      assert.ok(Buffer.concat([...held, ...got]).equals(sent))
    } finally {
      s.destroy()
      srv.server.close()
    }
  })

  test(`${layer}: a view the sink holds (its write pending) keeps its buffer out of the pool until the socket reads again`, async () => {
    const a = await server()
    const b = await server()
    const sa = await dial(a.port, layer)
    const sb = await dial(b.port, layer)
    try {
      await until(() => a.peers.length === 1 && b.peers.length === 1)
      let aBytes = 0
      let held: Buffer | undefined
      originReaderOf(sa)!.attach((chunk, borrowed) => {
        aBytes += chunk.length
        if (borrowed && chunk.length < 4096) {
          // The small read that ends A's burst: kept as a view, as if its write were pending.
          held = chunk
          return false
        }
        return true
      })
      let bBytes = 0
      originReaderOf(sb)!.attach((chunk) => {
        bBytes += chunk.length
        return true
      })
      sa.resume()
      sb.resume()
      a.peers[0]!.write(Buffer.alloc(64 * 1024, 1))
      await until(() => aBytes === 64 * 1024)
      a.peers[0]!.write(Buffer.alloc(100, 2))
      await until(() => held !== undefined)
      for (let i = 0; i < 4; i++) {
        const before = bBytes
        b.peers[0]!.write(Buffer.alloc(64 * 1024, 3 + i))
        await until(() => bBytes === before + 64 * 1024)
        b.peers[0]!.write(Buffer.alloc(10, 9))
        await until(() => bBytes === before + 64 * 1024 + 10)
      }
      assert.deepEqual([...new Set(held)], [2], 'A\'s held view still holds A\'s bytes')
      const pooled = readBufferPool().pooled
      // The write is done: A reads again, and its buffer goes back to the pool.
      sa.resume()
      a.peers[0]!.write(Buffer.alloc(10, 4))
      await until(() => aBytes === 64 * 1024 + 110)
      assert.equal(readBufferPool().pooled, pooled + 1, 'A\'s buffer went back to the pool')
    } finally {
      sa.destroy()
      sb.destroy()
      a.server.close()
      b.server.close()
    }
  })
}
