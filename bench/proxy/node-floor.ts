/**
 * @module The Node floor of the proxy benchmark: the least a proxy written in Node.js can spend
 * per connection. A relay directly on Node's TCP handles (the bindings LiteSocket uses), with
 * nothing else: no policy, no parsing beyond the end of a CONNECT head, no name resolution, no
 * address checks, no timers, bounds, logs or metrics; every connection goes to the one origin.
 * Not product code and not safe to expose: it exists so that the suite can show, in the same
 * runs as the peers, how much of aks-egress's CPU per new connection is Node's own (accept,
 * reads into JavaScript, writes, connect, close) and how much is aks-egress's work.
 *
 * `node --import tsx bench/proxy/node-floor.ts --connect PORT --sni PORT --origin PORT`:
 * - on `--connect`, a CONNECT head (read until its blank line, at most 8 KiB) is answered 200
 *   whatever its target, then bytes are relayed to the origin;
 * - on `--sni`, the first bytes (the ClientHello) are read, the origin is dialled, the bytes are
 *   written to it and the relay starts.
 * Both bind 127.0.0.1 only. The relay keeps half-close (a FIN is passed on with shutdown) and
 * stops reading a side while a write to its peer is pending (backpressure), as LiteSocket does.
 *
 * With `--checks-connect PORT --checks-sni PORT --policy FILE --hosts FILE`, two more listeners run
 * the same relay doing what aks-egress checks on every connection, with aks-egress's own code and
 * files: the source address (getpeername), the CONNECT head parsed and its target's name, the
 * ClientHello parsed (after the 200 for a CONNECT, its SNI against the CONNECT host), the policy's
 * decision for the flow, the name resolved (`--hosts`) and every address classified, then the
 * dial to the checked address. A check that fails closes the connection (no answer: the benchmark
 * sends allowed flows only). Still no timers, bounds, logs or metrics. The distance from
 * aks-egress to this floor is what its structure costs (sockets with events, promises, timers,
 * the decision's fields), not what it checks.
 *
 * `--bookkeeping` adds to the checked listeners what aks-egress keeps for an allowed connection
 * besides its log lines, written the floor's way (no promises, listeners or timers per
 * connection), with aks-egress's own classes: the connection caps (`maxConnections`,
 * `maxConnectionsPerSource`), the handshake bound, the dial bound and the relay's idle bound in
 * coarse sweeps (src/proxy/idle-sweep.ts; each read marks the connection active), the decision's
 * fields with their timings (DecisionFields), and the metrics calls (ProxyMetrics). It prices what
 * a connection path for tunnels written as the floor is would cost (docs/benchmarks.md).
 *
 * `--plane FILE` (an experiment; the suite's opt-in `plane-*` targets): the same four listeners
 * with their sockets in C (FILE is bench/proxy/plane/plane.c compiled; bench/proxy/plane-floor.ts).
 */
import { canonicalHost } from '../../src/policy/fqdn.ts'
import { parseClientHello } from '../../src/proxy/client-hello.ts'
import { parseHttpHead } from '../../src/proxy/http-head.ts'
import { DEFAULT_LIMITS } from '../../src/proxy/serve-defaults.ts'
import { Book } from './floor-book.ts'
import { checkedAddress, loadChecks, type Checks } from './floor-checks.ts'
import { runPlane } from './plane-floor.ts'

interface Handle {
  onread: (this: Handle, ab: ArrayBuffer | undefined) => undefined
  onconnection: (status: number, client: Handle | undefined) => void
  readStart(): number
  readStop(): number
  writeBuffer(req: WriteReq, data: Uint8Array): number
  shutdown(req: ShutdownReq): number
  close(): void
  setNoDelay(on: boolean): number
  getpeername(out: { address?: string; port?: number }): number
  connect(req: ConnectReq, address: string, port: number): number
  bind(address: string, port: number): number
  listen(backlog: number): number
  conn?: Conn
}
interface WriteReq {
  handle: Handle
  oncomplete: (this: WriteReq, status: number) => void
  async: boolean
  conn: Conn
  buffer: Uint8Array | null
}
interface ShutdownReq {
  handle: Handle
  oncomplete: (status: number) => void
}
interface ConnectReq {
  oncomplete: (this: ConnectReq, status: number) => void
  address: string
  port: number
  conn: Conn
}
interface TcpWrapBinding {
  TCP: new (type: number) => Handle
  TCPConnectWrap: new () => ConnectReq
  constants: { SOCKET: number; SERVER: number }
}
interface StreamWrapBinding {
  WriteWrap: new () => WriteReq
  ShutdownWrap: new () => ShutdownReq
  streamBaseState: Int32Array
  kReadBytesOrError: number
  kArrayBufferOffset: number
  kLastWriteWasAsync: number
}

const binding = (process as unknown as { binding(name: string): unknown }).binding.bind(process)
const tcp = binding('tcp_wrap') as TcpWrapBinding
const stream = binding('stream_wrap') as StreamWrapBinding
const UV_EOF = (binding('uv') as { UV_EOF: number }).UV_EOF
const state = stream.streamBaseState

const ESTABLISHED = Buffer.from('HTTP/1.1 200 Connection established\r\n\r\n', 'latin1')
const MAX_HEAD = 8192

/** One side of a relayed connection. */
class Conn {
  peer: Conn | undefined
  closed = false
  /** Its FIN was read. */
  ended = false
  /** A FIN was sent to it (shutdown asked) / completed. */
  shut = false
  shutDone = false
  pending = 0
  /** Until the relay starts: what to do with a read (the CONNECT head, the ClientHello). */
  first: ((chunk: Buffer) => void) | undefined
  head: Buffer | undefined
  /** `--bookkeeping`: the connection's record, on both of its sides. */
  book: Book | undefined
  bytesIn = 0
  bytesOut = 0
  constructor(readonly h: Handle) {
    h.conn = this
    h.onread = onRead
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.h.close()
    this.book?.sideClosed(this.peer === undefined)
    const p = this.peer
    if (p && !p.closed && p.pending === 0) p.close()
  }
}

function onRead(this: Handle, ab: ArrayBuffer | undefined): undefined {
  const c = this.conn!
  const n = state[stream.kReadBytesOrError]!
  if (n > 0) {
    const chunk = Buffer.from(ab!, state[stream.kArrayBufferOffset], n)
    c.bytesIn += n
    if (c.book) c.book.active = true
    if (c.first) c.first(chunk)
    else if (c.peer) write(c.peer, chunk)
    return undefined
  }
  if (n === 0) return undefined
  if (n === UV_EOF && c.first === undefined && c.peer && !c.peer.closed) {
    c.ended = true
    shutdownSoon(c.peer)
    return undefined
  }
  c.close()
  return undefined
}

function afterWrite(this: WriteReq, status: number): void {
  const c = this.conn
  c.pending--
  if (status < 0) {
    c.close()
    return
  }
  if (c.pending > 0 || c.closed) return
  if (c.peer?.ended) {
    if (!c.shut) shutdown(c)
  } else if (c.peer && !c.peer.closed) c.peer.h.readStart()
}

function write(c: Conn, data: Uint8Array): void {
  if (c.closed) return
  c.bytesOut += data.length
  const req = new stream.WriteWrap()
  req.handle = c.h
  req.oncomplete = afterWrite
  req.async = false
  req.conn = c
  req.buffer = null
  if (c.h.writeBuffer(req, data) !== 0) {
    c.close()
    return
  }
  if (state[stream.kLastWriteWasAsync]) {
    // Pending: keep the bytes, and stop reading the side that sends them.
    req.buffer = data
    c.pending++
    c.peer?.h.readStop()
  }
}

function shutdownSoon(c: Conn): void {
  if (c.pending === 0) shutdown(c)
}

/** Both directions done (each side's FIN read and passed on): the relay is over. */
function shutDone(c: Conn): void {
  c.shutDone = true
  const p = c.peer
  if (c.ended && (!p || (p.ended && p.shutDone))) c.close()
}

function shutdown(c: Conn): void {
  if (c.shut || c.closed) return
  c.shut = true
  const req = new stream.ShutdownWrap()
  req.handle = c.h
  req.oncomplete = (status) => {
    if (status < 0) c.close()
    else shutDone(c)
  }
  const err = c.h.shutdown(req)
  if (err === 1) shutDone(c)
  else if (err < 0) c.close()
}

function onConnected(this: ConnectReq, status: number): void {
  const o = this.conn
  const c = o.peer!
  if (status < 0 || c.closed) {
    o.close()
    c.close()
    return
  }
  c.book?.connected()
  const head = c.head
  c.head = undefined
  if (head) write(o, head)
  else write(c, ESTABLISHED)
  o.h.readStart()
  c.h.readStart()
}

function dial(c: Conn, originPort: number, address = '127.0.0.1'): void {
  const h = new tcp.TCP(tcp.constants.SOCKET)
  h.setNoDelay(true)
  const o = new Conn(h)
  o.peer = c
  c.peer = o
  o.book = c.book
  const req = new tcp.TCPConnectWrap()
  req.oncomplete = onConnected
  req.address = address
  req.port = originPort
  req.conn = o
  if (h.connect(req, address, originPort) !== 0) c.close()
}

function listen(port: number, accepted: (c: Conn) => void): void {
  listening.push({ address: '127.0.0.1', port })
  const server = new tcp.TCP(tcp.constants.SERVER)
  if (server.bind('127.0.0.1', port) !== 0 || server.listen(511) !== 0) throw new Error(`node-floor: cannot listen on 127.0.0.1:${port}`)
  server.onconnection = (status, client) => {
    if (status !== 0 || !client) return
    client.setNoDelay(true)
    const c = new Conn(client)
    accepted(c)
    if (client.readStart() !== 0) c.close()
  }
}

const listening: { address: string; port: number }[] = []

function arg(name: string): number {
  const i = process.argv.indexOf(name)
  const v = i === -1 ? undefined : Number(process.argv[i + 1])
  if (v === undefined || !Number.isInteger(v) || v <= 0 || v > 65535) throw new Error(`node-floor: ${name} PORT is required`)
  return v
}

function optionalArg(name: string): string | undefined {
  const i = process.argv.indexOf(name)
  return i === -1 ? undefined : process.argv[i + 1]
}

const peer: { address?: string; port?: number } = {}

const bookkeeping = process.argv.includes('--bookkeeping')

/** Starts a connection's record (`--bookkeeping`): false when over a cap (closed). */
function accept(c: Conn, label: string): boolean {
  if (!bookkeeping) return true
  c.h.getpeername(peer)
  const book = Book.open(peer.address ?? '', label, {
    closeAll: () => {
      c.close()
      c.peer?.close()
    },
    bytes: () => [c.peer?.bytesOut ?? 0, c.peer?.bytesIn ?? 0],
  })
  if (book === undefined) {
    c.close()
    return false
  }
  c.book = book
  return true
}

/** The policy's decision and the checked address for `name`:`port` from `c`'s source, or undefined (closed). */
function check(checks: Checks, c: Conn, name: string, port: number): string | undefined {
  // With --bookkeeping, the source was read at the accept (as aks-egress reads it once).
  let source = c.book?.source
  if (source === undefined) {
    c.h.getpeername(peer)
    source = peer.address ?? ''
  }
  return checkedAddress(checks, source, name, port, c.book)
}

/** Gathers a connection's first bytes until `done` can tell (at most `max` bytes). */
function gather(c: Conn, max: number, done: (data: Buffer) => boolean): void {
  let seen: Buffer | undefined
  c.first = (chunk) => {
    seen = seen ? Buffer.concat([seen, chunk]) : chunk
    if (!done(seen) && seen.length > max) c.close()
  }
}

/** A CONNECT whose head, decision, dial and ClientHello are checked as aks-egress checks them. */
function checkedConnect(checks: Checks, c: Conn): void {
  const limits = DEFAULT_LIMITS
  gather(c, limits.maxHeaderBytes, (data) => {
    const r = parseHttpHead(data, limits.maxHeaderBytes)
    if (r.kind === 'needMore') return false
    c.first = undefined
    c.h.readStop()
    const target = r.kind === 'ok' && r.head.method === 'CONNECT' ? r.head.targetAuthority : undefined
    const name = target ? canonicalHost(target.host) : undefined
    if (target?.port !== undefined) c.book?.handshake('https', target.host, target.port, undefined, undefined)
    const port = target?.port
    const address = name !== undefined && port !== undefined ? check(checks, c, name, port) : undefined
    if (address === undefined || target === undefined || port === undefined) {
      c.close()
      return true
    }
    // After the 200: the ClientHello, whose name must be the CONNECT host's.
    gather(c, limits.maxClientHelloBytes, (hello) => {
      const h = parseClientHello(hello, limits.maxClientHelloBytes)
      if (h.kind === 'needMore') return false
      c.first = undefined
      if (h.kind !== 'sni' || canonicalHost(h.sni) !== name || !c.peer) c.close()
      else {
        c.book?.handshake('https', target.host, port, h.sni, h.alpn)
        write(c.peer, hello)
      }
      return true
    })
    dial(c, port, address)
    return true
  })
}

/** A transparent TLS connection whose ClientHello, decision and dial are checked as aks-egress checks them. */
function checkedSni(checks: Checks, c: Conn, originalPort: number): void {
  const max = DEFAULT_LIMITS.maxClientHelloBytes
  gather(c, max, (hello) => {
    const h = parseClientHello(hello, max)
    if (h.kind === 'needMore') return false
    c.first = undefined
    c.h.readStop()
    const name = h.kind === 'sni' ? canonicalHost(h.sni) : undefined
    if (h.kind === 'sni') c.book?.handshake('https', h.sni, originalPort, h.sni, h.alpn)
    const address = name === undefined ? undefined : check(checks, c, name, originalPort)
    if (address === undefined) c.close()
    else {
      c.head = hello
      dial(c, originalPort, address)
    }
    return true
  })
}

const originPort = arg('--origin')
const planeFile = optionalArg('--plane')
if (planeFile !== undefined) {
  const checksPort = optionalArg('--checks-connect')
  const policyFile = optionalArg('--policy')
  const hostsFile = optionalArg('--hosts')
  const checks = checksPort !== undefined && policyFile !== undefined && hostsFile !== undefined ? loadChecks(policyFile, hostsFile, listening) : undefined
  for (const name of ['--connect', '--sni', '--checks-connect', '--checks-sni']) if (optionalArg(name) !== undefined) listening.push({ address: '127.0.0.1', port: arg(name) })
  runPlane(planeFile, {
    connect: arg('--connect'),
    sni: arg('--sni'),
    ...(checks ? { checksConnect: arg('--checks-connect'), checksSni: arg('--checks-sni') } : {}),
  }, originPort, checks, bookkeeping)
} else {

  listen(arg('--connect'), (c) => {
    let seen: Buffer | undefined
    c.first = (chunk) => {
      seen = seen ? Buffer.concat([seen, chunk]) : chunk
      if (seen.indexOf('\r\n\r\n') === -1) {
        if (seen.length > MAX_HEAD) c.close()
        return
      }
      // The head only: a client waits for the 200 before it sends the ClientHello.
      c.first = undefined
      c.h.readStop()
      dial(c, originPort)
    }
  })

  listen(arg('--sni'), (c) => {
    c.first = (chunk) => {
      c.first = undefined
      c.head = chunk
      c.h.readStop()
      dial(c, originPort)
    }
  })

  const checksConnect = optionalArg('--checks-connect')
  if (checksConnect !== undefined) {
    const policyFile = optionalArg('--policy')
    const hostsFile = optionalArg('--hosts')
    if (policyFile === undefined || hostsFile === undefined) throw new Error('node-floor: --checks-connect and --checks-sni need --policy FILE and --hosts FILE')
    const checks = loadChecks(policyFile, hostsFile, listening)
    listen(arg('--checks-connect'), (c) => {
      if (accept(c, 'explicit')) checkedConnect(checks, c)
    })
    const sniLabel = `tls:${String(originPort)}`
    listen(arg('--checks-sni'), (c) => {
      if (accept(c, sniLabel)) checkedSni(checks, c, originPort)
    })
  }
}

process.on('SIGTERM', () => process.exit(0))
process.on('SIGINT', () => process.exit(0))
