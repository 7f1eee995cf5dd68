/**
 * @module FQDN patterns of application rules and network rules (DESIGN.md §2), with Azure
 * Firewall's wildcard semantics (azure-docs firewall-faq.yml, "How do wildcards work in target
 * URLs and target FQDNs"):
 *
 *   pattern   := "*" | "*." name | "*" label-tail "." name | "*" label-tail | name
 *   name      := a host name in normal form (see fqdn.ts)
 *   label-tail:= one or more of [a-z0-9_-]
 *
 * - `a.b.com`   exact: only `a.b.com`.
 * - `*.b.com`   subdomain: any name with one or more labels left of `b.com`; never `b.com` itself
 *               ("*.contoso.com ... NOT contoso.com").
 * - `*b.com`    suffix: the name ends with the string `b.com`: `b.com`, `xb.com`, `a.xb.com`.
 *               Azure matches "literally anything to the left", look-alikes included, so it is
 *               accepted with a warning.
 * - `*`         every name.
 * A `*` anywhere else (`www.*.com`, `www.contoso.*`, `a*.b.com`, `**.b.com`) is rejected, as Azure
 * rejects it. Matching compares labels and suffixes (`matchFqdnPattern` here; the engine's hash
 * index in fqdn-index.ts; the trie in fqdn-trie.ts for the DNS proxy and nftables sets), never a
 * regular expression.
 */
import { checkNormalName, normalizeName, type NameProblem } from './fqdn.ts'

export type FqdnPattern =
  | { readonly kind: 'exact'; readonly text: string; readonly name: string }
  | { readonly kind: 'subdomain'; readonly text: string; readonly base: string }
  /** `*tail.base`: the leftmost label ends with `tail`, then `.base` (base may be empty). */
  | { readonly kind: 'suffix'; readonly text: string; readonly tail: string; readonly base: string }
  | { readonly kind: 'any'; readonly text: '*' }

export type PatternProblem = NameProblem | 'wildcard-position' | 'wildcard-double'

export type ParsedPattern =
  | { readonly ok: true; readonly pattern: FqdnPattern; readonly normal: string }
  | { readonly ok: false; readonly problem: PatternProblem; readonly detail: string; readonly suggestion?: string }

/**
 * Parses a pattern as a person wrote it. On success `normal` is the pattern in normal form; the
 * caller reports a non-normal input (`normal !== input`) with `normal` as the fix.
 */
export function parseFqdnPattern(input: string): ParsedPattern {
  if (input === '*') return { ok: true, pattern: { kind: 'any', text: '*' }, normal: '*' }
  const star = input.indexOf('*')
  if (star === -1) {
    const n = normalizeName(input)
    if (!n.ok) return { ok: false, problem: n.problem, detail: n.detail }
    return { ok: true, pattern: { kind: 'exact', text: n.name, name: n.name }, normal: n.name }
  }
  if (input.startsWith('**')) {
    const rest = input.replace(/^\*+/, '')
    return {
      ok: false,
      problem: 'wildcard-double',
      detail: `"${input}" has more than one "*"; "*." already matches subdomains of any depth`,
      suggestion: `*${rest.startsWith('.') ? '' : '.'}${rest}`,
    }
  }
  if (star !== 0 || input.indexOf('*', 1) !== -1) {
    return {
      ok: false,
      problem: 'wildcard-position',
      detail: `"${input}" has a "*" that is not the left-most character; Azure Firewall supports a wildcard only on the left`,
      ...suggestLeftWildcard(input),
    }
  }
  const rest = input.slice(1)
  if (rest.startsWith('.')) {
    const n = normalizeName(rest.slice(1))
    if (!n.ok) return { ok: false, problem: n.problem, detail: n.detail }
    const text = `*.${n.name}`
    return { ok: true, pattern: { kind: 'subdomain', text, base: n.name }, normal: text }
  }
  // `*tail.base` or `*tail`: the tail is the end of the leftmost label. It may start with "-"
  // (`*-mirror.azureedge.net`): the label it ends has at least one more character on its left.
  let trimmed = rest
  if (trimmed.endsWith('.')) trimmed = trimmed.slice(0, -1)
  const dot = trimmed.indexOf('.')
  const tailText = dot === -1 ? trimmed : trimmed.slice(0, dot)
  const tail = tailText.toLowerCase()
  for (let i = 0; i < tail.length; i++) {
    const c = tail.charCodeAt(i)
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f
    if (!ok) return { ok: false, problem: 'bad-character', detail: `character ${JSON.stringify(tail[i])} is not allowed in "${input}"` }
  }
  if (tail.length > 62) return { ok: false, problem: 'label-too-long', detail: `the label "${tail}" of "${input}" is too long` }
  if (tail.endsWith('-')) return { ok: false, problem: 'hyphen-edge', detail: `label "${tail}" of "${input}" ends with "-"` }
  let base = ''
  if (dot !== -1) {
    const n = normalizeName(trimmed.slice(dot + 1))
    if (!n.ok) return { ok: false, problem: n.problem, detail: n.detail }
    base = n.name
  }
  const text = `*${tail}${base === '' ? '' : `.${base}`}`
  return { ok: true, pattern: { kind: 'suffix', text, tail, base }, normal: text }
}

/** For `www.*.contoso.com` or `www.contoso.*`: the nearest pattern Azure accepts. */
function suggestLeftWildcard(input: string): { suggestion?: string } {
  const labels = input.split('.')
  const lastStar = labels.map((l) => l.includes('*')).lastIndexOf(true)
  const right = labels.slice(lastStar + 1).join('.')
  // Suggest only a wildcard over a registrable-looking domain (two labels or more), never "*.com".
  if (!right.includes('.') || checkNormalName(right.toLowerCase()) !== undefined) return {}
  return { suggestion: `*.${right.toLowerCase()}` }
}

/**
 * The reference matcher: is the normal-form `name` matched by `pattern`? Straightforward string
 * comparisons, used by the naive evaluators that check the compiled indexes.
 */
export function matchFqdnPattern(pattern: FqdnPattern, name: string): boolean {
  switch (pattern.kind) {
    case 'any':
      return name.length > 0
    case 'exact':
      return name === pattern.name
    case 'subdomain':
      return name.length > pattern.base.length + 1 && name.endsWith(`.${pattern.base}`)
    case 'suffix': {
      const suffix = pattern.base === '' ? pattern.tail : `${pattern.tail}.${pattern.base}`
      return name.endsWith(suffix)
    }
  }
}

/** True when a pattern matches more than one registrable domain's worth of names (`*.com`, `*`). */
export function isBroadPattern(pattern: FqdnPattern): boolean {
  switch (pattern.kind) {
    case 'any':
      return true
    case 'exact':
      return false
    case 'subdomain':
      return !pattern.base.includes('.')
    case 'suffix':
      return pattern.base === '' || !pattern.base.includes('.')
  }
}
