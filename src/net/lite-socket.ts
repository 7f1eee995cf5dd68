/**
 * @module TCP connections over Node's TCP handle without its stream machinery: the `net.Socket`
 * events and semantics the proxy uses (src/net/stream-socket.ts), for a fraction of the cost.
 *
 * Why: the proxy benchmark (docs/benchmarks.md, "Socket layer") measured a minimal relay on
 * `net.Socket`s at 1.3–1.5 × the CPU per new connection of the same relay on the handles
 * directly; in aks-egress the two `net.Socket`s of a connection (construction, Readable and
 * Writable states, the ticks of every read, write and close) were about 40% of the busy time.
 * A `LiteSocket` is one plain object per connection: a read is one call into JavaScript that
 * emits 'data' (or hands the bytes to an `onread` sink reading into reused buffers, as
 * `net.connect`'s `onread` option does), a write is one `writeBuffer` whose callback runs at once
 * when the kernel took the bytes, a close is one `close` of the handle.
 *
 * The handles are Node's internal bindings (`process.binding('tcp_wrap')` and `'stream_wrap'`,
 * which Node keeps for compatibility, DEP0111 being documentation-only). Their shape is checked
 * once (`liteSocketsAvailable()`); where it does not match, the proxy uses `net.Socket` (its
 * `--socket-layer node`); the proxy's end-to-end tests run once with each (scripts/run-tests.mjs).
 */
import { EventEmitter } from 'node:events'
import { isIPv6 } from 'node:net'
import { getSystemErrorMap } from 'node:util'
import type { StreamSocket } from './stream-socket.ts'

/** The part of Node's TCPWrap used here (and by src/net/handle-conn.ts). */
export interface TcpHandle {
  /** Must be a function (the binding checks). */
  onread: (this: TcpHandle, arrayBuffer: ArrayBuffer | undefined) => Uint8Array | undefined
  onconnection: (status: number, client: TcpHandle | undefined) => void
  readStart(): number
  readStop(): number
  writeBuffer(req: object, data: Uint8Array): number
  shutdown(req: object): number
  close(cb?: () => void): void
  getpeername(out: { address?: string; port?: number }): number
  getsockname(out: { address?: string; port?: number }): number
  setNoDelay(on: boolean): number
  /** Bytes libuv still has to write. */
  readonly writeQueueSize: number
  useUserBuffer(buf: Uint8Array): void
  connect(req: object, address: string, port: number): number
  connect6(req: object, address: string, port: number): number
  bind(address: string, port: number): number
  bind6(address: string, port: number, flags: number): number
  listen(backlog: number): number
  [OWNER]?: LiteSocket | LiteServer | undefined
  /** The owner of a handle used without a LiteSocket (src/net/handle-conn.ts). */
  conn?: unknown
}

export interface Bindings {
  readonly TCP: new (type: number) => TcpHandle
  readonly TCPConnectWrap: new () => ConnectReq
  readonly SOCKET: number
  readonly SERVER: number
  readonly WriteWrap: new () => WriteReq
  readonly ShutdownWrap: new () => ShutdownReq
  readonly state: Int32Array
  readonly kReadBytesOrError: number
  readonly kArrayBufferOffset: number
  readonly kLastWriteWasAsync: number
  readonly UV_EOF: number
}

export interface WriteReq {
  handle: TcpHandle
  oncomplete: (this: WriteReq, status: number) => void
  async: boolean
  owner: LiteSocket
  buffer: Uint8Array | null
  cb: ((err?: Error | null) => void) | undefined
}

export interface ShutdownReq {
  handle: TcpHandle
  oncomplete: (this: ShutdownReq, status: number) => void
  owner: LiteSocket
}

export interface ConnectReq {
  oncomplete: (this: ConnectReq, status: number, handle: TcpHandle) => void
  address: string
  port: number
  owner: LiteSocket
}

const OWNER = Symbol('liteOwner')

let bindings: Bindings | null | undefined

type LegacyBinding = (name: string) => unknown
interface TcpWrapBinding {
  readonly TCP?: unknown
  readonly TCPConnectWrap?: unknown
  readonly constants?: { readonly SOCKET?: unknown; readonly SERVER?: unknown }
}
interface StreamWrapBinding {
  readonly WriteWrap?: unknown
  readonly ShutdownWrap?: unknown
  readonly streamBaseState?: unknown
  readonly kReadBytesOrError?: unknown
  readonly kArrayBufferOffset?: unknown
  readonly kLastWriteWasAsync?: unknown
}

function loadBindings(): Bindings | null {
  try {
    const binding = (process as unknown as { binding: LegacyBinding }).binding
    const tcp = binding('tcp_wrap') as TcpWrapBinding
    const stream = binding('stream_wrap') as StreamWrapBinding
    const uv = binding('uv') as { readonly UV_EOF?: unknown }
    const constants = tcp.constants
    const b = {
      TCP: tcp.TCP,
      TCPConnectWrap: tcp.TCPConnectWrap,
      SOCKET: constants?.SOCKET,
      SERVER: constants?.SERVER,
      WriteWrap: stream.WriteWrap,
      ShutdownWrap: stream.ShutdownWrap,
      state: stream.streamBaseState,
      kReadBytesOrError: stream.kReadBytesOrError,
      kArrayBufferOffset: stream.kArrayBufferOffset,
      kLastWriteWasAsync: stream.kLastWriteWasAsync,
      UV_EOF: uv.UV_EOF,
    }
    if (typeof b.TCP !== 'function' || typeof b.TCPConnectWrap !== 'function' || typeof b.WriteWrap !== 'function' || typeof b.ShutdownWrap !== 'function') return null
    if (typeof b.SOCKET !== 'number' || typeof b.SERVER !== 'number' || typeof b.UV_EOF !== 'number') return null
    if (!(b.state instanceof Int32Array) || typeof b.kReadBytesOrError !== 'number' || typeof b.kArrayBufferOffset !== 'number' || typeof b.kLastWriteWasAsync !== 'number') return null
    const proto = (b.TCP as { prototype: Record<string, unknown> }).prototype
    for (const m of ['readStart', 'readStop', 'writeBuffer', 'shutdown', 'close', 'getpeername', 'getsockname', 'setNoDelay', 'useUserBuffer', 'connect', 'connect6', 'bind', 'bind6', 'listen']) {
      if (typeof proto[m] !== 'function') return null
    }
    return b as Bindings
  } catch {
    return null
  }
}

/** True when this Node has the TCP handle API a LiteSocket needs (checked once). */
export function liteSocketsAvailable(): boolean {
  bindings ??= loadBindings()
  return bindings !== null
}

/** Node's TCP handle bindings; throws where this Node has none (liteSocketsAvailable() says). */
export function tcpBindings(): Bindings {
  return b()
}

function b(): Bindings {
  bindings ??= loadBindings()
  if (bindings === null) throw new Error('LiteSocket: this Node.js has no usable TCP handle API (use --socket-layer node)')
  return bindings
}

/**
 * An `Error` as Node makes one for a libuv status: `code` 'ECONNREFUSED', `errno`, `syscall`, and
 * the message "connect ECONNREFUSED: connection refused 127.0.0.1:443" (the address when given).
 */
export function uvError(status: number, syscall: string, address?: string, port?: number): NodeJS.ErrnoException {
  const [name, description] = systemError(status) ?? [`UV${String(status)}`, 'unknown error']
  // As Node's exceptionWithHostPort: " ADDRESS:PORT", no brackets.
  const where = address === undefined ? '' : ` ${address}${port === undefined ? '' : `:${String(port)}`}`
  const e: NodeJS.ErrnoException = new Error(`${syscall} ${name}: ${description}${where}`)
  e.code = name
  e.errno = status
  e.syscall = syscall
  if (address !== undefined) Object.assign(e, { address, ...(port === undefined ? {} : { port }) })
  return e
}

/**
 * `net.connect`'s `onread` option: reads go into `buffer()`'s buffer, `callback(bytes, buf)` gets
 * them; returning false pauses the socket. `buffer()` is asked again after every read.
 */
export interface LiteOnRead {
  buffer(): Uint8Array
  callback(bytes: number, buf: Uint8Array): boolean
}

/** The handle's read callback, shared by every socket (`this` is the handle). */
/**
 * A write request not yet bound to a write: Node's StreamBase tries the write first and makes the
 * request a WriteWrap only when bytes remain (an async write), so a write the kernel takes at once
 * leaves it untouched, and the next write reuses it instead of constructing another.
 */
let spareWrite: WriteReq | undefined

function onHandleRead(this: TcpHandle, arrayBuffer: ArrayBuffer | undefined): Uint8Array | undefined {
  const s = this[OWNER] as LiteSocket
  return s.onRead(arrayBuffer)
}

/** A closed handle's read callback: reads after destroy() are dropped. */
function onReadAfterClose(): undefined {
  return undefined
}

function onConnectionAfterClose(_status: number, client: TcpHandle | undefined): void {
  client?.close()
}

function onWriteDone(this: WriteReq, status: number): void {
  this.owner.writeDone(this, status)
}

function onShutdownDone(this: ShutdownReq, status: number): void {
  this.owner.shutdownDone(status)
}

function onConnectDone(this: ConnectReq, status: number): void {
  this.owner.connectDone(status)
}

function onTimer(s: LiteSocket): void {
  s.timedOut()
}

function destroyOnFinish(this: LiteSocket): void {
  this.destroy()
}

function emitClosed(s: LiteSocket): void {
  s.closedTick()
}

function deliverHeld(s: LiteSocket): void {
  s.deliverHeld()
}

function emitFinish(s: LiteSocket): void {
  s.shutdownDone(0)
}

export interface LiteConnectOptions {
  readonly host: string
  readonly port: number
  readonly noDelay?: boolean
  readonly onread?: LiteOnRead
}

export class LiteSocket extends EventEmitter implements StreamSocket {
  #handle: TcpHandle | null
  remoteAddress: string | undefined
  remotePort: number | undefined
  destroyed = false
  closed = false
  readableEnded = false
  writableEnded = false
  writableFinished = false
  connecting = false
  bytesRead = 0
  bytesWritten = 0
  /** Bytes of async writes not yet completed. */
  writableLength = 0
  #paused = true
  #reading = false
  /** Writes made while connecting, written once connected. */
  #beforeConnect: Array<{ readonly data: Uint8Array; readonly cb: ((err?: Error | null) => void) | undefined }> | undefined
  /** The handle's write queue size when the inactivity timer last fired during a write (net.Socket's kLastWriteQueueSize). */
  #lastWriteQueueSize = 0
  /**
   * A chunk read while paused (data mode pauses lazily, below), and whether the peer's FIN came
   * then: delivered on resume, in order.
   */
  #held: Buffer | undefined
  #heldEof = false
  #shutdownSent = false
  #needDrain = false
  #error: Error | undefined
  #timeoutMs = 0
  #timer: NodeJS.Timeout | undefined
  #onread: LiteOnRead | undefined
  #userBuffer: Uint8Array | undefined

  /** A socket over `handle` (accepted: connected, paused). */
  constructor(handle: TcpHandle, onread?: LiteOnRead) {
    super()
    this.#handle = handle
    handle[OWNER] = this
    handle.onread = onHandleRead
    if (onread) {
      this.#onread = onread
      const buf = onread.buffer()
      this.#userBuffer = buf
      handle.useUserBuffer(buf)
    }
  }

  /** Connects to `host` (an IP address) and `port`: 'connect' or 'error' (then 'close') follows. */
  static connect(options: LiteConnectOptions): LiteSocket {
    const { TCP, SOCKET, TCPConnectWrap } = b()
    const handle = new TCP(SOCKET)
    const s = new LiteSocket(handle, options.onread)
    s.connecting = true
    s.remoteAddress = options.host
    s.remotePort = options.port
    if (options.noDelay !== false) handle.setNoDelay(true)
    const req = new TCPConnectWrap()
    req.oncomplete = onConnectDone
    req.address = options.host
    req.port = options.port
    req.owner = s
    // An IP literal (the dial checked it): a colon means IPv6 (net.isIPv6's regular expression was 0.7% of the busy time).
    const err = options.host.includes(':') ? handle.connect6(req, options.host, options.port) : handle.connect(req, options.host, options.port)
    if (err !== 0) {
      // As net.Socket: the error comes asynchronously, after the caller added its listeners.
      const e = uvError(err, 'connect', options.host, options.port)
      process.nextTick(() => s.destroy(e))
    }
    return s
  }

  /** @internal The connect request completed. */
  connectDone(status: number): void {
    if (this.destroyed) return
    this.connecting = false
    if (status < 0) {
      this.destroy(uvError(status, 'connect', this.remoteAddress, this.remotePort))
      return
    }
    this.#refresh()
    // As net.connect with `onread`: a socket with a sink reads at once (the sink holds early bytes and pauses it).
    if (this.#onread) this.#paused = false
    const queued = this.#beforeConnect
    if (queued) {
      this.#beforeConnect = undefined
      for (const w of queued) {
        this.writableLength -= w.data.length
        // A failed write destroys the socket: the rest are called back with its error.
        if (this.#gone()) {
          if (w.cb) w.cb(this.#error ?? new Error('destroyed before connect'))
        } else this.#write(w.data, w.cb)
      }
    }
    this.emit('connect')
    // A 'connect' listener may have destroyed it.
    if (this.#gone()) return
    if (this.writableEnded && this.writableLength === 0) this.#finishWrites()
    else if (this.writableLength === 0 && this.#needDrain) {
      this.#needDrain = false
      this.emit('drain')
    }
    if (!this.#paused) this.#startReading()
  }

  /** @internal The handle read (`this` of onHandleRead): emits or sinks the bytes. */
  onRead(arrayBuffer: ArrayBuffer | undefined): Uint8Array | undefined {
    const { state, kReadBytesOrError, kArrayBufferOffset, UV_EOF } = bindings!
    const n = state[kReadBytesOrError]!
    if (n > 0) {
      this.bytesRead += n
      this.#refresh()
      const sink = this.#onread
      if (sink) {
        const buf = this.#userBuffer!
        if (!sink.callback(n, buf)) this.pause()
        const next = sink.buffer()
        if (next !== buf && !this.destroyed) {
          this.#userBuffer = next
          // The handle reads into the returned buffer from now on (CustomBufferJSListener).
          return next
        }
        return undefined
      }
      const chunk = Buffer.from(arrayBuffer!, state[kArrayBufferOffset], n)
      if (this.#paused) {
        // Paused lazily: this read is kept for resume() and reading stops now (one chunk at most).
        this.#held = chunk
        this.#stopReading()
        return undefined
      }
      this.emit('data', chunk)
      return undefined
    }
    if (n === 0) return undefined
    if (n === UV_EOF) {
      // libuv stopped reading at EOF.
      this.#reading = false
      if (this.#paused) {
        this.#heldEof = true
        return undefined
      }
      this.#ended()
      return undefined
    }
    this.destroy(uvError(n, 'read'))
    return undefined
  }

  #gone(): boolean {
    return this.destroyed
  }

  #stopped(): boolean {
    return this.#paused || this.destroyed
  }

  #ended(): void {
    if (this.readableEnded) return
    this.readableEnded = true
    this.emit('end')
    if (this.writableFinished) this.destroy()
  }

  #stopReading(): void {
    if (!this.#reading) return
    this.#reading = false
    if (!this.destroyed) this.#handle!.readStop()
  }

  /** @internal resume()'s delivery of what was read while paused (on the next tick, as Readable's resume). */
  deliverHeld(): void {
    if (this.#stopped()) return
    const held = this.#held
    if (held) {
      this.#held = undefined
      this.emit('data', held)
      // A 'data' listener may have paused or destroyed the socket.
      if (this.#stopped()) return
    }
    if (this.#heldEof) {
      this.#heldEof = false
      this.#ended()
      return
    }
    this.#startReading()
  }

  #startReading(): void {
    if (this.#reading || this.destroyed || this.readableEnded || this.connecting) return
    const err = this.#handle!.readStart()
    if (err !== 0) {
      this.destroy(uvError(err, 'read'))
      return
    }
    this.#reading = true
  }

  /**
   * Stops 'data'. A socket read with an `onread` sink stops reading at once (its next read would
   * overwrite a buffer a pending write may still hold). A socket in data mode stops lazily: it
   * keeps its read interest and stops at the next read, keeping that chunk for resume(); a
   * pause and resume with nothing read between (a handshake's bytes parsed, then the relay) then
   * costs no readStop/readStart, each an epoll_ctl system call.
   */
  pause(): this {
    this.#paused = true
    if (this.#onread) this.#stopReading()
    return this
  }

  resume(): this {
    if (!this.#paused) return this
    this.#paused = false
    if (this.#held !== undefined || this.#heldEof) process.nextTick(deliverHeld, this)
    else this.#startReading()
    return this
  }

  /** Whether 'data' flows (Readable's `isPaused`). */
  isPaused(): boolean {
    return this.#paused
  }

  write(chunk: Uint8Array | string, cb?: (err?: Error | null) => void): boolean {
    if (this.destroyed || this.writableEnded) {
      if (cb) process.nextTick(cb, new Error('write after end'))
      return false
    }
    // Strings as net.Socket writes them by default: UTF-8.
    const data = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk
    if (this.connecting) {
      // As net.Socket: kept, and written in order once connected (or called back with the connect's error).
      ;(this.#beforeConnect ??= []).push({ data, cb })
      this.writableLength += data.length
      this.#needDrain = true
      return false
    }
    return this.#write(data, cb)
  }

  #write(data: Uint8Array, cb: ((err?: Error | null) => void) | undefined): boolean {
    if (data.length === 0) {
      if (cb) cb()
      return this.writableLength === 0
    }
    const { state, kLastWriteWasAsync } = bindings!
    const handle = this.#handle!
    const req = spareWrite ?? new (bindings!.WriteWrap)()
    spareWrite = req
    req.handle = handle
    req.oncomplete = onWriteDone
    req.async = false
    req.owner = this
    req.cb = cb
    req.buffer = null
    const err = handle.writeBuffer(req, data)
    if (err !== 0) {
      // A write that failed after Node made the request a WriteWrap disposed of it: not reused.
      spareWrite = undefined
      this.destroy(uvError(err, 'write'))
      if (cb) process.nextTick(cb, this.#error)
      return false
    }
    this.bytesWritten += data.length
    this.#refresh()
    if (state[kLastWriteWasAsync] === 0) {
      // The kernel took every byte: done now (net.Socket would call back on the next tick).
      req.cb = undefined
      if (cb) cb()
      return this.writableLength === 0
    }
    // An async write binds the request to it (a write done at once never reaches it: the spare stays).
    spareWrite = undefined
    req.async = true
    // Kept until the write completes: the kernel reads from this memory.
    req.buffer = data
    this.writableLength += data.length
    this.#needDrain = true
    return false
  }

  /** @internal An async write completed. */
  writeDone(req: WriteReq, status: number): void {
    this.writableLength -= req.buffer?.length ?? 0
    req.buffer = null
    const cb = req.cb
    if (this.destroyed) {
      // Cancelled by the close (as net.Socket: the callback without an error).
      if (cb) cb()
      return
    }
    if (status < 0) {
      const e = uvError(status, 'write')
      this.destroy(e)
      if (cb) cb(e)
      return
    }
    this.#refresh()
    if (cb) cb()
    if (this.writableLength === 0) {
      if (this.#needDrain) {
        this.#needDrain = false
        this.emit('drain')
      }
      if (this.writableEnded && !this.#shutdownSent) this.#finishWrites()
    }
  }

  end(chunk?: Uint8Array | string): this {
    if (chunk !== undefined && !this.writableEnded) this.write(chunk)
    if (this.writableEnded || this.destroyed) return this
    this.writableEnded = true
    if (this.connecting) return this
    if (this.writableLength === 0) this.#finishWrites()
    return this
  }

  /**
   * Every byte written is in the kernel and the writable side is ended: a FIN. When the peer's
   * FIN came already and was read, the socket closes instead: close(2) sends the FIN after the
   * queued bytes just as shutdown(2) does (nothing unread, so no RST), and the shutdown request,
   * its callback and the close after it are saved (two per tunnel's end).
   */
  #finishWrites(): void {
    if (this.readableEnded && !this.destroyed && !this.#shutdownSent) {
      this.#shutdownSent = true
      this.writableFinished = true
      this.emit('finish')
      this.destroy()
      return
    }
    this.#shutdown()
  }

  #shutdown(): void {
    if (this.#shutdownSent || this.destroyed) return
    this.#shutdownSent = true
    const req = new (bindings!.ShutdownWrap)()
    req.handle = this.#handle!
    req.oncomplete = onShutdownDone
    req.owner = this
    const err = this.#handle!.shutdown(req)
    // 1: done synchronously; ENOTCONN: the peer is gone already (as net.Socket: finished).
    if (err === 1 || (err < 0 && getName(err) === 'ENOTCONN')) process.nextTick(emitFinish, this)
    else if (err !== 0) this.destroy(uvError(err, 'shutdown'))
  }

  /** @internal The FIN was sent. */
  shutdownDone(status: number): void {
    if (this.destroyed || this.writableFinished) return
    if (status < 0 && getName(status) !== 'ENOTCONN') {
      this.destroy(uvError(status, 'shutdown'))
      return
    }
    this.writableFinished = true
    this.emit('finish')
    if (this.readableEnded) this.destroy()
  }

  destroy(error?: Error): this {
    if (this.destroyed) return this
    this.destroyed = true
    this.#error = error
    if (this.#timer) {
      clearTimeout(this.#timer)
      this.#timer = undefined
    }
    this.#reading = false
    this.#held = undefined
    const queued = this.#beforeConnect
    if (queued) {
      this.#beforeConnect = undefined
      const e = error ?? new Error('destroyed before connect')
      for (const w of queued) if (w.cb) process.nextTick(w.cb, e)
    }
    const handle = this.#handle
    if (handle) {
      handle.onread = onReadAfterClose
      // No close callback: libuv closes the descriptor on its next turn, and a callback would be
      // one more call from C++ into JavaScript per socket. 'close' follows on the next tick (as
      // net.Socket's, after 'error'); pending write requests are cancelled by the close.
      handle.close()
    }
    process.nextTick(emitClosed, this)
    return this
  }

  /** @internal destroy()'s 'error' and 'close', on the next tick. */
  closedTick(): void {
    const handle = this.#handle
    if (handle) handle[OWNER] = undefined
    this.#handle = null
    this.closed = true
    const error = this.#error
    if (error) this.emit('error', error)
    this.emit('close', error !== undefined)
  }

  destroySoon(): void {
    if (!this.writableEnded) this.end()
    if (this.writableFinished) this.destroy()
    else if (!this.destroyed) this.once('finish', destroyOnFinish)
  }

  setTimeout(ms: number, cb?: () => void): this {
    if (this.#timer) {
      clearTimeout(this.#timer)
      this.#timer = undefined
    }
    this.#timeoutMs = ms
    if (ms > 0 && !this.destroyed) {
      this.#timer = setTimeout(onTimer, ms, this)
      // As net.Socket's timeouts: they do not keep the process alive.
      this.#timer.unref()
    }
    if (cb) {
      if (ms > 0) this.once('timeout', cb)
      else this.removeListener('timeout', cb)
    }
    return this
  }

  /** @internal The inactivity timer fired. */
  timedOut(): void {
    // The timer is kept (not dropped): the next read or write refreshes it, which re-arms a timer
    // that fired, so a socket whose 'timeout' was ignored times out again after new activity, as
    // net.Socket's does (dropping it here left such a socket without a timeout for good).
    if (this.destroyed || this.#timeoutMs === 0) return
    // As net.Socket's _onTimeout: a write still draining (libuv's queue shrank since the timer
    // last fired) is activity, though no callback came; the timeout is put off.
    const handle = this.#handle
    if (this.writableLength > 0 && handle) {
      const size = handle.writeQueueSize
      if (size !== this.#lastWriteQueueSize) {
        this.#lastWriteQueueSize = size
        this.#timer?.refresh()
        return
      }
    }
    this.emit('timeout')
  }

  #refresh(): void {
    if (this.#timer) this.#timer.refresh()
  }
}

/** libuv's error names and descriptions: `getSystemErrorMap()` builds a new Map at every call, so once. */
let errorMap: Map<number, [string, string]> | undefined

function systemError(status: number): [string, string] | undefined {
  errorMap ??= getSystemErrorMap()
  return errorMap.get(status)
}

function getName(status: number): string {
  return systemError(status)?.[0] ?? ''
}

/** libuv's name of an error status ('ENOTCONN'), without making an Error (whose stack trace costs). */
export function uvErrorName(status: number): string {
  return getName(status)
}

/** Takes an accepted handle (connected, not reading) with its peer's address, or returns false. */
export type HandleTaker = (handle: TcpHandle, address: string, port: number) => boolean

/** A listening socket whose connections are `LiteSocket`s: 'connection' (paused), 'error'. */
export class LiteServer extends EventEmitter {
  #handle: TcpHandle | null = null
  readonly #noDelay: boolean

  readonly #takeHandle: HandleTaker | undefined

  /**
   * `noDelay`: TCP_NODELAY on every accepted socket (as net.Server's option). `takeHandle`: asked
   * first at each accept; when it returns true it owns the handle (src/proxy/tunnel-connection.ts) and no
   * LiteSocket is made.
   */
  constructor(options: { readonly noDelay?: boolean; readonly takeHandle?: HandleTaker } = {}) {
    super()
    this.#noDelay = options.noDelay === true
    this.#takeHandle = options.takeHandle
  }

  /** Binds and listens; throws the bind or listen error (`code` 'EADDRINUSE', ...). */
  listen(host: string, port: number, backlog = 511): { address: string; port: number } {
    const { TCP, SERVER } = b()
    const handle = new TCP(SERVER)
    handle[OWNER] = this
    // Flags 0: as net.Server without `ipv6Only` (on Linux '::' then accepts IPv4 too).
    let err = isIPv6(host) ? handle.bind6(host, port, 0) : handle.bind(host, port)
    if (err === 0) err = handle.listen(backlog)
    if (err !== 0) {
      handle.close()
      throw uvError(err, 'listen', host, port)
    }
    handle.onconnection = (status, client) => {
      if (status < 0 || client === undefined) {
        this.emit('error', uvError(status, 'accept'))
        return
      }
      if (this.#noDelay) client.setNoDelay(true)
      const out: { address?: string; port?: number } = {}
      const known = client.getpeername(out) === 0
      if (this.#takeHandle?.(client, out.address ?? '', out.port ?? 0) === true) return
      const s = new LiteSocket(client)
      if (known) {
        s.remoteAddress = out.address
        s.remotePort = out.port
      }
      this.emit('connection', s)
    }
    this.#handle = handle
    return this.address()!
  }

  address(): { address: string; port: number } | null {
    const h = this.#handle
    if (!h) return null
    const out: { address?: string; port?: number } = {}
    if (h.getsockname(out) !== 0 || out.address === undefined || out.port === undefined) return null
    return { address: out.address, port: out.port }
  }

  /** Stops accepting; open connections are left alone. */
  close(): void {
    const h = this.#handle
    if (!h) return
    this.#handle = null
    h.onconnection = onConnectionAfterClose
    h.close()
  }
}

/**
 * Checks, over loopback, that LiteSockets work on this Node beyond the shape of its handle API:
 * a LiteServer accepts a LiteSocket's connection, bytes go both ways, both FINs arrive and both
 * sockets close, within `timeoutMs`. Resolves with undefined when they do, else with why not
 * (`serve` then uses net.Socket). The handle API is internal to Node: a release could keep its
 * names and change what they do; this is the check of what they do.
 */
export function liteSelfTest(timeoutMs = 2000): Promise<string | undefined> {
  if (!liteSocketsAvailable()) return Promise.resolve('the TCP handle API does not have the expected shape')
  return new Promise((resolve) => {
    const server = new LiteServer()
    const sockets: LiteSocket[] = []
    let settled = false
    const done = (problem: string | undefined): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      server.close()
      for (const s of sockets) s.destroy()
      resolve(problem)
    }
    const timer = setTimeout(() => {
      done(`no echo over loopback within ${String(timeoutMs)} ms`)
    }, timeoutMs)
    const fail = (e: Error): void => {
      done(e.message)
    }
    let port: number
    try {
      port = server.listen('127.0.0.1', 0).port
    } catch (e) {
      done(e instanceof Error ? e.message : String(e))
      return
    }
    let closed = 0
    /** Watches `s`: errors fail the test, both closes pass it; at its peer's FIN, `onText` gets what it read. */
    const watch = (s: LiteSocket, onText: (text: string) => void): void => {
      sockets.push(s)
      s.on('error', fail)
      s.on('close', () => {
        if (++closed === 2) done(undefined)
      })
      const got: Buffer[] = []
      s.on('data', (c: Buffer) => got.push(c))
      s.on('end', () => {
        onText(Buffer.concat(got).toString('latin1'))
      })
    }
    server.on('connection', (accepted: LiteSocket) => {
      watch(accepted, (text) => {
        if (text !== 'ping') done('the accepted socket did not read what was sent')
        else accepted.end('pong')
      })
      accepted.resume()
    })
    const client = LiteSocket.connect({ host: '127.0.0.1', port })
    watch(client, (text) => {
      if (text !== 'pong') done('the dialled socket did not read the reply')
    })
    client.on('connect', () => {
      client.resume()
      client.end('ping')
    })
  })
}
