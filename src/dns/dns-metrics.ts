/**
 * @module The DNS proxy's counters, exposed through a small interface the admin server (/metrics,
 * issue 3) reads: a snapshot of named values, and the Prometheus text of them. Counters only go
 * up; gauges are read at snapshot time.
 */

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

export interface DnsMetricsSource {
  /** Counters, responses by rcode (`responses_total{rcode="NOERROR"}`) and gauges. */
  snapshot(): Readonly<Record<string, number>>
}

const HELP: Partial<Record<DnsCounter, string>> = {
  malformed_queries_total: 'Client messages dropped because they did not decode',
  malformed_upstream_total: 'Upstream answers ignored: malformed or not matching the query',
  refused_total: 'Queries answered REFUSED (dnsPolicy allowed-only)',
  overload_total: 'Queries answered SERVFAIL because the in-flight bound was reached',
  learn_evicted_name_cap_total: 'Learned addresses evicted because a name reached its cap',
  learn_refused_set_cap_total: 'Learned addresses not added because a set reached its cap',
}

export class DnsMetrics implements DnsMetricsSource {
  readonly #counters = new Map<string, number>()
  readonly #gauges = new Map<string, () => number>()

  constructor() {
    for (const c of DNS_COUNTERS) this.#counters.set(c, 0)
  }

  inc(name: DnsCounter, by = 1): void {
    this.#counters.set(name, (this.#counters.get(name) ?? 0) + by)
  }

  response(rcode: string): void {
    const key = `responses_total{rcode="${rcode}"}`
    this.#counters.set(key, (this.#counters.get(key) ?? 0) + 1)
  }

  gauge(name: string, read: () => number): void {
    this.#gauges.set(name, read)
  }

  get(name: string): number {
    return this.#counters.get(name) ?? this.#gauges.get(name)?.() ?? 0
  }

  snapshot(): Readonly<Record<string, number>> {
    const out: Record<string, number> = {}
    for (const [k, v] of this.#counters) out[k] = v
    for (const [k, read] of this.#gauges) out[k] = read()
    return out
  }
}

/** Prometheus text exposition of a snapshot, names prefixed `aks_egress_dns_`. */
export function dnsPrometheusText(source: DnsMetricsSource): string {
  const lines: string[] = []
  const seen = new Set<string>()
  for (const [key, value] of Object.entries(source.snapshot())) {
    const brace = key.indexOf('{')
    const base = brace === -1 ? key : key.slice(0, brace)
    const name = `aks_egress_dns_${base}`
    if (!seen.has(name)) {
      seen.add(name)
      const help = HELP[base as DnsCounter]
      if (help) lines.push(`# HELP ${name} ${help}`)
      lines.push(`# TYPE ${name} ${base.endsWith('_total') ? 'counter' : 'gauge'}`)
    }
    lines.push(`${name}${brace === -1 ? '' : key.slice(brace)} ${value}`)
  }
  return `${lines.join('\n')}\n`
}
