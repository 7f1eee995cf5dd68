/**
 * @module The policy a command works on: `--policy FILE`, or the default policy of the PROFILE
 * options (the one `policy init` writes). Shared by explain, serve, export, audit and logs.
 */
import { resolve } from 'node:path'
import { resolveEndpoints, missingParameterDiagnostics } from '../catalog/profile.ts'
import { loadPolicyFile } from '../config/load-policy.ts'
import { hasErrors } from '../diagnostics/diagnostic.ts'
import { renderDiagnostics } from '../diagnostics/render-diagnostic.ts'
import { buildDefaultPolicy } from '../policy/default-policy.ts'
import type { Policy } from '../policy/policy-model.ts'
import { InputError, UsageError, type Io } from './io.ts'
import { hasProfileOptions, profileInputOf, type ParsedOptions } from './parse-options.ts'
import { profileFromOptions } from './profile-from-options.ts'

export interface PolicySource {
  readonly policy: Policy
  /** How to name it to the user: the file, or "the default policy of the profile". */
  readonly label: string
}

export function policyFromOptions(values: ParsedOptions['values'], io: Io): PolicySource {
  const file = values['policy']
  if (typeof file === 'string') {
    if (hasProfileOptions(values)) {
      throw new UsageError('Give either --policy FILE or PROFILE options, not both', 'the policy file has its own profile: section')
    }
    const loaded = loadPolicyFile(resolve(io.cwd, file), file)
    if (hasErrors(loaded.diagnostics) || !loaded.policy) {
      throw new InputError(loaded.diagnostics, loaded.source ? new Map([[file, loaded.source]]) : undefined)
    }
    if (loaded.diagnostics.length > 0) io.stderr.write(`${renderDiagnostics(loaded.diagnostics, loaded.source ? new Map([[file, loaded.source]]) : undefined)}\n`)
    return { policy: loaded.policy, label: file }
  }
  const profile = profileFromOptions(profileInputOf(values), io)
  const endpoints = resolveEndpoints(profile)
  const def = buildDefaultPolicy(profile, endpoints)
  const omitted = missingParameterDiagnostics(def.omitted)
  if (omitted.length > 0) io.stderr.write(`${renderDiagnostics(omitted)}\n`)
  return { policy: def.policy, label: `the default policy of ${profile.cloud}${profile.location ? `/${profile.location}` : ''} (catalog ${profile.catalog})` }
}
