// Written by aks-egress export bicep from policy "constructs".
// Policy "constructs": cloud public, region westeurope, catalog 2026-06.
// Each rule carries its path in the aks-egress policy: GROUP/COLLECTION/RULE.
// 4 error(s), 8 warning(s) on export: constructs bicep cannot express as written (listed below and on stderr).
//   error: bicep: policy: IPv6 addresses fd00:9::/64 in IP group "dual" (Azure Firewall rules do not support IPv6); left out of the IP group
//   warning: bicep: policy: rule collections of group "guard" sharing priority 100 (Azure needs distinct priorities); collection "guard-application-deny" gets priority 101; the order is kept
//   warning: bicep: rule workloads/workloads-network/tunnel: wildcard FQDN "*.hcp.westeurope.azmk8s.io" in a network rule (Azure takes exact names only); expressed as the service tag AzureCloud.westeurope (broader: every Azure address of the region)
//   error: bicep: rule workloads/workloads-network/ssh-gitlab: wildcard FQDN "*.gitlab.example.com" in a network rule (Azure takes exact names only, and no service tag stands for it); rule left out
//   warning: bicep: rule workloads/workloads-network/ping: ICMP to internet destinations; kept, but Azure Firewall does not SNAT ICMP, so it does not reach the internet
//   error: bicep: rule workloads/workloads-network/v6-and-v4: IPv6 source addresses fd00:240::/64 (Azure Firewall rules do not support IPv6); left out of the rule's sources
//   error: bicep: rule workloads/workloads-network/v6-and-v4: IPv6 destination addresses 2001:db8::53 (Azure Firewall rules do not support IPv6); left out of the rule's destinations
//   warning: bicep: rule workloads/workloads-network/any-name: destination FQDN "*" in a network rule (Azure takes exact names only); expressed as destination address "*" (every address, also without a DNS lookup)
//   warning: bicep: rule workloads/workloads-application/sql: application protocol Mssql:1433 (Firewall Policy application rules take Http and Https on ports up to 64000); expressed as network rule TCP 1433 to FQDN db1.database.windows.net, service tag Sql.westeurope (broader) in collection "workloads-application-network" (processed with the network rules, before every application rule)
//   warning: bicep: rule workloads/workloads-application/odd-port: application protocol Https:64443 (Firewall Policy application rules take Http and Https on ports up to 64000); expressed as network rule TCP 64443 to FQDN api.example.com in collection "workloads-application-network" (processed with the network rules, before every application rule)
//   warning: bicep: policy: rule collections of group "workloads" sharing priority 100 (Azure needs distinct priorities); collection "workloads-application" gets priority 101; the order is kept
//   warning: bicep: policy: rule collections of group "workloads" sharing priority 100 (Azure needs distinct priorities); collection "workloads-late" gets priority 103; the order is kept
//
// Creates the firewall policy, its rule collection groups (deployed one after the other: Azure
// does not update one policy in parallel) and the route table "constructs-udr".
// Network rules use FQDNs, so the policy enables DNS proxy: point the VNet DNS servers at the
// firewall's private IP so that nodes and firewall resolve the same addresses.
// Then attach the policy to the firewall and the route table to the AKS subnet:
//   az network firewall update -g RG -n FIREWALL --firewall-policy constructs
//   az network vnet subnet update -g RG --vnet-name VNET -n AKS_SUBNET --route-table constructs-udr
// and create the cluster with --outbound-type userDefinedRouting (limit-egress-traffic.md).

@description('Region of the firewall policy and the route table')
param location string = 'westeurope'

@description('Name of the firewall policy')
param firewallPolicyName string = 'constructs'

@description('The firewall\'s private IP: next hop of the 0.0.0.0/0 route')
param firewallPrivateIp string = '10.0.1.4'

@description('The firewall\'s public IP: routed to the Internet (asymmetric routing) and the DNAT destination')
param firewallPublicIp string = '20.61.1.4'

@description('Name of the route table for the AKS subnet')
param routeTableName string = 'constructs-udr'

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

resource ipGroup_nodes 'Microsoft.Network/ipGroups@2024-05-01' = {
  name: 'nodes'
  location: location
  properties: {
    ipAddresses: [
      '10.240.0.0/16'
      '10.241.0.0-10.241.0.31'
    ]
  }
}

resource ipGroup_registries 'Microsoft.Network/ipGroups@2024-05-01' = {
  name: 'registries'
  location: location
  properties: {
    ipAddresses: [
      '20.50.0.0/24'
    ]
  }
}

resource ipGroup_dual 'Microsoft.Network/ipGroups@2024-05-01' = {
  name: 'dual'
  location: location
  properties: {
    ipAddresses: [
      '10.9.0.0/24'
    ]
  }
}

resource rcg_ingress 'Microsoft.Network/firewallPolicies/ruleCollectionGroups@2024-05-01' = {
  parent: firewallPolicy
  name: 'ingress'
  properties: {
    priority: 100
    ruleCollections: [
      {
        ruleCollectionType: 'FirewallPolicyNatRuleCollection'
        name: 'ingress-dnat'
        priority: 100
        action: {
          type: 'DNAT'
        }
        rules: [
          {
            ruleType: 'NatRule'
            name: 'web'
            description: 'ingress/ingress-dnat/web'
            ipProtocols: [
              'TCP'
            ]
            sourceAddresses: [
              '*'
            ]
            destinationAddresses: [
              '20.61.1.4'
            ]
            destinationPorts: [
              '443'
            ]
            translatedAddress: '10.240.4.4'
            translatedPort: '8443'
          }
          {
            ruleType: 'NatRule'
            name: 'dns-udp'
            description: 'ingress/ingress-dnat/dns-udp'
            ipProtocols: [
              'UDP'
            ]
            sourceAddresses: [
              '*'
            ]
            destinationAddresses: [
              '20.61.1.4'
            ]
            destinationPorts: [
              '5353'
            ]
            translatedAddress: '10.240.4.5'
            translatedPort: '53'
          }
        ]
      }
    ]
  }
}

resource rcg_guard 'Microsoft.Network/firewallPolicies/ruleCollectionGroups@2024-05-01' = {
  parent: firewallPolicy
  name: 'guard'
  dependsOn: [
    rcg_ingress
  ]
  properties: {
    priority: 150
    ruleCollections: [
      {
        ruleCollectionType: 'FirewallPolicyFilterRuleCollection'
        name: 'guard-network-deny'
        priority: 100
        action: {
          type: 'Deny'
        }
        rules: [
          {
            ruleType: 'NetworkRule'
            name: 'no-metadata-range'
            description: 'guard/guard-network-deny/no-metadata-range'
            sourceAddresses: [
              '*'
            ]
            ipProtocols: [
              'Any'
            ]
            destinationAddresses: [
              '169.254.0.0/16'
            ]
            destinationPorts: [
              '*'
            ]
          }
          {
            ruleType: 'NetworkRule'
            name: 'no-smtp'
            description: 'guard/guard-network-deny/no-smtp'
            sourceIpGroups: [
              ipGroup_nodes.id
            ]
            ipProtocols: [
              'TCP'
            ]
            destinationAddresses: [
              '*'
            ]
            destinationPorts: [
              '25'
              '465'
              '587'
            ]
          }
        ]
      }
      {
        ruleCollectionType: 'FirewallPolicyFilterRuleCollection'
        name: 'guard-application-deny'
        priority: 101
        action: {
          type: 'Deny'
        }
        rules: [
          {
            ruleType: 'ApplicationRule'
            name: 'no-pastebin'
            description: 'guard/guard-application-deny/no-pastebin'
            sourceAddresses: [
              '*'
            ]
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
              {
                protocolType: 'Http'
                port: 80
              }
            ]
            targetFqdns: [
              'pastebin.com'
              '*.pastebin.com'
            ]
          }
        ]
      }
    ]
  }
}

resource rcg_workloads 'Microsoft.Network/firewallPolicies/ruleCollectionGroups@2024-05-01' = {
  parent: firewallPolicy
  name: 'workloads'
  dependsOn: [
    rcg_guard
  ]
  properties: {
    priority: 300
    ruleCollections: [
      {
        ruleCollectionType: 'FirewallPolicyFilterRuleCollection'
        name: 'workloads-network'
        priority: 100
        action: {
          type: 'Allow'
        }
        rules: [
          {
            ruleType: 'NetworkRule'
            name: 'tunnel'
            description: 'workloads/workloads-network/tunnel'
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
              '22'
            ]
          }
          {
            ruleType: 'NetworkRule'
            name: 'ntp-mixed'
            description: 'workloads/workloads-network/ntp-mixed'
            sourceAddresses: [
              '10.240.0.0/16'
            ]
            ipProtocols: [
              'UDP'
            ]
            destinationAddresses: [
              '162.159.200.1'
            ]
            destinationPorts: [
              '123'
            ]
          }
          {
            ruleType: 'NetworkRule'
            name: 'ntp-mixed-fqdns'
            description: 'workloads/workloads-network/ntp-mixed'
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
          {
            ruleType: 'NetworkRule'
            name: 'registries'
            description: 'workloads/workloads-network/registries'
            sourceIpGroups: [
              ipGroup_nodes.id
            ]
            ipProtocols: [
              'TCP'
            ]
            destinationIpGroups: [
              ipGroup_registries.id
            ]
            destinationPorts: [
              '443'
              '5000-5010'
            ]
          }
          {
            ruleType: 'NetworkRule'
            name: 'monitor-tag'
            description: 'workloads/workloads-network/monitor-tag'
            sourceAddresses: [
              '10.240.0.0/16'
            ]
            ipProtocols: [
              'TCP'
            ]
            destinationAddresses: [
              'AzureMonitor'
            ]
            destinationPorts: [
              '443'
            ]
          }
          {
            ruleType: 'NetworkRule'
            name: 'ping'
            description: 'workloads/workloads-network/ping'
            sourceAddresses: [
              '10.240.0.0/16'
            ]
            ipProtocols: [
              'ICMP'
            ]
            destinationAddresses: [
              '8.8.8.8'
            ]
            destinationPorts: [
              '*'
            ]
          }
          {
            ruleType: 'NetworkRule'
            name: 'anything-internal'
            description: 'workloads/workloads-network/anything-internal'
            sourceAddresses: [
              '10.240.1.0/24'
            ]
            ipProtocols: [
              'Any'
            ]
            destinationAddresses: [
              '10.0.0.0-10.0.0.255'
              '192.168.10.0/24'
            ]
            destinationPorts: [
              '*'
            ]
          }
          {
            ruleType: 'NetworkRule'
            name: 'v6-and-v4'
            description: 'workloads/workloads-network/v6-and-v4'
            sourceAddresses: [
              '10.240.0.0/16'
            ]
            ipProtocols: [
              'UDP'
            ]
            destinationAddresses: [
              '9.9.9.9'
            ]
            destinationPorts: [
              '53'
            ]
          }
          {
            ruleType: 'NetworkRule'
            name: 'dual-group'
            description: 'workloads/workloads-network/dual-group'
            sourceAddresses: [
              '10.240.0.0/16'
            ]
            ipProtocols: [
              'TCP'
            ]
            destinationIpGroups: [
              ipGroup_dual.id
            ]
            destinationPorts: [
              '8080'
            ]
          }
          {
            ruleType: 'NetworkRule'
            name: 'any-name'
            description: 'workloads/workloads-network/any-name'
            sourceAddresses: [
              '10.240.2.0/24'
            ]
            ipProtocols: [
              'TCP'
            ]
            destinationAddresses: [
              '*'
            ]
            destinationPorts: [
              '8443'
            ]
          }
        ]
      }
      {
        ruleCollectionType: 'FirewallPolicyFilterRuleCollection'
        name: 'workloads-application'
        priority: 101
        action: {
          type: 'Allow'
        }
        rules: [
          {
            ruleType: 'ApplicationRule'
            name: 'aks-tag'
            description: 'workloads/workloads-application/aks-tag'
            sourceAddresses: [
              '10.240.0.0/16'
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
          {
            ruleType: 'ApplicationRule'
            name: 'github'
            description: 'workloads/workloads-application/github: Source code and releases'
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
              'github.com'
              '*.github.com'
              '*githubusercontent.com'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'odd-port'
            description: 'workloads/workloads-application/odd-port'
            sourceAddresses: [
              '10.240.0.0/16'
            ]
            protocols: [
              {
                protocolType: 'Https'
                port: 8443
              }
            ]
            targetFqdns: [
              'api.example.com'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'everything-https'
            description: 'workloads/workloads-application/everything-https'
            sourceAddresses: [
              '10.240.3.0/24'
            ]
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            targetFqdns: [
              '*'
            ]
          }
        ]
      }
      {
        ruleCollectionType: 'FirewallPolicyFilterRuleCollection'
        name: 'workloads-application-network'
        priority: 102
        action: {
          type: 'Allow'
        }
        rules: [
          {
            ruleType: 'NetworkRule'
            name: 'sql'
            description: 'workloads/workloads-application/sql'
            sourceAddresses: [
              '10.240.0.0/16'
            ]
            ipProtocols: [
              'TCP'
            ]
            destinationAddresses: [
              'Sql.westeurope'
            ]
            destinationPorts: [
              '1433'
            ]
          }
          {
            ruleType: 'NetworkRule'
            name: 'sql-fqdns'
            description: 'workloads/workloads-application/sql'
            sourceAddresses: [
              '10.240.0.0/16'
            ]
            ipProtocols: [
              'TCP'
            ]
            destinationFqdns: [
              'db1.database.windows.net'
            ]
            destinationPorts: [
              '1433'
            ]
          }
          {
            ruleType: 'NetworkRule'
            name: 'odd-port-tcp'
            description: 'workloads/workloads-application/odd-port'
            sourceAddresses: [
              '10.240.0.0/16'
            ]
            ipProtocols: [
              'TCP'
            ]
            destinationFqdns: [
              'api.example.com'
            ]
            destinationPorts: [
              '64443'
            ]
          }
        ]
      }
      {
        ruleCollectionType: 'FirewallPolicyFilterRuleCollection'
        name: 'workloads-late'
        priority: 103
        action: {
          type: 'Allow'
        }
        rules: [
          {
            ruleType: 'ApplicationRule'
            name: 'pypi'
            description: 'workloads/workloads-late/pypi'
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
              'pypi.org'
              'files.pythonhosted.org'
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
