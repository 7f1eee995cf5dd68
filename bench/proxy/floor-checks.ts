/**
 * @module The checks of a connection that the Node floors' checked listeners make, with
 * aks-egress's own code and files (bench/proxy/node-floor.ts, and its C socket plane,
 * bench/proxy/plane-floor.ts): the policy's decision for the flow, the name resolved (`--hosts`)
 * and every address classified. Not product code.
 */
import { readFileSync } from 'node:fs'
import { loadPolicyFile } from '../../src/config/load-policy.ts'
import { resolveCheckedKnown } from '../../src/net/dial-checked.ts'
import { parseHostsFile } from '../../src/net/hosts-file.ts'
import { NameResolver } from '../../src/net/resolve.ts'
import { makeFlow } from '../../src/policy/flow.ts'
import { buildPolicyState, isTlsPort, type PolicyState } from '../../src/proxy/policy-state.ts'
import type { Book } from './floor-book.ts'

/** The policy, resolver and address classes of aks-egress's checks, from its files. */
export interface Checks {
  readonly state: PolicyState
  readonly options: Parameters<typeof resolveCheckedKnown>[2]
}

/** `listening`: the floor's own listeners, which the address classes refuse to dial. */
export function loadChecks(policyFile: string, hostsFile: string, listening: readonly { address: string; port: number }[]): Checks {
  const loaded = loadPolicyFile(policyFile)
  if (!loaded.policy) throw new Error(`node-floor: ${policyFile} is not a valid policy`)
  const hosts = parseHostsFile(readFileSync(hostsFile, 'utf8'))
  if (hosts.problems.length > 0) throw new Error(`node-floor: ${hostsFile} has bad lines`)
  const state = buildPolicyState(loaded.policy, policyFile)
  const resolver = new NameResolver({ hosts: hosts.table, timeoutMs: 1000, cacheMaxEntries: 1000, cacheMaxTtlSeconds: 60 })
  return { state, options: { resolver, classify: { allowed: state.allowedRanges, listening, localAddresses: [] } } }
}

/** The policy's decision for `name`:`port` from `source`, then the checked address to dial; undefined when denied or none. */
export function checkedAddress(checks: Checks, source: string, name: string, port: number, book: Book | undefined): string | undefined {
  const tls = isTlsPort(checks.state, port)
  const decision = checks.state.engine.decide(makeFlow({ protocol: tls ? 'https' : 'tcp', host: name, destinationPort: port, sourceIp: source }))
  if (decision.action !== 'allow') return undefined
  const checked = resolveCheckedKnown(name, port, checks.options)
  const address = checked?.ok ? checked.allowed[0] : undefined
  if (address === undefined || !checked?.ok) return undefined
  book?.dialing(decision.code, decision.rulePath, checked.dnsMs, address, port)
  return address
}
