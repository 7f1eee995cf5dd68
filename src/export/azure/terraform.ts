/**
 * @module `aks-egress export terraform`: HCL for the azurerm provider (azure-facts §4.2):
 * `azurerm_firewall_policy` (DNS proxy when network rules use FQDNs), `azurerm_ip_group`s, one
 * `azurerm_firewall_policy_rule_collection_group` per group, `azurerm_route_table` with the two
 * routes of limit-egress-traffic.md, and the subnet association when `aks_subnet_id` is set.
 */
import type { Policy } from '../../policy/policy-model.ts'
import { headerLines, type Exporter, type ExportOptions, type ExportResult } from '../exporter.ts'
import { buildAzurePlan, type AzCollection, type AzFilterRule, type AzNatRule, type AzValue } from './azure-plan.ts'
import { deployNotes } from './deploy-notes.ts'

const TARGET = 'terraform'

type Item = { readonly key: string; readonly value: string } | Block
interface Block {
  readonly type: string
  readonly labels: readonly string[]
  readonly body: readonly Item[]
}

function isBlock(i: Item): i is Block {
  return 'body' in i
}

/** An HCL string literal: `"`, `\` escaped, template sequences `${` and `%{` doubled. */
export function hclString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\$\{/g, '$${').replace(/%\{/g, '%%{').replace(/\n/g, '\\n')}"`
}

function hclList(items: readonly string[], indent: string): string {
  const one = `[${items.join(', ')}]`
  if (one.length <= 80) return one
  return `[\n${items.map((i) => `${indent}  ${i},`).join('\n')}\n${indent}]`
}

function render(block: Block, indent = ''): string[] {
  const head = `${indent}${block.type}${block.labels.map((l) => ` ${hclString(l)}`).join('')} {`
  if (block.body.length === 0) return [`${head}}`]
  const inner = `${indent}  `
  const lines = [head]
  let run: Array<{ key: string; value: string }> = []
  const flush = (): void => {
    const width = Math.max(0, ...run.filter((a) => !a.value.includes('\n')).map((a) => a.key.length))
    for (const a of run) lines.push(`${inner}${a.value.includes('\n') ? a.key : a.key.padEnd(width)} = ${a.value}`)
    run = []
  }
  let previousWasBlock = false
  for (const item of block.body) {
    if (isBlock(item)) {
      flush()
      if (lines.length > 1) lines.push('')
      lines.push(...render(item, inner))
      previousWasBlock = true
    } else {
      if (previousWasBlock) lines.push('')
      previousWasBlock = false
      run.push(item)
    }
  }
  flush()
  lines.push(`${indent}}`)
  return lines
}

function attr(key: string, value: string): Item {
  return { key, value }
}

function block(type: string, labels: readonly string[], body: readonly Item[]): Block {
  return { type, labels, body }
}

function identifier(name: string, taken: Set<string>): string {
  let base = name.replace(/[^A-Za-z0-9_-]/g, '_')
  if (!/^[A-Za-z_]/.test(base)) base = `_${base}`
  let s = base
  for (let i = 2; taken.has(s); i++) s = `${base}_${i}`
  taken.add(s)
  return s
}

export function exportTerraform(policy: Policy, options: ExportOptions): ExportResult {
  const plan = buildAzurePlan(policy, options, TARGET)
  const routeTable = options.routeTableName ?? `${plan.policyName}-udr`
  const blocks: Block[] = []
  blocks.push(block('terraform', [], [block('required_providers', [], [attr('azurerm', '{\n      source  = "hashicorp/azurerm"\n      version = ">= 3.80"\n    }')])]))
  blocks.push(block('provider', ['azurerm'], [block('features', [], [])]))
  const variable = (name: string, description: string, value: string | undefined | null): void => {
    blocks.push(block('variable', [name], [attr('description', hclString(description)), attr('type', 'string'), ...(value === undefined ? [] : [attr('default', value === null ? 'null' : hclString(value))])]))
  }
  variable('resource_group_name', 'Resource group of the firewall policy and the route table', options.resourceGroup)
  variable('location', 'Region of the firewall policy and the route table', plan.location)
  variable('firewall_policy_name', 'Name of the firewall policy', plan.policyName)
  variable('firewall_private_ip', "The firewall's private IP: next hop of the 0.0.0.0/0 route", options.firewallPrivateIp)
  variable('firewall_public_ip', "The firewall's public IP: routed to the Internet (asymmetric routing) and the DNAT destination", options.firewallPublicIp)
  variable('route_table_name', 'Name of the route table for the AKS subnet', routeTable)
  if (plan.ingress) variable('service_ip', 'Internal load balancer IP of the ingress service (DNAT target)', options.serviceIp)
  variable('aks_subnet_id', 'ID of the AKS subnet; when set, the route table is associated with it', null)

  const taken = new Set<string>()
  const policyLabel = identifier('aks_egress', taken)
  blocks.push(
    block('resource', ['azurerm_firewall_policy', policyLabel], [
      attr('name', 'var.firewall_policy_name'),
      attr('resource_group_name', 'var.resource_group_name'),
      attr('location', 'var.location'),
      attr('sku', '"Standard"'),
      attr('threat_intelligence_mode', '"Alert"'),
      ...(plan.dnsProxy ? [block('dns', [], [attr('proxy_enabled', 'true')])] : []),
    ]),
  )
  const ipGroupRefs = new Map<string, string>()
  for (const g of plan.ipGroups) {
    const label = identifier(g.name, taken)
    ipGroupRefs.set(g.name, `azurerm_ip_group.${label}.id`)
    blocks.push(
      block('resource', ['azurerm_ip_group', label], [
        attr('name', hclString(g.name)),
        attr('location', 'var.location'),
        attr('resource_group_name', 'var.resource_group_name'),
        attr('cidrs', hclList(g.addresses.map(hclString), '  ')),
      ]),
    )
  }
  const value = (v: AzValue): string => ('literal' in v ? hclString(v.literal) : v.param === 'firewallPublicIp' ? 'var.firewall_public_ip' : 'var.service_ip')
  const list = (key: string, items: readonly string[], indent: string, quote = true): Item[] => (items.length === 0 ? [] : [attr(key, hclList(items.map((i) => (quote ? hclString(i) : i)), indent))])
  const groupRefs = (names: readonly string[]): string[] => names.map((n) => ipGroupRefs.get(n) ?? hclString(n))
  const I = '      '
  const filterRule = (r: AzFilterRule): Block => {
    const common: Item[] = [attr('name', hclString(r.name)), attr('description', hclString(r.description))]
    if (r.ruleType === 'ApplicationRule') {
      return block('rule', [], [
        ...common,
        ...list('source_addresses', r.sourceAddresses, I),
        ...list('source_ip_groups', groupRefs(r.sourceIpGroups), I, false),
        ...list('destination_fqdns', r.targetFqdns, I),
        ...list('destination_fqdn_tags', r.fqdnTags, I),
        ...r.protocols.map((p) => block('protocols', [], [attr('type', hclString(p.protocolType)), attr('port', String(p.port))])),
      ])
    }
    return block('rule', [], [
      ...common,
      attr('protocols', hclList(r.ipProtocols.map(hclString), I)),
      ...list('source_addresses', r.sourceAddresses, I),
      ...list('source_ip_groups', groupRefs(r.sourceIpGroups), I, false),
      ...list('destination_addresses', r.destinationAddresses, I),
      ...list('destination_ip_groups', groupRefs(r.destinationIpGroups), I, false),
      ...list('destination_fqdns', r.destinationFqdns, I),
      attr('destination_ports', hclList(r.destinationPorts.map(hclString), I)),
    ])
  }
  const natRule = (r: AzNatRule): Block =>
    block('rule', [], [
      attr('name', hclString(r.name)),
      attr('description', hclString(r.description)),
      attr('protocols', hclList(r.ipProtocols.map(hclString), I)),
      ...list('source_addresses', r.sourceAddresses, I),
      ...list('source_ip_groups', groupRefs(r.sourceIpGroups), I, false),
      attr('destination_address', value(r.destinationAddress)),
      attr('destination_ports', `[${hclString(String(r.destinationPort))}]`),
      ...(r.translatedAddress === undefined ? [] : [attr('translated_address', value(r.translatedAddress))]),
      ...(r.translatedFqdn === undefined ? [] : [attr('translated_fqdn', hclString(r.translatedFqdn))]),
      attr('translated_port', String(r.translatedPort)),
    ])
  const collection = (c: AzCollection): Block => {
    const head = [attr('name', hclString(c.name)), attr('priority', String(c.priority)), attr('action', hclString(c.kind === 'nat' ? 'Dnat' : c.action))]
    if (c.kind === 'nat') return block('nat_rule_collection', [], [...head, ...c.rules.map(natRule)])
    return block(c.ruleType === 'ApplicationRule' ? 'application_rule_collection' : 'network_rule_collection', [], [...head, ...c.rules.map(filterRule)])
  }
  let previous: string | undefined
  for (const g of plan.groups) {
    const label = identifier(g.name, taken)
    blocks.push(
      block('resource', ['azurerm_firewall_policy_rule_collection_group', label], [
        attr('name', hclString(g.name)),
        attr('firewall_policy_id', `azurerm_firewall_policy.${policyLabel}.id`),
        attr('priority', String(g.priority)),
        ...g.collections.map(collection),
        ...(previous === undefined ? [] : [attr('depends_on', `[${previous}]`)]),
      ]),
    )
    previous = `azurerm_firewall_policy_rule_collection_group.${label}`
  }
  const rtLabel = identifier('aks_egress_udr', taken)
  blocks.push(
    block('resource', ['azurerm_route_table', rtLabel], [
      attr('name', 'var.route_table_name'),
      attr('location', 'var.location'),
      attr('resource_group_name', 'var.resource_group_name'),
      block('route', [], [attr('name', '"default-to-firewall"'), attr('address_prefix', '"0.0.0.0/0"'), attr('next_hop_type', '"VirtualAppliance"'), attr('next_hop_in_ip_address', 'var.firewall_private_ip')]),
      block('route', [], [attr('name', '"firewall-public-ip"'), attr('address_prefix', '"${var.firewall_public_ip}/32"'), attr('next_hop_type', '"Internet"')]),
    ]),
  )
  blocks.push(
    block('resource', ['azurerm_subnet_route_table_association', 'aks'], [
      attr('count', 'var.aks_subnet_id == null ? 0 : 1'),
      attr('subnet_id', 'var.aks_subnet_id'),
      attr('route_table_id', `azurerm_route_table.${rtLabel}.id`),
    ]),
  )
  blocks.push(block('output', ['firewall_policy_id'], [attr('value', `azurerm_firewall_policy.${policyLabel}.id`)]))
  blocks.push(block('output', ['route_table_id'], [attr('value', `azurerm_route_table.${rtLabel}.id`)]))

  const notes = deployNotes(plan, routeTable).filter((l) => !l.includes('vnet subnet update'))
  const header = [...headerLines(TARGET, policy, options, plan.diagnostics), '', ...notes.map((l) => l.replace('the route table to the AKS subnet:', 'the route table to the AKS subnet (or set aks_subnet_id):'))]
  const text = [...header.map((l) => (l === '' ? '#' : `# ${l}`)), '', blocks.map((b) => render(b).join('\n')).join('\n\n'), ''].join('\n')
  return { text, diagnostics: plan.diagnostics }
}

export const terraformExporter: Exporter = {
  name: TARGET,
  description: 'Terraform (azurerm): firewall policy, azurerm_firewall_policy_rule_collection_group, route table',
  extension: 'tf',
  uses: ['resourceGroup', 'policyName', 'firewallPrivateIp', 'firewallPublicIp', 'serviceIp', 'servicePort', 'routeTableName', 'source'],
  export: exportTerraform,
}
