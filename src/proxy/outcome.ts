/**
 * @module What happened to a connection: the engine's reason codes (src/policy/decision.ts) plus
 * the data plane's own. Stable: logs, metrics and the `X-Aks-Egress-Reason` header carry them,
 * docs/logging.md lists them; a retired code is never reused.
 */
import type { ReasonCode } from '../policy/decision.ts'
import { REASON_CODES } from '../policy/decision.ts'

/**
 * - SNI_MISMATCH: the ClientHello in a CONNECT tunnel names another host than the CONNECT line (domain fronting).
 * - NOT_TLS: bytes that are not a TLS ClientHello where one is required.
 * - CLIENT_HELLO_MALFORMED / CLIENT_HELLO_TOO_LARGE: the ClientHello cannot be parsed / exceeds the bound.
 * - HANDSHAKE_TIMEOUT: no complete request head or ClientHello within the bound (slowloris).
 * - BAD_REQUEST / HEADER_TOO_LARGE: the request head is malformed / exceeds the bound.
 * - UNSUPPORTED_REQUEST: a request the proxy does not serve (origin-form on the explicit port, https:// forward, `*`).
 * - HOST_MISMATCH: the Host field disagrees with the request target or with the listener's port.
 * - AUTH_REQUIRED / AUTH_FAILED: proxy Basic authentication missing / wrong.
 * - DNS_FAILED: the allowed name does not resolve.
 * - DESTINATION_FORBIDDEN: every address of the name is private, loopback, link-local, ... (classify-address.ts).
 * - DIAL_FAILED: no checked address accepted the connection in time.
 * - TOO_MANY_CONNECTIONS / TOO_MANY_FROM_SOURCE: a connection cap was reached.
 * - CLIENT_CLOSED: the client went away before it sent a complete request or ClientHello.
 * - BAD_RESPONSE: plain HTTP: the origin's response cannot be framed safely (malformed head,
 *   conflicting lengths, 101 upgrade, closed before a complete head): 502, never a decision.
 * - RESPONSE_TIMEOUT: plain HTTP: no complete response head within the idle bound: 504.
 */
export type ProxyCode =
  | 'SNI_MISMATCH'
  | 'NOT_TLS'
  | 'CLIENT_HELLO_MALFORMED'
  | 'CLIENT_HELLO_TOO_LARGE'
  | 'HANDSHAKE_TIMEOUT'
  | 'BAD_REQUEST'
  | 'HEADER_TOO_LARGE'
  | 'UNSUPPORTED_REQUEST'
  | 'HOST_MISMATCH'
  | 'AUTH_REQUIRED'
  | 'AUTH_FAILED'
  | 'DNS_FAILED'
  | 'DESTINATION_FORBIDDEN'
  | 'DIAL_FAILED'
  | 'TOO_MANY_CONNECTIONS'
  | 'TOO_MANY_FROM_SOURCE'
  | 'CLIENT_CLOSED'
  | 'BAD_RESPONSE'
  | 'RESPONSE_TIMEOUT'

export type OutcomeCode = ReasonCode | ProxyCode

export const PROXY_CODES: readonly ProxyCode[] = Object.freeze([
  'SNI_MISMATCH',
  'NOT_TLS',
  'CLIENT_HELLO_MALFORMED',
  'CLIENT_HELLO_TOO_LARGE',
  'HANDSHAKE_TIMEOUT',
  'BAD_REQUEST',
  'HEADER_TOO_LARGE',
  'UNSUPPORTED_REQUEST',
  'HOST_MISMATCH',
  'AUTH_REQUIRED',
  'AUTH_FAILED',
  'DNS_FAILED',
  'DESTINATION_FORBIDDEN',
  'DIAL_FAILED',
  'TOO_MANY_CONNECTIONS',
  'TOO_MANY_FROM_SOURCE',
  'CLIENT_CLOSED',
  'BAD_RESPONSE',
  'RESPONSE_TIMEOUT',
])

export const OUTCOME_CODES: readonly OutcomeCode[] = Object.freeze([...REASON_CODES, ...PROXY_CODES])

/** The verdict on one connection, as logged and counted. */
export interface Verdict {
  readonly action: 'allow' | 'deny'
  readonly code: OutcomeCode
  readonly reason: string
  /** `group/collection/rule` of the deciding rule, or null. */
  readonly rule: string | null
  /** Report mode: allowed, but enforce mode would have denied. */
  readonly wouldDeny: boolean
}

export function deny(code: OutcomeCode, reason: string, rule: string | null = null): Verdict {
  return { action: 'deny', code, reason, rule, wouldDeny: false }
}

/**
 * A policy-level denial found by the data plane (SNI mismatch, no SNI, not TLS). In report mode
 * the connection goes on and the verdict records `wouldDeny`, with `rule` the rule that allowed it;
 * as the engine's own report decisions do; `canProceed` is false when there is no name to dial,
 * which no mode can change. Denied, its rule is null, as every data-plane denial's: the rule that
 * allowed the CONNECT did not decide the denial (and a deny line must not name an Allow rule in
 * the Rule column or the `rule` label of the decisions metric).
 */
export function policyDeny(code: OutcomeCode, reason: string, reportMode: boolean, canProceed: boolean, rule: string | null = null): Verdict {
  if (reportMode && canProceed) return { action: 'allow', code, reason: `Report mode: allowed; enforce would deny: ${reason}`, rule, wouldDeny: true }
  return { action: 'deny', code, reason, rule: null, wouldDeny: false }
}

/**
 * `dataPlane` (a DNS, address-class or dial failure, the client gone, a ClientHello that cannot be
 * read) ended a flow that `policy` allowed. In report mode, a flow the policy allowed only because
 * of report mode keeps `wouldDeny` and the rule that would deny it: report mode is there to list
 * what enforce mode would block, and such a flow must stay in that list whatever happened to it
 * next. Otherwise `dataPlane` as it is.
 */
export function failedAfter(policy: Verdict, dataPlane: Verdict): Verdict {
  if (!policy.wouldDeny) return dataPlane
  return { ...dataPlane, rule: policy.rule, wouldDeny: true, reason: `${dataPlane.reason}; report mode: enforce would have denied it (${policy.code})` }
}

/** The client went away while the proxy was connecting to the origin (the dial is given up). */
export const CLIENT_GONE_WHILE_CONNECTING: Verdict = Object.freeze(deny('CLIENT_CLOSED', 'The client closed the connection while the proxy was connecting'))

/** The verdict of an engine decision. */
export function verdictOf(d: { readonly action: 'allow' | 'deny'; readonly code: OutcomeCode; readonly reason: string; readonly rulePath: string | null; readonly wouldDeny: boolean }): Verdict {
  return { action: d.action, code: d.code, reason: d.reason, rule: d.rulePath, wouldDeny: d.wouldDeny }
}
