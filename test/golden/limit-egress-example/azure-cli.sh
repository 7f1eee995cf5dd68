#!/usr/bin/env bash
# Written by aks-egress export azure-cli from policy "aksfwpolicy".
# Policy "aksfwpolicy": cloud public, region eastus, catalog 2026-06.
# Each rule carries its path in the aks-egress policy: GROUP/COLLECTION/RULE.
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
POLICY_NAME="${POLICY_NAME:-aksfwpolicy}"
# Region of the policy and the route table
LOCATION="${LOCATION:-eastus}"
# The firewall's private IP: next hop of the default route
FW_PRIVATE_IP="${FW_PRIVATE_IP:-10.0.1.4}"
# The firewall's public IP: routed to the Internet (asymmetric routing), DNAT destination
FW_PUBLIC_IP="${FW_PUBLIC_IP:-20.42.10.7}"
# Route table for the AKS subnet
ROUTE_TABLE="${ROUTE_TABLE:-aksfwpolicy-udr}"
# Internal load balancer IP of the ingress service (DNAT target)
SERVICE_IP="${SERVICE_IP:-10.42.2.4}"
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
az network firewall policy rule-collection-group create -g "$RG" --policy-name "$POLICY_NAME" -n aks-ingress --priority 101

# collection aks-ingress-dnat: DNAT, priority 100
az network firewall policy rule-collection-group collection add-nat-collection -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-ingress \
  -n aks-ingress-dnat --collection-priority 100 --action DNAT \
  --rule-name ingress-80 \
  --description 'Ingress: firewall public IP port 80 to the internal load balancer 10.42.2.4:80 (asymmetric routing fix, limit-egress-traffic)' \
  --source-addresses '*' \
  --ip-protocols TCP \
  --destination-addresses "$FW_PUBLIC_IP" \
  --destination-ports 80 \
  --translated-address "$SERVICE_IP" \
  --translated-port 80

echo "==> rule collection group DefaultDnatRuleCollectionGroup" >&2
az network firewall policy rule-collection-group create -g "$RG" --policy-name "$POLICY_NAME" -n DefaultDnatRuleCollectionGroup --priority 100

# collection exampleset: DNAT, priority 100
az network firewall policy rule-collection-group collection add-nat-collection -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name DefaultDnatRuleCollectionGroup \
  -n exampleset --collection-priority 100 --action DNAT \
  --rule-name inboundrule \
  --description DefaultDnatRuleCollectionGroup/exampleset/inboundrule \
  --source-addresses '*' \
  --ip-protocols TCP \
  --destination-addresses 20.42.10.7 \
  --destination-ports 80 \
  --translated-address 10.42.2.4 \
  --translated-port 80

echo "==> rule collection group DefaultNetworkRuleCollectionGroup" >&2
az network firewall policy rule-collection-group create -g "$RG" --policy-name "$POLICY_NAME" -n DefaultNetworkRuleCollectionGroup --priority 200

# collection aksfwnr: network, Allow, priority 100
az network firewall policy rule-collection-group collection add-filter-collection -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name DefaultNetworkRuleCollectionGroup \
  -n aksfwnr --collection-priority 100 --action Allow \
  --rule-name apiudp --rule-type NetworkRule \
  --description DefaultNetworkRuleCollectionGroup/aksfwnr/apiudp \
  --source-addresses '*' \
  --ip-protocols UDP \
  --destination-addresses AzureCloud.eastus \
  --destination-ports 1194
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name DefaultNetworkRuleCollectionGroup \
  --collection-name aksfwnr --name apitcp --rule-type NetworkRule \
  --description DefaultNetworkRuleCollectionGroup/aksfwnr/apitcp \
  --source-addresses '*' \
  --ip-protocols TCP \
  --destination-addresses AzureCloud.eastus \
  --destination-ports 9000
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name DefaultNetworkRuleCollectionGroup \
  --collection-name aksfwnr --name time --rule-type NetworkRule \
  --description DefaultNetworkRuleCollectionGroup/aksfwnr/time \
  --source-addresses '*' \
  --ip-protocols UDP \
  --destination-fqdns ntp.ubuntu.com \
  --destination-ports 123
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name DefaultNetworkRuleCollectionGroup \
  --collection-name aksfwnr --name ghcr --rule-type NetworkRule \
  --description DefaultNetworkRuleCollectionGroup/aksfwnr/ghcr \
  --source-addresses '*' \
  --ip-protocols TCP \
  --destination-fqdns ghcr.io pkg-containers.githubusercontent.com \
  --destination-ports 443
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name DefaultNetworkRuleCollectionGroup \
  --collection-name aksfwnr --name docker --rule-type NetworkRule \
  --description DefaultNetworkRuleCollectionGroup/aksfwnr/docker \
  --source-addresses '*' \
  --ip-protocols TCP \
  --destination-fqdns docker.io registry-1.docker.io production.cloudflare.docker.com \
  --destination-ports 443

echo "==> rule collection group DefaultApplicationRuleCollectionGroup" >&2
az network firewall policy rule-collection-group create -g "$RG" --policy-name "$POLICY_NAME" -n DefaultApplicationRuleCollectionGroup --priority 300

# collection aksfwar: application, Allow, priority 100
az network firewall policy rule-collection-group collection add-filter-collection -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name DefaultApplicationRuleCollectionGroup \
  -n aksfwar --collection-priority 100 --action Allow \
  --rule-name fqdn --rule-type ApplicationRule \
  --description DefaultApplicationRuleCollectionGroup/aksfwar/fqdn \
  --source-addresses '*' \
  --protocols Http=80 Https=443 \
  --fqdn-tags AzureKubernetesService

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
