// The policies the nftables golden files and the namespace check are made from.
import { fileURLToPath } from 'node:url'
import { checkProfile, resolveEndpoints } from '../../../src/catalog/profile.ts'
import { loadPolicyFile } from '../../../src/config/load-policy.ts'
import type { NftablesOptions } from '../../../src/dataplane/nftables/compile-nftables.ts'
import { buildDefaultPolicy } from '../../../src/policy/default-policy.ts'
import type { Policy } from '../../../src/policy/policy-model.ts'

export const FIXTURES = fileURLToPath(new URL('../../fixtures/nftables/', import.meta.url))

export function fixturePolicy(name: string): Policy {
  const loaded = loadPolicyFile(`${FIXTURES}${name}.policy.yaml`)
  if (!loaded.policy) throw new Error(`fixture ${name}: ${loaded.diagnostics.map((d) => d.message).join('; ')}`)
  return loaded.policy
}

export function defaultPolicy2019(features: readonly string[] = ['windows']): Policy {
  const { profile } = checkProfile(
    { location: 'westeurope', catalog: '2019-11', features, apiServerIp: '203.0.113.10', nodeCidrs: ['10.240.0.0/16'] },
    { label: (f) => f },
  )
  if (!profile) throw new Error('profile')
  return buildDefaultPolicy(profile, resolveEndpoints(profile)).policy
}

export interface GoldenCase {
  readonly name: string
  readonly policy: () => Policy
  readonly options: NftablesOptions
}

export const GOLDEN_CASES: readonly GoldenCase[] = [
  { name: 'full', policy: () => fixturePolicy('full'), options: { egressInterface: 'eth1', ingressInterfaces: ['eth0'], serviceTcpPorts: [3128] } },
  {
    name: 'report',
    policy: () => ({ ...fixturePolicy('full'), settings: { ...fixturePolicy('full').settings, mode: 'report' } }),
    options: { egressInterface: 'eth1', sshFrom: ['192.0.2.0/24', '2001:db8:1::/48'], azurePlatform: false, snatPrivateRanges: true, flowtable: false },
  },
  {
    name: 'default-2019-11-windows',
    policy: () => defaultPolicy2019(),
    options: { learned: new Map([['fqdn4_v4', [{ address: '203.0.113.123', timeoutSec: 90.2 }, { address: '2001:db8::1', timeoutSec: 5 }]]]) },
  },
]
