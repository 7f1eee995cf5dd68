/**
 * @module The `nftables` export target: the ruleset `serve --transparent` applies, printed for
 * review (DESIGN.md §5). Shaped as a self-contained target (name, options, export) so that it
 * moves into the exporter registry (src/export/exporter.ts, branch `exporters`) as one entry.
 */
import { compileNftables, type NftablesNote } from '../dataplane/nftables/compile-nftables.ts'
import type { Policy } from '../policy/policy-model.ts'
import { parseAddressBlock } from '../policy/cidr.ts'

export interface NftablesExportOptions {
  readonly egressInterface?: string
  readonly sshFrom?: readonly string[]
  readonly dnsPort?: number
  readonly serviceTcpPorts?: readonly number[]
}

export interface ExportResult {
  readonly text: string
  /** What the target cannot express: reported, never dropped silently. */
  readonly notes: readonly NftablesNote[]
}

export const NFTABLES_TARGET = {
  name: 'nftables',
  summary: 'The nftables ruleset of the transparent appliance (table inet aks_egress), for nft -f',
  export(policy: Policy, options: NftablesExportOptions = {}): ExportResult {
    const r = compileNftables(policy, options)
    return { text: r.text, notes: r.notes }
  },
} as const

/** Checks `--ssh-from` values: CIDRs, addresses or `*`; returns the bad ones. */
export function badAddressBlocks(values: readonly string[]): string[] {
  return values.filter((v) => !parseAddressBlock(v).ok)
}
