// Written by aks-egress export bicep from policy "aks-china-chinaeast2".
// Policy "aks-china-chinaeast2": cloud china, region chinaeast2, catalog 2019-11.
// Each rule carries its path in the aks-egress policy: GROUP/COLLECTION/RULE.
// 0 error(s), 3 warning(s) on export: constructs bicep cannot express as written (listed below and on stderr).
//   warning: bicep: rule aks-required/aks-required-network/china.network.tunnel: wildcard FQDN "*.hcp.chinaeast2.cx.prod.service.azk8s.cn" in a network rule (Azure takes exact names only); expressed as the service tag AzureCloud.chinaeast2 (broader: every Azure address of the region)
//   warning: bicep: rule aks-required/aks-required-network/china.hcp: wildcard FQDN "*.hcp.chinaeast2.cx.prod.service.azk8s.cn" in a network rule (Azure takes exact names only); expressed as the service tag AzureCloud.chinaeast2 (broader: every Azure address of the region)
//   warning: bicep: rule aks-required/aks-required-network/china.tun: wildcard FQDN "*.tun.chinaeast2.cx.prod.service.azk8s.cn" in a network rule (Azure takes exact names only); expressed as the service tag AzureCloud.chinaeast2 (broader: every Azure address of the region)
//
// Creates the firewall policy, its rule collection groups (deployed one after the other: Azure
// does not update one policy in parallel) and the route table "aks-china-chinaeast2-udr".
// Network rules use FQDNs, so the policy enables DNS proxy: point the VNet DNS servers at the
// firewall's private IP so that nodes and firewall resolve the same addresses.
// Then attach the policy to the firewall and the route table to the AKS subnet:
//   az network firewall update -g RG -n FIREWALL --firewall-policy aks-china-chinaeast2
//   az network vnet subnet update -g RG --vnet-name VNET -n AKS_SUBNET --route-table aks-china-chinaeast2-udr
// and create the cluster with --outbound-type userDefinedRouting (limit-egress-traffic.md).

@description('Region of the firewall policy and the route table')
param location string = 'chinaeast2'

@description('Name of the firewall policy')
param firewallPolicyName string = 'aks-china-chinaeast2'

@description('The firewall\'s private IP: next hop of the 0.0.0.0/0 route')
param firewallPrivateIp string = '10.0.1.4'

@description('The firewall\'s public IP: routed to the Internet (asymmetric routing) and the DNAT destination')
param firewallPublicIp string = '20.61.1.4'

@description('Name of the route table for the AKS subnet')
param routeTableName string = 'aks-china-chinaeast2-udr'

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
            name: 'china.network.tunnel'
            description: 'aks-required/aks-required-network/china.network.tunnel'
            sourceAddresses: [
              '*'
            ]
            ipProtocols: [
              'TCP'
            ]
            destinationAddresses: [
              'AzureCloud.chinaeast2'
            ]
            destinationPorts: [
              '9000'
              '22'
            ]
          }
          {
            ruleType: 'NetworkRule'
            name: 'china.hcp'
            description: 'aks-required/aks-required-network/china.hcp'
            sourceAddresses: [
              '*'
            ]
            ipProtocols: [
              'TCP'
            ]
            destinationAddresses: [
              'AzureCloud.chinaeast2'
            ]
            destinationPorts: [
              '22'
              '9000'
            ]
          }
          {
            ruleType: 'NetworkRule'
            name: 'china.tun'
            description: 'aks-required/aks-required-network/china.tun'
            sourceAddresses: [
              '*'
            ]
            ipProtocols: [
              'TCP'
            ]
            destinationAddresses: [
              'AzureCloud.chinaeast2'
            ]
            destinationPorts: [
              '22'
              '9000'
            ]
          }
          {
            ruleType: 'NetworkRule'
            name: 'china.ntp'
            description: 'aks-required/aks-required-network/china.ntp'
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
        name: 'aks-required-application'
        priority: 200
        action: {
          type: 'Allow'
        }
        rules: [
          {
            ruleType: 'ApplicationRule'
            name: 'china.hcp'
            description: 'aks-required/aks-required-application/china.hcp'
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
              '*.hcp.chinaeast2.cx.prod.service.azk8s.cn'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'china.tun'
            description: 'aks-required/aks-required-application/china.tun'
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
              '*.tun.chinaeast2.cx.prod.service.azk8s.cn'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'china.azk8s'
            description: 'aks-required/aks-required-application/china.azk8s'
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
              '*.azk8s.cn'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'china.mcr'
            description: 'aks-required/aks-required-application/china.mcr'
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
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'china.cdn-mscr'
            description: 'aks-required/aks-required-application/china.cdn-mscr'
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
              '*.cdn.mscr.io'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'china.management'
            description: 'aks-required/aks-required-application/china.management'
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
              'management.chinacloudapi.cn'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'china.login'
            description: 'aks-required/aks-required-application/china.login'
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
              'login.chinacloudapi.cn'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'china.packages'
            description: 'aks-required/aks-required-application/china.packages'
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
              'packages.microsoft.com'
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
              '*'
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
              '*'
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
              '*'
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
              '*'
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
              '*'
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
            name: 'gpu.dockerproject'
            description: 'addon-gpu/addon-gpu-application/gpu.dockerproject'
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
              'apt.dockerproject.org'
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
        name: 'addon-monitoring-application'
        priority: 200
        action: {
          type: 'Allow'
        }
        rules: [
          {
            ruleType: 'ApplicationRule'
            name: 'monitoring.dc-services'
            description: 'addon-monitoring/addon-monitoring-application/monitoring.dc-services'
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
              'dc.services.visualstudio.com'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'monitoring.ods'
            description: 'addon-monitoring/addon-monitoring-application/monitoring.ods'
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
              '*.ods.opinsights.azure.com'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'monitoring.oms'
            description: 'addon-monitoring/addon-monitoring-application/monitoring.oms'
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
              '*.oms.opinsights.azure.com'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'monitoring.microsoftonline'
            description: 'addon-monitoring/addon-monitoring-application/monitoring.microsoftonline'
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
              '*.microsoftonline.com'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'monitoring.monitoring-azure'
            description: 'addon-monitoring/addon-monitoring-application/monitoring.monitoring-azure'
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
              '*.monitoring.azure.com'
            ]
          }
        ]
      }
    ]
  }
}

resource rcg_addon_dev_spaces 'Microsoft.Network/firewallPolicies/ruleCollectionGroups@2024-05-01' = {
  parent: firewallPolicy
  name: 'addon-dev-spaces'
  dependsOn: [
    rcg_addon_monitoring
  ]
  properties: {
    priority: 600
    ruleCollections: [
      {
        ruleCollectionType: 'FirewallPolicyFilterRuleCollection'
        name: 'addon-dev-spaces-application'
        priority: 200
        action: {
          type: 'Allow'
        }
        rules: [
          {
            ruleType: 'ApplicationRule'
            name: 'dev-spaces.cloudflare-docker'
            description: 'addon-dev-spaces/addon-dev-spaces-application/dev-spaces.cloudflare-docker'
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
              'cloudflare.docker.com'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'dev-spaces.gcr'
            description: 'addon-dev-spaces/addon-dev-spaces-application/dev-spaces.gcr'
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
              'gcr.io'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'dev-spaces.googleapis-storage'
            description: 'addon-dev-spaces/addon-dev-spaces-application/dev-spaces.googleapis-storage'
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
              'storage.googleapis.com'
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
    rcg_addon_dev_spaces
  ]
  properties: {
    priority: 700
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
            name: 'azure-policy.policy-data'
            description: 'addon-azure-policy/addon-azure-policy-application/azure-policy.policy-data'
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
              'gov-prod-policy-data.trafficmanager.net'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'azure-policy.github-raw'
            description: 'addon-azure-policy/addon-azure-policy-application/azure-policy.github-raw'
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
              'raw.githubusercontent.com'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'azure-policy.gatekeeper'
            description: 'addon-azure-policy/addon-azure-policy-application/azure-policy.gatekeeper'
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
              '*.gk.chinaeast2.azmk8s.io'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'azure-policy.dc-services'
            description: 'addon-azure-policy/addon-azure-policy-application/azure-policy.dc-services'
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
    priority: 800
    ruleCollections: [
      {
        ruleCollectionType: 'FirewallPolicyFilterRuleCollection'
        name: 'addon-windows-network'
        priority: 100
        action: {
          type: 'Allow'
        }
        rules: [
          {
            ruleType: 'NetworkRule'
            name: 'windows.kms'
            description: 'addon-windows/addon-windows-network/windows.kms'
            sourceAddresses: [
              '*'
            ]
            ipProtocols: [
              'TCP'
            ]
            destinationFqdns: [
              'kms.core.windows.net'
            ]
            destinationPorts: [
              '1688'
            ]
          }
        ]
      }
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
              '*'
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
            name: 'windows.winlayers-blob'
            description: 'addon-windows/addon-windows-application/windows.winlayers-blob'
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
              'winlayers.blob.core.windows.net'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'windows.winlayers-cdn'
            description: 'addon-windows/addon-windows-application/windows.winlayers-cdn'
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
              'winlayers.cdn.mscr.io'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'windows.go-microsoft'
            description: 'addon-windows/addon-windows-application/windows.go-microsoft'
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
              'go.microsoft.com'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'windows.mp-microsoft'
            description: 'addon-windows/addon-windows-application/windows.mp-microsoft'
            sourceAddresses: [
              '*'
            ]
            protocols: [
              {
                protocolType: 'Http'
                port: 80
              }
            ]
            targetFqdns: [
              'mp.microsoft.com'
            ]
          }
          {
            ruleType: 'ApplicationRule'
            name: 'windows.msftconnecttest'
            description: 'addon-windows/addon-windows-application/windows.msftconnecttest'
            sourceAddresses: [
              '*'
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
              '*'
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
