/**
 * @module The policy model: an Azure Firewall Policy (DESIGN.md §2) as plain, validated data.
 *
 * Rule collection groups hold rule collections; a collection holds rules of one type and has one
 * action. Priorities are 100–65000, lower first. Every string here is in normal form (names
 * lower-case punycode without trailing dot, CIDRs canonical): `config/` guarantees it, the engine
 * relies on it.
 */
import type { Profile } from '../catalog/profile.ts'

export const API_VERSION = 'aks-egress/v1'

export const MIN_PRIORITY = 100
export const MAX_PRIORITY = 65000

export type NetworkProtocol = 'TCP' | 'UDP' | 'ICMP' | 'Any'
export type NatProtocol = 'TCP' | 'UDP'
export type ApplicationProtocolType = 'Http' | 'Https' | 'Mssql'

export interface ApplicationProtocol {
  readonly type: ApplicationProtocolType
  readonly port: number
}

interface RuleBase {
  readonly name: string
  readonly description?: string
  /** IPs, CIDRs, ranges or `*`. */
  readonly sourceAddresses: readonly string[]
  readonly sourceIpGroups: readonly string[]
}

export interface ApplicationRule extends RuleBase {
  readonly protocols: readonly ApplicationProtocol[]
  /** FQDN patterns (see fqdn-pattern.ts). */
  readonly targetFqdns: readonly string[]
  /** FQDN tags; `AzureKubernetesService` expands to the profile's catalog. */
  readonly fqdnTags: readonly string[]
}

export interface NetworkRule extends RuleBase {
  readonly ipProtocols: readonly NetworkProtocol[]
  /** IPs, CIDRs, ranges, `*`, or service tags (`AzureCloud.westeurope`). */
  readonly destinationAddresses: readonly string[]
  readonly destinationIpGroups: readonly string[]
  /** FQDN patterns; wildcards are an aks-egress extension (Azure allows exact names only). */
  readonly destinationFqdns: readonly string[]
  /** `443`, `1000-2000`, `*`. */
  readonly destinationPorts: readonly string[]
}

export interface NatRule extends RuleBase {
  readonly ipProtocols: readonly NatProtocol[]
  /** The firewall's public address the rule listens on (one). */
  readonly destinationAddress: string
  readonly destinationPort: number
  readonly translatedAddress?: string
  readonly translatedFqdn?: string
  readonly translatedPort: number
}

export type RuleCollection =
  | {
      readonly type: 'application'
      readonly name: string
      readonly priority: number
      readonly action: 'Allow' | 'Deny'
      readonly rules: readonly ApplicationRule[]
    }
  | {
      readonly type: 'network'
      readonly name: string
      readonly priority: number
      readonly action: 'Allow' | 'Deny'
      readonly rules: readonly NetworkRule[]
    }
  | {
      readonly type: 'dnat'
      readonly name: string
      readonly priority: number
      readonly action: 'DNAT'
      readonly rules: readonly NatRule[]
    }

export type RuleCollectionType = RuleCollection['type']

export interface RuleCollectionGroup {
  readonly name: string
  readonly priority: number
  readonly ruleCollections: readonly RuleCollection[]
  /**
   * Set on a group an audited child policy inherits from a parent (base) policy: Azure processes
   * "parent-policy rule collection groups ... first, regardless of priority" (azure-facts §2.1),
   * the grandparent's before the parent's. `depth` is 1 for the parent, 2 for its parent, ...
   * Policy files never set it (aks-egress policies have no inheritance).
   */
  readonly inherited?: { readonly policy: string; readonly depth: number }
}

export type Mode = 'enforce' | 'report'
export type DnsPolicy = 'allow-all' | 'allowed-only'

export interface Settings {
  /** `report` allows every flow and records what enforce would have denied. */
  readonly mode: Mode
  /** `allowed-only`: the DNS proxy refuses names no rule allows (no exfiltration by lookups). */
  readonly dnsPolicy: DnsPolicy
  /**
   * Address blocks the data plane may dial although they are private, loopback, link-local or
   * CGNAT. Empty by default: such answers are refused (DNS rebinding, SSRF to IMDS).
   */
  readonly unsafeAllowPrivateRanges: readonly string[]
}

export const DEFAULT_SETTINGS: Settings = Object.freeze({
  mode: 'enforce',
  dnsPolicy: 'allow-all',
  unsafeAllowPrivateRanges: Object.freeze([]),
})

export interface Policy {
  readonly apiVersion: typeof API_VERSION
  readonly name: string
  readonly profile?: Profile
  readonly settings: Settings
  readonly ipGroups: Readonly<Record<string, readonly string[]>>
  readonly ruleCollectionGroups: readonly RuleCollectionGroup[]
}

/** Where a rule stands in the policy, for decisions and diagnostics. */
export interface RuleRef {
  readonly group: string
  readonly collection: string
  readonly rule: string
  readonly type: RuleCollectionType
}

export function rulePath(ref: RuleRef): string {
  return `${ref.group}/${ref.collection}/${ref.rule}`
}
