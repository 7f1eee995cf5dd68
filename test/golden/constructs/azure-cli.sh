#!/usr/bin/env bash
# Written by aks-egress export azure-cli from policy "constructs".
# Policy "constructs": cloud public, region westeurope, catalog 2026-06.
# Each rule carries its path in the aks-egress policy: GROUP/COLLECTION/RULE.
# 4 error(s), 8 warning(s) on export: constructs azure-cli cannot express as written (listed below and on stderr).
#   error: azure-cli: policy: IPv6 addresses fd00:9::/64 in IP group "dual" (Azure Firewall rules do not support IPv6); left out of the IP group
#   warning: azure-cli: policy: rule collections of group "guard" sharing priority 100 (Azure needs distinct priorities); collection "guard-application-deny" gets priority 101; the order is kept
#   warning: azure-cli: rule workloads/workloads-network/tunnel: wildcard FQDN "*.hcp.westeurope.azmk8s.io" in a network rule (Azure takes exact names only); expressed as the service tag AzureCloud.westeurope (broader: every Azure address of the region)
#   error: azure-cli: rule workloads/workloads-network/ssh-gitlab: wildcard FQDN "*.gitlab.example.com" in a network rule (Azure takes exact names only, and no service tag stands for it); rule left out
#   warning: azure-cli: rule workloads/workloads-network/ping: ICMP to internet destinations; kept, but Azure Firewall does not SNAT ICMP, so it does not reach the internet
#   error: azure-cli: rule workloads/workloads-network/v6-and-v4: IPv6 source addresses fd00:240::/64 (Azure Firewall rules do not support IPv6); left out of the rule's sources
#   error: azure-cli: rule workloads/workloads-network/v6-and-v4: IPv6 destination addresses 2001:db8::53 (Azure Firewall rules do not support IPv6); left out of the rule's destinations
#   warning: azure-cli: rule workloads/workloads-network/any-name: destination FQDN "*" in a network rule (Azure takes exact names only); expressed as destination address "*" (every address, also without a DNS lookup)
#   warning: azure-cli: rule workloads/workloads-application/sql: application protocol Mssql:1433 (Firewall Policy application rules take Http and Https on ports up to 64000); expressed as network rule TCP 1433 to FQDN db1.database.windows.net, service tag Sql.westeurope (broader) in collection "workloads-application-network" (processed with the network rules, before every application rule)
#   warning: azure-cli: rule workloads/workloads-application/odd-port: application protocol Https:64443 (Firewall Policy application rules take Http and Https on ports up to 64000); expressed as network rule TCP 64443 to FQDN api.example.com in collection "workloads-application-network" (processed with the network rules, before every application rule)
#   warning: azure-cli: policy: rule collections of group "workloads" sharing priority 100 (Azure needs distinct priorities); collection "workloads-application" gets priority 101; the order is kept
#   warning: azure-cli: policy: rule collections of group "workloads" sharing priority 100 (Azure needs distinct priorities); collection "workloads-late" gets priority 103; the order is kept
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
POLICY_NAME="${POLICY_NAME:-constructs}"
# Region of the policy and the route table
LOCATION="${LOCATION:-westeurope}"
# The firewall's private IP: next hop of the default route
FW_PRIVATE_IP="${FW_PRIVATE_IP:-10.0.1.4}"
# The firewall's public IP: routed to the Internet (asymmetric routing), DNAT destination
FW_PUBLIC_IP="${FW_PUBLIC_IP:-20.61.1.4}"
# Route table for the AKS subnet
ROUTE_TABLE="${ROUTE_TABLE:-constructs-udr}"
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

echo "==> IP group nodes" >&2
az network ip-group create -g "$RG" -n nodes -l "$LOCATION" \
  --ip-addresses 10.240.0.0/16 10.241.0.0-10.241.0.31

echo "==> IP group registries" >&2
az network ip-group create -g "$RG" -n registries -l "$LOCATION" \
  --ip-addresses 20.50.0.0/24

echo "==> IP group dual" >&2
az network ip-group create -g "$RG" -n dual -l "$LOCATION" \
  --ip-addresses 10.9.0.0/24

echo "==> rule collection group ingress" >&2
az network firewall policy rule-collection-group create -g "$RG" --policy-name "$POLICY_NAME" -n ingress --priority 100

# collection ingress-dnat: DNAT, priority 100
az network firewall policy rule-collection-group collection add-nat-collection -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name ingress \
  -n ingress-dnat --collection-priority 100 --action DNAT \
  --rule-name web \
  --description ingress/ingress-dnat/web \
  --source-addresses '*' \
  --ip-protocols TCP \
  --destination-addresses 20.61.1.4 \
  --destination-ports 443 \
  --translated-address 10.240.4.4 \
  --translated-port 8443
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name ingress \
  --collection-name ingress-dnat --name dns-udp --rule-type NatRule \
  --description ingress/ingress-dnat/dns-udp \
  --source-addresses '*' \
  --ip-protocols UDP \
  --destination-addresses 20.61.1.4 \
  --destination-ports 5353 \
  --translated-address 10.240.4.5 \
  --translated-port 53

echo "==> rule collection group guard" >&2
az network firewall policy rule-collection-group create -g "$RG" --policy-name "$POLICY_NAME" -n guard --priority 150

# collection guard-network-deny: network, Deny, priority 100
az network firewall policy rule-collection-group collection add-filter-collection -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name guard \
  -n guard-network-deny --collection-priority 100 --action Deny \
  --rule-name no-metadata-range --rule-type NetworkRule \
  --description guard/guard-network-deny/no-metadata-range \
  --source-addresses '*' \
  --ip-protocols Any \
  --destination-addresses 169.254.0.0/16 \
  --destination-ports '*'
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name guard \
  --collection-name guard-network-deny --name no-smtp --rule-type NetworkRule \
  --description guard/guard-network-deny/no-smtp \
  --source-ip-groups nodes \
  --ip-protocols TCP \
  --destination-addresses '*' \
  --destination-ports 25 465 587

# collection guard-application-deny: application, Deny, priority 101
az network firewall policy rule-collection-group collection add-filter-collection -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name guard \
  -n guard-application-deny --collection-priority 101 --action Deny \
  --rule-name no-pastebin --rule-type ApplicationRule \
  --description guard/guard-application-deny/no-pastebin \
  --source-addresses '*' \
  --protocols Https=443 Http=80 \
  --target-fqdns pastebin.com '*.pastebin.com'

echo "==> rule collection group workloads" >&2
az network firewall policy rule-collection-group create -g "$RG" --policy-name "$POLICY_NAME" -n workloads --priority 300

# collection workloads-network: network, Allow, priority 100
az network firewall policy rule-collection-group collection add-filter-collection -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name workloads \
  -n workloads-network --collection-priority 100 --action Allow \
  --rule-name tunnel --rule-type NetworkRule \
  --description workloads/workloads-network/tunnel \
  --source-addresses 10.240.0.0/16 \
  --ip-protocols TCP \
  --destination-addresses AzureCloud.westeurope \
  --destination-ports 9000 22
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name workloads \
  --collection-name workloads-network --name ntp-mixed --rule-type NetworkRule \
  --description workloads/workloads-network/ntp-mixed \
  --source-addresses 10.240.0.0/16 \
  --ip-protocols UDP \
  --destination-addresses 162.159.200.1 \
  --destination-ports 123
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name workloads \
  --collection-name workloads-network --name ntp-mixed-fqdns --rule-type NetworkRule \
  --description workloads/workloads-network/ntp-mixed \
  --source-addresses 10.240.0.0/16 \
  --ip-protocols UDP \
  --destination-fqdns ntp.ubuntu.com \
  --destination-ports 123
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name workloads \
  --collection-name workloads-network --name registries --rule-type NetworkRule \
  --description workloads/workloads-network/registries \
  --source-ip-groups nodes \
  --ip-protocols TCP \
  --destination-ip-groups registries \
  --destination-ports 443 5000-5010
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name workloads \
  --collection-name workloads-network --name monitor-tag --rule-type NetworkRule \
  --description workloads/workloads-network/monitor-tag \
  --source-addresses 10.240.0.0/16 \
  --ip-protocols TCP \
  --destination-addresses AzureMonitor \
  --destination-ports 443
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name workloads \
  --collection-name workloads-network --name ping --rule-type NetworkRule \
  --description workloads/workloads-network/ping \
  --source-addresses 10.240.0.0/16 \
  --ip-protocols ICMP \
  --destination-addresses 8.8.8.8 \
  --destination-ports '*'
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name workloads \
  --collection-name workloads-network --name anything-internal --rule-type NetworkRule \
  --description workloads/workloads-network/anything-internal \
  --source-addresses 10.240.1.0/24 \
  --ip-protocols Any \
  --destination-addresses 10.0.0.0-10.0.0.255 192.168.10.0/24 \
  --destination-ports '*'
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name workloads \
  --collection-name workloads-network --name v6-and-v4 --rule-type NetworkRule \
  --description workloads/workloads-network/v6-and-v4 \
  --source-addresses 10.240.0.0/16 \
  --ip-protocols UDP \
  --destination-addresses 9.9.9.9 \
  --destination-ports 53
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name workloads \
  --collection-name workloads-network --name dual-group --rule-type NetworkRule \
  --description workloads/workloads-network/dual-group \
  --source-addresses 10.240.0.0/16 \
  --ip-protocols TCP \
  --destination-ip-groups dual \
  --destination-ports 8080
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name workloads \
  --collection-name workloads-network --name any-name --rule-type NetworkRule \
  --description workloads/workloads-network/any-name \
  --source-addresses 10.240.2.0/24 \
  --ip-protocols TCP \
  --destination-addresses '*' \
  --destination-ports 8443

# collection workloads-application: application, Allow, priority 101
az network firewall policy rule-collection-group collection add-filter-collection -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name workloads \
  -n workloads-application --collection-priority 101 --action Allow \
  --rule-name aks-tag --rule-type ApplicationRule \
  --description workloads/workloads-application/aks-tag \
  --source-addresses 10.240.0.0/16 \
  --protocols Http=80 Https=443 \
  --fqdn-tags AzureKubernetesService
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name workloads \
  --collection-name workloads-application --name github --rule-type ApplicationRule \
  --description 'workloads/workloads-application/github: Source code and releases' \
  --source-addresses 10.240.0.0/16 \
  --protocols Https=443 \
  --target-fqdns github.com '*.github.com' '*githubusercontent.com'
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name workloads \
  --collection-name workloads-application --name odd-port --rule-type ApplicationRule \
  --description workloads/workloads-application/odd-port \
  --source-addresses 10.240.0.0/16 \
  --protocols Https=8443 \
  --target-fqdns api.example.com
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name workloads \
  --collection-name workloads-application --name everything-https --rule-type ApplicationRule \
  --description workloads/workloads-application/everything-https \
  --source-addresses 10.240.3.0/24 \
  --protocols Https=443 \
  --target-fqdns '*'

# collection workloads-application-network: network, Allow, priority 102
az network firewall policy rule-collection-group collection add-filter-collection -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name workloads \
  -n workloads-application-network --collection-priority 102 --action Allow \
  --rule-name sql --rule-type NetworkRule \
  --description workloads/workloads-application/sql \
  --source-addresses 10.240.0.0/16 \
  --ip-protocols TCP \
  --destination-addresses Sql.westeurope \
  --destination-ports 1433
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name workloads \
  --collection-name workloads-application-network --name sql-fqdns --rule-type NetworkRule \
  --description workloads/workloads-application/sql \
  --source-addresses 10.240.0.0/16 \
  --ip-protocols TCP \
  --destination-fqdns db1.database.windows.net \
  --destination-ports 1433
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name workloads \
  --collection-name workloads-application-network --name odd-port-tcp --rule-type NetworkRule \
  --description workloads/workloads-application/odd-port \
  --source-addresses 10.240.0.0/16 \
  --ip-protocols TCP \
  --destination-fqdns api.example.com \
  --destination-ports 64443

# collection workloads-late: application, Allow, priority 103
az network firewall policy rule-collection-group collection add-filter-collection -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name workloads \
  -n workloads-late --collection-priority 103 --action Allow \
  --rule-name pypi --rule-type ApplicationRule \
  --description workloads/workloads-late/pypi \
  --source-addresses 10.240.0.0/16 \
  --protocols Https=443 \
  --target-fqdns pypi.org files.pythonhosted.org

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
