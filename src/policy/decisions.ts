/**
 * @module Building decisions: one place for the wording, shared by the compiled engine and the
 * reference evaluator so that both can be compared field by field.
 */
import {
  DEFAULT_DENY_REASON,
  SNI_MISSING_REASON,
  type Decision,
  type ReasonCode,
  type Translation,
} from './decision.ts'
import { rulePath, type RuleRef } from './policy-model.ts'

/** A decision in enforce mode and its report-mode twin. */
export interface DecisionPair {
  readonly enforce: Decision
  readonly report: Decision
}

function pair(enforce: Decision): DecisionPair {
  const report: Decision =
    enforce.action === 'deny'
      ? Object.freeze({ ...enforce, action: 'allow', wouldDeny: true, reason: `Report mode: allowed; enforce would deny: ${enforce.reason}` })
      : enforce
  return Object.freeze({ enforce: Object.freeze(enforce), report })
}

const KIND_WORD = { application: 'application', network: 'network', dnat: 'DNAT' } as const

function formatTranslation(t: Translation): string {
  const host = t.address ?? t.fqdn ?? '?'
  return `${host.includes(':') ? `[${host}]` : host}:${t.port}`
}

/** The decision a rule gives when it matches. */
export function ruleDecision(ref: RuleRef, allow: boolean, translation?: Translation): DecisionPair {
  const path = rulePath(ref)
  let code: ReasonCode
  let reason: string
  if (ref.type === 'dnat') {
    code = 'DNAT_RULE'
    reason = `Translated by DNAT rule ${path} to ${translation ? formatTranslation(translation) : '?'}`
  } else {
    code = ref.type === 'network' ? (allow ? 'NETWORK_RULE_ALLOW' : 'NETWORK_RULE_DENY') : allow ? 'APPLICATION_RULE_ALLOW' : 'APPLICATION_RULE_DENY'
    reason = `${allow ? 'Allowed' : 'Denied'} by ${KIND_WORD[ref.type]} rule ${path}`
  }
  return pair({
    action: allow ? 'allow' : 'deny',
    code,
    reason,
    rule: Object.freeze({ ...ref }),
    rulePath: path,
    isDefault: false,
    wouldDeny: false,
    ...(translation ? { translation: Object.freeze({ ...translation }) } : {}),
  })
}

function fixed(code: ReasonCode, reason: string, isDefault: boolean): DecisionPair {
  return pair({ action: 'deny', code, reason, rule: null, rulePath: null, isDefault, wouldDeny: false })
}

export const DEFAULT_DENY = fixed('DEFAULT_DENY', DEFAULT_DENY_REASON, true)
export const SNI_MISSING = fixed('SNI_MISSING', SNI_MISSING_REASON, false)
export const HOST_MISSING = fixed('HOST_MISSING', 'HTTP request without a Host header', false)
export const INVALID_HOST = fixed('INVALID_HOST', 'The server name (SNI or Host) is not a valid host name', false)
