/**
 * @module One client connection from accept to close: its identity (source, listener), the
 * policy state of its current request, its decision lines (one per connection for tunnels, one per
 * request for plain HTTP on a kept-alive connection) and its close line, the checked dial (with
 * the origin pool for plain HTTP), and the relay. The listeners' handlers (explicit-proxy.ts,
 * transparent-*.ts) hold the protocol logic; this holds what they share.
 */
import type { SocketLayer, StreamSocket } from '../net/stream-socket.ts'
import { connectChecked, resolveChecked, resolveCheckedKnown, type DialCancel, type DialOptions, type DialResult } from '../net/dial-checked.ts'
import type { ListenAddress } from '../net/classify-address.ts'
import type { NameResolver } from '../net/resolve.ts'
import type { CloseEnd, ConnectionLog } from './connection-log.ts'
import { DecisionFields } from './decision-fields.ts'
import { httpDenyResponse, TLS_ALERT_ACCESS_DENIED } from './deny-response.ts'
import { CLIENT_GONE_WHILE_CONNECTING, deny, type Verdict } from './outcome.ts'
import type { PolicyState } from './policy-state.ts'
import { poolKey, type OriginPool } from './origin-pool.ts'
import type { ProxyAuth } from './proxy-auth.ts'
import type { ProxyMetrics } from './proxy-metrics.ts'
import type { ServeLimits } from './serve-defaults.ts'
import { relay, type RelayResult } from './tunnel.ts'

/** What the handlers need from the server. */
export interface ProxyRuntime {
  readonly limits: ServeLimits
  readonly log: ConnectionLog
  readonly metrics: ProxyMetrics
  readonly resolver: NameResolver
  /** Basic authentication of the explicit proxy, in force now (`serve` re-reads its file on SIGHUP). */
  auth(): ProxyAuth | undefined
  /** The policy in force now. */
  policy(): PolicyState
  /** The proxy's own listening addresses (classified `self`). */
  listening(): readonly ListenAddress[]
  readonly localAddresses: readonly string[]
  /** Idle origin connections of plain-HTTP forwarding. */
  readonly pool: OriginPool
  /** True once the server stops: kept-alive connections close after their current response. */
  draining(): boolean
  /** True once a stop closes the connections still open at its drain bound (their close lines say `stop`). */
  forcedStop(): boolean
  /**
   * HTTP client connections with nothing in flight: waiting for their next request, or ended
   * after a last response or a denial (closed once flushed when the server stops).
   */
  readonly idleClients: Set<StreamSocket>
  /**
   * Connections relaying a tunnel now, from its start to its end: a tunnel may outlive its client's
   * socket (the origin still being written to), and a stop and the bytes metric must still find it.
   */
  readonly relaying: Set<RelayingConnection>
  /** The sockets of the data plane (origin dials use the same layer as the listeners). */
  socketLayer(): SocketLayer
}

/** A connection relaying a tunnel: what a stop and a scrape need of it (ClientConnection, TunnelConnection). */
export interface RelayingConnection {
  /** Hands the bytes relayed since the last scrape to the metrics. */
  liveBytesToMetrics(): void
  /** Closes the connection and its origin at once. */
  destroyNow(): void
}

/** Who a decision line is about: the connection's identity. */
export interface DecisionSubject {
  readonly id: number
  readonly listener: string
  readonly explicit: boolean
  readonly srcIp: string
  readonly srcPort: number
}

/**
 * Logs and counts a verdict: the decision line (at the info level) and the decisions metric;
 * `firstRequest`: the handshake's latency is observed too (once per connection).
 */
export function recordDecision(rt: ProxyRuntime, who: DecisionSubject, fields: DecisionFields, verdict: Verdict, firstRequest: boolean): void {
  if (rt.log.logger.isLevelEnabled('info')) rt.log.decision({
    conn: who.id,
    listener: who.listener,
    explicit: who.explicit,
    srcIp: who.srcIp,
    srcPort: who.srcPort,
    ...fields.record(),
    action: verdict.action,
    rule: verdict.rule,
    code: verdict.code,
    reason: verdict.reason,
    wouldDeny: verdict.wouldDeny,
  })
  rt.metrics.decided(who.listener, verdict.action, verdict.code, verdict.rule)
  if (fields.handshakeMs !== undefined && firstRequest) rt.metrics.handshakeSeconds.observe(fields.handshakeMs / 1000, who.listener)
}

/** Logs a connection's close line (at the info level); a stop at its drain bound says `stop`. */
export function recordClose(rt: ProxyRuntime, id: number, bytesUp: number, bytesDown: number, startNs: bigint, end: CloseEnd, requests: number): void {
  if (!rt.log.logger.isLevelEnabled('info')) return
  const durationMs = Number(process.hrtime.bigint() - startNs) / 1e6
  rt.log.close({ conn: id, bytesUp, bytesDown, durationMs, end: rt.forcedStop() ? 'stop' : end, ...(requests > 0 ? { requests } : {}) })
}

/** The verdict of a dial that failed, counted (a connect that was tried is a failed dial's latency). */
export function dialFailure(rt: ProxyRuntime, result: Extract<DialResult, { ok: false }>): Verdict {
  if (result.failure !== 'DNS_FAILED' && result.failure !== 'DESTINATION_FORBIDDEN') rt.metrics.dialSeconds.observe(result.connectMs / 1000, 'failed')
  switch (result.failure) {
    case 'DNS_FAILED':
      return deny('DNS_FAILED', result.detail)
    case 'DESTINATION_FORBIDDEN':
      return deny('DESTINATION_FORBIDDEN', result.detail)
    case 'DIAL_FAILED':
      return deny('DIAL_FAILED', result.detail)
    case 'ABORTED':
      return CLIENT_GONE_WHILE_CONNECTING
  }
}

/** A connection taken over from another path (src/proxy/tunnel-connection.ts, for a denial or a request it does not serve): its start, fields and policy so far. */
export interface Adopted {
  readonly startNs: bigint
  readonly fields: DecisionFields
  readonly state: PolicyState
  readonly srcIp: string
  readonly srcPort: number
}

/** Ends `s` (if not yet) and destroys it once what was written to it is sent. */
export function closeWhenFlushed(s: StreamSocket): void {
  if (!s.writableEnded) s.end()
  if (s.writableFinished) s.destroy()
  else s.once('finish', () => s.destroy())
}

/** Tells a dial in progress that the client went away (a DialCancel without AbortController's cost). */
class ClientGone implements DialCancel {
  aborted = false
  #listeners: (() => void)[] = []
  addEventListener(_type: 'abort', listener: () => void): void {
    this.#listeners.push(listener)
  }
  removeEventListener(_type: 'abort', listener: () => void): void {
    const i = this.#listeners.indexOf(listener)
    if (i !== -1) this.#listeners.splice(i, 1)
  }
  abort(): void {
    if (this.aborted) return
    this.aborted = true
    const listeners = this.#listeners
    this.#listeners = []
    for (const l of listeners) l()
  }
}

/** A checked origin connection for a plain-HTTP request: new, or from the pool. */
export interface HttpOrigin {
  readonly socket: StreamSocket
  readonly key: string
  readonly reused: boolean
}

export class ClientConnection implements RelayingConnection, DecisionSubject {
  readonly id: number
  readonly socket: StreamSocket
  readonly listener: string
  readonly explicit: boolean
  readonly srcIp: string
  readonly srcPort: number
  /** The policy of the current request: the one in force when its head was read (`adoptCurrentPolicy`). */
  state: PolicyState
  readonly rt: ProxyRuntime
  readonly #startNs: bigint
  /** Aborts the dial in progress when the client goes away; only while dialling. */
  #dialAbort: ClientGone | undefined
  #decided = false
  /** Request heads read on this connection (plain HTTP keep-alive: several). */
  requests = 0
  #bytesUp = 0
  #bytesDown = 0
  #relayedAny = false
  /** Plain-HTTP requests forwarded to an origin on this connection (the close line's `requests`). */
  #forwardedRequests = 0
  #relaying = false
  /** The origin of the tunnel relaying now. */
  #origin: StreamSocket | undefined
  /** Of the tunnel relaying now: the bytes each way a scrape has counted already. */
  #scrapedUp = 0
  #scrapedDown = 0
  #closeLogged = false
  /** Why the connection ended, for its close line (`stop` is the server's to say). */
  #end: CloseEnd = 'closed'
  /** The decision line's fields, set in place by the handlers. */
  readonly fields: DecisionFields

  constructor(id: number, socket: StreamSocket, listener: string, explicit: boolean, rt: ProxyRuntime, adopted?: Adopted) {
    this.id = id
    this.socket = socket
    this.listener = listener
    this.explicit = explicit
    this.rt = rt
    this.#startNs = adopted?.startNs ?? process.hrtime.bigint()
    this.fields = adopted?.fields ?? new DecisionFields()
    this.srcIp = adopted?.srcIp ?? socket.remoteAddress ?? ''
    this.srcPort = adopted?.srcPort ?? socket.remotePort ?? 0
    this.state = adopted?.state ?? rt.policy()
  }

  /**
   * The client socket closed: a dial in progress gives up. Called by the server's one 'close'
   * listener per accepted socket (a listener here too was a second closure and once-wrapper per
   * connection).
   */
  clientClosed(): void {
    this.#dialAbort?.abort()
    // Plain HTTP: the close line is written when the client connection is gone (a tunnel writes its own when both sides are).
    if (this.#relayedAny && !this.#relaying) this.#logClose()
  }

  elapsedMs(): number {
    return Number(process.hrtime.bigint() - this.#startNs) / 1e6
  }

  /** Records the end of the handshake (the request head; for a CONNECT to a TLS port, the ClientHello after it). */
  handshakeDone(): void {
    this.fields.handshakeMs = this.elapsedMs()
  }

  /**
   * Starts the next request on a kept-alive connection, with a decision line of its own (its
   * policy is taken when its head is read: `adoptCurrentPolicy`).
   */
  nextRequest(): void {
    this.#decided = false
    this.fields.reset()
  }

  /**
   * The request head (or, on a transparent TLS listener, the ClientHello) has been read: the
   * request is decided under the policy in force now. Not the one of the accept, nor the one of
   * the end of the previous response: a reload applies from the next request on (docs/serve.md),
   * and a client that opened its connection, or kept it idle, before the reload must not be
   * decided by the policy the reload replaced.
   */
  adoptCurrentPolicy(): void {
    this.state = this.rt.policy()
  }

  /** Logs and counts the verdict of the connection (a tunnel) or of its current request (plain HTTP); once each. */
  decide(verdict: Verdict): void {
    if (this.#decided) return
    this.#decided = true
    recordDecision(this.rt, this, this.fields, verdict, this.requests <= 1)
  }

  /** Denies with an HTTP response and closes. */
  denyHttp(verdict: Verdict, status?: number, extraHeaders?: readonly string[]): void {
    this.decide(verdict)
    if (!this.socket.destroyed) {
      this.socket.end(httpDenyResponse(verdict, status, extraHeaders))
      this.#closeSoon()
    }
  }

  /** Denies with a TLS access_denied alert (or nothing, for non-TLS bytes) and closes. */
  denyTls(verdict: Verdict, alert = true): void {
    this.decide(verdict)
    if (!this.socket.destroyed) {
      if (alert) this.socket.end(TLS_ALERT_ACCESS_DENIED)
      else this.socket.end()
      this.#closeSoon()
    }
  }

  /**
   * After a denial or a last response, the socket was ended: the client may not read or close, so
   * it is destroyed after a short bound; meanwhile it counts as idle (nothing in flight), which
   * `stop()` closes as soon as what was written is sent, without waiting for the drain bound.
   */
  #closeSoon(): void {
    const s = this.socket
    s.resume() // discard whatever else it sends
    s.setTimeout(Math.min(5000, this.rt.limits.handshakeTimeoutMs), () => s.destroy())
    if (this.rt.draining()) {
      closeWhenFlushed(s)
      return
    }
    const idle = this.rt.idleClients
    if (idle.has(s)) return
    idle.add(s)
    s.once('close', () => idle.delete(s))
  }

  #dialOptions(abort: DialCancel): DialOptions {
    const rt = this.rt
    return {
      resolver: rt.resolver,
      classify: { allowed: this.state.allowedRanges, listening: rt.listening(), localAddresses: rt.localAddresses },
      dialTimeoutMs: rt.limits.dialTimeoutMs,
      maxAttempts: rt.limits.maxDialAttempts,
      signal: abort,
      socketLayer: rt.socketLayer(),
    }
  }

  #failed(result: Extract<DialResult, { ok: false }>): { ok: false; verdict: Verdict } {
    return { ok: false, verdict: dialFailure(this.rt, result) }
  }

  /**
   * Resolves and classifies under the current request's policy, then connects; with `authority`
   * (plain HTTP), first looks for an idle pooled connection to one of the checked addresses with
   * that Host. `fresh`: skip the pool (a retry after a reused connection failed).
   */
  dial(host: string, port: number): Promise<{ ok: true; result: Extract<DialResult, { ok: true }> } | { ok: false; verdict: Verdict }> {
    // #dial's own promise (its `reused` is false here): no second async frame and result object per dial.
    return this.#dial(host, port, undefined, true)
  }

  async dialHttp(host: string, port: number, authority: string, fresh = false): Promise<{ ok: true; origin: HttpOrigin } | { ok: false; verdict: Verdict }> {
    const r = await this.#dial(host, port, authority, fresh)
    if (!r.ok) return r
    return { ok: true, origin: { socket: r.result.socket, key: poolKey(r.result.address, port, authority), reused: r.reused } }
  }

  async #dial(
    host: string,
    port: number,
    authority: string | undefined,
    fresh: boolean,
  ): Promise<{ ok: true; result: Extract<DialResult, { ok: true }>; reused: boolean } | { ok: false; verdict: Verdict }> {
    const rt = this.rt
    const abort = new ClientGone()
    if (this.socket.closed) abort.abort()
    this.#dialAbort = abort
    let result: DialResult
    let reused = false
    try {
      const options = this.#dialOptions(abort)
      // A name from --hosts or the cache (the usual case) is checked without a promise.
      const checked = resolveCheckedKnown(host, port, options) ?? (await resolveChecked(host, port, options))
      rt.metrics.dnsSeconds.observe(checked.dnsMs / 1000)
      for (const r of checked.refused) rt.metrics.refusedAddresses.inc({ class: r.cls })
      if (!checked.ok) {
        // No connect was tried (the name did not resolve, or no address may be dialled): no connectMs.
        this.fields.dnsMs = checked.dnsMs
        return this.#failed(checked)
      }
      // Plain HTTP: an idle connection to one of the addresses checked just now, for this Host.
      if (authority !== undefined && !fresh && rt.pool.enabled) {
        for (const address of checked.allowed.slice(0, Math.max(1, rt.limits.maxDialAttempts))) {
          const socket = rt.pool.take(poolKey(address, port, authority))
          if (socket) {
            rt.metrics.poolHit()
            reused = true
            const f = this.fields
            f.dnsMs = checked.dnsMs
            f.connectMs = 0
            f.upstreamAddress = address
            f.upstreamPort = port
            f.reused = true
            return { ok: true, result: { ok: true, socket, address, refused: checked.refused, dnsMs: checked.dnsMs, connectMs: 0 }, reused }
          }
        }
      }
      if (authority !== undefined) rt.metrics.poolMiss()
      result = await connectChecked(host, port, checked, options)
    } finally {
      this.#dialAbort = undefined
    }
    const f = this.fields
    f.dnsMs = result.dnsMs
    f.connectMs = result.connectMs
    if (authority !== undefined) f.reused = false
    if (result.ok) {
      rt.metrics.dialSeconds.observe(result.connectMs / 1000, 'ok')
      f.upstreamAddress = result.address
      f.upstreamPort = port
      return { ok: true, result, reused }
    }
    return this.#failed(result)
  }

  /**
   * Adds what was relayed (a tunnel's bytes, or one forwarded request's) to the connection's
   * totals for its close line, and to the metrics. `request`: a plain-HTTP request was served.
   */
  forwarded(bytesUp: number, bytesDown: number, request: boolean): void {
    if (!this.#relayedAny) {
      this.#relayedAny = true
      // The close line is written by clientClosed() when the client connection is gone; it may be gone already.
      if (this.socket.closed) queueMicrotask(() => {
        this.#logClose()
      })
    }
    if (request) this.#forwardedRequests++
    this.#bytesUp += bytesUp
    this.#bytesDown += bytesDown
    // What a scrape counted already while the tunnel was open (liveBytesToMetrics) is not counted twice.
    this.rt.metrics.relayedBytes(Math.max(0, bytesUp - this.#scrapedUp), Math.max(0, bytesDown - this.#scrapedDown))
    this.#scrapedUp = 0
    this.#scrapedDown = 0
  }

  /**
   * At a scrape: hands the bytes the open tunnel relayed since the last scrape to the metrics, so
   * that `aks_egress_relayed_bytes_total` moves while a long tunnel (konnectivity, an image pull)
   * is open, not in one step at its close.
   */
  liveBytesToMetrics(): void {
    const origin = this.#origin
    if (!origin) return
    // Bytes handed to the kernel: net.Socket's bytesWritten also counts its queue, which a destroy
    // drops (it would go down, and the counter with it).
    const up = Math.max(this.#scrapedUp, origin.bytesWritten - origin.writableLength)
    const down = Math.max(this.#scrapedDown, origin.bytesRead)
    this.rt.metrics.relayedBytes(up - this.#scrapedUp, down - this.#scrapedDown)
    this.#scrapedUp = up
    this.#scrapedDown = down
  }

  /** Closes the connection at once, and its tunnel's origin (a stop at its drain bound). */
  destroyNow(): void {
    this.socket.destroy()
    this.#origin?.destroy()
  }

  /** Records why a plain-HTTP connection ends, for its close line (a tunnel's comes from its relay). */
  endedBy(end: 'idle' | 'error'): void {
    this.#end = end
  }

  /**
   * Ends a plain-HTTP client connection once what was written to it is sent (destroyed after a
   * short bound if the client does not close).
   */
  endHttp(): void {
    const s = this.socket
    if (s.destroyed) return
    if (!s.writableEnded) s.end()
    this.#closeSoon()
  }

  #logClose(): void {
    if (this.#closeLogged || !this.#relayedAny) return
    this.#closeLogged = true
    recordClose(this.rt, this.id, this.#bytesUp, this.#bytesDown, this.#startNs, this.#end, this.#forwardedRequests)
  }

  /** Relays between the client and `origin` until both are done, then logs the close line. */
  relay(origin: StreamSocket, firstBytes: Uint8Array | undefined): Promise<void> {
    const rt = this.rt
    rt.metrics.tunnelOpened()
    this.#relaying = true
    this.#origin = origin
    rt.relaying.add(this)
    // Not an async function: no frame (holding the first bytes) stays alive for the tunnel's life.
    return relay(this.socket, origin, {
      idleTimeoutMs: rt.limits.idleTimeoutMs,
      ...(firstBytes ? { firstBytes } : {}),
    }).then((result) => {
      this.#relayed(result)
    })
  }

  #relayed(result: RelayResult): void {
    this.#relaying = false
    this.#origin = undefined
    this.rt.relaying.delete(this)
    this.#end = result.end
    this.rt.metrics.tunnelClosed()
    this.forwarded(result.bytesUp, result.bytesDown, false)
    this.#logClose()
  }
}
