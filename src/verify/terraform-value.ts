/**
 * @module Terraform values as the audit evaluates them: null, bool, number, string, lists (and
 * tuples) as arrays, sets as `TfSet`, maps and objects as `Map`. Lists and tuples, maps and objects
 * are not told apart: the expressions rule files use behave the same on both.
 *
 * Order is Terraform's (go-cty's): maps and objects iterate by key in lexical order (Terraform's
 * `keys` function: "The keys are returned in lexicographical order"), Go's byte order, which is
 * code point order; sets of strings in that order, of numbers numerically, false before true;
 * sets of other values in cty's "consistent-but-undefined" order (`setRules.Less`), for which the
 * audit keeps the written order: it only changes which of several rules in one collection is
 * named as the match, never what is allowed.
 */

export type TfValue = null | boolean | number | string | readonly TfValue[] | TfSet | TfMap | TfUnknown
export type TfMap = ReadonlyMap<string, TfValue>

/**
 * A value the audit cannot know (a variable without a default, an attribute known only after
 * apply), inside a collection whose other parts are known: as in Terraform (go-cty's unknown
 * values), a map of rules with one unknown address still has its keys, so the blocks it generates
 * are expanded, and only what reads the unknown part is left out, with this reason.
 */
export class TfUnknown {
  readonly reason: string
  constructor(reason: string) {
    this.reason = reason
  }
}

export class TfSet {
  readonly items: readonly TfValue[]
  constructor(items: readonly TfValue[]) {
    this.items = items
  }
}

/**
 * A resource instance: its `id` and `name`, which the file gives; any other attribute is known only
 * after apply, which reading it says (an unknown, not an error that `try` would skip).
 */
export class TfResource extends Map<string, TfValue> {
  readonly address: string
  constructor(address: string, entries: ReadonlyArray<readonly [string, TfValue]>) {
    super(entries)
    this.address = address
  }
}

/** The result of evaluating: a value, or why not. */
export type Evaluated =
  | { readonly ok: true; readonly value: TfValue }
  | {
      readonly ok: false
      readonly reason: string
      /**
       * True when the value exists but the audit cannot know it (an unsupported expression, a value
       * known only after apply): `try` must not skip it. False when Terraform itself would fail
       * here (a missing attribute, an index out of range): `try` and `can` catch that.
       */
      readonly unknown: boolean
    }

export function ok(value: TfValue): Evaluated {
  return { ok: true, value }
}

export function failed(reason: string): Evaluated {
  return { ok: false, reason, unknown: false }
}

export function unknown(reason: string): Evaluated {
  return { ok: false, reason, unknown: true }
}

/** How deeply values may nest: they come from an untrusted file, and the functions recurse. */
export const MAX_VALUE_DEPTH = 128

export function isMap(v: TfValue): v is TfMap {
  return v instanceof Map
}

export function isList(v: TfValue): v is readonly TfValue[] {
  return Array.isArray(v)
}

export function typeName(v: TfValue): string {
  if (v instanceof TfUnknown) return 'unknown value'
  if (v === null) return 'null'
  if (typeof v === 'boolean') return 'bool'
  if (typeof v === 'number') return 'number'
  if (typeof v === 'string') return 'string'
  if (v instanceof TfSet) return 'set'
  if (isList(v)) return 'list'
  return 'object'
}

/** Go's string order (bytes of UTF-8), which is code point order; JS `<` compares UTF-16 units. */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!
    const y = b.codePointAt(i)!
    if (x !== y) return x - y
    if (x > 0xffff) i++
  }
  return a.length - b.length
}

/** A map's entries in Terraform's order: by key, lexically. */
export function sortedEntries(m: TfMap): Array<[string, TfValue]> {
  return [...m.entries()].sort((a, b) => compareKeys(a[0], b[0]))
}

/** A primitive as a string, the way Terraform converts it; undefined for the others. */
export function primitiveText(v: TfValue): string | undefined {
  if (typeof v === 'string') return v
  if (typeof v === 'number') return numberText(v)
  if (typeof v === 'boolean') return v ? 'true' : 'false'
  return undefined
}

/** Numbers as Terraform prints them: integers without a fraction, no exponent for common sizes. */
export function numberText(n: number): string {
  return Number.isInteger(n) && Math.abs(n) < 1e21 ? n.toFixed(0) : String(n)
}

/** A string as a number, when it is one in HCL's syntax; undefined otherwise. */
export function parseNumber(s: string): number | undefined {
  if (!/^-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$/.test(s)) return undefined
  return Number(s)
}

/** Terraform's `==`: the same type and value, deeply. */
export function valueEquals(a: TfValue, b: TfValue): boolean {
  return a === b || canonicalKey(a) === canonicalKey(b)
}

/**
 * A string that two values share exactly when they are equal: sets and maps are written in their
 * sorted order. Linear in the size of the value, so that deduplicating a set stays linear too.
 */
export function canonicalKey(v: TfValue, depth = 0): string {
  if (depth > MAX_VALUE_DEPTH) return '…'
  if (v === null) return 'z'
  if (typeof v === 'string') return `s${JSON.stringify(v)}`
  if (typeof v === 'number') return `n${String(v)}`
  if (typeof v === 'boolean') return v ? 'bt' : 'bf'
  if (v instanceof TfUnknown) return 'u'
  if (v instanceof TfSet) return `S[${v.items.map((x) => canonicalKey(x, depth + 1)).sort().join(',')}]`
  if (isList(v)) return `L[${v.map((x) => canonicalKey(x, depth + 1)).join(',')}]`
  return `M{${sortedEntries(v)
    .map(([k, x]) => `${JSON.stringify(k)}:${canonicalKey(x, depth + 1)}`)
    .join(',')}}`
}

/**
 * Elements of one collection made to share a type, as Terraform does for `tolist`, `toset` and
 * `tomap`: mixed primitives become strings (the `toset` page: `toset(["a", "b", 3])` is
 * `["3", "a", "b"]`). Other mixes are kept as they are.
 */
export function unifyPrimitives(items: readonly TfValue[]): readonly TfValue[] {
  let kinds = 0
  for (const v of items) {
    if (typeof v === 'string') kinds |= 1
    else if (typeof v === 'number') kinds |= 2
    else if (typeof v === 'boolean') kinds |= 4
    else if (v !== null) return items
  }
  if (kinds === 1 || kinds === 2 || kinds === 4 || kinds === 0) return items
  return items.map((v) => (v === null ? null : (primitiveText(v) ?? v)))
}

/** A set of the items: unified, without duplicates, in Terraform's order (see the module comment). */
export function makeSet(items: readonly TfValue[]): TfSet {
  const unified = unifyPrimitives(items)
  const out: TfValue[] = []
  const seen = new Set<string>()
  for (const v of unified) {
    const key = canonicalKey(v)
    if (seen.has(key)) continue
    seen.add(key)
    out.push(v)
  }
  const first = out.find((v) => v !== null)
  if (typeof first === 'string' && out.every((v) => typeof v === 'string')) out.sort((a, b) => compareKeys(a, b))
  else if (typeof first === 'number' && out.every((v) => typeof v === 'number')) out.sort((a, b) => a - b)
  else if (typeof first === 'boolean' && out.every((v) => typeof v === 'boolean')) out.sort((a, b) => Number(a) - Number(b))
  return new TfSet(out)
}

/** The first unknown part of a value, if any (a value already charged to the evaluation budget). */
export function findUnknown(v: TfValue, depth = 0): TfUnknown | undefined {
  if (v instanceof TfUnknown) return v
  if (depth > MAX_VALUE_DEPTH || v === null || typeof v !== 'object') return undefined
  const children = v instanceof TfSet ? v.items : isList(v) ? v : [...v.values()]
  for (const c of children) {
    const u = findUnknown(c, depth + 1)
    if (u !== undefined) return u
  }
  return undefined
}

/** The elements of a list, tuple or set; undefined for other values. */
export function elementsOf(v: TfValue): readonly TfValue[] | undefined {
  if (isList(v)) return v
  if (v instanceof TfSet) return v.items
  return undefined
}

/** A bool, or a string Terraform converts to one. */
export function asBool(v: TfValue): boolean | undefined {
  if (typeof v === 'boolean') return v
  return v === 'true' ? true : v === 'false' ? false : undefined
}

export function asNumber(v: TfValue): number | undefined {
  if (typeof v === 'number') return v
  return typeof v === 'string' ? parseNumber(v) : undefined
}
