// The explicit proxy with real clients (curl -x and https_proxy, openssl s_client -proxy, undici
// ProxyAgent, python3 urllib) against TLS and HTTP origins named after catalog entries.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { connect as tlsConnect } from 'node:tls'
import { after, before, describe, test } from 'node:test'
import { ProxyAgent, fetch as undiciFetch } from 'undici'
import { parseAuthFile } from '../../../src/proxy/proxy-auth.ts'
import {
  connectTunnel,
  makePki,
  run,
  startDnsServer,
  startHttpOrigin,
  startHttpsOrigin,
  startProxy,
  startRawOrigin,
  type Origin,
  type Pki,
  type ProxyHandle,
} from './harness.ts'

const NAMES = [
  'mcr.microsoft.com',
  'westeurope.data.mcr.microsoft.com',
  'a.b.data.mcr.microsoft.com',
  'data.mcr.microsoft.com',
  'dns-only.data.mcr.microsoft.com',
  'x.hcp.westeurope.azmk8s.io',
  'evil.example.com',
]

function policy(o: { api: string; settings?: string }): string {
  return `apiVersion: aks-egress/v1
name: e2e
settings:
${o.settings ?? '  unsafeAllowPrivateRanges: ["127.0.0.0/8"]'}
ruleCollectionGroups:
  - name: aks
    priority: 200
    ruleCollections:
      - name: net
        type: network
        priority: 100
        action: Allow
        rules:
          - name: api-server
            sourceAddresses: ["*"]
            ipProtocols: [TCP]
            destinationAddresses: ["${o.api}"]
            destinationPorts: ["443"]
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
          - name: hcp
            sourceAddresses: ["*"]
            protocols: [Https:443]
            targetFqdns: ["*.hcp.westeurope.azmk8s.io"]
          - name: mcr
            sourceAddresses: ["*"]
            protocols: [Https:443]
            targetFqdns: [mcr.microsoft.com]
          - name: mcr-data
            sourceAddresses: ["*"]
            protocols: [Https:443]
            targetFqdns: ["*.data.mcr.microsoft.com"]
          - name: ubuntu
            sourceAddresses: ["*"]
            protocols: [Http:80]
            targetFqdns: [security.ubuntu.com]
`
}

let pki: Pki
let mcr: Origin
let mcrData: Origin
let hcp: Origin
let evil: Origin
let api: Origin
let ubuntu: Awaited<ReturnType<typeof startHttpOrigin>>
let tunnel9000: Awaited<ReturnType<typeof startRawOrigin>>
let proxy: ProxyHandle
let hosts: Record<string, string>
const cleanups: Array<() => Promise<void> | void> = []

const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({ PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...extra })
const curlArgs = (): string[] => ['-sS', '--max-time', '10', '--cacert', pki.caPath]
const proxyUrl = (p: ProxyHandle = proxy): string => `http://127.0.0.1:${p.explicitPort}`

before(async () => {
  pki = await makePki(NAMES)
  ;[mcr, mcrData, hcp, evil, api] = await Promise.all([
    startHttpsOrigin(pki, 'mcr'),
    startHttpsOrigin(pki, 'mcr-data'),
    startHttpsOrigin(pki, 'hcp'),
    startHttpsOrigin(pki, 'evil'),
    startHttpsOrigin(pki, 'api-server'),
  ])
  ubuntu = await startHttpOrigin('ubuntu')
  tunnel9000 = await startRawOrigin('tunnel', 9000, 'echo')
  hosts = {
    'mcr.microsoft.com': mcr.address,
    'westeurope.data.mcr.microsoft.com': mcrData.address,
    'a.b.data.mcr.microsoft.com': mcrData.address,
    'data.mcr.microsoft.com': mcrData.address,
    'x.hcp.westeurope.azmk8s.io': hcp.address,
    'y.hcp.westeurope.azmk8s.io': tunnel9000.address,
    'evil.example.com': evil.address,
    'security.ubuntu.com': ubuntu.address,
    'westus.data.mcr.microsoft.com': '10.255.0.1',
    'imds.data.mcr.microsoft.com': '169.254.169.254',
  }
  proxy = await startProxy({ policy: policy({ api: api.address }), hosts })
  cleanups.push(() => proxy.close())
})

after(async () => {
  for (const c of cleanups.reverse()) await c()
  await Promise.all([mcr, mcrData, hcp, evil, api, ubuntu, tunnel9000].map((o) => o.close()))
  pki.cleanup()
})

describe('curl', () => {
  test('curl -x: an allowed name is tunnelled to its origin; one decision and one close line are logged', async () => {
    const r = await run('curl', [...curlArgs(), '-x', proxyUrl(), 'https://mcr.microsoft.com/v2/'])
    assert.equal(r.stdout, 'origin=mcr GET /v2/ host=mcr.microsoft.com')
    const decision = await proxy.log.waitFor((l) => l['event'] === 'decision' && l['host'] === 'mcr.microsoft.com')
    assert.equal(decision['action'], 'allow')
    assert.equal(decision['code'], 'APPLICATION_RULE_ALLOW')
    assert.equal(decision['rule'], 'aks/app/mcr')
    assert.equal(decision['sni'], 'mcr.microsoft.com')
    assert.equal(decision['protocol'], 'https')
    assert.equal(decision['port'], 443)
    assert.equal(decision['explicit'], true)
    assert.equal(decision['srcIp'], '127.0.0.1')
    assert.equal(decision['upstream'], `${mcr.address}:443`)
    assert.equal(typeof decision['dnsMs'], 'number')
    assert.equal(typeof decision['connectMs'], 'number')
    const close = await proxy.log.waitFor((l) => l['event'] === 'close' && l['conn'] === decision['conn'])
    assert.ok((close['bytesUp'] as number) > 200 && (close['bytesDown'] as number) > 200, JSON.stringify(close))
    // curl's close may come as a reset (its socket closed with the origin's close_notify unread): either is an end of the tunnel by its ends.
    assert.ok(close['end'] === 'closed' || close['end'] === 'error', String(close['end']))
  })

  test('curl -x: a denied name gets 403 with the reason code, and its origin is never contacted', async () => {
    const before = evil.connections()
    const r = await run('curl', [...curlArgs(), '-v', '-x', proxyUrl(), 'https://evil.example.com/'])
    assert.match(r.stderr, /< HTTP\/1\.1 403 Forbidden/)
    assert.match(r.stderr, /< X-Aks-Egress-Reason: DEFAULT_DENY/)
    assert.equal(evil.connections(), before)
  })

  test('https_proxy: wildcard matches any depth but not the apex', async () => {
    const e = env({ https_proxy: proxyUrl(), no_proxy: '' })
    const ok1 = await run('curl', [...curlArgs(), 'https://westeurope.data.mcr.microsoft.com/x'], { env: e })
    assert.equal(ok1.stdout, 'origin=mcr-data GET /x host=westeurope.data.mcr.microsoft.com')
    const ok2 = await run('curl', [...curlArgs(), 'https://a.b.data.mcr.microsoft.com/y'], { env: e })
    assert.equal(ok2.stdout, 'origin=mcr-data GET /y host=a.b.data.mcr.microsoft.com')
    const apex = await run('curl', [...curlArgs(), '-v', 'https://data.mcr.microsoft.com/'], { env: e })
    assert.match(apex.stderr, /< X-Aks-Egress-Reason: DEFAULT_DENY/)
  })

  test('plain HTTP forward: allowed by Host, hop-by-hop fields removed (the origin connection kept alive); denied gets 403 with the reason', async () => {
    const r = await run('curl', [...curlArgs(), '-x', proxyUrl(), '-H', 'Proxy-Connection: keep-alive', '-H', 'Connection: X-Secret', '-H', 'X-Secret: 1', '-H', 'Proxy-Authorization: Basic dTpw', '-H', 'TE: trailers', 'http://security.ubuntu.com/ubuntu/dists/?q=1'])
    assert.equal(r.stdout, 'origin=ubuntu GET /ubuntu/dists/?q=1 host=security.ubuntu.com body=')
    const seen = ubuntu.requests.at(-1)!
    assert.equal(seen.headers['connection'], undefined)
    assert.equal(seen.headers['proxy-connection'], undefined)
    assert.equal(seen.headers['x-secret'], undefined)
    assert.equal(seen.headers['proxy-authorization'], undefined)
    assert.equal(seen.headers['te'], undefined)
    const post = await run('curl', [...curlArgs(), '-x', proxyUrl(), '--data-binary', 'abc', 'http://security.ubuntu.com/post'])
    assert.equal(post.stdout, 'origin=ubuntu POST /post host=security.ubuntu.com body=abc')
    const denied = await run('curl', [...curlArgs(), '-i', '-x', proxyUrl(), 'http://evil.example.com/'])
    assert.match(denied.stdout, /^HTTP\/1\.1 403 Forbidden\r\nX-Aks-Egress-Reason: DEFAULT_DENY\r\n/)
    assert.match(denied.stdout, /Action: Deny\. Reason: No rule matched\. Proceeding with default action\.\n$/)
    const https443 = await run('curl', [...curlArgs(), '-i', '-x', proxyUrl(), 'http://mcr.microsoft.com/'])
    assert.match(https443.stdout, /X-Aks-Egress-Reason: DEFAULT_DENY/, 'an Https:443 rule does not allow Http:80')
  })
})

describe('openssl s_client -proxy', () => {
  test('a ClientHello whose SNI differs from the CONNECT host is refused with a TLS alert (no domain fronting)', async () => {
    const before = evil.connections()
    const r = await run('openssl', ['s_client', '-proxy', `127.0.0.1:${proxy.explicitPort}`, '-connect', 'mcr.microsoft.com:443', '-servername', 'evil.example.com', '-CAfile', pki.caPath], { timeoutMs: 10_000 })
    assert.notEqual(r.code, 0)
    assert.match(r.stdout + r.stderr, /alert access denied/)
    const d = await proxy.log.waitFor((l) => l['code'] === 'SNI_MISMATCH')
    assert.equal(d['action'], 'deny')
    assert.equal(d['sni'], 'evil.example.com')
    assert.equal(d['host'], 'mcr.microsoft.com')
    assert.equal(d['rule'], null, 'a deny line does not name the Allow rule of the CONNECT')
    assert.equal(evil.connections(), before)
  })

  test('a tunnel without SNI to a name is refused: "SNI TLS extension was missing"', async () => {
    const r = await run('openssl', ['s_client', '-proxy', `127.0.0.1:${proxy.explicitPort}`, '-connect', 'mcr.microsoft.com:443', '-noservername', '-CAfile', pki.caPath], { timeoutMs: 10_000 })
    assert.match(r.stdout + r.stderr, /alert access denied/)
    const d = await proxy.log.waitFor((l) => l['code'] === 'SNI_MISSING')
    assert.equal(d['reason'], 'SNI TLS extension was missing')
    assert.equal(d['sni'], null)
  })

  test('an allowed name completes the handshake and verifies against the test CA', async () => {
    const r = await run('openssl', ['s_client', '-proxy', `127.0.0.1:${proxy.explicitPort}`, '-connect', 'x.hcp.westeurope.azmk8s.io:443', '-servername', 'x.hcp.westeurope.azmk8s.io', '-CAfile', pki.caPath, '-verify_return_error'], { timeoutMs: 10_000 })
    assert.match(r.stdout, /Verify return code: 0 \(ok\)/)
  })
})

describe('CONNECT semantics', () => {
  test('CONNECT to an IP literal is allowed only by a network rule', async () => {
    const allowed = await connectTunnel(proxy.explicitPort, `${api.address}:443`)
    assert.equal(allowed.status, 200)
    const tls = tlsConnect({ socket: allowed.socket, ca: pki.ca, rejectUnauthorized: false })
    await once(tls, 'secureConnect')
    tls.destroy()
    const d = await proxy.log.waitFor((l) => l['host'] === api.address && l['event'] === 'decision')
    assert.equal(d['code'], 'NETWORK_RULE_ALLOW')
    assert.equal(d['rule'], 'aks/net/api-server')
    assert.equal(d['protocol'], 'tcp')
    const denied = await connectTunnel(proxy.explicitPort, `${evil.address}:443`)
    assert.equal(denied.status, 403)
    assert.match(denied.head, /X-Aks-Egress-Reason: DEFAULT_DENY/)
    denied.socket.destroy()
  })

  test('CONNECT to a non-TLS port by name: only a network rule with the FQDN allows it; bytes are relayed both ways', async () => {
    const t = await connectTunnel(proxy.explicitPort, 'y.hcp.westeurope.azmk8s.io:9000')
    assert.equal(t.status, 200)
    t.socket.write('ping')
    const [echo] = (await once(t.socket, 'data')) as [Buffer]
    assert.equal(echo.toString(), 'ping')
    t.socket.destroy()
    const denied = await connectTunnel(proxy.explicitPort, 'mcr.microsoft.com:9000')
    assert.equal(denied.status, 403)
    denied.socket.destroy()
  })

  test('ALPN is passed to the origin untouched (konnectivity)', async () => {
    const t = await connectTunnel(proxy.explicitPort, 'x.hcp.westeurope.azmk8s.io:443')
    const tls = tlsConnect({ socket: t.socket, servername: 'x.hcp.westeurope.azmk8s.io', ca: pki.ca, ALPNProtocols: ['konnectivity', 'http/1.1'] })
    await once(tls, 'secureConnect')
    assert.equal(tls.alpnProtocol, 'http/1.1')
    tls.destroy()
    assert.deepEqual(hcp.alpnOffers.at(-1), ['konnectivity', 'http/1.1'])
    assert.equal(hcp.servernames.at(-1), 'x.hcp.westeurope.azmk8s.io')
  })

  test('an allowed name that resolves to a private or link-local address is refused', async () => {
    const priv = await connectTunnel(proxy.explicitPort, 'westus.data.mcr.microsoft.com:443')
    assert.equal(priv.status, 403)
    assert.match(priv.head, /X-Aks-Egress-Reason: DESTINATION_FORBIDDEN/)
    priv.socket.destroy()
    const imds = await connectTunnel(proxy.explicitPort, 'imds.data.mcr.microsoft.com:443')
    assert.match(imds.head, /X-Aks-Egress-Reason: DESTINATION_FORBIDDEN/)
    imds.socket.destroy()
    const d = await proxy.log.waitFor((l) => l['host'] === 'imds.data.mcr.microsoft.com')
    assert.equal(d['reason'], 'imds.data.mcr.microsoft.com resolves only to addresses the proxy may not dial (link-local)')
  })

  test('a CONNECT to the proxy itself is refused (self), even with loopback opened', async () => {
    const self = await connectTunnel(proxy.explicitPort, `127.0.0.1:${proxy.explicitPort}`)
    assert.equal(self.status, 403)
    self.socket.destroy()
  })
})

describe('other clients', () => {
  test('undici ProxyAgent', async () => {
    const agent = new ProxyAgent({ uri: proxyUrl(), requestTls: { ca: pki.ca } })
    try {
      const res = await undiciFetch('https://mcr.microsoft.com/undici', { dispatcher: agent })
      assert.equal(res.status, 200)
      assert.equal(await res.text(), 'origin=mcr GET /undici host=mcr.microsoft.com')
      // undici reports the 403 as "Proxy response (403) !== 200 when HTTP Tunneling" or, when the
      // proxy's close wins the race, as a cancelled request; the proxy's log says which rule denied.
      const denials = (): number => proxy.log.lines.filter((l) => l['host'] === 'evil.example.com' && l['code'] === 'DEFAULT_DENY').length
      const before = denials()
      await assert.rejects(undiciFetch('https://evil.example.com/', { dispatcher: agent }), TypeError)
      await proxy.log.waitFor(() => denials() > before)
    } finally {
      await agent.close()
    }
  })

  test('python3 urllib (https through CONNECT, http forward)', async () => {
    const script = `
import ssl, sys, urllib.request, urllib.error
proxy = sys.argv[1]
ctx = ssl.create_default_context(cafile=sys.argv[2])
opener = urllib.request.build_opener(urllib.request.ProxyHandler({"https": proxy, "http": proxy}), urllib.request.HTTPSHandler(context=ctx))
print(opener.open("https://westeurope.data.mcr.microsoft.com/py", timeout=10).read().decode())
print(opener.open("http://security.ubuntu.com/py", timeout=10).read().decode())
try:
    opener.open("http://evil.example.com/", timeout=10)
except urllib.error.HTTPError as e:
    print(e.code, e.headers["X-Aks-Egress-Reason"])
`
    const r = await run('python3', ['-c', script, proxyUrl(), pki.caPath])
    assert.equal(r.stdout, 'origin=mcr-data GET /py host=westeurope.data.mcr.microsoft.com\norigin=ubuntu GET /py host=security.ubuntu.com body=\n403 DEFAULT_DENY\n', r.stderr)
  })
})

describe('policies and options', () => {
  test('without unsafeAllowPrivateRanges, loopback origins are refused', async () => {
    const strict = await startProxy({ policy: policy({ api: api.address, settings: '  mode: enforce' }), hosts })
    try {
      const r = await run('curl', [...curlArgs(), '-v', '-x', proxyUrl(strict), 'https://mcr.microsoft.com/'])
      assert.match(r.stderr, /< X-Aks-Egress-Reason: DESTINATION_FORBIDDEN/)
      const d = await strict.log.waitFor((l) => l['event'] === 'decision')
      assert.equal(d['reason'], 'mcr.microsoft.com resolves only to addresses the proxy may not dial (loopback)')
    } finally {
      await strict.close()
    }
  })

  test('report mode allows what enforce would deny and logs wouldDeny', async () => {
    const report = await startProxy({ policy: policy({ api: api.address, settings: '  mode: report\n  unsafeAllowPrivateRanges: ["127.0.0.0/8"]' }), hosts })
    try {
      const r = await run('curl', [...curlArgs(), '-x', proxyUrl(report), 'https://evil.example.com/r'])
      assert.equal(r.stdout, 'origin=evil GET /r host=evil.example.com')
      const d = await report.log.waitFor((l) => l['event'] === 'decision')
      assert.equal(d['action'], 'allow')
      assert.equal(d['wouldDeny'], true)
      assert.equal(d['code'], 'DEFAULT_DENY')
      const mism = await run('openssl', ['s_client', '-proxy', `127.0.0.1:${report.explicitPort}`, '-connect', 'mcr.microsoft.com:443', '-servername', 'evil.example.com', '-CAfile', pki.caPath], { timeoutMs: 10_000 })
      assert.doesNotMatch(mism.stdout + mism.stderr, /alert access denied/)
      const m = await report.log.waitFor((l) => l['code'] === 'SNI_MISMATCH')
      assert.equal(m['action'], 'allow')
      assert.equal(m['wouldDeny'], true)
      // A flow enforce would deny stays in the report when it then fails (here: its name does not resolve).
      const nx = await run('curl', [...curlArgs(), '-v', '-x', proxyUrl(report), 'https://nx.example.com/'])
      assert.match(nx.stderr, /< X-Aks-Egress-Reason: DNS_FAILED/)
      const n = await report.log.waitFor((l) => l['event'] === 'decision' && l['host'] === 'nx.example.com')
      assert.equal(n['action'], 'deny')
      assert.equal(n['code'], 'DNS_FAILED')
      assert.equal(n['wouldDeny'], true)
      assert.match(String(n['reason']), /; report mode: enforce would have denied it \(DEFAULT_DENY\)$/)
      // An allowed name that does not resolve is not something enforce would deny.
      await run('curl', [...curlArgs(), '-x', proxyUrl(report), 'https://nx.hcp.westeurope.azmk8s.io/'])
      const a = await report.log.waitFor((l) => l['event'] === 'decision' && l['host'] === 'nx.hcp.westeurope.azmk8s.io')
      assert.equal(a['code'], 'DNS_FAILED')
      assert.equal(a['wouldDeny'], false)
    } finally {
      await report.close()
    }
  })

  test('Basic proxy authentication: 407 with Proxy-Authenticate, then allowed with credentials', async () => {
    const { auth } = parseAuthFile('node:s3cret\n', 'aks-egress')
    const p = await startProxy({ policy: policy({ api: api.address }), hosts, auth })
    try {
      const none = await run('curl', [...curlArgs(), '-v', '-x', proxyUrl(p), 'https://mcr.microsoft.com/'])
      assert.match(none.stderr, /< HTTP\/1\.1 407 Proxy Authentication Required/)
      assert.match(none.stderr, /< Proxy-Authenticate: Basic realm="aks-egress"/)
      assert.match(none.stderr, /< X-Aks-Egress-Reason: AUTH_REQUIRED/)
      const wrong = await run('curl', [...curlArgs(), '-v', '-x', proxyUrl(p), '-U', 'node:nope', 'https://mcr.microsoft.com/'])
      assert.match(wrong.stderr, /< X-Aks-Egress-Reason: AUTH_FAILED/)
      const right = await run('curl', [...curlArgs(), '-x', proxyUrl(p), '-U', 'node:s3cret', 'https://mcr.microsoft.com/auth'])
      assert.equal(right.stdout, 'origin=mcr GET /auth host=mcr.microsoft.com')
    } finally {
      await p.close()
    }
  })

  test('--dns-upstream: names are resolved through the given server; NXDOMAIN is 502 DNS_FAILED', async () => {
    const dns = await startDnsServer({ 'dns-only.data.mcr.microsoft.com': mcrData.address })
    const p = await startProxy({ policy: policy({ api: api.address }), hosts: {}, upstream: [dns.address] })
    try {
      const ok = await run('curl', [...curlArgs(), '-x', proxyUrl(p), 'https://dns-only.data.mcr.microsoft.com/dns'])
      assert.equal(ok.stdout, 'origin=mcr-data GET /dns host=dns-only.data.mcr.microsoft.com')
      assert.ok(dns.queries.includes('dns-only.data.mcr.microsoft.com/1'), dns.queries.join(' '))
      const nx = await connectTunnel(p.explicitPort, 'nowhere.data.mcr.microsoft.com:443')
      assert.equal(nx.status, 502)
      assert.match(nx.head, /X-Aks-Egress-Reason: DNS_FAILED/)
      nx.socket.destroy()
      const denied = await connectTunnel(p.explicitPort, 'evil.example.com:443')
      assert.equal(denied.status, 403)
      denied.socket.destroy()
      assert.ok(!dns.queries.some((q) => q.startsWith('evil.example.com')), 'a denied name is never resolved')
    } finally {
      await p.close()
      await dns.close()
    }
  })
})
