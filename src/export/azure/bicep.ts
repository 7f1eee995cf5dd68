/**
 * @module `aks-egress export bicep`: the ARM template's resources in Bicep: the same objects as
 * arm.ts (arm-model.ts), written with symbolic references (`parent:`, `ipGroup.id`) instead of
 * `resourceId()` strings. Deploy with `az deployment group create -g RG --template-file FILE`.
 */
import type { Policy } from '../../policy/policy-model.ts'
import { headerLines, type Exporter, type ExportOptions, type ExportResult } from '../exporter.ts'
import { firewallPolicyProperties, NETWORK_API_VERSION, routeTableRoutes, ruleCollectionGroupProperties } from './arm-model.ts'
import { buildAzurePlan, type AzValue } from './azure-plan.ts'
import { deployNotes } from './deploy-notes.ts'

const TARGET = 'bicep'

/** A Bicep expression written as is (`location`, `ipGroup_x.id`). */
export interface BicepExpr {
  readonly bicepCode: string
}

export function expr(code: string): BicepExpr {
  return { bicepCode: code }
}

function isExpr(v: unknown): v is BicepExpr {
  return typeof v === 'object' && v !== null && 'bicepCode' in v
}

type Value = string | number | boolean | BicepExpr | Value[] | { [key: string]: Value }

/** A Bicep string literal: single quotes; `\`, `'` and `${` escaped. */
export function bicepString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\$\{/g, '\\${').replace(/\n/g, '\\n')}'`
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

/** Serialises a value in Bicep's multi-line object and array syntax. */
export function bicepValue(v: Value, indent = ''): string {
  if (isExpr(v)) return v.bicepCode
  if (typeof v === 'string') return bicepString(v)
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  const inner = `${indent}  `
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]'
    return `[\n${v.map((x) => `${inner}${bicepValue(x, inner)}`).join('\n')}\n${indent}]`
  }
  const entries = Object.entries(v)
  if (entries.length === 0) return '{}'
  return `{\n${entries.map(([k, x]) => `${inner}${IDENTIFIER.test(k) ? k : bicepString(k)}: ${bicepValue(x, inner)}`).join('\n')}\n${indent}}`
}

function symbol(prefix: string, name: string, taken: Set<string>): string {
  const base = `${prefix}${name.replace(/[^A-Za-z0-9_]/g, '_')}`
  let s = base
  for (let i = 2; taken.has(s); i++) s = `${base}_${i}`
  taken.add(s)
  return s
}

export function exportBicep(policy: Policy, options: ExportOptions): ExportResult {
  const plan = buildAzurePlan(policy, options, TARGET)
  const routeTable = options.routeTableName ?? `${plan.policyName}-udr`
  const out: string[] = []
  for (const line of [...headerLines(TARGET, policy, options, plan.diagnostics), '', ...deployNotes(plan, routeTable)]) out.push(line === '' ? '//' : `// ${line}`)
  out.push('')
  const param = (name: string, description: string, value: string | BicepExpr | undefined): void => {
    out.push(`@description(${bicepString(description)})`)
    out.push(`param ${name} string${value === undefined ? '' : ` = ${bicepValue(value)}`}`)
    out.push('')
  }
  param('location', 'Region of the firewall policy and the route table', plan.location ?? expr('resourceGroup().location'))
  param('firewallPolicyName', 'Name of the firewall policy', plan.policyName)
  param('firewallPrivateIp', "The firewall's private IP: next hop of the 0.0.0.0/0 route", options.firewallPrivateIp)
  param('firewallPublicIp', "The firewall's public IP: routed to the Internet (asymmetric routing) and the DNAT destination", options.firewallPublicIp)
  param('routeTableName', 'Name of the route table for the AKS subnet', routeTable)
  if (plan.ingress) param('serviceIp', 'Internal load balancer IP of the ingress service (DNAT target)', options.serviceIp)

  const taken = new Set(['location', 'firewallPolicyName', 'firewallPrivateIp', 'firewallPublicIp', 'routeTableName', 'serviceIp', 'firewallPolicy', 'routeTable'])
  const resource = (sym: string, type: string, body: Record<string, Value>): void => {
    out.push(`resource ${sym} '${type}@${NETWORK_API_VERSION}' = ${bicepValue(body)}`)
    out.push('')
  }
  resource('firewallPolicy', 'Microsoft.Network/firewallPolicies', { name: expr('firewallPolicyName'), location: expr('location'), properties: firewallPolicyProperties(plan) })
  const ipGroupSymbols = new Map<string, string>()
  for (const g of plan.ipGroups) {
    const sym = symbol('ipGroup_', g.name, taken)
    ipGroupSymbols.set(g.name, sym)
    resource(sym, 'Microsoft.Network/ipGroups', { name: g.name, location: expr('location'), properties: { ipAddresses: [...g.addresses] } })
  }
  const value = (v: AzValue): string | BicepExpr => ('literal' in v ? v.literal : expr(v.param))
  const ipGroupId = (name: string): BicepExpr => expr(`${ipGroupSymbols.get(name) ?? name}.id`)
  let previous: string | undefined
  for (const g of plan.groups) {
    const sym = symbol('rcg_', g.name, taken)
    resource(sym, 'Microsoft.Network/firewallPolicies/ruleCollectionGroups', {
      parent: expr('firewallPolicy'),
      name: g.name,
      ...(previous === undefined ? {} : { dependsOn: [expr(previous)] }),
      properties: ruleCollectionGroupProperties(g, { value, ipGroupId }),
    })
    previous = sym
  }
  resource('routeTable', 'Microsoft.Network/routeTables', {
    name: expr('routeTableName'),
    location: expr('location'),
    properties: { routes: routeTableRoutes<BicepExpr>(expr('firewallPrivateIp'), expr("'${firewallPublicIp}/32'")) },
  })
  out.push('output firewallPolicyId string = firewallPolicy.id')
  out.push('output routeTableId string = routeTable.id')
  return { text: `${out.join('\n')}\n`, diagnostics: plan.diagnostics }
}

export const bicepExporter: Exporter = {
  name: TARGET,
  description: 'Bicep: the same resources as arm, with symbolic references',
  extension: 'bicep',
  uses: ['policyName', 'firewallPrivateIp', 'firewallPublicIp', 'serviceIp', 'servicePort', 'routeTableName', 'source'],
  export: exportBicep,
}
