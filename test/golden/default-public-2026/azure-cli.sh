#!/usr/bin/env bash
# Written by aks-egress export azure-cli from policy "aks-public-westeurope".
# Policy "aks-public-westeurope": cloud public, region westeurope, catalog 2026-06.
# Each rule carries its path in the aks-egress policy: GROUP/COLLECTION/RULE.
# 0 error(s), 2 warning(s) on export: constructs azure-cli cannot express as written (listed below and on stderr).
#   warning: azure-cli: rule aks-required/aks-required-network/public.network.tunnel-udp-1194: wildcard FQDN "*.hcp.westeurope.azmk8s.io" in a network rule (Azure takes exact names only); expressed as the service tag AzureCloud.westeurope (broader: every Azure address of the region)
#   warning: azure-cli: rule aks-required/aks-required-network/public.network.tunnel-tcp-9000: wildcard FQDN "*.hcp.westeurope.azmk8s.io" in a network rule (Azure takes exact names only); expressed as the service tag AzureCloud.westeurope (broader: every Azure address of the region)
#
# Needs the Azure CLI, logged in (az login), with rights on the resource group. Run it with bash;
# the values below can be edited or set in the environment (RG=... FIREWALL_NAME=... bash FILE).
# Then create the cluster with --outbound-type userDefinedRouting in the subnet of the route table.
set -euo pipefail

# Resource group of the firewall, the policy and the route table
RG="${RG:-aks-rg}"
# The Azure Firewall the policy is attached to
FIREWALL_NAME="${FIREWALL_NAME:-aks-fw}"
# Name of the firewall policy
POLICY_NAME="${POLICY_NAME:-aks-public-westeurope}"
# Region of the policy and the route table
LOCATION="${LOCATION:-westeurope}"
# The firewall's private IP: next hop of the default route
FW_PRIVATE_IP="${FW_PRIVATE_IP:-10.0.1.4}"
# The firewall's public IP: routed to the Internet (asymmetric routing), DNAT destination
FW_PUBLIC_IP="${FW_PUBLIC_IP:-20.61.1.4}"
# Route table for the AKS subnet
ROUTE_TABLE="${ROUTE_TABLE:-aks-public-westeurope-udr}"
# Internal load balancer IP of the ingress service (DNAT target)
SERVICE_IP="${SERVICE_IP:-10.240.4.4}"
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

echo "==> rule collection group aks-ingress" >&2
az network firewall policy rule-collection-group create -g "$RG" --policy-name "$POLICY_NAME" -n aks-ingress --priority 100

# collection aks-ingress-dnat: DNAT, priority 100
az network firewall policy rule-collection-group collection add-nat-collection -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-ingress \
  -n aks-ingress-dnat --collection-priority 100 --action DNAT \
  --rule-name ingress-80 \
  --description 'Ingress: firewall public IP port 80 to the internal load balancer 10.240.4.4:80 (asymmetric routing fix, limit-egress-traffic)' \
  --source-addresses '*' \
  --ip-protocols TCP \
  --destination-addresses "$FW_PUBLIC_IP" \
  --destination-ports 80 \
  --translated-address "$SERVICE_IP" \
  --translated-port 80

echo "==> rule collection group aks-required" >&2
az network firewall policy rule-collection-group create -g "$RG" --policy-name "$POLICY_NAME" -n aks-required --priority 200

# collection aks-required-network: network, Allow, priority 100
az network firewall policy rule-collection-group collection add-filter-collection -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-required \
  -n aks-required-network --collection-priority 100 --action Allow \
  --rule-name public.network.tunnel-udp-1194 --rule-type NetworkRule \
  --description aks-required/aks-required-network/public.network.tunnel-udp-1194 \
  --source-addresses 10.240.0.0/16 \
  --ip-protocols UDP \
  --destination-addresses AzureCloud.westeurope \
  --destination-ports 1194
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-required \
  --collection-name aks-required-network --name public.network.tunnel-tcp-9000 --rule-type NetworkRule \
  --description aks-required/aks-required-network/public.network.tunnel-tcp-9000 \
  --source-addresses 10.240.0.0/16 \
  --ip-protocols TCP \
  --destination-addresses AzureCloud.westeurope \
  --destination-ports 9000
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-required \
  --collection-name aks-required-network --name public.network.ntp --rule-type NetworkRule \
  --description aks-required/aks-required-network/public.network.ntp \
  --source-addresses 10.240.0.0/16 \
  --ip-protocols UDP \
  --destination-fqdns ntp.ubuntu.com \
  --destination-ports 123

# collection aks-required-application: application, Allow, priority 200
az network firewall policy rule-collection-group collection add-filter-collection -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-required \
  -n aks-required-application --collection-priority 200 --action Allow \
  --rule-name public.hcp --rule-type ApplicationRule \
  --description aks-required/aks-required-application/public.hcp \
  --source-addresses 10.240.0.0/16 \
  --protocols Https=443 \
  --target-fqdns '*.hcp.westeurope.azmk8s.io'
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-required \
  --collection-name aks-required-application --name public.mcr --rule-type ApplicationRule \
  --description aks-required/aks-required-application/public.mcr \
  --source-addresses 10.240.0.0/16 \
  --protocols Https=443 \
  --target-fqdns mcr.microsoft.com
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-required \
  --collection-name aks-required-application --name public.mcr-data --rule-type ApplicationRule \
  --description aks-required/aks-required-application/public.mcr-data \
  --source-addresses 10.240.0.0/16 \
  --protocols Https=443 \
  --target-fqdns '*.data.mcr.microsoft.com'
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-required \
  --collection-name aks-required-application --name public.mcr-edge --rule-type ApplicationRule \
  --description aks-required/aks-required-application/public.mcr-edge \
  --source-addresses 10.240.0.0/16 \
  --protocols Https=443 \
  --target-fqdns mcr-0001.mcr-msedge.net
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-required \
  --collection-name aks-required-application --name public.management --rule-type ApplicationRule \
  --description aks-required/aks-required-application/public.management \
  --source-addresses 10.240.0.0/16 \
  --protocols Https=443 \
  --target-fqdns management.azure.com
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-required \
  --collection-name aks-required-application --name public.login --rule-type ApplicationRule \
  --description aks-required/aks-required-application/public.login \
  --source-addresses 10.240.0.0/16 \
  --protocols Https=443 \
  --target-fqdns login.microsoftonline.com
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-required \
  --collection-name aks-required-application --name public.packages --rule-type ApplicationRule \
  --description aks-required/aks-required-application/public.packages \
  --source-addresses 10.240.0.0/16 \
  --protocols Https=443 \
  --target-fqdns packages.microsoft.com
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-required \
  --collection-name aks-required-application --name public.acs-mirror --rule-type ApplicationRule \
  --description aks-required/aks-required-application/public.acs-mirror \
  --source-addresses 10.240.0.0/16 \
  --protocols Https=443 \
  --target-fqdns acs-mirror.azureedge.net
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-required \
  --collection-name aks-required-application --name public.packages-aks --rule-type ApplicationRule \
  --description aks-required/aks-required-application/public.packages-aks \
  --source-addresses 10.240.0.0/16 \
  --protocols Https=443 \
  --target-fqdns packages.aks.azure.com

echo "==> rule collection group aks-recommended" >&2
az network firewall policy rule-collection-group create -g "$RG" --policy-name "$POLICY_NAME" -n aks-recommended --priority 300

# collection aks-recommended-application: application, Allow, priority 200
az network firewall policy rule-collection-group collection add-filter-collection -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-recommended \
  -n aks-recommended-application --collection-priority 200 --action Allow \
  --rule-name ubuntu-updates.security --rule-type ApplicationRule \
  --description aks-recommended/aks-recommended-application/ubuntu-updates.security \
  --source-addresses 10.240.0.0/16 \
  --protocols Http=80 \
  --target-fqdns security.ubuntu.com
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-recommended \
  --collection-name aks-recommended-application --name ubuntu-updates.azure-archive --rule-type ApplicationRule \
  --description aks-recommended/aks-recommended-application/ubuntu-updates.azure-archive \
  --source-addresses 10.240.0.0/16 \
  --protocols Http=80 \
  --target-fqdns azure.archive.ubuntu.com
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-recommended \
  --collection-name aks-recommended-application --name ubuntu-updates.changelogs --rule-type ApplicationRule \
  --description aks-recommended/aks-recommended-application/ubuntu-updates.changelogs \
  --source-addresses 10.240.0.0/16 \
  --protocols Http=80 \
  --target-fqdns changelogs.ubuntu.com
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-recommended \
  --collection-name aks-recommended-application --name ubuntu-updates.snapshot --rule-type ApplicationRule \
  --description aks-recommended/aks-recommended-application/ubuntu-updates.snapshot \
  --source-addresses 10.240.0.0/16 \
  --protocols Https=443 \
  --target-fqdns snapshot.ubuntu.com

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
