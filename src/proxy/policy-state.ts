/**
 * @module The policy in force, compiled, with what the data plane derives from it: the report
 * flag, the private blocks it opens, and the application-rule ports that get a transparent
 * listener. Immutable: a reload builds a new one and swaps the reference; a request takes the
 * state in force when its head (or ClientHello) is read, and a tunnel keeps it until it ends.
 */
import { engineFor } from '../config/load-policy.ts'
import type { Engine } from '../policy/compile-policy.ts'
import type { Policy } from '../policy/policy-model.ts'
import { compileAllowedRanges, type AllowedRanges } from '../net/classify-address.ts'
import { parseAddressBlock } from '../policy/cidr.ts'

/** The HTTPS port a CONNECT peeks into even when no rule names it. */
export const HTTPS_DEFAULT_PORT = 443

export interface PolicyState {
  readonly policy: Policy
  readonly engine: Engine
  /** The file, or "the default policy of ...". */
  readonly label: string
  readonly reportMode: boolean
  readonly allowedRanges: AllowedRanges
  /** Ports of `Https` application rules (a transparent TLS listener each). */
  readonly httpsPorts: ReadonlySet<number>
  /** Ports of `Http` application rules (a transparent HTTP listener each). */
  readonly httpPorts: ReadonlySet<number>
  readonly loadedAtMs: number
  /**
   * Service tags named as destinations of network rules (and of their IP groups): no flow here
   * carries one (Azure's ranges of a tag are not downloaded), so those destinations never match.
   */
  readonly serviceTags: readonly string[]
}

/** The destinations of network rules that are not addresses, ranges or `*`: service tags. */
export function networkServiceTags(policy: Policy): string[] {
  // By lower case, as the engine compares them; the first spelling is the one named.
  const tags = new Map<string, string>()
  const add = (text: string): void => {
    if (!parseAddressBlock(text).ok && !tags.has(text.toLowerCase())) tags.set(text.toLowerCase(), text)
  }
  for (const group of policy.ruleCollectionGroups) {
    for (const collection of group.ruleCollections) {
      if (collection.type !== 'network') continue
      for (const rule of collection.rules) {
        for (const a of rule.destinationAddresses) add(a)
        for (const g of rule.destinationIpGroups) for (const m of policy.ipGroups[g] ?? []) add(m)
      }
    }
  }
  return [...tags.values()]
}

export function applicationPorts(policy: Policy): { https: Set<number>; http: Set<number> } {
  const https = new Set<number>()
  const http = new Set<number>()
  for (const group of policy.ruleCollectionGroups) {
    for (const collection of group.ruleCollections) {
      if (collection.type !== 'application') continue
      for (const rule of collection.rules) {
        for (const p of rule.protocols) {
          if (p.type === 'Https') https.add(p.port)
          else if (p.type === 'Http') http.add(p.port)
        }
      }
    }
  }
  return { https, http }
}

/** Compiles a checked policy. Throws PolicyCompileError (a validator gap), which a reload reports. */
export function buildPolicyState(policy: Policy, label: string, nowMs: number = Date.now()): PolicyState {
  const engine = engineFor(policy)
  const { https, http } = applicationPorts(policy)
  return Object.freeze({
    policy,
    engine,
    label,
    reportMode: policy.settings.mode === 'report',
    allowedRanges: compileAllowedRanges(policy.settings.unsafeAllowPrivateRanges),
    httpsPorts: https,
    httpPorts: http,
    loadedAtMs: nowMs,
    serviceTags: networkServiceTags(policy),
  })
}

/** Whether a CONNECT to `port` carries TLS the proxy must peek: 443 and every Https rule port. */
export function isTlsPort(state: PolicyState, port: number): boolean {
  return port === HTTPS_DEFAULT_PORT || state.httpsPorts.has(port)
}
