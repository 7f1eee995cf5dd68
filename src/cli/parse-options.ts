/**
 * @module Option parsing for every command, on `util.parseArgs` (strict: an unknown option is an
 * error with a "did you mean"), plus the PROFILE options every command shares (DESIGN.md §8).
 */
import { parseArgs } from 'node:util'
import type { ProfileInput } from '../catalog/profile.ts'
import { didYouMean } from '../util/did-you-mean.ts'
import { UsageError } from './io.ts'

export interface OptionSpec {
  readonly type: 'string' | 'boolean'
  readonly multiple?: boolean
  readonly short?: string
  /** Shown in help: `--output FORMAT  Output format (table, json)`. */
  readonly value?: string
  readonly help: string
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>

export const PROFILE_OPTIONS: OptionSpecs = {
  cloud: { type: 'string', value: 'CLOUD', help: 'Azure cloud: public, china or usgov (default: public)' },
  location: { type: 'string', value: 'REGION', help: 'Region of the cluster, e.g. westeurope (substitutes <location>)' },
  catalog: { type: 'string', value: 'EDITION', help: 'Catalog edition: 2019-11, 2026-06 or latest (default: latest)' },
  features: { type: 'string', multiple: true, value: 'NAME[,NAME...]', help: 'Add-ons to include (see the list below)' },
  'no-recommended': { type: 'boolean', help: 'Leave out the recommended sets (ubuntu-updates)' },
  'api-server': { type: 'string', value: 'IP', help: 'The API server IP (for the network rules to it)' },
  'node-cidr': { type: 'string', multiple: true, value: 'CIDR', help: 'Node subnet, the source of the rules (repeatable)' },
  'dns-server': { type: 'string', value: 'IP', help: 'Custom DNS server of the nodes (UDP 53 rule)' },
  'dev-spaces-fqdn': { type: 'string', value: 'FQDN', help: 'Azure Dev Spaces data-plane FQDN (2019-11 dev-spaces add-on)' },
}

const PROFILE_KEYS = Object.keys(PROFILE_OPTIONS)

export interface ParsedOptions {
  readonly values: Readonly<Record<string, string | boolean | string[] | undefined>>
  readonly positionals: readonly string[]
}

/** Parses argv against the specs; `--help`/`-h` is always accepted. Throws UsageError. */
export function parseOptions(argv: readonly string[], specs: OptionSpecs, allowPositionals: boolean): ParsedOptions {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = { help: { type: 'boolean', short: 'h' } }
  for (const [name, s] of Object.entries(specs)) {
    options[name] = { type: s.type, ...(s.multiple ? { multiple: true } : {}), ...(s.short ? { short: s.short } : {}) }
  }
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options, allowPositionals, strict: true })
    return { values: values as ParsedOptions['values'], positionals }
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e)
    const unknown = /Unknown option '(-{1,2}[^']+)'/.exec(message)?.[1]
    if (unknown) {
      const guess = didYouMean(unknown.replace(/^-+/, ''), Object.keys(specs))
      throw new UsageError(`Unknown option ${unknown}`, guess ? `did you mean --${guess}?` : 'see --help for the options')
    }
    const needsValue = /^Option '(?:-[^ ,']+, )?--([^ ']+) <value>' argument missing/.exec(message)?.[1]
    if (needsValue !== undefined) {
      throw new UsageError(`Option --${needsValue} needs a value`, `write --${needsValue} ${specs[needsValue]?.value ?? 'VALUE'}`)
    }
    const positional = /Unexpected argument '([^']+)'/.exec(message)?.[1]
    if (positional) throw new UsageError(`Unexpected argument "${positional}"`, 'see --help for the usage')
    throw new UsageError(message.replace(/\.$/, ''), 'see --help for the options')
  }
}

/** `--output` of the commands that print a table or JSON lines (default table). Throws UsageError. */
export function tableOrJson(values: ParsedOptions['values']): 'table' | 'json' {
  const output = values['output'] ?? 'table'
  if (output !== 'table' && output !== 'json') throw new UsageError(`--output "${String(output)}" is not table or json`, 'write --output table or --output json')
  return output
}

/** Whether any PROFILE option was given. */
export function hasProfileOptions(values: ParsedOptions['values']): boolean {
  return PROFILE_KEYS.some((k) => values[k] !== undefined)
}

function listValue(v: string | boolean | string[] | undefined): string[] | undefined {
  if (v === undefined || typeof v === 'boolean') return undefined
  const items = Array.isArray(v) ? v : [v]
  return items.flatMap((x) => x.split(',')).map((x) => x.trim()).filter((x) => x.length > 0)
}

function stringValue(v: string | boolean | string[] | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined
}

/** The ProfileInput of the PROFILE options. */
export function profileInputOf(values: ParsedOptions['values']): ProfileInput {
  return {
    cloud: stringValue(values['cloud']),
    location: stringValue(values['location']),
    catalog: stringValue(values['catalog']),
    features: listValue(values['features']),
    recommended: values['no-recommended'] === true ? false : undefined,
    apiServerIp: stringValue(values['api-server']),
    nodeCidrs: listValue(values['node-cidr']),
    dnsServerIp: stringValue(values['dns-server']),
    devSpacesFqdn: stringValue(values['dev-spaces-fqdn']),
  }
}

/** How each profile field is named on the command line, for diagnostics. */
export const PROFILE_FLAG: Readonly<Record<keyof ProfileInput, string>> = {
  cloud: '--cloud',
  location: '--location',
  catalog: '--catalog',
  features: '--features',
  recommended: '--no-recommended',
  apiServerIp: '--api-server',
  nodeCidrs: '--node-cidr',
  dnsServerIp: '--dns-server',
  devSpacesFqdn: '--dev-spaces-fqdn',
}

/** Help text of option specs, aligned. */
export function formatOptionHelp(specs: OptionSpecs): string {
  const rows = Object.entries(specs).map(([name, s]) => [`--${name}${s.value ? ` ${s.value}` : ''}`, s.help] as const)
  const width = Math.max(...rows.map(([left]) => left.length))
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`).join('\n')
}
