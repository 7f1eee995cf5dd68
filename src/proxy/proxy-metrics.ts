/**
 * @module The proxy's Prometheus instruments (names in src/observability/metric-names.ts), on a
 * registry of their own so that several proxies in one process (tests) do not collide.
 *
 * The counters and gauges moved once or more per connection (decisions, open connections and
 * tunnels, bytes, pool hits and misses) are counted in plain numbers by the methods below and
 * handed to prom-client in its `collect()` hook, at scrape time: prom-client validates and hashes
 * the label object on every `inc()` (a profile of new connections showed it), a Map lookup by a
 * string key is cheaper, and nothing is done when nobody scrapes. Counters get the delta since the
 * last scrape, gauges their current value; the exported series are the same as before.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import { BucketHistogram } from '../observability/bucket-histogram.ts'
import { METRIC } from '../observability/metric-names.ts'

const LATENCY_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

/** A decision's labels and how many since the last scrape. */
interface DecisionCount {
  readonly labels: { listener: string; action: string; code: string; rule: string }
  n: number
}

type ByLabel<V> = Map<string, V>

/** The map under `key` in `m`, made on first use. */
function level<V>(m: ByLabel<ByLabel<V>>, key: string): ByLabel<V> {
  let next = m.get(key)
  if (next === undefined) {
    next = new Map()
    m.set(key, next)
  }
  return next
}

/** A counter that follows a running total kept elsewhere: at each scrape, what it grew by. */
function totalCounter(registry: Registry, name: string, help: string, total: () => number): Counter {
  let exported = 0
  const counter: Counter = new Counter({
    name,
    help,
    registers: [registry],
    collect: () => {
      const n = total()
      if (n > exported) counter.inc(n - exported)
      exported = n
    },
  })
  return counter
}

export class ProxyMetrics {
  readonly registry = new Registry()
  /**
   * Decisions since the last scrape, by listener, action, code, then rule: four lookups by strings
   * made once (the listener's label, literals, the compiled policy's rule paths) whose hashes V8
   * keeps, instead of a key string built and hashed for every decision.
   */
  readonly #decisions: ByLabel<ByLabel<ByLabel<ByLabel<DecisionCount>>>> = new Map()
  /** Client connections open now, by listener. */
  readonly #connectionsOpen = new Map<string, number>()
  #tunnelsOpen = 0
  #bytesUp = 0
  #bytesDown = 0
  #poolHits = 0
  #poolMisses = 0
  /** Run at a scrape before the bytes are exported: the server hands over the open tunnels' bytes. */
  #beforeBytes: () => void = () => undefined
  readonly decisions = new Counter({
    name: METRIC.decisions,
    help: 'Connection verdicts',
    labelNames: ['listener', 'action', 'code', 'rule'] as const,
    registers: [this.registry],
    collect: () => {
      for (const byAction of this.#decisions.values())
        for (const byCode of byAction.values())
          for (const byRule of byCode.values())
            for (const d of byRule.values()) if (d.n > 0) this.decisions.inc(d.labels, d.n)
      this.#decisions.clear()
    },
  })
  readonly connectionsOpen = new Gauge({
    name: METRIC.connectionsOpen,
    help: 'Client connections open',
    labelNames: ['listener'] as const,
    registers: [this.registry],
    collect: () => {
      for (const [listener, n] of this.#connectionsOpen) this.connectionsOpen.set({ listener }, n)
    },
  })
  readonly tunnelsOpen = new Gauge({
    name: METRIC.tunnelsOpen,
    help: 'Relayed connections open to origins',
    registers: [this.registry],
    collect: () => {
      this.tunnelsOpen.set(this.#tunnelsOpen)
    },
  })
  readonly bytes = new Counter({
    name: METRIC.bytes,
    help: 'Bytes relayed to (up) and from (down) origins',
    labelNames: ['direction'] as const,
    registers: [this.registry],
    collect: () => {
      this.#beforeBytes()
      this.bytes.inc({ direction: 'up' }, this.#bytesUp)
      this.bytes.inc({ direction: 'down' }, this.#bytesDown)
      this.#bytesUp = 0
      this.#bytesDown = 0
    },
  })
  // Observed per connection: counted in typed arrays, handed over at scrape (bucket-histogram.ts).
  readonly handshakeSeconds = new BucketHistogram({
    name: METRIC.handshakeSeconds,
    help: 'From accept to a complete ClientHello or request head',
    labelName: 'listener',
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [this.registry],
  })
  readonly dnsSeconds = new BucketHistogram({ name: METRIC.dnsSeconds, help: 'Resolution of allowed names', buckets: LATENCY_BUCKETS_SECONDS, registers: [this.registry] })
  readonly dialSeconds = new BucketHistogram({
    name: METRIC.dialSeconds,
    help: 'TCP connect to origins, all attempts',
    labelName: 'result',
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [this.registry],
  })
  readonly reloads = new Counter({ name: METRIC.reloads, help: 'Policy reloads', labelNames: ['result'] as const, registers: [this.registry] })
  readonly policyLoadedTime = new Gauge({ name: METRIC.policyLoadedTime, help: 'Unix time of the last successful policy load', registers: [this.registry] })
  readonly policyRules = new Gauge({ name: METRIC.policyRules, help: 'Rules of the policy in force', labelNames: ['type'] as const, registers: [this.registry] })
  readonly refusedAddresses = new Counter({
    name: METRIC.refusedAddresses,
    help: 'Resolved addresses refused by classification',
    labelNames: ['class'] as const,
    registers: [this.registry],
  })

  readonly forwardedRequests = new Counter({
    name: METRIC.forwardedRequests,
    help: 'Plain-HTTP requests forwarded to origins, by outcome',
    labelNames: ['listener', 'outcome'] as const,
    registers: [this.registry],
  })
  readonly originPoolHits = new Counter({
    name: METRIC.originPoolHits,
    help: 'Forwarded requests sent on a reused origin connection',
    registers: [this.registry],
    collect: () => {
      this.originPoolHits.inc(this.#poolHits)
      this.#poolHits = 0
    },
  })
  readonly originPoolMisses = new Counter({
    name: METRIC.originPoolMisses,
    help: 'Forwarded requests that needed a new origin connection',
    registers: [this.registry],
    collect: () => {
      this.originPoolMisses.inc(this.#poolMisses)
      this.#poolMisses = 0
    },
  })
  readonly originRetries = new Counter({ name: METRIC.originRetries, help: 'Requests sent again after a pooled origin connection closed before answering', registers: [this.registry] })
  readonly originPoolIdle = new Gauge({ name: METRIC.originPoolIdle, help: 'Idle origin connections in the pool', registers: [this.registry] })
  readonly originPoolDiscards = new Counter({
    name: METRIC.originPoolDiscards,
    help: 'Origin connections closed by the pool, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  })

  /** The decision log (ConnectionLog's running totals), once `watchLog` was called. */
  #log: { readonly writeErrors: number; readonly droppedLines: number } = { writeErrors: 0, droppedLines: 0 }
  readonly logWriteErrors = totalCounter(this.registry, METRIC.logWriteErrors, 'Writes of the decision log that failed (their bytes are written again)', () => this.#log.writeErrors)
  readonly logDroppedLines = totalCounter(this.registry, METRIC.logDroppedLines, 'Log lines dropped while writes failed and the buffer was full', () => this.#log.droppedLines)

  constructor(defaultMetrics: boolean) {
    if (defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: METRIC.defaultPrefix })
    // Both series from the start at 0, so that an alert on increase(...{result="rejected"}[5m]) sees the first refusal.
    this.reloads.inc({ result: 'ok' }, 0)
    this.reloads.inc({ result: 'rejected' }, 0)
  }

  /** `collect` runs at every scrape, before `aks_egress_relayed_bytes_total` is exported. */
  beforeBytesScrape(collect: () => void): void {
    this.#beforeBytes = collect
  }

  /** Exports the decision log's failed writes and dropped lines (`aks_egress_log_*_total`). */
  watchLog(log: { readonly writeErrors: number; readonly droppedLines: number }): void {
    this.#log = log
  }

  /** Counts a verdict (`aks_egress_decisions_total`). */
  decided(listener: string, action: string, code: string, rule: string | null): void {
    const r = rule ?? ''
    const byRule = level(level(level(this.#decisions, listener), action), code)
    const d = byRule.get(r)
    if (d) d.n++
    else byRule.set(r, { labels: { listener, action, code, rule: r }, n: 1 })
  }

  connectionOpened(listener: string): void {
    this.#connectionsOpen.set(listener, (this.#connectionsOpen.get(listener) ?? 0) + 1)
  }

  connectionClosed(listener: string): void {
    this.#connectionsOpen.set(listener, (this.#connectionsOpen.get(listener) ?? 1) - 1)
  }

  tunnelOpened(): void {
    this.#tunnelsOpen++
  }

  tunnelClosed(): void {
    this.#tunnelsOpen--
  }

  /** Tunnels and forwarded requests relaying now (`aks_egress_tunnels_open`). */
  get openTunnelCount(): number {
    return this.#tunnelsOpen
  }

  relayedBytes(up: number, down: number): void {
    this.#bytesUp += up
    this.#bytesDown += down
  }

  poolHit(): void {
    this.#poolHits++
  }

  poolMiss(): void {
    this.#poolMisses++
  }
}
