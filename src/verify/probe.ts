/**
 * @module The network steps of `check`, each bounded by its own timeout and each closing what it
 * opened: name resolution (system resolver, or the --hosts overrides), TCP connect, an HTTP
 * CONNECT through an explicit proxy, the TLS handshake with SNI and certificate validation, an
 * HTTP status, an NTP query (RFC 5905) and a DNS query (RFC 1035).
 *
 * Steps report, they do not throw: `{ ok, ms, detail }`. A step that was not run is absent.
 */
import { lookup } from 'node:dns/promises'
import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { connect as netConnect, isIP, type Socket } from 'node:net'
import { connect as tlsConnect, type TLSSocket } from 'node:tls'
import { ntpRequest, parseNtpReply } from './ntp-packet.ts'

export interface StepResult {
  readonly ok: boolean
  readonly ms: number
  readonly detail: string
}

/** The longest HTTP response head read (status line and headers). */
export const MAX_RESPONSE_HEAD_BYTES = 16 * 1024

function since(start: bigint): number {
  return Math.round(Number(process.hrtime.bigint() - start) / 1e5) / 10
}

function errText(e: unknown): string {
  if (e instanceof Error) {
    const code = 'code' in e && typeof e.code === 'string' ? e.code : undefined
    return code !== undefined && !e.message.includes(code) ? `${code}: ${e.message}` : e.message
  }
  return String(e)
}

/** Runs `fn` with a timer; `onTimeout` must make it settle (by destroying what it uses). */
function withTimeout<T>(ms: number, what: string, fn: (settle: { resolve: (v: T) => void; reject: (e: Error) => void }) => (() => void) | undefined): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let cleanup: (() => void) | undefined = undefined
    const timer = setTimeout(() => {
      if (cleanup) cleanup()
      reject(new Error(`${what} timed out after ${ms} ms`))
    }, ms)
    cleanup = fn({
      resolve: (v) => {
        clearTimeout(timer)
        resolve(v)
      },
      reject: (e) => {
        clearTimeout(timer)
        if (cleanup) cleanup()
        reject(e)
      },
    })
  })
}

export interface ResolveOptions {
  readonly hosts: ReadonlyMap<string, readonly string[]>
  readonly timeoutMs: number
}

/** Resolves a name: an IP literal as is, a --hosts entry, else the system resolver. */
export async function resolveName(name: string, o: ResolveOptions): Promise<{ step: StepResult; addresses: string[] }> {
  const start = process.hrtime.bigint()
  if (isIP(name) !== 0) return { step: { ok: true, ms: 0, detail: `${name} (address)` }, addresses: [name] }
  const fixed = o.hosts.get(name.toLowerCase())
  if (fixed) return { step: { ok: true, ms: 0, detail: `${fixed.join(', ')} (--hosts)` }, addresses: [...fixed] }
  try {
    const answers = await Promise.race([
      lookup(name, { all: true, verbatim: true }),
      new Promise<never>((_, reject) => {
        setTimeout(() => {
          reject(new Error(`DNS lookup timed out after ${o.timeoutMs} ms`))
        }, o.timeoutMs).unref()
      }),
    ])
    const addresses = answers.map((a) => a.address)
    return { step: { ok: addresses.length > 0, ms: since(start), detail: addresses.slice(0, 3).join(', ') + (addresses.length > 3 ? ', ...' : '') }, addresses }
  } catch (e) {
    return { step: { ok: false, ms: since(start), detail: errText(e) }, addresses: [] }
  }
}

/** Opens a TCP connection. */
export async function connectTcp(host: string, port: number, timeoutMs: number): Promise<{ step: StepResult; socket?: Socket }> {
  const start = process.hrtime.bigint()
  try {
    const socket = await withTimeout<Socket>(timeoutMs, `TCP connect to ${host}:${port}`, ({ resolve, reject }) => {
      const s = netConnect({ host, port })
      s.once('connect', () => {
        s.removeAllListeners('error')
        resolve(s)
      })
      s.once('error', reject)
      return () => s.destroy()
    })
    return { step: { ok: true, ms: since(start), detail: `${host.includes(':') ? `[${host}]` : host}:${port}` }, socket }
  } catch (e) {
    return { step: { ok: false, ms: since(start), detail: errText(e) } }
  }
}

/** Reads an HTTP response head from a socket: the status code and the first line. */
function readStatus(socket: Socket | TLSSocket, timeoutMs: number, what: string): Promise<{ status: number; line: string; head: string }> {
  return withTimeout(timeoutMs, what, ({ resolve, reject }) => {
    let buf = Buffer.alloc(0)
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d])
      const end = buf.indexOf('\r\n\r\n')
      if (end !== -1 || buf.length >= MAX_RESPONSE_HEAD_BYTES) {
        socket.off('data', onData)
        const head = buf.subarray(0, end === -1 ? MAX_RESPONSE_HEAD_BYTES : end).toString('latin1')
        const line = head.split('\r\n', 1)[0] ?? ''
        const m = /^HTTP\/1\.[01] ([0-9]{3})/.exec(line)
        if (!m) reject(new Error(`not an HTTP response: ${JSON.stringify(line.slice(0, 80))}`))
        else {
          // Keep bytes after the head for whoever reads next (none today: TLS starts clean).
          socket.pause()
          resolve({ status: Number(m[1]), line, head })
        }
      }
    }
    socket.on('data', onData)
    socket.once('error', reject)
    socket.once('end', () => {
      reject(new Error('the connection closed before an HTTP response'))
    })
    return () => socket.destroy()
  })
}

export interface ProxyTarget {
  readonly host: string
  readonly port: number
  /** `Basic ...` when the proxy URL had user information. */
  readonly authorization?: string
}

/** Asks an explicit proxy for a tunnel (RFC 9110 §9.3.6). */
export async function connectThroughProxy(socket: Socket, host: string, port: number, proxy: ProxyTarget, timeoutMs: number): Promise<StepResult> {
  const start = process.hrtime.bigint()
  const authority = `${host.includes(':') ? `[${host}]` : host}:${port}`
  socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\nUser-Agent: aks-egress-check\r\n${proxy.authorization ? `Proxy-Authorization: ${proxy.authorization}\r\n` : ''}\r\n`)
  try {
    const r = await readStatus(socket, timeoutMs, `CONNECT ${authority}`)
    socket.removeAllListeners('end')
    socket.removeAllListeners('error')
    if (r.status !== 200) return { ok: false, ms: since(start), detail: `the proxy answered ${r.line}${r.status === 407 ? ' (proxy authentication required)' : r.status === 403 || r.status === 470 ? ' (denied by the proxy)' : ''}` }
    return { ok: true, ms: since(start), detail: `tunnel to ${authority}` }
  } catch (e) {
    return { ok: false, ms: since(start), detail: errText(e) }
  }
}

export interface TlsOptions {
  readonly ca?: readonly string[] | undefined
  readonly timeoutMs: number
}

/** The TLS handshake over a connected socket, with SNI and certificate validation. */
export async function handshakeTls(socket: Socket, servername: string, o: TlsOptions): Promise<{ step: StepResult; tls?: TLSSocket }> {
  const start = process.hrtime.bigint()
  socket.resume()
  try {
    const tls = await withTimeout<TLSSocket>(o.timeoutMs, `TLS handshake with ${servername}`, ({ resolve, reject }) => {
      const t = tlsConnect({
        socket,
        ...(isIP(servername) === 0 ? { servername } : {}),
        ALPNProtocols: ['http/1.1'],
        rejectUnauthorized: true,
        ...(o.ca ? { ca: [...o.ca] } : {}),
      })
      t.once('secureConnect', () => {
        t.removeAllListeners('error')
        resolve(t)
      })
      t.once('error', reject)
      return () => t.destroy()
    })
    const cert = tls.getPeerCertificate()
    const subject = typeof cert.subject === 'object' ? (cert.subject as unknown as Record<string, string>)['CN'] : undefined
    const issuer = typeof cert.issuer === 'object' ? (cert.issuer as unknown as Record<string, string>)['CN'] : undefined
    return { step: { ok: true, ms: since(start), detail: `${tls.getProtocol() ?? 'TLS'}, certificate ${subject ?? '?'} issued by ${issuer ?? '?'}` }, tls }
  } catch (e) {
    socket.destroy()
    return { step: { ok: false, ms: since(start), detail: errText(e) } }
  }
}

export type HttpVerdict = 'ok' | 'answered' | 'denied' | 'error'

/**
 * How a status counts. `az aks check-network outbound` takes 200–399 as success, and 400 for
 * acs-mirror and the data.mcr endpoint (azure-facts §3.5). For every catalog entry, a `/` that
 * answers 4xx still proves the path through the firewall works ("answered"), except the statuses
 * firewalls and proxies deny with: 403 from a proxy, 407, and Azure Firewall's 470.
 */
export function httpVerdict(status: number, viaProxy: boolean): HttpVerdict {
  if (status >= 200 && status < 400) return 'ok'
  if (status === 470 || status === 407 || (viaProxy && status === 403)) return 'denied'
  if (status >= 400 && status < 500) return 'answered'
  return 'error'
}

/** Sends `GET /` (or an absolute-form GET through a proxy) and reads the status. */
export async function httpStatus(
  socket: Socket | TLSSocket,
  host: string,
  port: number,
  o: { readonly timeoutMs: number; readonly absoluteForm?: boolean; readonly authorization?: string | undefined; readonly viaProxy: boolean },
): Promise<StepResult & { status?: number }> {
  const start = process.hrtime.bigint()
  const authority = `${host.includes(':') ? `[${host}]` : host}${port === 80 || port === 443 ? '' : `:${port}`}`
  const target = o.absoluteForm ? `http://${authority}/` : '/'
  socket.write(
    `GET ${target} HTTP/1.1\r\nHost: ${authority}\r\nUser-Agent: aks-egress-check\r\nAccept: */*\r\n${o.authorization ? `Proxy-Authorization: ${o.authorization}\r\n` : ''}Connection: close\r\n\r\n`,
  )
  try {
    const r = await readStatus(socket, o.timeoutMs, `HTTP GET ${target}`)
    const verdict = httpVerdict(r.status, o.viaProxy)
    const why = verdict === 'answered' ? ' (the server answered; reachable)' : verdict === 'denied' ? (r.status === 470 ? ' (Azure Firewall deny)' : ' (denied)') : verdict === 'error' ? ' (server or proxy error)' : ''
    return { ok: verdict === 'ok' || verdict === 'answered', ms: since(start), detail: `HTTP ${r.status}${why}`, status: r.status }
  } catch (e) {
    return { ok: false, ms: since(start), detail: errText(e) }
  } finally {
    socket.destroy()
  }
}

/** One NTP request and its reply (RFC 5905). */
export async function queryNtp(address: string, port: number, timeoutMs: number): Promise<StepResult> {
  const start = process.hrtime.bigint()
  const sock = createSocket(isIP(address) === 6 ? 'udp6' : 'udp4')
  try {
    const result = await withTimeout<StepResult>(timeoutMs, `NTP query to ${address}:${port}`, ({ resolve, reject }) => {
      const sentMs = Date.now()
      const request = ntpRequest(sentMs)
      sock.on('message', (msg) => {
        const reply = parseNtpReply(msg, request, sentMs, Date.now())
        if (reply.ok) resolve({ ok: true, ms: since(start), detail: `stratum ${reply.stratum} (${reply.referenceId}), clock offset ${Math.round(reply.offsetMs)} ms` })
        else reject(new Error(reply.problem))
      })
      sock.once('error', reject)
      sock.send(request, port, address, (err) => {
        if (err) reject(err)
      })
      return () => sock.close()
    })
    return result
  } catch (e) {
    return { ok: false, ms: since(start), detail: errText(e) }
  } finally {
    closeQuietly(sock)
  }
}

/** A DNS query (RFC 1035 §4.1) for `name` A, to see that a DNS server answers. */
export async function queryDns(address: string, port: number, name: string, timeoutMs: number): Promise<StepResult> {
  const start = process.hrtime.bigint()
  const id = Math.floor(Math.random() * 0xffff)
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')]))
  const packet = Buffer.concat([
    Buffer.from([id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]),
    ...labels,
    Buffer.from([0, 0, 1, 0, 1]), // root, QTYPE A, QCLASS IN
  ])
  const sock = createSocket(isIP(address) === 6 ? 'udp6' : 'udp4')
  const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED']
  try {
    return await withTimeout<StepResult>(timeoutMs, `DNS query to ${address}:${port}`, ({ resolve }) => {
      sock.on('message', (msg) => {
        if (msg.length < 12 || msg.readUInt16BE(0) !== id || (msg[2]! & 0x80) === 0) return
        const rcode = msg[3]! & 0x0f
        const answers = msg.readUInt16BE(6)
        resolve({ ok: true, ms: since(start), detail: `${RCODES[rcode] ?? `RCODE ${rcode}`} for ${name} A, ${answers} answer${answers === 1 ? '' : 's'}` })
      })
      sock.send(packet, port, address)
      return () => sock.close()
    })
  } catch (e) {
    return { ok: false, ms: since(start), detail: errText(e) }
  } finally {
    closeQuietly(sock)
  }
}

/** Closes a UDP socket that the timeout may have closed already (close() then throws). */
function closeQuietly(sock: UdpSocket): void {
  try {
    sock.close()
  } catch {
    // Already closed.
  }
}
