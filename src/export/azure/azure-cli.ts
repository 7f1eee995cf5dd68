/**
 * @module `aks-egress export azure-cli`: a bash script of `az` commands (azure-facts §4.3 and
 * limit-egress-traffic.md): the firewall policy (DNS proxy on when network rules use FQDNs), IP
 * groups, rule collection groups, collections and rules, the DNAT rule for ingress, the policy
 * attached to the firewall, and the route table (`0.0.0.0/0` to the firewall's private IP, the
 * firewall's public IP /32 to the Internet), associated with the AKS subnet when it is named.
 *
 * The values a user changes are variables at the top, overridable from the environment; those not
 * given are looked up from the firewall, or the script stops and says which to set.
 * Re-running is safe: `rule-collection-group create` replaces a group and its collections.
 */
import type { Policy } from '../../policy/policy-model.ts'
import { headerLines, type Exporter, type ExportOptions, type ExportResult } from '../exporter.ts'
import { buildAzurePlan, type AzCollection, type AzFilterRule, type AzNatRule, type AzValue } from './azure-plan.ts'

const TARGET = 'azure-cli'

/** A word for bash: bare when it holds no special character, else single-quoted. */
export function shellWord(s: string): string {
  if (/^[A-Za-z0-9_.,:/=@%+-]+$/.test(s)) return s
  return `'${s.replace(/'/g, `'\\''`)}'`
}

function flag(name: string, values: readonly string[]): string[] {
  return values.length === 0 ? [] : [`${name} ${values.join(' ')}`]
}

/** One command, continued over lines of flags. */
function command(head: string, flags: readonly string[]): string {
  return [head, ...flags].join(' \\\n  ')
}

export function exportAzureCli(policy: Policy, options: ExportOptions): ExportResult {
  const plan = buildAzurePlan(policy, options, TARGET)
  const out: string[] = ['#!/usr/bin/env bash']
  for (const l of headerLines(TARGET, policy, options, plan.diagnostics)) out.push(`# ${l}`)
  out.push(
    '#',
    '# Needs the Azure CLI, logged in (az login), with rights on the resource group. Run it with bash;',
    '# the values below can be edited or set in the environment (RG=... FIREWALL_NAME=... bash FILE).',
    '# Then create the cluster with --outbound-type userDefinedRouting in the subnet of the route table.',
    'set -euo pipefail',
    '',
  )
  const v = (name: string, value: string | undefined, otherwise: string, comment: string): void => {
    out.push(`# ${comment}`)
    if (value !== undefined) out.push(`${name}="\${${name}:-${value.replace(/["$`\\]/g, '\\$&')}}"`)
    else if (otherwise.startsWith('?')) out.push(`${name}="\${${name}:${otherwise}}"`)
    else out.push(`${name}="\${${name}:-${otherwise}}"`)
  }
  const require = (name: string, what: string): string => `?set ${name} to ${what}`
  v('RG', options.resourceGroup, require('RG', 'the resource group of the firewall'), 'Resource group of the firewall, the policy and the route table')
  v('FIREWALL_NAME', options.firewallName, require('FIREWALL_NAME', 'the name of the Azure Firewall'), 'The Azure Firewall the policy is attached to')
  v('POLICY_NAME', plan.policyName, '', 'Name of the firewall policy')
  v('LOCATION', plan.location, '$(az group show -n "$RG" --query location -o tsv)', 'Region of the policy and the route table')
  v('FW_PRIVATE_IP', options.firewallPrivateIp, `$(az network firewall show -g "$RG" -n "$FIREWALL_NAME" --query 'ipConfigurations[0].privateIPAddress' -o tsv)`, "The firewall's private IP: next hop of the default route")
  v('FW_PUBLIC_IP', options.firewallPublicIp, `$(az network public-ip show --ids "$(az network firewall show -g "$RG" -n "$FIREWALL_NAME" --query 'ipConfigurations[0].publicIPAddress.id' -o tsv)" --query ipAddress -o tsv)`, "The firewall's public IP: routed to the Internet (asymmetric routing), DNAT destination")
  v('ROUTE_TABLE', options.routeTableName ?? `${plan.policyName}-udr`, '', 'Route table for the AKS subnet')
  if (plan.ingress) v('SERVICE_IP', options.serviceIp, require('SERVICE_IP', 'the internal load balancer IP of the ingress'), 'Internal load balancer IP of the ingress service (DNAT target)')
  v('VNET_NAME', options.vnetName, '', 'AKS VNet and subnet: when both are set, the route table is associated with the subnet')
  out.push(options.subnetName === undefined ? 'AKS_SUBNET_NAME="${AKS_SUBNET_NAME:-}"' : `AKS_SUBNET_NAME="\${AKS_SUBNET_NAME:-${options.subnetName}}"`)
  out.push('')
  out.push('# The firewall policy commands come with the azure-firewall extension.')
  out.push('az extension add --name azure-firewall --upgrade --yes')
  out.push('')
  out.push('echo "==> firewall policy $POLICY_NAME" >&2')
  out.push(command('az network firewall policy create -g "$RG" -n "$POLICY_NAME" -l "$LOCATION"', ['--sku Standard --threat-intel-mode Alert', ...(plan.dnsProxy ? ['--enable-dns-proxy true'] : [])]))
  if (plan.dnsProxy) {
    out.push('# Network rules use FQDNs: DNS proxy is on. Point the VNet at the firewall for DNS so that nodes')
    out.push('# and firewall resolve the same addresses:')
    out.push('#   az network vnet update -g "$RG" -n "$VNET_NAME" --dns-servers "$FW_PRIVATE_IP"')
  }
  out.push('')
  for (const g of plan.ipGroups) {
    out.push(`echo "==> IP group ${g.name}" >&2`)
    out.push(command(`az network ip-group create -g "$RG" -n ${shellWord(g.name)} -l "$LOCATION"`, flag('--ip-addresses', g.addresses.map(shellWord))))
    out.push('')
  }
  const value = (x: AzValue): string => ('literal' in x ? shellWord(x.literal) : x.param === 'firewallPublicIp' ? '"$FW_PUBLIC_IP"' : '"$SERVICE_IP"')
  const ruleFlags = (r: AzFilterRule | AzNatRule): string[] => {
    const common = [`--description ${shellWord(r.description)}`, ...flag('--source-addresses', r.sourceAddresses.map(shellWord)), ...flag('--source-ip-groups', r.sourceIpGroups.map(shellWord))]
    if (r.ruleType === 'ApplicationRule') {
      return [...common, `--protocols ${r.protocols.map((p) => `${p.protocolType}=${p.port}`).join(' ')}`, ...flag('--target-fqdns', r.targetFqdns.map(shellWord)), ...flag('--fqdn-tags', r.fqdnTags.map(shellWord))]
    }
    if (r.ruleType === 'NetworkRule') {
      return [
        ...common,
        `--ip-protocols ${r.ipProtocols.join(' ')}`,
        ...flag('--destination-addresses', r.destinationAddresses.map(shellWord)),
        ...flag('--destination-ip-groups', r.destinationIpGroups.map(shellWord)),
        ...flag('--destination-fqdns', r.destinationFqdns.map(shellWord)),
        `--destination-ports ${r.destinationPorts.map(shellWord).join(' ')}`,
      ]
    }
    return [
      ...common,
      `--ip-protocols ${r.ipProtocols.join(' ')}`,
      `--destination-addresses ${value(r.destinationAddress)}`,
      `--destination-ports ${r.destinationPort}`,
      ...(r.translatedAddress === undefined ? [] : [`--translated-address ${value(r.translatedAddress)}`]),
      ...(r.translatedFqdn === undefined ? [] : [`--translated-fqdn ${shellWord(r.translatedFqdn)}`]),
      `--translated-port ${r.translatedPort}`,
    ]
  }
  const ruleType = (c: AzCollection): string => (c.kind === 'nat' ? 'NatRule' : c.ruleType)
  for (const g of plan.groups) {
    out.push(`echo "==> rule collection group ${g.name}" >&2`)
    out.push(`az network firewall policy rule-collection-group create -g "$RG" --policy-name "$POLICY_NAME" -n ${shellWord(g.name)} --priority ${g.priority}`)
    const where = `-g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name ${shellWord(g.name)}`
    for (const c of g.collections) {
      const [first, ...rest] = c.rules as ReadonlyArray<AzFilterRule | AzNatRule>
      if (first === undefined) continue
      out.push('')
      out.push(`# collection ${c.name}: ${c.kind === 'nat' ? 'DNAT' : `${c.ruleType === 'ApplicationRule' ? 'application' : 'network'}, ${c.action}`}, priority ${c.priority}`)
      const add = c.kind === 'nat' ? 'add-nat-collection' : 'add-filter-collection'
      out.push(
        command(`az network firewall policy rule-collection-group collection ${add} ${where}`, [
          `-n ${shellWord(c.name)} --collection-priority ${c.priority} --action ${c.action}`,
          `--rule-name ${shellWord(first.name)}${c.kind === 'nat' ? '' : ` --rule-type ${ruleType(c)}`}`,
          ...ruleFlags(first),
        ]),
      )
      for (const r of rest) {
        out.push(command(`az network firewall policy rule-collection-group collection rule add ${where}`, [`--collection-name ${shellWord(c.name)} --name ${shellWord(r.name)} --rule-type ${ruleType(c)}`, ...ruleFlags(r)]))
      }
    }
    out.push('')
  }
  out.push('echo "==> attach the policy to firewall $FIREWALL_NAME" >&2')
  out.push('az network firewall update -g "$RG" -n "$FIREWALL_NAME" --firewall-policy "$POLICY_NAME"')
  out.push('')
  out.push('echo "==> route table $ROUTE_TABLE" >&2')
  out.push('az network route-table create -g "$RG" -n "$ROUTE_TABLE" -l "$LOCATION"')
  out.push(command('az network route-table route create -g "$RG" --route-table-name "$ROUTE_TABLE" -n default-to-firewall', ['--address-prefix 0.0.0.0/0 --next-hop-type VirtualAppliance --next-hop-ip-address "$FW_PRIVATE_IP"']))
  out.push(command('az network route-table route create -g "$RG" --route-table-name "$ROUTE_TABLE" -n firewall-public-ip', ['--address-prefix "$FW_PUBLIC_IP/32" --next-hop-type Internet']))
  out.push('if [[ -n "$VNET_NAME" && -n "$AKS_SUBNET_NAME" ]]; then')
  out.push('  az network vnet subnet update -g "$RG" --vnet-name "$VNET_NAME" -n "$AKS_SUBNET_NAME" --route-table "$ROUTE_TABLE"')
  out.push('else')
  out.push('  echo "Associate the route table with the AKS subnet: az network vnet subnet update -g $RG --vnet-name VNET -n SUBNET --route-table $ROUTE_TABLE" >&2')
  out.push('fi')
  return { text: `${out.join('\n')}\n`, diagnostics: plan.diagnostics }
}

export const azureCliExporter: Exporter = {
  name: TARGET,
  description: 'Bash script of az commands: firewall policy, rules, DNAT for ingress, route table',
  extension: 'sh',
  uses: ['resourceGroup', 'firewallName', 'policyName', 'firewallPrivateIp', 'firewallPublicIp', 'serviceIp', 'servicePort', 'routeTableName', 'vnetName', 'subnetName', 'source'],
  export: exportAzureCli,
}
