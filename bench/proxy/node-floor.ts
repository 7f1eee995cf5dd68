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
 */

interface Handle {
  onread: (this: Handle, ab: ArrayBuffer | undefined) => undefined
  onconnection: (status: number, client: Handle | undefined) => void
  readStart(): number
  readStop(): number
  writeBuffer(req: WriteReq, data: Uint8Array): number
  shutdown(req: ShutdownReq): number
  close(): void
  setNoDelay(on: boolean): number
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
  constructor(readonly h: Handle) {
    h.conn = this
    h.onread = onRead
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.h.close()
    const p = this.peer
    if (p && !p.closed && p.pending === 0) p.close()
  }
}

function onRead(this: Handle, ab: ArrayBuffer | undefined): undefined {
  const c = this.conn!
  const n = state[stream.kReadBytesOrError]!
  if (n > 0) {
    const chunk = Buffer.from(ab!, state[stream.kArrayBufferOffset], n)
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
  const head = c.head
  c.head = undefined
  if (head) write(o, head)
  else write(c, ESTABLISHED)
  o.h.readStart()
  c.h.readStart()
}

function dial(c: Conn, originPort: number): void {
  const h = new tcp.TCP(tcp.constants.SOCKET)
  h.setNoDelay(true)
  const o = new Conn(h)
  o.peer = c
  c.peer = o
  const req = new tcp.TCPConnectWrap()
  req.oncomplete = onConnected
  req.address = '127.0.0.1'
  req.port = originPort
  req.conn = o
  if (h.connect(req, '127.0.0.1', originPort) !== 0) c.close()
}

function listen(port: number, accepted: (c: Conn) => void): void {
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

function arg(name: string): number {
  const i = process.argv.indexOf(name)
  const v = i === -1 ? undefined : Number(process.argv[i + 1])
  if (v === undefined || !Number.isInteger(v) || v <= 0 || v > 65535) throw new Error(`node-floor: ${name} PORT is required`)
  return v
}

const originPort = arg('--origin')

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

process.on('SIGTERM', () => process.exit(0))
process.on('SIGINT', () => process.exit(0))
