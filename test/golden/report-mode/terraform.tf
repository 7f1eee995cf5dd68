# Written by aks-egress export terraform from policy "report-mode".
# Policy "report-mode".
# Each rule carries its path in the aks-egress policy: GROUP/COLLECTION/RULE.
# 0 error(s), 2 warning(s) on export: constructs terraform cannot express as written (listed below and on stderr).
#   warning: terraform: policy: mode: report (allow everything, log what would be denied); Azure Firewall has no report mode: the exported rules enforce
#   warning: terraform: policy: dnsPolicy: allowed-only; not expressed: Azure Firewall's DNS proxy resolves every name for every client
#
# Creates the firewall policy, its rule collection groups (deployed one after the other: Azure
# does not update one policy in parallel) and the route table "report-mode-udr".
# Network rules use FQDNs, so the policy enables DNS proxy: point the VNet DNS servers at the
# firewall's private IP so that nodes and firewall resolve the same addresses.
# Then attach the policy to the firewall and the route table to the AKS subnet (or set aks_subnet_id):
#   az network firewall update -g RG -n FIREWALL --firewall-policy report-mode
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
}

variable "location" {
  description = "Region of the firewall policy and the route table"
  type        = string
}

variable "firewall_policy_name" {
  description = "Name of the firewall policy"
  type        = string
  default     = "report-mode"
}

variable "firewall_private_ip" {
  description = "The firewall's private IP: next hop of the 0.0.0.0/0 route"
  type        = string
}

variable "firewall_public_ip" {
  description = "The firewall's public IP: routed to the Internet (asymmetric routing) and the DNAT destination"
  type        = string
}

variable "route_table_name" {
  description = "Name of the route table for the AKS subnet"
  type        = string
  default     = "report-mode-udr"
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

resource "azurerm_firewall_policy_rule_collection_group" "base" {
  name               = "base"
  firewall_policy_id = azurerm_firewall_policy.aks_egress.id
  priority           = 200

  network_rule_collection {
    name     = "base-network"
    priority = 100
    action   = "Allow"

    rule {
      name              = "ntp"
      description       = "base/base-network/ntp"
      protocols         = ["UDP"]
      source_addresses  = ["*"]
      destination_fqdns = ["ntp.ubuntu.com"]
      destination_ports = ["123"]
    }
  }

  application_rule_collection {
    name     = "base-application"
    priority = 200
    action   = "Allow"

    rule {
      name              = "mcr"
      description       = "base/base-application/mcr"
      source_addresses  = ["*"]
      destination_fqdns = ["mcr.microsoft.com", "*.data.mcr.microsoft.com"]

      protocols {
        type = "Https"
        port = 443
      }
    }
  }
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
