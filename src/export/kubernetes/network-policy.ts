/**
 * @module `aks-egress export networkpolicy`: a Kubernetes NetworkPolicy (networking.k8s.io/v1)
 * for the pods of one namespace, with what is expressible by CIDR: destination addresses and IP
 * groups as `ipBlock`s, ports with `endPort` ranges. NetworkPolicy has no names, no deny and no
 * ICMP: a rule by name becomes its ports to any address (warning, broader), a Deny rule is left
 * out (error: the policy would allow more), ICMP becomes every protocol (warning, broader).
 */
import type { Diagnostic } from '../../diagnostics/diagnostic.ts'
import type { Policy } from '../../policy/policy-model.ts'
import { headerLines, unsupported, type Exporter, type ExportOptions, type ExportResult } from '../exporter.ts'
import { kubernetesName, rulesInProcessingOrder } from '../policy-walk.ts'
import { destinationsOf, kubernetesYaml, podPolicyDiagnostics } from './k8s-support.ts'

const TARGET = 'networkpolicy'
const ANY_V4 = '0.0.0.0/0'
const ANY_V6 = '::/0'

type Obj = Record<string, unknown>

export function exportNetworkPolicy(policy: Policy, options: ExportOptions): ExportResult {
  const diagnostics: Diagnostic[] = []
  const rules = rulesInProcessingOrder(policy)
  podPolicyDiagnostics(policy, rules, TARGET, 'NetworkPolicy has no audit mode', diagnostics)
  if (policy.settings.dnsPolicy === 'allowed-only') {
    diagnostics.push(unsupported({ target: TARGET, construct: 'dnsPolicy: allowed-only', outcome: 'not expressed: NetworkPolicy does not see DNS queries', severity: 'warning' }))
  }
  const egress: Array<{ rule: Obj; comment: string }> = [{ rule: { to: [{ namespaceSelector: {} }] }, comment: 'In-cluster traffic (pods, kube-dns): it never reaches the Azure firewall.' }]
  for (const w of rules) {
    if (w.type === 'dnat') continue
    if (w.action === 'Deny') {
      diagnostics.push(unsupported({ target: TARGET, rule: w.path, construct: 'a Deny rule (NetworkPolicy only allows)', outcome: 'left out: what it denies stays allowed if another rule allows it', severity: 'error', fix: 'use the cilium or calico target, or remove the overlap from the allow rules' }))
      continue
    }
    const d = destinationsOf(policy, w, TARGET, false, diagnostics)
    const cidrs = new Set(d.cidrs)
    if (d.names.length > 0) {
      diagnostics.push(unsupported({ target: TARGET, rule: w.path, construct: `FQDNs ${d.names.join(', ')} (NetworkPolicy has no names)`, outcome: 'expressed as the rule\'s ports to any address (broader)', severity: 'warning', fix: 'use the cilium or calico target for FQDN rules' }))
    }
    if (d.any || d.names.length > 0) {
      cidrs.add(ANY_V4)
      cidrs.add(ANY_V6)
    }
    const to = [...cidrs].map((cidr) => ({ ipBlock: { cidr } }))
    if (to.length === 0) continue
    let ports: Obj[] | undefined = d.ports.map((p) => (p.from === 1 && p.to === 65535 ? { protocol: p.protocol } : p.from === p.to ? { protocol: p.protocol, port: p.from } : { protocol: p.protocol, port: p.from, endPort: p.to }))
    if (d.icmp && !d.allProtocols) {
      diagnostics.push(unsupported({ target: TARGET, rule: w.path, construct: 'ICMP (NetworkPolicy takes TCP, UDP and SCTP)', outcome: 'expressed as every protocol and port to the same destinations (broader)', severity: 'warning' }))
      ports = undefined
    }
    if (d.allProtocols) ports = undefined
    egress.push({ rule: { to, ...(ports === undefined || ports.length === 0 ? {} : { ports }) }, comment: `${w.path} (${w.action})` })
  }
  const namespace = options.namespace ?? 'default'
  const object = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: kubernetesName(policy.name), namespace },
    spec: { podSelector: {}, policyTypes: ['Egress'], egress: egress.map((x) => x.rule) },
  }
  const header = [
    ...headerLines(TARGET, policy, options, diagnostics),
    '',
    `Selects every pod of namespace ${namespace} (--namespace). Apply with kubectl apply -f FILE.`,
    'NetworkPolicy matches addresses and ports only: FQDN rules need the cilium or calico target.',
  ]
  return { text: kubernetesYaml([{ value: object, comments: egress.map((x, i) => ({ path: ['spec', 'egress', i], text: x.comment })) }], header), diagnostics }
}

export const networkPolicyExporter: Exporter = {
  name: TARGET,
  description: 'Kubernetes NetworkPolicy: what is expressible by CIDR and port (FQDN rules reported)',
  extension: 'yaml',
  uses: ['namespace', 'source'],
  export: exportNetworkPolicy,
}
