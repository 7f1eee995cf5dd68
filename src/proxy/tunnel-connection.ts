/**
 * @module A transparent TLS connection from accept to close on one object: the ClientHello read
 * and judged, the policy's decision, the checked dial, the replay and the relay, on two
 * HandleConns (src/net/handle-conn.ts), with callbacks instead of promises, listeners and timers.
 * It does what handleTransparentTls (src/proxy/transparent-tls.ts) does on a ClientConnection,
 * with the same checks, decision and close lines and metrics, for a fraction of the garbage per
 * connection: the proxy benchmark measured a relay written this way with aks-egress's checks and
 * bookkeeping at 0.86–0.90 × the CPU per new connection of the path on LiteSockets
 * (docs/benchmarks.md, "A Node floor with aks-egress's checks").
 *
 * - The handshake bound, each connect attempt's bound and the relay's idle bound are coarse
 *   sweeps (src/proxy/idle-sweep.ts): no timer per connection. A bound fires between its value and
 *   1/8 later; the handshake and dial bounds count from their start, whatever bytes come.
 * - What is not an allowed, dialled tunnel — a denial, a failed dial, the handshake bound — goes
 *   on as on the other path: the client's handle is handed to a LiteSocket and a ClientConnection
 *   (`#handOff`), which sends the alert (or not), logs the decision and closes after a short bound
 *   (src/proxy/client-connection.ts, `denyTls`). Denials are the rare case; their code is shared.
 * - The relay keeps the semantics of src/proxy/tunnel.ts: bytes both ways with backpressure (a
 *   side stops reading while a write to its peer is pending), half-close carried both ways (a FIN
 *   ends the other side's writable half once what was before it is written), the idle bound,
 *   both sides closed when both directions are done or at the first error. The origin is read into
 *   reused buffers (no allocation per read of a download).
 */
import { resolveChecked, resolveCheckedKnown, type CheckedAddresses, type DialOptions } from '../net/dial-checked.ts'
import { HandleConn, type HandleConnOwner } from '../net/handle-conn.ts'
import { LiteSocket, type TcpHandle } from '../net/lite-socket.ts'
import { makeFlow } from '../policy/flow.ts'
import { ClientConnection, dialFailure, recordClose, recordDecision, type DecisionSubject, type ProxyRuntime, type RelayingConnection } from './client-connection.ts'
import type { CloseEnd } from './connection-log.ts'
import { DecisionFields } from './decision-fields.ts'
import { IdleEntry, idleSweep, type IdleSweep } from './idle-sweep.ts'
import { CLIENT_GONE_WHILE_CONNECTING, failedAfter, verdictOf, type Verdict } from './outcome.ts'
import type { PolicyState } from './policy-state.ts'
import { clientHelloStep, HELLO_CLIENT_CLOSED, helloTimeout, judgeClientHello, type HelloDenial } from './transparent-tls.ts'

/** What a tunnel needs from its server. */
export interface TunnelHost {
  readonly rt: ProxyRuntime
  /** The tunnel's client connection closed: its slot is free (called once). */
  clientClosed(t: TlsTunnel): void
}

const HELLO = 0
const DIAL = 1
const RELAY = 2
const DONE = 3
const HANDED_OFF = 4
type Phase = typeof HELLO | typeof DIAL | typeof RELAY | typeof DONE | typeof HANDED_OFF

const EMPTY = Buffer.alloc(0)

function ignoreError(): void {
  // A handed-off socket's errors are seen by its ClientConnection as its close.
}

export class TlsTunnel extends IdleEntry implements HandleConnOwner, RelayingConnection, DecisionSubject {
  readonly id: number
  readonly listener: string
  readonly explicit = false
  readonly srcIp: string
  readonly srcPort: number
  readonly fields = new DecisionFields()
  readonly #host: TunnelHost
  readonly #originalPort: number
  readonly #client: HandleConn
  #origin: HandleConn | undefined
  #phase: Phase = HELLO
  readonly #startNs = process.hrtime.bigint()
  #state: PolicyState
  /** The sweep the tunnel is in now (handshake, connect attempt or idle bound). */
  #sweep: IdleSweep | undefined
  /** The client's first bytes (the ClientHello, and whatever came before the dial ended): a chunk as it came, or a prefix of `#buf`. */
  #bytes: Buffer = EMPTY
  #buf: Buffer | undefined
  #verdict: Verdict | undefined
  #name = ''
  #checked: Extract<CheckedAddresses, { ok: true }> | undefined
  #attempts = 0
  #tried = 0
  #errors: string[] | undefined
  #dialStartNs = 0n
  #end: CloseEnd = 'closed'
  #scrapedUp = 0
  #scrapedDown = 0
  #released = false
  #handedOff: ClientConnection | undefined

  /** `handle`: an accepted connection, not reading yet. */
  constructor(id: number, handle: TcpHandle, srcIp: string, srcPort: number, listener: string, originalPort: number, host: TunnelHost) {
    super()
    this.id = id
    this.srcIp = srcIp
    this.srcPort = srcPort
    this.listener = listener
    this.#originalPort = originalPort
    this.#host = host
    this.#state = host.rt.policy()
    this.#client = new HandleConn(handle, this)
  }

  /** Starts reading the ClientHello, under the handshake bound. */
  start(): void {
    const f = this.fields
    f.protocol = 'https'
    f.port = this.#originalPort
    this.#enter(idleSweep(this.#host.rt.limits.handshakeTimeoutMs))
    this.#client.readStart()
  }

  /** Moves the tunnel into `sweep` (out of the one it was in); its bound counts from now. */
  #enter(sweep: IdleSweep | undefined): void {
    this.#sweep?.remove(this)
    this.#sweep = sweep
    sweep?.add(this)
  }

  #ms(from: bigint): number {
    return Number(process.hrtime.bigint() - from) / 1e6
  }

  // ---- The client's first bytes ----

  #append(chunk: Buffer): void {
    const bytes = this.#bytes
    const length = bytes.length
    if (length === 0) {
      // A read's chunk is a fresh buffer of its own: kept as it is (most ClientHellos are one read).
      this.#bytes = chunk
      return
    }
    let buf = this.#buf
    if (buf === undefined || bytes.buffer !== buf.buffer || length + chunk.length > buf.length) {
      const next = Buffer.allocUnsafe(Math.max(4096, (buf?.length ?? 0) * 2, length + chunk.length))
      bytes.copy(next, 0, 0, length)
      buf = this.#buf = next
    }
    buf.set(chunk, length)
    this.#bytes = buf.subarray(0, length + chunk.length)
  }

  #helloRead(chunk: Buffer): void {
    this.#append(chunk)
    const limits = this.#host.rt.limits
    const r = clientHelloStep(limits.maxClientHelloBytes, this.#bytes)
    if (r === undefined) return
    this.#enter(undefined)
    this.fields.handshakeMs = this.#ms(this.#startNs)
    // Decided under the policy in force now, not the one of the accept (docs/serve.md).
    this.#state = this.#host.rt.policy()
    const name = judgeClientHello(r, this.#originalPort, limits, this.fields)
    if (typeof name !== 'string') {
      this.#handOff(name)
      return
    }
    const verdict = verdictOf(this.#state.engine.decide(makeFlow({ protocol: 'https', sni: name, destinationPort: this.#originalPort, sourceIp: this.srcIp })))
    if (verdict.action === 'deny') {
      this.#handOff({ verdict, alert: true })
      return
    }
    this.#verdict = verdict
    this.#name = name
    this.#phase = DIAL
    this.#resolve()
  }

  // ---- The checked dial ----

  #dialOptions(): Omit<DialOptions, 'dialTimeoutMs' | 'maxAttempts'> {
    const rt = this.#host.rt
    return { resolver: rt.resolver, classify: { allowed: this.#state.allowedRanges, listening: rt.listening(), localAddresses: rt.localAddresses } }
  }

  #resolve(): void {
    const options = this.#dialOptions()
    // A name from --hosts or the cache (the usual case) is checked without a promise.
    const known = resolveCheckedKnown(this.#name, this.#originalPort, options)
    if (known !== undefined) {
      this.#resolved(known)
      return
    }
    resolveChecked(this.#name, this.#originalPort, options).then(
      (checked) => {
        // The client may have gone (or a stop closed it) while DNS was asked.
        if (this.#phase === DIAL) this.#resolved(checked)
      },
      (e: unknown) => {
        this.#fault(e)
      },
    )
  }

  #resolved(checked: CheckedAddresses): void {
    const rt = this.#host.rt
    rt.metrics.dnsSeconds.observe(checked.dnsMs / 1000)
    for (const r of checked.refused) rt.metrics.refusedAddresses.inc({ class: r.cls })
    this.fields.dnsMs = checked.dnsMs
    if (!checked.ok) {
      this.#handOff({ verdict: failedAfter(this.#verdict!, dialFailure(rt, checked)), alert: true })
      return
    }
    this.#checked = checked
    this.#attempts = Math.min(checked.allowed.length, Math.max(1, rt.limits.maxDialAttempts))
    this.#dialStartNs = process.hrtime.bigint()
    this.#connectNext()
  }

  /** Connects to the next checked address, under the dial bound; after the last, the dial failed. */
  #connectNext(): void {
    const checked = this.#checked!
    const rt = this.#host.rt
    if (this.#tried >= this.#attempts) {
      const connectMs = this.#ms(this.#dialStartNs)
      this.fields.connectMs = connectMs
      const detail = `cannot connect to ${this.#name}:${this.#originalPort} (${(this.#errors ?? []).join('; ')})`
      const failure = dialFailure(rt, { ok: false, failure: 'DIAL_FAILED', detail, refused: checked.refused, dnsMs: checked.dnsMs, connectMs })
      this.#handOff({ verdict: failedAfter(this.#verdict!, failure), alert: true })
      return
    }
    const address = checked.allowed[this.#tried++]!
    this.#origin = HandleConn.connect(address, this.#originalPort, this)
    this.#enter(idleSweep(rt.limits.dialTimeoutMs))
  }

  /** A connect attempt failed (or timed out): the next address. */
  #attemptFailed(code: string): void {
    const origin = this.#origin!
    origin.close()
    this.#origin = undefined
    ;(this.#errors ??= []).push(`${this.#checked!.allowed[this.#tried - 1]!}: ${code}`)
    this.#connectNext()
  }

  connConnected(conn: HandleConn, error: Error | undefined): void {
    if (this.#phase !== DIAL || conn !== this.#origin) return
    if (error) {
      this.#attemptFailed((error as NodeJS.ErrnoException).code ?? error.message)
      return
    }
    const rt = this.#host.rt
    const connectMs = this.#ms(this.#dialStartNs)
    rt.metrics.dialSeconds.observe(connectMs / 1000, 'ok')
    const f = this.fields
    f.connectMs = connectMs
    f.upstreamAddress = this.#checked!.allowed[this.#tried - 1]!
    f.upstreamPort = this.#originalPort
    this.#checked = undefined
    this.#errors = undefined
    recordDecision(rt, this, f, this.#verdict!, true)
    this.#startRelay(conn)
  }

  // ---- The relay ----

  #startRelay(origin: HandleConn): void {
    const rt = this.#host.rt
    const client = this.#client
    this.#phase = RELAY
    rt.metrics.tunnelOpened()
    rt.relaying.add(this)
    this.#enter(idleSweep(rt.limits.idleTimeoutMs))
    origin.readIntoReusedBuffers()
    // The peeked bytes, untouched (ALPN included); not kept for the tunnel's life.
    const first = this.#bytes
    this.#bytes = EMPTY
    this.#buf = undefined
    const flushed = origin.write(first)
    if (origin.closed) return
    if (client.eof) {
      // The client half-closed while the proxy was dialling: its FIN follows its bytes.
      if (flushed) origin.shutdown()
    } else if (flushed) client.readStart()
    else client.readStop()
    origin.readStart()
  }

  connRead(conn: HandleConn, chunk: Buffer): void {
    const client = this.#client
    if (conn === client) {
      switch (this.#phase) {
        case HELLO:
          try {
            this.#helloRead(chunk)
          } catch (e) {
            // Called from a read: a throw would reach the process. One connection fails, not the proxy.
            this.#fault(e)
          }
          return
        case DIAL:
          // Bytes after the ClientHello, before the origin answers: kept for the replay, and no more read until then.
          this.#append(chunk)
          client.readStop()
          return
        case RELAY: {
          this.active = true
          const origin = this.#origin!
          if (!origin.write(chunk) && !origin.closed) client.readStop()
          return
        }
        default:
          return
      }
    }
    if (this.#phase !== RELAY) return
    this.active = true
    // A borrowed chunk must not be overwritten by the origin's next read before it is sent.
    if (!client.write(chunk) && !client.closed) conn.readStop()
  }

  connDrained(conn: HandleConn): void {
    if (this.#phase !== RELAY) return
    this.active = true
    const client = this.#client
    const origin = this.#origin!
    if (conn === origin) {
      if (client.eof) origin.shutdown()
      else client.readStart()
    } else if (origin.eof) client.shutdown()
    else origin.readStart()
  }

  connEof(conn: HandleConn): void {
    const client = this.#client
    switch (this.#phase) {
      case HELLO:
        this.#clientGone(HELLO_CLIENT_CLOSED)
        return
      case DIAL:
        // A half-close after the ClientHello: carried to the origin once it is connected.
        return
      case RELAY: {
        const origin = this.#origin!
        const to = conn === client ? origin : client
        if (to.pendingBytes === 0) to.shutdown()
        return
      }
      default:
        return
    }
  }

  connFinished(): void {
    const client = this.#client
    const origin = this.#origin
    // Both directions done: each side's FIN read and passed on.
    if (this.#phase === RELAY && origin && client.eof && origin.finished && origin.eof && client.finished) this.#closeBoth('closed')
  }

  connFailed(conn: HandleConn): void {
    switch (this.#phase) {
      case HELLO:
        this.#clientGone(HELLO_CLIENT_CLOSED)
        return
      case DIAL:
        if (conn === this.#client) this.#clientGone(failedAfter(this.#verdict!, CLIENT_GONE_WHILE_CONNECTING))
        else this.#attemptFailed('EIO')
        return
      case RELAY:
        this.#closeBoth('error')
        return
      default:
        return
    }
  }

  /** The bound of the phase passed: the handshake's, a connect attempt's, or the relay's idle bound. */
  onIdle(): void {
    this.#sweep = undefined
    switch (this.#phase) {
      case HELLO:
        this.#handOff(helloTimeout(this.#host.rt.limits))
        return
      case DIAL:
        this.#attemptFailed('ETIMEDOUT')
        return
      case RELAY:
        this.#closeBoth('idle')
        return
      default:
        return
    }
  }

  #closeBoth(end: CloseEnd): void {
    if (this.#end === 'closed') this.#end = end
    this.#client.close()
    this.#origin?.close()
    this.#done()
  }

  #done(): void {
    if (this.#phase === DONE) return
    const relayed = this.#phase === RELAY
    this.#phase = DONE
    this.#enter(undefined)
    const rt = this.#host.rt
    if (relayed) {
      const origin = this.#origin!
      rt.relaying.delete(this)
      rt.metrics.tunnelClosed()
      // What a scrape counted already while the tunnel was open is not counted twice.
      rt.metrics.relayedBytes(Math.max(0, origin.bytesWritten - this.#scrapedUp), Math.max(0, origin.bytesRead - this.#scrapedDown))
      recordClose(rt, this.id, origin.bytesWritten, origin.bytesRead, this.#startNs, this.#end, 0)
    }
    this.#release()
  }

  #release(): void {
    if (this.#released) return
    this.#released = true
    this.#host.clientClosed(this)
  }

  /** The client went away (or a stop closed it) before the relay: decided with `verdict`, closed. */
  #clientGone(verdict: Verdict): void {
    recordDecision(this.#host.rt, this, this.fields, verdict, true)
    this.#client.close()
    this.#origin?.close()
    this.#origin = undefined
    this.#done()
  }

  /** A fault in the tunnel's own code (never expected): logged, and the connection closed. */
  #fault(e: unknown): void {
    this.#host.rt.log.logger.error({ event: 'handler-error', conn: this.id, error: e instanceof Error ? (e.stack ?? e.message) : String(e) }, 'handler error')
    this.#client.close()
    this.#origin?.close()
    this.#done()
  }

  /**
   * Goes on as the other path does for a denial: the client's handle becomes a LiteSocket with a
   * ClientConnection (the fields, start and policy so far), which denies with `denial` and closes.
   */
  #handOff(denial: HelloDenial): void {
    this.#enter(undefined)
    this.#origin?.close()
    this.#origin = undefined
    this.#bytes = EMPTY
    this.#buf = undefined
    this.#phase = HANDED_OFF
    const rt = this.#host.rt
    const socket = new LiteSocket(this.#client.release())
    socket.remoteAddress = this.srcIp
    socket.remotePort = this.srcPort
    socket.on('error', ignoreError)
    const conn = new ClientConnection(this.id, socket, this.listener, false, rt, {
      startNs: this.#startNs,
      fields: this.fields,
      state: this.#state,
      srcIp: this.srcIp,
      srcPort: this.srcPort,
    })
    this.#handedOff = conn
    socket.on('close', () => {
      conn.clientClosed()
      this.#release()
    })
    conn.denyTls(denial.verdict, denial.alert)
  }

  /** At a scrape: the bytes relayed since the last one, to the metrics (a long tunnel's move while it is open). */
  liveBytesToMetrics(): void {
    const origin = this.#origin
    if (this.#phase !== RELAY || !origin) return
    // Bytes the kernel took: pending ones may yet be dropped by a close.
    const up = Math.max(this.#scrapedUp, origin.bytesWritten - origin.pendingBytes)
    const down = Math.max(this.#scrapedDown, origin.bytesRead)
    this.#host.rt.metrics.relayedBytes(up - this.#scrapedUp, down - this.#scrapedDown)
    this.#scrapedUp = up
    this.#scrapedDown = down
  }

  /** Closes the connection at once (a stop at its drain bound). */
  destroyNow(): void {
    switch (this.#phase) {
      case HELLO:
        this.#clientGone(HELLO_CLIENT_CLOSED)
        return
      case DIAL:
        this.#clientGone(failedAfter(this.#verdict!, CLIENT_GONE_WHILE_CONNECTING))
        return
      case RELAY:
        this.#closeBoth('closed')
        return
      case HANDED_OFF:
        this.#handedOff?.destroyNow()
        return
      default:
        return
    }
  }
}
