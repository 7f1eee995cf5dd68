/**
 * @module `aks-egress export TARGET [PROFILE | --policy FILE] [--out FILE] [TARGET OPTIONS]`
 * (DESIGN.md §5, §8): the policy written for a target. The text goes to stdout or `--out`; every
 * construct the target cannot express is an `UNSUPPORTED_BY_TARGET` diagnostic on stderr.
 * Exit 0 when the output holds every rule (perhaps with substitutes, warned), 1 when a rule or
 * part of one is left out (an error diagnostic), 2 on bad usage or input.
 */
import { writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { checkAzureName } from '../../config/check-policy.ts'
import { hasErrors } from '../../diagnostics/diagnostic.ts'
import { renderDiagnostics } from '../../diagnostics/render-diagnostic.ts'
import type { ExportOptionName, ExportOptions } from '../../export/exporter.ts'
import { EXPORTERS, findExporter } from '../../export/registry.ts'
import { parseIp } from '../../policy/ip-address.ts'
import { didYouMean } from '../../util/did-you-mean.ts'
import { EXIT_OK, EXIT_PROBLEM, UsageError, type Io } from '../io.ts'
import { formatOptionHelp, parseOptions, PROFILE_OPTIONS, type OptionSpecs } from '../parse-options.ts'
import { policyFromOptions } from '../policy-source.ts'

/** The target options, by the ExportOptions field they set. */
const TARGET_OPTIONS: Readonly<Record<string, { field: ExportOptionName; value: string; help: string }>> = {
  'firewall-name': { field: 'firewallName', value: 'NAME', help: 'Azure Firewall the policy is attached to (azure-cli)' },
  'resource-group': { field: 'resourceGroup', value: 'NAME', help: 'Resource group of the firewall, policy and route table (azure-cli, terraform)' },
  'policy-name': { field: 'policyName', value: 'NAME', help: 'Name of the firewall policy (default: the policy name)' },
  'firewall-private-ip': { field: 'firewallPrivateIp', value: 'IP', help: "Firewall's private IP: next hop of 0.0.0.0/0 (default: looked up / a parameter)" },
  'firewall-public-ip': { field: 'firewallPublicIp', value: 'IP', help: "Firewall's public IP: /32 route to Internet, DNAT destination" },
  'service-ip': { field: 'serviceIp', value: 'IP', help: 'Internal load balancer IP of the ingress: adds the DNAT rule' },
  'service-port': { field: 'servicePort', value: 'PORT', help: 'Port of the ingress service (default 80)' },
  'route-table': { field: 'routeTableName', value: 'NAME', help: 'Name of the route table (default: POLICY-udr)' },
  'vnet-name': { field: 'vnetName', value: 'NAME', help: 'AKS VNet: with --subnet-name, the route table is associated (azure-cli)' },
  'subnet-name': { field: 'subnetName', value: 'NAME', help: 'AKS subnet (azure-cli)' },
  namespace: { field: 'namespace', value: 'NS', help: 'Namespace of the pods (cilium, calico: cluster-wide without it; networkpolicy: default)' },
  'egress-interface': { field: 'egressInterface', value: 'IF', help: 'Interface toward the internet, masqueraded (nftables; default eth0)' },
}

/** nftables options that are not one string each. */
const NFT_OPTIONS: OptionSpecs = {
  'ingress-interface': { type: 'string', multiple: true, value: 'IF', help: 'Interface toward the nodes besides --egress-interface: a flowtable device (nftables; repeatable)' },
  'no-flowtable': { type: 'boolean', help: 'No flowtable fast path (nftables; as serve --no-flowtable, or a kernel without it)' },
}

const OPTIONS: OptionSpecs = {
  ...NFT_OPTIONS,
  policy: { type: 'string', value: 'FILE', help: 'The policy to export (default: the default policy of the PROFILE options)' },
  out: { type: 'string', short: 'o', value: 'FILE', help: 'Write the output to FILE (default: standard output)' },
  ...Object.fromEntries(Object.entries(TARGET_OPTIONS).map(([k, o]) => [k, { type: 'string' as const, value: o.value, help: o.help }])),
  ...PROFILE_OPTIONS,
}

export function exportHelp(): string {
  const width = Math.max(...EXPORTERS.map((e) => e.name.length))
  return `Usage: aks-egress export TARGET [PROFILE | --policy FILE] [--out FILE] [TARGET OPTIONS]

Writes the policy for a target. A rule the target cannot express as written is reported on
stderr (UNSUPPORTED_BY_TARGET) with the substitute used, or as an error when it is left out;
nothing is dropped silently. docs/exporters.md has the table of constructs and targets.

Targets:
${EXPORTERS.map((e) => `  ${e.name.padEnd(width)}  ${e.description} (.${e.extension})`).join('\n')}

Example:
  aks-egress export azure-cli --location westeurope --node-cidr 10.240.0.0/16 \\
    --resource-group aks-rg --firewall-name aks-fw --firewall-private-ip 10.0.1.4 --out fw.sh

Options:
${formatOptionHelp(OPTIONS)}

Exit codes: 0 written; 1 written, but a rule or part of one is left out (see the errors);
2 bad usage or a bad policy.
`
}

function checkIpv4(flag: string, value: string): void {
  const ip = parseIp(value)
  if (!ip) throw new UsageError(`--${flag} "${value}" is not an IP address`)
  if (ip.v !== 4) throw new UsageError(`--${flag} "${value}" is IPv6; Azure Firewall rules and routes take IPv4`)
}

export function runExport(argv: readonly string[], io: Io): number {
  const { values, positionals } = parseOptions(argv, OPTIONS, true)
  if (values['help'] === true) {
    io.stdout.write(exportHelp())
    return EXIT_OK
  }
  const [targetName, ...extra] = positionals
  if (targetName === undefined) throw new UsageError('export needs a TARGET', `one of ${EXPORTERS.map((e) => e.name).join(', ')}`)
  if (extra.length > 0) throw new UsageError(`Unexpected argument "${extra[0] ?? ''}"`, 'export takes one TARGET')
  const exporter = findExporter(targetName)
  if (!exporter) {
    const guess = didYouMean(targetName, EXPORTERS.map((e) => e.name))
    throw new UsageError(`Unknown export target "${targetName}"`, guess ? `did you mean "${guess}"?` : `one of ${EXPORTERS.map((e) => e.name).join(', ')}`)
  }
  const options: Record<string, string | number> = {}
  for (const [flag, o] of Object.entries(TARGET_OPTIONS)) {
    const v = values[flag]
    if (typeof v !== 'string') continue
    if (!exporter.uses.includes(o.field)) throw new UsageError(`--${flag} is not an option of target ${exporter.name}`, 'see "aks-egress export --help" for which target takes which option')
    if (flag.endsWith('-ip')) checkIpv4(flag, v)
    if (flag === 'service-port') {
      const port = Number(v)
      if (!/^\d+$/.test(v) || port < 1 || port > 63999) throw new UsageError(`--service-port "${v}" is not a port from 1 to 63999`, 'Azure Firewall DNAT rules take ports 1-63999')
      options[o.field] = port
      continue
    }
    if (flag === 'namespace' && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(v)) throw new UsageError(`--namespace "${v}" is not a Kubernetes namespace name`)
    if (flag === 'egress-interface' && !/^[A-Za-z0-9_.:@-]{1,15}$/.test(v)) throw new UsageError(`--egress-interface "${v}" is not an interface name`)
    if (['policy-name', 'route-table', 'firewall-name', 'resource-group', 'vnet-name', 'subnet-name'].includes(flag)) {
      const problem = checkAzureName(v)
      if (problem) throw new UsageError(`--${flag} "${v}" is not a valid Azure name: ${problem}`)
    }
    options[o.field] = v
  }
  const nftExtra: { ingressInterfaces?: string[]; flowtable?: boolean } = {}
  const ingress = values['ingress-interface'] as string[] | undefined
  if (ingress !== undefined || values['no-flowtable'] === true) {
    const flag = ingress !== undefined ? 'ingress-interface' : 'no-flowtable'
    if (!exporter.uses.includes('ingressInterfaces')) throw new UsageError(`--${flag} is not an option of target ${exporter.name}`, 'see "aks-egress export --help" for which target takes which option')
    for (const i of ingress ?? []) if (!/^[A-Za-z0-9_.:@-]{1,15}$/.test(i)) throw new UsageError(`--ingress-interface "${i}" is not an interface name`)
    if (ingress !== undefined) nftExtra.ingressInterfaces = ingress
    if (values['no-flowtable'] === true) nftExtra.flowtable = false
  }
  if (options['servicePort'] !== undefined && options['serviceIp'] === undefined) throw new UsageError('--service-port needs --service-ip', 'give the internal load balancer IP of the ingress')
  const source = policyFromOptions(values, io)
  const result = exporter.export(source.policy, { ...(options as ExportOptions), ...nftExtra, source: source.label })
  const out = values['out']
  if (typeof out === 'string') {
    try {
      writeFileSync(resolve(io.cwd, out), result.text, { mode: exporter.extension === 'sh' ? 0o755 : 0o644 })
    } catch (e) {
      const code = e instanceof Error && 'code' in e ? String(e.code) : String(e)
      throw new UsageError(`Cannot write "${out}": ${code}`)
    }
  } else io.stdout.write(result.text)
  if (result.diagnostics.length > 0) io.stderr.write(`${renderDiagnostics(result.diagnostics)}\n`)
  return hasErrors(result.diagnostics) ? EXIT_PROBLEM : EXIT_OK
}
