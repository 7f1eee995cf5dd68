/**
 * @module Every Prometheus metric name aks-egress exposes, in one place (dashboards and alerts key
 * on them: renaming one is a breaking change). Units are in the names (Prometheus conventions:
 * `_seconds`, `_bytes`, `_total` for counters).
 */
export const METRIC = Object.freeze({
  /** Counter{listener, action, code, rule}: one per connection verdict. */
  decisions: 'aks_egress_decisions_total',
  /** Gauge{listener}: client connections open (handshake and relay). */
  connectionsOpen: 'aks_egress_connections_open',
  /** Gauge: relayed connections (tunnels and forwarded requests) open to origins. */
  tunnelsOpen: 'aks_egress_tunnels_open',
  /** Counter{direction="up"|"down"}: bytes relayed to / from origins. */
  bytes: 'aks_egress_relayed_bytes_total',
  /** Histogram{listener}: accept → complete ClientHello or request head. */
  handshakeSeconds: 'aks_egress_handshake_seconds',
  /** Histogram: name resolution of allowed names. */
  dnsSeconds: 'aks_egress_dns_seconds',
  /** Histogram{result="ok"|"failed"}: TCP connect to origins, all attempts. */
  dialSeconds: 'aks_egress_dial_seconds',
  /** Counter{result="ok"|"rejected"}: policy reloads. */
  reloads: 'aks_egress_policy_reloads_total',
  /** Gauge: unix time of the last successful policy load. */
  policyLoadedTime: 'aks_egress_policy_loaded_timestamp_seconds',
  /** Gauge{type="network"|"application"|"dnat"}: rules of the policy in force. */
  policyRules: 'aks_egress_policy_rules',
  /**
   * Counter{listener, outcome}: plain-HTTP requests forwarded (a request denied before the origin
   * is a decision only). outcome: `complete`, `bad-response` (502: a response the proxy refuses
   * to frame), `timeout` (504), `origin-closed` (the origin went away mid-response), `client-closed`.
   */
  forwardedRequests: 'aks_egress_forwarded_requests_total',
  /** Counter: forwarded requests sent on a pooled (reused) origin connection. */
  originPoolHits: 'aks_egress_origin_pool_hits_total',
  /** Counter: forwarded requests that needed a new origin connection. */
  originPoolMisses: 'aks_egress_origin_pool_misses_total',
  /** Counter: requests sent again on a new origin connection after a pooled one had closed (RFC 9112 §9.3.1). */
  originRetries: 'aks_egress_origin_retries_total',
  /** Gauge: idle origin connections in the pool. */
  originPoolIdle: 'aks_egress_origin_pool_idle',
  /**
   * Counter{reason}: origin connections closed by the pool: `stray-bytes`, `origin-closed`,
   * `idle-timeout`, `evicted` (total bound), `full` (per-key bound), `reload`, `stop`.
   */
  originPoolDiscards: 'aks_egress_origin_pool_discarded_total',
  /** Counter: writes of the decision log that failed (a full disk, an I/O error); their bytes are kept and written again. */
  logWriteErrors: 'aks_egress_log_write_errors_total',
  /** Counter: log lines dropped because LOG_MAX_BUFFERED_BYTES were waiting for a failing destination. */
  logDroppedLines: 'aks_egress_log_dropped_lines_total',
  /** Counter{class}: resolved addresses refused by classification (classify-address.ts). */
  refusedAddresses: 'aks_egress_refused_addresses_total',
  /**
   * Prefix of the DNS proxy's counters and gauges (`serve --transparent`; dns/dns-metrics.ts:
   * `aks_egress_dns_queries_udp_total`, `aks_egress_dns_responses_total{rcode}`, ...).
   */
  dnsProxyPrefix: 'aks_egress_dns_',
  /** Prefix of prom-client's process and Node.js default metrics. */
  defaultPrefix: 'aks_egress_',
})
