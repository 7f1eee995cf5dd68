// Hostile and sloppy clients, bounds and resource safety, with the proxy in this process so that
// its handles can be counted (process.getActiveResourcesInfo) after thousands of connections.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, before, describe, test } from 'node:test'
import { buildClientHello } from '../../helpers/client-hello-builder.ts'
import { DEFAULT_LIMITS } from '../../../src/proxy/serve-defaults.ts'
import { assertResourcesBack, resourceBaseline } from './resource-check.ts'
import { connectTunnel, rawExchange, startHttpOrigin, startProxy, startRawOrigin, type ProxyHandle } from './harness.ts'

const POLICY = `apiVersion: aks-egress/v1
name: e2e-robustness
settings:
  unsafeAllowPrivateRanges: ["127.0.0.0/8"]
ruleCollectionGroups:
  - name: aks
    priority: 200
    ruleCollections:
      - name: net
        type: network
        priority: 100
        action: Allow
        rules:
          - name: tunnel
            sourceAddresses: ["*"]
            ipProtocols: [TCP]
            destinationFqdns: ["*.hcp.westeurope.azmk8s.io"]
            destinationPorts: ["9000"]
      - name: app
        type: application
        priority: 200
        action: Allow
        rules:
          - name: ubuntu
            sourceAddresses: ["*"]
            protocols: [Http:80]
            targetFqdns: [security.ubuntu.com]
`

let echo: Awaited<ReturnType<typeof startRawOrigin>>
let banner: Awaited<ReturnType<typeof startRawOrigin>>
let http: Awaited<ReturnType<typeof startHttpOrigin>>
let hosts: Record<string, string>
let proxy: ProxyHandle

before(async () => {
  echo = await startRawOrigin('echo', 9000, 'echo')
  banner = await startRawOrigin('banner', 9000, 'banner')
  http = await startHttpOrigin('ubuntu')
  hosts = { 'echo.hcp.westeurope.azmk8s.io': echo.address, 'banner.hcp.westeurope.azmk8s.io': banner.address, 'security.ubuntu.com': http.address }
  proxy = await startProxy({ policy: POLICY, hosts, transparent: true, limits: { handshakeTimeoutMs: 400, idleTimeoutMs: 3000, keepAliveIdleTimeoutMs: 300 } })
})

after(async () => {
  await proxy.close()
  await Promise.all([echo.close(), banner.close(), http.close()])
})

async function readAll(socket: Socket): Promise<string> {
  let out = ''
  socket.on('data', (c: Buffer) => (out += c.toString()))
  await once(socket, 'end')
  return out
}

describe('hostile clients', () => {
  test('slowloris: a head that trickles in is cut at the handshake bound with 408', async () => {
    const socket = connect({ host: '127.0.0.1', port: proxy.explicitPort })
    await once(socket, 'connect')
    socket.on('error', () => undefined)
    const reply = readAll(socket)
    const t0 = Date.now()
    // 200 bytes, one every 20 ms: 4 s to send, against a 400 ms handshake bound.
    const text = `CONNECT echo.hcp.westeurope.azmk8s.io:9000 HTTP/1.1\r\nX-Slow: ${'s'.repeat(140)}`
    for (const ch of text) {
      if (socket.destroyed || socket.readableEnded) break
      socket.write(ch)
      await sleep(20)
    }
    const r = await reply
    assert.match(r, /^HTTP\/1\.1 408 Request Timeout\r\nX-Aks-Egress-Reason: HANDSHAKE_TIMEOUT\r\n/)
    assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`)
    socket.destroy()
  })

  test('an oversized head gets 431', async () => {
    const r = await rawExchange(proxy.explicitPort, `GET http://security.ubuntu.com/ HTTP/1.1\r\nHost: security.ubuntu.com\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)
    assert.match(r.reply.toString(), /^HTTP\/1\.1 431 Request Header Fields Too Large\r\nX-Aks-Egress-Reason: HEADER_TOO_LARGE\r\n/)
  })

  test('garbage bytes on the explicit port get 400', async () => {
    const r = await rawExchange(proxy.explicitPort, Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00, 0x0d, 0x0a, 0x0d, 0x0a]))
    assert.match(r.reply.toString(), /^HTTP\/1\.1 400 Bad Request\r\nX-Aks-Egress-Reason: BAD_REQUEST\r\n/)
  })

  test('a TLS ClientHello sent to the explicit port (not a proxy request) gets 400', async () => {
    const r = await rawExchange(proxy.explicitPort, buildClientHello({ sni: 'echo.hcp.westeurope.azmk8s.io' }))
    assert.match(r.reply.toString(), /X-Aks-Egress-Reason: BAD_REQUEST/)
  })

  test('a client that connects and says nothing is closed at the handshake bound (transparent TLS)', async () => {
    const socket = connect({ host: '127.0.0.1', port: proxy.transparentPort('http', 80) })
    await once(socket, 'connect')
    const t0 = Date.now()
    socket.resume()
    await once(socket, 'close')
    assert.ok(Date.now() - t0 < 4000)
  })

  test('per-source connection cap: 429 once the source has too many open', async () => {
    const capped = await startProxy({ policy: POLICY, hosts, limits: { maxConnectionsPerSource: 3 } })
    const held: Socket[] = []
    try {
      for (let i = 0; i < 3; i++) {
        const s = connect({ host: '127.0.0.1', port: capped.explicitPort })
        await once(s, 'connect')
        held.push(s)
      }
      await sleep(50)
      const r = await rawExchange(capped.explicitPort, 'CONNECT echo.hcp.westeurope.azmk8s.io:9000 HTTP/1.1\r\n\r\n')
      assert.match(r.reply.toString(), /^HTTP\/1\.1 429 Too Many Requests\r\nX-Aks-Egress-Reason: TOO_MANY_FROM_SOURCE\r\n/)
      for (const s of held) s.destroy()
      await sleep(50)
      const ok = await connectTunnel(capped.explicitPort, 'echo.hcp.westeurope.azmk8s.io:9000')
      assert.equal(ok.status, 200, 'the slots are released when the connections close')
      ok.socket.destroy()
    } finally {
      for (const s of held) s.destroy()
      await capped.close()
    }
  })
})

describe('relay', () => {
  test('half-close from the client: its FIN reaches the origin, which still answers', async () => {
    const t = await connectTunnel(proxy.explicitPort, 'echo.hcp.westeurope.azmk8s.io:9000')
    const reply = readAll(t.socket)
    t.socket.end('abc')
    assert.equal(await reply, 'abc')
  })

  test('half-close from the origin: its FIN reaches the client, which can still send', async () => {
    const t = await connectTunnel(proxy.explicitPort, 'banner.hcp.westeurope.azmk8s.io:9000', '', true)
    assert.equal(await readAll(t.socket), 'hello')
    t.socket.end('after-fin')
    await once(t.socket, 'close')
    await sleep(50)
    assert.match(banner.received().toString(), /after-fin$/)
  })

  test('a stop at its drain bound closes a tunnel whose origin does not read, and logs its close line', async () => {
    // An origin that accepts and never reads: the proxy's writes to it stay pending.
    const stuck = createServer((s) => {
      s.pause()
      s.on('error', () => undefined)
    })
    stuck.listen(0, '127.0.0.1')
    await once(stuck, 'listening')
    const port = (stuck.address() as AddressInfo).port
    const policy = `apiVersion: aks-egress/v1
name: e2e-stuck-origin
settings:
  unsafeAllowPrivateRanges: ["127.0.0.0/8"]
ruleCollectionGroups:
  - name: g
    priority: 200
    ruleCollections:
      - name: net
        type: network
        priority: 100
        action: Allow
        rules:
          - name: stuck
            sourceAddresses: ["*"]
            ipProtocols: [TCP]
            destinationFqdns: [stuck.example.com]
            destinationPorts: ["${port}"]
`
    const p = await startProxy({ policy, hosts: { 'stuck.example.com': '127.0.0.1' } })
    try {
      const t = await connectTunnel(p.explicitPort, `stuck.example.com:${port}`)
      assert.equal(t.status, 200)
      t.socket.on('error', () => undefined)
      // Far more than the kernel's buffers hold (16 MiB, queued in this client whatever write() says):
      // the relay pauses the client, and a write to the origin stays pending.
      const chunk = Buffer.alloc(64 * 1024, 0x61)
      for (let i = 0; i < 256; i++) t.socket.write(chunk)
      await sleep(300)
      const decision = await p.log.waitFor((l) => l['event'] === 'decision' && l['host'] === 'stuck.example.com')
      // A scrape while bytes wait to be written (with net.Socket they are in its queue, which the
      // stop's destroy drops): the counter must not count them, or it would have to go back down.
      const up = async (): Promise<number> => Number(/^aks_egress_relayed_bytes_total\{direction="up"\} (\d+)$/m.exec(await p.server.metrics.registry.metrics())?.[1] ?? -1)
      assert.ok((await up()) > 0)
      const { closed } = await p.server.stop(200)
      assert.equal(closed, 1)
      const close = await p.log.waitFor((l) => l['event'] === 'close' && l['conn'] === decision['conn'], 2000)
      assert.equal(close['end'], 'stop')
      assert.ok((close['bytesUp'] as number) > 0)
      assert.equal(await up(), close['bytesUp'], 'the counter ends at the close line\'s bytes: nothing counted twice or taken back')
      t.socket.destroy()
    } finally {
      await p.close()
      stuck.close()
    }
  })

  test('idle tunnels are closed at the idle bound and logged with their bytes', async () => {
    const idle = await startProxy({ policy: POLICY, hosts, limits: { idleTimeoutMs: 300 } })
    try {
      const t = await connectTunnel(idle.explicitPort, 'echo.hcp.westeurope.azmk8s.io:9000')
      t.socket.write('x')
      const t0 = Date.now()
      t.socket.resume()
      await once(t.socket, 'close')
      assert.ok(Date.now() - t0 >= 250 && Date.now() - t0 < 4000, `closed after ${Date.now() - t0} ms`)
      const close = await idle.log.waitFor((l) => l['event'] === 'close')
      assert.equal(close['bytesUp'], 1)
      assert.equal(close['bytesDown'], 1)
      assert.equal(close['end'], 'idle')
    } finally {
      await idle.close()
    }
  })
})

describe('resources', () => {
  test('no socket, server or timer is left behind after thousands of connections', async () => {
    const baseline = await resourceBaseline()
    const kinds = [
      async () => {
        const t = await connectTunnel(proxy.explicitPort, 'echo.hcp.westeurope.azmk8s.io:9000')
        const reply = readAll(t.socket)
        t.socket.end('ping')
        assert.equal(await reply, 'ping')
      },
      async () => {
        const r = await rawExchange(proxy.explicitPort, 'CONNECT denied.example.com:443 HTTP/1.1\r\n\r\n')
        assert.match(r.reply.toString(), /^HTTP\/1\.1 403/)
      },
      async () => {
        const r = await rawExchange(proxy.explicitPort, 'GET http://security.ubuntu.com/x HTTP/1.1\r\nHost: security.ubuntu.com\r\nConnection: close\r\n\r\n')
        assert.match(r.reply.toString(), /origin=ubuntu GET \/x/)
      },
      async () => {
        const r = await rawExchange(proxy.transparentPort('http', 80), '\u0000\u0001garbage\r\n\r\n')
        assert.match(r.reply.toString(), /^HTTP\/1\.1 400/)
      },
      async () => {
        // Keep-alive: three requests on one connection (the last asks to close), then the close.
        const r = await rawExchange(
          proxy.explicitPort,
          'GET http://security.ubuntu.com/k1 HTTP/1.1\r\nHost: security.ubuntu.com\r\n\r\n' +
            'GET http://security.ubuntu.com/k2 HTTP/1.1\r\nHost: security.ubuntu.com\r\n\r\n' +
            'GET /k3 HTTP/1.1\r\nHost: security.ubuntu.com\r\nConnection: close\r\n\r\n',
        )
        assert.equal(r.reply.toString().match(/origin=ubuntu GET \/k\d/g)?.length, 2)
        assert.match(r.reply.toString(), /X-Aks-Egress-Reason: UNSUPPORTED_REQUEST/)
      },
      async () => {
        // Keep-alive on the transparent listener; the client then idles until the proxy closes it.
        const s = connect({ host: '127.0.0.1', port: proxy.transparentPort('http', 80) })
        await once(s, 'connect')
        const reply = readAll(s)
        s.write('GET /idle HTTP/1.1\r\nHost: security.ubuntu.com\r\n\r\n')
        assert.match(await reply, /origin=ubuntu GET \/idle/)
        s.destroy()
      },
      async () => {
        // The client resets while its request is being forwarded.
        const s = connect({ host: '127.0.0.1', port: proxy.explicitPort })
        await once(s, 'connect')
        s.write('GET http://security.ubuntu.com/reset HTTP/1.1\r\nHost: security.ubuntu.com\r\n\r\n')
        await sleep(1)
        s.resetAndDestroy()
        await once(s, 'close')
      },
      async () => {
        // The client resets in the middle of the handshake.
        const s = connect({ host: '127.0.0.1', port: proxy.explicitPort })
        await once(s, 'connect')
        s.write('CONNECT echo.hcp')
        s.resetAndDestroy()
        await once(s, 'close')
      },
    ]
    const total = 2500
    const concurrency = 50
    let next = 0
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < total) {
          const i = next++
          await kinds[i % kinds.length]!()
        }
      }),
    )
    // Everything the proxy opened must close by itself, but for the idle origin connections the
    // pool keeps (bounded; dropped here so that the origin's side closes too).
    for (let i = 0; i < 100 && proxy.server.openConnections > 0; i++) await sleep(50)
    assert.equal(proxy.server.openConnections, 0)
    assert.ok(proxy.server.idleOriginConnections <= DEFAULT_LIMITS.originPoolMaxIdlePerKey, String(proxy.server.idleOriginConnections))
    proxy.server.dropIdleOrigins()
    await assertResourcesBack(baseline)
    const metrics = await proxy.server.metrics.registry.getSingleMetricAsString('aks_egress_tunnels_open')
    assert.match(metrics, /^aks_egress_tunnels_open 0$/m)
  })
})
