#!/usr/bin/env bash
# Written by aks-egress export azure-cli from policy "aks-china-chinaeast2".
# Policy "aks-china-chinaeast2": cloud china, region chinaeast2, catalog 2019-11.
# Each rule carries its path in the aks-egress policy: GROUP/COLLECTION/RULE.
# 0 error(s), 3 warning(s) on export: constructs azure-cli cannot express as written (listed below and on stderr).
#   warning: azure-cli: rule aks-required/aks-required-network/china.network.tunnel: wildcard FQDN "*.hcp.chinaeast2.cx.prod.service.azk8s.cn" in a network rule (Azure takes exact names only); expressed as the service tag AzureCloud.chinaeast2 (broader: every Azure address of the region)
#   warning: azure-cli: rule aks-required/aks-required-network/china.hcp: wildcard FQDN "*.hcp.chinaeast2.cx.prod.service.azk8s.cn" in a network rule (Azure takes exact names only); expressed as the service tag AzureCloud.chinaeast2 (broader: every Azure address of the region)
#   warning: azure-cli: rule aks-required/aks-required-network/china.tun: wildcard FQDN "*.tun.chinaeast2.cx.prod.service.azk8s.cn" in a network rule (Azure takes exact names only); expressed as the service tag AzureCloud.chinaeast2 (broader: every Azure address of the region)
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
POLICY_NAME="${POLICY_NAME:-aks-china-chinaeast2}"
# Region of the policy and the route table
LOCATION="${LOCATION:-chinaeast2}"
# The firewall's private IP: next hop of the default route
FW_PRIVATE_IP="${FW_PRIVATE_IP:-10.0.1.4}"
# The firewall's public IP: routed to the Internet (asymmetric routing), DNAT destination
FW_PUBLIC_IP="${FW_PUBLIC_IP:-20.61.1.4}"
# Route table for the AKS subnet
ROUTE_TABLE="${ROUTE_TABLE:-aks-china-chinaeast2-udr}"
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

echo "==> rule collection group aks-required" >&2
az network firewall policy rule-collection-group create -g "$RG" --policy-name "$POLICY_NAME" -n aks-required --priority 200

# collection aks-required-network: network, Allow, priority 100
az network firewall policy rule-collection-group collection add-filter-collection -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-required \
  -n aks-required-network --collection-priority 100 --action Allow \
  --rule-name china.network.tunnel --rule-type NetworkRule \
  --description aks-required/aks-required-network/china.network.tunnel \
  --source-addresses '*' \
  --ip-protocols TCP \
  --destination-addresses AzureCloud.chinaeast2 \
  --destination-ports 9000 22
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-required \
  --collection-name aks-required-network --name china.hcp --rule-type NetworkRule \
  --description aks-required/aks-required-network/china.hcp \
  --source-addresses '*' \
  --ip-protocols TCP \
  --destination-addresses AzureCloud.chinaeast2 \
  --destination-ports 22 9000
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-required \
  --collection-name aks-required-network --name china.tun --rule-type NetworkRule \
  --description aks-required/aks-required-network/china.tun \
  --source-addresses '*' \
  --ip-protocols TCP \
  --destination-addresses AzureCloud.chinaeast2 \
  --destination-ports 22 9000
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-required \
  --collection-name aks-required-network --name china.ntp --rule-type NetworkRule \
  --description aks-required/aks-required-network/china.ntp \
  --source-addresses '*' \
  --ip-protocols UDP \
  --destination-fqdns ntp.ubuntu.com \
  --destination-ports 123

# collection aks-required-application: application, Allow, priority 200
az network firewall policy rule-collection-group collection add-filter-collection -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-required \
  -n aks-required-application --collection-priority 200 --action Allow \
  --rule-name china.hcp --rule-type ApplicationRule \
  --description aks-required/aks-required-application/china.hcp \
  --source-addresses '*' \
  --protocols Https=443 \
  --target-fqdns '*.hcp.chinaeast2.cx.prod.service.azk8s.cn'
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-required \
  --collection-name aks-required-application --name china.tun --rule-type ApplicationRule \
  --description aks-required/aks-required-application/china.tun \
  --source-addresses '*' \
  --protocols Https=443 \
  --target-fqdns '*.tun.chinaeast2.cx.prod.service.azk8s.cn'
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-required \
  --collection-name aks-required-application --name china.azk8s --rule-type ApplicationRule \
  --description aks-required/aks-required-application/china.azk8s \
  --source-addresses '*' \
  --protocols Https=443 \
  --target-fqdns '*.azk8s.cn'
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-required \
  --collection-name aks-required-application --name china.mcr --rule-type ApplicationRule \
  --description aks-required/aks-required-application/china.mcr \
  --source-addresses '*' \
  --protocols Https=443 \
  --target-fqdns mcr.microsoft.com
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-required \
  --collection-name aks-required-application --name china.cdn-mscr --rule-type ApplicationRule \
  --description aks-required/aks-required-application/china.cdn-mscr \
  --source-addresses '*' \
  --protocols Https=443 \
  --target-fqdns '*.cdn.mscr.io'
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-required \
  --collection-name aks-required-application --name china.management --rule-type ApplicationRule \
  --description aks-required/aks-required-application/china.management \
  --source-addresses '*' \
  --protocols Https=443 \
  --target-fqdns management.chinacloudapi.cn
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-required \
  --collection-name aks-required-application --name china.login --rule-type ApplicationRule \
  --description aks-required/aks-required-application/china.login \
  --source-addresses '*' \
  --protocols Https=443 \
  --target-fqdns login.chinacloudapi.cn
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-required \
  --collection-name aks-required-application --name china.packages --rule-type ApplicationRule \
  --description aks-required/aks-required-application/china.packages \
  --source-addresses '*' \
  --protocols Https=443 \
  --target-fqdns packages.microsoft.com

echo "==> rule collection group aks-recommended" >&2
az network firewall policy rule-collection-group create -g "$RG" --policy-name "$POLICY_NAME" -n aks-recommended --priority 300

# collection aks-recommended-application: application, Allow, priority 200
az network firewall policy rule-collection-group collection add-filter-collection -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-recommended \
  -n aks-recommended-application --collection-priority 200 --action Allow \
  --rule-name ubuntu-updates.security --rule-type ApplicationRule \
  --description aks-recommended/aks-recommended-application/ubuntu-updates.security \
  --source-addresses '*' \
  --protocols Http=80 \
  --target-fqdns security.ubuntu.com
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-recommended \
  --collection-name aks-recommended-application --name ubuntu-updates.azure-archive --rule-type ApplicationRule \
  --description aks-recommended/aks-recommended-application/ubuntu-updates.azure-archive \
  --source-addresses '*' \
  --protocols Http=80 \
  --target-fqdns azure.archive.ubuntu.com
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-recommended \
  --collection-name aks-recommended-application --name ubuntu-updates.changelogs --rule-type ApplicationRule \
  --description aks-recommended/aks-recommended-application/ubuntu-updates.changelogs \
  --source-addresses '*' \
  --protocols Http=80 \
  --target-fqdns changelogs.ubuntu.com

echo "==> rule collection group addon-gpu" >&2
az network firewall policy rule-collection-group create -g "$RG" --policy-name "$POLICY_NAME" -n addon-gpu --priority 400

# collection addon-gpu-application: application, Allow, priority 200
az network firewall policy rule-collection-group collection add-filter-collection -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-gpu \
  -n addon-gpu-application --collection-priority 200 --action Allow \
  --rule-name gpu.nvidia-github --rule-type ApplicationRule \
  --description addon-gpu/addon-gpu-application/gpu.nvidia-github \
  --source-addresses '*' \
  --protocols Https=443 \
  --target-fqdns nvidia.github.io
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-gpu \
  --collection-name addon-gpu-application --name gpu.nvidia-download --rule-type ApplicationRule \
  --description addon-gpu/addon-gpu-application/gpu.nvidia-download \
  --source-addresses '*' \
  --protocols Https=443 \
  --target-fqdns us.download.nvidia.com
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-gpu \
  --collection-name addon-gpu-application --name gpu.dockerproject --rule-type ApplicationRule \
  --description addon-gpu/addon-gpu-application/gpu.dockerproject \
  --source-addresses '*' \
  --protocols Https=443 \
  --target-fqdns apt.dockerproject.org

echo "==> rule collection group addon-monitoring" >&2
az network firewall policy rule-collection-group create -g "$RG" --policy-name "$POLICY_NAME" -n addon-monitoring --priority 500

# collection addon-monitoring-application: application, Allow, priority 200
az network firewall policy rule-collection-group collection add-filter-collection -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-monitoring \
  -n addon-monitoring-application --collection-priority 200 --action Allow \
  --rule-name monitoring.dc-services --rule-type ApplicationRule \
  --description addon-monitoring/addon-monitoring-application/monitoring.dc-services \
  --source-addresses '*' \
  --protocols Https=443 \
  --target-fqdns dc.services.visualstudio.com
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-monitoring \
  --collection-name addon-monitoring-application --name monitoring.ods --rule-type ApplicationRule \
  --description addon-monitoring/addon-monitoring-application/monitoring.ods \
  --source-addresses '*' \
  --protocols Https=443 \
  --target-fqdns '*.ods.opinsights.azure.com'
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-monitoring \
  --collection-name addon-monitoring-application --name monitoring.oms --rule-type ApplicationRule \
  --description addon-monitoring/addon-monitoring-application/monitoring.oms \
  --source-addresses '*' \
  --protocols Https=443 \
  --target-fqdns '*.oms.opinsights.azure.com'
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-monitoring \
  --collection-name addon-monitoring-application --name monitoring.microsoftonline --rule-type ApplicationRule \
  --description addon-monitoring/addon-monitoring-application/monitoring.microsoftonline \
  --source-addresses '*' \
  --protocols Https=443 \
  --target-fqdns '*.microsoftonline.com'
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-monitoring \
  --collection-name addon-monitoring-application --name monitoring.monitoring-azure --rule-type ApplicationRule \
  --description addon-monitoring/addon-monitoring-application/monitoring.monitoring-azure \
  --source-addresses '*' \
  --protocols Https=443 \
  --target-fqdns '*.monitoring.azure.com'

echo "==> rule collection group addon-dev-spaces" >&2
az network firewall policy rule-collection-group create -g "$RG" --policy-name "$POLICY_NAME" -n addon-dev-spaces --priority 600

# collection addon-dev-spaces-application: application, Allow, priority 200
az network firewall policy rule-collection-group collection add-filter-collection -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-dev-spaces \
  -n addon-dev-spaces-application --collection-priority 200 --action Allow \
  --rule-name dev-spaces.cloudflare-docker --rule-type ApplicationRule \
  --description addon-dev-spaces/addon-dev-spaces-application/dev-spaces.cloudflare-docker \
  --source-addresses '*' \
  --protocols Https=443 \
  --target-fqdns cloudflare.docker.com
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-dev-spaces \
  --collection-name addon-dev-spaces-application --name dev-spaces.gcr --rule-type ApplicationRule \
  --description addon-dev-spaces/addon-dev-spaces-application/dev-spaces.gcr \
  --source-addresses '*' \
  --protocols Https=443 \
  --target-fqdns gcr.io
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-dev-spaces \
  --collection-name addon-dev-spaces-application --name dev-spaces.googleapis-storage --rule-type ApplicationRule \
  --description addon-dev-spaces/addon-dev-spaces-application/dev-spaces.googleapis-storage \
  --source-addresses '*' \
  --protocols Https=443 \
  --target-fqdns storage.googleapis.com

echo "==> rule collection group addon-azure-policy" >&2
az network firewall policy rule-collection-group create -g "$RG" --policy-name "$POLICY_NAME" -n addon-azure-policy --priority 700

# collection addon-azure-policy-application: application, Allow, priority 200
az network firewall policy rule-collection-group collection add-filter-collection -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-azure-policy \
  -n addon-azure-policy-application --collection-priority 200 --action Allow \
  --rule-name azure-policy.policy-data --rule-type ApplicationRule \
  --description addon-azure-policy/addon-azure-policy-application/azure-policy.policy-data \
  --source-addresses '*' \
  --protocols Https=443 \
  --target-fqdns gov-prod-policy-data.trafficmanager.net
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-azure-policy \
  --collection-name addon-azure-policy-application --name azure-policy.github-raw --rule-type ApplicationRule \
  --description addon-azure-policy/addon-azure-policy-application/azure-policy.github-raw \
  --source-addresses '*' \
  --protocols Https=443 \
  --target-fqdns raw.githubusercontent.com
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-azure-policy \
  --collection-name addon-azure-policy-application --name azure-policy.gatekeeper --rule-type ApplicationRule \
  --description addon-azure-policy/addon-azure-policy-application/azure-policy.gatekeeper \
  --source-addresses '*' \
  --protocols Https=443 \
  --target-fqdns '*.gk.chinaeast2.azmk8s.io'
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-azure-policy \
  --collection-name addon-azure-policy-application --name azure-policy.dc-services --rule-type ApplicationRule \
  --description addon-azure-policy/addon-azure-policy-application/azure-policy.dc-services \
  --source-addresses '*' \
  --protocols Https=443 \
  --target-fqdns dc.services.visualstudio.com

echo "==> rule collection group addon-windows" >&2
az network firewall policy rule-collection-group create -g "$RG" --policy-name "$POLICY_NAME" -n addon-windows --priority 800

# collection addon-windows-network: network, Allow, priority 100
az network firewall policy rule-collection-group collection add-filter-collection -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-windows \
  -n addon-windows-network --collection-priority 100 --action Allow \
  --rule-name windows.kms --rule-type NetworkRule \
  --description addon-windows/addon-windows-network/windows.kms \
  --source-addresses '*' \
  --ip-protocols TCP \
  --destination-fqdns kms.core.windows.net \
  --destination-ports 1688

# collection addon-windows-application: application, Allow, priority 200
az network firewall policy rule-collection-group collection add-filter-collection -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-windows \
  -n addon-windows-application --collection-priority 200 --action Allow \
  --rule-name windows.oneget-cdn --rule-type ApplicationRule \
  --description addon-windows/addon-windows-application/windows.oneget-cdn \
  --source-addresses '*' \
  --protocols Https=443 \
  --target-fqdns onegetcdn.azureedge.net
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-windows \
  --collection-name addon-windows-application --name windows.winlayers-blob --rule-type ApplicationRule \
  --description addon-windows/addon-windows-application/windows.winlayers-blob \
  --source-addresses '*' \
  --protocols Https=443 \
  --target-fqdns winlayers.blob.core.windows.net
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-windows \
  --collection-name addon-windows-application --name windows.winlayers-cdn --rule-type ApplicationRule \
  --description addon-windows/addon-windows-application/windows.winlayers-cdn \
  --source-addresses '*' \
  --protocols Https=443 \
  --target-fqdns winlayers.cdn.mscr.io
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-windows \
  --collection-name addon-windows-application --name windows.go-microsoft --rule-type ApplicationRule \
  --description addon-windows/addon-windows-application/windows.go-microsoft \
  --source-addresses '*' \
  --protocols Https=443 \
  --target-fqdns go.microsoft.com
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-windows \
  --collection-name addon-windows-application --name windows.mp-microsoft --rule-type ApplicationRule \
  --description addon-windows/addon-windows-application/windows.mp-microsoft \
  --source-addresses '*' \
  --protocols Http=80 \
  --target-fqdns mp.microsoft.com
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-windows \
  --collection-name addon-windows-application --name windows.msftconnecttest --rule-type ApplicationRule \
  --description addon-windows/addon-windows-application/windows.msftconnecttest \
  --source-addresses '*' \
  --protocols Http=80 \
  --target-fqdns www.msftconnecttest.com
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-windows \
  --collection-name addon-windows-application --name windows.ctldl --rule-type ApplicationRule \
  --description addon-windows/addon-windows-application/windows.ctldl \
  --source-addresses '*' \
  --protocols Http=80 \
  --target-fqdns ctldl.windowsupdate.com

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
