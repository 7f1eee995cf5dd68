/**
 * @module The proxy's Prometheus instruments (names in src/observability/metric-names.ts), on a
 * registry of their own so that several proxies in one process (tests) do not collide.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { METRIC } from '../observability/metric-names.ts'

const LATENCY_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

export class ProxyMetrics {
  readonly registry = new Registry()
  readonly decisions = new Counter({ name: METRIC.decisions, help: 'Connection verdicts', labelNames: ['listener', 'action', 'code', 'rule'] as const, registers: [this.registry] })
  readonly connectionsOpen = new Gauge({ name: METRIC.connectionsOpen, help: 'Client connections open', labelNames: ['listener'] as const, registers: [this.registry] })
  readonly tunnelsOpen = new Gauge({ name: METRIC.tunnelsOpen, help: 'Relayed connections open to origins', registers: [this.registry] })
  readonly bytes = new Counter({ name: METRIC.bytes, help: 'Bytes relayed to (up) and from (down) origins', labelNames: ['direction'] as const, registers: [this.registry] })
  readonly handshakeSeconds = new Histogram({
    name: METRIC.handshakeSeconds,
    help: 'From accept to a complete ClientHello or request head',
    labelNames: ['listener'] as const,
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [this.registry],
  })
  readonly dnsSeconds = new Histogram({ name: METRIC.dnsSeconds, help: 'Resolution of allowed names', buckets: LATENCY_BUCKETS_SECONDS, registers: [this.registry] })
  readonly dialSeconds = new Histogram({
    name: METRIC.dialSeconds,
    help: 'TCP connect to origins, all attempts',
    labelNames: ['result'] as const,
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
  readonly originPoolHits = new Counter({ name: METRIC.originPoolHits, help: 'Forwarded requests sent on a reused origin connection', registers: [this.registry] })
  readonly originPoolMisses = new Counter({ name: METRIC.originPoolMisses, help: 'Forwarded requests that needed a new origin connection', registers: [this.registry] })
  readonly originRetries = new Counter({ name: METRIC.originRetries, help: 'Requests sent again after a pooled origin connection closed before answering', registers: [this.registry] })
  readonly originPoolIdle = new Gauge({ name: METRIC.originPoolIdle, help: 'Idle origin connections in the pool', registers: [this.registry] })
  readonly originPoolDiscards = new Counter({
    name: METRIC.originPoolDiscards,
    help: 'Origin connections closed by the pool, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  })

  constructor(defaultMetrics: boolean) {
    if (defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: METRIC.defaultPrefix })
  }
}
