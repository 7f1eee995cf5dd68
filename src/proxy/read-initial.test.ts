import assert from 'node:assert/strict'
import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import { test } from 'node:test'
import type { SocketLayer, StreamSocket } from '../net/stream-socket.ts'
import { pausedAcceptor } from '../../test/support/paused-acceptor.ts'
import { readInitial } from './read-initial.ts'

/** A loopback pair: the accepted (paused) socket of `layer` and the client. */
async function pairOf(layer: SocketLayer): Promise<{ accepted: StreamSocket; client: Socket; close: () => void }> {
  const { server, port } = await pausedAcceptor(layer)
  const client = connect(port, '127.0.0.1')
  const [accepted] = (await once(server, 'connection')) as [StreamSocket]
  await once(client, 'connect')
  return {
    accepted,
    client,
    close: () => {
      accepted.destroy()
      client.destroy()
      server.close()
    },
  }
}

/** Decides once `want` bytes came: the length it saw. */
const upTo = (want: number) => (data: Buffer): number | undefined => (data.length >= want ? data.length : undefined)

for (const layer of ['node', 'lite'] as const) {
  const pair = (): ReturnType<typeof pairOf> => pairOf(layer)

  test(`bytes in one piece: decided on them as they came [${layer}]`, async () => {
    const p = await pair()
    try {
      p.client.write('abcdef')
      const r = await readInitial(p.accepted, undefined, 2000, upTo(6))
      assert.equal(r.kind, 'done')
      assert.equal(r.data.toString(), 'abcdef')
    } finally {
      p.close()
    }
  })

  test(`bytes in many pieces, with initial bytes first, are gathered in order, beyond the first buffer size [${layer}]`, async () => {
    const p = await pair()
    try {
      const pieces = ['x'.repeat(3000), 'y'.repeat(3000), 'z'.repeat(5000)]
      const r = readInitial(p.accepted, Buffer.from('init:'), 2000, upTo(5 + 11_000))
      for (const piece of pieces) {
        p.client.write(piece)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      const got = await r
      assert.equal(got.kind, 'done')
      assert.equal(got.data.toString(), `init:${pieces.join('')}`)
    } finally {
      p.close()
    }
  })

  test(`the first piece, then more: the first one is copied before the second is added [${layer}]`, async () => {
    const p = await pair()
    try {
      const r = readInitial(p.accepted, undefined, 2000, upTo(8))
      p.client.write('abcd')
      await new Promise((resolve) => setTimeout(resolve, 20))
      p.client.write('efgh')
      const got = await r
      assert.equal(got.kind, 'done')
      assert.equal(got.data.toString(), 'abcdefgh')
    } finally {
      p.close()
    }
  })

  test(`a timeout and a close give the bytes read so far [${layer}]`, async () => {
    const p = await pair()
    try {
      p.client.write('abc')
      const timedOut = await readInitial(p.accepted, undefined, 100, upTo(10))
      assert.equal(timedOut.kind, 'timeout')
      assert.equal(timedOut.data.toString(), 'abc')
      const r = readInitial(p.accepted, timedOut.data, 2000, upTo(10))
      p.client.end('de')
      const closed = await r
      assert.equal(closed.kind, 'closed')
      assert.equal(closed.data.toString(), 'abcde')
    } finally {
      p.close()
    }
  })

  test(`reads one after another on a socket leave no listener behind, each with its own bytes and bounds [${layer}]`, async () => {
    const p = await pair()
    try {
      const before = ['data', 'end', 'close'].map((e) => p.accepted.listenerCount(e))
      p.client.write('one.')
      const a = await readInitial(p.accepted, undefined, 2000, upTo(4))
      assert.equal(a.kind, 'done')
      assert.equal(a.data.toString(), 'one.')
      assert.deepEqual(['data', 'end', 'close'].map((e) => p.accepted.listenerCount(e)), before)
      // A kept-alive wait: nothing comes within the first-byte bound.
      const t0 = performance.now()
      const b = await readInitial(p.accepted, undefined, 2000, upTo(4), 60)
      assert.equal(b.kind, 'timeout')
      assert.ok(performance.now() - t0 < 1500)
      assert.deepEqual(['data', 'end', 'close'].map((e) => p.accepted.listenerCount(e)), before)
      // Then bytes again, after the first-byte bound: the full bound applies from the first byte.
      setTimeout(() => p.client.write('tw'), 20)
      setTimeout(() => p.client.write('o.'), 120)
      const c = await readInitial(p.accepted, undefined, 2000, upTo(4), 60)
      assert.equal(c.kind, 'done')
      assert.equal(c.data.toString(), 'two.')
      assert.deepEqual(['data', 'end', 'close'].map((e) => p.accepted.listenerCount(e)), before)
    } finally {
      p.close()
    }
  })
}
