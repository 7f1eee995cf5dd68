/**
 * @module The `nftables` export target: the ruleset `serve --transparent` applies (table inet
 * aks_egress, dataplane/nftables/compile-nftables.ts), printed for review or for `nft -f` on a
 * machine of your own. What nftables cannot express is an UNSUPPORTED_BY_TARGET diagnostic.
 */
import { compileNftables } from '../dataplane/nftables/compile-nftables.ts'
import { headerLines, unsupported, type Exporter } from './exporter.ts'

export const nftablesExporter: Exporter = {
  name: 'nftables',
  description: 'The transparent appliance ruleset (table inet aks_egress) for nft -f',
  extension: 'nft',
  uses: ['egressInterface', 'ingressInterfaces', 'flowtable'],
  export(policy, options) {
    const r = compileNftables(policy, {
      ...(options.egressInterface === undefined ? {} : { egressInterface: options.egressInterface }),
      ...(options.ingressInterfaces === undefined ? {} : { ingressInterfaces: options.ingressInterfaces }),
      ...(options.flowtable === undefined ? {} : { flowtable: options.flowtable }),
    })
    const diagnostics = r.notes.map((n) => unsupported({ target: 'nftables', rule: n.rule, construct: n.construct, outcome: n.outcome, severity: n.severity }))
    const header = headerLines('nftables', policy, options, diagnostics).map((l) => `# ${l}`)
    return { text: `${header.join('\n')}\n${r.text}`, diagnostics }
  },
}
