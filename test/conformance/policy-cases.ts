// The policy cases every exporter runs (style-anchors §8.5: one case table, every target): the
// default policies of several profiles, the 2019-11 edition in its three clouds with add-ons, and
// hand-written policies that exercise every construct of the model.
import { readFileSync } from 'node:fs'
import { checkProfile, resolveEndpoints, type ProfileInput } from '../../src/catalog/profile.ts'
import { loadPolicyText } from '../../src/config/load-policy.ts'
import type { ExportOptions } from '../../src/export/exporter.ts'
import { buildDefaultPolicy } from '../../src/policy/default-policy.ts'
import type { Policy } from '../../src/policy/policy-model.ts'

export interface PolicyCase {
  readonly name: string
  readonly what: string
  readonly policy: () => Policy
  readonly options: ExportOptions
}

/** Target options as a user would give them; each exporter reads those it uses. */
const AZURE: ExportOptions = { resourceGroup: 'aks-rg', firewallName: 'aks-fw', firewallPrivateIp: '10.0.1.4', firewallPublicIp: '20.61.1.4' }

function defaultPolicy(input: ProfileInput): Policy {
  const { profile, diagnostics } = checkProfile(input, { label: (f) => f })
  if (!profile) throw new Error(`bad test profile: ${diagnostics.map((d) => d.message).join('; ')}`)
  return buildDefaultPolicy(profile, resolveEndpoints(profile)).policy
}

function policyFile(name: string): Policy {
  const file = new URL(`cases/${name}.yaml`, import.meta.url)
  const loaded = loadPolicyText(readFileSync(file, 'utf8'), `cases/${name}.yaml`)
  if (!loaded.policy) throw new Error(`bad test policy ${name}: ${loaded.diagnostics.map((d) => d.message).join('; ')}`)
  return loaded.policy
}

const ADDONS_2019 = ['gpu', 'monitoring', 'dev-spaces', 'azure-policy', 'windows']

export const POLICY_CASES: readonly PolicyCase[] = [
  {
    name: 'default-public-2026',
    what: 'the default policy of public/westeurope, catalog 2026-06, node subnet given',
    policy: () => defaultPolicy({ cloud: 'public', location: 'westeurope', catalog: '2026-06', nodeCidrs: ['10.240.0.0/16'] }),
    options: { ...AZURE, serviceIp: '10.240.4.4' },
  },
  {
    name: 'default-public-2026-apiserver-addons',
    what: 'public/eastus 2026-06 with the API server IP and add-ons: tunnel rules to the API server',
    policy: () => defaultPolicy({ cloud: 'public', location: 'eastus', catalog: '2026-06', apiServerIp: '20.50.1.2', nodeCidrs: ['10.224.0.0/16'], features: ['gpu', 'monitoring', 'defender', 'keyvault', 'azure-policy', 'windows'] }),
    options: AZURE,
  },
  {
    name: 'default-public-2019-addons',
    what: 'the 2019-11 seed, public/westeurope, every add-on: wildcard FQDNs with TCP 22 and 9000',
    policy: () => defaultPolicy({ cloud: 'public', location: 'westeurope', catalog: '2019-11', features: ADDONS_2019, devSpacesFqdn: 'westeurope.azds.io', nodeCidrs: ['10.240.0.0/16'] }),
    options: AZURE,
  },
  {
    name: 'default-china-2019-addons',
    what: 'the 2019-11 seed, china/chinaeast2 (21Vianet), every add-on',
    policy: () => defaultPolicy({ cloud: 'china', location: 'chinaeast2', catalog: '2019-11', features: ADDONS_2019 }),
    options: AZURE,
  },
  {
    name: 'default-usgov-2019-addons',
    what: 'the 2019-11 seed, usgov/usgovvirginia, every add-on, API server IP given',
    policy: () => defaultPolicy({ cloud: 'usgov', location: 'usgovvirginia', catalog: '2019-11', features: ADDONS_2019, apiServerIp: '52.127.1.9', nodeCidrs: ['10.0.0.0/16'] }),
    options: AZURE,
  },
  {
    name: 'constructs',
    what: 'every construct: deny collections, shared priorities, IP groups, ranges, service tags, wildcards, *, FQDN tag, Mssql, DNAT, ICMP, IPv6',
    policy: () => policyFile('constructs'),
    options: { ...AZURE, namespace: 'apps' },
  },
  {
    name: 'report-mode',
    what: 'mode report and dnsPolicy allowed-only, no profile',
    policy: () => policyFile('report-mode'),
    options: {},
  },
  {
    name: 'limit-egress-example',
    what: "Microsoft's Azure Firewall example for AKS (limit-egress-traffic.md): service tags, network FQDNs, the FQDN tag, DNAT",
    policy: () => policyFile('limit-egress-example'),
    options: { ...AZURE, firewallPublicIp: '20.42.10.7', serviceIp: '10.42.2.4' },
  },
]
