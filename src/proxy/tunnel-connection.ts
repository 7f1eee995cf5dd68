/**
 * @module A tunnel's connection from accept to close on one object — a transparent TLS
 * listener's connection, or an explicit-port CONNECT — on two HandleConns
 * (src/net/handle-conn.ts), with callbacks instead of promises, listeners and timers. It does what
 * handleTransparentTls (src/proxy/transparent-tls.ts) and handleConnect
 * (src/proxy/explicit-proxy.ts) do on a ClientConnection, with the same checks, decision and close
 * lines, metrics and bounds, for less CPU per new connection: the proxy benchmark measured a relay
 * written this way, with aks-egress's checks and bookkeeping, at 0.86–0.90 × the CPU of those
 * paths on LiteSockets (docs/benchmarks.md, "A Node floor with aks-egress's checks"); this path
 * measured 0.91 × for CONNECT and 0.89 × for transparent TLS ("A connection path for tunnels").
 *
 * The phases:
 * - transparent TLS: the ClientHello (HELLO) is read and judged, the SNI decided; explicit: the
 *   request head (HEAD) is read and, for a CONNECT, its target decided;
 * - the name is resolved, every address classified, a checked one dialled (DIAL);
 * - explicit: the 200 is sent; to a TLS port the ClientHello inside the tunnel is read and its SNI
 *   must be the CONNECT host (INNER_HELLO);
 * - the decision line, then the relay (RELAY), the close line.
 *
 * - The handshake bound, each connect attempt's bound and the relay's idle bound are coarse
 *   sweeps (src/proxy/idle-sweep.ts): no timer per connection. A bound fires between its value and
 *   1/8 later; the handshake and dial bounds count from their start, whatever bytes come.
 * - Whatever is not an allowed, dialled tunnel — a denial, a failed dial, the handshake bound, a
 *   plain-HTTP request on the explicit port, a CONNECT without valid proxy credentials — goes on
 *   on the common path: the client's handle is handed to a LiteSocket and a ClientConnection
 *   (`#handOff`), which answers, forwards or denies as for any connection. Those cases' code is
 *   shared, not written twice.
 * - The relay keeps the semantics of src/proxy/tunnel.ts: bytes both ways with backpressure (a
 *   side stops reading while a write to its peer is pending), half-close carried both ways (a FIN
 *   ends the other side's writable half once what was before it is written), the idle bound,
 *   both sides closed when both directions are done or at the first error. Both sides are read
 *   into reused buffers (src/net/read-buffers.ts): no allocation per read of a download or an
 *   upload, and small reads (kept-alive requests) come from one shared buffer; the proxy benchmark
 *   measured 4% less CPU per kept-alive request (W2) when the client side joined the origin's.
 */
import { resolveChecked, resolveCheckedKnown, type CheckedAddresses, type DialOptions } from '../net/dial-checked.ts'
import { HandleConn, type HandleConnOwner } from '../net/handle-conn.ts'
import { LiteSocket, type TcpHandle } from '../net/lite-socket.ts'
import { makeFlow } from '../policy/flow.ts'
import { parseRawAddress } from '../net/classify-address.ts'
import { ClientConnection, dialFailure, recordClose, recordDecision, type DecisionSubject, type ProxyRuntime, type RelayingConnection } from './client-connection.ts'
import type { CloseEnd } from './connection-log.ts'
import { DecisionFields } from './decision-fields.ts'
import { CONNECT_ESTABLISHED, continueExplicit, judgeConnectHello } from './explicit-proxy.ts'
import { flowFor } from './flow-for.ts'
import { parseHttpHead, type HttpRequestHead } from './http-head.ts'
import { HEAD_CLIENT_CLOSED, headRefused, headTimeout } from './http-session.ts'
import { GatheredBytes } from './gathered-bytes.ts'
import { IdleEntry, idleSweep, type IdleSweep } from './idle-sweep.ts'
import { CLIENT_GONE_WHILE_CONNECTING, deny, failedAfter, verdictOf, type Verdict } from './outcome.ts'
import { isTlsPort, type PolicyState } from './policy-state.ts'
import { checkProxyAuth } from './proxy-auth.ts'
import { clientHelloStep, HELLO_CLIENT_CLOSED, helloTimeout, judgeClientHello } from './transparent-tls.ts'

/** What a tunnel needs from its server. */
export interface TunnelHost {
  readonly rt: ProxyRuntime
  /** The connection's client side closed: its slot is free (called once). */
  clientClosed(t: TunnelConnection): void
  /** A fault in a handler of the common path (after a hand-off): logged, the socket closed. */
  handlerFailed(conn: ClientConnection, e: unknown): void
}

/** Transparent TLS: the ClientHello. */
const HELLO = 0
/** Explicit: the request head. */
const HEAD = 1
const DIAL = 2
/** Explicit, to a TLS port: the ClientHello inside the tunnel, after the 200. */
const INNER_HELLO = 3
const RELAY = 4
const DONE = 5
const HANDED_OFF = 6
type Phase = typeof HELLO | typeof HEAD | typeof DIAL | typeof INNER_HELLO | typeof RELAY | typeof DONE | typeof HANDED_OFF



function ignoreError(): void {
  // A handed-off socket's errors are seen by its ClientConnection as its close.
}

export class TunnelConnection extends IdleEntry implements HandleConnOwner, RelayingConnection, DecisionSubject {
  readonly id: number
  readonly listener: string
  readonly explicit: boolean
  readonly srcIp: string
  readonly srcPort: number
  readonly fields = new DecisionFields()
  readonly #host: TunnelHost
  /** Transparent: the original port (the flow's destination port); explicit: the CONNECT's port once read. */
  #port: number
  readonly #client: HandleConn
  #origin: HandleConn | undefined
  #phase: Phase
  readonly #startNs = process.hrtime.bigint()
  #state: PolicyState
  /** The sweep the connection is in now (handshake, connect attempt or idle bound). */
  #sweep: IdleSweep | undefined
  /** The client's bytes not yet sent on: the request head, the ClientHello, whatever came before the relay. */
  readonly #first = new GatheredBytes()
  /** Bytes of `#bytes` a parser has seen already (the head parser resumes there). */
  #scanned = 0
  #verdict: Verdict | undefined
  /** The decision's code (a CONNECT's inner ClientHello is judged by it). */
  #decisionCode = ''
  /** The name (or address) to dial. */
  #name = ''
  /** Explicit: the CONNECT is to a TLS port (its ClientHello is read after the 200). */
  #tls = false
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

  /**
   * `handle`: an accepted connection, not reading yet. `originalPort`: a transparent TLS
   * listener's original port; undefined for the explicit port.
   */
  constructor(id: number, handle: TcpHandle, srcIp: string, srcPort: number, listener: string, originalPort: number | undefined, host: TunnelHost) {
    super()
    this.id = id
    this.srcIp = srcIp
    this.srcPort = srcPort
    this.listener = listener
    this.explicit = originalPort === undefined
    this.#port = originalPort ?? 0
    this.#phase = originalPort === undefined ? HEAD : HELLO
    this.#host = host
    this.#state = host.rt.policy()
    this.#client = new HandleConn(handle, this)
  }

  /** Starts reading the ClientHello or the request head, under the handshake bound. */
  start(): void {
    if (!this.explicit) {
      const f = this.fields
      f.protocol = 'https'
      f.port = this.#port
    }
    this.#enter(idleSweep(this.#host.rt.limits.handshakeTimeoutMs))
    this.#client.readStart()
  }

  /** Moves the connection into `sweep` (out of the one it was in); its bound counts from now. */
  #enter(sweep: IdleSweep | undefined): void {
    this.#sweep?.remove(this)
    this.#sweep = sweep
    sweep?.add(this)
  }

  #ms(from: bigint): number {
    return Number(process.hrtime.bigint() - from) / 1e6
  }

  // ---- The client's first bytes ----

  /** Transparent TLS: a piece of the ClientHello. */
  #helloRead(): void {
    const limits = this.#host.rt.limits
    const r = clientHelloStep(limits.maxClientHelloBytes, this.#first.bytes)
    if (r === undefined) return
    this.#enter(undefined)
    this.fields.handshakeMs = this.#ms(this.#startNs)
    // Decided under the policy in force now, not the one of the accept (docs/serve.md).
    this.#state = this.#host.rt.policy()
    const name = judgeClientHello(r, this.#port, limits, this.fields)
    if (typeof name !== 'string') {
      this.#deny(name.verdict, name.alert)
      return
    }
    const decision = this.#state.engine.decide(makeFlow({ protocol: 'https', sni: name, destinationPort: this.#port, sourceIp: this.srcIp }))
    this.#decided(verdictOf(decision), decision.code, name)
  }

  /** Explicit: a piece of the request head. */
  #headRead(): void {
    const rt = this.#host.rt
    const limits = rt.limits
    const r = parseHttpHead(this.#first.bytes, limits.maxHeaderBytes, this.#scanned)
    this.#scanned = this.#first.bytes.length
    if (r.kind === 'needMore') return
    this.#enter(undefined)
    const f = this.fields
    f.request = 1
    f.handshakeMs = this.#ms(this.#startNs)
    this.#state = rt.policy()
    if (r.kind === 'tooLarge' || r.kind === 'malformed') {
      const refused = headRefused(r, limits)
      this.#handOff((conn) => {
        conn.denyHttp(refused.verdict, refused.status)
      })
      return
    }
    const head = r.head
    const rest = this.#first.bytes.subarray(head.headBytes)
    const auth = rt.auth()
    // Forwarded requests (and keep-alive) are served on the common path; so is a CONNECT without
    // valid credentials when proxy authentication is on, which gets its 407 there.
    if (head.method !== 'CONNECT' || (auth !== undefined && checkProxyAuth(auth, head.proxyAuthorization) !== 'ok')) {
      this.#continue(head, rest)
      return
    }
    const target = head.targetAuthority!
    const port = target.port!
    this.#port = port
    const state = this.#state
    const isIp = parseRawAddress(target.host) !== undefined
    const tls = !isIp && isTlsPort(state, port)
    this.#tls = tls
    f.protocol = tls ? 'https' : 'tcp'
    f.host = target.host
    f.port = port
    const planned = flowFor(this, target.host, port, tls ? 'https' : 'tcp', isIp)
    if (!planned) {
      this.#deny(deny('INVALID_HOST', `CONNECT host "${target.host}" is not a valid host name`))
      return
    }
    // The bytes after the head (a ClientHello sent early) stay, for the replay.
    this.#first.reset(rest)
    const decision = state.engine.decide(planned.flow)
    this.#decided(verdictOf(decision), decision.code, planned.dialHost)
  }

  #decided(verdict: Verdict, code: string, name: string): void {
    if (verdict.action === 'deny') {
      this.#deny(verdict)
      return
    }
    this.#verdict = verdict
    this.#decisionCode = code
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
    const known = resolveCheckedKnown(this.#name, this.#port, options)
    if (known !== undefined) {
      this.#resolved(known)
      return
    }
    resolveChecked(this.#name, this.#port, options).then(
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
      this.#deny(failedAfter(this.#verdict!, dialFailure(rt, checked)))
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
      const detail = `cannot connect to ${this.#name}:${this.#port} (${(this.#errors ?? []).join('; ')})`
      const failure = dialFailure(rt, { ok: false, failure: 'DIAL_FAILED', detail, refused: checked.refused, dnsMs: checked.dnsMs, connectMs })
      this.#deny(failedAfter(this.#verdict!, failure))
      return
    }
    const address = checked.allowed[this.#tried++]!
    this.#origin = HandleConn.connect(address, this.#port, this)
    this.#enter(idleSweep(rt.limits.dialTimeoutMs))
  }

  /** A connect attempt failed (or timed out): the next address. */
  #attemptFailed(code: string): void {
    this.#origin?.close()
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
    f.upstreamPort = this.#port
    this.#checked = undefined
    this.#errors = undefined
    if (!this.explicit) {
      this.#allowed()
      return
    }
    const client = this.#client
    client.write(CONNECT_ESTABLISHED)
    if (client.closed) return
    if (!this.#tls) {
      this.#allowed()
      return
    }
    // The ClientHello inside the tunnel, under the handshake bound (from the 200 on).
    this.#phase = INNER_HELLO
    this.#enter(idleSweep(rt.limits.handshakeTimeoutMs))
    // The bytes after the head and those read while dialling may hold it whole already.
    if (this.#first.bytes.length > 0 && this.#innerHelloRead()) return
    if (client.eof) this.#innerHelloEnded('closed')
    else client.readStart()
  }

  /** Explicit, to a TLS port: a piece of the ClientHello after the 200; true once it is judged. */
  #innerHelloRead(): boolean {
    const r = clientHelloStep(this.#host.rt.limits.maxClientHelloBytes, this.#first.bytes)
    if (r === undefined) return false
    this.#innerHelloEnded(r)
    return true
  }

  #innerHelloEnded(hello: Parameters<typeof judgeConnectHello>[0]): void {
    this.#enter(undefined)
    this.fields.handshakeMs = this.#ms(this.#startNs)
    const judged = judgeConnectHello(hello, this.#name, this.#port, this.#decisionCode, this.#verdict!, this.#state.reportMode, this.#host.rt.limits, this.fields)
    if ('alert' in judged) {
      this.#origin?.close()
      this.#origin = undefined
      // The client gone (or half-closed with no ClientHello): nothing to answer, closed.
      if (hello === 'closed') this.#clientGone(judged.verdict)
      else this.#handOff((conn) => {
        conn.denyTls(judged.verdict, judged.alert)
      })
      return
    }
    this.#verdict = judged
    this.#allowed()
  }

  /** The tunnel may go on: the decision line, then the relay. */
  #allowed(): void {
    recordDecision(this.#host.rt, this, this.fields, this.#verdict!, true)
    this.#startRelay(this.#origin!)
  }

  // ---- The relay ----

  #startRelay(origin: HandleConn): void {
    const rt = this.#host.rt
    const client = this.#client
    this.#phase = RELAY
    rt.metrics.tunnelOpened()
    rt.relaying.add(this)
    this.#enter(idleSweep(rt.limits.idleTimeoutMs))
    // From here on no chunk is kept past its write: reads may go into reused buffers.
    origin.readIntoReusedBuffers()
    client.readIntoReusedBuffers()
    // The peeked bytes, untouched (ALPN included); not kept for the tunnel's life.
    const first = this.#first.bytes
    this.#first.reset()
    const flushed = origin.write(first)
    if (origin.closed) return
    if (client.eof) {
      // The client half-closed before the relay: its FIN follows its bytes.
      if (flushed) origin.shutdown()
    } else if (flushed) client.readStart()
    else client.readStop()
    origin.readStart()
  }

  connRead(conn: HandleConn, chunk: Buffer): void {
    const client = this.#client
    if (conn !== client) {
      if (this.#phase !== RELAY) return
      this.active = true
      // A borrowed chunk must not be overwritten by the origin's next read before it is sent.
      if (!client.write(chunk) && !client.closed) conn.readStop()
      return
    }
    switch (this.#phase) {
      case RELAY: {
        this.active = true
        const origin = this.#origin!
        if (!origin.write(chunk) && !origin.closed) client.readStop()
        return
      }
      case HELLO:
      case HEAD:
      case INNER_HELLO:
        this.#first.append(chunk, true)
        try {
          if (this.#phase === HELLO) this.#helloRead()
          else if (this.#phase === HEAD) this.#headRead()
          else this.#innerHelloRead()
        } catch (e) {
          // Called from a read: a throw would reach the process. One connection fails, not the proxy.
          this.#fault(e)
        }
        return
      case DIAL:
        // Bytes before the origin answers: kept for the replay, and no more read until then.
        this.#first.append(chunk, true)
        client.readStop()
        return
      default:
        return
    }
  }

  connDrained(conn: HandleConn): void {
    if (this.#phase !== RELAY) return
    this.active = true
    const client = this.#client
    const origin = this.#origin!
    if (conn === origin) {
      if (client.eof) this.#endWrites(origin)
      else client.readStart()
    } else if (origin.eof) this.#endWrites(client)
    else origin.readStart()
  }

  connEof(conn: HandleConn): void {
    // DIAL: a half-close after the first bytes, carried to the origin once the relay starts.
    if (this.#phase === DIAL) return
    if (this.#phase !== RELAY) {
      this.#clientGoneBeforeRelay()
      return
    }
    const to = conn === this.#client ? this.#origin! : this.#client
    if (to.pendingBytes === 0) this.#endWrites(to)
  }

  /**
   * Every byte for `side` is in the kernel and its peer's FIN was read: a FIN to `side`. When
   * `side`'s own FIN was read too and nothing waits to be written to its peer, both directions are
   * done: both close at once. close(2) sends the FIN after the queued bytes just as shutdown(2)
   * does (nothing is unread, so no RST), and the shutdown, its completion and a turn of the loop
   * are saved (as LiteSocket does, src/net/lite-socket.ts).
   */
  #endWrites(side: HandleConn): void {
    const peer = side === this.#client ? this.#origin! : this.#client
    if (side.eof && peer.pendingBytes === 0) this.#closeBoth('closed')
    else side.shutdown()
  }

  connFinished(): void {
    const client = this.#client
    const origin = this.#origin
    // Both directions done: each side's FIN read and passed on.
    if (this.#phase === RELAY && origin && client.eof && origin.finished && origin.eof && client.finished) this.#closeBoth('closed')
  }

  connFailed(conn: HandleConn): void {
    if (this.#phase === RELAY || (this.#phase === INNER_HELLO && conn !== this.#client)) this.#closeBoth('error')
    else if (this.#phase === DIAL && conn !== this.#client) this.#attemptFailed('EIO')
    else this.#clientGoneBeforeRelay()
  }

  /**
   * The client went away (its FIN or a failure before a complete handshake, or a stop) before the
   * relay: decided as such and closed. Nothing in the other phases.
   */
  #clientGoneBeforeRelay(): void {
    switch (this.#phase) {
      case HELLO:
        this.#clientGone(HELLO_CLIENT_CLOSED)
        return
      case HEAD:
        this.fields.request = 1
        this.#clientGone(HEAD_CLIENT_CLOSED)
        return
      case DIAL:
        this.#clientGone(failedAfter(this.#verdict!, CLIENT_GONE_WHILE_CONNECTING))
        return
      case INNER_HELLO:
        this.#innerHelloEnded('closed')
        return
      default:
        return
    }
  }

  /** The bound of the phase passed: the handshake's, a connect attempt's, or the relay's idle bound. */
  onIdle(): void {
    this.#sweep = undefined
    const limits = this.#host.rt.limits
    switch (this.#phase) {
      case HELLO: {
        const t = helloTimeout(limits)
        this.#deny(t.verdict, t.alert)
        return
      }
      case HEAD:
        this.fields.request = 1
        this.#deny(headTimeout(limits))
        return
      case INNER_HELLO:
        this.#innerHelloEnded('timeout')
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

  /** A fault in this code (never expected): logged, and the connection closed. */
  #fault(e: unknown): void {
    this.#host.rt.log.logger.error({ event: 'handler-error', conn: this.id, error: e instanceof Error ? (e.stack ?? e.message) : String(e) }, 'handler error')
    if (this.#phase === HANDED_OFF) {
      this.#handedOff?.destroyNow()
      return
    }
    this.#client.close()
    this.#origin?.close()
    this.#done()
  }

  /** Denied before the relay: an HTTP status on the explicit port, a TLS alert (or not) on a transparent one. */
  #deny(verdict: Verdict, alert = true): void {
    if (this.explicit) {
      this.#handOff((conn) => {
        conn.denyHttp(verdict)
      })
    } else {
      this.#handOff((conn) => {
        conn.denyTls(verdict, alert)
      })
    }
  }

  /** A request the common path serves: forwarded requests and what follows them, CONNECTs without valid proxy credentials. */
  #continue(head: HttpRequestHead, rest: Buffer): void {
    this.#handOff((conn) => {
      conn.requests = 1
      continueExplicit(conn, head, rest).catch((e: unknown) => {
        this.#host.handlerFailed(conn, e)
      })
    })
  }

  /**
   * Goes on on the common path: the client's handle becomes a LiteSocket with a ClientConnection
   * (the fields, start and policy so far), which `then` uses.
   */
  #handOff(then: (conn: ClientConnection) => void): void {
    this.#enter(undefined)
    this.#origin?.close()
    this.#origin = undefined
    this.#first.reset()
    this.#phase = HANDED_OFF
    const socket = new LiteSocket(this.#client.release())
    socket.remoteAddress = this.srcIp
    socket.remotePort = this.srcPort
    socket.on('error', ignoreError)
    const conn = new ClientConnection(this.id, socket, this.listener, this.explicit, this.#host.rt, {
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
    then(conn)
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
    if (this.#phase === RELAY) this.#closeBoth('closed')
    else if (this.#phase === HANDED_OFF) this.#handedOff?.destroyNow()
    else this.#clientGoneBeforeRelay()
  }
}

