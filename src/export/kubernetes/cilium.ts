/**
 * @module `aks-egress export cilium`: a CiliumClusterwideNetworkPolicy (every pod outside
 * kube-system), or with `--namespace` a CiliumNetworkPolicy, with `toFQDNs` for names and the DNS
 * rule to kube-dns that makes them work (peers.md §2: without it toFQDNs never learns an address).
 *
 * Names: `a.b.com` → matchName; `*.b.com` (any depth) → matchPattern `**.b.com` (Cilium ≥ 1.19;
 * Cilium's `*.` matches one label); `*` → matchPattern `*`; suffix `*b.com` → `*b.com` and
 * `**.b.com`, which miss `x.yb.com` (warning, narrower).
 * Order: Cilium denies (`egressDeny`) win over every allow, whatever the order; a deny that Azure
 * would process after an allow is flagged. `egressDeny` takes no `toFQDNs` (error).
 * One L3 selector per egress rule (Cilium rejects `toFQDNs` with `toCIDR`), at most 40 ports each.
 */
import type { Diagnostic } from '../../diagnostics/diagnostic.ts'
import type { Policy } from '../../policy/policy-model.ts'
import { headerLines, unsupported, type Exporter, type ExportOptions, type ExportResult } from '../exporter.ts'
import { kubernetesName, patternOf, rulesInProcessingOrder } from '../policy-walk.ts'
import { destinationsOf, kubernetesYaml, podPolicyDiagnostics, type Destinations } from './k8s-support.ts'

const TARGET = 'cilium'
/** `maxItems` of `toPorts[].ports` in the Cilium CRD. */
const MAX_PORTS = 40

type Obj = Record<string, unknown>

/** Cilium FQDN selectors for one of our patterns; `narrower` when they miss names ours match. */
export function ciliumSelectors(pattern: string): { selectors: Obj[]; narrower: boolean } {
  const p = patternOf(pattern)
  switch (p.kind) {
    case 'exact':
      return { selectors: [{ matchName: p.name }], narrower: false }
    case 'any':
      return { selectors: [{ matchPattern: '*' }], narrower: false }
    case 'subdomain':
      return { selectors: [{ matchPattern: `**.${p.base}` }], narrower: false }
    case 'suffix': {
      const whole = p.base === '' ? p.tail : `${p.tail}.${p.base}`
      return { selectors: [{ matchPattern: `*${whole}` }, { matchPattern: `**.${whole}` }], narrower: true }
    }
  }
}

function portRules(d: Destinations): Obj[] {
  const ports = d.ports.map((p) => (p.from === p.to ? { port: String(p.from), protocol: p.protocol } : { port: String(p.from), endPort: p.to, protocol: p.protocol }))
  const out: Obj[] = []
  for (let i = 0; i < ports.length; i += MAX_PORTS) out.push({ ports: ports.slice(i, i + MAX_PORTS) })
  return out
}

export function exportCilium(policy: Policy, options: ExportOptions): ExportResult {
  const diagnostics: Diagnostic[] = []
  const rules = rulesInProcessingOrder(policy)
  podPolicyDiagnostics(policy, rules, TARGET, 'Cilium has a per-endpoint policy audit mode instead: policyAuditMode', diagnostics)
  const egress: Array<{ rule: Obj; comment: string }> = []
  const egressDeny: Array<{ rule: Obj; comment: string }> = []
  const dnsPatterns = new Set<string>()
  let usesFqdns = false
  const allowsSoFar: string[] = []
  for (const w of rules) {
    if (w.type === 'dnat') continue
    const d = destinationsOf(policy, w, TARGET, false, diagnostics)
    const deny = w.action === 'Deny'
    const target = deny ? egressDeny : egress
    const comment = `${w.path} (${w.action})`
    const l4 = d.allProtocols ? {} : { toPorts: portRules(d) }
    const withPorts = (l3: Obj): Obj[] => {
      const out: Obj[] = []
      if (d.allProtocols || d.ports.length > 0) out.push({ ...l3, ...l4 })
      if (d.icmp && !d.allProtocols) out.push({ ...l3, icmps: [{ fields: [{ type: 8, family: 'IPv4' }, { type: 128, family: 'IPv6' }] }] })
      return out
    }
    if (d.icmp && !d.allProtocols) {
      diagnostics.push(unsupported({ target: TARGET, rule: w.path, construct: 'ICMP (every type)', outcome: 'expressed as ICMP echo request (IPv4 type 8, IPv6 type 128) only (narrower)', severity: 'warning' }))
    }
    const produced: Obj[] = []
    if (d.any) produced.push(...withPorts({ toEntities: ['world'] }))
    if (d.cidrs.length > 0) produced.push(...withPorts({ toCIDR: [...d.cidrs] }))
    if (d.names.length > 0) {
      if (deny) {
        diagnostics.push(unsupported({ target: TARGET, rule: w.path, construct: `deny by name (${d.names.join(', ')}): Cilium's egressDeny takes no toFQDNs`, outcome: 'left out: the names are not denied', severity: 'error', fix: 'deny the addresses (toCIDR), or drop the names from the allow rules instead' }))
      } else {
        const selectors: Obj[] = []
        for (const name of d.names) {
          const s = ciliumSelectors(name)
          selectors.push(...s.selectors)
          for (const sel of s.selectors) dnsPatterns.add(String(sel['matchName'] ?? sel['matchPattern']))
          if (s.narrower) diagnostics.push(unsupported({ target: TARGET, rule: w.path, construct: `suffix wildcard "${name}" (any name ending in the string)`, outcome: `expressed as ${s.selectors.map((x) => `matchPattern "${String(x['matchPattern'])}"`).join(' and ')}, which miss subdomains of look-alikes (narrower)`, severity: 'warning' }))
        }
        usesFqdns = true
        produced.push(...withPorts({ toFQDNs: selectors }))
      }
    }
    if (deny && produced.length > 0 && allowsSoFar.length > 0) {
      diagnostics.push(unsupported({ target: TARGET, rule: w.path, construct: `a deny processed after allow rules (${allowsSoFar.slice(0, 3).join(', ')}${allowsSoFar.length > 3 ? ', ...' : ''})`, outcome: 'Cilium denies win over every allow: traffic those allow rules match and this one denies is denied (narrower)', severity: 'warning' }))
    }
    for (const rule of produced) target.push({ rule, comment })
    if (!deny && produced.length > 0) allowsSoFar.push(w.path)
  }
  const allowedOnly = policy.settings.dnsPolicy === 'allowed-only'
  const prelude: Array<{ rule: Obj; comment: string }> = [{ rule: { toEntities: ['cluster'] }, comment: 'In-cluster traffic: it never reaches the Azure firewall.' }]
  if (usesFqdns) {
    prelude.push({
      rule: {
        toEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'kube-system', 'k8s:k8s-app': 'kube-dns' } }],
        toPorts: [{ ports: [{ port: '53', protocol: 'ANY' }], rules: { dns: allowedOnly ? [...dnsPatterns].map((p) => (p.includes('*') ? { matchPattern: p } : { matchName: p })) : [{ matchPattern: '*' }] } }],
      },
      comment: `DNS through kube-dns, seen by Cilium's DNS proxy: toFQDNs learns addresses from these answers.${allowedOnly ? '\ndnsPolicy allowed-only: only the names the policy allows are resolved.' : ''}`,
    })
  }
  const all = [...prelude, ...egress]
  const namespaced = options.namespace !== undefined
  const spec: Obj = {
    description: `aks-egress policy ${policy.name}: egress of the selected pods`,
    endpointSelector: namespaced ? {} : { matchExpressions: [{ key: 'k8s:io.kubernetes.pod.namespace', operator: 'NotIn', values: ['kube-system'] }] },
    egress: all.map((x) => x.rule),
    ...(egressDeny.length > 0 ? { egressDeny: egressDeny.map((x) => x.rule) } : {}),
  }
  const object = {
    apiVersion: 'cilium.io/v2',
    kind: namespaced ? 'CiliumNetworkPolicy' : 'CiliumClusterwideNetworkPolicy',
    metadata: { name: kubernetesName(policy.name), ...(namespaced ? { namespace: options.namespace } : {}) },
    spec,
  }
  const comments = [
    ...all.map((x, i) => ({ path: ['spec', 'egress', i], text: x.comment })),
    ...egressDeny.map((x, i) => ({ path: ['spec', 'egressDeny', i], text: x.comment })),
  ]
  const header = [
    ...headerLines(TARGET, policy, options, diagnostics),
    '',
    'Cilium >= 1.19 (matchPattern "**." for subdomains of any depth). Apply with kubectl apply -f FILE.',
    namespaced ? `Selects every pod of namespace ${options.namespace ?? ''}.` : 'Selects every pod outside kube-system (whose DNS and system traffic it would otherwise cut).',
  ]
  return { text: kubernetesYaml([{ value: object, comments }], header), diagnostics }
}

export const ciliumExporter: Exporter = {
  name: TARGET,
  description: 'CiliumClusterwideNetworkPolicy (or CiliumNetworkPolicy with --namespace) with toFQDNs',
  extension: 'yaml',
  uses: ['namespace', 'source'],
  export: exportCilium,
}
