#!/usr/bin/env bash
# Written by aks-egress export azure-cli from policy "report-mode".
# Policy "report-mode".
# Each rule carries its path in the aks-egress policy: GROUP/COLLECTION/RULE.
# 0 error(s), 2 warning(s) on export: constructs azure-cli cannot express as written (listed below and on stderr).
#   warning: azure-cli: policy: mode: report (allow everything, log what would be denied); Azure Firewall has no report mode: the exported rules enforce
#   warning: azure-cli: policy: dnsPolicy: allowed-only; not expressed: Azure Firewall's DNS proxy resolves every name for every client
#
# Needs the Azure CLI, logged in (az login), with rights on the resource group. Run it with bash;
# the values below can be edited or set in the environment (RG=... FIREWALL_NAME=... bash FILE).
# Then create the cluster with --outbound-type userDefinedRouting in the subnet of the route table.
set -euo pipefail

# Resource group of the firewall, the policy and the route table
RG="${RG:?set RG to the resource group of the firewall}"
# The Azure Firewall the policy is attached to
FIREWALL_NAME="${FIREWALL_NAME:?set FIREWALL_NAME to the name of the Azure Firewall}"
# Name of the firewall policy
POLICY_NAME="${POLICY_NAME:-report-mode}"
# Region of the policy and the route table
LOCATION="${LOCATION:-$(az group show -n "$RG" --query location -o tsv)}"
# The firewall's private IP: next hop of the default route
FW_PRIVATE_IP="${FW_PRIVATE_IP:-$(az network firewall show -g "$RG" -n "$FIREWALL_NAME" --query 'ipConfigurations[0].privateIPAddress' -o tsv)}"
# The firewall's public IP: routed to the Internet (asymmetric routing), DNAT destination
FW_PUBLIC_IP="${FW_PUBLIC_IP:-$(az network public-ip show --ids "$(az network firewall show -g "$RG" -n "$FIREWALL_NAME" --query 'ipConfigurations[0].publicIPAddress.id' -o tsv)" --query ipAddress -o tsv)}"
# Route table for the AKS subnet
ROUTE_TABLE="${ROUTE_TABLE:-report-mode-udr}"
# AKS VNet and subnet: when both are set, the route table is associated with the subnet
VNET_NAME="${VNET_NAME:-}"
AKS_SUBNET_NAME="${AKS_SUBNET_NAME:-}"

# The firewall policy commands come with the azure-firewall extension.
az extension add --name azure-firewall --upgrade --yes

echo "==> firewall policy $POLICY_NAME" >&2
az network firewall policy create -g "$RG" -n "$POLICY_NAME" -l "$LOCATION" \
  --sku Standard --threat-intel-mode Alert \
  --enable-dns-proxy true
# Network rules use FQDNs: DNS proxy is on. Point the VNet at the firewall for DNS so that nodes
# and firewall resolve the same addresses:
#   az network vnet update -g "$RG" -n "$VNET_NAME" --dns-servers "$FW_PRIVATE_IP"

echo "==> rule collection group base" >&2
az network firewall policy rule-collection-group create -g "$RG" --policy-name "$POLICY_NAME" -n base --priority 200

# collection base-network: network, Allow, priority 100
az network firewall policy rule-collection-group collection add-filter-collection -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name base \
  -n base-network --collection-priority 100 --action Allow \
  --rule-name ntp --rule-type NetworkRule \
  --description base/base-network/ntp \
  --source-addresses '*' \
  --ip-protocols UDP \
  --destination-fqdns ntp.ubuntu.com \
  --destination-ports 123

# collection base-application: application, Allow, priority 200
az network firewall policy rule-collection-group collection add-filter-collection -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name base \
  -n base-application --collection-priority 200 --action Allow \
  --rule-name mcr --rule-type ApplicationRule \
  --description base/base-application/mcr \
  --source-addresses '*' \
  --protocols Https=443 \
  --target-fqdns mcr.microsoft.com '*.data.mcr.microsoft.com'

echo "==> attach the policy to firewall $FIREWALL_NAME" >&2
az network firewall update -g "$RG" -n "$FIREWALL_NAME" --firewall-policy "$POLICY_NAME"

echo "==> route table $ROUTE_TABLE" >&2
az network route-table create -g "$RG" -n "$ROUTE_TABLE" -l "$LOCATION"
az network route-table route create -g "$RG" --route-table-name "$ROUTE_TABLE" -n default-to-firewall \
  --address-prefix 0.0.0.0/0 --next-hop-type VirtualAppliance --next-hop-ip-address "$FW_PRIVATE_IP"
az network route-table route create -g "$RG" --route-table-name "$ROUTE_TABLE" -n firewall-public-ip \
  --address-prefix "$FW_PUBLIC_IP/32" --next-hop-type Internet
if [[ -n "$VNET_NAME" && -n "$AKS_SUBNET_NAME" ]]; then
  az network vnet subnet update -g "$RG" --vnet-name "$VNET_NAME" -n "$AKS_SUBNET_NAME" --route-table "$ROUTE_TABLE"
else
  echo "Associate the route table with the AKS subnet: az network vnet subnet update -g $RG --vnet-name VNET -n SUBNET --route-table $ROUTE_TABLE" >&2
fi
