/**
 * @module What the Kubernetes targets (cilium, calico, networkpolicy) share: a policy rule as
 * destinations (CIDRs, names, "any") and ports per protocol, the diagnostics every pod-level
 * policy needs (sources, service tags, DNAT, report mode), and YAML with a comment per rule.
 *
 * A pod-level policy selects pods, not source addresses: a rule whose sources are `*` or the
 * profile's node subnets (what the default policy writes) applies to every selected pod; other
 * sources cannot be expressed (warning, broader) unless the target can filter on them (calico).
 * In-cluster traffic never reaches the Azure firewall, so every target allows it first.
 */
import { Document, type YAMLMap } from 'yaml'
import type { Diagnostic } from '../../diagnostics/diagnostic.ts'
import type { NetworkProtocol, Policy } from '../../policy/policy-model.ts'
import { parsePortSpec } from '../../policy/port-range.ts'
import { unsupported } from '../exporter.ts'
import { classifyAddress, expandIpGroups, fqdnTagNames, isClusterSource, type WalkedRule } from '../policy-walk.ts'

/** A port range of one protocol; `TCP 1-65535` stands for every port. */
export interface PortSpec {
  readonly protocol: 'TCP' | 'UDP'
  readonly from: number
  readonly to: number
}

/** The L3/L4 content of one application or network rule. */
export interface Destinations {
  readonly cidrs: readonly string[]
  /** `*`, or a service tag substituted by "any address". */
  readonly any: boolean
  /** FQDN patterns (our syntax). */
  readonly names: readonly string[]
  /** TCP/UDP port ranges; empty with `allProtocols` when the rule allows every protocol and port. */
  readonly ports: readonly PortSpec[]
  readonly allProtocols: boolean
  readonly icmp: boolean
}

/**
 * The destinations and ports of an application or network rule, with the diagnostics that every
 * Kubernetes target shares (service tags, FQDN tags, sources).
 */
export function destinationsOf(policy: Policy, w: Exclude<WalkedRule, { type: 'dnat' }>, target: string, canFilterSources: boolean, out: Diagnostic[]): Destinations {
  const cidrs: string[] = []
  let any = false
  const names: string[] = []
  const ports: PortSpec[] = []
  let allProtocols = false
  let icmp = false
  const r = w.rule
  if (!canFilterSources && !isClusterSource(policy, r.sourceAddresses, r.sourceIpGroups)) {
    const src = [...r.sourceAddresses, ...r.sourceIpGroups.map((g) => `IP group ${g}`)]
    out.push(unsupported({ target, rule: w.path, construct: `source addresses ${src.join(', ')} (a pod-level policy selects pods, not addresses)`, outcome: `${w.action === 'Deny' ? 'denied' : 'allowed'} for every selected pod (broader)`, severity: 'warning', fix: 'select the pods with --namespace, or use the node subnets as sources' }))
  }
  if (w.type === 'application') {
    names.push(...w.rule.targetFqdns)
    for (const tag of w.rule.fqdnTags) {
      const expanded = fqdnTagNames(policy, tag)
      names.push(...expanded)
      out.push(unsupported({ target, rule: w.path, construct: `FQDN tag ${tag} (an Azure Firewall tag)`, outcome: `expanded to the ${expanded.length} names of catalog ${policy.profile?.catalog ?? '?'} for the profile (Microsoft updates the tag, this list is fixed at export)`, severity: 'warning' }))
    }
    for (const p of w.rule.protocols) if (!ports.some((x) => x.from === p.port)) ports.push({ protocol: 'TCP', from: p.port, to: p.port })
  } else {
    const rule = w.rule
    const addresses = [...rule.destinationAddresses, ...expandIpGroups(policy, rule.destinationIpGroups)]
    for (const a of addresses) {
      const c = classifyAddress(a)
      if (c.kind === 'any') any = true
      else if (c.kind === 'block') cidrs.push(...c.cidrs.filter((x) => !cidrs.includes(x)))
      else {
        any = true
        out.push(unsupported({ target, rule: w.path, construct: `service tag ${a} (an Azure list of address ranges)`, outcome: 'expressed as any address on the same ports (broader)', severity: 'warning', fix: 'write the address ranges, or the API server IP (--api-server)' }))
      }
    }
    names.push(...rule.destinationFqdns)
    const protocols = new Set<NetworkProtocol>(rule.ipProtocols)
    icmp = protocols.has('ICMP')
    const l4: Array<'TCP' | 'UDP'> = protocols.has('Any') ? ['TCP', 'UDP'] : (['TCP', 'UDP'] as const).filter((p) => protocols.has(p))
    const everyPort = rule.destinationPorts.includes('*')
    if (protocols.has('Any') && everyPort) allProtocols = true
    else {
      for (const proto of l4) {
        for (const spec of everyPort ? ['1-65535'] : rule.destinationPorts) {
          const parsed = parsePortSpec(spec)
          if (parsed.ok) ports.push({ protocol: proto, from: parsed.range.from, to: parsed.range.to })
        }
      }
    }
  }
  return { cidrs, any, names: [...new Set(names)], ports, allProtocols, icmp }
}

/** The shared policy-level and DNAT diagnostics of a pod-level target. */
export function podPolicyDiagnostics(policy: Policy, rules: readonly WalkedRule[], target: string, reportHint: string, out: Diagnostic[]): void {
  if (policy.settings.mode === 'report') {
    out.push(unsupported({ target, construct: 'mode: report', outcome: `not in the manifest: the exported policy enforces (${reportHint})`, severity: 'warning' }))
  }
  for (const w of rules) {
    if (w.type === 'dnat') {
      out.push(unsupported({ target, rule: w.path, construct: 'DNAT rule (inbound translation at the firewall)', outcome: 'not in the manifest: a pod egress policy does not translate addresses; keep it on the firewall', severity: 'warning' }))
    }
  }
  if (rules.some((w) => w.type === 'application')) {
    out.push(unsupported({ target, construct: 'application rules match the TLS SNI or HTTP Host', outcome: 'expressed as the addresses the names resolve to: names that share an address share the allowance', severity: 'warning' }))
  }
}

/** YAML of Kubernetes objects, `---` separated, with a comment block before chosen items. */
export function kubernetesYaml(objects: ReadonlyArray<{ readonly value: unknown; readonly comments: ReadonlyArray<{ readonly path: readonly (string | number)[]; readonly text: string }> }>, header: readonly string[]): string {
  const docs = objects.map((o, i) => {
    const doc = new Document(o.value)
    if (i === 0 && header.length > 0) doc.commentBefore = header.map((l) => (l === '' ? '' : ` ${l}`)).join('\n')
    for (const c of o.comments) {
      const node = doc.getIn(c.path, true) as YAMLMap | undefined
      if (node && typeof node === 'object') node.commentBefore = c.text.split('\n').map((l) => ` ${l}`).join('\n')
    }
    return doc.toString({ lineWidth: 0 })
  })
  return docs.join('---\n')
}
