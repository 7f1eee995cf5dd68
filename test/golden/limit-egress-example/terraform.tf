# Written by aks-egress export terraform from policy "aksfwpolicy".
# Policy "aksfwpolicy": cloud public, region eastus, catalog 2026-06.
# Each rule carries its path in the aks-egress policy: GROUP/COLLECTION/RULE.
#
# Creates the firewall policy, its rule collection groups (deployed one after the other: Azure
# does not update one policy in parallel) and the route table "aksfwpolicy-udr".
# Network rules use FQDNs, so the policy enables DNS proxy: point the VNet DNS servers at the
# firewall's private IP so that nodes and firewall resolve the same addresses.
# Then attach the policy to the firewall and the route table to the AKS subnet (or set aks_subnet_id):
#   az network firewall update -g RG -n FIREWALL --firewall-policy aksfwpolicy
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
  default     = "aksfwpolicy"
}

variable "firewall_private_ip" {
  description = "The firewall's private IP: next hop of the 0.0.0.0/0 route"
  type        = string
  default     = "10.0.1.4"
}

variable "firewall_public_ip" {
  description = "The firewall's public IP: routed to the Internet (asymmetric routing) and the DNAT destination"
  type        = string
  default     = "20.42.10.7"
}

variable "route_table_name" {
  description = "Name of the route table for the AKS subnet"
  type        = string
  default     = "aksfwpolicy-udr"
}

variable "service_ip" {
  description = "Internal load balancer IP of the ingress service (DNAT target)"
  type        = string
  default     = "10.42.2.4"
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
  priority           = 101

  nat_rule_collection {
    name     = "aks-ingress-dnat"
    priority = 100
    action   = "Dnat"

    rule {
      name                = "ingress-80"
      description         = "Ingress: firewall public IP port 80 to the internal load balancer 10.42.2.4:80 (asymmetric routing fix, limit-egress-traffic)"
      protocols           = ["TCP"]
      source_addresses    = ["*"]
      destination_address = var.firewall_public_ip
      destination_ports   = ["80"]
      translated_address  = var.service_ip
      translated_port     = 80
    }
  }
}

resource "azurerm_firewall_policy_rule_collection_group" "DefaultDnatRuleCollectionGroup" {
  name               = "DefaultDnatRuleCollectionGroup"
  firewall_policy_id = azurerm_firewall_policy.aks_egress.id
  priority           = 100

  nat_rule_collection {
    name     = "exampleset"
    priority = 100
    action   = "Dnat"

    rule {
      name                = "inboundrule"
      description         = "DefaultDnatRuleCollectionGroup/exampleset/inboundrule"
      protocols           = ["TCP"]
      source_addresses    = ["*"]
      destination_address = "20.42.10.7"
      destination_ports   = ["80"]
      translated_address  = "10.42.2.4"
      translated_port     = 80
    }
  }

  depends_on = [azurerm_firewall_policy_rule_collection_group.aks-ingress]
}

resource "azurerm_firewall_policy_rule_collection_group" "DefaultNetworkRuleCollectionGroup" {
  name               = "DefaultNetworkRuleCollectionGroup"
  firewall_policy_id = azurerm_firewall_policy.aks_egress.id
  priority           = 200

  network_rule_collection {
    name     = "aksfwnr"
    priority = 100
    action   = "Allow"

    rule {
      name                  = "apiudp"
      description           = "DefaultNetworkRuleCollectionGroup/aksfwnr/apiudp"
      protocols             = ["UDP"]
      source_addresses      = ["*"]
      destination_addresses = ["AzureCloud.eastus"]
      destination_ports     = ["1194"]
    }

    rule {
      name                  = "apitcp"
      description           = "DefaultNetworkRuleCollectionGroup/aksfwnr/apitcp"
      protocols             = ["TCP"]
      source_addresses      = ["*"]
      destination_addresses = ["AzureCloud.eastus"]
      destination_ports     = ["9000"]
    }

    rule {
      name              = "time"
      description       = "DefaultNetworkRuleCollectionGroup/aksfwnr/time"
      protocols         = ["UDP"]
      source_addresses  = ["*"]
      destination_fqdns = ["ntp.ubuntu.com"]
      destination_ports = ["123"]
    }

    rule {
      name              = "ghcr"
      description       = "DefaultNetworkRuleCollectionGroup/aksfwnr/ghcr"
      protocols         = ["TCP"]
      source_addresses  = ["*"]
      destination_fqdns = ["ghcr.io", "pkg-containers.githubusercontent.com"]
      destination_ports = ["443"]
    }

    rule {
      name              = "docker"
      description       = "DefaultNetworkRuleCollectionGroup/aksfwnr/docker"
      protocols         = ["TCP"]
      source_addresses  = ["*"]
      destination_fqdns = ["docker.io", "registry-1.docker.io", "production.cloudflare.docker.com"]
      destination_ports = ["443"]
    }
  }

  depends_on = [azurerm_firewall_policy_rule_collection_group.DefaultDnatRuleCollectionGroup]
}

resource "azurerm_firewall_policy_rule_collection_group" "DefaultApplicationRuleCollectionGroup" {
  name               = "DefaultApplicationRuleCollectionGroup"
  firewall_policy_id = azurerm_firewall_policy.aks_egress.id
  priority           = 300

  application_rule_collection {
    name     = "aksfwar"
    priority = 100
    action   = "Allow"

    rule {
      name                  = "fqdn"
      description           = "DefaultApplicationRuleCollectionGroup/aksfwar/fqdn"
      source_addresses      = ["*"]
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
  }

  depends_on = [azurerm_firewall_policy_rule_collection_group.DefaultNetworkRuleCollectionGroup]
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
