/**
 * @module The DNS proxy's counters: plain numbers the proxy bumps on its hot path, read into the
 * admin server's Prometheus registry (`serve`'s one /metrics) by `registerDnsMetrics`, at scrape
 * time. Counters only go up; gauges are read when scraped. Names are `aks_egress_dns_<counter>`
 * (observability/metric-names.ts).
 */
import { Counter, Gauge, type Registry } from 'prom-client'
import { METRIC } from '../observability/metric-names.ts'

export const DNS_COUNTERS = [
  'queries_udp_total',
  'queries_tcp_total',
  'malformed_queries_total',
  'malformed_upstream_total',
  'refused_total',
  'cache_hits_total',
  'cache_misses_total',
  'cache_evictions_total',
  'upstream_queries_total',
  'upstream_timeouts_total',
  'upstream_errors_total',
  'upstream_tcp_retries_total',
  'truncated_to_client_total',
  'overload_total',
  'tcp_connections_total',
  'tcp_connections_rejected_total',
  'learned_addresses_total',
  'learn_evicted_name_cap_total',
  'learn_refused_set_cap_total',
  'learn_apply_errors_total',
] as const

export type DnsCounter = (typeof DNS_COUNTERS)[number]

/** Gauges the DNS proxy registers (read at scrape time). */
export const DNS_GAUGES = ['inflight', 'cache_entries', 'tcp_connections'] as const

export interface DnsMetricsSource {
  /** Counters, responses by rcode (`responses_total{rcode="NOERROR"}`) and gauges. */
  snapshot(): Readonly<Record<string, number>>
}

const HELP: Partial<Record<DnsCounter | (typeof DNS_GAUGES)[number], string>> = {
  queries_udp_total: 'DNS queries received over UDP',
  queries_tcp_total: 'DNS queries received over TCP',
  cache_hits_total: 'Queries answered from the cache',
  upstream_queries_total: 'Queries forwarded to the upstream resolver',
  learned_addresses_total: 'Addresses added to or refreshed in nftables sets of FQDN network rules',
  inflight: 'Queries waiting for the upstream',
  cache_entries: 'Answers in the cache',
  tcp_connections: 'Client TCP connections open',
  malformed_queries_total: 'Client messages dropped because they did not decode',
  malformed_upstream_total: 'Upstream answers ignored: malformed or not matching the query',
  refused_total: 'Queries answered REFUSED (dnsPolicy allowed-only)',
  overload_total: 'Queries answered SERVFAIL because the in-flight bound was reached',
  learn_evicted_name_cap_total: 'Learned addresses evicted because a name reached its cap',
  learn_refused_set_cap_total: 'Learned addresses not added because a set reached its cap',
}

const RESPONSE_KEY = 'responses_total{rcode="'

/**
 * Plain counters, bumped on every query: an object with a fixed shape (the counter names are
 * known up front, so V8 keeps one hidden class and `inc` is a property add) and responses per
 * rcode in a small map. No string is built per query; snapshot() builds the Prometheus-style keys.
 */
export class DnsMetrics implements DnsMetricsSource {
  readonly #counters: Record<DnsCounter, number>
  readonly #responses = new Map<string, number>()
  readonly #gauges = new Map<string, () => number>()

  constructor() {
    this.#counters = Object.fromEntries(DNS_COUNTERS.map((c) => [c, 0])) as Record<DnsCounter, number>
  }

  inc(name: DnsCounter, by = 1): void {
    this.#counters[name] += by
  }

  /** One answer sent with this rcode (`responses_total{rcode="..."}`). */
  response(rcode: string): void {
    this.#responses.set(rcode, (this.#responses.get(rcode) ?? 0) + 1)
  }

  gauge(name: string, read: () => number): void {
    this.#gauges.set(name, read)
  }

  get(name: string): number {
    if (name in this.#counters) return this.#counters[name as DnsCounter]
    if (name.startsWith(RESPONSE_KEY)) return this.#responses.get(name.slice(RESPONSE_KEY.length, -2)) ?? 0
    return this.#gauges.get(name)?.() ?? 0
  }

  snapshot(): Readonly<Record<string, number>> {
    const out: Record<string, number> = { ...this.#counters }
    for (const [rcode, v] of this.#responses) out[`${RESPONSE_KEY}${rcode}"}`] = v
    for (const [k, read] of this.#gauges) out[k] = read()
    return out
  }
}

/**
 * Registers the DNS proxy's counters and gauges on a prom-client registry (the admin server's), as
 * `aks_egress_dns_*`; values are read from `source` at each scrape.
 */
export function registerDnsMetrics(registry: Registry, source: DnsMetrics): void {
  const name = (base: string): string => `${METRIC.dnsProxyPrefix}${base}`
  const help = (base: string): string => HELP[base as DnsCounter] ?? `DNS proxy: ${base.replace(/_/g, ' ')}`
  for (const base of DNS_COUNTERS) {
    new Counter({
      name: name(base),
      help: help(base),
      registers: [registry],
      collect() {
        this.reset()
        this.inc(source.get(base))
      },
    })
  }
  new Counter({
    name: name('responses_total'),
    help: 'Answers sent, by response code',
    labelNames: ['rcode'] as const,
    registers: [registry],
    collect() {
      this.reset()
      for (const [key, value] of Object.entries(source.snapshot())) {
        if (key.startsWith(RESPONSE_KEY)) this.inc({ rcode: key.slice(RESPONSE_KEY.length, -2) }, value)
      }
    },
  })
  for (const base of DNS_GAUGES) {
    new Gauge({
      name: name(base),
      help: help(base),
      registers: [registry],
      collect() {
        this.set(source.get(base))
      },
    })
  }
}
