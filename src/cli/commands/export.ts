/**
 * @module `aks-egress export TARGET [PROFILE | --policy FILE] [--out FILE]` (DESIGN.md §5, §8).
 * Only the `nftables` target lives here for now; the exporter registry (branch `exporters`) takes
 * it over as one more target (src/export/nftables-target.ts).
 */
import { writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { badAddressBlocks, NFTABLES_TARGET } from '../../export/nftables-target.ts'
import { EXIT_OK, EXIT_USAGE, UsageError, type Io } from '../io.ts'
import { formatOptionHelp, parseOptions, PROFILE_OPTIONS, type OptionSpecs } from '../parse-options.ts'
import { policyFromOptions } from '../policy-source.ts'

const OPTIONS: OptionSpecs = {
  policy: { type: 'string', value: 'FILE', help: 'The policy to export (default: the default policy of the PROFILE options)' },
  out: { type: 'string', value: 'FILE', help: 'Write to FILE instead of standard output' },
  'egress-interface': { type: 'string', value: 'IF', help: 'nftables: the interface toward the internet, masqueraded (default eth0)' },
  'ssh-from': { type: 'string', multiple: true, value: 'CIDR', help: 'nftables: sources allowed to SSH to the appliance (default *; "none" for none)' },
  ...PROFILE_OPTIONS,
}

export const EXPORT_HELP = `Usage: aks-egress export TARGET [PROFILE | --policy FILE] [--out FILE]

Targets:
  ${NFTABLES_TARGET.name}  ${NFTABLES_TARGET.summary}

What a target cannot express is printed as a warning on standard error (and as a comment in the
output), never dropped silently.

Options:
${formatOptionHelp(OPTIONS)}
`

export function runExport(argv: readonly string[], io: Io): number {
  const [target, ...rest] = argv
  if (target === undefined || target === '--help' || target === '-h' || target === 'help') {
    io.stdout.write(EXPORT_HELP)
    return target === undefined ? EXIT_USAGE : EXIT_OK
  }
  if (target !== NFTABLES_TARGET.name) throw new UsageError(`Unknown export target "${target}"`, `use one of: ${NFTABLES_TARGET.name}`)
  const { values } = parseOptions(rest, OPTIONS, false)
  if (values['help'] === true) {
    io.stdout.write(EXPORT_HELP)
    return EXIT_OK
  }
  const sshValues = (values['ssh-from'] as string[] | undefined) ?? ['*']
  const sshFrom = sshValues.length === 1 && sshValues[0] === 'none' ? [] : sshValues
  const bad = badAddressBlocks(sshFrom)
  if (bad.length > 0) throw new UsageError(`--ssh-from "${bad[0] ?? ''}" is not an address, a CIDR or *`)
  const iface = values['egress-interface']
  if (typeof iface === 'string' && !/^[A-Za-z0-9_.:@-]{1,15}$/.test(iface)) throw new UsageError(`--egress-interface "${iface}" is not an interface name`)
  const source = policyFromOptions(values, io)
  const result = NFTABLES_TARGET.export(source.policy, { ...(typeof iface === 'string' ? { egressInterface: iface } : {}), sshFrom })
  for (const n of result.notes) io.stderr.write(`warning UNSUPPORTED_BY_TARGET: ${n.rule}: ${n.message}\n`)
  const out = values['out']
  if (typeof out === 'string') writeFileSync(resolve(io.cwd, out), result.text)
  else io.stdout.write(result.text)
  return EXIT_OK
}
