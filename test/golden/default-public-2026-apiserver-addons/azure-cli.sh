#!/usr/bin/env bash
# Written by aks-egress export azure-cli from policy "aks-public-eastus".
# Policy "aks-public-eastus": cloud public, region eastus, catalog 2026-06.
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
POLICY_NAME="${POLICY_NAME:-aks-public-eastus}"
# Region of the policy and the route table
LOCATION="${LOCATION:-eastus}"
# The firewall's private IP: next hop of the default route
FW_PRIVATE_IP="${FW_PRIVATE_IP:-10.0.1.4}"
# The firewall's public IP: routed to the Internet (asymmetric routing), DNAT destination
FW_PUBLIC_IP="${FW_PUBLIC_IP:-20.61.1.4}"
# Route table for the AKS subnet
ROUTE_TABLE="${ROUTE_TABLE:-aks-public-eastus-udr}"
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
  --rule-name public.network.tunnel-udp-1194 --rule-type NetworkRule \
  --description aks-required/aks-required-network/public.network.tunnel-udp-1194 \
  --source-addresses 10.224.0.0/16 \
  --ip-protocols UDP \
  --destination-addresses 20.50.1.2 \
  --destination-ports 1194
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-required \
  --collection-name aks-required-network --name public.network.tunnel-tcp-9000 --rule-type NetworkRule \
  --description aks-required/aks-required-network/public.network.tunnel-tcp-9000 \
  --source-addresses 10.224.0.0/16 \
  --ip-protocols TCP \
  --destination-addresses 20.50.1.2 \
  --destination-ports 9000
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-required \
  --collection-name aks-required-network --name public.network.ntp --rule-type NetworkRule \
  --description aks-required/aks-required-network/public.network.ntp \
  --source-addresses 10.224.0.0/16 \
  --ip-protocols UDP \
  --destination-fqdns ntp.ubuntu.com \
  --destination-ports 123
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-required \
  --collection-name aks-required-network --name public.network.api-server --rule-type NetworkRule \
  --description aks-required/aks-required-network/public.network.api-server \
  --source-addresses 10.224.0.0/16 \
  --ip-protocols TCP \
  --destination-addresses 20.50.1.2 \
  --destination-ports 443

# collection aks-required-application: application, Allow, priority 200
az network firewall policy rule-collection-group collection add-filter-collection -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-required \
  -n aks-required-application --collection-priority 200 --action Allow \
  --rule-name public.hcp --rule-type ApplicationRule \
  --description aks-required/aks-required-application/public.hcp \
  --source-addresses 10.224.0.0/16 \
  --protocols Https=443 \
  --target-fqdns '*.hcp.eastus.azmk8s.io'
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-required \
  --collection-name aks-required-application --name public.mcr --rule-type ApplicationRule \
  --description aks-required/aks-required-application/public.mcr \
  --source-addresses 10.224.0.0/16 \
  --protocols Https=443 \
  --target-fqdns mcr.microsoft.com
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-required \
  --collection-name aks-required-application --name public.mcr-data --rule-type ApplicationRule \
  --description aks-required/aks-required-application/public.mcr-data \
  --source-addresses 10.224.0.0/16 \
  --protocols Https=443 \
  --target-fqdns '*.data.mcr.microsoft.com'
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-required \
  --collection-name aks-required-application --name public.mcr-edge --rule-type ApplicationRule \
  --description aks-required/aks-required-application/public.mcr-edge \
  --source-addresses 10.224.0.0/16 \
  --protocols Https=443 \
  --target-fqdns mcr-0001.mcr-msedge.net
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-required \
  --collection-name aks-required-application --name public.management --rule-type ApplicationRule \
  --description aks-required/aks-required-application/public.management \
  --source-addresses 10.224.0.0/16 \
  --protocols Https=443 \
  --target-fqdns management.azure.com
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-required \
  --collection-name aks-required-application --name public.login --rule-type ApplicationRule \
  --description aks-required/aks-required-application/public.login \
  --source-addresses 10.224.0.0/16 \
  --protocols Https=443 \
  --target-fqdns login.microsoftonline.com
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-required \
  --collection-name aks-required-application --name public.packages --rule-type ApplicationRule \
  --description aks-required/aks-required-application/public.packages \
  --source-addresses 10.224.0.0/16 \
  --protocols Https=443 \
  --target-fqdns packages.microsoft.com
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-required \
  --collection-name aks-required-application --name public.acs-mirror --rule-type ApplicationRule \
  --description aks-required/aks-required-application/public.acs-mirror \
  --source-addresses 10.224.0.0/16 \
  --protocols Https=443 \
  --target-fqdns acs-mirror.azureedge.net
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-required \
  --collection-name aks-required-application --name public.packages-aks --rule-type ApplicationRule \
  --description aks-required/aks-required-application/public.packages-aks \
  --source-addresses 10.224.0.0/16 \
  --protocols Https=443 \
  --target-fqdns packages.aks.azure.com

echo "==> rule collection group aks-recommended" >&2
az network firewall policy rule-collection-group create -g "$RG" --policy-name "$POLICY_NAME" -n aks-recommended --priority 300

# collection aks-recommended-application: application, Allow, priority 200
az network firewall policy rule-collection-group collection add-filter-collection -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-recommended \
  -n aks-recommended-application --collection-priority 200 --action Allow \
  --rule-name ubuntu-updates.security --rule-type ApplicationRule \
  --description aks-recommended/aks-recommended-application/ubuntu-updates.security \
  --source-addresses 10.224.0.0/16 \
  --protocols Http=80 \
  --target-fqdns security.ubuntu.com
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-recommended \
  --collection-name aks-recommended-application --name ubuntu-updates.azure-archive --rule-type ApplicationRule \
  --description aks-recommended/aks-recommended-application/ubuntu-updates.azure-archive \
  --source-addresses 10.224.0.0/16 \
  --protocols Http=80 \
  --target-fqdns azure.archive.ubuntu.com
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-recommended \
  --collection-name aks-recommended-application --name ubuntu-updates.changelogs --rule-type ApplicationRule \
  --description aks-recommended/aks-recommended-application/ubuntu-updates.changelogs \
  --source-addresses 10.224.0.0/16 \
  --protocols Http=80 \
  --target-fqdns changelogs.ubuntu.com
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name aks-recommended \
  --collection-name aks-recommended-application --name ubuntu-updates.snapshot --rule-type ApplicationRule \
  --description aks-recommended/aks-recommended-application/ubuntu-updates.snapshot \
  --source-addresses 10.224.0.0/16 \
  --protocols Https=443 \
  --target-fqdns snapshot.ubuntu.com

echo "==> rule collection group addon-gpu" >&2
az network firewall policy rule-collection-group create -g "$RG" --policy-name "$POLICY_NAME" -n addon-gpu --priority 400

# collection addon-gpu-application: application, Allow, priority 200
az network firewall policy rule-collection-group collection add-filter-collection -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-gpu \
  -n addon-gpu-application --collection-priority 200 --action Allow \
  --rule-name gpu.nvidia-github --rule-type ApplicationRule \
  --description addon-gpu/addon-gpu-application/gpu.nvidia-github \
  --source-addresses 10.224.0.0/16 \
  --protocols Https=443 \
  --target-fqdns nvidia.github.io
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-gpu \
  --collection-name addon-gpu-application --name gpu.nvidia-download --rule-type ApplicationRule \
  --description addon-gpu/addon-gpu-application/gpu.nvidia-download \
  --source-addresses 10.224.0.0/16 \
  --protocols Https=443 \
  --target-fqdns us.download.nvidia.com
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-gpu \
  --collection-name addon-gpu-application --name gpu.docker-download --rule-type ApplicationRule \
  --description addon-gpu/addon-gpu-application/gpu.docker-download \
  --source-addresses 10.224.0.0/16 \
  --protocols Https=443 \
  --target-fqdns download.docker.com

echo "==> rule collection group addon-monitoring" >&2
az network firewall policy rule-collection-group create -g "$RG" --policy-name "$POLICY_NAME" -n addon-monitoring --priority 500

# collection addon-monitoring-network: network, Allow, priority 100
az network firewall policy rule-collection-group collection add-filter-collection -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-monitoring \
  -n addon-monitoring-network --collection-priority 100 --action Allow \
  --rule-name monitoring.network.service-tag --rule-type NetworkRule \
  --description addon-monitoring/addon-monitoring-network/monitoring.network.service-tag \
  --source-addresses 10.224.0.0/16 \
  --ip-protocols TCP \
  --destination-addresses AzureMonitor \
  --destination-ports 443

# collection addon-monitoring-application: application, Allow, priority 200
az network firewall policy rule-collection-group collection add-filter-collection -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-monitoring \
  -n addon-monitoring-application --collection-priority 200 --action Allow \
  --rule-name monitoring.public.ods --rule-type ApplicationRule \
  --description addon-monitoring/addon-monitoring-application/monitoring.public.ods \
  --source-addresses 10.224.0.0/16 \
  --protocols Https=443 \
  --target-fqdns '*.ods.opinsights.azure.com'
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-monitoring \
  --collection-name addon-monitoring-application --name monitoring.public.oms --rule-type ApplicationRule \
  --description addon-monitoring/addon-monitoring-application/monitoring.public.oms \
  --source-addresses 10.224.0.0/16 \
  --protocols Https=443 \
  --target-fqdns '*.oms.opinsights.azure.com'
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-monitoring \
  --collection-name addon-monitoring-application --name monitoring.public.dc-services --rule-type ApplicationRule \
  --description addon-monitoring/addon-monitoring-application/monitoring.public.dc-services \
  --source-addresses 10.224.0.0/16 \
  --protocols Https=443 \
  --target-fqdns dc.services.visualstudio.com
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-monitoring \
  --collection-name addon-monitoring-application --name monitoring.public.app-insights --rule-type ApplicationRule \
  --description addon-monitoring/addon-monitoring-application/monitoring.public.app-insights \
  --source-addresses 10.224.0.0/16 \
  --protocols Https=443 \
  --target-fqdns '*.in.applicationinsights.azure.com'
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-monitoring \
  --collection-name addon-monitoring-application --name monitoring.public.monitoring-azure --rule-type ApplicationRule \
  --description addon-monitoring/addon-monitoring-application/monitoring.public.monitoring-azure \
  --source-addresses 10.224.0.0/16 \
  --protocols Https=443 \
  --target-fqdns '*.monitoring.azure.com'
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-monitoring \
  --collection-name addon-monitoring-application --name monitoring.public.login --rule-type ApplicationRule \
  --description addon-monitoring/addon-monitoring-application/monitoring.public.login \
  --source-addresses 10.224.0.0/16 \
  --protocols Https=443 \
  --target-fqdns login.microsoftonline.com
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-monitoring \
  --collection-name addon-monitoring-application --name monitoring.public.global-handler --rule-type ApplicationRule \
  --description addon-monitoring/addon-monitoring-application/monitoring.public.global-handler \
  --source-addresses 10.224.0.0/16 \
  --protocols Https=443 \
  --target-fqdns global.handler.control.monitor.azure.com
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-monitoring \
  --collection-name addon-monitoring-application --name monitoring.public.ingest --rule-type ApplicationRule \
  --description addon-monitoring/addon-monitoring-application/monitoring.public.ingest \
  --source-addresses 10.224.0.0/16 \
  --protocols Https=443 \
  --target-fqdns '*.ingest.monitor.azure.com'
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-monitoring \
  --collection-name addon-monitoring-application --name monitoring.public.metrics-ingest --rule-type ApplicationRule \
  --description addon-monitoring/addon-monitoring-application/monitoring.public.metrics-ingest \
  --source-addresses 10.224.0.0/16 \
  --protocols Https=443 \
  --target-fqdns '*.metrics.ingest.monitor.azure.com'
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-monitoring \
  --collection-name addon-monitoring-application --name monitoring.public.region-handler --rule-type ApplicationRule \
  --description addon-monitoring/addon-monitoring-application/monitoring.public.region-handler \
  --source-addresses 10.224.0.0/16 \
  --protocols Https=443 \
  --target-fqdns eastus.handler.control.monitor.azure.com

echo "==> rule collection group addon-defender" >&2
az network firewall policy rule-collection-group create -g "$RG" --policy-name "$POLICY_NAME" -n addon-defender --priority 600

# collection addon-defender-application: application, Allow, priority 200
az network firewall policy rule-collection-group collection add-filter-collection -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-defender \
  -n addon-defender-application --collection-priority 200 --action Allow \
  --rule-name defender.public.login --rule-type ApplicationRule \
  --description addon-defender/addon-defender-application/defender.public.login \
  --source-addresses 10.224.0.0/16 \
  --protocols Https=443 \
  --target-fqdns login.microsoftonline.com
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-defender \
  --collection-name addon-defender-application --name defender.public.ods --rule-type ApplicationRule \
  --description addon-defender/addon-defender-application/defender.public.ods \
  --source-addresses 10.224.0.0/16 \
  --protocols Https=443 \
  --target-fqdns '*.ods.opinsights.azure.com'
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-defender \
  --collection-name addon-defender-application --name defender.public.oms --rule-type ApplicationRule \
  --description addon-defender/addon-defender-application/defender.public.oms \
  --source-addresses 10.224.0.0/16 \
  --protocols Https=443 \
  --target-fqdns '*.oms.opinsights.azure.com'
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-defender \
  --collection-name addon-defender-application --name defender.public.cloud-defender --rule-type ApplicationRule \
  --description addon-defender/addon-defender-application/defender.public.cloud-defender \
  --source-addresses 10.224.0.0/16 \
  --protocols Https=443 \
  --target-fqdns '*.cloud.defender.microsoft.com'

echo "==> rule collection group addon-keyvault" >&2
az network firewall policy rule-collection-group create -g "$RG" --policy-name "$POLICY_NAME" -n addon-keyvault --priority 700

# collection addon-keyvault-application: application, Allow, priority 200
az network firewall policy rule-collection-group collection add-filter-collection -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-keyvault \
  -n addon-keyvault-application --collection-priority 200 --action Allow \
  --rule-name keyvault.public.vault --rule-type ApplicationRule \
  --description addon-keyvault/addon-keyvault-application/keyvault.public.vault \
  --source-addresses 10.224.0.0/16 \
  --protocols Https=443 \
  --target-fqdns vault.azure.net
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-keyvault \
  --collection-name addon-keyvault-application --name keyvault.public.vaults --rule-type ApplicationRule \
  --description addon-keyvault/addon-keyvault-application/keyvault.public.vaults \
  --source-addresses 10.224.0.0/16 \
  --protocols Https=443 \
  --target-fqdns '*.vault.azure.net'

echo "==> rule collection group addon-azure-policy" >&2
az network firewall policy rule-collection-group create -g "$RG" --policy-name "$POLICY_NAME" -n addon-azure-policy --priority 800

# collection addon-azure-policy-application: application, Allow, priority 200
az network firewall policy rule-collection-group collection add-filter-collection -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-azure-policy \
  -n addon-azure-policy-application --collection-priority 200 --action Allow \
  --rule-name azure-policy.public.data --rule-type ApplicationRule \
  --description addon-azure-policy/addon-azure-policy-application/azure-policy.public.data \
  --source-addresses 10.224.0.0/16 \
  --protocols Https=443 \
  --target-fqdns data.policy.core.windows.net
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-azure-policy \
  --collection-name addon-azure-policy-application --name azure-policy.public.store --rule-type ApplicationRule \
  --description addon-azure-policy/addon-azure-policy-application/azure-policy.public.store \
  --source-addresses 10.224.0.0/16 \
  --protocols Https=443 \
  --target-fqdns store.policy.core.windows.net
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-azure-policy \
  --collection-name addon-azure-policy-application --name azure-policy.public.dc-services --rule-type ApplicationRule \
  --description addon-azure-policy/addon-azure-policy-application/azure-policy.public.dc-services \
  --source-addresses 10.224.0.0/16 \
  --protocols Https=443 \
  --target-fqdns dc.services.visualstudio.com

echo "==> rule collection group addon-windows" >&2
az network firewall policy rule-collection-group create -g "$RG" --policy-name "$POLICY_NAME" -n addon-windows --priority 900

# collection addon-windows-application: application, Allow, priority 200
az network firewall policy rule-collection-group collection add-filter-collection -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-windows \
  -n addon-windows-application --collection-priority 200 --action Allow \
  --rule-name windows.oneget-cdn --rule-type ApplicationRule \
  --description addon-windows/addon-windows-application/windows.oneget-cdn \
  --source-addresses 10.224.0.0/16 \
  --protocols Https=443 \
  --target-fqdns onegetcdn.azureedge.net
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-windows \
  --collection-name addon-windows-application --name windows.go-microsoft --rule-type ApplicationRule \
  --description addon-windows/addon-windows-application/windows.go-microsoft \
  --source-addresses 10.224.0.0/16 \
  --protocols Https=443 \
  --target-fqdns go.microsoft.com
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-windows \
  --collection-name addon-windows-application --name windows.mp-microsoft --rule-type ApplicationRule \
  --description addon-windows/addon-windows-application/windows.mp-microsoft \
  --source-addresses 10.224.0.0/16 \
  --protocols Http=80 \
  --target-fqdns '*.mp.microsoft.com'
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-windows \
  --collection-name addon-windows-application --name windows.msftconnecttest --rule-type ApplicationRule \
  --description addon-windows/addon-windows-application/windows.msftconnecttest \
  --source-addresses 10.224.0.0/16 \
  --protocols Http=80 \
  --target-fqdns www.msftconnecttest.com
az network firewall policy rule-collection-group collection rule add -g "$RG" --policy-name "$POLICY_NAME" --rule-collection-group-name addon-windows \
  --collection-name addon-windows-application --name windows.ctldl --rule-type ApplicationRule \
  --description addon-windows/addon-windows-application/windows.ctldl \
  --source-addresses 10.224.0.0/16 \
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
