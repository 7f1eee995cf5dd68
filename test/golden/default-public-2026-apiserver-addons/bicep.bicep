// Written by aks-egress export bicep from policy "aks-public-eastus".
// Policy "aks-public-eastus": cloud public, region eastus, catalog 2026-06.
// Each rule carries its path in the aks-egress policy: GROUP/COLLECTION/RULE.
//
// Creates the firewall policy, its rule collection groups (deployed one after the other: Azure
// does not update one policy in parallel) and the route table "aks-public-eastus-udr".
// Network rules use FQDNs, so the policy enables DNS proxy: point the VNet DNS servers at the
// firewall's private IP so that nodes and firewall resolve the same addresses.
// Then attach the policy to the firewall and the route table to the AKS subnet:
//   az network firewall update -g RG -n FIREWALL --firewall-policy aks-public-eastus
//   az network vnet subnet update -g RG --vnet-name VNET -n AKS_SUBNET --route-table aks-public-eastus-udr
// and create the cluster with --outbound-type userDefinedRouting (limit-egress-traffic.md).

@description('Region of the firewall policy and the route table')
param location string = 'eastus'

@description('Name of the firewall policy')
param firewallPolicyName string = 'aks-public-eastus'

@description('The firewall\'s private IP: next hop of the 0.0.0.0/0 route')
param firewallPrivateIp string = '10.0.1.4'

@description('The firewall\'s public IP: routed to the Internet (asymmetric routing) and the DNAT destination')
param firewallPublicIp string = '20.61.1.4'

@description('Name of the route table for the AKS subnet')
param routeTableName string = 'aks-public-eastus-udr'

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

resource rcg_aks_required 'Microsoft.Network/firewallPolicies/ruleCollectionGroups@2024-05-01' = {
  parent: firewallPolicy
  name: 'aks-required'
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
              '10.224.0.0/16'
            ]
            ipProtocols: [
              'UDP'
            ]
            destinationAddresses: [
              '20.50.1.2'
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
              '10.224.0.0/16'
            ]
            ipProtocols: [
              'TCP'
            ]
            destinationAddresses: [
              '20.50.1.2'
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
              '10.224.0.0/16'
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
            name: 'public.network.api-server'
            description: 'aks-required/aks-required-network/public.network.api-server'
            sourceAddresses: [
              '10.224.0.0/16'
            ]
            ipProtocols: [
              'TCP'
            ]
            destinationAddresses: [
              '20.50.1.2'
            ]
            destinationPorts: [
              '443'
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
              '10.224.0.0/16'
            ]
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            targetFqdns: [
              '*.hcp.eastus.azmk8s.io'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'public.mcr'
            description: 'aks-required/aks-required-application/public.mcr'
            sourceAddresses: [
              '10.224.0.0/16'
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
              '10.224.0.0/16'
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
              '10.224.0.0/16'
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
              '10.224.0.0/16'
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
              '10.224.0.0/16'
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
              '10.224.0.0/16'
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
              '10.224.0.0/16'
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
              '10.224.0.0/16'
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
              '10.224.0.0/16'
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
              '10.224.0.0/16'
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
              '10.224.0.0/16'
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
              '10.224.0.0/16'
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

resource rcg_addon_gpu 'Microsoft.Network/firewallPolicies/ruleCollectionGroups@2024-05-01' = {
  parent: firewallPolicy
  name: 'addon-gpu'
  dependsOn: [
    rcg_aks_recommended
  ]
  properties: {
    priority: 400
    ruleCollections: [
      {
        ruleCollectionType: 'FirewallPolicyFilterRuleCollection'
        name: 'addon-gpu-application'
        priority: 200
        action: {
          type: 'Allow'
        }
        rules: [
          {
            ruleType: 'ApplicationRule'
            name: 'gpu.nvidia-github'
            description: 'addon-gpu/addon-gpu-application/gpu.nvidia-github'
            sourceAddresses: [
              '10.224.0.0/16'
            ]
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            targetFqdns: [
              'nvidia.github.io'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'gpu.nvidia-download'
            description: 'addon-gpu/addon-gpu-application/gpu.nvidia-download'
            sourceAddresses: [
              '10.224.0.0/16'
            ]
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            targetFqdns: [
              'us.download.nvidia.com'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'gpu.docker-download'
            description: 'addon-gpu/addon-gpu-application/gpu.docker-download'
            sourceAddresses: [
              '10.224.0.0/16'
            ]
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            targetFqdns: [
              'download.docker.com'
            ]
          }
        ]
      }
    ]
  }
}

resource rcg_addon_monitoring 'Microsoft.Network/firewallPolicies/ruleCollectionGroups@2024-05-01' = {
  parent: firewallPolicy
  name: 'addon-monitoring'
  dependsOn: [
    rcg_addon_gpu
  ]
  properties: {
    priority: 500
    ruleCollections: [
      {
        ruleCollectionType: 'FirewallPolicyFilterRuleCollection'
        name: 'addon-monitoring-network'
        priority: 100
        action: {
          type: 'Allow'
        }
        rules: [
          {
            ruleType: 'NetworkRule'
            name: 'monitoring.network.service-tag'
            description: 'addon-monitoring/addon-monitoring-network/monitoring.network.service-tag'
            sourceAddresses: [
              '10.224.0.0/16'
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
        ]
      }
      {
        ruleCollectionType: 'FirewallPolicyFilterRuleCollection'
        name: 'addon-monitoring-application'
        priority: 200
        action: {
          type: 'Allow'
        }
        rules: [
          {
            ruleType: 'ApplicationRule'
            name: 'monitoring.public.ods'
            description: 'addon-monitoring/addon-monitoring-application/monitoring.public.ods'
            sourceAddresses: [
              '10.224.0.0/16'
            ]
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            targetFqdns: [
              '*.ods.opinsights.azure.com'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'monitoring.public.oms'
            description: 'addon-monitoring/addon-monitoring-application/monitoring.public.oms'
            sourceAddresses: [
              '10.224.0.0/16'
            ]
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            targetFqdns: [
              '*.oms.opinsights.azure.com'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'monitoring.public.dc-services'
            description: 'addon-monitoring/addon-monitoring-application/monitoring.public.dc-services'
            sourceAddresses: [
              '10.224.0.0/16'
            ]
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            targetFqdns: [
              'dc.services.visualstudio.com'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'monitoring.public.app-insights'
            description: 'addon-monitoring/addon-monitoring-application/monitoring.public.app-insights'
            sourceAddresses: [
              '10.224.0.0/16'
            ]
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            targetFqdns: [
              '*.in.applicationinsights.azure.com'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'monitoring.public.monitoring-azure'
            description: 'addon-monitoring/addon-monitoring-application/monitoring.public.monitoring-azure'
            sourceAddresses: [
              '10.224.0.0/16'
            ]
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            targetFqdns: [
              '*.monitoring.azure.com'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'monitoring.public.login'
            description: 'addon-monitoring/addon-monitoring-application/monitoring.public.login'
            sourceAddresses: [
              '10.224.0.0/16'
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
            name: 'monitoring.public.global-handler'
            description: 'addon-monitoring/addon-monitoring-application/monitoring.public.global-handler'
            sourceAddresses: [
              '10.224.0.0/16'
            ]
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            targetFqdns: [
              'global.handler.control.monitor.azure.com'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'monitoring.public.ingest'
            description: 'addon-monitoring/addon-monitoring-application/monitoring.public.ingest'
            sourceAddresses: [
              '10.224.0.0/16'
            ]
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            targetFqdns: [
              '*.ingest.monitor.azure.com'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'monitoring.public.metrics-ingest'
            description: 'addon-monitoring/addon-monitoring-application/monitoring.public.metrics-ingest'
            sourceAddresses: [
              '10.224.0.0/16'
            ]
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            targetFqdns: [
              '*.metrics.ingest.monitor.azure.com'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'monitoring.public.region-handler'
            description: 'addon-monitoring/addon-monitoring-application/monitoring.public.region-handler'
            sourceAddresses: [
              '10.224.0.0/16'
            ]
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            targetFqdns: [
              'eastus.handler.control.monitor.azure.com'
            ]
          }
        ]
      }
    ]
  }
}

resource rcg_addon_defender 'Microsoft.Network/firewallPolicies/ruleCollectionGroups@2024-05-01' = {
  parent: firewallPolicy
  name: 'addon-defender'
  dependsOn: [
    rcg_addon_monitoring
  ]
  properties: {
    priority: 600
    ruleCollections: [
      {
        ruleCollectionType: 'FirewallPolicyFilterRuleCollection'
        name: 'addon-defender-application'
        priority: 200
        action: {
          type: 'Allow'
        }
        rules: [
          {
            ruleType: 'ApplicationRule'
            name: 'defender.public.login'
            description: 'addon-defender/addon-defender-application/defender.public.login'
            sourceAddresses: [
              '10.224.0.0/16'
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
            name: 'defender.public.ods'
            description: 'addon-defender/addon-defender-application/defender.public.ods'
            sourceAddresses: [
              '10.224.0.0/16'
            ]
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            targetFqdns: [
              '*.ods.opinsights.azure.com'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'defender.public.oms'
            description: 'addon-defender/addon-defender-application/defender.public.oms'
            sourceAddresses: [
              '10.224.0.0/16'
            ]
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            targetFqdns: [
              '*.oms.opinsights.azure.com'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'defender.public.cloud-defender'
            description: 'addon-defender/addon-defender-application/defender.public.cloud-defender'
            sourceAddresses: [
              '10.224.0.0/16'
            ]
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            targetFqdns: [
              '*.cloud.defender.microsoft.com'
            ]
          }
        ]
      }
    ]
  }
}

resource rcg_addon_keyvault 'Microsoft.Network/firewallPolicies/ruleCollectionGroups@2024-05-01' = {
  parent: firewallPolicy
  name: 'addon-keyvault'
  dependsOn: [
    rcg_addon_defender
  ]
  properties: {
    priority: 700
    ruleCollections: [
      {
        ruleCollectionType: 'FirewallPolicyFilterRuleCollection'
        name: 'addon-keyvault-application'
        priority: 200
        action: {
          type: 'Allow'
        }
        rules: [
          {
            ruleType: 'ApplicationRule'
            name: 'keyvault.public.vault'
            description: 'addon-keyvault/addon-keyvault-application/keyvault.public.vault'
            sourceAddresses: [
              '10.224.0.0/16'
            ]
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            targetFqdns: [
              'vault.azure.net'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'keyvault.public.vaults'
            description: 'addon-keyvault/addon-keyvault-application/keyvault.public.vaults'
            sourceAddresses: [
              '10.224.0.0/16'
            ]
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            targetFqdns: [
              '*.vault.azure.net'
            ]
          }
        ]
      }
    ]
  }
}

resource rcg_addon_azure_policy 'Microsoft.Network/firewallPolicies/ruleCollectionGroups@2024-05-01' = {
  parent: firewallPolicy
  name: 'addon-azure-policy'
  dependsOn: [
    rcg_addon_keyvault
  ]
  properties: {
    priority: 800
    ruleCollections: [
      {
        ruleCollectionType: 'FirewallPolicyFilterRuleCollection'
        name: 'addon-azure-policy-application'
        priority: 200
        action: {
          type: 'Allow'
        }
        rules: [
          {
            ruleType: 'ApplicationRule'
            name: 'azure-policy.public.data'
            description: 'addon-azure-policy/addon-azure-policy-application/azure-policy.public.data'
            sourceAddresses: [
              '10.224.0.0/16'
            ]
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            targetFqdns: [
              'data.policy.core.windows.net'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'azure-policy.public.store'
            description: 'addon-azure-policy/addon-azure-policy-application/azure-policy.public.store'
            sourceAddresses: [
              '10.224.0.0/16'
            ]
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            targetFqdns: [
              'store.policy.core.windows.net'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'azure-policy.public.dc-services'
            description: 'addon-azure-policy/addon-azure-policy-application/azure-policy.public.dc-services'
            sourceAddresses: [
              '10.224.0.0/16'
            ]
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            targetFqdns: [
              'dc.services.visualstudio.com'
            ]
          }
        ]
      }
    ]
  }
}

resource rcg_addon_windows 'Microsoft.Network/firewallPolicies/ruleCollectionGroups@2024-05-01' = {
  parent: firewallPolicy
  name: 'addon-windows'
  dependsOn: [
    rcg_addon_azure_policy
  ]
  properties: {
    priority: 900
    ruleCollections: [
      {
        ruleCollectionType: 'FirewallPolicyFilterRuleCollection'
        name: 'addon-windows-application'
        priority: 200
        action: {
          type: 'Allow'
        }
        rules: [
          {
            ruleType: 'ApplicationRule'
            name: 'windows.oneget-cdn'
            description: 'addon-windows/addon-windows-application/windows.oneget-cdn'
            sourceAddresses: [
              '10.224.0.0/16'
            ]
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            targetFqdns: [
              'onegetcdn.azureedge.net'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'windows.go-microsoft'
            description: 'addon-windows/addon-windows-application/windows.go-microsoft'
            sourceAddresses: [
              '10.224.0.0/16'
            ]
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            targetFqdns: [
              'go.microsoft.com'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'windows.mp-microsoft'
            description: 'addon-windows/addon-windows-application/windows.mp-microsoft'
            sourceAddresses: [
              '10.224.0.0/16'
            ]
            protocols: [
              {
                protocolType: 'Http'
                port: 80
              }
            ]
            targetFqdns: [
              '*.mp.microsoft.com'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'windows.msftconnecttest'
            description: 'addon-windows/addon-windows-application/windows.msftconnecttest'
            sourceAddresses: [
              '10.224.0.0/16'
            ]
            protocols: [
              {
                protocolType: 'Http'
                port: 80
              }
            ]
            targetFqdns: [
              'www.msftconnecttest.com'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'windows.ctldl'
            description: 'addon-windows/addon-windows-application/windows.ctldl'
            sourceAddresses: [
              '10.224.0.0/16'
            ]
            protocols: [
              {
                protocolType: 'Http'
                port: 80
              }
            ]
            targetFqdns: [
              'ctldl.windowsupdate.com'
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
