// A tunnel's connection from accept to close, on a transparent TLS listener and through an
// explicit CONNECT: on the default socket layer a TunnelConnection on the TCP handles
// (src/proxy/tunnel-connection.ts), with `--socket-layer node` the ClientConnection path (the test
// runner runs this file once with each: both must behave alike).
// Raw origins stand for TLS servers: the proxy relays the ClientHello's bytes untouched and never
// looks past it, so an echo origin shows exactly what was relayed, in order.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { connect, createServer, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, before, describe, test } from 'node:test'
import { readBufferPool } from '../../../src/net/read-buffers.ts'
import { TLS_ALERT_ACCESS_DENIED } from '../../../src/proxy/deny-response.ts'
import { DEFAULT_LIMITS } from '../../../src/proxy/serve-defaults.ts'
import { buildClientHello } from '../../helpers/client-hello-builder.ts'
import { assertResourcesBack, resourceBaseline } from './resource-check.ts'
import { connectTunnel, randomLoopback, rawExchange, startRawOrigin, startProxy, type ProxyHandle } from './harness.ts'

const POLICY = `apiVersion: aks-egress/v1
name: e2e-tunnel-connection
settings:
  unsafeAllowPrivateRanges: ["127.0.0.0/8"]
ruleCollectionGroups:
  - name: aks
    priority: 200
    ruleCollections:
      - name: app
        type: application
        priority: 200
        action: Allow
        rules:
          - name: hcp
            sourceAddresses: ["*"]
            protocols: [Https:443]
            targetFqdns: ["*.hcp.westeurope.azmk8s.io"]
`

let echo: Awaited<ReturnType<typeof startRawOrigin>>
let banner: Awaited<ReturnType<typeof startRawOrigin>>
let hosts: Record<string, string>
let proxy: ProxyHandle

const hello = (sni: string): Buffer => buildClientHello({ sni })

before(async () => {
  echo = await startRawOrigin('echo', 443, 'echo')
  banner = await startRawOrigin('banner', 443, 'banner')
  hosts = {
    'echo.hcp.westeurope.azmk8s.io': echo.address,
    'banner.hcp.westeurope.azmk8s.io': banner.address,
    // Nothing listens there: the dial fails.
    'down.hcp.westeurope.azmk8s.io': randomLoopback(),
  }
  proxy = await startProxy({ policy: POLICY, hosts, transparent: true, limits: { handshakeTimeoutMs: 400, idleTimeoutMs: 3000 } })
})

after(async () => {
  await proxy.close()
  await Promise.all([echo.close(), banner.close()])
})

function tlsPort(p: ProxyHandle = proxy): number {
  return p.transparentPort('tls', 443)
}

/** A connection to the TLS listener, with its local port kept (a closed socket forgets it): the decision line's `srcPort`. */
async function open(port = tlsPort(), allowHalfOpen = false): Promise<Socket & { readonly srcPort: number }> {
  const s = connect({ host: '127.0.0.1', port, allowHalfOpen })
  s.on('error', () => undefined)
  await once(s, 'connect')
  return Object.assign(s, { srcPort: s.localPort! })
}

function readAll(socket: Socket): Promise<Buffer> {
  const chunks: Buffer[] = []
  socket.on('data', (c: Buffer) => chunks.push(c))
  return once(socket, 'end').then(() => Buffer.concat(chunks))
}

/**
 * Writes 8 bursts of random bytes (1 MiB and more: past the shared read buffer, into pooled ones),
 * each followed after a pause by a small tail (a read of its own, which ends the burst), and keeps
 * in `parts` what it wrote. Different sizes per tunnel `id`.
 */
async function sendBursts(s: Socket, id: number, parts: Buffer[]): Promise<void> {
  for (let b = 0; b < 8 && !s.destroyed; b++) {
    const burst = randomBytes(1024 * 1024 + id * 4096 + b * 1000)
    const tail = randomBytes(64 + b)
    parts.push(burst, tail)
    if (!s.write(burst)) await once(s, 'drain')
    await sleep(8)
    s.write(tail)
    await sleep(8)
  }
}

describe('relay', () => {
  test('the ClientHello and the bytes after it (written apart, before the origin answers) reach the origin in order; the client\'s FIN too', async () => {
    const s = await open()
    const reply = readAll(s)
    const h = hello('echo.hcp.westeurope.azmk8s.io')
    s.write(h)
    s.write('after-hello-1;')
    s.write('after-hello-2')
    await sleep(20)
    s.end(';last')
    const got = await reply
    assert.deepEqual(got, Buffer.concat([h, Buffer.from('after-hello-1;after-hello-2;last')]))
  })

  test('a ClientHello split across many segments is replayed whole', async () => {
    const s = await open()
    const reply = readAll(s)
    const h = hello('echo.hcp.westeurope.azmk8s.io')
    for (let i = 0; i < h.length; i += 7) {
      s.write(h.subarray(i, i + 7))
      await sleep(1)
    }
    s.end()
    assert.deepEqual(await reply, h)
  })

  test('half-close from the origin: its FIN reaches the client, which can still send', async () => {
    const s = await open(tlsPort(), true)
    const reply = readAll(s)
    s.write(hello('banner.hcp.westeurope.azmk8s.io'))
    assert.equal((await reply).toString(), 'hello')
    s.end('after-fin')
    await once(s, 'close')
    await sleep(50)
    assert.match(banner.received().toString('latin1'), /after-fin$/)
  })

  test('a download of 8 MiB arrives whole, with backpressure from a slow client', async () => {
    const big = createServer({ allowHalfOpen: true }, (c) => {
      c.on('error', () => undefined)
      c.once('data', () => {
        const chunk = Buffer.alloc(64 * 1024)
        for (let i = 0; i < 128; i++) {
          chunk.fill(i & 0xff)
          c.write(Buffer.from(chunk))
        }
        c.end()
      })
    })
    const address = randomLoopback()
    big.listen(443, address)
    await once(big, 'listening')
    const p = await startProxy({ policy: POLICY, hosts: { 'big.hcp.westeurope.azmk8s.io': address }, transparent: true })
    try {
      const s = await open(tlsPort(p))
      s.write(hello('big.hcp.westeurope.azmk8s.io'))
      s.pause()
      await sleep(200)
      const got = await readAll(s.resume())
      assert.equal(got.length, 8 * 1024 * 1024)
      for (let i = 0; i < 128; i++) assert.equal(got[i * 64 * 1024 + 100], i & 0xff, `chunk ${i}`)
      const close = await p.log.waitFor((l) => l['event'] === 'close')
      assert.equal(close['bytesDown'], 8 * 1024 * 1024)
    } finally {
      await p.close()
      big.close()
    }
  })

  test('downloads in bursts on many tunnels at once arrive byte for byte: the read buffers passed between tunnels never mix their bytes', async () => {
    // Each burst (random bytes, more than the shared read buffer) ends with a small piece read on
    // its own: the tunnel's own read buffer goes back to the pool and another tunnel's next burst
    // takes it (src/net/read-buffers.ts). Slow clients keep writes pending on borrowed views.
    const TUNNELS = 3
    const sent = new Map<number, Buffer[]>()
    const bursty = createServer({ allowHalfOpen: true }, (c) => {
      c.on('error', () => undefined)
      let got = ''
      const onData = (d: Buffer): void => {
        got += d.toString('latin1')
        const m = /id:(\d+);/.exec(got)
        if (!m) return
        c.off('data', onData)
        const id = Number(m[1])
        const parts: Buffer[] = []
        sent.set(id, parts)
        void sendBursts(c, id, parts).then(() => c.end())
      }
      c.on('data', onData)
    })
    const address = randomLoopback()
    bursty.listen(443, address)
    await once(bursty, 'listening')
    const p = await startProxy({ policy: POLICY, hosts: { 'bursty.hcp.westeurope.azmk8s.io': address }, transparent: true })
    const reusedBefore = readBufferPool().reused
    try {
      const received = await Promise.all(
        Array.from({ length: TUNNELS }, async (_, id) => {
          const s = await open(tlsPort(p))
          s.write(Buffer.concat([hello('bursty.hcp.westeurope.azmk8s.io'), Buffer.from(`id:${String(id)};`)]))
          const chunks: Buffer[] = []
          let sinceStall = 0
          // Not reading at first, then slowly now and then: the proxy's writes to it wait, on views of its read buffers.
          s.pause()
          setTimeout(() => s.resume(), 300)
          s.on('data', (d: Buffer) => {
            chunks.push(d)
            sinceStall += d.length
            if (sinceStall > 512 * 1024) {
              sinceStall = 0
              s.pause()
              setTimeout(() => s.resume(), 15)
            }
          })
          await once(s, 'end')
          return Buffer.concat(chunks)
        }),
      )
      received.forEach((got, id) => {
        const want = Buffer.concat(sent.get(id) ?? [])
        assert.equal(got.length, want.length, `tunnel ${String(id)}: length`)
        assert.ok(got.equals(want), `tunnel ${String(id)}: the bytes differ from what its origin sent`)
      })
      assert.ok(readBufferPool().reused > reusedBefore, 'bursts took read buffers from the pool')
    } finally {
      await p.close()
      bursty.close()
    }
  })

  test('uploads in bursts on many tunnels at once arrive byte for byte, with backpressure from origins that read slowly', async () => {
    // The client → origin direction reads into reused buffers too: each burst ends with a small
    // piece, so read buffers pass between tunnels while slow origins keep writes pending.
    const TUNNELS = 3
    const h = hello('sink.hcp.westeurope.azmk8s.io')
    const received = new Map<number, Promise<Buffer>>()
    const sink = createServer({ allowHalfOpen: true }, (c) => {
      c.on('error', () => undefined)
      const chunks: Buffer[] = []
      let total = 0
      // Not reading at first, then slowly now and then: the proxy's writes to it wait.
      c.pause()
      setTimeout(() => c.resume(), 300)
      c.on('data', (d: Buffer) => {
        chunks.push(d)
        total += d.length
        if (total % (512 * 1024) < d.length) {
          c.pause()
          setTimeout(() => c.resume(), 10)
        }
      })
      const done = once(c, 'end').then(() => {
        c.end()
        return Buffer.concat(chunks)
      })
      // The tunnel's id follows the ClientHello: "id:N;".
      void done.then((all) => {
        const m = /^id:(\d+);/.exec(all.subarray(h.length, h.length + 16).toString('latin1'))
        if (m) received.set(Number(m[1]), Promise.resolve(all.subarray(h.length + m[0].length)))
      })
    })
    const address = randomLoopback()
    sink.listen(443, address)
    await once(sink, 'listening')
    const p = await startProxy({ policy: POLICY, hosts: { 'sink.hcp.westeurope.azmk8s.io': address }, transparent: true })
    try {
      const sent = await Promise.all(
        Array.from({ length: TUNNELS }, async (_, id) => {
          const s = await open(tlsPort(p), true)
          s.write(Buffer.concat([h, Buffer.from(`id:${String(id)};`)]))
          const parts: Buffer[] = []
          await sendBursts(s, id, parts)
          s.end()
          await once(s, 'end')
          return Buffer.concat(parts)
        }),
      )
      for (const [id, want] of sent.entries()) {
        const got = await received.get(id)
        assert.ok(got, `tunnel ${String(id)}: the origin saw its bytes`)
        assert.equal(got.length, want.length, `tunnel ${String(id)}: length`)
        assert.ok(got.equals(want), `tunnel ${String(id)}: the bytes differ from what its client sent`)
      }
    } finally {
      await p.close()
      sink.close()
    }
  })

  test('a client that resets during the relay: both sides closed, the close line says error', async () => {
    const s = await open()
    s.write(hello('echo.hcp.westeurope.azmk8s.io'))
    await once(s, 'data')
    const decision = await proxy.log.waitFor((l) => l['event'] === 'decision' && l['srcPort'] === s.srcPort)
    s.resetAndDestroy()
    const close = await proxy.log.waitFor((l) => l['event'] === 'close' && l['conn'] === decision['conn'])
    assert.equal(close['end'], 'error')
  })

  test('idle tunnels are closed at the idle bound and logged with their bytes', async () => {
    const p = await startProxy({ policy: POLICY, hosts, transparent: true, limits: { idleTimeoutMs: 300 } })
    try {
      const s = await open(tlsPort(p))
      const h = hello('echo.hcp.westeurope.azmk8s.io')
      s.write(h)
      await once(s, 'data')
      const t0 = Date.now()
      s.resume()
      await once(s, 'close')
      assert.ok(Date.now() - t0 >= 250 && Date.now() - t0 < 4000, `closed after ${Date.now() - t0} ms`)
      const close = await p.log.waitFor((l) => l['event'] === 'close')
      assert.equal(close['bytesUp'], h.length)
      assert.equal(close['bytesDown'], h.length)
      assert.equal(close['end'], 'idle')
    } finally {
      await p.close()
    }
  })
})

describe('before the relay', () => {
  test('a client that says nothing is closed at the handshake bound, without an alert', async () => {
    const s = await open()
    const t0 = Date.now()
    const reply = readAll(s)
    assert.equal((await reply).length, 0)
    assert.ok(Date.now() - t0 >= 350 && Date.now() - t0 < 4000, `closed after ${Date.now() - t0} ms`)
    const d = await proxy.log.waitFor((l) => l['event'] === 'decision' && l['srcPort'] === s.srcPort)
    assert.equal(d['code'], 'HANDSHAKE_TIMEOUT')
  })

  test('a ClientHello that trickles in is cut at the handshake bound, whatever bytes keep coming', async () => {
    const s = await open()
    const h = hello('echo.hcp.westeurope.azmk8s.io')
    const t0 = Date.now()
    const closed = once(s, 'close')
    for (let i = 0; i < h.length - 1 && !s.destroyed; i++) {
      s.write(h.subarray(i, i + 1))
      await sleep(20)
    }
    await closed
    assert.ok(Date.now() - t0 < 4000, `closed after ${Date.now() - t0} ms`)
    const d = await proxy.log.waitFor((l) => l['event'] === 'decision' && l['srcPort'] === s.srcPort)
    assert.equal(d['code'], 'HANDSHAKE_TIMEOUT')
  })

  test('a client that half-closes before a complete ClientHello: CLIENT_CLOSED', async () => {
    const s = await open()
    s.end(hello('echo.hcp.westeurope.azmk8s.io').subarray(0, 20))
    await once(s, 'close')
    const d = await proxy.log.waitFor((l) => l['event'] === 'decision' && l['srcPort'] === s.srcPort)
    assert.equal(d['code'], 'CLIENT_CLOSED')
  })

  test('a dial that fails: an access_denied alert, DIAL_FAILED with the address tried, and the connect time', async () => {
    const s = await open()
    const reply = readAll(s)
    s.write(hello('down.hcp.westeurope.azmk8s.io'))
    assert.deepEqual(await reply, TLS_ALERT_ACCESS_DENIED)
    const d = await proxy.log.waitFor((l) => l['event'] === 'decision' && l['srcPort'] === s.srcPort)
    assert.equal(d['code'], 'DIAL_FAILED')
    assert.equal(d['action'], 'deny')
    assert.match(String(d['reason']), /ECONNREFUSED/)
    assert.equal(typeof d['connectMs'], 'number')
    assert.equal(typeof d['handshakeMs'], 'number')
  })

  test('a name that does not resolve: an alert and DNS_FAILED', async () => {
    const s = await open()
    const reply = readAll(s)
    s.write(hello('nowhere.hcp.westeurope.azmk8s.io'))
    assert.deepEqual(await reply, TLS_ALERT_ACCESS_DENIED)
    const d = await proxy.log.waitFor((l) => l['event'] === 'decision' && l['srcPort'] === s.srcPort)
    assert.equal(d['code'], 'DNS_FAILED')
  })
})

describe('explicit CONNECT', () => {
  const ESTABLISHED = 'HTTP/1.1 200 Connection established\r\n\r\n'

  test('a ClientHello sent with the CONNECT head, before the 200: its SNI is checked and it is replayed whole', async () => {
    const h = hello('echo.hcp.westeurope.azmk8s.io')
    const s = connect({ host: '127.0.0.1', port: proxy.explicitPort })
    s.on('error', () => undefined)
    await once(s, 'connect')
    const srcPort = s.localPort
    const reply = readAll(s)
    s.write(Buffer.concat([Buffer.from('CONNECT echo.hcp.westeurope.azmk8s.io:443 HTTP/1.1\r\nHost: echo.hcp.westeurope.azmk8s.io:443\r\n\r\n'), h]))
    await sleep(50)
    s.end()
    assert.deepEqual(await reply, Buffer.concat([Buffer.from(ESTABLISHED), h]))
    const d = await proxy.log.waitFor((l) => l['event'] === 'decision' && l['srcPort'] === srcPort)
    assert.equal(d['sni'], 'echo.hcp.westeurope.azmk8s.io')
    assert.equal(d['action'], 'allow')
  })

  test('a ClientHello naming another host, sent with the head: the 200, then an alert, and nothing reaches the origin', async () => {
    // The banner origin keeps what it receives (and sends "hello", which must not reach the client either).
    const before = banner.received().length
    const connections = banner.connections()
    const r = await rawExchange(proxy.explicitPort, Buffer.concat([Buffer.from('CONNECT banner.hcp.westeurope.azmk8s.io:443 HTTP/1.1\r\n\r\n'), hello('echo.hcp.westeurope.azmk8s.io')]))
    assert.deepEqual(r.reply, Buffer.concat([Buffer.from(ESTABLISHED), TLS_ALERT_ACCESS_DENIED]))
    const d = await proxy.log.waitFor((l) => l['event'] === 'decision' && l['code'] === 'SNI_MISMATCH')
    assert.equal(d['action'], 'deny')
    // The proxy dialled (to answer 200) but relayed nothing: the origin saw a connection and no bytes.
    await sleep(50)
    assert.equal(banner.connections(), connections + 1)
    assert.equal(banner.received().length, before)
  })

  test('a CONNECT to a TLS port whose client half-closes without a ClientHello: closed, CLIENT_CLOSED', async () => {
    const t = await connectTunnel(proxy.explicitPort, 'echo.hcp.westeurope.azmk8s.io:443')
    assert.equal(t.status, 200)
    const port = t.socket.localPort
    t.socket.on('error', () => undefined)
    t.socket.end()
    t.socket.resume()
    await once(t.socket, 'close')
    const d = await proxy.log.waitFor((l) => l['event'] === 'decision' && l['srcPort'] === port)
    assert.equal(d['code'], 'CLIENT_CLOSED')
    assert.equal(d['action'], 'deny')
  })

  test('a CONNECT whose ClientHello never comes is closed at the handshake bound without an alert', async () => {
    const t = await connectTunnel(proxy.explicitPort, 'echo.hcp.westeurope.azmk8s.io:443')
    const port = t.socket.localPort
    const t0 = Date.now()
    const rest = readAll(t.socket)
    assert.equal((await rest).length, 0)
    assert.ok(Date.now() - t0 >= 350 && Date.now() - t0 < 4000, `closed after ${Date.now() - t0} ms`)
    const d = await proxy.log.waitFor((l) => l['event'] === 'decision' && l['srcPort'] === port)
    assert.equal(d['code'], 'HANDSHAKE_TIMEOUT')
  })

  test('a plain-HTTP request on the explicit port is served by the common path, its decision line the first request\'s', async () => {
    // No Http rule: refused with 403 (and closed: docs/serve.md).
    const r = await rawExchange(
      proxy.explicitPort,
      'GET http://echo.hcp.westeurope.azmk8s.io/x HTTP/1.1\r\nHost: echo.hcp.westeurope.azmk8s.io\r\n\r\n',
    )
    assert.match(r.reply.toString(), /^HTTP\/1\.1 403 /)
    const d = await proxy.log.waitFor((l) => l['event'] === 'decision' && l['url'] === 'http://echo.hcp.westeurope.azmk8s.io/x')
    assert.equal(d['request'], 1)
    assert.equal(d['explicit'], true)
  })
})

describe('operations', () => {
  test('a stop at its drain bound closes a tunnel whose origin does not read; the close line and the bytes counter agree', async () => {
    const stuck = createServer((c) => {
      c.pause()
      c.on('error', () => undefined)
    })
    const address = randomLoopback()
    stuck.listen(443, address)
    await once(stuck, 'listening')
    const p = await startProxy({ policy: POLICY, hosts: { 'stuck.hcp.westeurope.azmk8s.io': address }, transparent: true })
    try {
      const s = await open(tlsPort(p))
      s.write(hello('stuck.hcp.westeurope.azmk8s.io'))
      const chunk = Buffer.alloc(64 * 1024, 0x61)
      for (let i = 0; i < 256; i++) s.write(chunk)
      await sleep(300)
      const decision = await p.log.waitFor((l) => l['event'] === 'decision')
      const up = async (): Promise<number> => Number(/^aks_egress_relayed_bytes_total\{direction="up"\} (\d+)$/m.exec(await p.server.metrics.registry.metrics())?.[1] ?? -1)
      assert.ok((await up()) > 0, 'bytes are counted while the tunnel is open')
      const { closed } = await p.server.stop(200)
      assert.equal(closed, 1)
      const close = await p.log.waitFor((l) => l['event'] === 'close' && l['conn'] === decision['conn'], 2000)
      assert.equal(close['end'], 'stop')
      assert.ok((close['bytesUp'] as number) > 0)
      assert.equal(await up(), close['bytesUp'], 'the counter ends at the close line\'s bytes')
      s.destroy()
    } finally {
      await p.close()
      stuck.close()
    }
  })

  test('the per-source cap refuses a connection over it, and frees its slots as connections close', async () => {
    const p = await startProxy({ policy: POLICY, hosts, transparent: true, limits: { maxConnectionsPerSource: 2 } })
    try {
      const held = [await open(tlsPort(p)), await open(tlsPort(p))]
      await sleep(50)
      const third = await open(tlsPort(p))
      await once(third, 'close')
      const d = await p.log.waitFor((l) => l['event'] === 'decision' && l['code'] === 'TOO_MANY_FROM_SOURCE')
      assert.equal(d['srcPort'], third.srcPort)
      for (const s of held) s.destroy()
      await sleep(50)
      const s = await open(tlsPort(p))
      const reply = readAll(s)
      s.end(hello('echo.hcp.westeurope.azmk8s.io'))
      assert.ok((await reply).length > 0, 'a slot is free again')
    } finally {
      await p.close()
    }
  })

  test('1,000 tunnels open at once, then no socket, timer or slot is left behind', async () => {
    assert.ok(DEFAULT_LIMITS.maxConnectionsPerSource >= 1000, 'the per-source cap lets 1,000 tunnels from one address open')
    const baseline = await resourceBaseline()
    const h = hello('echo.hcp.westeurope.azmk8s.io')
    const sockets = await Promise.all(
      Array.from({ length: 1000 }, async () => {
        const s = await open()
        s.write(h)
        await once(s, 'data')
        return s
      }),
    )
    const open1000 = Number(/^aks_egress_tunnels_open (\d+)$/m.exec(await proxy.server.metrics.registry.getSingleMetricAsString('aks_egress_tunnels_open'))?.[1])
    assert.equal(open1000, 1000)
    // Half of them end cleanly (FIN both ways), half are reset.
    await Promise.all(
      sockets.map(async (s, i) => {
        if (i % 2 === 0) {
          s.end()
          s.resume()
        } else s.resetAndDestroy()
        if (!s.closed) await once(s, 'close')
      }),
    )
    for (let i = 0; i < 100 && proxy.server.openConnections > 0; i++) await sleep(50)
    assert.equal(proxy.server.openConnections, 0)
    await assertResourcesBack(baseline)
    assert.match(await proxy.server.metrics.registry.getSingleMetricAsString('aks_egress_tunnels_open'), /^aks_egress_tunnels_open 0$/m)
  })
})
