// The e2e harness for `serve`: a test CA made at test time (openssl CLI, keys in a temp dir, never
// committed), origins named after catalog entries on random 127.a.b.c addresses (so that they can
// use the real ports 443 and 80 without colliding with other tests), a hosts file that maps the
// names to them, the proxy in-process or as a child process, and real clients run asynchronously
// (a synchronous spawn would block the in-process proxy).
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer as createHttpServer, get as httpGet, type Server as HttpServer } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { createServer as createNetServer, type Server as NetServer, type Socket, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadPolicyText } from '../../../src/config/load-policy.ts'
import { NameResolver } from '../../../src/net/resolve.ts'
import type { SocketLayer } from '../../../src/net/stream-socket.ts'
import { createConnectionLog } from '../../../src/proxy/connection-log.ts'
import { buildPolicyState } from '../../../src/proxy/policy-state.ts'
import type { ProxyAuth } from '../../../src/proxy/proxy-auth.ts'
import type { TransparentPorts } from '../../../src/proxy/listener-plan.ts'
import { ProxyServer } from '../../../src/proxy/proxy-server.ts'
import { DEFAULT_LIMITS, type ServeLimits } from '../../../src/proxy/serve-defaults.ts'

export const ROOT = new URL('../../../', import.meta.url).pathname

/** Runs a command asynchronously; never rejects. */
export function run(cmd: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; input?: string | Buffer; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: options.env ?? { PATH: process.env['PATH'] ?? '/usr/bin:/bin' }, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000)
    // A command that does not read its input (openssl req, curl) may exit before the pipe is
    // closed: the write or the close then fails with EPIPE, which must not end the test process.
    child.stdin.on('error', () => undefined)
    let spawnError = ''
    child.on('error', (e) => {
      spawnError = `cannot run ${cmd}: ${e.message}\n`
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code: spawnError === '' ? code : (code ?? 127), stdout, stderr: spawnError + stderr })
    })
    child.stdin.end(options.input ?? '')
  })
}

export interface Pki {
  readonly dir: string
  readonly caPath: string
  readonly ca: Buffer
  readonly cert: Buffer
  readonly key: Buffer
  cleanup(): void
}

/** A CA and one leaf certificate for every name given (SANs), made with the openssl CLI. */
export async function makePki(names: readonly string[]): Promise<Pki> {
  const dir = mkdtempSync(join(tmpdir(), 'aks-egress-pki-'))
  const p = (f: string): string => join(dir, f)
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  const steps: string[][] = [
    ['req', '-x509', ...ec, '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '2', '-subj', '/CN=aks-egress e2e test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    ['req', ...ec, '-keyout', p('leaf.key'), '-out', p('leaf.csr'), '-subj', '/CN=aks-egress e2e origin'],
    ['x509', '-req', '-in', p('leaf.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p('leaf.pem'), '-days', '2', '-extfile', p('leaf.ext')],
  ]
  writeFileSync(p('leaf.ext'), `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=${names.map((n) => `DNS:${n}`).join(',')}\n`)
  for (const args of steps) {
    const r = await run('openssl', args)
    if (r.code !== 0) throw new Error(`openssl ${args[0] ?? ''} failed: ${r.stderr}`)
  }
  return {
    dir,
    caPath: p('ca.pem'),
    ca: readFileSync(p('ca.pem')),
    cert: readFileSync(p('leaf.pem')),
    key: readFileSync(p('leaf.key')),
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** A random loopback address other than 127.0.0.1 (127.16-250.x.y). */
export function randomLoopback(): string {
  const r = (lo: number, hi: number): number => lo + Math.floor(Math.random() * (hi - lo + 1))
  return `127.${r(16, 250)}.${r(0, 255)}.${r(1, 254)}`
}

/** Listens on `port` of a random loopback address, retrying on collisions. */
export async function listenOnRandomLoopback(server: NetServer | HttpServer, port: number): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const address = randomLoopback()
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen({ host: address, port, exclusive: true }, () => {
          server.removeListener('error', reject)
          resolve()
        })
      })
      return address
    } catch (e) {
      if (attempt >= 20) throw e
    }
  }
}

export interface Origin {
  readonly label: string
  readonly address: string
  readonly port: number
  /** Connections accepted so far. */
  readonly connections: () => number
  /** TLS origins: the ALPN lists clients offered, and the SNIs. */
  readonly alpnOffers: string[][]
  readonly servernames: string[]
  close(): Promise<void>
}

function closer(server: NetServer | HttpServer, sockets: Set<Socket>): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      for (const s of sockets) s.destroy()
      server.close(() => {
        resolve()
      })
    })
}

/** An HTTPS origin answering `origin=<label> <method> <url> host=<host>`, keep-alive allowed. */
export async function startHttpsOrigin(pki: Pki, label: string, port = 443): Promise<Origin> {
  const alpnOffers: string[][] = []
  const servernames: string[] = []
  const sockets = new Set<Socket>()
  let connections = 0
  const server = createHttpsServer(
    {
      cert: pki.cert,
      key: pki.key,
      ALPNCallback: ({ servername, protocols }) => {
        alpnOffers.push(protocols)
        servernames.push(servername)
        return protocols.includes('http/1.1') ? 'http/1.1' : undefined
      },
    },
    (req, res) => {
      res.end(`origin=${label} ${req.method ?? ''} ${req.url ?? ''} host=${req.headers.host ?? ''}`)
    },
  )
  server.on('connection', (s: Socket) => {
    connections++
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
    // A write after the peer is gone (EPIPE at the end of a test) must not end the test process.
    s.on('error', () => undefined)
  })
  server.on('tlsClientError', () => undefined)
  const address = await listenOnRandomLoopback(server, port)
  return { label, address, port, connections: () => connections, alpnOffers, servernames, close: closer(server, sockets) }
}

/** A plain HTTP origin; it records the request heads it received (raw, for header checks). */
export async function startHttpOrigin(label: string, port = 80): Promise<Origin & { requests: Array<{ method: string; url: string; headers: Record<string, string | string[] | undefined>; body: string }> }> {
  const sockets = new Set<Socket>()
  const requests: Array<{ method: string; url: string; headers: Record<string, string | string[] | undefined>; body: string }> = []
  let connections = 0
  const server = createHttpServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString()))
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body })
      res.end(`origin=${label} ${req.method ?? ''} ${req.url ?? ''} host=${req.headers.host ?? ''} body=${body}`)
    })
  })
  server.on('connection', (s: Socket) => {
    connections++
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
    s.on('error', () => undefined)
  })
  const address = await listenOnRandomLoopback(server, port)
  return { label, address, port, connections: () => connections, alpnOffers: [], servernames: [], requests, close: closer(server, sockets) }
}

/**
 * A raw TCP origin: `echo` returns what it receives (and half-closes when the client does);
 * `capture` records it; `banner` records it too, but first sends "hello" and half-closes at once.
 */
export async function startRawOrigin(label: string, port: number, mode: 'echo' | 'capture' | 'banner'): Promise<Origin & { received: () => Buffer }> {
  const sockets = new Set<Socket>()
  const chunks: Buffer[] = []
  let connections = 0
  const server = createNetServer({ allowHalfOpen: true }, (s) => {
    connections++
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
    s.on('error', () => undefined)
    if (mode === 'echo') s.pipe(s)
    else {
      if (mode === 'banner') s.end('hello')
      s.on('data', (c: Buffer) => chunks.push(c))
      s.on('end', () => {
        if (mode === 'capture') s.end()
      })
    }
  })
  const address = await listenOnRandomLoopback(server, port)
  return { label, address, port, connections: () => connections, alpnOffers: [], servernames: [], received: () => Buffer.concat(chunks), close: closer(server, sockets) }
}

export interface LogSink {
  readonly lines: Array<Record<string, unknown>>
  /** Resolves with the first line matching, waiting up to `timeoutMs`. */
  waitFor(pred: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>
}

export function logSink(): LogSink & { write(s: string): void; push(line: Record<string, unknown>): void } {
  const lines: Array<Record<string, unknown>> = []
  const waiters: Array<{ pred: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }> = []
  const push = (line: Record<string, unknown>): void => {
    lines.push(line)
    for (const w of [...waiters]) {
      if (w.pred(line)) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(line)
      }
    }
  }
  return {
    lines,
    push,
    write(s: string) {
      for (const l of s.split('\n')) if (l.trim() !== '') push(JSON.parse(l) as Record<string, unknown>)
    },
    waitFor(pred, timeoutMs = 10_000) {
      const found = lines.find(pred)
      if (found) return Promise.resolve(found)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`no matching log line within ${timeoutMs} ms; last lines: ${JSON.stringify(lines.slice(-5))}`))
        }, timeoutMs)
        waiters.push({
          pred,
          resolve: (l) => {
            clearTimeout(timer)
            resolve(l)
          },
        })
      })
    },
  }
}

export interface ProxyHandle {
  readonly server: ProxyServer
  readonly explicitPort: number
  /** The port of the transparent listener of an original port. */
  transparentPort(kind: 'tls' | 'http', originalPort: number): number
  readonly log: LogSink
  close(): Promise<void>
}

export function hostsText(map: Readonly<Record<string, string>>): string {
  return Object.entries(map)
    .map(([name, address]) => `${address} ${name}`)
    .join('\n')
}

/**
 * The socket layer the e2e proxy tests run with: `AKS_EGRESS_SOCKET_LAYER` (`lite` or `node`;
 * the test runner runs this suite once with each), else the server's default.
 */
export function testSocketLayer(): SocketLayer | undefined {
  const v = process.env['AKS_EGRESS_SOCKET_LAYER']
  if (v === undefined || v === '') return undefined
  if (v !== 'lite' && v !== 'node') throw new Error(`AKS_EGRESS_SOCKET_LAYER "${v}" is not lite or node`)
  return v
}

/** Starts `serve`'s ProxyServer in this process. */
export async function startProxy(options: {
  policy: string
  hosts: Readonly<Record<string, string>>
  limits?: Partial<ServeLimits>
  transparent?: boolean
  /** Where the transparent listeners go (default: ephemeral ports). */
  transparentPorts?: TransparentPorts
  auth?: ProxyAuth
  upstream?: string[]
  admin?: boolean
}): Promise<ProxyHandle> {
  const loaded = loadPolicyText(options.policy, 'e2e.yaml')
  if (!loaded.policy) throw new Error(`bad test policy: ${JSON.stringify(loaded.diagnostics)}`)
  const sink = logSink()
  const log = createConnectionLog({ kind: 'stream', stream: sink })
  const hosts = new Map(Object.entries(options.hosts).map(([n, a]) => [n, [a]]))
  const limits: ServeLimits = { ...DEFAULT_LIMITS, ...options.limits }
  const resolver = new NameResolver({ hosts, upstream: options.upstream ?? ['127.0.0.1:9'], timeoutMs: limits.dnsTimeoutMs, cacheMaxEntries: 100, cacheMaxTtlSeconds: 60 })
  const layer = testSocketLayer()
  const server = new ProxyServer(buildPolicyState(loaded.policy, 'e2e.yaml'), {
    listen: { host: '127.0.0.1', port: 0 },
    admin: options.admin ? { host: '127.0.0.1', port: 0 } : null,
    transparent: options.transparent ? { address: '127.0.0.1', ports: options.transparentPorts ?? { kind: 'ephemeral' } } : null,
    limits,
    resolver,
    log,
    ...(options.auth ? { auth: options.auth } : {}),
    defaultMetrics: false,
    ...(layer ? { socketLayer: layer } : {}),
  })
  await server.start()
  const explicit = server.listeners.find((l) => l.kind === 'explicit')
  return {
    server,
    explicitPort: explicit?.port ?? 0,
    transparentPort: (kind, originalPort) => {
      const l = server.listeners.find((x) => x.kind === kind && x.originalPort === originalPort)
      if (!l) throw new Error(`no ${kind} listener for ${originalPort}`)
      return l.port
    },
    log: sink,
    close: async () => {
      await server.stop(0)
    },
  }
}

/** Sends raw bytes to a port and collects the reply until the peer closes (or `timeoutMs`). */
export async function rawExchange(port: number, data: Buffer | string, timeoutMs = 5000, host = '127.0.0.1'): Promise<{ reply: Buffer; closed: boolean; error?: string }> {
  const socket = connect({ host, port })
  const chunks: Buffer[] = []
  socket.on('data', (c: Buffer) => chunks.push(c))
  let error: string | undefined
  socket.on('error', (e: NodeJS.ErrnoException) => {
    error = e.code ?? e.message
  })
  await once(socket, 'connect')
  socket.write(data)
  const timer = setTimeout(() => socket.destroy(), timeoutMs)
  await once(socket, 'close')
  clearTimeout(timer)
  return { reply: Buffer.concat(chunks), closed: true, ...(error === undefined ? {} : { error }) }
}

/** Opens a CONNECT tunnel through the explicit proxy; resolves with the socket and the response head. */
export async function connectTunnel(proxyPort: number, authority: string, extraHead = '', allowHalfOpen = false): Promise<{ socket: Socket; status: number; head: string }> {
  const socket = connect({ host: '127.0.0.1', port: proxyPort, allowHalfOpen })
  socket.on('error', () => undefined)
  await once(socket, 'connect')
  socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${extraHead}\r\n`)
  let buf = Buffer.alloc(0)
  while (!buf.includes('\r\n\r\n')) {
    const [chunk] = (await once(socket, 'data')) as [Buffer]
    buf = Buffer.concat([buf, chunk])
  }
  const end = buf.indexOf('\r\n\r\n') + 4
  const head = buf.subarray(0, end).toString('latin1')
  if (end < buf.length) socket.unshift(buf.subarray(end))
  return { socket, status: Number(head.slice(9, 12)), head }
}

export interface ServeChild {
  readonly child: ChildProcess
  /** The startup summary `serve` prints to stderr. */
  readonly summary: string
  readonly explicitPort: number
  readonly adminPort: number
  readonly listeners: Array<{ kind: string; address: string; port: number; originalPort?: number }>
  readonly log: LogSink
  stderr(): string
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>
  fdCount(): number
  kill(): Promise<void>
}

/** Runs `aks-egress serve ARGS` as a child process (from the TypeScript sources) and waits until it listens. */
export async function startServeChild(args: readonly string[]): Promise<ServeChild> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/e2e/proxy/serve-entry.ts'), 'serve', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
  })
  const sink = logSink()
  let partial = ''
  child.stdout.on('data', (c: Buffer) => {
    partial += c.toString()
    const parts = partial.split('\n')
    partial = parts.pop() ?? ''
    for (const l of parts) if (l.trim() !== '') sink.push(JSON.parse(l) as Record<string, unknown>)
  })
  let stderr = ''
  const exited = new Promise<number | null>((resolve) => {
    child.on('close', (code) => {
      resolve(code)
    })
  })
  const started = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`serve did not start: ${stderr}`))
    }, 20_000)
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString()
      const line = stderr.split('\n').find((l) => l.startsWith('aks-egress serve: '))
      if (line) {
        clearTimeout(timer)
        resolve(line)
      }
    })
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`serve exited with ${code ?? 'a signal'}: ${stderr}`))
    })
  })
  // With --log FILE the JSON lines are not on stdout: the listeners come from the summary line
  // ("aks-egress serve: explicit 127.0.0.1:PORT, admin 127.0.0.1:PORT; policy ...").
  const logIndex = args.indexOf('--log')
  const logsToStdout = logIndex === -1 || args[logIndex + 1] === '-'
  const listeners: ServeChild['listeners'] = logsToStdout
    ? ((await sink.waitFor((l) => l['event'] === 'start')) as { listeners: ServeChild['listeners'] }).listeners
    : started
        .slice('aks-egress serve: '.length, started.indexOf(';'))
        .split(', ')
        .map((part) => {
          const [kind = '', hostPort = ''] = part.split(' ')
          const colon = hostPort.lastIndexOf(':')
          return { kind, address: hostPort.slice(0, colon), port: Number(hostPort.slice(colon + 1)) }
        })
  const port = (kind: string): number => listeners.find((l) => l.kind === kind)?.port ?? 0
  return {
    child,
    summary: started,
    explicitPort: port('explicit'),
    adminPort: port('admin'),
    listeners,
    log: sink,
    stderr: () => stderr,
    exited,
    fdCount: () => {
      try {
        return readdirSync(`/proc/${child.pid ?? 0}/fd`).length
      } catch {
        return -1
      }
    },
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL')
        await exited
      }
    },
  }
}

/** GET on the admin port, on a connection of its own that closes after the answer (no keep-alive socket left in the child). */
export function adminGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpGet({ host: '127.0.0.1', port, path, agent: false, headers: { Connection: 'close' } }, (res) => {
      let body = ''
      res.on('data', (c: Buffer) => (body += c.toString()))
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body })
      })
    })
    req.on('error', reject)
  })
}

/** A minimal DNS server on 127.0.0.1 (UDP): A records for the names given, NODATA for AAAA, NXDOMAIN otherwise. */
export async function startDnsServer(records: Readonly<Record<string, string>>): Promise<{ address: string; queries: string[]; close(): Promise<void> }> {
  const dgram = await import('node:dgram')
  const socket = dgram.createSocket('udp4')
  const queries: string[] = []
  socket.on('message', (msg, peer) => {
    let p = 12
    const labels: string[] = []
    while (p < msg.length && msg[p] !== 0) {
      const len = msg[p]!
      labels.push(msg.subarray(p + 1, p + 1 + len).toString('latin1'))
      p += 1 + len
    }
    const qEnd = p + 5
    const qtype = msg.readUInt16BE(p + 1)
    const name = labels.join('.').toLowerCase()
    queries.push(`${name}/${qtype}`)
    const address = records[name]
    const header = Buffer.alloc(12)
    msg.copy(header, 0, 0, 2)
    header.writeUInt16BE(address === undefined ? 0x8183 : 0x8180, 2)
    header.writeUInt16BE(1, 4)
    const answers: Buffer[] = []
    if (address !== undefined && qtype === 1) {
      const a = Buffer.alloc(16)
      a.writeUInt16BE(0xc00c, 0)
      a.writeUInt16BE(1, 2)
      a.writeUInt16BE(1, 4)
      a.writeUInt32BE(60, 6)
      a.writeUInt16BE(4, 10)
      address.split('.').forEach((o, i) => a.writeUInt8(Number(o), 12 + i))
      answers.push(a)
    }
    header.writeUInt16BE(answers.length, 6)
    socket.send(Buffer.concat([header, msg.subarray(12, qEnd), ...answers]), peer.port, peer.address)
  })
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  return {
    address: `127.0.0.1:${socket.address().port}`,
    queries,
    close: () =>
      new Promise((resolve) => {
        socket.close(() => {
          resolve()
        })
      }),
  }
}
