/**
 * @module Decisions: the outcome of `decide(flow)`. A decision is data, not an error: an action,
 * the rule that decided (or none, for the default), a stable reason code and a human reason.
 */
import type { RuleRef } from './policy-model.ts'

export type Action = 'allow' | 'deny'

/**
 * Reason codes, stable (logs, metrics and scripts key on them; never reuse a retired one).
 * - DNAT_RULE: a DNAT rule matched; the flow is translated and allowed (Azure: implicit allow).
 * - NETWORK_RULE_ALLOW / NETWORK_RULE_DENY: a network rule matched; application rules were not
 *   consulted (azure-facts §2.1: "Network rule hit → no further processing").
 * - APPLICATION_RULE_ALLOW / APPLICATION_RULE_DENY: an application rule matched.
 * - SNI_MISSING: HTTPS without the TLS server_name extension and no network rule matched.
 * - HOST_MISSING: HTTP without a Host header and no network rule matched.
 * - INVALID_HOST: the SNI or Host is not a valid host name.
 * - DEFAULT_DENY: no rule matched.
 */
export type ReasonCode =
  | 'DNAT_RULE'
  | 'NETWORK_RULE_ALLOW'
  | 'NETWORK_RULE_DENY'
  | 'APPLICATION_RULE_ALLOW'
  | 'APPLICATION_RULE_DENY'
  | 'SNI_MISSING'
  | 'HOST_MISSING'
  | 'INVALID_HOST'
  | 'DEFAULT_DENY'

export const REASON_CODES: readonly ReasonCode[] = Object.freeze([
  'DNAT_RULE',
  'NETWORK_RULE_ALLOW',
  'NETWORK_RULE_DENY',
  'APPLICATION_RULE_ALLOW',
  'APPLICATION_RULE_DENY',
  'SNI_MISSING',
  'HOST_MISSING',
  'INVALID_HOST',
  'DEFAULT_DENY',
])

export interface Translation {
  readonly address?: string
  readonly fqdn?: string
  readonly port: number
}

export interface Decision {
  readonly action: Action
  readonly code: ReasonCode
  readonly reason: string
  /** The rule that decided; null for the default and for SNI/Host problems. */
  readonly rule: RuleRef | null
  /** `group/collection/rule`, or null. */
  readonly rulePath: string | null
  /** True when no rule matched and the default action applied. */
  readonly isDefault: boolean
  /** Report mode: the flow was allowed, but enforce mode would have denied it. */
  readonly wouldDeny: boolean
  readonly translation?: Translation
}

/** Azure Firewall's wording for the default action (AzureDiagnostics msg, azure-facts §2.10). */
export const DEFAULT_DENY_REASON = 'No rule matched. Proceeding with default action'
/** Azure Firewall's wording for HTTPS without SNI (azure-facts §2.2). */
export const SNI_MISSING_REASON = 'SNI TLS extension was missing'
