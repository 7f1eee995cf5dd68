/**
 * @module The Terraform functions the audit evaluates (TERRAFORM_FUNCTIONS), with Terraform's
 * semantics (developer.hashicorp.com/terraform/language/functions): `toset` sorts and unifies,
 * `keys` and `values` go by key in lexical order, `flatten` goes through nested lists and sets,
 * `merge` skips null. `try` and `can`, which look at how their arguments fail, are in the
 * evaluator. Arguments arrive evaluated and charged to the evaluation budget (their whole size),
 * so each function here is at most linear in them.
 */
import {
  asNumber,
  canonicalKey,
  elementsOf,
  failed,
  isList,
  isMap,
  makeSet,
  MAX_VALUE_DEPTH,
  ok,
  primitiveText,
  sortedEntries,
  TfResource,
  typeName,
  unifyPrimitives,
  unknown,
  type Evaluated,
  type TfValue,
} from './terraform-value.ts'

/** Functions whose result depends on every part of their arguments (how long a flattened list is, which elements are equal). */
export const MUST_BE_WHOLLY_KNOWN: ReadonlySet<string> = new Set(['toset', 'flatten', 'distinct', 'coalesce'])

type TfFunction = (args: TfValue[]) => Evaluated

function arity(args: readonly TfValue[], min: number, max = min): string | undefined {
  if (args.length < min || args.length > max) return `takes ${min === max ? min : `${min} to ${max}`} arguments, not ${args.length}`
  return undefined
}

function flattenInto(v: TfValue, out: TfValue[], depth: number): boolean {
  if (depth > MAX_VALUE_DEPTH) return false
  const items = elementsOf(v)
  if (items === undefined) {
    out.push(v)
    return true
  }
  for (const x of items) if (!flattenInto(x, out, depth + 1)) return false
  return true
}

/** The functions the audit evaluates, with Terraform's semantics (developer.hashicorp.com/terraform/language/functions). */
export const TERRAFORM_FUNCTIONS: Readonly<Record<string, TfFunction>> = {
  toset: (args) => {
    const bad = arity(args, 1)
    if (bad !== undefined) return failed(bad)
    const v = args[0] ?? null
    if (v === null) return ok(null)
    const items = elementsOf(v)
    return items === undefined ? failed(`a ${typeName(v)} is not a list or set`) : ok(makeSet(items))
  },
  tolist: (args) => {
    const bad = arity(args, 1)
    if (bad !== undefined) return failed(bad)
    const v = args[0] ?? null
    if (v === null) return ok(null)
    const items = elementsOf(v)
    return items === undefined ? failed(`a ${typeName(v)} is not a list or set`) : ok(unifyPrimitives(items))
  },
  tomap: (args) => {
    const bad = arity(args, 1)
    if (bad !== undefined) return failed(bad)
    const v = args[0] ?? null
    if (v === null) return ok(null)
    if (!isMap(v)) return failed(`a ${typeName(v)} is not an object or map`)
    const keys = [...v.keys()]
    const values = unifyPrimitives([...v.values()])
    return ok(new Map(keys.map((k, i) => [k, values[i]!])))
  },
  tostring: (args) => {
    const bad = arity(args, 1)
    if (bad !== undefined) return failed(bad)
    const v = args[0] ?? null
    if (v === null) return ok(null)
    const s = primitiveText(v)
    return s === undefined ? failed(`a ${typeName(v)} is not a string`) : ok(s)
  },
  tonumber: (args) => {
    const bad = arity(args, 1)
    if (bad !== undefined) return failed(bad)
    const v = args[0] ?? null
    if (v === null) return ok(null)
    const n = asNumber(v)
    return n === undefined ? failed(`${JSON.stringify(v)} is not a number`) : ok(n)
  },
  flatten: (args) => {
    const bad = arity(args, 1)
    if (bad !== undefined) return failed(bad)
    const v = args[0]!
    if (elementsOf(v) === undefined) return failed(`a ${typeName(v)} is not a list`)
    const out: TfValue[] = []
    return flattenInto(v, out, 0) ? ok(out) : failed('the list nests too deeply')
  },
  concat: (args) => {
    const out: TfValue[] = []
    for (const a of args) {
      if (!isList(a)) return failed(`a ${typeName(a)} is not a list`)
      // Not push(...a): spreading a long list overflows the stack.
      for (const x of a) out.push(x)
    }
    return ok(out)
  },
  merge: (args) => {
    const out = new Map<string, TfValue>()
    for (const a of args) {
      if (a === null) continue
      if (!isMap(a)) return failed(`a ${typeName(a)} is not an object or map`)
      for (const [k, v] of a) out.set(k, v)
    }
    return ok(out)
  },
  lookup: (args) => {
    const bad = arity(args, 2, 3)
    if (bad !== undefined) return failed(bad)
    const [m, key] = args
    if (m === undefined || m === null || !isMap(m)) return failed(`a ${typeName(m ?? null)} is not an object or map`)
    const k = primitiveText(key ?? null)
    if (k === undefined) return failed('the key is not a string')
    const v = m.get(k)
    if (v !== undefined) return ok(v)
    if (m instanceof TfResource) return unknown(`${m.address}.${k} is a resource attribute, known only after apply`)
    return args.length === 3 ? ok(args[2]!) : failed(`there is no key "${k}" and no default`)
  },
  keys: (args) => {
    const bad = arity(args, 1)
    if (bad !== undefined) return failed(bad)
    const m = args[0]!
    return isMap(m) ? ok(sortedEntries(m).map(([k]) => k)) : failed(`a ${typeName(m)} is not an object or map`)
  },
  values: (args) => {
    const bad = arity(args, 1)
    if (bad !== undefined) return failed(bad)
    const m = args[0]!
    return isMap(m) ? ok(sortedEntries(m).map(([, v]) => v)) : failed(`a ${typeName(m)} is not an object or map`)
  },
  length: (args) => {
    const bad = arity(args, 1)
    if (bad !== undefined) return failed(bad)
    const v = args[0]!
    const items = elementsOf(v)
    if (items !== undefined) return ok(items.length)
    if (isMap(v)) return ok(v.size)
    // Terraform counts a string's characters as grapheme clusters.
    if (typeof v === 'string') return ok([...new Intl.Segmenter('en', { granularity: 'grapheme' }).segment(v)].length)
    return failed(`a ${typeName(v)} has no length`)
  },
  coalesce: (args) => {
    for (const a of args) if (a !== null && a !== '') return ok(a)
    return failed('every argument is null or ""')
  },
  distinct: (args) => {
    const bad = arity(args, 1)
    if (bad !== undefined) return failed(bad)
    const v = args[0]!
    if (!isList(v)) return failed(`a ${typeName(v)} is not a list`)
    const seen = new Set<string>()
    return ok(
      v.filter((x) => {
        const k = canonicalKey(x)
        if (seen.has(k)) return false
        seen.add(k)
        return true
      }),
    )
  },
  lower: (args) => {
    const bad = arity(args, 1)
    if (bad !== undefined) return failed(bad)
    const v = args[0]!
    return typeof v === 'string' ? ok(v.toLowerCase()) : failed(`a ${typeName(v)} is not a string`)
  },
  upper: (args) => {
    const bad = arity(args, 1)
    if (bad !== undefined) return failed(bad)
    const v = args[0]!
    return typeof v === 'string' ? ok(v.toUpperCase()) : failed(`a ${typeName(v)} is not a string`)
  },
}

/** The names of the functions evaluated (for the documentation and the tests). */
export const EVALUATED_FUNCTIONS: readonly string[] = ['try', 'can', ...Object.keys(TERRAFORM_FUNCTIONS)].sort()
