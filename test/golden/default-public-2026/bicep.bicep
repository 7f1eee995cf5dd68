// Written by aks-egress export bicep from policy "aks-public-westeurope".
// Policy "aks-public-westeurope": cloud public, region westeurope, catalog 2026-06.
// Each rule carries its path in the aks-egress policy: GROUP/COLLECTION/RULE.
// 0 error(s), 2 warning(s) on export: constructs bicep cannot express as written (listed below and on stderr).
//   warning: bicep: rule aks-required/aks-required-network/public.network.tunnel-udp-1194: wildcard FQDN "*.hcp.westeurope.azmk8s.io" in a network rule (Azure takes exact names only); expressed as the service tag AzureCloud.westeurope (broader: every Azure address of the region)
//   warning: bicep: rule aks-required/aks-required-network/public.network.tunnel-tcp-9000: wildcard FQDN "*.hcp.westeurope.azmk8s.io" in a network rule (Azure takes exact names only); expressed as the service tag AzureCloud.westeurope (broader: every Azure address of the region)
//
// Creates the firewall policy, its rule collection groups (deployed one after the other: Azure
// does not update one policy in parallel) and the route table "aks-public-westeurope-udr".
// Network rules use FQDNs, so the policy enables DNS proxy: point the VNet DNS servers at the
// firewall's private IP so that nodes and firewall resolve the same addresses.
// Then attach the policy to the firewall and the route table to the AKS subnet:
//   az network firewall update -g RG -n FIREWALL --firewall-policy aks-public-westeurope
//   az network vnet subnet update -g RG --vnet-name VNET -n AKS_SUBNET --route-table aks-public-westeurope-udr
// and create the cluster with --outbound-type userDefinedRouting (limit-egress-traffic.md).

@description('Region of the firewall policy and the route table')
param location string = 'westeurope'

@description('Name of the firewall policy')
param firewallPolicyName string = 'aks-public-westeurope'

@description('The firewall\'s private IP: next hop of the 0.0.0.0/0 route')
param firewallPrivateIp string = '10.0.1.4'

@description('The firewall\'s public IP: routed to the Internet (asymmetric routing) and the DNAT destination')
param firewallPublicIp string = '20.61.1.4'

@description('Name of the route table for the AKS subnet')
param routeTableName string = 'aks-public-westeurope-udr'

@description('Internal load balancer IP of the ingress service (DNAT target)')
param serviceIp string = '10.240.4.4'

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
    priority: 100
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
            description: 'Ingress: firewall public IP port 80 to the internal load balancer 10.240.4.4:80 (asymmetric routing fix, limit-egress-traffic)'
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

resource rcg_aks_required 'Microsoft.Network/firewallPolicies/ruleCollectionGroups@2024-05-01' = {
  parent: firewallPolicy
  name: 'aks-required'
  dependsOn: [
    rcg_aks_ingress
  ]
  properties: {
    priority: 200
    ruleCollections: [
      {
        ruleCollectionType: 'FirewallPolicyFilterRuleCollection'
        name: 'aks-required-network'
        priority: 100
        action: {
          type: 'Allow'
        }
        rules: [
          {
            ruleType: 'NetworkRule'
            name: 'public.network.tunnel-udp-1194'
            description: 'aks-required/aks-required-network/public.network.tunnel-udp-1194'
            sourceAddresses: [
              '10.240.0.0/16'
            ]
            ipProtocols: [
              'UDP'
            ]
            destinationAddresses: [
              'AzureCloud.westeurope'
            ]
            destinationPorts: [
              '1194'
            ]
          }
          {
            ruleType: 'NetworkRule'
            name: 'public.network.tunnel-tcp-9000'
            description: 'aks-required/aks-required-network/public.network.tunnel-tcp-9000'
            sourceAddresses: [
              '10.240.0.0/16'
            ]
            ipProtocols: [
              'TCP'
            ]
            destinationAddresses: [
              'AzureCloud.westeurope'
            ]
            destinationPorts: [
              '9000'
            ]
          }
          {
            ruleType: 'NetworkRule'
            name: 'public.network.ntp'
            description: 'aks-required/aks-required-network/public.network.ntp'
            sourceAddresses: [
              '10.240.0.0/16'
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
        name: 'aks-required-application'
        priority: 200
        action: {
          type: 'Allow'
        }
        rules: [
          {
            ruleType: 'ApplicationRule'
            name: 'public.hcp'
            description: 'aks-required/aks-required-application/public.hcp'
            sourceAddresses: [
              '10.240.0.0/16'
            ]
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            targetFqdns: [
              '*.hcp.westeurope.azmk8s.io'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'public.mcr'
            description: 'aks-required/aks-required-application/public.mcr'
            sourceAddresses: [
              '10.240.0.0/16'
            ]
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            targetFqdns: [
              'mcr.microsoft.com'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'public.mcr-data'
            description: 'aks-required/aks-required-application/public.mcr-data'
            sourceAddresses: [
              '10.240.0.0/16'
            ]
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            targetFqdns: [
              '*.data.mcr.microsoft.com'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'public.mcr-edge'
            description: 'aks-required/aks-required-application/public.mcr-edge'
            sourceAddresses: [
              '10.240.0.0/16'
            ]
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            targetFqdns: [
              'mcr-0001.mcr-msedge.net'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'public.management'
            description: 'aks-required/aks-required-application/public.management'
            sourceAddresses: [
              '10.240.0.0/16'
            ]
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            targetFqdns: [
              'management.azure.com'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'public.login'
            description: 'aks-required/aks-required-application/public.login'
            sourceAddresses: [
              '10.240.0.0/16'
            ]
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            targetFqdns: [
              'login.microsoftonline.com'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'public.packages'
            description: 'aks-required/aks-required-application/public.packages'
            sourceAddresses: [
              '10.240.0.0/16'
            ]
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            targetFqdns: [
              'packages.microsoft.com'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'public.acs-mirror'
            description: 'aks-required/aks-required-application/public.acs-mirror'
            sourceAddresses: [
              '10.240.0.0/16'
            ]
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            targetFqdns: [
              'acs-mirror.azureedge.net'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'public.packages-aks'
            description: 'aks-required/aks-required-application/public.packages-aks'
            sourceAddresses: [
              '10.240.0.0/16'
            ]
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            targetFqdns: [
              'packages.aks.azure.com'
            ]
          }
        ]
      }
    ]
  }
}

resource rcg_aks_recommended 'Microsoft.Network/firewallPolicies/ruleCollectionGroups@2024-05-01' = {
  parent: firewallPolicy
  name: 'aks-recommended'
  dependsOn: [
    rcg_aks_required
  ]
  properties: {
    priority: 300
    ruleCollections: [
      {
        ruleCollectionType: 'FirewallPolicyFilterRuleCollection'
        name: 'aks-recommended-application'
        priority: 200
        action: {
          type: 'Allow'
        }
        rules: [
          {
            ruleType: 'ApplicationRule'
            name: 'ubuntu-updates.security'
            description: 'aks-recommended/aks-recommended-application/ubuntu-updates.security'
            sourceAddresses: [
              '10.240.0.0/16'
            ]
            protocols: [
              {
                protocolType: 'Http'
                port: 80
              }
            ]
            targetFqdns: [
              'security.ubuntu.com'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'ubuntu-updates.azure-archive'
            description: 'aks-recommended/aks-recommended-application/ubuntu-updates.azure-archive'
            sourceAddresses: [
              '10.240.0.0/16'
            ]
            protocols: [
              {
                protocolType: 'Http'
                port: 80
              }
            ]
            targetFqdns: [
              'azure.archive.ubuntu.com'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'ubuntu-updates.changelogs'
            description: 'aks-recommended/aks-recommended-application/ubuntu-updates.changelogs'
            sourceAddresses: [
              '10.240.0.0/16'
            ]
            protocols: [
              {
                protocolType: 'Http'
                port: 80
              }
            ]
            targetFqdns: [
              'changelogs.ubuntu.com'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'ubuntu-updates.snapshot'
            description: 'aks-recommended/aks-recommended-application/ubuntu-updates.snapshot'
            sourceAddresses: [
              '10.240.0.0/16'
            ]
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            targetFqdns: [
              'snapshot.ubuntu.com'
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
