// The transparent listeners, as nftables will feed them (the next issue): a client whose
// connection was redirected arrives at the listener of its original port. curl --connect-to
// stands for the redirect. The proxy decides by SNI / Host and dials the name's address itself.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { connect, createServer, type Socket } from 'node:net'
import { Duplex } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { connect as tlsConnect } from 'node:tls'
import { after, before, describe, test } from 'node:test'
import { loadPolicyText } from '../../../src/config/load-policy.ts'
import { TLS_ALERT_ACCESS_DENIED } from '../../../src/proxy/deny-response.ts'
import { buildPolicyState } from '../../../src/proxy/policy-state.ts'
import { buildClientHello } from '../../helpers/client-hello-builder.ts'
import { makePki, rawExchange, run, startHttpOrigin, startHttpsOrigin, startProxy, startRawOrigin, type Origin, type Pki, type ProxyHandle } from './harness.ts'

const POLICY = `apiVersion: aks-egress/v1
name: e2e-transparent
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
          - name: mcr
            sourceAddresses: ["*"]
            protocols: [Https:443]
            targetFqdns: [mcr.microsoft.com]
          - name: ubuntu
            sourceAddresses: ["*"]
            protocols: [Http:80]
            targetFqdns: [security.ubuntu.com]
`

let pki: Pki
let mcr: Origin
let evil: Origin
let ubuntu: Awaited<ReturnType<typeof startHttpOrigin>>
let big: Awaited<ReturnType<typeof startRawOrigin>>
let proxy: ProxyHandle
let hosts: Record<string, string>

const tlsPort = (): number => proxy.transparentPort('tls', 443)
const httpPort = (): number => proxy.transparentPort('http', 80)

before(async () => {
  pki = await makePki(['mcr.microsoft.com', 'evil.example.com', 'x.hcp.westeurope.azmk8s.io'])
  ;[mcr, evil] = await Promise.all([startHttpsOrigin(pki, 'mcr'), startHttpsOrigin(pki, 'evil')])
  ubuntu = await startHttpOrigin('ubuntu')
  big = await startRawOrigin('big', 443, 'capture')
  hosts = {
    'mcr.microsoft.com': mcr.address,
    'evil.example.com': evil.address,
    'security.ubuntu.com': ubuntu.address,
    'big.hcp.westeurope.azmk8s.io': big.address,
  }
  proxy = await startProxy({ policy: POLICY, hosts, transparent: true })
})

after(async () => {
  await proxy.close()
  await Promise.all([mcr, evil, ubuntu, big].map((o) => o.close()))
  pki.cleanup()
})

const curl = (...args: string[]): ReturnType<typeof run> => run('curl', ['-sS', '--max-time', '10', '--cacert', pki.caPath, ...args])

describe('TLS listener', () => {
  test('one listener per Https port and one per Http port, each knowing its original port', () => {
    const kinds = proxy.server.listeners.filter((l) => l.kind === 'tls' || l.kind === 'http').map((l) => `${l.kind}:${l.originalPort ?? 0}`)
    assert.deepEqual(kinds, ['tls:443', 'http:80'])
  })

  test('an allowed SNI is spliced to its origin', async () => {
    const r = await curl('--connect-to', `mcr.microsoft.com:443:127.0.0.1:${tlsPort()}`, 'https://mcr.microsoft.com/t')
    assert.equal(r.stdout, 'origin=mcr GET /t host=mcr.microsoft.com')
    const d = await proxy.log.waitFor((l) => l['listener'] === 'tls:443' && l['sni'] === 'mcr.microsoft.com')
    assert.equal(d['explicit'], false)
    assert.equal(d['code'], 'APPLICATION_RULE_ALLOW')
  })

  test('SNI spoofing: a connection meant for a denied address with an allowed SNI reaches the allowed name\'s origin', async () => {
    // The client resolved mcr.microsoft.com to the attacker's address (evil's); the redirect brings
    // the connection to the proxy, which ignores that destination and dials mcr.microsoft.com.
    const before = evil.connections()
    const r = await curl('--connect-to', `mcr.microsoft.com:443:127.0.0.1:${tlsPort()}`, '--resolve', `mcr.microsoft.com:443:${evil.address}`, 'https://mcr.microsoft.com/spoof')
    assert.equal(r.stdout, 'origin=mcr GET /spoof host=mcr.microsoft.com')
    assert.equal(evil.connections(), before)
  })

  test('a denied SNI gets a TLS access_denied alert, and its origin is never contacted', async () => {
    const before = evil.connections()
    const r = await curl('--connect-to', `evil.example.com:443:127.0.0.1:${tlsPort()}`, 'https://evil.example.com/')
    assert.match(r.stderr, /alert access denied/)
    assert.equal(evil.connections(), before)
    const raw = await rawExchange(tlsPort(), buildClientHello({ sni: 'evil.example.com' }))
    assert.deepEqual(raw.reply, TLS_ALERT_ACCESS_DENIED)
  })

  test('a connection accepted before a reload whose ClientHello comes after it: decided under the new policy', async () => {
    const p = await startProxy({ policy: POLICY, hosts, transparent: true })
    try {
      const socket = connect({ host: '127.0.0.1', port: p.transparentPort('tls', 443) })
      socket.on('error', () => undefined)
      const chunks: Buffer[] = []
      socket.on('data', (c: Buffer) => chunks.push(c))
      await once(socket, 'connect')
      const until = Date.now() + 5000
      while (p.server.openConnections === 0 && Date.now() < until) await sleep(10)
      assert.equal(p.server.openConnections, 1, 'the proxy accepted the connection before the reload')
      // The new policy no longer allows mcr.microsoft.com.
      const loaded = loadPolicyText(POLICY.replace(/ {10}- name: mcr\n(?: {12}.*\n){3}/, ''), 'e2e.yaml')
      assert.ok(loaded.policy, 'the test policy is valid')
      assert.equal(loaded.policy.ruleCollectionGroups[0]?.ruleCollections[0]?.rules.length, 2, 'the mcr rule is gone')
      await p.server.reload(buildPolicyState(loaded.policy, 'e2e.yaml'))
      const before = mcr.connections()
      socket.write(buildClientHello({ sni: 'mcr.microsoft.com' }))
      await once(socket, 'close')
      assert.deepEqual(Buffer.concat(chunks), TLS_ALERT_ACCESS_DENIED)
      assert.equal(mcr.connections(), before)
      const d = await p.log.waitFor((l) => l['listener'] === 'tls:443' && l['sni'] === 'mcr.microsoft.com')
      assert.equal(d['action'], 'deny')
      assert.equal(d['code'], 'DEFAULT_DENY')
    } finally {
      await p.close()
    }
  })

  test('a reload whose new transparent listener cannot open is refused: the policy and listeners in force stay', async () => {
    // A port of the new policy whose listener port (port + offset) another socket holds. The
    // offset puts every listener above the kernel's ephemeral range, so that no socket of another
    // test (they all take ephemeral ports) can be on one by chance.
    const range = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number)
    const offset = Math.min((range[1] ?? 60_999) + 1, 61_000)
    const blocker = createServer()
    let held = 0
    for (let candidate = offset + 2000; held === 0 && candidate < offset + 2100; candidate++) {
      blocker.listen(candidate, '127.0.0.1')
      const [result] = (await Promise.race([once(blocker, 'listening').then(() => ['ok']), once(blocker, 'error')])) as [unknown]
      if (result === 'ok') held = candidate
    }
    assert.ok(held > 0, 'a port to hold above the ephemeral range')
    const p = await startProxy({ policy: POLICY, hosts, transparent: true, transparentPorts: { kind: 'offset', offset } })
    try {
      const before = p.server.state
      const listeners = p.server.listeners
      const loaded = loadPolicyText(POLICY.replace('protocols: [Https:443]\n            targetFqdns: [mcr.microsoft.com]', `protocols: [Https:${held - offset}]\n            targetFqdns: [mcr.microsoft.com]`), 'e2e.yaml')
      assert.ok(loaded.policy, 'the test policy is valid')
      await assert.rejects(p.server.reload(buildPolicyState(loaded.policy, 'e2e.yaml')), new RegExp(`cannot open the transparent listener tls:${held - offset} 127\\.0\\.0\\.1:${held}: listen EADDRINUSE`))
      assert.equal(p.server.state, before, 'the policy in force stays')
      assert.deepEqual(p.server.listeners, listeners, 'no listener opened or closed')
      const r = await curl('--connect-to', `mcr.microsoft.com:443:127.0.0.1:${p.transparentPort('tls', 443)}`, 'https://mcr.microsoft.com/still')
      assert.equal(r.stdout, 'origin=mcr GET /still host=mcr.microsoft.com')
    } finally {
      await p.close()
      blocker.close()
    }
  })

  test('no SNI: denied with "SNI TLS extension was missing"', async () => {
    const r = await run('openssl', ['s_client', '-connect', `127.0.0.1:${tlsPort()}`, '-noservername'], { timeoutMs: 10_000 })
    assert.match(r.stdout + r.stderr, /alert access denied/)
    const d = await proxy.log.waitFor((l) => l['listener'] === 'tls:443' && l['code'] === 'SNI_MISSING')
    assert.equal(d['reason'], 'SNI TLS extension was missing')
    assert.equal(d['action'], 'deny')
  })

  test('bytes that are not TLS are refused and the connection closed without a reply', async () => {
    const r = await rawExchange(tlsPort(), 'GET / HTTP/1.1\r\nHost: mcr.microsoft.com\r\n\r\n')
    assert.equal(r.reply.length, 0)
    await proxy.log.waitFor((l) => l['listener'] === 'tls:443' && l['code'] === 'NOT_TLS')
  })

  test('a malformed ClientHello is refused with an alert', async () => {
    const r = await rawExchange(tlsPort(), buildClientHello({ sni: 'mcr.microsoft.com', extensions: [[43, new Uint8Array([2, 3, 4])]] }))
    assert.deepEqual(r.reply, TLS_ALERT_ACCESS_DENIED)
    const d = await proxy.log.waitFor((l) => l['code'] === 'CLIENT_HELLO_MALFORMED')
    assert.equal(d['reason'], 'Malformed ClientHello: extension 43 appears twice')
  })

  test('a ClientHello sent one byte per TCP segment still completes a real handshake', async () => {
    const socket = connect({ host: '127.0.0.1', port: tlsPort(), noDelay: true })
    // The dribbling writer may still send (the client's close_notify) after the proxy closed.
    socket.on('error', () => undefined)
    await once(socket, 'connect')
    const tls = tlsConnect({ socket: dribble(socket), servername: 'mcr.microsoft.com', ca: pki.ca, ALPNProtocols: ['http/1.1'] })
    await once(tls, 'secureConnect')
    tls.write('GET /dribble HTTP/1.1\r\nHost: mcr.microsoft.com\r\nConnection: close\r\n\r\n')
    let body = ''
    tls.on('data', (c: Buffer) => (body += c.toString()))
    await once(tls, 'end')
    assert.match(body, /origin=mcr GET \/dribble host=mcr\.microsoft\.com$/)
    socket.destroy()
  })

  test('a 17 KiB ClientHello in two records is relayed byte for byte', async () => {
    const hello = buildClientHello({ sni: 'big.hcp.westeurope.azmk8s.io', paddingBytes: 17_000 })
    const socket = connect({ host: '127.0.0.1', port: tlsPort() })
    await once(socket, 'connect')
    socket.end(hello)
    socket.resume()
    await once(socket, 'close')
    assert.deepEqual(big.received(), hello)
  })

  test('a ClientHello over the bound is refused', async () => {
    const small = await startProxy({ policy: POLICY, hosts, transparent: true, limits: { maxClientHelloBytes: 16 * 1024 } })
    try {
      const r = await rawExchange(small.transparentPort('tls', 443), buildClientHello({ sni: 'big.hcp.westeurope.azmk8s.io', paddingBytes: 17_000 }))
      assert.deepEqual(r.reply, TLS_ALERT_ACCESS_DENIED)
      const d = await small.log.waitFor((l) => l['event'] === 'decision')
      assert.equal(d['code'], 'CLIENT_HELLO_TOO_LARGE')
    } finally {
      await small.close()
    }
  })
})

describe('HTTP listener', () => {
  test('an allowed Host is forwarded; a denied one gets 403 with the reason', async () => {
    const ok = await curl('--connect-to', `security.ubuntu.com:80:127.0.0.1:${httpPort()}`, 'http://security.ubuntu.com/ubuntu/')
    assert.equal(ok.stdout, 'origin=ubuntu GET /ubuntu/ host=security.ubuntu.com body=')
    const denied = await curl('-i', '--connect-to', `evil.example.com:80:127.0.0.1:${httpPort()}`, 'http://evil.example.com/')
    assert.match(denied.stdout, /^HTTP\/1\.1 403 Forbidden\r\nX-Aks-Egress-Reason: DEFAULT_DENY\r\n/)
  })

  test('a Host whose port is not the connection\'s original port is refused (Azure: dropped)', async () => {
    const r = await curl('-i', '--connect-to', `security.ubuntu.com:8080:127.0.0.1:${httpPort()}`, 'http://security.ubuntu.com:8080/')
    assert.match(r.stdout, /X-Aks-Egress-Reason: HOST_MISMATCH/)
  })

  test('an absolute-form target with another scheme than http is refused, not forwarded as plain HTTP', async () => {
    for (const scheme of ['ftp', 'https']) {
      const r = await rawExchange(httpPort(), `GET ${scheme}://security.ubuntu.com/x HTTP/1.1\r\nHost: security.ubuntu.com\r\n\r\n`)
      assert.match(r.reply.toString(), /^HTTP\/1\.1 400 Bad Request\r\nX-Aks-Egress-Reason: UNSUPPORTED_REQUEST\r\n/, scheme)
    }
  })

  test('a request without Host is refused', async () => {
    const r = await rawExchange(httpPort(), 'GET / HTTP/1.0\r\n\r\n')
    assert.match(r.reply.toString(), /^HTTP\/1\.1 403 Forbidden\r\nX-Aks-Egress-Reason: HOST_MISSING\r\n/)
  })

  test('bytes after a body are the next request, decided by its own Host: a smuggled request to a denied host never reaches an origin', async () => {
    const before = ubuntu.requests.length
    const evilBefore = evil.connections()
    const r = await rawExchange(
      httpPort(),
      'POST /one HTTP/1.1\r\nHost: security.ubuntu.com\r\nContent-Length: 3\r\n\r\nabcGET /two HTTP/1.1\r\nHost: evil.example.com\r\n\r\n',
    )
    const reply = r.reply.toString()
    assert.match(reply, /^HTTP\/1\.1 200 OK\r\n[^]*\r\nConnection: keep-alive\r\n\r\norigin=ubuntu POST \/one host=security\.ubuntu\.com body=abcHTTP\/1\.1 403 Forbidden\r\nX-Aks-Egress-Reason: DEFAULT_DENY\r\n/)
    const reqs = ubuntu.requests.slice(before)
    assert.deepEqual(reqs.map((q) => q.url), ['/one'])
    assert.equal(evil.connections(), evilBefore)
  })
})

/** A Duplex over `socket` that writes each byte of the first 4 KiB as its own TCP segment. */
function dribble(socket: Socket): Duplex {
  let sent = 0
  const d = new Duplex({
    write(chunk: Buffer, _enc, callback) {
      void (async () => {
        for (const byte of chunk) {
          if (sent >= 4096) {
            socket.write(chunk.subarray(chunk.indexOf(byte)))
            break
          }
          socket.write(Buffer.from([byte]))
          sent++
          if (sent % 4 === 0) await sleep(1)
        }
        callback()
      })()
    },
    read() {
      // data is pushed from the socket
    },
    final(callback) {
      socket.end()
      callback()
    },
  })
  socket.on('data', (c: Buffer) => d.push(c))
  socket.on('end', () => d.push(null))
  return d
}
