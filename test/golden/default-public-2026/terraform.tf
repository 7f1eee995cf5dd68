# Written by aks-egress export terraform from policy "aks-public-westeurope".
# Policy "aks-public-westeurope": cloud public, region westeurope, catalog 2026-06.
# Each rule carries its path in the aks-egress policy: GROUP/COLLECTION/RULE.
# 0 error(s), 2 warning(s) on export: constructs terraform cannot express as written (listed below and on stderr).
#   warning: terraform: rule aks-required/aks-required-network/public.network.tunnel-udp-1194: wildcard FQDN "*.hcp.westeurope.azmk8s.io" in a network rule (Azure takes exact names only); expressed as the service tag AzureCloud.westeurope (broader: every Azure address of the region)
#   warning: terraform: rule aks-required/aks-required-network/public.network.tunnel-tcp-9000: wildcard FQDN "*.hcp.westeurope.azmk8s.io" in a network rule (Azure takes exact names only); expressed as the service tag AzureCloud.westeurope (broader: every Azure address of the region)
#
# Creates the firewall policy, its rule collection groups (deployed one after the other: Azure
# does not update one policy in parallel) and the route table "aks-public-westeurope-udr".
# Network rules use FQDNs, so the policy enables DNS proxy: point the VNet DNS servers at the
# firewall's private IP so that nodes and firewall resolve the same addresses.
# Then attach the policy to the firewall and the route table to the AKS subnet (or set aks_subnet_id):
#   az network firewall update -g RG -n FIREWALL --firewall-policy aks-public-westeurope
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
  default     = "westeurope"
}

variable "firewall_policy_name" {
  description = "Name of the firewall policy"
  type        = string
  default     = "aks-public-westeurope"
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
  default     = "aks-public-westeurope-udr"
}

variable "service_ip" {
  description = "Internal load balancer IP of the ingress service (DNAT target)"
  type        = string
  default     = "10.240.4.4"
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

resource "azurerm_firewall_policy_rule_collection_group" "aks-ingress" {
  name               = "aks-ingress"
  firewall_policy_id = azurerm_firewall_policy.aks_egress.id
  priority           = 100

  nat_rule_collection {
    name     = "aks-ingress-dnat"
    priority = 100
    action   = "Dnat"

    rule {
      name                = "ingress-80"
      description         = "Ingress: firewall public IP port 80 to the internal load balancer 10.240.4.4:80 (asymmetric routing fix, limit-egress-traffic)"
      protocols           = ["TCP"]
      source_addresses    = ["*"]
      destination_address = var.firewall_public_ip
      destination_ports   = ["80"]
      translated_address  = var.service_ip
      translated_port     = 80
    }
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
      source_addresses      = ["10.240.0.0/16"]
      destination_addresses = ["AzureCloud.westeurope"]
      destination_ports     = ["1194"]
    }

    rule {
      name                  = "public.network.tunnel-tcp-9000"
      description           = "aks-required/aks-required-network/public.network.tunnel-tcp-9000"
      protocols             = ["TCP"]
      source_addresses      = ["10.240.0.0/16"]
      destination_addresses = ["AzureCloud.westeurope"]
      destination_ports     = ["9000"]
    }

    rule {
      name              = "public.network.ntp"
      description       = "aks-required/aks-required-network/public.network.ntp"
      protocols         = ["UDP"]
      source_addresses  = ["10.240.0.0/16"]
      destination_fqdns = ["ntp.ubuntu.com"]
      destination_ports = ["123"]
    }
  }

  application_rule_collection {
    name     = "aks-required-application"
    priority = 200
    action   = "Allow"

    rule {
      name              = "public.hcp"
      description       = "aks-required/aks-required-application/public.hcp"
      source_addresses  = ["10.240.0.0/16"]
      destination_fqdns = ["*.hcp.westeurope.azmk8s.io"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "public.mcr"
      description       = "aks-required/aks-required-application/public.mcr"
      source_addresses  = ["10.240.0.0/16"]
      destination_fqdns = ["mcr.microsoft.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "public.mcr-data"
      description       = "aks-required/aks-required-application/public.mcr-data"
      source_addresses  = ["10.240.0.0/16"]
      destination_fqdns = ["*.data.mcr.microsoft.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "public.mcr-edge"
      description       = "aks-required/aks-required-application/public.mcr-edge"
      source_addresses  = ["10.240.0.0/16"]
      destination_fqdns = ["mcr-0001.mcr-msedge.net"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "public.management"
      description       = "aks-required/aks-required-application/public.management"
      source_addresses  = ["10.240.0.0/16"]
      destination_fqdns = ["management.azure.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "public.login"
      description       = "aks-required/aks-required-application/public.login"
      source_addresses  = ["10.240.0.0/16"]
      destination_fqdns = ["login.microsoftonline.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "public.packages"
      description       = "aks-required/aks-required-application/public.packages"
      source_addresses  = ["10.240.0.0/16"]
      destination_fqdns = ["packages.microsoft.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "public.acs-mirror"
      description       = "aks-required/aks-required-application/public.acs-mirror"
      source_addresses  = ["10.240.0.0/16"]
      destination_fqdns = ["acs-mirror.azureedge.net"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "public.packages-aks"
      description       = "aks-required/aks-required-application/public.packages-aks"
      source_addresses  = ["10.240.0.0/16"]
      destination_fqdns = ["packages.aks.azure.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }
  }

  depends_on = [azurerm_firewall_policy_rule_collection_group.aks-ingress]
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
      source_addresses  = ["10.240.0.0/16"]
      destination_fqdns = ["security.ubuntu.com"]

      protocols {
        type = "Http"
        port = 80
      }
    }

    rule {
      name              = "ubuntu-updates.azure-archive"
      description       = "aks-recommended/aks-recommended-application/ubuntu-updates.azure-archive"
      source_addresses  = ["10.240.0.0/16"]
      destination_fqdns = ["azure.archive.ubuntu.com"]

      protocols {
        type = "Http"
        port = 80
      }
    }

    rule {
      name              = "ubuntu-updates.changelogs"
      description       = "aks-recommended/aks-recommended-application/ubuntu-updates.changelogs"
      source_addresses  = ["10.240.0.0/16"]
      destination_fqdns = ["changelogs.ubuntu.com"]

      protocols {
        type = "Http"
        port = 80
      }
    }

    rule {
      name              = "ubuntu-updates.snapshot"
      description       = "aks-recommended/aks-recommended-application/ubuntu-updates.snapshot"
      source_addresses  = ["10.240.0.0/16"]
      destination_fqdns = ["snapshot.ubuntu.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }
  }

  depends_on = [azurerm_firewall_policy_rule_collection_group.aks-required]
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
