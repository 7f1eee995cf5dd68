/**
 * @module One TCP connection on Node's TCP handle with no events, streams, promises or timers: its
 * reads, the end of its writes and its errors are calls to one owner object's methods. The data
 * path of a tunnel (src/proxy/tunnel-connection.ts) is built on two of them.
 *
 * Why not a LiteSocket (src/net/lite-socket.ts): a LiteSocket is an EventEmitter that keeps every
 * `net.Socket` semantic the HTTP paths use (lazy pause, held chunks, writes before connect,
 * timeouts, 'finish'); each costs fields, listeners and ticks per connection. The proxy benchmark
 * measured a relay written this way, with aks-egress's checks and bookkeeping, at 0.86–0.90 × the
 * CPU per new connection of aks-egress on LiteSockets (docs/benchmarks.md, "A Node floor with
 * aks-egress's checks"). A HandleConn is what that relay needs and nothing else.
 *
 * Semantics:
 * - `readStart()`/`readStop()` are the handle's (stopping is immediate: epoll interest removed);
 * - a read calls `owner.connRead(conn, chunk, borrowed)`; `borrowed`: the chunk is a view of a
 *   reused buffer (`readIntoReusedBuffers()`), valid until the next read, so the owner must stop
 *   reading while a write of it is pending;
 * - the peer's FIN calls `owner.connEof(conn)` once (libuv has stopped reading);
 * - `write(data)` returns true when the kernel took every byte; false when some wait (the bytes
 *   are kept until done); `owner.connDrained(conn)` when every pending write has completed;
 * - `shutdown()` sends a FIN after what was written; `owner.connFinished(conn)` once it is sent;
 * - a failed read, write or shutdown calls `owner.connFailed(conn, status, syscall)` with libuv's
 *   status (`uvError(status, syscall)` makes the Error, when the owner wants one: its stack trace
 *   costs, and a client's reset is common); the connection is
 *   left open for the owner to `close()`;
 * - `close()` closes the handle at once (pending writes are cancelled, nothing more is called).
 */
import { ReadBuffers } from './read-buffers.ts'
import { tcpBindings, uvError, uvErrorName, type Bindings, type ConnectReq, type ShutdownReq, type TcpHandle, type WriteReq } from './lite-socket.ts'

export interface HandleConnOwner {
  connRead(conn: HandleConn, chunk: Buffer, borrowed: boolean): void
  connEof(conn: HandleConn): void
  connDrained(conn: HandleConn): void
  connFinished(conn: HandleConn): void
  connFailed(conn: HandleConn, status: number, syscall: 'read' | 'write' | 'shutdown'): void
  /** `connect()` completed: `error` undefined when connected. */
  connConnected(conn: HandleConn, error: Error | undefined): void
}

let bindings: Bindings | undefined

function bs(): Bindings {
  bindings ??= tcpBindings()
  return bindings
}

/** A write request not bound to a write yet (as LiteSocket's: a write done at once leaves it free). */
let spareWrite: HandleWriteReq | undefined

interface HandleWriteReq extends Omit<WriteReq, 'owner' | 'oncomplete' | 'cb'> {
  oncomplete: (this: HandleWriteReq, status: number) => void
  conn: HandleConn
}

interface HandleShutdownReq extends Omit<ShutdownReq, 'owner' | 'oncomplete'> {
  oncomplete: (this: HandleShutdownReq, status: number) => void
  conn: HandleConn
}

interface HandleConnectReq extends Omit<ConnectReq, 'owner' | 'oncomplete'> {
  oncomplete: (this: HandleConnectReq, status: number) => void
  conn: HandleConn
}

function onRead(this: TcpHandle, arrayBuffer: ArrayBuffer | undefined): Uint8Array | undefined {
  return (this.conn as HandleConn).read(arrayBuffer)
}

function onReadAfterClose(): undefined {
  return undefined
}

function onWriteDone(this: HandleWriteReq, status: number): void {
  this.conn.writeDone(this, status)
}

function onShutdownDone(this: HandleShutdownReq, status: number): void {
  this.conn.shutdownDone(status)
}

function onConnectDone(this: HandleConnectReq, status: number): void {
  this.conn.connectDone(status)
}

function finishedAtOnce(c: HandleConn): void {
  c.shutdownDone(0)
}

export class HandleConn {
  readonly #h: TcpHandle
  readonly #owner: HandleConnOwner
  closed = false
  /** The peer's FIN was read. */
  eof = false
  /** A FIN was asked for (`shutdown()`). */
  shutdownSent = false
  /** The FIN was sent. */
  finished = false
  #reading = false
  /** Bytes of writes not yet completed. */
  pendingBytes = 0
  bytesRead = 0
  /** Bytes handed to the handle (pending ones included). */
  bytesWritten = 0
  /** `readIntoReusedBuffers()`: the buffers reads go into (src/net/read-buffers.ts). */
  #buffers: ReadBuffers | undefined
  /** Set by `connect()`: the address and port dialled (for its error). */
  #address = ''
  #port = 0

  constructor(handle: TcpHandle, owner: HandleConnOwner) {
    this.#h = handle
    this.#owner = owner
    handle.conn = this
    handle.onread = onRead
  }

  /**
   * A new connection to `address` (an IP literal, checked by the caller) and `port`, TCP_NODELAY
   * on; `owner.connConnected` follows (asynchronously, also when the connect fails at once).
   */
  static connect(address: string, port: number, owner: HandleConnOwner): HandleConn {
    const { TCP, SOCKET, TCPConnectWrap } = bs()
    const handle = new TCP(SOCKET)
    const c = new HandleConn(handle, owner)
    c.#address = address
    c.#port = port
    handle.setNoDelay(true)
    const req = new TCPConnectWrap() as unknown as HandleConnectReq
    req.oncomplete = onConnectDone
    req.address = address
    req.port = port
    req.conn = c
    // An IP literal: a colon means IPv6.
    const err = address.includes(':') ? handle.connect6(req, address, port) : handle.connect(req, address, port)
    if (err !== 0) process.nextTick(onConnectDone.bind(req), err)
    return c
  }

  /** @internal */
  connectDone(status: number): void {
    if (this.closed) return
    this.#owner.connConnected(this, status < 0 ? uvError(status, 'connect', this.#address, this.#port) : undefined)
  }

  /**
   * From now on reads go into reused buffers (a tunnel's relay: no 64 KiB allocation per read;
   * src/net/read-buffers.ts says why and how). A chunk is then `borrowed` when it is a view of one.
   */
  readIntoReusedBuffers(): void {
    const buffers = (this.#buffers = new ReadBuffers())
    this.#h.useUserBuffer(buffers.next)
  }

  /** @internal The handle read (`this` of onRead). */
  read(arrayBuffer: ArrayBuffer | undefined): Uint8Array | undefined {
    const { state, kReadBytesOrError, kArrayBufferOffset, UV_EOF } = bs()
    const n = state[kReadBytesOrError]!
    if (n > 0) {
      this.bytesRead += n
      if (this.#buffers === undefined) {
        this.#owner.connRead(this, Buffer.from(arrayBuffer!, state[kArrayBufferOffset], n), false)
        return undefined
      }
      const buffers = this.#buffers
      const buf = buffers.next
      this.#owner.connRead(this, buffers.chunkOf(buf, n), buffers.borrowed)
      if (this.closed) return undefined
      // Still reading: no write of the chunk is pending (the owner stops reads while one is).
      if (this.#reading) buffers.settled()
      // The handle reads into the returned buffer from now on (CustomBufferJSListener).
      return buffers.next !== buf ? buffers.next : undefined
    }
    if (n === 0) return undefined
    if (n === UV_EOF) {
      // libuv stopped reading at EOF.
      this.#reading = false
      this.eof = true
      this.#owner.connEof(this)
      return undefined
    }
    this.#reading = false
    this.#owner.connFailed(this, n, 'read')
    return undefined
  }

  get reading(): boolean {
    return this.#reading
  }

  readStart(): void {
    if (this.#reading || this.closed || this.eof) return
    const err = this.#h.readStart()
    if (err !== 0) {
      this.#owner.connFailed(this, err, 'read')
      return
    }
    this.#reading = true
  }

  readStop(): void {
    if (!this.#reading) return
    this.#reading = false
    if (!this.closed) this.#h.readStop()
  }

  /** True when the kernel took every byte; false when some wait (`connDrained` follows) or the write failed (`connFailed` was called). */
  write(data: Uint8Array): boolean {
    if (this.closed || this.shutdownSent || data.length === 0) return true
    const b = bs()
    const handle = this.#h
    const req = spareWrite ?? (new b.WriteWrap() as unknown as HandleWriteReq)
    spareWrite = req
    req.handle = handle
    req.oncomplete = onWriteDone
    req.async = false
    req.conn = this
    req.buffer = null
    const err = handle.writeBuffer(req, data)
    if (err !== 0) {
      // Node disposed of a request that failed after it became a WriteWrap: not reused.
      spareWrite = undefined
      this.#owner.connFailed(this, err, 'write')
      return false
    }
    this.bytesWritten += data.length
    if (b.state[b.kLastWriteWasAsync] === 0) return true
    spareWrite = undefined
    req.async = true
    // Kept until the write completes: the kernel reads from this memory.
    req.buffer = data
    this.pendingBytes += data.length
    return false
  }

  /** @internal An async write completed (or was cancelled by a close). */
  writeDone(req: HandleWriteReq, status: number): void {
    this.pendingBytes -= req.buffer?.length ?? 0
    req.buffer = null
    if (this.closed) return
    if (status < 0) {
      this.#owner.connFailed(this, status, 'write')
      return
    }
    if (this.pendingBytes === 0) this.#owner.connDrained(this)
  }

  /** A FIN after every byte written (libuv queues it behind pending writes); `connFinished` once sent. */
  shutdown(): void {
    if (this.shutdownSent || this.closed) return
    this.shutdownSent = true
    const req = new (bs().ShutdownWrap)() as unknown as HandleShutdownReq
    req.handle = this.#h
    req.oncomplete = onShutdownDone
    req.conn = this
    const err = this.#h.shutdown(req)
    // 1: done synchronously; ENOTCONN: the peer is gone already (as net.Socket: finished).
    if (err === 1 || (err < 0 && uvErrorName(err) === 'ENOTCONN')) process.nextTick(finishedAtOnce, this)
    else if (err !== 0) this.#owner.connFailed(this, err, 'shutdown')
  }

  /** @internal */
  shutdownDone(status: number): void {
    if (this.closed || this.finished) return
    if (status < 0 && uvErrorName(status) !== 'ENOTCONN') {
      this.#owner.connFailed(this, status, 'shutdown')
      return
    }
    this.finished = true
    this.#owner.connFinished(this)
  }

  /** The peer's address (an accepted connection's getpeername). */
  peer(out: { address?: string; port?: number }): boolean {
    return !this.closed && this.#h.getpeername(out) === 0
  }

  /** Closes the handle; the owner hears nothing more from it. */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.#reading = false
    const h = this.#h
    h.onread = onReadAfterClose
    h.conn = undefined
    // No close callback: one less call from C++ into JavaScript per socket (as LiteSocket).
    h.close()
  }

  /**
   * Gives the handle up to another owner (a LiteSocket, for a denial's reply and bounded close):
   * reading is stopped and this object forgets it.
   */
  release(): TcpHandle {
    this.readStop()
    this.closed = true
    const h = this.#h
    h.onread = onReadAfterClose
    h.conn = undefined
    return h
  }
}
