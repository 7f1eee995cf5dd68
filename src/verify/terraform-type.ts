/**
 * @module Terraform type constraints (`variable "x" { type = ... }`) and the conversion Terraform
 * applies to a variable's value. It matters to the audit: converting to an object type drops
 * attributes the type does not name and sets the missing `optional(...)` ones to null or to their
 * default (go-cty `conversionObjectToObject`; Terraform's optional attribute defaults), so
 * `try(rule.value.ports, ["443"])` and `lookup(...)` see what Terraform sees.
 *
 *     type = string | number | bool | any | list | map             (list, map: of any)
 *          | list(type) | set(type) | map(type) | tuple([type, ...])
 *          | object({ NAME = type | optional(type) | optional(type, DEFAULT), ... })
 */
import type { HclExpr } from './hcl-expression.ts'
import {
  elementsOf,
  failed,
  findUnknown,
  isMap,
  makeSet,
  MAX_VALUE_DEPTH,
  ok,
  parseNumber,
  primitiveText,
  TfUnknown,
  typeName,
  unifyPrimitives,
  type Evaluated,
  type TfValue,
} from './terraform-value.ts'

export type TfType =
  | { readonly kind: 'string' | 'number' | 'bool' | 'any' }
  | { readonly kind: 'list' | 'set' | 'map'; readonly element: TfType }
  | { readonly kind: 'tuple'; readonly elements: readonly TfType[] }
  | { readonly kind: 'object'; readonly attributes: ReadonlyMap<string, ObjectAttribute> }

export interface ObjectAttribute {
  readonly type: TfType
  readonly optional: boolean
  /** The default of `optional(type, default)`, already evaluated. */
  readonly default?: TfValue
}

/** Whether Terraform reads a `-var` value of this type as HCL (collections) or as a plain string. */
export function isPrimitiveType(t: TfType | undefined): boolean {
  return t === undefined || t.kind === 'string' || t.kind === 'number' || t.kind === 'bool'
}

/**
 * Reads a type constraint. `evaluate` evaluates an optional attribute's default (a constant).
 *
 * @example
 * parseTypeConstraint(parse('list(string)'), ev) // { ok: true, type: { kind: 'list', element: { kind: 'string' } } }
 */
export function parseTypeConstraint(e: HclExpr, evaluate: (e: HclExpr) => Evaluated, depth = 0): { ok: true; type: TfType } | { ok: false; reason: string } {
  const bad = (why: string): { ok: false; reason: string } => ({ ok: false, reason: `the type constraint ${why}` })
  if (depth > MAX_VALUE_DEPTH) return bad('nests too deeply')
  if (e.kind === 'template' && e.parts.length === 1 && typeof e.parts[0] !== 'string') return parseTypeConstraint(e.parts[0]!, evaluate, depth)
  // Terraform 0.11's quoted types: "string", "list", "map".
  if (e.kind === 'literal' && typeof e.value === 'string') return parseTypeConstraint({ kind: 'name', name: e.value }, evaluate, depth)
  if (e.kind === 'name') {
    switch (e.name) {
      case 'string':
      case 'number':
      case 'bool':
      case 'any':
        return { ok: true, type: { kind: e.name } }
      case 'list':
      case 'map':
        return { ok: true, type: { kind: e.name, element: { kind: 'any' } } }
      default:
        return bad(`names an unknown type "${e.name}"`)
    }
  }
  if (e.kind !== 'call' || e.args.length < 1) return bad('is not a type')
  const arg = e.args[0]!
  switch (e.name) {
    case 'list':
    case 'set':
    case 'map': {
      const element = parseTypeConstraint(arg, evaluate, depth + 1)
      return element.ok ? { ok: true, type: { kind: e.name, element: element.type } } : element
    }
    case 'tuple': {
      if (arg.kind !== 'tuple') return bad('tuple() needs a list of types')
      const elements: TfType[] = []
      for (const x of arg.items) {
        const t = parseTypeConstraint(x, evaluate, depth + 1)
        if (!t.ok) return t
        elements.push(t.type)
      }
      return { ok: true, type: { kind: 'tuple', elements } }
    }
    case 'object': {
      if (arg.kind !== 'object') return bad('object() needs an object of types')
      const attributes = new Map<string, ObjectAttribute>()
      for (const item of arg.items) {
        if (item.key.kind !== 'literal' || typeof item.key.value !== 'string') return bad('has an object attribute whose name is not a name')
        let v = item.value
        let optional = false
        let dflt: HclExpr | undefined
        if (v.kind === 'call' && v.name === 'optional' && v.args.length >= 1) {
          optional = true
          dflt = v.args[1]
          v = v.args[0]!
        }
        const t = parseTypeConstraint(v, evaluate, depth + 1)
        if (!t.ok) return t
        if (dflt === undefined) {
          attributes.set(item.key.value, { type: t.type, optional })
          continue
        }
        const d = evaluate(dflt)
        if (!d.ok) return bad(`has a default for "${item.key.value}" that cannot be evaluated: ${d.reason}`)
        const converted = convertToType(d.value, t.type, depth + 1)
        if (!converted.ok) return bad(`has a default for "${item.key.value}" of the wrong type: ${converted.reason}`)
        attributes.set(item.key.value, { type: t.type, optional, default: converted.value })
      }
      return { ok: true, type: { kind: 'object', attributes } }
    }
    default:
      return bad(`uses "${e.name}(...)", which is not a type`)
  }
}

/**
 * Converts a value to a type as Terraform converts a variable's value: primitives to each other
 * where the text allows, collections element by element, objects to the attributes the type names.
 */
export function convertToType(v: TfValue, t: TfType, depth = 0): Evaluated {
  if (depth > MAX_VALUE_DEPTH) return failed('the value nests too deeply')
  // Unknown stays unknown, of the wanted type.
  if (v === null || v instanceof TfUnknown) return ok(v)
  const mismatch = (): Evaluated => failed(`a ${typeName(v)} is not a ${t.kind}`)
  switch (t.kind) {
    case 'any':
      return ok(v)
    case 'string': {
      const s = primitiveText(v)
      return s === undefined ? mismatch() : ok(s)
    }
    case 'number': {
      if (typeof v === 'number') return ok(v)
      const n = typeof v === 'string' ? parseNumber(v) : undefined
      return n === undefined ? mismatch() : ok(n)
    }
    case 'bool': {
      if (typeof v === 'boolean') return ok(v)
      return v === 'true' || v === 'false' ? ok(v === 'true') : mismatch()
    }
    case 'list':
    case 'set': {
      const items = elementsOf(v)
      if (items === undefined) return mismatch()
      const out: TfValue[] = []
      for (const x of items) {
        const c = convertToType(x, t.element, depth + 1)
        if (!c.ok) return c
        out.push(c.value)
      }
      const unified = t.element.kind === 'any' ? unifyPrimitives(out) : out
      if (t.kind !== 'set') return ok(unified)
      // Which elements of a set are equal cannot be known while a part is unknown.
      const u = findUnknown(unified)
      return ok(u ?? makeSet(unified))
    }
    case 'tuple': {
      const items = elementsOf(v)
      if (items?.length !== t.elements.length) return mismatch()
      const out: TfValue[] = []
      for (let i = 0; i < items.length; i++) {
        const c = convertToType(items[i]!, t.elements[i]!, depth + 1)
        if (!c.ok) return c
        out.push(c.value)
      }
      return ok(out)
    }
    case 'map': {
      if (!isMap(v)) return mismatch()
      const keys: string[] = []
      const values: TfValue[] = []
      for (const [k, x] of v) {
        const c = convertToType(x, t.element, depth + 1)
        if (!c.ok) return c
        keys.push(k)
        values.push(c.value)
      }
      const unified = t.element.kind === 'any' ? unifyPrimitives(values) : values
      return ok(new Map(keys.map((k, i) => [k, unified[i]!])))
    }
    case 'object': {
      if (!isMap(v)) return mismatch()
      const out = new Map<string, TfValue>()
      for (const [name, attr] of t.attributes) {
        const x = v.get(name)
        if (x === undefined && !attr.optional) return failed(`attribute "${name}" is required`)
        // Terraform uses the default for an optional attribute that is absent or null.
        if (x === undefined || x === null) {
          out.set(name, attr.default ?? null)
          continue
        }
        const c = convertToType(x, attr.type, depth + 1)
        if (!c.ok) return failed(`attribute "${name}": ${c.reason}`)
        out.set(name, c.value)
      }
      return ok(out)
    }
  }
}
