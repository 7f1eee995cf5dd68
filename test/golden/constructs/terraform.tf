# Written by aks-egress export terraform from policy "constructs".
# Policy "constructs": cloud public, region westeurope, catalog 2026-06.
# Each rule carries its path in the aks-egress policy: GROUP/COLLECTION/RULE.
# 4 error(s), 8 warning(s) on export: constructs terraform cannot express as written (listed below and on stderr).
#   error: terraform: policy: IPv6 addresses fd00:9::/64 in IP group "dual" (Azure Firewall rules do not support IPv6); left out of the IP group
#   warning: terraform: policy: rule collections of group "guard" sharing priority 100 (Azure needs distinct priorities); collection "guard-application-deny" gets priority 101; the order is kept
#   warning: terraform: rule workloads/workloads-network/tunnel: wildcard FQDN "*.hcp.westeurope.azmk8s.io" in a network rule (Azure takes exact names only); expressed as the service tag AzureCloud.westeurope (broader: every Azure address of the region)
#   error: terraform: rule workloads/workloads-network/ssh-gitlab: wildcard FQDN "*.gitlab.example.com" in a network rule (Azure takes exact names only, and no service tag stands for it); rule left out
#   warning: terraform: rule workloads/workloads-network/ping: ICMP to internet destinations; kept, but Azure Firewall does not SNAT ICMP, so it does not reach the internet
#   error: terraform: rule workloads/workloads-network/v6-and-v4: IPv6 source addresses fd00:240::/64 (Azure Firewall rules do not support IPv6); left out of the rule's sources
#   error: terraform: rule workloads/workloads-network/v6-and-v4: IPv6 destination addresses 2001:db8::53 (Azure Firewall rules do not support IPv6); left out of the rule's destinations
#   warning: terraform: rule workloads/workloads-network/any-name: destination FQDN "*" in a network rule (Azure takes exact names only); expressed as destination address "*" (every address, also without a DNS lookup)
#   warning: terraform: rule workloads/workloads-application/sql: application protocol Mssql:1433 (Firewall Policy application rules take Http and Https on ports up to 64000); expressed as network rule TCP 1433 to FQDN db1.database.windows.net, service tag Sql.westeurope (broader) in collection "workloads-application-network" (processed with the network rules, before every application rule)
#   warning: terraform: rule workloads/workloads-application/odd-port: application protocol Https:64443 (Firewall Policy application rules take Http and Https on ports up to 64000); expressed as network rule TCP 64443 to FQDN api.example.com in collection "workloads-application-network" (processed with the network rules, before every application rule)
#   warning: terraform: policy: rule collections of group "workloads" sharing priority 100 (Azure needs distinct priorities); collection "workloads-application" gets priority 101; the order is kept
#   warning: terraform: policy: rule collections of group "workloads" sharing priority 100 (Azure needs distinct priorities); collection "workloads-late" gets priority 103; the order is kept
#
# Creates the firewall policy, its rule collection groups (deployed one after the other: Azure
# does not update one policy in parallel) and the route table "constructs-udr".
# Network rules use FQDNs, so the policy enables DNS proxy: point the VNet DNS servers at the
# firewall's private IP so that nodes and firewall resolve the same addresses.
# Then attach the policy to the firewall and the route table to the AKS subnet (or set aks_subnet_id):
#   az network firewall update -g RG -n FIREWALL --firewall-policy constructs
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
  default     = "constructs"
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
  default     = "constructs-udr"
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

resource "azurerm_ip_group" "nodes" {
  name                = "nodes"
  location            = var.location
  resource_group_name = var.resource_group_name
  cidrs               = ["10.240.0.0/16", "10.241.0.0-10.241.0.31"]
}

resource "azurerm_ip_group" "registries" {
  name                = "registries"
  location            = var.location
  resource_group_name = var.resource_group_name
  cidrs               = ["20.50.0.0/24"]
}

resource "azurerm_ip_group" "dual" {
  name                = "dual"
  location            = var.location
  resource_group_name = var.resource_group_name
  cidrs               = ["10.9.0.0/24"]
}

resource "azurerm_firewall_policy_rule_collection_group" "ingress" {
  name               = "ingress"
  firewall_policy_id = azurerm_firewall_policy.aks_egress.id
  priority           = 100

  nat_rule_collection {
    name     = "ingress-dnat"
    priority = 100
    action   = "Dnat"

    rule {
      name                = "web"
      description         = "ingress/ingress-dnat/web"
      protocols           = ["TCP"]
      source_addresses    = ["*"]
      destination_address = "20.61.1.4"
      destination_ports   = ["443"]
      translated_address  = "10.240.4.4"
      translated_port     = 8443
    }

    rule {
      name                = "dns-udp"
      description         = "ingress/ingress-dnat/dns-udp"
      protocols           = ["UDP"]
      source_addresses    = ["*"]
      destination_address = "20.61.1.4"
      destination_ports   = ["5353"]
      translated_address  = "10.240.4.5"
      translated_port     = 53
    }
  }
}

resource "azurerm_firewall_policy_rule_collection_group" "guard" {
  name               = "guard"
  firewall_policy_id = azurerm_firewall_policy.aks_egress.id
  priority           = 150

  network_rule_collection {
    name     = "guard-network-deny"
    priority = 100
    action   = "Deny"

    rule {
      name                  = "no-metadata-range"
      description           = "guard/guard-network-deny/no-metadata-range"
      protocols             = ["Any"]
      source_addresses      = ["*"]
      destination_addresses = ["169.254.0.0/16"]
      destination_ports     = ["*"]
    }

    rule {
      name                  = "no-smtp"
      description           = "guard/guard-network-deny/no-smtp"
      protocols             = ["TCP"]
      source_ip_groups      = [azurerm_ip_group.nodes.id]
      destination_addresses = ["*"]
      destination_ports     = ["25", "465", "587"]
    }
  }

  application_rule_collection {
    name     = "guard-application-deny"
    priority = 101
    action   = "Deny"

    rule {
      name              = "no-pastebin"
      description       = "guard/guard-application-deny/no-pastebin"
      source_addresses  = ["*"]
      destination_fqdns = ["pastebin.com", "*.pastebin.com"]

      protocols {
        type = "Https"
        port = 443
      }

      protocols {
        type = "Http"
        port = 80
      }
    }
  }

  depends_on = [azurerm_firewall_policy_rule_collection_group.ingress]
}

resource "azurerm_firewall_policy_rule_collection_group" "workloads" {
  name               = "workloads"
  firewall_policy_id = azurerm_firewall_policy.aks_egress.id
  priority           = 300

  network_rule_collection {
    name     = "workloads-network"
    priority = 100
    action   = "Allow"

    rule {
      name                  = "tunnel"
      description           = "workloads/workloads-network/tunnel"
      protocols             = ["TCP"]
      source_addresses      = ["10.240.0.0/16"]
      destination_addresses = ["AzureCloud.westeurope"]
      destination_ports     = ["9000", "22"]
    }

    rule {
      name                  = "ntp-mixed"
      description           = "workloads/workloads-network/ntp-mixed"
      protocols             = ["UDP"]
      source_addresses      = ["10.240.0.0/16"]
      destination_addresses = ["162.159.200.1"]
      destination_ports     = ["123"]
    }

    rule {
      name              = "ntp-mixed-fqdns"
      description       = "workloads/workloads-network/ntp-mixed"
      protocols         = ["UDP"]
      source_addresses  = ["10.240.0.0/16"]
      destination_fqdns = ["ntp.ubuntu.com"]
      destination_ports = ["123"]
    }

    rule {
      name                  = "registries"
      description           = "workloads/workloads-network/registries"
      protocols             = ["TCP"]
      source_ip_groups      = [azurerm_ip_group.nodes.id]
      destination_ip_groups = [azurerm_ip_group.registries.id]
      destination_ports     = ["443", "5000-5010"]
    }

    rule {
      name                  = "monitor-tag"
      description           = "workloads/workloads-network/monitor-tag"
      protocols             = ["TCP"]
      source_addresses      = ["10.240.0.0/16"]
      destination_addresses = ["AzureMonitor"]
      destination_ports     = ["443"]
    }

    rule {
      name                  = "ping"
      description           = "workloads/workloads-network/ping"
      protocols             = ["ICMP"]
      source_addresses      = ["10.240.0.0/16"]
      destination_addresses = ["8.8.8.8"]
      destination_ports     = ["*"]
    }

    rule {
      name                  = "anything-internal"
      description           = "workloads/workloads-network/anything-internal"
      protocols             = ["Any"]
      source_addresses      = ["10.240.1.0/24"]
      destination_addresses = ["10.0.0.0-10.0.0.255", "192.168.10.0/24"]
      destination_ports     = ["*"]
    }

    rule {
      name                  = "v6-and-v4"
      description           = "workloads/workloads-network/v6-and-v4"
      protocols             = ["UDP"]
      source_addresses      = ["10.240.0.0/16"]
      destination_addresses = ["9.9.9.9"]
      destination_ports     = ["53"]
    }

    rule {
      name                  = "dual-group"
      description           = "workloads/workloads-network/dual-group"
      protocols             = ["TCP"]
      source_addresses      = ["10.240.0.0/16"]
      destination_ip_groups = [azurerm_ip_group.dual.id]
      destination_ports     = ["8080"]
    }

    rule {
      name                  = "any-name"
      description           = "workloads/workloads-network/any-name"
      protocols             = ["TCP"]
      source_addresses      = ["10.240.2.0/24"]
      destination_addresses = ["*"]
      destination_ports     = ["8443"]
    }
  }

  application_rule_collection {
    name     = "workloads-application"
    priority = 101
    action   = "Allow"

    rule {
      name                  = "aks-tag"
      description           = "workloads/workloads-application/aks-tag"
      source_addresses      = ["10.240.0.0/16"]
      destination_fqdn_tags = ["AzureKubernetesService"]

      protocols {
        type = "Http"
        port = 80
      }

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "github"
      description       = "workloads/workloads-application/github: Source code and releases"
      source_addresses  = ["10.240.0.0/16"]
      destination_fqdns = ["github.com", "*.github.com", "*githubusercontent.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }

    rule {
      name              = "odd-port"
      description       = "workloads/workloads-application/odd-port"
      source_addresses  = ["10.240.0.0/16"]
      destination_fqdns = ["api.example.com"]

      protocols {
        type = "Https"
        port = 8443
      }
    }

    rule {
      name              = "everything-https"
      description       = "workloads/workloads-application/everything-https"
      source_addresses  = ["10.240.3.0/24"]
      destination_fqdns = ["*"]

      protocols {
        type = "Https"
        port = 443
      }
    }
  }

  network_rule_collection {
    name     = "workloads-application-network"
    priority = 102
    action   = "Allow"

    rule {
      name                  = "sql"
      description           = "workloads/workloads-application/sql"
      protocols             = ["TCP"]
      source_addresses      = ["10.240.0.0/16"]
      destination_addresses = ["Sql.westeurope"]
      destination_ports     = ["1433"]
    }

    rule {
      name              = "sql-fqdns"
      description       = "workloads/workloads-application/sql"
      protocols         = ["TCP"]
      source_addresses  = ["10.240.0.0/16"]
      destination_fqdns = ["db1.database.windows.net"]
      destination_ports = ["1433"]
    }

    rule {
      name              = "odd-port-tcp"
      description       = "workloads/workloads-application/odd-port"
      protocols         = ["TCP"]
      source_addresses  = ["10.240.0.0/16"]
      destination_fqdns = ["api.example.com"]
      destination_ports = ["64443"]
    }
  }

  application_rule_collection {
    name     = "workloads-late"
    priority = 103
    action   = "Allow"

    rule {
      name              = "pypi"
      description       = "workloads/workloads-late/pypi"
      source_addresses  = ["10.240.0.0/16"]
      destination_fqdns = ["pypi.org", "files.pythonhosted.org"]

      protocols {
        type = "Https"
        port = 443
      }
    }
  }

  depends_on = [azurerm_firewall_policy_rule_collection_group.guard]
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
