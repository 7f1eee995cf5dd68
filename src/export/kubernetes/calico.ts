/**
 * @module `aks-egress export calico`: one Calico GlobalNetworkPolicy whose egress rules follow
 * Azure Firewall's processing order exactly (Calico evaluates rules in order, Allow or Deny, the
 * first match decides), ending in an explicit Deny (no match is deny). Names use
 * `destination.domains` (Calico Enterprise/Cloud, peers.md §3), whose `*.b.com` matches
 * subdomains of any depth and never the apex, as ours. Sources other than the cluster are kept
 * as `source.nets`. Domains work in Allow rules only (a Deny by name is an error).
 */
import type { Diagnostic } from '../../diagnostics/diagnostic.ts'
import type { Policy } from '../../policy/policy-model.ts'
import { headerLines, unsupported, type Exporter, type ExportOptions, type ExportResult } from '../exporter.ts'
import { classifyAddress, expandIpGroups, isClusterSource, kubernetesName, patternOf, rulesInProcessingOrder } from '../policy-walk.ts'
import { destinationsOf, kubernetesYaml, podPolicyDiagnostics, type Destinations } from './k8s-support.ts'

const TARGET = 'calico'

type Obj = Record<string, unknown>

function portsByProtocol(d: Destinations, protocol: 'TCP' | 'UDP'): Array<number | string> {
  return d.ports.filter((p) => p.protocol === protocol).map((p) => (p.from === p.to ? p.from : `${p.from}:${p.to}`))
}

export function exportCalico(policy: Policy, options: ExportOptions): ExportResult {
  const diagnostics: Diagnostic[] = []
  const rules = rulesInProcessingOrder(policy)
  podPolicyDiagnostics(policy, rules, TARGET, 'Calico has StagedGlobalNetworkPolicy for that', diagnostics)
  if (policy.settings.dnsPolicy === 'allowed-only') {
    diagnostics.push(unsupported({ target: TARGET, construct: 'dnsPolicy: allowed-only', outcome: 'not expressed: Calico does not filter DNS queries', severity: 'warning' }))
  }
  const egress: Array<{ rule: Obj; comment: string }> = [{ rule: { action: 'Allow', destination: { namespaceSelector: 'all()' } }, comment: 'In-cluster traffic (pods, kube-dns): it never reaches the Azure firewall.' }]
  for (const w of rules) {
    if (w.type === 'dnat') continue
    const d = destinationsOf(policy, w, TARGET, true, diagnostics)
    const comment = `${w.path} (${w.action})`
    const r = w.rule
    const sourceNets = isClusterSource(policy, r.sourceAddresses, r.sourceIpGroups)
      ? []
      : [...r.sourceAddresses, ...expandIpGroups(policy, r.sourceIpGroups)].flatMap((s) => {
          const c = classifyAddress(s)
          return c.kind === 'block' ? c.cidrs : []
        })
    const source = sourceNets.length > 0 ? { source: { nets: sourceNets } } : {}
    const emit = (destination: Obj, v6: boolean | undefined): void => {
      const base = { action: w.action, ...source }
      const dest = (extra: Obj): Obj => ({ destination: { ...destination, ...extra } })
      if (d.allProtocols) egress.push({ rule: { ...base, ...dest({}) }, comment })
      for (const proto of ['TCP', 'UDP'] as const) {
        const ports = portsByProtocol(d, proto)
        if (ports.length > 0) egress.push({ rule: { ...base, protocol: proto, ...dest({ ports }) }, comment })
      }
      if (d.icmp && !d.allProtocols) {
        if (v6 !== true) egress.push({ rule: { ...base, protocol: 'ICMP', ...dest({}) }, comment })
        if (v6 !== false) egress.push({ rule: { ...base, protocol: 'ICMPv6', ...dest({}) }, comment })
      }
    }
    if (d.any) emit({}, undefined)
    const v4 = d.cidrs.filter((c) => !c.includes(':'))
    const v6 = d.cidrs.filter((c) => c.includes(':'))
    if (v4.length > 0) emit({ nets: v4 }, false)
    if (v6.length > 0) emit({ nets: v6 }, true)
    if (d.names.length > 0) {
      if (w.action === 'Deny') {
        diagnostics.push(unsupported({ target: TARGET, rule: w.path, construct: `deny by name (${d.names.join(', ')}): Calico takes domains in Allow rules only`, outcome: 'left out: the names are not denied', severity: 'error', fix: 'deny the addresses (nets), or drop the names from the allow rules instead' }))
        continue
      }
      const domains: string[] = []
      let any = false
      for (const name of d.names) {
        const p = patternOf(name)
        if (p.kind === 'exact' || p.kind === 'subdomain') domains.push(name)
        else if (p.kind === 'any') any = true
        else {
          const whole = p.base === '' ? p.tail : `${p.tail}.${p.base}`
          domains.push(whole, `*.${whole}`)
          diagnostics.push(unsupported({ target: TARGET, rule: w.path, construct: `suffix wildcard "${name}" (any name ending in the string)`, outcome: `expressed as domains "${whole}" and "*.${whole}", without look-alikes (narrower)`, severity: 'warning' }))
        }
      }
      if (any) {
        diagnostics.push(unsupported({ target: TARGET, rule: w.path, construct: 'FQDN "*" (every name)', outcome: 'expressed as any destination on the same ports (broader: also without a DNS lookup)', severity: 'warning' }))
        emit({}, undefined)
      }
      if (domains.length > 0) emit({ domains: [...new Set(domains)] }, undefined)
    }
  }
  egress.push({ rule: { action: 'Deny' }, comment: 'No rule matched: deny (Azure Firewall default).' })
  const ns = options.namespace
  const object = {
    apiVersion: 'projectcalico.org/v3',
    kind: 'GlobalNetworkPolicy',
    metadata: { name: kubernetesName(policy.name) },
    spec: {
      order: 1000,
      selector: 'all()',
      namespaceSelector: ns === undefined ? "kubernetes.io/metadata.name != 'kube-system'" : `kubernetes.io/metadata.name == '${ns}'`,
      types: ['Egress'],
      egress: egress.map((x) => x.rule),
    },
  }
  const header = [
    ...headerLines(TARGET, policy, options, diagnostics),
    '',
    'Calico Enterprise or Calico Cloud (destination.domains). Apply with calicoctl apply -f FILE',
    '(or kubectl with the Calico API server). Rules in Azure Firewall processing order; the first match decides.',
    ns === undefined ? 'Selects every pod outside kube-system.' : `Selects every pod of namespace ${ns}.`,
  ]
  return { text: kubernetesYaml([{ value: object, comments: egress.map((x, i) => ({ path: ['spec', 'egress', i], text: x.comment })) }], header), diagnostics }
}

export const calicoExporter: Exporter = {
  name: TARGET,
  description: 'Calico GlobalNetworkPolicy with destination.domains, rules in processing order',
  extension: 'yaml',
  uses: ['namespace', 'source'],
  export: exportCalico,
}
