/**
 * @module Load for the proxy benchmark: `plg` (bench/plg, Go standard library, built at run time
 * with `GOPROXY=off go build`), curl for the single 1 GiB stream, and idle TLS tunnels opened from
 * this process for the memory measurement. The same tool and flags drive every target; only the
 * URL's port and the `-proxy` flag change (reference/bench-baselines.md §4, §7).
 */
import { connect as netConnect, type Socket } from 'node:net'
import { copyFileSync, existsSync, mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { connect as tlsConnect, type TLSSocket } from 'node:tls'
import { runCommand } from './processes.ts'
import { NAME } from './peers.ts'

/** One plg run, as it prints it (bench/plg/main.go). */
export interface PlgResult {
  readonly requests: number
  readonly errors: number
  readonly new_conns: number
  readonly rps: number
  readonly mib_s: number
  readonly p50_ms: number
  readonly p90_ms: number
  readonly p99_ms: number
  readonly max_ms: number
  /** Everything done while plg ran, warm-up and tail included (the proxy's CPU is sampled around it all). */
  readonly total_requests: number
  readonly total_bytes: number
  readonly total_new_conns: number
  readonly wall_s: number
}

/** Builds plg into `dir`; returns the binary's path. */
export async function buildPlg(root: string, dir: string): Promise<string> {
  const src = join(dir, 'plg-src')
  mkdirSync(src, { recursive: true })
  for (const f of ['go.mod', 'main.go']) copyFileSync(join(root, 'bench', 'plg', f), join(src, f))
  const bin = join(dir, 'plg')
  await runCommand('go', ['build', '-o', bin, '.'], {
    cwd: src,
    env: { ...process.env, GOPROXY: 'off', GOFLAGS: '-mod=mod', CGO_ENABLED: '0' },
    timeoutMs: 300_000,
  })
  return bin
}

/**
 * Compiles the C socket plane of the Node floors (bench/proxy/plane/plane.c, an experiment
 * measured by the opt-in `plane-*` targets) into `dir`, against the headers of the Node.js that
 * runs the bench (Node-API and libuv: `<prefix>/include/node`).
 */
export async function buildPlane(root: string, dir: string): Promise<string> {
  const include = join(dirname(process.execPath), '..', 'include', 'node')
  if (!existsSync(join(include, 'node_api.h'))) throw new Error(`the plane-* targets need Node.js's headers at ${include} (they come with the nodejs package) and a C compiler (cc)`)
  const out = join(dir, 'plane.node')
  await runCommand('cc', ['-std=gnu11', '-O2', '-shared', '-fPIC', '-Wall', '-Wextra', '-I', include, join(root, 'bench', 'proxy', 'plane', 'plane.c'), '-o', out], { cwd: dir, timeoutMs: 120_000 })
  return out
}

export interface PlgOptions {
  readonly url: string
  readonly proxy?: string
  readonly workers: number
  readonly seconds: number
  readonly warmupSeconds: number
  readonly keepAlive: boolean
  readonly label: string
  /** Requests per second over all workers, evenly paced (plg -rate); unset: as fast as they go. */
  readonly rate?: number
}

export async function runPlg(bin: string, o: PlgOptions): Promise<PlgResult> {
  const args = ['-url', o.url, '-c', String(o.workers), '-d', `${o.seconds}s`, '-warmup', `${o.warmupSeconds}s`, `-keepalive=${String(o.keepAlive)}`, '-label', o.label, '-sni', NAME]
  if (o.proxy !== undefined) args.push('-proxy', o.proxy)
  if (o.rate !== undefined) args.push('-rate', String(o.rate))
  const out = await runCommand(bin, args, { timeoutMs: (o.seconds + o.warmupSeconds + 60) * 1000 })
  const line = out.trim().split('\n').pop() ?? ''
  return JSON.parse(line) as PlgResult
}

export interface CurlResult {
  readonly mibS: number
  readonly bytes: number
  readonly seconds: number
}

/**
 * One download with curl (the single-stream workload), or with `uploadFile` one upload of it (PUT);
 * `proxy` for the explicit proxies.
 */
export async function runCurl(url: string, proxy: string | undefined, expectBytes: number, uploadFile?: string): Promise<CurlResult> {
  const args = ['-sk', '--fail', '-o', '/dev/null', '-w', uploadFile === undefined ? '%{size_download} %{time_total}' : '%{size_upload} %{time_total}', '--noproxy', '']
  if (proxy !== undefined) args.push('-x', proxy)
  if (uploadFile !== undefined) args.push('-T', uploadFile)
  args.push(url)
  const out = await runCommand('curl', args, { timeoutMs: 300_000, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' } })
  const [size, time] = out.trim().split(' ').map(Number)
  if (size !== expectBytes || time === undefined || !(time > 0)) throw new Error(`curl ${url}: got ${String(size)} bytes in ${String(time)} s, expected ${expectBytes}`)
  return { mibS: size / time / 2 ** 20, bytes: size, seconds: time }
}

/** Where an idle tunnel goes: straight to a TLS listener, or CONNECT through an explicit proxy first. */
export type TunnelPath = { readonly kind: 'tls'; readonly port: number } | { readonly kind: 'connect'; readonly proxyPort: number; readonly originPort: number }

function connectThrough(proxyPort: number, originPort: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ host: '127.0.0.1', port: proxyPort })
    let head = ''
    const fail = (e: Error): void => {
      s.destroy()
      reject(e)
    }
    const timer = setTimeout(() => {
      fail(new Error('CONNECT timed out'))
    }, timeoutMs)
    s.once('error', fail)
    s.once('connect', () => {
      s.write(`CONNECT ${NAME}:${originPort} HTTP/1.1\r\nHost: ${NAME}:${originPort}\r\n\r\n`)
    })
    const onData = (chunk: Buffer): void => {
      head += chunk.toString('latin1')
      const end = head.indexOf('\r\n\r\n')
      if (end === -1) return
      clearTimeout(timer)
      s.removeListener('data', onData)
      s.removeListener('error', fail)
      s.pause()
      if (!/^HTTP\/1\.[01] 200/.test(head)) {
        fail(new Error(`CONNECT answered ${head.split('\r\n')[0] ?? ''}`))
        return
      }
      if (end + 4 !== head.length) {
        fail(new Error('bytes after the CONNECT response'))
        return
      }
      resolve(s)
    }
    s.on('data', onData)
  })
}

async function openTunnel(path: TunnelPath, timeoutMs: number): Promise<TLSSocket> {
  const socket = path.kind === 'connect' ? await connectThrough(path.proxyPort, path.originPort, timeoutMs) : undefined
  return new Promise((resolve, reject) => {
    const t = tlsConnect({
      ...(socket ? { socket } : { host: '127.0.0.1', port: path.kind === 'tls' ? path.port : 0 }),
      servername: NAME,
      rejectUnauthorized: false,
      ALPNProtocols: ['http/1.1'],
    })
    const timer = setTimeout(() => {
      t.destroy()
      reject(new Error('TLS handshake timed out'))
    }, timeoutMs)
    t.once('secureConnect', () => {
      clearTimeout(timer)
      t.removeAllListeners('error')
      t.on('error', () => undefined)
      resolve(t)
    })
    t.once('error', (e: Error) => {
      clearTimeout(timer)
      t.destroy()
      reject(e)
    })
  })
}

/** Opens `count` TLS connections (handshake done, then idle), `parallel` at a time. Throws if one fails. */
export async function openIdleTunnels(path: TunnelPath, count: number, parallel = 32): Promise<TLSSocket[]> {
  const out: TLSSocket[] = []
  let next = 0
  let failure: Error | undefined
  const worker = async (): Promise<void> => {
    while (next < count && failure === undefined) {
      next++
      try {
        out.push(await openTunnel(path, 10_000))
      } catch (e) {
        failure = e instanceof Error ? e : new Error(String(e))
      }
    }
  }
  await Promise.all(Array.from({ length: parallel }, worker))
  if (failure !== undefined) {
    for (const t of out) t.destroy()
    throw failure
  }
  return out
}
