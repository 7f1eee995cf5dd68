// Written by aks-egress export bicep from policy "report-mode".
// Policy "report-mode".
// Each rule carries its path in the aks-egress policy: GROUP/COLLECTION/RULE.
// 0 error(s), 2 warning(s) on export: constructs bicep cannot express as written (listed below and on stderr).
//   warning: bicep: policy: mode: report (allow everything, log what would be denied); Azure Firewall has no report mode: the exported rules enforce
//   warning: bicep: policy: dnsPolicy: allowed-only; not expressed: Azure Firewall's DNS proxy resolves every name for every client
//
// Creates the firewall policy, its rule collection groups (deployed one after the other: Azure
// does not update one policy in parallel) and the route table "report-mode-udr".
// Network rules use FQDNs, so the policy enables DNS proxy: point the VNet DNS servers at the
// firewall's private IP so that nodes and firewall resolve the same addresses.
// Then attach the policy to the firewall and the route table to the AKS subnet:
//   az network firewall update -g RG -n FIREWALL --firewall-policy report-mode
//   az network vnet subnet update -g RG --vnet-name VNET -n AKS_SUBNET --route-table report-mode-udr
// and create the cluster with --outbound-type userDefinedRouting (limit-egress-traffic.md).

@description('Region of the firewall policy and the route table')
param location string = resourceGroup().location

@description('Name of the firewall policy')
param firewallPolicyName string = 'report-mode'

@description('The firewall\'s private IP: next hop of the 0.0.0.0/0 route')
param firewallPrivateIp string

@description('The firewall\'s public IP: routed to the Internet (asymmetric routing) and the DNAT destination')
param firewallPublicIp string

@description('Name of the route table for the AKS subnet')
param routeTableName string = 'report-mode-udr'

resource firewallPolicy 'Microsoft.Network/firewallPolicies@2024-05-01' = {
  name: firewallPolicyName
  location: location
  properties: {
    sku: {
      tier: 'Standard'
    }
    threatIntelMode: 'Alert'
    dnsSettings: {
      enableProxy: true
    }
  }
}

resource rcg_base 'Microsoft.Network/firewallPolicies/ruleCollectionGroups@2024-05-01' = {
  parent: firewallPolicy
  name: 'base'
  properties: {
    priority: 200
    ruleCollections: [
      {
        ruleCollectionType: 'FirewallPolicyFilterRuleCollection'
        name: 'base-network'
        priority: 100
        action: {
          type: 'Allow'
        }
        rules: [
          {
            ruleType: 'NetworkRule'
            name: 'ntp'
            description: 'base/base-network/ntp'
            sourceAddresses: [
              '*'
            ]
            ipProtocols: [
              'UDP'
            ]
            destinationFqdns: [
              'ntp.ubuntu.com'
            ]
            destinationPorts: [
              '123'
            ]
          }
        ]
      }
      {
        ruleCollectionType: 'FirewallPolicyFilterRuleCollection'
        name: 'base-application'
        priority: 200
        action: {
          type: 'Allow'
        }
        rules: [
          {
            ruleType: 'ApplicationRule'
            name: 'mcr'
            description: 'base/base-application/mcr'
            sourceAddresses: [
              '*'
            ]
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            targetFqdns: [
              'mcr.microsoft.com'
              '*.data.mcr.microsoft.com'
            ]
          }
        ]
      }
    ]
  }
}

resource routeTable 'Microsoft.Network/routeTables@2024-05-01' = {
  name: routeTableName
  location: location
  properties: {
    routes: [
      {
        name: 'default-to-firewall'
        properties: {
          addressPrefix: '0.0.0.0/0'
          nextHopType: 'VirtualAppliance'
          nextHopIpAddress: firewallPrivateIp
        }
      }
      {
        name: 'firewall-public-ip'
        properties: {
          addressPrefix: '${firewallPublicIp}/32'
          nextHopType: 'Internet'
        }
      }
    ]
  }
}

output firewallPolicyId string = firewallPolicy.id
output routeTableId string = routeTable.id
