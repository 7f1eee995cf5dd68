/**
 * @module One plain-HTTP exchange on a persistent connection: the request (head and body) sent to
 * an origin connection, its response relayed to the client, and a verdict on whether each of the
 * two connections may carry another message (forward-request.ts decides, dials and pools;
 * http-session.ts reads the next request).
 *
 * Keep-alive is safe only if the proxy, the client and the origin agree on where every message
 * ends; every disagreement is a request-smuggling or response-desync hole. So:
 * - requests: the strict request-head parser (http-head.ts) refuses every ambiguous framing
 *   (CL+TE, conflicting CL, TE other than `chunked`, bare LF/CR, obs-fold) before this runs; the
 *   body is passed exactly as framed (Content-Length counted, chunked scanned by
 *   chunked-scanner.ts; a bad chunk is a 400 and the end of both connections), and the bytes after
 *   it are the next request, kept (bounded: the client is not read again until the response is
 *   done: no unbounded pipelining) and decided on their own, never forwarded with this one;
 * - responses (RFC 9112 §6.3, response-head.ts): no body after HEAD, 1xx, 204, 304; chunked ⇒
 *   scanned to its last chunk and trailers; Content-Length ⇒ counted; otherwise close-delimited ⇒
 *   relayed until the origin closes, then the client connection closes too (its only way to learn
 *   the end). 1xx interim responses are relayed to HTTP/1.1 clients (RFC 9110 §15.2: never to
 *   HTTP/1.0 ones) and the final response awaited, at most SERVE_DEFAULTS.maxInterimResponses of
 *   them; a 101 is refused (502): upgrades are not forwarded. A chunked response to an HTTP/1.0
 *   client is decoded and close-delimited (RFC 9112 §6.1: it cannot read chunked).
 * - an origin connection is reusable only if its response ended exactly where its framing said,
 *   with no byte after it, and the origin did not ask to close (RFC 9112 §9.3); a client
 *   connection only if, besides, the client allows it and its whole request body was read before
 *   the response began (an origin that answers early leaves the rest of the body unread: close);
 * - anything the proxy refuses before the final response head was relayed is a status to the
 *   client (502 bad response, 504 no response in time, 400 bad request body, 408 stalled request
 *   body) and the end of both connections; after it, both are cut (the client sees a truncated
 *   response, never a spliced one).
 *
 * A reused (pooled) origin connection that ends or fails before any byte of the response, for a
 * request without a body whose method is idempotent (RFC 9110 §9.2.2), yields `retry`: the origin
 * closed it while idle, and the request may go once more on a new connection (RFC 9112 §9.3.1).
 */
import type { StreamSocket } from '../net/stream-socket.ts'
import { originReaderOf, type OriginReader } from '../net/origin-reader.ts'
import { ChunkedScanner } from './chunked-scanner.ts'
import { httpDenyResponse } from './deny-response.ts'
import { clientResponseHead, onlyChunked } from './hop-by-hop.ts'
import type { HttpRequestHead } from './http-head.ts'
import { deny, type OutcomeCode } from './outcome.ts'
import { bodyKind, originKeepsAlive, parseResponseHead, type BodyKind } from './response-head.ts'
import { SERVE_DEFAULTS, type ServeLimits } from './serve-defaults.ts'

/** RFC 9110 §9.2.2: methods a client (here the proxy) may send again after a connection failure. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE'])
const NO_BODY: BodyKind = Object.freeze({ kind: 'none' })
const EMPTY = Buffer.alloc(0)

export type ExchangeOutcome = 'complete' | 'bad-response' | 'timeout' | 'origin-closed' | 'client-closed' | 'bad-request' | 'retry'

export interface ExchangeOptions {
  readonly client: StreamSocket
  /** An origin connection made by dial-checked.ts (it has an origin reader). */
  readonly origin: StreamSocket
  readonly request: HttpRequestHead
  /** The head to send (hop-by-hop.ts originRequestHead). */
  readonly requestHead: string
  /** Client bytes already read after the request head: the body, and maybe the next request. */
  readonly body: Buffer
  /** The origin connection came from the pool (a failure before any response byte may be retried). */
  readonly reused: boolean
  /** The client may keep its connection after this response (it asked to, below the cap, not draining). */
  readonly clientKeepAlive: boolean
  readonly limits: ServeLimits
}

export interface ExchangeResult {
  readonly outcome: ExchangeOutcome
  readonly detail: string | undefined
  /** The client connection may read its next request: the response was complete and said keep-alive. */
  readonly keepClient: boolean
  /** The origin connection is clean and may be pooled (else it was destroyed). */
  readonly keepOrigin: boolean
  /** Client bytes after this request (the next request's start), when keepClient. */
  readonly pending: Buffer | undefined
  /** Bytes written to the origin (head included) and read from it. */
  readonly bytesUp: number
  readonly bytesDown: number
  /** The final response's status, when one was relayed. */
  readonly status: number | undefined
}

/** May the request be sent again on a new connection if a reused one fails before any response byte? */
export function isRetryable(request: HttpRequestHead): boolean {
  return !request.chunked && (request.contentLength ?? 0) === 0 && IDEMPOTENT.has(request.method)
}

/**
 * Sends one request on `origin` and relays its response to `client`; resolves when the response
 * is complete or failed, never rejects. The client is left paused without a listener of this
 * module; the caller ends or reuses it, and pools the origin when `keepOrigin`.
 * @example const r = await exchange({ client, origin, request, requestHead, body, reused: false, clientKeepAlive: true, limits })
 */
export function exchange(o: ExchangeOptions): Promise<ExchangeResult> {
  return new Promise((resolve) => {
    new Exchange(o, resolve).start()
  })
}

/** The state of one exchange; every handler is a field so that it can be removed again. */
class Exchange {
  readonly #o: ExchangeOptions
  readonly #resolve: (r: ExchangeResult) => void
  readonly #reader: OriginReader | undefined
  #settled = false
  #bytesUp = 0
  #bytesDown = 0
  // The request body.
  #reqRemaining: number
  readonly #reqScanner: ChunkedScanner | undefined
  #reqDone: boolean
  #pending: Buffer | undefined
  #waitingDrain = false
  /** The client's data, end and idle bound are listened to (its body is being read). */
  #readingBody = false
  /** The request head, until it goes out with the first body bytes (one write, one system call). */
  #headUp: string | undefined
  // The response.
  #phase: 'head' | 'body' = 'head'
  #headBuf: Buffer | undefined
  #scanned = 0
  #interim = 0
  #body: BodyKind = NO_BODY
  #respRemaining = 0
  #respScanner: ChunkedScanner | undefined
  /** A chunked response decoded for an HTTP/1.0 client. */
  #decode = false
  #receivedAny = false
  #status: number | undefined
  #keepClient = false
  #originMayKeep = false
  /** A write to the client is pending: the origin is paused until it is flushed. */
  #waitingFlush = false
  /** The final response head, until it goes out with the first body bytes (one write). */
  #headDown: string | undefined

  constructor(o: ExchangeOptions, resolve: (r: ExchangeResult) => void) {
    this.#o = o
    this.#resolve = resolve
    this.#reader = originReaderOf(o.origin)
    this.#reqRemaining = o.request.contentLength ?? 0
    this.#reqScanner = o.request.chunked ? new ChunkedScanner(SERVE_DEFAULTS.maxChunkLineBytes) : undefined
    this.#reqDone = !o.request.chunked && this.#reqRemaining === 0
  }

  start(): void {
    const { client, origin, limits } = this.#o
    const reader = this.#reader
    if (!reader) {
      this.#fail('bad-response', 'BAD_RESPONSE', 'origin connection without a reader')
      return
    }
    client.once('close', this.#onClientClose)
    origin.on('end', this.#onOriginEnd)
    origin.on('error', this.#onOriginError)
    origin.once('close', this.#onOriginError)
    origin.setTimeout(limits.idleTimeoutMs, this.#onTimeout)
    if (client.destroyed) {
      this.#finish('client-closed', false, false, 'the client closed the connection')
      return
    }
    if (origin.destroyed || origin.writableEnded) {
      this.#onOriginError()
      return
    }
    const held = reader.attach(this.#sink)
    this.#headUp = this.#o.requestHead
    this.#afterBody(this.#consume(this.#o.body))
    if (this.#settled) return
    this.#flushUp()
    if (!this.#reqDone) {
      // Reading the body: the client's FIN and idleness matter only now (while the response is
      // relayed, the origin's idle bound covers a client that stops reading: backpressure pauses
      // the origin).
      this.#readingBody = true
      client.on('data', this.#onClientData)
      client.on('end', this.#onClientEnd)
      client.setTimeout(limits.idleTimeoutMs, this.#onTimeout)
      client.resume()
    }
    let go = true
    for (const c of held) if (!this.#sink(c, false)) go = false
    if (this.#isSettled()) return
    if (origin.readableEnded) {
      this.#onOriginEnd()
      return
    }
    if (go) origin.resume()
  }

  /** A method, not the field: TypeScript would keep a narrowing of the field across the calls that change it. */
  #isSettled(): boolean {
    return this.#settled
  }

  #stopReadingBody(): void {
    if (!this.#readingBody) return
    this.#readingBody = false
    const client = this.#o.client
    client.removeListener('data', this.#onClientData)
    client.removeListener('end', this.#onClientEnd)
    client.removeListener('timeout', this.#onTimeout)
    client.setTimeout(0)
  }

  #cleanup(): void {
    const { client, origin } = this.#o
    this.#stopReadingBody()
    client.removeListener('close', this.#onClientClose)
    origin.removeListener('end', this.#onOriginEnd)
    origin.removeListener('error', this.#onOriginError)
    origin.removeListener('close', this.#onOriginError)
    origin.removeListener('timeout', this.#onTimeout)
    origin.removeListener('drain', this.#onOriginDrain)
    origin.setTimeout(0)
    this.#reader?.detach()
  }

  #finish(outcome: ExchangeOutcome, keepClient: boolean, keepOrigin: boolean, detail?: string): void {
    if (this.#settled) return
    this.#settled = true
    this.#cleanup()
    this.#o.client.pause()
    if (!keepOrigin) this.#o.origin.destroy()
    this.#resolve({
      outcome,
      detail,
      keepClient,
      keepOrigin,
      pending: keepClient ? this.#pending : undefined,
      bytesUp: this.#bytesUp,
      bytesDown: this.#bytesDown,
      status: this.#status,
    })
  }

  /** A failure the client can still be told about (no final response head sent yet), else a cut. */
  #fail(outcome: ExchangeOutcome, code: OutcomeCode, detail: string): void {
    if (this.#settled) return
    const client = this.#o.client
    if (this.#status === undefined && !client.destroyed && !client.writableEnded) {
      // A status (504, 502, 400, 408) with the deny response's fields: X-Aks-Egress-Reason says why.
      client.write(Buffer.from(httpDenyResponse(deny(code, detail)), 'latin1'))
    } else client.destroy()
    this.#finish(outcome, false, false, detail)
  }

  // Client → origin: the request body, exactly as framed.

  #sendUp(chunk: Buffer): void {
    const out = this.#withHead(this.#headUp, chunk)
    this.#headUp = undefined
    if (out.length === 0) return
    this.#bytesUp += out.length
    if (!this.#o.origin.write(out) && !this.#waitingDrain) {
      this.#waitingDrain = true
      this.#o.client.pause()
      this.#o.origin.once('drain', this.#onOriginDrain)
    }
  }

  /** Writes the request head if no body bytes took it along. */
  #flushUp(): void {
    if (this.#headUp !== undefined) this.#sendUp(EMPTY)
  }

  /** `head` (latin1) and `chunk` in one new buffer, or `chunk` itself. */
  #withHead(head: string | undefined, chunk: Buffer): Buffer {
    if (head === undefined) return chunk
    const out = Buffer.allocUnsafe(head.length + chunk.length)
    out.write(head, 0, head.length, 'latin1')
    chunk.copy(out, head.length)
    return out
  }

  readonly #onOriginDrain = (): void => {
    this.#waitingDrain = false
    if (!this.#settled && !this.#reqDone) this.#o.client.resume()
  }

  /** Passes the body part of `chunk`; returns what follows the body, or why the body is invalid. */
  #consume(chunk: Buffer): Buffer | string {
    if (this.#reqDone) return chunk
    const scanner = this.#reqScanner
    if (scanner) {
      const r = scanner.feed(chunk)
      if (r.kind === 'invalid') return `invalid chunked request body: ${r.detail}`
      if (r.kind === 'more') {
        this.#sendUp(chunk)
        return EMPTY
      }
      this.#sendUp(chunk.subarray(0, r.end))
      this.#reqDone = true
      return chunk.subarray(r.end)
    }
    const take = Math.min(this.#reqRemaining, chunk.length)
    this.#reqRemaining -= take
    this.#sendUp(take === chunk.length ? chunk : chunk.subarray(0, take))
    if (this.#reqRemaining === 0) this.#reqDone = true
    return chunk.subarray(take)
  }

  #afterBody(rest: Buffer | string): void {
    if (typeof rest === 'string') {
      this.#fail('bad-request', 'BAD_REQUEST', rest)
      return
    }
    if (!this.#reqDone) return
    // The body is complete: the client is not read again until the response is done, so what
    // followed it (a pipelined request) waits here, at most one read.
    this.#stopReadingBody()
    this.#o.client.pause()
    if (rest.length > 0) this.#pending = this.#pending ? Buffer.concat([this.#pending, rest]) : rest
  }

  readonly #onClientData = (chunk: Buffer): void => {
    if (!this.#settled) this.#afterBody(this.#consume(chunk))
  }

  readonly #onClientEnd = (): void => {
    // A half-close after the whole request is fine (the response still goes back); before it,
    // the request cannot complete.
    if (this.#reqDone || this.#settled) return
    this.#o.client.destroy()
    this.#finish('client-closed', false, false, 'the client closed the connection before the end of its request body')
  }

  readonly #onClientClose = (): void => {
    this.#finish('client-closed', false, false, 'the client closed the connection')
  }

  readonly #onTimeout = (): void => {
    const idle = this.#o.limits.idleTimeoutMs
    if (this.#status !== undefined) {
      this.#o.client.destroy()
      this.#finish('timeout', false, false, `No byte either way for ${idle} ms`)
    } else if (!this.#reqDone) {
      this.#fail('timeout', 'HANDSHAKE_TIMEOUT', `No byte of the request body for ${idle} ms`)
    } else {
      this.#fail('timeout', 'RESPONSE_TIMEOUT', `No complete response from the origin within ${idle} ms`)
    }
  }

  // Origin → client.

  readonly #onFlushed = (): void => {
    if (this.#waitingFlush && this.#o.client.writableLength === 0) {
      this.#waitingFlush = false
      if (!this.#settled && !this.#o.origin.destroyed) this.#o.origin.resume()
    }
  }

  /**
   * Writes to the client, the response head first if it has not gone yet (with these bytes, in one
   * write); false: the origin must stay paused until the write is flushed.
   */
  #sendDown(data: Buffer): boolean {
    const chunk = this.#withHead(this.#headDown, data)
    this.#headDown = undefined
    if (chunk.length === 0) return true
    const client = this.#o.client
    if (client.destroyed || client.writableEnded) return false
    client.write(chunk, this.#onFlushed)
    // A write the kernel took at once has left the queue already (Writable counts it down synchronously).
    if (client.writableLength === 0) return true
    this.#waitingFlush = true
    return false
  }

  /** Writes the response head if no body bytes took it along. */
  #flushDown(): boolean {
    return this.#headDown === undefined ? !this.#waitingFlush : this.#sendDown(EMPTY)
  }

  readonly #sink = (chunk: Buffer, borrowed: boolean): boolean => {
    if (this.#settled) return false
    this.#bytesDown += chunk.length
    this.#receivedAny = true
    return this.#phase === 'head' ? this.#onHead(chunk, borrowed) : this.#onBody(chunk, borrowed)
  }

  #onHead(chunk: Buffer, borrowed: boolean): boolean {
    const { request, limits } = this.#o
    // Owned bytes: a head may span reads, and a borrowed view is overwritten by the next read.
    let buf = this.#headBuf ? Buffer.concat([this.#headBuf, chunk]) : borrowed ? Buffer.from(chunk) : chunk
    for (;;) {
      const r = parseResponseHead(buf, limits.maxResponseHeaderBytes, this.#scanned)
      if (r.kind === 'needMore') {
        this.#headBuf = buf
        this.#scanned = buf.length
        return true
      }
      if (r.kind === 'tooLarge') {
        this.#fail('bad-response', 'BAD_RESPONSE', `The origin's response head exceeds ${limits.maxResponseHeaderBytes} bytes`)
        return false
      }
      if (r.kind === 'malformed') {
        this.#fail('bad-response', 'BAD_RESPONSE', `Malformed response from the origin: ${r.detail}`)
        return false
      }
      const h = r.head
      const rest = buf.subarray(h.headBytes)
      this.#headBuf = undefined
      this.#scanned = 0
      if (h.status === 101) {
        this.#fail('bad-response', 'BAD_RESPONSE', 'The origin switched protocols (101): upgrades are not forwarded')
        return false
      }
      if (h.status < 200) {
        if (++this.#interim > SERVE_DEFAULTS.maxInterimResponses) {
          this.#fail('bad-response', 'BAD_RESPONSE', `More than ${SERVE_DEFAULTS.maxInterimResponses} interim (1xx) responses`)
          return false
        }
        if (request.version === '1.1') this.#sendDown(Buffer.from(clientResponseHead(h, undefined), 'latin1'))
        if (rest.length === 0) return !this.#waitingFlush
        buf = rest
        continue
      }
      const body = bodyKind(h, request.method)
      this.#body = body
      this.#status = h.status
      this.#decode = body.kind === 'chunked' && request.version === '1.0'
      if (this.#decode && !onlyChunked(h)) {
        this.#status = undefined
        this.#fail('bad-response', 'BAD_RESPONSE', 'The response has a transfer coding besides chunked, which an HTTP/1.0 client cannot decode')
        return false
      }
      // The client keeps its connection only if it can tell where this response ends, and the
      // whole request was read (else the rest of its body would be read as the next request).
      this.#keepClient = this.#o.clientKeepAlive && this.#reqDone && body.kind !== 'close' && !this.#decode
      this.#originMayKeep = originKeepsAlive(h) && body.kind !== 'close'
      this.#phase = 'body'
      // Sent with the body bytes that came with it (one write for a small response).
      this.#headDown = clientResponseHead(h, this.#keepClient ? 'keep-alive' : 'close', this.#decode)
      if (body.kind === 'none') return this.#responseDone(rest.length > 0)
      if (body.kind === 'length') this.#respRemaining = body.length
      else if (body.kind === 'chunked') this.#respScanner = new ChunkedScanner(SERVE_DEFAULTS.maxChunkLineBytes)
      const flowing = rest.length > 0 ? this.#onBody(rest, false) : true
      // Settled: done (keep reading, see #responseDone) or failed (the socket is gone).
      if (this.#isSettled()) return true
      return this.#flushDown() && flowing
    }
  }

  /** `borrowed`: `chunk` is a view of the reader's buffer, overwritten by the socket's next read. */
  #onBody(chunk: Buffer, borrowed: boolean): boolean {
    switch (this.#body.kind) {
      case 'length': {
        const take = Math.min(this.#respRemaining, chunk.length)
        this.#respRemaining -= take
        const part = take === chunk.length ? chunk : chunk.subarray(0, take)
        if (this.#respRemaining > 0) return this.#sendDown(part)
        // The last part: the socket may go to the pool and read again while this write is
        // pending, so a borrowed view is copied.
        this.#sendDown(borrowed ? Buffer.from(part) : part)
        return this.#responseDone(take < chunk.length)
      }
      case 'chunked':
        return this.#decode ? this.#onDecodedChunks(borrowed ? Buffer.from(chunk) : chunk) : this.#onChunks(chunk, borrowed)
      case 'close':
        return this.#sendDown(chunk)
      case 'none':
        return this.#responseDone(true)
    }
  }

  #onChunks(chunk: Buffer, borrowed: boolean): boolean {
    const r = this.#respScanner!.feed(chunk)
    if (r.kind === 'invalid') {
      this.#o.client.destroy()
      this.#finish('bad-response', false, false, `invalid chunked response body: ${r.detail}`)
      return false
    }
    if (r.kind === 'more') return this.#sendDown(chunk)
    const part = chunk.subarray(0, r.end)
    this.#sendDown(borrowed ? Buffer.from(part) : part)
    return this.#responseDone(r.end < chunk.length)
  }

  /** HTTP/1.0 client: only the chunk data goes down; the end is told by closing. `chunk` is owned. */
  #onDecodedChunks(chunk: Buffer): boolean {
    let flowing = true
    const r = this.#respScanner!.feed(chunk, 0, (s, e) => {
      if (!this.#sendDown(chunk.subarray(s, e))) flowing = false
    })
    if (r.kind === 'invalid') {
      this.#o.client.destroy()
      this.#finish('bad-response', false, false, `invalid chunked response body: ${r.detail}`)
      return false
    }
    if (r.kind === 'more') return flowing
    return this.#responseDone(r.end < chunk.length)
  }

  /**
   * The response ended where its framing said; `stray`: bytes followed it (the origin is not
   * reused). Returns true: the origin socket keeps reading (no readStop/readStart system calls
   * between two exchanges): what it reads next goes to the pool's or the next exchange's sink, or
   * is held, and no pending write borrows its buffer (the last part was copied).
   */
  #responseDone(stray: boolean): true {
    this.#flushDown()
    if (!this.#reqDone) {
      // The origin answered before the whole body was sent: neither connection can be reused.
      this.#finish('complete', false, false)
      return true
    }
    this.#finish('complete', this.#keepClient, this.#originMayKeep && !stray)
    return true
  }

  readonly #onOriginEnd = (): void => {
    if (this.#settled) return
    if (this.#phase === 'head') {
      this.#originGoneEarly('The origin closed the connection before a complete response head')
      return
    }
    if (this.#body.kind === 'close') {
      // The end of a close-delimited body: the client learns it only from a close too (the caller ends it).
      this.#finish('complete', false, false)
      return
    }
    this.#o.client.destroy()
    this.#finish('origin-closed', false, false, 'The origin closed the connection before the end of its response')
  }

  readonly #onOriginError = (): void => {
    if (this.#settled) return
    if (this.#phase === 'head') {
      this.#originGoneEarly('The origin connection failed before a complete response head')
      return
    }
    // Even a close-delimited body may be truncated by a reset: cut the client rather than end it.
    this.#o.client.destroy()
    this.#finish('origin-closed', false, false, 'The origin connection failed during its response')
  }

  #originGoneEarly(detail: string): void {
    if (!this.#receivedAny && this.#o.reused && isRetryable(this.#o.request)) {
      this.#finish('retry', false, false, 'the reused origin connection closed before answering')
      return
    }
    this.#fail('bad-response', 'BAD_RESPONSE', detail)
  }
}
