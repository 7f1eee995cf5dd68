/**
 * @module Does a policy allow a whole wildcard pattern (`*.hcp.westeurope.azmk8s.io`), not just
 * one name of it? A required pattern is a set of names; the rules carve it into regions, each
 * decided by the first rule (in processing order) whose pattern matches there. One decision per
 * region is enough, and the regions are few: their borders are the rule patterns themselves.
 *
 * So the audit decides a small set of sample names (`coverageSamples`):
 * - one generic name, `aks-egress-probe-7f3a.<base>`: a label no rule names, so it falls in the
 *   region no narrower pattern reaches (exact names, deeper wildcards, `*tail.` suffixes: the
 *   label's ending is varied until no such pattern matches it); its decision is the one the bulk
 *   of the pattern gets;
 * - one witness per rule pattern that cuts into the required pattern without covering it: a name
 *   in both (the exact name, `aks-egress-probe-7f3a.<deeper base>`, or the suffix itself); its
 *   decision is the one that narrower region gets.
 * Patterns are left-wildcards only (exact, `*.base`, `*suffix`, `*`), so two patterns are either
 * disjoint, nested, or meet in a set some single witness stands for. A union of rule patterns never
 * covers an infinite pattern unless one of them does alone: the generic name escapes every pattern
 * that does not cover the whole. All samples allowed ⇔ the whole pattern is allowed.
 */
import { matchFqdnPattern, type FqdnPattern } from '../policy/fqdn-pattern.ts'

/** A label no real rule names (RFC 1035 letters, digits and hyphens). */
export const PROBE_LABEL = 'aks-egress-probe-7f3a'

export interface Sample {
  readonly name: string
  /** `generic` for the bulk of the pattern; else the rule pattern whose region this name stands for. */
  readonly region: string
}

function suffixOf(p: Extract<FqdnPattern, { kind: 'suffix' }>): string {
  return p.base === '' ? p.tail : `${p.tail}.${p.base}`
}

/** True when every name `inner` matches is matched by `outer`. */
export function patternCovers(outer: FqdnPattern, inner: FqdnPattern): boolean {
  if (outer.kind === 'any') return true
  switch (inner.kind) {
    case 'any':
      return false
    case 'exact':
      return matchFqdnPattern(outer, inner.name)
    case 'subdomain':
      if (outer.kind === 'subdomain') return inner.base === outer.base || inner.base.endsWith(`.${outer.base}`)
      if (outer.kind === 'suffix') return inner.base.endsWith(suffixOf(outer))
      return false
    case 'suffix': {
      const s = suffixOf(inner)
      if (outer.kind === 'suffix') return s.endsWith(suffixOf(outer))
      // `*.base` covers `*tail.x` only when every name ending in `tail.x` has a label before
      // `.base`: the suffix itself must end with `.base`.
      if (outer.kind === 'subdomain') return s.endsWith(`.${outer.base}`)
      return false
    }
  }
}

/** The generic name of a required pattern: in it, and matched by no narrower pattern. */
export function genericName(p: FqdnPattern): string | undefined {
  switch (p.kind) {
    case 'exact':
      return p.name
    case 'subdomain':
      return `${PROBE_LABEL}.${p.base}`
    case 'suffix':
      return `${PROBE_LABEL.replace(/-/g, '')}${suffixOf(p)}`
    case 'any':
      return undefined
  }
}

/** A name both patterns match, when `rule` cuts into `required` without covering it. */
export function witness(required: FqdnPattern, rule: FqdnPattern): string | undefined {
  if (patternCovers(rule, required)) return undefined
  switch (rule.kind) {
    case 'any':
      return undefined
    case 'exact':
      return matchFqdnPattern(required, rule.name) ? rule.name : undefined
    case 'subdomain': {
      const name = `${PROBE_LABEL}.${rule.base}`
      if (matchFqdnPattern(required, name)) return name
      // `*.x` meets `*tail.y` in the suffix itself when the suffix lies under `x`.
      if (required.kind === 'suffix') {
        const s = suffixOf(required)
        if (s.endsWith(`.${rule.base}`)) return s
      }
      return undefined
    }
    case 'suffix': {
      const s = suffixOf(rule)
      if (matchFqdnPattern(required, s)) return s
      const longer = `${PROBE_LABEL.replace(/-/g, '')}${s}`
      return matchFqdnPattern(required, longer) ? longer : undefined
    }
  }
}

/**
 * A generic name that no non-covering rule pattern matches. `*tail.x` rules match any leftmost
 * label ending in `tail`, so the probe label's ending is varied until it escapes them all.
 */
function escapingGeneric(required: FqdnPattern, narrower: readonly FqdnPattern[]): string | undefined {
  const first = genericName(required)
  if (first === undefined || required.kind === 'exact' || required.kind === 'any') return first
  for (let k = 0; k < 64; k++) {
    const label = k === 0 ? PROBE_LABEL : `${PROBE_LABEL}-${k.toString(36)}q${k}`
    const name = required.kind === 'subdomain' ? `${label}.${required.base}` : `${label.replace(/-/g, '')}${suffixOf(required)}`
    if (!narrower.some((p) => matchFqdnPattern(p, name))) return name
  }
  return first
}

/** The names to decide for a required pattern, given every FQDN pattern the policy's rules name. */
export function coverageSamples(required: FqdnPattern, rulePatterns: Iterable<FqdnPattern>): Sample[] {
  const all = [...rulePatterns]
  const generic = escapingGeneric(
    required,
    all.filter((p) => !patternCovers(p, required)),
  )
  if (generic === undefined) return []
  const out: Sample[] = [{ name: generic, region: 'generic' }]
  if (required.kind === 'exact') return out
  const seen = new Set([generic])
  for (const p of all) {
    const w = witness(required, p)
    if (w === undefined || seen.has(w)) continue
    seen.add(w)
    out.push({ name: w, region: p.text })
  }
  return out
}
