/**
 * @module The exporter interface (DESIGN.md §5): one policy in, one target's text out, with a
 * diagnostic for every rule the target cannot express as written (style-anchors §3, hono's
 * `Router` + `UnsupportedPathError`).
 *
 * The contract every exporter keeps, and test/conformance/exporters.test.ts checks for each:
 * - `export` is pure: no I/O, no clock, same input → same text.
 * - Every rule of the policy is accounted for. A rule expressed in the output carries its path
 *   (`group/collection/rule`, see `rulePath`) in the text: as a description, a name or a comment.
 *   A rule expressed with a substitute, or left out, is named by its path in an
 *   `UNSUPPORTED_BY_TARGET` diagnostic that says the construct and the substitute (or that there is
 *   none). Nothing is dropped silently.
 * - Severity: `warning` when a substitute is used (broader or narrower than the rule), or when the
 *   construct is outside what the target is for (a Squid fragment does not carry network rules);
 *   `error` when a rule, or part of it, that the target should carry is left out.
 *
 * Adding a target is one file that exports an `Exporter` and one line in registry.ts.
 */
import { diagnostic, type Diagnostic, type Severity } from '../diagnostics/diagnostic.ts'
import type { Policy } from '../policy/policy-model.ts'

/** Options the command line passes to exporters; each exporter reads those it lists in `uses`. */
export interface ExportOptions {
  /** Azure: the existing firewall the policy is attached to. */
  readonly firewallName?: string
  /** Azure: the resource group of the firewall, the policy and the route table. */
  readonly resourceGroup?: string
  /** Azure: the name of the firewall policy (default: the policy's name). */
  readonly policyName?: string
  /** Azure: the firewall's private IP, the next hop of the 0.0.0.0/0 route. */
  readonly firewallPrivateIp?: string
  /** Azure: the firewall's public IP (the /32 route to Internet, the DNAT destination). */
  readonly firewallPublicIp?: string
  /** Azure: the internal load balancer IP of the ingress service; adds the DNAT rule. */
  readonly serviceIp?: string
  /** Azure: the port of the ingress service (default 80). */
  readonly servicePort?: number
  /** Azure: the route table's name (default: `<policy name>-udr`). */
  readonly routeTableName?: string
  /** Azure CLI: the AKS VNet and subnet the route table is associated with. */
  readonly vnetName?: string
  readonly subnetName?: string
  /** Kubernetes: the namespace of a namespaced policy (cilium, calico: cluster-wide when absent). */
  readonly namespace?: string
  /** nftables: the interface toward the internet, where outbound flows are masqueraded (default eth0). */
  readonly egressInterface?: string
  /** nftables: interfaces toward the nodes besides the egress interface (flowtable devices). */
  readonly ingressInterfaces?: readonly string[]
  /** nftables: false leaves out the flowtable (as `serve --no-flowtable`, or a kernel without it). */
  readonly flowtable?: boolean
  /** How the policy was named to the user (file, or "the default policy of ..."), for the header. */
  readonly source?: string
}

export type ExportOptionName = keyof ExportOptions

export interface ExportResult {
  readonly text: string
  readonly diagnostics: readonly Diagnostic[]
}

export interface Exporter {
  /** The TARGET of `aks-egress export TARGET`: lower-case, `-` separated. */
  readonly name: string
  /** One line for `export --help`. */
  readonly description: string
  /** The file extension of the output, without the dot (`sh`, `json`, `tf`). */
  readonly extension: string
  /** The options the exporter reads (the command line rejects the others for this target). */
  readonly uses: readonly ExportOptionName[]
  export(policy: Policy, options: ExportOptions): ExportResult
}

/** What a diagnostic says about one construct of one rule. */
export interface Unsupported {
  /** The target's name. */
  readonly target: string
  /** `group/collection/rule`, or undefined for a construct of the whole policy (its mode). */
  readonly rule?: string | undefined
  /** What cannot be expressed as written: `wildcard FQDN "*.hcp.westeurope.azmk8s.io" in a network rule`. */
  readonly construct: string
  /** What the output does instead: `expressed as service tag AzureCloud.westeurope (broader)`, `left out`. */
  readonly outcome: string
  readonly severity: Severity
  readonly fix?: string | undefined
}

/** An `UNSUPPORTED_BY_TARGET` diagnostic: `azure-cli: rule G/C/R: CONSTRUCT; OUTCOME`. */
export function unsupported(u: Unsupported): Diagnostic {
  const where = u.rule === undefined ? 'policy' : `rule ${u.rule}`
  return diagnostic('UNSUPPORTED_BY_TARGET', {
    message: `${u.target}: ${where}: ${u.construct}; ${u.outcome}`,
    severity: u.severity,
    fix: u.fix,
  })
}

/** Header lines shared by every target (comment characters are the target's business). */
export function headerLines(target: string, policy: Policy, options: ExportOptions, diagnostics: readonly Diagnostic[]): string[] {
  const lines = [
    `Written by aks-egress export ${target} from ${options.source ?? `policy "${policy.name}"`}.`,
    `Policy "${policy.name}"${policy.profile ? `: cloud ${policy.profile.cloud}${policy.profile.location ? `, region ${policy.profile.location}` : ''}, catalog ${policy.profile.catalog}` : ''}.`,
    'Each rule carries its path in the aks-egress policy: GROUP/COLLECTION/RULE.',
  ]
  const errors = diagnostics.filter((d) => d.severity === 'error').length
  const warnings = diagnostics.length - errors
  if (diagnostics.length > 0) {
    lines.push(`${errors} error(s), ${warnings} warning(s) on export: constructs ${target} cannot express as written (listed below and on stderr).`)
    for (const d of diagnostics) lines.push(`  ${d.severity}: ${d.message}`)
  }
  return lines
}
