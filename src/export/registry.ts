/**
 * @module The exporters `aks-egress export TARGET` knows, in the order `export --help` lists them.
 * Adding a target: one file exporting an `Exporter` (exporter.ts) and one line here; the shared
 * conformance suite (test/conformance/exporters.test.ts) then runs it on every policy case.
 */
import { armExporter } from './azure/arm.ts'
import { azureCliExporter } from './azure/azure-cli.ts'
import { bicepExporter } from './azure/bicep.ts'
import { terraformExporter } from './azure/terraform.ts'
import type { Exporter } from './exporter.ts'
import { calicoExporter } from './kubernetes/calico.ts'
import { ciliumExporter } from './kubernetes/cilium.ts'
import { networkPolicyExporter } from './kubernetes/network-policy.ts'
import { nftablesExporter } from './nftables.ts'
import { squidExporter } from './squid.ts'

export const EXPORTERS: readonly Exporter[] = Object.freeze([
  azureCliExporter,
  armExporter,
  bicepExporter,
  terraformExporter,
  squidExporter,
  ciliumExporter,
  calicoExporter,
  networkPolicyExporter,
  nftablesExporter,
])

export function findExporter(name: string): Exporter | undefined {
  return EXPORTERS.find((e) => e.name === name)
}
