/**
 * @module `aks-egress export arm`: an ARM deployment template (JSON) with parameters: the firewall
 * policy, its rule collection groups (azure-facts §4.1), IP groups and the route table.
 * Deploy with `az deployment group create -g RG --template-file FILE`.
 */
import type { Policy } from '../../policy/policy-model.ts'
import { headerLines, type Exporter, type ExportOptions, type ExportResult } from '../exporter.ts'
import { firewallPolicyProperties, NETWORK_API_VERSION, routeTableRoutes, ruleCollectionGroupProperties } from './arm-model.ts'
import { buildAzurePlan, type AzValue } from './azure-plan.ts'
import { deployNotes } from './deploy-notes.ts'

const TARGET = 'arm'

type Param = { type: 'string'; defaultValue?: string; metadata: { description: string } }

export function exportArm(policy: Policy, options: ExportOptions): ExportResult {
  const plan = buildAzurePlan(policy, options, TARGET)
  const routeTable = options.routeTableName ?? `${plan.policyName}-udr`
  const param = (description: string, value: string | undefined): Param => ({ type: 'string', ...(value === undefined ? {} : { defaultValue: value }), metadata: { description } })
  const parameters: Record<string, Param> = {
    location: param('Region of the firewall policy and the route table', plan.location ?? '[resourceGroup().location]'),
    firewallPolicyName: param('Name of the firewall policy', plan.policyName),
    firewallPrivateIp: param("The firewall's private IP: next hop of the 0.0.0.0/0 route", options.firewallPrivateIp),
    firewallPublicIp: param("The firewall's public IP: routed to the Internet (asymmetric routing) and the DNAT destination", options.firewallPublicIp),
    routeTableName: param('Name of the route table for the AKS subnet', routeTable),
    ...(plan.ingress ? { serviceIp: param('Internal load balancer IP of the ingress service (DNAT target)', options.serviceIp) } : {}),
  }
  const policyId = "[resourceId('Microsoft.Network/firewallPolicies', parameters('firewallPolicyName'))]"
  const value = (v: AzValue): string => ('literal' in v ? v.literal : `[parameters('${v.param}')]`)
  const ipGroupId = (name: string): string => `[resourceId('Microsoft.Network/ipGroups', '${name}')]`
  const resources: unknown[] = [
    {
      type: 'Microsoft.Network/firewallPolicies',
      apiVersion: NETWORK_API_VERSION,
      name: "[parameters('firewallPolicyName')]",
      location: "[parameters('location')]",
      properties: firewallPolicyProperties(plan),
    },
  ]
  for (const g of plan.ipGroups) {
    resources.push({ type: 'Microsoft.Network/ipGroups', apiVersion: NETWORK_API_VERSION, name: g.name, location: "[parameters('location')]", properties: { ipAddresses: g.addresses } })
  }
  let previous: string | undefined
  for (const g of plan.groups) {
    const id = `[resourceId('Microsoft.Network/firewallPolicies/ruleCollectionGroups', parameters('firewallPolicyName'), '${g.name}')]`
    resources.push({
      type: 'Microsoft.Network/firewallPolicies/ruleCollectionGroups',
      apiVersion: NETWORK_API_VERSION,
      name: `[format('{0}/{1}', parameters('firewallPolicyName'), '${g.name}')]`,
      dependsOn: [policyId, ...plan.ipGroups.map((ig) => ipGroupId(ig.name)), ...(previous === undefined ? [] : [previous])],
      properties: ruleCollectionGroupProperties(g, { value, ipGroupId }),
    })
    previous = id
  }
  resources.push({
    type: 'Microsoft.Network/routeTables',
    apiVersion: NETWORK_API_VERSION,
    name: "[parameters('routeTableName')]",
    location: "[parameters('location')]",
    properties: { routes: routeTableRoutes("[parameters('firewallPrivateIp')]", "[format('{0}/32', parameters('firewallPublicIp'))]") },
  })
  const template = {
    $schema: 'https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#',
    contentVersion: '1.0.0.0',
    metadata: {
      description: [...headerLines(TARGET, policy, options, plan.diagnostics), ...deployNotes(plan, routeTable)],
    },
    parameters,
    resources,
    outputs: {
      firewallPolicyId: { type: 'string', value: policyId },
      routeTableId: { type: 'string', value: "[resourceId('Microsoft.Network/routeTables', parameters('routeTableName'))]" },
    },
  }
  return { text: `${JSON.stringify(template, null, 2)}\n`, diagnostics: plan.diagnostics }
}

export const armExporter: Exporter = {
  name: TARGET,
  description: 'Azure Resource Manager template (JSON): firewall policy, rule collection groups, route table',
  extension: 'json',
  uses: ['policyName', 'firewallPrivateIp', 'firewallPublicIp', 'serviceIp', 'servicePort', 'routeTableName', 'source'],
  export: exportArm,
}
