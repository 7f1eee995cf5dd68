// Written by aks-egress export bicep from policy "aksfwpolicy".
// Policy "aksfwpolicy": cloud public, region eastus, catalog 2026-06.
// Each rule carries its path in the aks-egress policy: GROUP/COLLECTION/RULE.
//
// Creates the firewall policy, its rule collection groups (deployed one after the other: Azure
// does not update one policy in parallel) and the route table "aksfwpolicy-udr".
// Network rules use FQDNs, so the policy enables DNS proxy: point the VNet DNS servers at the
// firewall's private IP so that nodes and firewall resolve the same addresses.
// Then attach the policy to the firewall and the route table to the AKS subnet:
//   az network firewall update -g RG -n FIREWALL --firewall-policy aksfwpolicy
//   az network vnet subnet update -g RG --vnet-name VNET -n AKS_SUBNET --route-table aksfwpolicy-udr
// and create the cluster with --outbound-type userDefinedRouting (limit-egress-traffic.md).

@description('Region of the firewall policy and the route table')
param location string = 'eastus'

@description('Name of the firewall policy')
param firewallPolicyName string = 'aksfwpolicy'

@description('The firewall\'s private IP: next hop of the 0.0.0.0/0 route')
param firewallPrivateIp string = '10.0.1.4'

@description('The firewall\'s public IP: routed to the Internet (asymmetric routing) and the DNAT destination')
param firewallPublicIp string = '20.42.10.7'

@description('Name of the route table for the AKS subnet')
param routeTableName string = 'aksfwpolicy-udr'

@description('Internal load balancer IP of the ingress service (DNAT target)')
param serviceIp string = '10.42.2.4'

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

resource rcg_aks_ingress 'Microsoft.Network/firewallPolicies/ruleCollectionGroups@2024-05-01' = {
  parent: firewallPolicy
  name: 'aks-ingress'
  properties: {
    priority: 101
    ruleCollections: [
      {
        ruleCollectionType: 'FirewallPolicyNatRuleCollection'
        name: 'aks-ingress-dnat'
        priority: 100
        action: {
          type: 'DNAT'
        }
        rules: [
          {
            ruleType: 'NatRule'
            name: 'ingress-80'
            description: 'Ingress: firewall public IP port 80 to the internal load balancer 10.42.2.4:80 (asymmetric routing fix, limit-egress-traffic)'
            ipProtocols: [
              'TCP'
            ]
            sourceAddresses: [
              '*'
            ]
            destinationAddresses: [
              firewallPublicIp
            ]
            destinationPorts: [
              '80'
            ]
            translatedAddress: serviceIp
            translatedPort: '80'
          }
        ]
      }
    ]
  }
}

resource rcg_DefaultDnatRuleCollectionGroup 'Microsoft.Network/firewallPolicies/ruleCollectionGroups@2024-05-01' = {
  parent: firewallPolicy
  name: 'DefaultDnatRuleCollectionGroup'
  dependsOn: [
    rcg_aks_ingress
  ]
  properties: {
    priority: 100
    ruleCollections: [
      {
        ruleCollectionType: 'FirewallPolicyNatRuleCollection'
        name: 'exampleset'
        priority: 100
        action: {
          type: 'DNAT'
        }
        rules: [
          {
            ruleType: 'NatRule'
            name: 'inboundrule'
            description: 'DefaultDnatRuleCollectionGroup/exampleset/inboundrule'
            ipProtocols: [
              'TCP'
            ]
            sourceAddresses: [
              '*'
            ]
            destinationAddresses: [
              '20.42.10.7'
            ]
            destinationPorts: [
              '80'
            ]
            translatedAddress: '10.42.2.4'
            translatedPort: '80'
          }
        ]
      }
    ]
  }
}

resource rcg_DefaultNetworkRuleCollectionGroup 'Microsoft.Network/firewallPolicies/ruleCollectionGroups@2024-05-01' = {
  parent: firewallPolicy
  name: 'DefaultNetworkRuleCollectionGroup'
  dependsOn: [
    rcg_DefaultDnatRuleCollectionGroup
  ]
  properties: {
    priority: 200
    ruleCollections: [
      {
        ruleCollectionType: 'FirewallPolicyFilterRuleCollection'
        name: 'aksfwnr'
        priority: 100
        action: {
          type: 'Allow'
        }
        rules: [
          {
            ruleType: 'NetworkRule'
            name: 'apiudp'
            description: 'DefaultNetworkRuleCollectionGroup/aksfwnr/apiudp'
            sourceAddresses: [
              '*'
            ]
            ipProtocols: [
              'UDP'
            ]
            destinationAddresses: [
              'AzureCloud.eastus'
            ]
            destinationPorts: [
              '1194'
            ]
          }
          {
            ruleType: 'NetworkRule'
            name: 'apitcp'
            description: 'DefaultNetworkRuleCollectionGroup/aksfwnr/apitcp'
            sourceAddresses: [
              '*'
            ]
            ipProtocols: [
              'TCP'
            ]
            destinationAddresses: [
              'AzureCloud.eastus'
            ]
            destinationPorts: [
              '9000'
            ]
          }
          {
            ruleType: 'NetworkRule'
            name: 'time'
            description: 'DefaultNetworkRuleCollectionGroup/aksfwnr/time'
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
          {
            ruleType: 'NetworkRule'
            name: 'ghcr'
            description: 'DefaultNetworkRuleCollectionGroup/aksfwnr/ghcr'
            sourceAddresses: [
              '*'
            ]
            ipProtocols: [
              'TCP'
            ]
            destinationFqdns: [
              'ghcr.io'
              'pkg-containers.githubusercontent.com'
            ]
            destinationPorts: [
              '443'
            ]
          }
          {
            ruleType: 'NetworkRule'
            name: 'docker'
            description: 'DefaultNetworkRuleCollectionGroup/aksfwnr/docker'
            sourceAddresses: [
              '*'
            ]
            ipProtocols: [
              'TCP'
            ]
            destinationFqdns: [
              'docker.io'
              'registry-1.docker.io'
              'production.cloudflare.docker.com'
            ]
            destinationPorts: [
              '443'
            ]
          }
        ]
      }
    ]
  }
}

resource rcg_DefaultApplicationRuleCollectionGroup 'Microsoft.Network/firewallPolicies/ruleCollectionGroups@2024-05-01' = {
  parent: firewallPolicy
  name: 'DefaultApplicationRuleCollectionGroup'
  dependsOn: [
    rcg_DefaultNetworkRuleCollectionGroup
  ]
  properties: {
    priority: 300
    ruleCollections: [
      {
        ruleCollectionType: 'FirewallPolicyFilterRuleCollection'
        name: 'aksfwar'
        priority: 100
        action: {
          type: 'Allow'
        }
        rules: [
          {
            ruleType: 'ApplicationRule'
            name: 'fqdn'
            description: 'DefaultApplicationRuleCollectionGroup/aksfwar/fqdn'
            sourceAddresses: [
              '*'
            ]
            protocols: [
              {
                protocolType: 'Http'
                port: 80
              }
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            fqdnTags: [
              'AzureKubernetesService'
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
