/**
 * @module Every default of `aks-egress serve`, with its unit in its name, in one frozen object.
 * Each is a bound: the proxy holds no buffer, timer or count that is not capped by one of these.
 * `serve --help` prints them; each has a command-line option.
 */
import { DEFAULT_LISTENER_PORT_OFFSET } from './listener-plan.ts'

export interface ServeLimits {
  /** Connections open at once across all listeners; more are refused at accept. */
  readonly maxConnections: number
  /** Connections open at once from one source address. */
  readonly maxConnectionsPerSource: number
  /** Bytes of an HTTP request head (request line and fields). */
  readonly maxHeaderBytes: number
  /** Bytes of a TLS ClientHello, record headers included (Envoy tls_inspector's default is 64 KiB). */
  readonly maxClientHelloBytes: number
  /** From accept to a complete request head or ClientHello (slowloris bound). */
  readonly handshakeTimeoutMs: number
  /** A relayed connection with no byte either way for this long is closed (Azure Firewall: 4 min). */
  readonly idleTimeoutMs: number
  /** One TCP connect attempt to an origin address. */
  readonly dialTimeoutMs: number
  /** Addresses of a name tried in turn when a connect fails. */
  readonly maxDialAttempts: number
  /** One name resolution (A and AAAA in parallel). */
  readonly dnsTimeoutMs: number
  /** On SIGTERM, how long open connections may finish before they are closed. */
  readonly drainTimeoutMs: number
  /** Plain HTTP: a kept-alive client connection with no new request for this long is closed. */
  readonly keepAliveIdleTimeoutMs: number
  /** Plain HTTP: requests served on one client connection; the last response says `Connection: close`. 1: no keep-alive. */
  readonly maxRequestsPerConnection: number
  /** Plain HTTP: bytes of a response head from an origin (status line and fields); larger: 502. */
  readonly maxResponseHeaderBytes: number
  /** Plain HTTP: an idle pooled origin connection is closed after this long. */
  readonly originIdleTimeoutMs: number
  /** Plain HTTP: idle origin connections kept per (checked address, port, Host). 0: no pooling. */
  readonly originPoolMaxIdlePerKey: number
  /** Plain HTTP: idle origin connections kept in all (the oldest is closed first). 0: no pooling. */
  readonly originPoolMaxIdle: number
}

export const DEFAULT_LIMITS: ServeLimits = Object.freeze({
  maxConnections: 10_000,
  maxConnectionsPerSource: 2_000,
  maxHeaderBytes: 16 * 1024,
  maxClientHelloBytes: 64 * 1024,
  handshakeTimeoutMs: 10_000,
  idleTimeoutMs: 240_000,
  dialTimeoutMs: 5_000,
  maxDialAttempts: 4,
  dnsTimeoutMs: 5_000,
  drainTimeoutMs: 30_000,
  keepAliveIdleTimeoutMs: 60_000,
  maxRequestsPerConnection: 10_000,
  maxResponseHeaderBytes: 64 * 1024,
  originIdleTimeoutMs: 30_000,
  originPoolMaxIdlePerKey: 64,
  originPoolMaxIdle: 1_024,
})

export const SERVE_DEFAULTS = Object.freeze({
  /** The explicit proxy (AKS httpProxyConfig points here). */
  listen: '127.0.0.1:3128',
  /** Metrics, health and readiness. */
  admin: '127.0.0.1:9901',
  /** Transparent listeners: nftables `redirect` sends to the address of the incoming interface. */
  transparentAddress: '0.0.0.0',
  /**
   * Transparent listener of original port P listens on P + offset (listener-plan.ts: above 65535,
   * a free port from 10000), where the appliance's table redirects P; 0: on P itself.
   */
  transparentPortOffset: DEFAULT_LISTENER_PORT_OFFSET,
  /** Policy file changes are applied this long after the last change event. */
  reloadDebounceMs: 250,
  /** Positive DNS answers are cached for their TTL, at most this long. */
  dnsCacheMaxTtlSeconds: 300,
  /** Names held in the DNS cache. */
  dnsCacheMaxEntries: 10_000,
  /** A chunk extension or trailer line of a chunked request or response body. */
  maxChunkLineBytes: 4096,
  /** Interim (1xx) responses relayed before the final one; more: 502. */
  maxInterimResponses: 8,
  /** Basic-auth realm of the explicit proxy. */
  authRealm: 'aks-egress',
})
