/**
 * @module Loading a policy: from a file (YAML or JSON), or from a profile alone (its default
 * policy), and compiling it into an engine with the profile's FQDN tag expansion.
 */
import { readFileSync } from 'node:fs'
import { basename, extname } from 'node:path'
import { aksFqdnTagNames, resolveEndpoints } from '../catalog/profile.ts'
import { diagnostic, hasErrors, type Diagnostic } from '../diagnostics/diagnostic.ts'
import { SourceText } from '../diagnostics/render-diagnostic.ts'
import { compilePolicy, type Engine } from '../policy/compile-policy.ts'
import type { Policy } from '../policy/policy-model.ts'
import { checkPolicy } from './check-policy.ts'
import { POLICY_SPEC } from './policy-schema.ts'
import { readDocument } from './read-document.ts'

/** The largest policy file read, in bytes: far above 100,000 rules, and a bound all the same. */
export const MAX_POLICY_BYTES = 64 * 1024 * 1024

export interface LoadedPolicy {
  /** Present when the file has no error (it may have warnings). */
  readonly policy?: Policy
  readonly diagnostics: readonly Diagnostic[]
  readonly source?: SourceText
}

/** Checks policy text. `file` is the name diagnostics carry. */
export function loadPolicyText(text: string, file: string): LoadedPolicy {
  const source = new SourceText(file, text)
  const read = readDocument(text, file, POLICY_SPEC)
  if (hasErrors(read.diagnostics) && read.value === undefined) return { diagnostics: read.diagnostics, source }
  const defaultName = basename(file, extname(file)).replace(/[^A-Za-z0-9_.-]/g, '-') || 'policy'
  const checked = checkPolicy(read.value, read.spans, file, defaultName)
  const diagnostics = sortDiagnostics([...read.diagnostics, ...checked.diagnostics])
  if (hasErrors(diagnostics) || !checked.policy) return { diagnostics, source }
  return { policy: checked.policy, diagnostics, source }
}

/** Reads and checks a policy file; `name` is how diagnostics name it (default: the path). */
export function loadPolicyFile(path: string, name: string = path): LoadedPolicy {
  let text: string
  try {
    const buf = readFileSync(path)
    if (buf.length > MAX_POLICY_BYTES) {
      return { diagnostics: [diagnostic('FILE_UNREADABLE', { message: `Policy file "${name}" has ${buf.length} bytes; at most ${MAX_POLICY_BYTES} are read`, file: name })] }
    }
    text = buf.toString('utf8')
  } catch (e) {
    const reason = e instanceof Error && 'code' in e ? String(e.code) : String(e)
    return {
      diagnostics: [
        diagnostic('FILE_UNREADABLE', {
          message: `Cannot read policy file "${name}": ${reason}`,
          file: name,
          fix: reason === 'ENOENT' ? 'check the path; "aks-egress policy init" writes a starting policy' : undefined,
        }),
      ],
    }
  }
  return loadPolicyText(text, name)
}

function sortDiagnostics(list: Diagnostic[]): Diagnostic[] {
  return list
    .map((d, i) => ({ d, i }))
    .sort((a, b) => (a.d.span?.start ?? -1) - (b.d.span?.start ?? -1) || a.i - b.i)
    .map((x) => x.d)
}

/** The FQDN tags a policy's profile expands to. */
export function fqdnTagsFor(policy: Policy): Record<string, readonly string[]> {
  if (!policy.profile) return {}
  return { AzureKubernetesService: aksFqdnTagNames(resolveEndpoints(policy.profile)) }
}

/** Compiles a checked policy, expanding its FQDN tags from its profile. */
export function engineFor(policy: Policy): Engine {
  return compilePolicy(policy, { fqdnTags: fqdnTagsFor(policy) })
}
