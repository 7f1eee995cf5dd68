/**
 * @module A checked profile from the PROFILE options, or a usage error listing every problem.
 */
import { checkProfile, type Profile, type ProfileInput } from '../catalog/profile.ts'
import { hasErrors } from '../diagnostics/diagnostic.ts'
import { renderDiagnostics } from '../diagnostics/render-diagnostic.ts'
import { InputError, type Io } from './io.ts'
import { PROFILE_FLAG } from './parse-options.ts'

export function profileFromOptions(input: ProfileInput, io: Io): Profile {
  const { profile, diagnostics } = checkProfile(input, { label: (f) => PROFILE_FLAG[f] })
  if (hasErrors(diagnostics) || !profile) throw new InputError(diagnostics)
  if (diagnostics.length > 0) io.stderr.write(`${renderDiagnostics(diagnostics)}\n`)
  return profile
}
