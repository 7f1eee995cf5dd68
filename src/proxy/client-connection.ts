/**
 * @module One client connection from accept to close: its identity (source, listener), the
 * policy state it was accepted under, its single decision line and its close line, the checked
 * dial, and the relay. The listeners' handlers (explicit-proxy.ts, transparent-*.ts) hold the
 * protocol logic; this holds what they share.
 */
import type { Socket } from 'node:net'
import type { Transform } from 'node:stream'
import { dialChecked, type DialCancel, type DialResult } from '../net/dial-checked.ts'
import type { ListenAddress } from '../net/classify-address.ts'
import type { NameResolver } from '../net/resolve.ts'
import { formatHostPort } from './authority.ts'
import type { ConnectionLog, DecisionRecord } from './connection-log.ts'
import { httpDenyResponse, TLS_ALERT_ACCESS_DENIED } from './deny-response.ts'
import { deny, type Verdict } from './outcome.ts'
import type { PolicyState } from './policy-state.ts'
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
  readonly auth: ProxyAuth | undefined
  /** The policy in force now. */
  policy(): PolicyState
  /** The proxy's own listening addresses (classified `self`). */
  listening(): readonly ListenAddress[]
  readonly localAddresses: readonly string[]
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

type RecordFields = Omit<DecisionRecord, 'conn' | 'listener' | 'explicit' | 'srcIp' | 'srcPort' | 'action' | 'rule' | 'code' | 'reason' | 'wouldDeny'>

export class ClientConnection {
  readonly id: number
  readonly socket: Socket
  readonly listener: string
  readonly explicit: boolean
  readonly srcIp: string
  readonly srcPort: number
  readonly state: PolicyState
  readonly rt: ProxyRuntime
  readonly #startNs = process.hrtime.bigint()
  /** Aborts the dial in progress when the client goes away; only while dialling. */
  #dialAbort: ClientGone | undefined
  #decided = false
  fields: RecordFields = { protocol: 'unknown', host: null, port: null }

  constructor(id: number, socket: Socket, listener: string, explicit: boolean, rt: ProxyRuntime) {
    this.id = id
    this.socket = socket
    this.listener = listener
    this.explicit = explicit
    this.srcIp = socket.remoteAddress ?? ''
    this.srcPort = socket.remotePort ?? 0
    this.rt = rt
    this.state = rt.policy()
    socket.once('close', () => {
      this.#dialAbort?.abort()
    })
  }

  elapsedMs(): number {
    return Number(process.hrtime.bigint() - this.#startNs) / 1e6
  }

  /** Records the end of the handshake (the request head; for a CONNECT to a TLS port, the ClientHello after it). */
  handshakeDone(): void {
    this.fields = { ...this.fields, handshakeMs: this.elapsedMs() }
  }

  /** Logs and counts the connection's verdict; once per connection. */
  decide(verdict: Verdict): void {
    if (this.#decided) return
    this.#decided = true
    if (this.rt.log.logger.isLevelEnabled('info')) this.rt.log.decision({
      conn: this.id,
      listener: this.listener,
      explicit: this.explicit,
      srcIp: this.srcIp,
      srcPort: this.srcPort,
      ...this.fields,
      action: verdict.action,
      rule: verdict.rule,
      code: verdict.code,
      reason: verdict.reason,
      wouldDeny: verdict.wouldDeny,
    })
    this.rt.metrics.decisions.inc({ listener: this.listener, action: verdict.action, code: verdict.code, rule: verdict.rule ?? '' })
    if (this.fields.handshakeMs !== undefined) this.rt.metrics.handshakeSeconds.observe({ listener: this.listener }, this.fields.handshakeMs / 1000)
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

  /** After a denial the client may not read or close; do not keep its socket past a short bound. */
  #closeSoon(): void {
    const s = this.socket
    s.resume() // discard whatever else it sends
    s.setTimeout(Math.min(5000, this.rt.limits.handshakeTimeoutMs), () => s.destroy())
  }

  /** Resolves, classifies and connects; on failure, the verdict to give. */
  async dial(host: string, port: number): Promise<{ ok: true; result: Extract<DialResult, { ok: true }> } | { ok: false; verdict: Verdict }> {
    const rt = this.rt
    const abort = new ClientGone()
    if (this.socket.closed) abort.abort()
    this.#dialAbort = abort
    let result: DialResult
    try {
      result = await dialChecked(host, port, {
        resolver: rt.resolver,
        classify: { allowed: this.state.allowedRanges, listening: rt.listening(), localAddresses: rt.localAddresses },
        dialTimeoutMs: rt.limits.dialTimeoutMs,
        maxAttempts: rt.limits.maxDialAttempts,
        signal: abort,
      })
    } finally {
      this.#dialAbort = undefined
    }
    rt.metrics.dnsSeconds.observe(result.dnsMs / 1000)
    for (const r of result.refused) rt.metrics.refusedAddresses.inc({ class: r.cls })
    this.fields = { ...this.fields, dnsMs: result.dnsMs, connectMs: result.connectMs }
    if (result.ok) {
      rt.metrics.dialSeconds.observe({ result: 'ok' }, result.connectMs / 1000)
      this.fields = { ...this.fields, upstream: formatHostPort(result.address, port) }
      return { ok: true, result }
    }
    if (result.failure !== 'DNS_FAILED' && result.failure !== 'DESTINATION_FORBIDDEN') rt.metrics.dialSeconds.observe({ result: 'failed' }, result.connectMs / 1000)
    switch (result.failure) {
      case 'DNS_FAILED':
        return { ok: false, verdict: deny('DNS_FAILED', result.detail) }
      case 'DESTINATION_FORBIDDEN':
        return { ok: false, verdict: deny('DESTINATION_FORBIDDEN', result.detail) }
      case 'DIAL_FAILED':
        return { ok: false, verdict: deny('DIAL_FAILED', result.detail) }
      case 'ABORTED':
        return { ok: false, verdict: deny('CLIENT_CLOSED', 'The client closed the connection while the proxy was connecting') }
    }
  }

  /** Relays between the client and `origin` until both are done, then logs the close line. */
  relay(origin: Socket, firstBytes: Uint8Array | undefined, requestFilter?: Transform): Promise<void> {
    const rt = this.rt
    rt.metrics.tunnelsOpen.inc()
    // Not an async function: no frame (holding the first bytes) stays alive for the tunnel's life.
    return relay(this.socket, origin, {
      idleTimeoutMs: rt.limits.idleTimeoutMs,
      ...(firstBytes ? { firstBytes } : {}),
      ...(requestFilter ? { requestFilter, lingerMs: Math.min(5000, rt.limits.handshakeTimeoutMs) } : {}),
    }).then((result) => {
      this.#relayed(result)
    })
  }

  #relayed(result: RelayResult): void {
    const rt = this.rt
    rt.metrics.tunnelsOpen.dec()
    rt.metrics.bytes.inc({ direction: 'up' }, result.bytesUp)
    rt.metrics.bytes.inc({ direction: 'down' }, result.bytesDown)
    if (rt.log.logger.isLevelEnabled('info')) rt.log.close({ conn: this.id, bytesUp: result.bytesUp, bytesDown: result.bytesDown, durationMs: this.elapsedMs() })
  }
}
