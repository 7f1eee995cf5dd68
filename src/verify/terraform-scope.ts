/**
 * @module The names a Terraform expression can refer to, in one file: `var.NAME` (the value given
 * with --var, else the default, converted to the declared type as Terraform converts it),
 * `local.NAME`, resources (through a resolver the importer gives), and, nested inside those,
 * `each` and `count` of a resource instance and the iterator of a `dynamic` block.
 *
 * Variables and locals are evaluated once, on first use. A local that refers to itself, or
 * references nested deeper than MAX_REFERENCE_DEPTH, is an unknown with that reason.
 */
import { parseHclExpression } from './hcl-expression.ts'
import type { TerraformEvaluator, TfScope } from './terraform-evaluate.ts'
import { convertToType, isPrimitiveType, parseTypeConstraint, type TfType } from './terraform-type.ts'
import { ok, unknown, type Evaluated, type TfValue } from './terraform-value.ts'

type Obj = Record<string, unknown>

/** How many variables and locals may refer to each other in a chain. */
export const MAX_REFERENCE_DEPTH = 32

/** A scope that knows no names: variable defaults and `--var` values are constants. */
const EMPTY_SCOPE: TfScope = { root: () => undefined }

export interface ModuleInput {
  readonly evaluator: TerraformEvaluator
  /** `variable "NAME" { ... }` bodies, by name (hcl2json). */
  readonly variables: ReadonlyMap<string, Obj>
  /** Every `locals` attribute (hcl2json), by name. */
  readonly locals: ReadonlyMap<string, unknown>
  /** `--var NAME=VALUE`. */
  readonly vars: ReadonlyMap<string, string>
  /**
   * The value of resource `TYPE.NAME` (an instance, or instances by key or index); undefined when
   * the audit does not model that resource type, whose attributes are then known only after apply.
   */
  readonly resource: (type: string, name: string) => Evaluated | undefined
}

/** Roots that are not values in a rule file, and why. */
const NOT_EVALUATED: Readonly<Record<string, string>> = {
  data: 'a data source is read only when Terraform plans',
  module: "a module's outputs are not in this file",
  path: 'paths depend on where Terraform runs',
  terraform: 'terraform.workspace depends on where Terraform runs',
  self: 'self is known only in provisioners',
  each: 'each.key and each.value exist only in a resource with for_each',
  count: 'count.index exists only in a resource with count',
}

/**
 * The scope of the file's top level.
 *
 * @example
 * moduleScope(input).root('var', ['location']) // { result: { ok: true, value: 'westeurope' }, used: 1 }
 */
export function moduleScope(input: ModuleInput): TfScope {
  const { evaluator } = input
  const values = new Map<string, Evaluated>()
  const pending = new Set<string>()
  let depth = 0

  const once = (key: string, compute: () => Evaluated): Evaluated => {
    const done = values.get(key)
    if (done !== undefined) return done
    if (pending.has(key)) return unknown(`${key} refers to itself`)
    if (depth >= MAX_REFERENCE_DEPTH) return unknown(`references nest more than ${MAX_REFERENCE_DEPTH} deep`)
    pending.add(key)
    depth++
    try {
      const r = compute()
      values.set(key, r)
      return r
    } finally {
      depth--
      pending.delete(key)
    }
  }

  const variable = (name: string): Evaluated => {
    const block = input.variables.get(name)
    let type: TfType | undefined
    if (block?.['type'] !== undefined) {
      const raw = block['type']
      const parsed = typeof raw === 'string' ? evaluator.parse(raw) : undefined
      const t = parsed?.ok === true ? parseTypeConstraint(parsed.expr, (e) => evaluator.expression(e, EMPTY_SCOPE)) : undefined
      if (t?.ok !== true) return unknown(`variable "${name}": ${t?.reason ?? 'its type constraint cannot be read'}`)
      type = t.type
    }
    const given = input.vars.get(name)
    let value: Evaluated
    if (given !== undefined) {
      // As Terraform reads -var: a plain string for primitive (or no) types, HCL for the others.
      if (isPrimitiveType(type)) value = ok(given)
      else {
        const parsed = parseHclExpression(given)
        value = parsed.ok ? evaluator.expression(parsed.expr, EMPTY_SCOPE) : unknown(`--var ${name}: ${parsed.reason}`)
      }
    } else if (block !== undefined && 'default' in block) value = evaluator.json(block['default'], EMPTY_SCOPE)
    else return unknown(`variable "${name}" has no default (give --var ${name}=VALUE)`)
    if (!value.ok) return unknown(`variable "${name}": ${value.reason}`)
    if (type === undefined) return value
    const converted = convertToType(value.value, type)
    return converted.ok ? converted : unknown(`variable "${name}" does not match its type: ${converted.reason}`)
  }

  const scope: TfScope = {
    root(name, attributes) {
      const first = attributes[0]
      if (name === 'var' || name === 'local') {
        if (first === undefined) return { result: unknown(`"${name}" alone is not a value`), used: 0 }
        if (name === 'var') return { result: once(`var.${first}`, () => variable(first)), used: 1 }
        const raw = input.locals.get(first)
        if (raw === undefined) return { result: unknown(`local "${first}" is not defined in this file`), used: 1 }
        return { result: once(`local.${first}`, () => evaluator.json(raw, scope)), used: 1 }
      }
      const why = Object.hasOwn(NOT_EVALUATED, name) ? NOT_EVALUATED[name] : undefined
      if (why !== undefined) return { result: unknown(why), used: 0 }
      if (first === undefined || !name.includes('_')) return undefined
      const r = input.resource(name, first)
      if (r !== undefined) return { result: r, used: 1 }
      const shown = [name, ...attributes.slice(0, 2)].join('.')
      return { result: unknown(`${shown} is a resource attribute, known only after apply`), used: Math.min(2, attributes.length) }
    },
  }
  return scope
}

/** A scope inside a `dynamic` block: `NAME.key` and `NAME.value` of the current element. */
export function iterationScope(parent: TfScope, name: string, key: TfValue, value: TfValue): TfScope {
  const iterator = ok(
    new Map<string, TfValue>([
      ['key', key],
      ['value', value],
    ]),
  )
  return { root: (n, attributes) => (n === name ? { result: iterator, used: 0 } : parent.root(n, attributes)) }
}

/** A scope inside one instance of a resource with `for_each` (`each`) or `count`. */
export function instanceScope(parent: TfScope, instance: { readonly each: { key: string; value: TfValue } } | { readonly count: number }): TfScope {
  const [name, value] =
    'each' in instance
      ? ([
          'each',
          new Map<string, TfValue>([
            ['key', instance.each.key],
            ['value', instance.each.value],
          ]),
        ] as const)
      : (['count', new Map<string, TfValue>([['index', instance.count]])] as const)
  const result = ok(value)
  return { root: (n, attributes) => (n === name ? { result, used: 0 } : parent.root(n, attributes)) }
}
