/**
 * @module What aks-egress keeps for an allowed connection besides its log lines, written the
 * Node floors' way (no promises, listeners or timers per connection), with aks-egress's own
 * classes: the connection caps (`maxConnections`, `maxConnectionsPerSource`), the handshake
 * bound, the dial bound and the relay's idle bound in coarse sweeps (src/proxy/idle-sweep.ts),
 * the decision's fields with their timings (DecisionFields), and the metrics calls
 * (ProxyMetrics). The `--bookkeeping` of bench/proxy/node-floor.ts and of its C socket plane
 * (bench/proxy/plane-floor.ts). Not product code.
 */
import { DecisionFields } from '../../src/proxy/decision-fields.ts'
import { IdleEntry, idleSweep } from '../../src/proxy/idle-sweep.ts'
import { ProxyMetrics } from '../../src/proxy/proxy-metrics.ts'
import { DEFAULT_LIMITS } from '../../src/proxy/serve-defaults.ts'

/** The connection a Book keeps: how to close it, and its bytes to and from the origin. */
export interface BookSubject {
  closeAll(): void
  bytes(): readonly [toOrigin: number, fromOrigin: number]
}

const metrics = new ProxyMetrics(false)
const perSource = new Map<string, number>()
const open = new Set<Book>()
const handshakeSweep = idleSweep(DEFAULT_LIMITS.handshakeTimeoutMs)
const dialSweep = idleSweep(DEFAULT_LIMITS.dialTimeoutMs)
const relaySweep = idleSweep(DEFAULT_LIMITS.idleTimeoutMs)

export class Book extends IdleEntry {
  readonly #start = process.hrtime.bigint()
  #dialStart = 0n
  readonly fields = new DecisionFields()
  #sides = 0
  #relaying = false
  #rule: string | null = null
  #code = ''
  constructor(
    readonly subject: BookSubject,
    readonly source: string,
    readonly label: string,
  ) {
    super()
  }

  /** Accepted: counted against the caps, the handshake bound running; undefined when over a cap (the caller closes). */
  static open(source: string, label: string, subject: BookSubject): Book | undefined {
    const fromSource = perSource.get(source) ?? 0
    if (open.size >= DEFAULT_LIMITS.maxConnections || fromSource >= DEFAULT_LIMITS.maxConnectionsPerSource) return undefined
    const b = new Book(subject, source, label)
    perSource.set(source, fromSource + 1)
    open.add(b)
    metrics.connectionOpened(label)
    handshakeSweep.add(b)
    return b
  }

  /** The sweep in charge found the connection idle for its bound (handshake, dial or relay). */
  onIdle(): void {
    this.subject.closeAll()
  }

  #ms(from: bigint): number {
    return Number(process.hrtime.bigint() - from) / 1e6
  }

  /** The request head or the ClientHello was read (a CONNECT's, after its head: the handshake ends there). */
  handshake(protocol: 'https' | 'tcp', host: string, port: number, sni: string | undefined, alpn: readonly string[] | undefined): void {
    handshakeSweep.remove(this)
    const f = this.fields
    f.protocol = protocol
    f.host = host
    f.port = port
    f.sni = sni
    f.alpn = alpn
    f.handshakeMs = this.#ms(this.#start)
  }

  /** Decided and resolved: the dial starts, under its bound. */
  dialing(code: string, rule: string | null, dnsMs: number, address: string, port: number): void {
    this.#code = code
    this.#rule = rule
    metrics.dnsSeconds.observe(dnsMs / 1000)
    const f = this.fields
    f.dnsMs = dnsMs
    f.upstreamAddress = address
    f.upstreamPort = port
    this.#dialStart = process.hrtime.bigint()
    dialSweep.add(this)
  }

  connected(): void {
    dialSweep.remove(this)
    const ms = this.#ms(this.#dialStart)
    this.fields.connectMs = ms
    metrics.dialSeconds.observe(ms / 1000, 'ok')
    metrics.decided(this.label, 'allow', this.#code, this.#rule)
    if (this.fields.handshakeMs !== undefined) metrics.handshakeSeconds.observe(this.fields.handshakeMs / 1000, this.label)
    metrics.tunnelOpened()
    this.#relaying = true
    relaySweep.add(this)
  }

  /** One side closed; `last`: it is the connection's end whatever the other side does (its client before any dial, or a relay closed as one). */
  sideClosed(last: boolean): void {
    if (++this.#sides < 2 && !last) return
    handshakeSweep.remove(this)
    dialSweep.remove(this)
    relaySweep.remove(this)
    if (!open.delete(this)) return
    const n = (perSource.get(this.source) ?? 1) - 1
    if (n <= 0) perSource.delete(this.source)
    else perSource.set(this.source, n)
    metrics.connectionClosed(this.label)
    if (this.#relaying) {
      metrics.tunnelClosed()
      const [toOrigin, fromOrigin] = this.subject.bytes()
      metrics.relayedBytes(toOrigin, fromOrigin)
    }
  }
}
