/**
 * @module `aks-egress policy init|validate|schema` (DESIGN.md §8).
 */
import { existsSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { resolveEndpoints } from '../../catalog/profile.ts'
import { loadPolicyFile } from '../../config/load-policy.ts'
import { policyJsonSchema } from '../../config/policy-schema.ts'
import { writeDefaultPolicy } from '../../config/write-policy.ts'
import { hasErrors } from '../../diagnostics/diagnostic.ts'
import { renderDiagnostics } from '../../diagnostics/render-diagnostic.ts'
import { missingParameterDiagnostics } from '../../catalog/profile.ts'
import { buildDefaultPolicy } from '../../policy/default-policy.ts'
import { EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, UsageError, type Io } from '../io.ts'
import { formatOptionHelp, parseOptions, PROFILE_OPTIONS, profileInputOf, type OptionSpecs } from '../parse-options.ts'
import { profileFromOptions } from '../profile-from-options.ts'

const INIT_OPTIONS: OptionSpecs = {
  ...PROFILE_OPTIONS,
  out: { type: 'string', value: 'FILE', help: 'Write the policy to FILE instead of standard output' },
  force: { type: 'boolean', help: 'Overwrite FILE if it exists' },
}

export const POLICY_HELP = `Usage:
  aks-egress policy init [PROFILE] [--out FILE] [--force]
  aks-egress policy validate FILE...
  aks-egress policy schema

init      Writes a complete, commented policy for the profile: as written it allows exactly what
          the catalog requires and denies the rest.
validate  Checks policy files and prints every problem with file:line:column and the fix.
          Exit 0 when they are valid (warnings allowed), 1 when one has an error, 2 on bad usage.
schema    Prints the JSON Schema of the policy file, for editor completion.

Options of init:
${formatOptionHelp(INIT_OPTIONS)}
`

export function runPolicy(argv: readonly string[], io: Io): number {
  const [sub, ...rest] = argv
  switch (sub) {
    case 'init':
      return runInit(rest, io)
    case 'validate':
      return runValidate(rest, io)
    case 'schema': {
      const { values } = parseOptions(rest, {}, false)
      if (values['help'] === true) {
        io.stdout.write(POLICY_HELP)
        return EXIT_OK
      }
      io.stdout.write(`${JSON.stringify(policyJsonSchema(), null, 2)}\n`)
      return EXIT_OK
    }
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      io.stdout.write(POLICY_HELP)
      return sub === undefined ? EXIT_USAGE : EXIT_OK
    default:
      throw new UsageError(`Unknown policy command "${sub}"`, 'use init, validate or schema')
  }
}

function runInit(argv: readonly string[], io: Io): number {
  const { values } = parseOptions(argv, INIT_OPTIONS, false)
  if (values['help'] === true) {
    io.stdout.write(POLICY_HELP)
    return EXIT_OK
  }
  const profile = profileFromOptions(profileInputOf(values), io)
  const endpoints = resolveEndpoints(profile)
  const def = buildDefaultPolicy(profile, endpoints)
  const command = ['aks-egress policy init', ...argv.filter((a, i) => !(a === '--out' || argv[i - 1] === '--out' || a.startsWith('--out=') || a === '--force'))].join(' ')
  const text = writeDefaultPolicy(def, { command })
  const out = values['out']
  if (typeof out === 'string') {
    const path = resolve(io.cwd, out)
    if (existsSync(path) && values['force'] !== true) throw new UsageError(`"${out}" exists`, 'give --force to overwrite it, or another --out')
    writeFileSync(path, text, { mode: 0o644 })
    io.stderr.write(`Wrote ${out}: ${def.policy.ruleCollectionGroups.reduce((n, g) => n + g.ruleCollections.reduce((m, c) => m + c.rules.length, 0), 0)} rules for ${endpoints.length - def.omitted.length} of ${endpoints.length} endpoints.\n`)
  } else {
    io.stdout.write(text)
  }
  const omitted = missingParameterDiagnostics(def.omitted)
  if (omitted.length > 0) io.stderr.write(`${renderDiagnostics(omitted)}\n`)
  return EXIT_OK
}

function runValidate(argv: readonly string[], io: Io): number {
  const { values, positionals } = parseOptions(argv, {}, true)
  if (values['help'] === true) {
    io.stdout.write(POLICY_HELP)
    return EXIT_OK
  }
  if (positionals.length === 0) throw new UsageError('policy validate needs at least one FILE')
  let failed = false
  let unreadable = false
  for (const file of positionals) {
    const loaded = loadPolicyFile(resolve(io.cwd, file), file)
    const diagnostics = loaded.diagnostics
    const sources = new Map(loaded.source ? [[file, loaded.source]] : [])
    if (diagnostics.length > 0) io.stderr.write(`${renderDiagnostics(diagnostics, sources)}\n`)
    if (hasErrors(diagnostics)) {
      failed = true
      if (diagnostics.some((d) => d.code === 'FILE_UNREADABLE')) unreadable = true
      continue
    }
    const p = loaded.policy
    const rules = p ? p.ruleCollectionGroups.reduce((n, g) => n + g.ruleCollections.reduce((m, c) => m + c.rules.length, 0), 0) : 0
    const n = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? '' : 's'}`
    io.stdout.write(`${file}: valid (${n(p?.ruleCollectionGroups.length ?? 0, 'group')}, ${n(rules, 'rule')}${diagnostics.length > 0 ? `, ${n(diagnostics.length, 'warning')}` : ''})\n`)
  }
  if (unreadable) return EXIT_USAGE
  return failed ? EXIT_PROBLEM : EXIT_OK
}
