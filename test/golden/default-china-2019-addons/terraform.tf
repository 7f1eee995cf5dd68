# Written by aks-egress export terraform from policy "aks-china-chinaeast2".
# Policy "aks-china-chinaeast2": cloud china, region chinaeast2, catalog 2019-11.
# Each rule carries its path in the aks-egress policy: GROUP/COLLECTION/RULE.
# 0 error(s), 3 warning(s) on export: constructs terraform cannot express as written (listed below and on stderr).
#   warning: terraform: rule aks-required/aks-required-network/china.network.tunnel: wildcard FQDN "*.hcp.chinaeast2.cx.prod.service.azk8s.cn" in a network rule (Azure takes exact names only); expressed as the service tag AzureCloud.chinaeast2 (broader: every Azure address of the region)
#   warning: terraform: rule aks-required/aks-required-network/china.hcp: wildcard FQDN "*.hcp.chinaeast2.cx.prod.service.azk8s.cn" in a network rule (Azure takes exact names only); expressed as the service tag AzureCloud.chinaeast2 (broader: every Azure address of the region)
#   warning: terraform: rule aks-required/aks-required-network/china.tun: wildcard FQDN "*.tun.chinaeast2.cx.prod.service.azk8s.cn" in a network rule (Azure takes exact names only); expressed as the service tag AzureCloud.chinaeast2 (broader: every Azure address of the region)
#
# Creates the firewall policy, its rule collection groups (deployed one after the other: Azure
# does not update one policy in parallel) and the route table "aks-china-chinaeast2-udr".
# Network rules use FQDNs, so the policy enables DNS proxy: point the VNet DNS servers at the
# firewall's private IP so that nodes and firewall resolve the same addresses.
# Then attach the policy to the firewall and the route table to the AKS subnet (or set aks_subnet_id):
#   az network firewall update -g RG -n FIREWALL --firewall-policy aks-china-chinaeast2
# and create the cluster with --outbound-type userDefinedRouting (limit-egress-traffic.md).

terraform {
  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = ">= 3.80"
    }
  }
}

provider "azurerm" {
  features {}
}

variable "resource_group_name" {
  description = "Resource group of the firewall policy and the route table"
  type        = string
  default     = "aks-rg"
}

variable "location" {
  description = "Region of the firewall policy and the route table"
  type        = string
  default     = "chinaeast2"
}

variable "firewall_policy_name" {
  description = "Name of the firewall policy"
  type        = string
  default     = "aks-china-chinaeast2"
}

variable "firewall_private_ip" {
  description = "The firewall's private IP: next hop of the 0.0.0.0/0 route"
  type        = string
  default     = "10.0.1.4"
}

variable "firewall_public_ip" {
  description = "The firewall's public IP: routed to the Internet (asymmetric routing) and the DNAT destination"
  type        = string
  default     = "20.61.1.4"
}

variable "route_table_name" {
  description = "Name of the route table for the AKS subnet"
  type        = string
  default     = "aks-china-chinaeast2-udr"
}

variable "aks_subnet_id" {
  description = "ID of the AKS subnet; when set, the route table is associated with it"
  type        = string
  default     = null
}

resource "azurerm_firewall_policy" "aks_egress" {
  name                     = var.firewall_policy_name
  resource_group_name      = var.resource_group_name
  location                 = var.location
  sku                      = "Standard"
  threat_intelligence_mode = "Alert"

  dns {
    proxy_enabled = true
  }
}

resource "azurerm_firewall_policy_rule_collection_group" "aks-required" {
  name               = "aks-required"
  firewall_policy_id = azurerm_firewall_policy.aks_egress.id
  priority           = 200

  network_rule_collection {
    name     = "aks-required-network"
    priority = 100
    action   = "Allow"

    rule {
      name                  = "china.network.tunnel"
      description           = "aks-required/aks-required-network/china.network.tunnel"
      protocols             = ["TCP"]
      source_addresses      = ["*"]
      destination_addresses = ["AzureCloud.chinaeast2"]
      destination_ports     = ["9000", "22"]
    }

    rule {
      name                  = "china.hcp"
      description           = "aks-required/aks-required-network/china.hcp"
      protocols             = ["TCP"]
      source_addresses      = ["*"]
      destination_addresses = ["AzureCloud.chinaeast2"]
      destination_ports     = ["22", "9000"]
    }

    rule {
      name                  = "china.tun"
      description           = "aks-required/aks-required-network/china.tun"
      protocols             = ["TCP"]
      source_addresses      = ["*"]
      destination_addresses = ["AzureCloud.chinaeast2"]
      destination_ports     = ["22", "9000"]
    }

    rule {
      name              = "china.ntp"
      description       = "aks-required/aks-required-network/china.ntp"
      protocols         = ["UDP"]
      source_addresses  = ["*"]
      destination_fqdns = ["ntp.ubuntu.com"]
      destination_ports = ["123"]
    }
  }

  application_rule_collection {
    name     = "aks-required-application"
    priority = 200
    action   = "Allow"

    rule {
      name              = "china.hcp"
      description       = "aks-required/aks-required-application/china.hcp"
      source_addresses  = ["*"]
      destination_fqdns = ["*.hcp.chinaeast2.cx.prod.service.azk8s.cn"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "china.tun"
      description       = "aks-required/aks-required-application/china.tun"
      source_addresses  = ["*"]
      destination_fqdns = ["*.tun.chinaeast2.cx.prod.service.azk8s.cn"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "china.azk8s"
      description       = "aks-required/aks-required-application/china.azk8s"
      source_addresses  = ["*"]
      destination_fqdns = ["*.azk8s.cn"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "china.mcr"
      description       = "aks-required/aks-required-application/china.mcr"
      source_addresses  = ["*"]
      destination_fqdns = ["mcr.microsoft.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "china.cdn-mscr"
      description       = "aks-required/aks-required-application/china.cdn-mscr"
      source_addresses  = ["*"]
      destination_fqdns = ["*.cdn.mscr.io"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "china.management"
      description       = "aks-required/aks-required-application/china.management"
      source_addresses  = ["*"]
      destination_fqdns = ["management.chinacloudapi.cn"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "china.login"
      description       = "aks-required/aks-required-application/china.login"
      source_addresses  = ["*"]
      destination_fqdns = ["login.chinacloudapi.cn"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "china.packages"
      description       = "aks-required/aks-required-application/china.packages"
      source_addresses  = ["*"]
      destination_fqdns = ["packages.microsoft.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }
  }
}

resource "azurerm_firewall_policy_rule_collection_group" "aks-recommended" {
  name               = "aks-recommended"
  firewall_policy_id = azurerm_firewall_policy.aks_egress.id
  priority           = 300

  application_rule_collection {
    name     = "aks-recommended-application"
    priority = 200
    action   = "Allow"

    rule {
      name              = "ubuntu-updates.security"
      description       = "aks-recommended/aks-recommended-application/ubuntu-updates.security"
      source_addresses  = ["*"]
      destination_fqdns = ["security.ubuntu.com"]

      protocols {
        type = "Http"
        port = 80
      }
    }

    rule {
      name              = "ubuntu-updates.azure-archive"
      description       = "aks-recommended/aks-recommended-application/ubuntu-updates.azure-archive"
      source_addresses  = ["*"]
      destination_fqdns = ["azure.archive.ubuntu.com"]

      protocols {
        type = "Http"
        port = 80
      }
    }

    rule {
      name              = "ubuntu-updates.changelogs"
      description       = "aks-recommended/aks-recommended-application/ubuntu-updates.changelogs"
      source_addresses  = ["*"]
      destination_fqdns = ["changelogs.ubuntu.com"]

      protocols {
        type = "Http"
        port = 80
      }
    }
  }

  depends_on = [azurerm_firewall_policy_rule_collection_group.aks-required]
}

resource "azurerm_firewall_policy_rule_collection_group" "addon-gpu" {
  name               = "addon-gpu"
  firewall_policy_id = azurerm_firewall_policy.aks_egress.id
  priority           = 400

  application_rule_collection {
    name     = "addon-gpu-application"
    priority = 200
    action   = "Allow"

    rule {
      name              = "gpu.nvidia-github"
      description       = "addon-gpu/addon-gpu-application/gpu.nvidia-github"
      source_addresses  = ["*"]
      destination_fqdns = ["nvidia.github.io"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "gpu.nvidia-download"
      description       = "addon-gpu/addon-gpu-application/gpu.nvidia-download"
      source_addresses  = ["*"]
      destination_fqdns = ["us.download.nvidia.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "gpu.dockerproject"
      description       = "addon-gpu/addon-gpu-application/gpu.dockerproject"
      source_addresses  = ["*"]
      destination_fqdns = ["apt.dockerproject.org"]

      protocols {
        type = "Https"
        port = 443
      }
    }
  }

  depends_on = [azurerm_firewall_policy_rule_collection_group.aks-recommended]
}

resource "azurerm_firewall_policy_rule_collection_group" "addon-monitoring" {
  name               = "addon-monitoring"
  firewall_policy_id = azurerm_firewall_policy.aks_egress.id
  priority           = 500

  application_rule_collection {
    name     = "addon-monitoring-application"
    priority = 200
    action   = "Allow"

    rule {
      name              = "monitoring.dc-services"
      description       = "addon-monitoring/addon-monitoring-application/monitoring.dc-services"
      source_addresses  = ["*"]
      destination_fqdns = ["dc.services.visualstudio.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "monitoring.ods"
      description       = "addon-monitoring/addon-monitoring-application/monitoring.ods"
      source_addresses  = ["*"]
      destination_fqdns = ["*.ods.opinsights.azure.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "monitoring.oms"
      description       = "addon-monitoring/addon-monitoring-application/monitoring.oms"
      source_addresses  = ["*"]
      destination_fqdns = ["*.oms.opinsights.azure.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "monitoring.microsoftonline"
      description       = "addon-monitoring/addon-monitoring-application/monitoring.microsoftonline"
      source_addresses  = ["*"]
      destination_fqdns = ["*.microsoftonline.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "monitoring.monitoring-azure"
      description       = "addon-monitoring/addon-monitoring-application/monitoring.monitoring-azure"
      source_addresses  = ["*"]
      destination_fqdns = ["*.monitoring.azure.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }
  }

  depends_on = [azurerm_firewall_policy_rule_collection_group.addon-gpu]
}

resource "azurerm_firewall_policy_rule_collection_group" "addon-dev-spaces" {
  name               = "addon-dev-spaces"
  firewall_policy_id = azurerm_firewall_policy.aks_egress.id
  priority           = 600

  application_rule_collection {
    name     = "addon-dev-spaces-application"
    priority = 200
    action   = "Allow"

    rule {
      name              = "dev-spaces.cloudflare-docker"
      description       = "addon-dev-spaces/addon-dev-spaces-application/dev-spaces.cloudflare-docker"
      source_addresses  = ["*"]
      destination_fqdns = ["cloudflare.docker.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "dev-spaces.gcr"
      description       = "addon-dev-spaces/addon-dev-spaces-application/dev-spaces.gcr"
      source_addresses  = ["*"]
      destination_fqdns = ["gcr.io"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "dev-spaces.googleapis-storage"
      description       = "addon-dev-spaces/addon-dev-spaces-application/dev-spaces.googleapis-storage"
      source_addresses  = ["*"]
      destination_fqdns = ["storage.googleapis.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }
  }

  depends_on = [azurerm_firewall_policy_rule_collection_group.addon-monitoring]
}

resource "azurerm_firewall_policy_rule_collection_group" "addon-azure-policy" {
  name               = "addon-azure-policy"
  firewall_policy_id = azurerm_firewall_policy.aks_egress.id
  priority           = 700

  application_rule_collection {
    name     = "addon-azure-policy-application"
    priority = 200
    action   = "Allow"

    rule {
      name              = "azure-policy.policy-data"
      description       = "addon-azure-policy/addon-azure-policy-application/azure-policy.policy-data"
      source_addresses  = ["*"]
      destination_fqdns = ["gov-prod-policy-data.trafficmanager.net"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "azure-policy.github-raw"
      description       = "addon-azure-policy/addon-azure-policy-application/azure-policy.github-raw"
      source_addresses  = ["*"]
      destination_fqdns = ["raw.githubusercontent.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "azure-policy.gatekeeper"
      description       = "addon-azure-policy/addon-azure-policy-application/azure-policy.gatekeeper"
      source_addresses  = ["*"]
      destination_fqdns = ["*.gk.chinaeast2.azmk8s.io"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "azure-policy.dc-services"
      description       = "addon-azure-policy/addon-azure-policy-application/azure-policy.dc-services"
      source_addresses  = ["*"]
      destination_fqdns = ["dc.services.visualstudio.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }
  }

  depends_on = [azurerm_firewall_policy_rule_collection_group.addon-dev-spaces]
}

resource "azurerm_firewall_policy_rule_collection_group" "addon-windows" {
  name               = "addon-windows"
  firewall_policy_id = azurerm_firewall_policy.aks_egress.id
  priority           = 800

  network_rule_collection {
    name     = "addon-windows-network"
    priority = 100
    action   = "Allow"

    rule {
      name              = "windows.kms"
      description       = "addon-windows/addon-windows-network/windows.kms"
      protocols         = ["TCP"]
      source_addresses  = ["*"]
      destination_fqdns = ["kms.core.windows.net"]
      destination_ports = ["1688"]
    }
  }

  application_rule_collection {
    name     = "addon-windows-application"
    priority = 200
    action   = "Allow"

    rule {
      name              = "windows.oneget-cdn"
      description       = "addon-windows/addon-windows-application/windows.oneget-cdn"
      source_addresses  = ["*"]
      destination_fqdns = ["onegetcdn.azureedge.net"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "windows.winlayers-blob"
      description       = "addon-windows/addon-windows-application/windows.winlayers-blob"
      source_addresses  = ["*"]
      destination_fqdns = ["winlayers.blob.core.windows.net"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "windows.winlayers-cdn"
      description       = "addon-windows/addon-windows-application/windows.winlayers-cdn"
      source_addresses  = ["*"]
      destination_fqdns = ["winlayers.cdn.mscr.io"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "windows.go-microsoft"
      description       = "addon-windows/addon-windows-application/windows.go-microsoft"
      source_addresses  = ["*"]
      destination_fqdns = ["go.microsoft.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "windows.mp-microsoft"
      description       = "addon-windows/addon-windows-application/windows.mp-microsoft"
      source_addresses  = ["*"]
      destination_fqdns = ["mp.microsoft.com"]

      protocols {
        type = "Http"
        port = 80
      }
    }

    rule {
      name              = "windows.msftconnecttest"
      description       = "addon-windows/addon-windows-application/windows.msftconnecttest"
      source_addresses  = ["*"]
      destination_fqdns = ["www.msftconnecttest.com"]

      protocols {
        type = "Http"
        port = 80
      }
    }

    rule {
      name              = "windows.ctldl"
      description       = "addon-windows/addon-windows-application/windows.ctldl"
      source_addresses  = ["*"]
      destination_fqdns = ["ctldl.windowsupdate.com"]

      protocols {
        type = "Http"
        port = 80
      }
    }
  }

  depends_on = [azurerm_firewall_policy_rule_collection_group.addon-azure-policy]
}

resource "azurerm_route_table" "aks_egress_udr" {
  name                = var.route_table_name
  location            = var.location
  resource_group_name = var.resource_group_name

  route {
    name                   = "default-to-firewall"
    address_prefix         = "0.0.0.0/0"
    next_hop_type          = "VirtualAppliance"
    next_hop_in_ip_address = var.firewall_private_ip
  }

  route {
    name           = "firewall-public-ip"
    address_prefix = "${var.firewall_public_ip}/32"
    next_hop_type  = "Internet"
  }
}

resource "azurerm_subnet_route_table_association" "aks" {
  count          = var.aks_subnet_id == null ? 0 : 1
  subnet_id      = var.aks_subnet_id
  route_table_id = azurerm_route_table.aks_egress_udr.id
}

output "firewall_policy_id" {
  value = azurerm_firewall_policy.aks_egress.id
}

output "route_table_id" {
  value = azurerm_route_table.aks_egress_udr.id
}
