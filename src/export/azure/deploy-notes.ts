/**
 * @module What the Azure templates (ARM, Bicep, Terraform) leave to the user, in one wording:
 * they create the policy, its rule collection groups and the route table; attaching the policy to
 * an existing firewall and the route table to the AKS subnet are updates of resources the template
 * does not own.
 */
import type { AzPlan } from './azure-plan.ts'

export function deployNotes(plan: AzPlan, routeTable: string): string[] {
  return [
    'Creates the firewall policy, its rule collection groups (deployed one after the other: Azure',
    `does not update one policy in parallel) and the route table "${routeTable}".`,
    ...(plan.dnsProxy ? ['Network rules use FQDNs, so the policy enables DNS proxy: point the VNet DNS servers at the', "firewall's private IP so that nodes and firewall resolve the same addresses."] : []),
    'Then attach the policy to the firewall and the route table to the AKS subnet:',
    `  az network firewall update -g RG -n FIREWALL --firewall-policy ${plan.policyName}`,
    `  az network vnet subnet update -g RG --vnet-name VNET -n AKS_SUBNET --route-table ${routeTable}`,
    'and create the cluster with --outbound-type userDefinedRouting (limit-egress-traffic.md).',
  ]
}
