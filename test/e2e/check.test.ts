// `aks-egress check` against local origins: a test CA made with openssl, HTTPS, HTTP, NTP and TCP
// servers on random 127.x.y.z addresses (catalog names mapped with --hosts and --connect-to),
// the failures a node meets (refused, wrong certificate name, untrusted certificate, a silent
// server, Azure Firewall's 470), and a real CONNECT proxy. Traffic stays on 127.0.0.0/8; every
// server is closed at the end, also on failure.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { connect as netConnect, createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { ntpServerReply } from '../../src/verify/ntp-packet.ts'
import { runCli } from '../helpers/run-cli.ts'

const dir = mkdtempSync(join(tmpdir(), 'aks-egress-check-'))
// A random 127.a.b.0/24 of our own: tests in parallel do not meet.
const net = `127.${10 + Math.floor(Math.random() * 200)}.${Math.floor(Math.random() * 250)}`
const closers: Array<() => Promise<void>> = []
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0

function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' })
}

function makeCert(name: string, sans: string[], signed: boolean): { key: string; cert: string } {
  writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${sans.map((s) => `DNS:${s}`).join(',')}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`)
  if (signed) {
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${sans[0] ?? name}`])
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`])
  } else {
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${sans[0] ?? name}`, '-addext', `subjectAltName=${sans.map((s) => `DNS:${s}`).join(',')}`])
  }
  return { key: readFileSync(join(dir, `${name}.key`), 'utf8'), cert: readFileSync(join(dir, `${name}.crt`), 'utf8') }
}

function listen(server: Server | HttpServer, host: string, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      closers.push(
        () =>
          new Promise((r) => {
            if ('closeAllConnections' in server) server.closeAllConnections()
            server.close(() => {
              r()
            })
          }),
      )
      resolve((server.address() as AddressInfo).port)
    })
  })
}

const sockets = new Set<Socket>()
function track(server: Server | HttpServer): void {
  server.on('connection', (s: Socket) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
}

/** Where each name:port really is, for --connect-to and for the test proxy. */
const routes = new Map<string, { address: string; port: number }>()
let apiFqdn = ''
const proxied: string[] = []
let proxyPort = 0
let ntpSocket: UdpSocket | undefined

before(async () => {
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=aks-egress test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'])
  apiFqdn = 'myaks-1a2b3c.hcp.westeurope.azmk8s.io'
  const good = makeCert('good', ['mcr.microsoft.com', 'management.azure.com', '*.data.mcr.microsoft.com', apiFqdn, 'login.microsoftonline.com', 'snapshot.ubuntu.com'], true)
  const wrong = makeCert('wrong', ['other.example'], true)
  const self = makeCert('self', ['packages.aks.azure.com'], false)

  const handler = (req: IncomingMessage, res: import('node:http').ServerResponse): void => {
    const host = (req.headers.host ?? '').split(':')[0] ?? ''
    if (host === 'changelogs.ubuntu.com') {
      res.writeHead(470, { 'content-type': 'text/plain' }).end('Action: Deny. Reason: No rule matched. Proceeding with default action.')
    } else if (host === 'azure.archive.ubuntu.com') res.writeHead(404).end('not here')
    else res.writeHead(200, { 'content-type': 'text/plain' }).end(`hello from ${host}`)
  }
  const goodServer = createHttpsServer({ key: good.key, cert: good.cert }, handler)
  track(goodServer)
  const goodPort = await listen(goodServer, `${net}.11`)
  for (const n of ['management.azure.com', 'westeurope.data.mcr.microsoft.com', apiFqdn, 'login.microsoftonline.com', 'snapshot.ubuntu.com']) routes.set(`${n}:443`, { address: `${net}.11`, port: goodPort })
  if (isRoot) {
    // The name goes through --hosts to its own address, on the real port.
    const mcr = createHttpsServer({ key: good.key, cert: good.cert }, handler)
    track(mcr)
    await listen(mcr, `${net}.10`, 443)
  }
  const wrongServer = createHttpsServer({ key: wrong.key, cert: wrong.cert }, handler)
  track(wrongServer)
  routes.set('acs-mirror.azureedge.net:443', { address: `${net}.12`, port: await listen(wrongServer, `${net}.12`) })
  const selfServer = createHttpsServer({ key: self.key, cert: self.cert }, handler)
  track(selfServer)
  routes.set('packages.aks.azure.com:443', { address: `${net}.13`, port: await listen(selfServer, `${net}.13`) })
  // A server that accepts and never answers the ClientHello.
  const silent = createNetServer(() => undefined)
  track(silent)
  routes.set('packages.microsoft.com:443', { address: `${net}.14`, port: await listen(silent, `${net}.14`) })
  // Refused: a port that was free a moment ago.
  const gone = createNetServer()
  const gonePort = await listen(gone, `${net}.15`)
  await closers.pop()?.()
  routes.set('mcr-0001.mcr-msedge.net:443', { address: `${net}.15`, port: gonePort })
  const plain = createHttpServer(handler)
  track(plain)
  const plainPort = await listen(plain, `${net}.16`)
  for (const n of ['security.ubuntu.com', 'azure.archive.ubuntu.com', 'changelogs.ubuntu.com']) routes.set(`${n}:80`, { address: `${net}.16`, port: plainPort })
  // The tunnel's TCP 9000 on the API server.
  const tunnel = createNetServer((s) => s.end())
  track(tunnel)
  routes.set(`${apiFqdn}:9000`, { address: `${net}.17`, port: await listen(tunnel, `${net}.17`) })
  // NTP.
  const udp = createSocket('udp4')
  ntpSocket = udp
  udp.on('message', (msg, rinfo) => {
    udp.send(ntpServerReply(msg, Date.now()), rinfo.port, rinfo.address)
  })
  await new Promise<void>((r) => udp.bind(0, `${net}.18`, r))
  routes.set('ntp.ubuntu.com:123', { address: `${net}.18`, port: udp.address().port })

  // A CONNECT proxy that resolves names through `routes` and denies one host, as a firewall would.
  const proxy = createHttpServer((req, res) => {
    // Absolute-form plain HTTP through the proxy.
    const url = new URL(req.url ?? '/')
    proxied.push(`GET ${url.host}`)
    const route = routes.get(`${url.hostname}:${url.port === '' ? 80 : url.port}`)
    if (!route) {
      res.writeHead(502).end()
      return
    }
    const upstream = netConnect(route.port, route.address, () => {
      upstream.write(`GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n\r\n`)
    })
    upstream.on('data', (d: Buffer) => res.socket?.write(d))
    upstream.on('end', () => res.socket?.end())
    upstream.on('error', () => res.destroy())
  })
  proxy.on('connect', (req: IncomingMessage, client: Socket) => {
    const authority = req.url ?? ''
    proxied.push(`CONNECT ${authority}`)
    if (authority.startsWith('login.microsoftonline.com:')) {
      client.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n')
      return
    }
    const route = routes.get(authority)
    if (!route) {
      client.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n')
      return
    }
    const upstream = netConnect(route.port, route.address, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      upstream.pipe(client)
      client.pipe(upstream)
    })
    upstream.on('error', () => client.destroy())
    client.on('error', () => upstream.destroy())
  })
  track(proxy)
  proxyPort = await listen(proxy, `${net}.19`)
  writeFileSync(join(dir, 'hosts'), `# test origins\n${net}.10 mcr.microsoft.com\n`)
})

after(async () => {
  for (const s of sockets) s.destroy()
  ntpSocket?.close()
  for (const close of closers.reverse()) await close()
  rmSync(dir, { recursive: true, force: true })
})

function connectTo(): string[] {
  return [...routes].flatMap(([k, v]) => ['--connect-to', `${k}:${v.address}:${v.port}`])
}

interface CheckJson {
  results: Array<{ id: string; target: string; protocol: string; probed: string | null; status: string; detail: string; steps: Record<string, { ok: boolean; detail: string }> }>
  summary: { passed: number; failed: number; notChecked: number }
}

function byKey(j: CheckJson): Map<string, CheckJson['results'][number]> {
  return new Map(j.results.map((r) => [`${r.id} ${r.protocol}`, r]))
}

test('every step against local origins: passes, and each way of failing', { timeout: 60_000 }, async () => {
  const r = await runCli(
    ['check', '--location', 'westeurope', '--api-server-fqdn', apiFqdn, '--ca-file', join(dir, 'ca.crt'), '--hosts', join(dir, 'hosts'), '--timeout', '1500', '--concurrency', '4', '--output', 'json', ...connectTo()],
    { cwd: dir },
  )
  const json = JSON.parse(r.stdout) as CheckJson
  const res = byKey(json)
  assert.equal(r.code, 1)
  if (isRoot) {
    const mcr = res.get('public.mcr https:443')
    assert.equal(mcr?.status, 'ok')
    assert.equal(mcr.steps['dns']?.detail, `${net}.10 (--hosts)`)
    assert.equal(mcr.steps['http']?.detail, 'HTTP 200')
  }
  const hcp = res.get('public.hcp https:443')
  assert.equal(hcp?.status, 'ok')
  assert.equal(hcp.probed, apiFqdn)
  assert.match(hcp.steps['tls']?.detail ?? '', /^TLSv1\.3, certificate mcr\.microsoft\.com issued by aks-egress test CA$/)
  assert.equal(res.get('public.mcr-data https:443')?.probed, 'westeurope.data.mcr.microsoft.com')
  assert.equal(res.get('public.mcr-data https:443')?.status, 'ok')
  assert.equal(res.get('public.management https:443')?.status, 'ok')

  const wrong = res.get('public.acs-mirror https:443')
  assert.equal(wrong?.status, 'fail')
  assert.match(wrong.detail, /^tls: ERR_TLS_CERT_ALTNAME_INVALID: Hostname\/IP does not match certificate's altnames/)
  const self = res.get('public.packages-aks https:443')
  assert.equal(self?.status, 'fail')
  assert.match(self.detail, /^tls: DEPTH_ZERO_SELF_SIGNED_CERT/)
  const silent = res.get('public.packages https:443')
  assert.equal(silent?.status, 'fail')
  assert.equal(silent.detail, 'tls: TLS handshake with packages.microsoft.com timed out after 1500 ms')
  const refused = res.get('public.mcr-edge https:443')
  assert.equal(refused?.status, 'fail')
  assert.match(refused.detail, /^tcp: (ECONNREFUSED: )?connect ECONNREFUSED 127\./)

  assert.equal(res.get('ubuntu-updates.security http:80')?.detail, 'HTTP 200')
  assert.equal(res.get('ubuntu-updates.azure-archive http:80')?.status, 'ok')
  assert.equal(res.get('ubuntu-updates.azure-archive http:80')?.detail, 'HTTP 404 (the server answered; reachable)')
  assert.equal(res.get('ubuntu-updates.changelogs http:80')?.status, 'fail')
  assert.equal(res.get('ubuntu-updates.changelogs http:80')?.detail, 'http: HTTP 470 (Azure Firewall deny)')

  const ntp = res.get('public.network.ntp udp:123')
  assert.equal(ntp?.status, 'ok')
  assert.match(ntp.steps['ntp']?.detail ?? '', /^stratum 2 \(127\.0\.0\.1\), clock offset -?\d+ ms$/)
  assert.equal(res.get('public.network.tunnel-tcp-9000 tcp:9000')?.status, 'ok')
  assert.equal(res.get('public.network.tunnel-udp-1194 udp:1194')?.status, 'not-checked')
  assert.match(res.get('public.network.tunnel-udp-1194 udp:1194')?.detail ?? '', /not checkable/)
  // The API server's tcp:443 entry goes to the API server, here by its FQDN.
  assert.equal(res.get('public.network.api-server tcp:443')?.probed, apiFqdn)
  assert.equal(res.get('public.network.dns udp:53')?.detail, 'needs <dns-server-ip>')
})

test('only endpoints that work: exit 0, and the table says so', { timeout: 60_000 }, async () => {
  const r = await runCli(
    ['check', '--location', 'westeurope', '--api-server-fqdn', apiFqdn, '--ca-file', join(dir, 'ca.crt'), '--timeout', '1500', '--only', 'public.hcp,public.management,public.mcr-data,public.network.ntp,ubuntu-updates.security', ...connectTo()],
    { cwd: dir },
  )
  assert.equal(r.code, 0, r.stdout)
  assert.match(r.stdout, /^ok +\*\.hcp\.westeurope\.azmk8s\.io +https:443 +required +myaks-1a2b3c\.hcp\.westeurope\.azmk8s\.io +dns tcp tls http 200 +HTTP 200$/m)
  assert.match(r.stdout, /Result: 5 passed, 0 failed, 0 not checked\.\n$/)
})

test('without --ca-file the test CA is not trusted', { timeout: 30_000 }, async () => {
  const r = await runCli(['check', '--location', 'westeurope', '--timeout', '1500', '--only', 'public.management', '--output', 'json', ...connectTo()], { cwd: dir })
  assert.equal(r.code, 1)
  const json = JSON.parse(r.stdout) as CheckJson
  assert.match(json.results[0]?.detail ?? '', /^tls: UNABLE_TO_VERIFY_LEAF_SIGNATURE/)
})

test('--via-proxy: CONNECT for HTTPS and TCP, absolute-form GET for HTTP, a proxy denial fails', { timeout: 60_000 }, async () => {
  proxied.length = 0
  const r = await runCli(
    [
      'check',
      '--location',
      'westeurope',
      '--api-server-fqdn',
      apiFqdn,
      '--ca-file',
      join(dir, 'ca.crt'),
      '--via-proxy',
      `http://${net}.19:${proxyPort}`,
      '--timeout',
      '1500',
      '--only',
      'public.hcp,public.management,public.login,ubuntu-updates.security,public.network.ntp,public.network.tunnel-tcp-9000',
      '--output',
      'json',
    ],
    { cwd: dir },
  )
  const json = JSON.parse(r.stdout) as CheckJson
  const res = byKey(json)
  assert.equal(r.code, 1)
  assert.equal(res.get('public.hcp https:443')?.status, 'ok')
  assert.equal(res.get('public.hcp https:443')?.steps['proxy']?.detail, `tunnel to ${apiFqdn}:443`)
  assert.equal(res.get('public.management https:443')?.status, 'ok')
  assert.equal(res.get('public.login https:443')?.detail, 'proxy: the proxy answered HTTP/1.1 403 Forbidden (denied by the proxy)')
  assert.equal(res.get('ubuntu-updates.security http:80')?.detail, 'HTTP 200')
  assert.equal(res.get('public.network.tunnel-tcp-9000 tcp:9000')?.status, 'ok')
  assert.equal(res.get('public.network.ntp udp:123')?.detail, 'UDP cannot go through an HTTP proxy')
  assert.deepEqual(proxied.sort(), ['CONNECT login.microsoftonline.com:443', 'CONNECT management.azure.com:443', `CONNECT ${apiFqdn}:443`, `CONNECT ${apiFqdn}:9000`, 'GET security.ubuntu.com'])
})

test('bad usage exits 2', async () => {
  writeFileSync(join(dir, 'bad-hosts'), '300.1.1.1 mcr.microsoft.com\n')
  const bad = await runCli(['check', '--hosts', 'bad-hosts'], { cwd: dir })
  assert.equal(bad.code, 2)
  assert.match(bad.stderr, /error HOSTS_FILE_INVALID: bad-hosts:1: "300\.1\.1\.1" is not an IPv4 or IPv6 address/)
  writeFileSync(join(dir, 'not-pem'), 'hello\n')
  const ca = await runCli(['check', '--ca-file', 'not-pem'], { cwd: dir })
  assert.match(ca.stderr, /error CA_FILE_INVALID: --ca-file "not-pem" holds no PEM certificate/)
  assert.equal((await runCli(['check', '--via-proxy', 'https://proxy:3128'], { cwd: dir })).code, 2)
  assert.equal((await runCli(['check', '--concurrency', '0'], { cwd: dir })).code, 2)
  assert.equal((await runCli(['check', '--connect-to', 'a:1:not-an-ip:2'], { cwd: dir })).code, 2)
})

test('a progress line on a terminal, none when piped', { timeout: 30_000 }, async () => {
  const args = ['check', '--location', 'westeurope', '--ca-file', join(dir, 'ca.crt'), '--timeout', '1500', '--only', 'public.management,public.network.ntp', ...connectTo()]
  const tty = await runCli(args, { cwd: dir, isTTY: true })
  assert.equal(tty.code, 0)
  assert.match(tty.stderr, /^\r\x1b\[K\[1\/2\] .* ok\r\x1b\[K\[2\/2\] .* ok\r\x1b\[K$/)
  const piped = await runCli(args, { cwd: dir })
  assert.equal(piped.stderr, '')
})
