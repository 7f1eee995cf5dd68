# Written by aks-egress export terraform from policy "aks-public-eastus".
# Policy "aks-public-eastus": cloud public, region eastus, catalog 2026-06.
# Each rule carries its path in the aks-egress policy: GROUP/COLLECTION/RULE.
#
# Creates the firewall policy, its rule collection groups (deployed one after the other: Azure
# does not update one policy in parallel) and the route table "aks-public-eastus-udr".
# Network rules use FQDNs, so the policy enables DNS proxy: point the VNet DNS servers at the
# firewall's private IP so that nodes and firewall resolve the same addresses.
# Then attach the policy to the firewall and the route table to the AKS subnet (or set aks_subnet_id):
#   az network firewall update -g RG -n FIREWALL --firewall-policy aks-public-eastus
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
  default     = "eastus"
}

variable "firewall_policy_name" {
  description = "Name of the firewall policy"
  type        = string
  default     = "aks-public-eastus"
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
  default     = "aks-public-eastus-udr"
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
      name                  = "public.network.tunnel-udp-1194"
      description           = "aks-required/aks-required-network/public.network.tunnel-udp-1194"
      protocols             = ["UDP"]
      source_addresses      = ["10.224.0.0/16"]
      destination_addresses = ["20.50.1.2"]
      destination_ports     = ["1194"]
    }

    rule {
      name                  = "public.network.tunnel-tcp-9000"
      description           = "aks-required/aks-required-network/public.network.tunnel-tcp-9000"
      protocols             = ["TCP"]
      source_addresses      = ["10.224.0.0/16"]
      destination_addresses = ["20.50.1.2"]
      destination_ports     = ["9000"]
    }

    rule {
      name              = "public.network.ntp"
      description       = "aks-required/aks-required-network/public.network.ntp"
      protocols         = ["UDP"]
      source_addresses  = ["10.224.0.0/16"]
      destination_fqdns = ["ntp.ubuntu.com"]
      destination_ports = ["123"]
    }

    rule {
      name                  = "public.network.api-server"
      description           = "aks-required/aks-required-network/public.network.api-server"
      protocols             = ["TCP"]
      source_addresses      = ["10.224.0.0/16"]
      destination_addresses = ["20.50.1.2"]
      destination_ports     = ["443"]
    }
  }

  application_rule_collection {
    name     = "aks-required-application"
    priority = 200
    action   = "Allow"

    rule {
      name              = "public.hcp"
      description       = "aks-required/aks-required-application/public.hcp"
      source_addresses  = ["10.224.0.0/16"]
      destination_fqdns = ["*.hcp.eastus.azmk8s.io"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "public.mcr"
      description       = "aks-required/aks-required-application/public.mcr"
      source_addresses  = ["10.224.0.0/16"]
      destination_fqdns = ["mcr.microsoft.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "public.mcr-data"
      description       = "aks-required/aks-required-application/public.mcr-data"
      source_addresses  = ["10.224.0.0/16"]
      destination_fqdns = ["*.data.mcr.microsoft.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "public.mcr-edge"
      description       = "aks-required/aks-required-application/public.mcr-edge"
      source_addresses  = ["10.224.0.0/16"]
      destination_fqdns = ["mcr-0001.mcr-msedge.net"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "public.management"
      description       = "aks-required/aks-required-application/public.management"
      source_addresses  = ["10.224.0.0/16"]
      destination_fqdns = ["management.azure.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "public.login"
      description       = "aks-required/aks-required-application/public.login"
      source_addresses  = ["10.224.0.0/16"]
      destination_fqdns = ["login.microsoftonline.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "public.packages"
      description       = "aks-required/aks-required-application/public.packages"
      source_addresses  = ["10.224.0.0/16"]
      destination_fqdns = ["packages.microsoft.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "public.acs-mirror"
      description       = "aks-required/aks-required-application/public.acs-mirror"
      source_addresses  = ["10.224.0.0/16"]
      destination_fqdns = ["acs-mirror.azureedge.net"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "public.packages-aks"
      description       = "aks-required/aks-required-application/public.packages-aks"
      source_addresses  = ["10.224.0.0/16"]
      destination_fqdns = ["packages.aks.azure.com"]

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
      source_addresses  = ["10.224.0.0/16"]
      destination_fqdns = ["security.ubuntu.com"]

      protocols {
        type = "Http"
        port = 80
      }
    }

    rule {
      name              = "ubuntu-updates.azure-archive"
      description       = "aks-recommended/aks-recommended-application/ubuntu-updates.azure-archive"
      source_addresses  = ["10.224.0.0/16"]
      destination_fqdns = ["azure.archive.ubuntu.com"]

      protocols {
        type = "Http"
        port = 80
      }
    }

    rule {
      name              = "ubuntu-updates.changelogs"
      description       = "aks-recommended/aks-recommended-application/ubuntu-updates.changelogs"
      source_addresses  = ["10.224.0.0/16"]
      destination_fqdns = ["changelogs.ubuntu.com"]

      protocols {
        type = "Http"
        port = 80
      }
    }

    rule {
      name              = "ubuntu-updates.snapshot"
      description       = "aks-recommended/aks-recommended-application/ubuntu-updates.snapshot"
      source_addresses  = ["10.224.0.0/16"]
      destination_fqdns = ["snapshot.ubuntu.com"]

      protocols {
        type = "Https"
        port = 443
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
      source_addresses  = ["10.224.0.0/16"]
      destination_fqdns = ["nvidia.github.io"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "gpu.nvidia-download"
      description       = "addon-gpu/addon-gpu-application/gpu.nvidia-download"
      source_addresses  = ["10.224.0.0/16"]
      destination_fqdns = ["us.download.nvidia.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "gpu.docker-download"
      description       = "addon-gpu/addon-gpu-application/gpu.docker-download"
      source_addresses  = ["10.224.0.0/16"]
      destination_fqdns = ["download.docker.com"]

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

  network_rule_collection {
    name     = "addon-monitoring-network"
    priority = 100
    action   = "Allow"

    rule {
      name                  = "monitoring.network.service-tag"
      description           = "addon-monitoring/addon-monitoring-network/monitoring.network.service-tag"
      protocols             = ["TCP"]
      source_addresses      = ["10.224.0.0/16"]
      destination_addresses = ["AzureMonitor"]
      destination_ports     = ["443"]
    }
  }

  application_rule_collection {
    name     = "addon-monitoring-application"
    priority = 200
    action   = "Allow"

    rule {
      name              = "monitoring.public.ods"
      description       = "addon-monitoring/addon-monitoring-application/monitoring.public.ods"
      source_addresses  = ["10.224.0.0/16"]
      destination_fqdns = ["*.ods.opinsights.azure.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "monitoring.public.oms"
      description       = "addon-monitoring/addon-monitoring-application/monitoring.public.oms"
      source_addresses  = ["10.224.0.0/16"]
      destination_fqdns = ["*.oms.opinsights.azure.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "monitoring.public.dc-services"
      description       = "addon-monitoring/addon-monitoring-application/monitoring.public.dc-services"
      source_addresses  = ["10.224.0.0/16"]
      destination_fqdns = ["dc.services.visualstudio.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "monitoring.public.app-insights"
      description       = "addon-monitoring/addon-monitoring-application/monitoring.public.app-insights"
      source_addresses  = ["10.224.0.0/16"]
      destination_fqdns = ["*.in.applicationinsights.azure.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "monitoring.public.monitoring-azure"
      description       = "addon-monitoring/addon-monitoring-application/monitoring.public.monitoring-azure"
      source_addresses  = ["10.224.0.0/16"]
      destination_fqdns = ["*.monitoring.azure.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "monitoring.public.login"
      description       = "addon-monitoring/addon-monitoring-application/monitoring.public.login"
      source_addresses  = ["10.224.0.0/16"]
      destination_fqdns = ["login.microsoftonline.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "monitoring.public.global-handler"
      description       = "addon-monitoring/addon-monitoring-application/monitoring.public.global-handler"
      source_addresses  = ["10.224.0.0/16"]
      destination_fqdns = ["global.handler.control.monitor.azure.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "monitoring.public.ingest"
      description       = "addon-monitoring/addon-monitoring-application/monitoring.public.ingest"
      source_addresses  = ["10.224.0.0/16"]
      destination_fqdns = ["*.ingest.monitor.azure.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "monitoring.public.metrics-ingest"
      description       = "addon-monitoring/addon-monitoring-application/monitoring.public.metrics-ingest"
      source_addresses  = ["10.224.0.0/16"]
      destination_fqdns = ["*.metrics.ingest.monitor.azure.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "monitoring.public.region-handler"
      description       = "addon-monitoring/addon-monitoring-application/monitoring.public.region-handler"
      source_addresses  = ["10.224.0.0/16"]
      destination_fqdns = ["eastus.handler.control.monitor.azure.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }
  }

  depends_on = [azurerm_firewall_policy_rule_collection_group.addon-gpu]
}

resource "azurerm_firewall_policy_rule_collection_group" "addon-defender" {
  name               = "addon-defender"
  firewall_policy_id = azurerm_firewall_policy.aks_egress.id
  priority           = 600

  application_rule_collection {
    name     = "addon-defender-application"
    priority = 200
    action   = "Allow"

    rule {
      name              = "defender.public.login"
      description       = "addon-defender/addon-defender-application/defender.public.login"
      source_addresses  = ["10.224.0.0/16"]
      destination_fqdns = ["login.microsoftonline.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "defender.public.ods"
      description       = "addon-defender/addon-defender-application/defender.public.ods"
      source_addresses  = ["10.224.0.0/16"]
      destination_fqdns = ["*.ods.opinsights.azure.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "defender.public.oms"
      description       = "addon-defender/addon-defender-application/defender.public.oms"
      source_addresses  = ["10.224.0.0/16"]
      destination_fqdns = ["*.oms.opinsights.azure.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "defender.public.cloud-defender"
      description       = "addon-defender/addon-defender-application/defender.public.cloud-defender"
      source_addresses  = ["10.224.0.0/16"]
      destination_fqdns = ["*.cloud.defender.microsoft.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }
  }

  depends_on = [azurerm_firewall_policy_rule_collection_group.addon-monitoring]
}

resource "azurerm_firewall_policy_rule_collection_group" "addon-keyvault" {
  name               = "addon-keyvault"
  firewall_policy_id = azurerm_firewall_policy.aks_egress.id
  priority           = 700

  application_rule_collection {
    name     = "addon-keyvault-application"
    priority = 200
    action   = "Allow"

    rule {
      name              = "keyvault.public.vault"
      description       = "addon-keyvault/addon-keyvault-application/keyvault.public.vault"
      source_addresses  = ["10.224.0.0/16"]
      destination_fqdns = ["vault.azure.net"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "keyvault.public.vaults"
      description       = "addon-keyvault/addon-keyvault-application/keyvault.public.vaults"
      source_addresses  = ["10.224.0.0/16"]
      destination_fqdns = ["*.vault.azure.net"]

      protocols {
        type = "Https"
        port = 443
      }
    }
  }

  depends_on = [azurerm_firewall_policy_rule_collection_group.addon-defender]
}

resource "azurerm_firewall_policy_rule_collection_group" "addon-azure-policy" {
  name               = "addon-azure-policy"
  firewall_policy_id = azurerm_firewall_policy.aks_egress.id
  priority           = 800

  application_rule_collection {
    name     = "addon-azure-policy-application"
    priority = 200
    action   = "Allow"

    rule {
      name              = "azure-policy.public.data"
      description       = "addon-azure-policy/addon-azure-policy-application/azure-policy.public.data"
      source_addresses  = ["10.224.0.0/16"]
      destination_fqdns = ["data.policy.core.windows.net"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "azure-policy.public.store"
      description       = "addon-azure-policy/addon-azure-policy-application/azure-policy.public.store"
      source_addresses  = ["10.224.0.0/16"]
      destination_fqdns = ["store.policy.core.windows.net"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "azure-policy.public.dc-services"
      description       = "addon-azure-policy/addon-azure-policy-application/azure-policy.public.dc-services"
      source_addresses  = ["10.224.0.0/16"]
      destination_fqdns = ["dc.services.visualstudio.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }
  }

  depends_on = [azurerm_firewall_policy_rule_collection_group.addon-keyvault]
}

resource "azurerm_firewall_policy_rule_collection_group" "addon-windows" {
  name               = "addon-windows"
  firewall_policy_id = azurerm_firewall_policy.aks_egress.id
  priority           = 900

  application_rule_collection {
    name     = "addon-windows-application"
    priority = 200
    action   = "Allow"

    rule {
      name              = "windows.oneget-cdn"
      description       = "addon-windows/addon-windows-application/windows.oneget-cdn"
      source_addresses  = ["10.224.0.0/16"]
      destination_fqdns = ["onegetcdn.azureedge.net"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "windows.go-microsoft"
      description       = "addon-windows/addon-windows-application/windows.go-microsoft"
      source_addresses  = ["10.224.0.0/16"]
      destination_fqdns = ["go.microsoft.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "windows.mp-microsoft"
      description       = "addon-windows/addon-windows-application/windows.mp-microsoft"
      source_addresses  = ["10.224.0.0/16"]
      destination_fqdns = ["*.mp.microsoft.com"]

      protocols {
        type = "Http"
        port = 80
      }
    }

    rule {
      name              = "windows.msftconnecttest"
      description       = "addon-windows/addon-windows-application/windows.msftconnecttest"
      source_addresses  = ["10.224.0.0/16"]
      destination_fqdns = ["www.msftconnecttest.com"]

      protocols {
        type = "Http"
        port = 80
      }
    }

    rule {
      name              = "windows.ctldl"
      description       = "addon-windows/addon-windows-application/windows.ctldl"
      source_addresses  = ["10.224.0.0/16"]
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
