// relay() with origins dialled by connectOnce (reused read buffers, src/net/origin-reader.ts):
// every byte arrives in order while the client reads slowly (a borrowed buffer must never be
// overwritten before its write is flushed), many tunnels at once share the small-read buffer,
// bytes and a FIN the origin sent before the relay began still reach the client, half-close
// works both ways, and the idle bound closes a tunnel only when no bytes moved either way.
// Every case runs with both socket layers (net.Socket, and LiteSocket for the accepted and the
// dialled socket, src/net/lite-socket.ts).
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { test } from 'node:test'
import { connectOnce } from '../net/dial-checked.ts'
import { LiteSocket } from '../net/lite-socket.ts'
import type { SocketLayer, StreamSocket } from '../net/stream-socket.ts'
import { pausedAcceptor } from '../../test/support/paused-acceptor.ts'
import { relay, type RelayResult } from './tunnel.ts'

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      resolve((server.address() as AddressInfo).port)
    }),
  )
}

function sha(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex')
}

/** Writes `parts` one after another, each after the previous was flushed, then ends (unless `keepOpen`). */
async function writeParts(s: Socket, parts: readonly Buffer[], keepOpen = false): Promise<void> {
  for (const p of parts) {
    if (!s.write(p)) await once(s, 'drain')
  }
  if (!keepOpen) s.end()
}

/** Reads everything until the peer's FIN; with `slow`, pauses now and then (backpressure). */
function readAll(s: Socket, slow = false): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let n = 0
    s.on('data', (c: Buffer) => {
      chunks.push(c)
      if (slow && ++n % 7 === 0) {
        s.pause()
        setTimeout(() => s.resume(), 2)
      }
    })
    s.once('end', () => {
      resolve(Buffer.concat(chunks))
    })
    s.once('error', reject)
  })
}

interface Bed {
  readonly client: Socket
  readonly origin: StreamSocket
  readonly result: Promise<RelayResult>
  close(): void
}

/** origin server ← connectOnce ← relay ← accepted ← client; `onOrigin` drives the origin's side. */
async function bedOf(layer: SocketLayer, onOrigin: (s: Socket) => void, delayRelayMs = 0, idleTimeoutMs = 20_000, plainOrigin = false): Promise<Bed> {
  const originServer = createServer({ allowHalfOpen: true }, onOrigin)
  const originPort = await listen(originServer)
  const { server: proxyServer, port: proxyPort } = await pausedAcceptor(layer)
  const accepted = once(proxyServer, 'connection') as Promise<[StreamSocket]>
  const client = connect({ host: '127.0.0.1', port: proxyPort, allowHalfOpen: true })
  const [inbound] = await accepted
  // `plainOrigin`: dialled without connectOnce's reader (the relay's 'data' path for such origins).
  const origin = plainOrigin ? await dialPlain(layer, originPort) : await connectOnce('127.0.0.1', originPort, 2000, undefined, layer)
  if (typeof origin === 'string') throw new Error(`connect failed: ${origin}`)
  if (delayRelayMs > 0) await new Promise((r) => setTimeout(r, delayRelayMs))
  const result = relay(inbound, origin, { idleTimeoutMs })
  return {
    client,
    origin,
    result,
    close: () => {
      client.destroy()
      originServer.close()
      proxyServer.close()
    },
  }
}

async function dialPlain(layer: SocketLayer, port: number): Promise<StreamSocket> {
  const s: StreamSocket = layer === 'lite' ? LiteSocket.connect({ host: '127.0.0.1', port }) : connect({ host: '127.0.0.1', port, allowHalfOpen: true })
  await once(s, 'connect')
  return s
}

for (const layer of ['node', 'lite'] as const) {
  const bed = (onOrigin: (s: Socket) => void, delayRelayMs = 0, idleTimeoutMs = 20_000): Promise<Bed> => bedOf(layer, onOrigin, delayRelayMs, idleTimeoutMs)

  test(`32 MiB from the origin to a slow client arrive intact, with the byte counts [${layer}]`, async () => {
    const data = randomBytes(32 * 1024 * 1024)
    // Part sizes from 1 byte to 200 KiB: reads switch between the shared and the own buffer.
    const parts: Buffer[] = []
    for (let at = 0, i = 0; at < data.length; i++) {
      const size = [1, 300, 5000, 16384, 65536, 200_000, 70_000, 17][i % 8]!
      parts.push(data.subarray(at, at + size))
      at += size
    }
    const b = await bed((s) => {
      void writeParts(s, parts)
    })
    try {
      b.client.end()
      const got = await readAll(b.client, true)
      assert.equal(got.length, data.length)
      assert.equal(sha(got), sha(data))
      const r = await b.result
      assert.equal(r.bytesDown, data.length)
      assert.equal(r.end, 'closed')
    } finally {
      b.close()
    }
  })

  test(`an origin without a reader (not dialled by connectOnce): 8 MiB down to a slow client and 2 MiB up, each byte-exact, then both FINs [${layer}]`, async () => {
    const down = randomBytes(8 * 1024 * 1024)
    const up = randomBytes(2 * 1024 * 1024)
    let originGot: Promise<Buffer> | undefined
    const b = await bedOf(
      layer,
      (s) => {
        originGot = readAll(s)
        void writeParts(s, [down.subarray(0, 1000), down.subarray(1000)])
      },
      0,
      20_000,
      true,
    )
    try {
      void writeParts(b.client, [up])
      const got = await readAll(b.client, true)
      assert.equal(sha(got), sha(down))
      assert.ok(originGot)
      assert.equal(sha(await originGot), sha(up))
      const r = await b.result
      assert.equal(r.end, 'closed')
      assert.equal(r.bytesDown, down.length)
      assert.equal(r.bytesUp, up.length)
    } finally {
      b.close()
    }
  })

  test(`20 tunnels at once, small and large writes interleaved, each gets exactly its own bytes [${layer}]`, async () => {
    const runs = Array.from({ length: 20 }, async (_, k) => {
      const parts = Array.from({ length: 40 }, (_, i) => randomBytes(i % 3 === 0 ? 40_000 + k : 100 + i))
      const data = Buffer.concat(parts)
      const b = await bed((s) => {
        void writeParts(s, parts)
      })
      try {
        b.client.end()
        const got = await readAll(b.client, k % 2 === 0)
        assert.equal(sha(got), sha(data), `tunnel ${k}`)
      } finally {
        b.close()
      }
    })
    await Promise.all(runs)
  })

  test(`a banner and FIN the origin sent before the relay began still reach the client [${layer}]`, async () => {
    const b = await bed((s) => {
      s.end('220 banner\r\n')
    }, 100)
    try {
      const got = await readAll(b.client)
      assert.equal(got.toString(), '220 banner\r\n')
      b.client.end()
      const r = await b.result
      assert.equal(r.bytesDown, 12)
    } finally {
      b.close()
    }
  })

  test(`half-close: after the origin's FIN the client can still send, and the origin still reads [${layer}]`, async () => {
    let received = ''
    const done = new Promise<void>((resolve) => {
      void bed((s) => {
        s.on('data', (c: Buffer) => (received += c.toString()))
        s.once('end', () => {
          s.end()
          resolve()
        })
        s.end('hello')
      }).then(async (b) => {
        assert.equal((await readAll(b.client)).toString(), 'hello')
        b.client.end('after-fin')
        await b.result
        b.close()
      })
    })
    await done
    assert.equal(received, 'after-fin')
  })

  test(`an idle tunnel is closed at the idle bound, both sockets, as 'idle' [${layer}]`, async () => {
    // The origin's side closes when the proxy's does (its server is half-open: it would stay).
    const b = await bed((s) => s.on('end', () => s.destroy()).resume(), 0, 250)
    try {
      const t0 = performance.now()
      b.client.resume()
      const r = await b.result
      const after = performance.now() - t0
      assert.equal(r.end, 'idle')
      assert.ok(after >= 240 && after < 250 * 1.125 + 200, `closed after ${after.toFixed(0)} ms`)
      assert.ok(b.origin.destroyed)
      // The client was made half-open: it sees the proxy's FIN as its 'end'.
      if (!b.client.readableEnded) await once(b.client, 'end')
    } finally {
      b.close()
    }
  })

  test(`bytes in either direction alone keep a tunnel open past the idle bound [${layer}]`, async () => {
    let originSide: Socket | undefined
    const b = await bed((s) => {
      originSide = s
      s.on('end', () => s.destroy()).resume()
    }, 0, 200)
    try {
      b.client.resume()
      let ended = false
      void b.result.then(() => (ended = true))
      // 500 ms of client → origin only, then 500 ms of origin → client only, every 50 ms.
      for (let i = 0; i < 20; i++) {
        await new Promise((r) => setTimeout(r, 50))
        if (i < 10) b.client.write('u')
        else originSide!.write('d')
      }
      assert.equal(ended, false, 'closed while bytes were moving')
      const r = await b.result
      assert.equal(r.end, 'idle')
      assert.equal(r.bytesUp, 10)
      assert.equal(r.bytesDown, 10)
    } finally {
      b.close()
    }
  })
}
