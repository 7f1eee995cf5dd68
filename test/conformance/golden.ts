// The golden files of the exporters: test/golden/<case>/<target>.<ext> is each target's output for
// each policy case, and <target>.diagnostics.txt what it reported (one message a line), so that a
// change of output is a reviewable diff. `npm run golden:accept:export` rewrites them.
import { EXPORTERS } from '../../src/export/registry.ts'
import { POLICY_CASES } from './policy-cases.ts'

export const GOLDEN_DIR = new URL('../golden/', import.meta.url)

/** Every golden file, by its path under test/golden/, with its expected content. */
export function goldenFiles(): Map<string, string> {
  const files = new Map<string, string>()
  for (const c of POLICY_CASES) {
    const policy = c.policy()
    for (const e of EXPORTERS) {
      const result = e.export(policy, c.options)
      files.set(`${c.name}/${e.name}.${e.extension}`, result.text)
      files.set(`${c.name}/${e.name}.diagnostics.txt`, result.diagnostics.map((d) => `${d.severity} ${d.code}: ${d.message}${d.fix === undefined ? '' : `\n  fix: ${d.fix}`}\n`).join(''))
    }
  }
  return files
}
