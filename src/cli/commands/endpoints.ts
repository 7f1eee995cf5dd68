/**
 * @module `aks-egress endpoints [PROFILE] [--output table|json|yaml|csv|markdown]`: the catalog
 * entries a profile needs (DESIGN.md §8).
 */
import { stringify } from 'yaml'
import { loadEdition, listEditions } from '../../catalog/load-catalog.ts'
import { missingParameterDiagnostics, resolveEndpoints, type ResolvedEndpoint } from '../../catalog/profile.ts'
import { regionsOf } from '../../catalog/regions.ts'
import { CLOUDS } from '../../catalog/catalog-types.ts'
import { renderDiagnostics } from '../../diagnostics/render-diagnostic.ts'
import { formatCsv, formatMarkdown, formatTable } from '../format-table.ts'
import { EXIT_OK, UsageError, type Io } from '../io.ts'
import { formatOptionHelp, parseOptions, PROFILE_OPTIONS, profileInputOf, type OptionSpecs } from '../parse-options.ts'
import { profileFromOptions } from '../profile-from-options.ts'

const OUTPUTS = ['table', 'json', 'yaml', 'csv', 'markdown'] as const
type Output = (typeof OUTPUTS)[number]

const OPTIONS: OptionSpecs = {
  ...PROFILE_OPTIONS,
  output: { type: 'string', short: 'o', value: 'FORMAT', help: `Output format: ${OUTPUTS.join(', ')} (default: table)` },
}

export function endpointsHelp(): string {
  const names = listEditions()
  const editionHelp = names
    .map((name) => {
      const e = loadEdition(name)
      const rec = e.features.filter((f) => f.category === 'recommended').map((f) => f.name)
      const add = e.features.filter((f) => f.category === 'addon').map((f) => f.name)
      return `  ${name}${name === names.at(-1) ? ' (latest)' : ''}\n    add-ons:     ${add.join(', ')}\n    recommended: ${rec.join(', ')} (on unless --no-recommended)`
    })
    .join('\n')
  const regions = CLOUDS.map((c) => `  ${c}: ${regionsOf(c).join(' ')}`).join('\n')
  return `Usage: aks-egress endpoints [PROFILE] [--output FORMAT]

Lists the ports and FQDNs the nodes of a cluster with this profile must reach: the required
entries, the recommended sets, and the add-ons named with --features.

Options:
${formatOptionHelp(OPTIONS)}

Catalog editions and their feature names:
${editionHelp}

Regions:
${wrap(regions)}

Exit codes: 0 listed; 2 bad usage or a bad profile.
`
}

function wrap(text: string, width = 100): string {
  return text
    .split('\n')
    .map((line) => {
      const out: string[] = []
      let cur = ''
      for (const word of line.split(' ')) {
        if (cur.length + word.length + 1 > width && cur.trim() !== '') {
          out.push(cur)
          cur = `    ${word}`
        } else cur = cur === '' ? word : `${cur} ${word}`
      }
      out.push(cur)
      return out.join('\n')
    })
    .join('\n')
}

/** The JSON form of an endpoint (DESIGN.md §8), with the entry's id, kind and notes added. */
export function endpointJson(e: ResolvedEndpoint, cloud: string): Record<string, unknown> {
  return {
    target: e.target,
    protocols: [...e.entry.protocols],
    category: e.category,
    purpose: e.entry.purpose,
    cloud,
    id: e.entry.id,
    kind: e.entry.kind,
    ...(e.missing.length > 0 ? { missing: [...e.missing] } : {}),
    ...(e.entry.condition ? { condition: e.entry.condition } : {}),
    ...(e.alternatives.length > 0 ? { alternatives: [...e.alternatives] } : {}),
    ...(e.entry.note ? { note: e.entry.note } : {}),
    section: e.entry.section,
  }
}

export function runEndpoints(argv: readonly string[], io: Io): number {
  const { values } = parseOptions(argv, OPTIONS, false)
  if (values['help'] === true) {
    io.stdout.write(endpointsHelp())
    return EXIT_OK
  }
  const output = (values['output'] ?? 'table') as string
  if (!(OUTPUTS as readonly string[]).includes(output)) {
    throw new UsageError(`--output "${output}" is not one of ${OUTPUTS.join(', ')}`)
  }
  const profile = profileFromOptions(profileInputOf(values), io)
  const endpoints = resolveEndpoints(profile)
  const warnings = missingParameterDiagnostics(endpoints)
  io.stdout.write(render(output as Output, endpoints, profile.cloud, io))
  if (warnings.length > 0) io.stderr.write(`${renderDiagnostics(warnings)}\n`)
  return EXIT_OK
}

function render(output: Output, endpoints: readonly ResolvedEndpoint[], cloud: string, io: Io): string {
  const rows = endpoints.map((e) => [
    e.target,
    e.entry.protocols.join(', '),
    e.category,
    `${e.entry.purpose.replace(/\s+/g, ' ')}${e.entry.condition ? ` (${e.entry.condition})` : ''}`,
  ])
  switch (output) {
    case 'json':
      return `${JSON.stringify(endpoints.map((e) => endpointJson(e, cloud)), null, 2)}\n`
    case 'yaml':
      return stringify(endpoints.map((e) => endpointJson(e, cloud)), { lineWidth: 0 })
    case 'csv':
      return formatCsv(
        ['target', 'protocols', 'category', 'purpose', 'cloud', 'id'],
        endpoints.map((e) => [e.target, e.entry.protocols.join(' '), e.category, e.entry.purpose.replace(/\s+/g, ' '), cloud, e.entry.id]),
      )
    case 'markdown':
      return formatMarkdown(['FQDN / address', 'Ports', 'Category', 'Purpose'], rows)
    case 'table':
      return formatTable(['TARGET', 'PORTS', 'CATEGORY', 'PURPOSE'], rows, { width: io.stdout.isTTY ? io.stdout.columns : undefined })
  }
}
