// `nft -c -f` of a compiled ruleset, honest about kernels without flowtables.
//
// On a kernel built without nf_flow_table (CONFIG_NF_FLOW_TABLE unset, as on the CI machine's
// 6.18), nft parses the flowtable declaration and the `flow add` statement, and the kernel answers
// "Could not process rule: No such file or directory" for exactly those lines. Syntax errors are
// reported by nft's own parser ("syntax error, ..."), before the kernel is asked. So on such a
// kernel a ruleset passes when (1) its only errors are that kernel answer on the flowtable lines
// and (2) the same ruleset without those two lines (what `flowtable: false` compiles, checked by
// the golden test) passes in full. On a kernel with flowtables the ruleset must pass as it is.
import { FLOW_OFFLOAD_RULE, flowtableProbe } from '../../src/dataplane/nftables/flowtable.ts'

export type RunNft = (argv: readonly string[], input: string) => { readonly status: number | null; readonly stderr: string }

const KERNEL_LACKS = 'Error: Could not process rule: No such file or directory'

function isFlowtableLine(line: string): boolean {
  return line.trimStart().startsWith('flowtable ft {') || line.includes('flow add @ft')
}

/** The ruleset without its flowtable lines (the fallback serve applies on such a kernel). */
export function withoutFlowtable(text: string): string {
  return text
    .split('\n')
    .filter((l) => !l.trimStart().startsWith('flowtable ft {') && l.trim() !== FLOW_OFFLOAD_RULE)
    .join('\n')
}

/** Whether this kernel can make a flowtable at all (check mode: nothing is committed). */
export function kernelHasFlowtable(run: RunNft): boolean {
  return run(['nft', '-c', '-f', '-'], flowtableProbe(undefined)).status === 0
}

/** Problems `nft -c` finds in `text` (none: valid), by the rule of the module comment. */
export function nftCheckProblems(run: RunNft, text: string): string[] {
  const r = run(['nft', '-c', '-f', '-'], text)
  if (r.status === 0) return []
  const problem = r.stderr.trim() || `nft -c exited ${String(r.status)}`
  if (kernelHasFlowtable(run)) return [problem]
  const lines = text.split('\n')
  const errors = r.stderr.split('\n').filter((l) => l.includes('Error:'))
  const onlyFlowtable = errors.length > 0 && errors.every((e) => {
    const at = /^\/dev\/stdin:(\d+):/.exec(e)
    return e.includes(KERNEL_LACKS) && at !== null && isFlowtableLine(lines[Number(at[1]) - 1] ?? '')
  })
  if (!onlyFlowtable) return [problem]
  const fallback = run(['nft', '-c', '-f', '-'], withoutFlowtable(text))
  return fallback.status === 0 ? [] : [`without the flowtable: ${fallback.stderr.trim()}`]
}
