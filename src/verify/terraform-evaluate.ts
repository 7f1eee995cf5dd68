/**
 * @module Evaluates Terraform expressions (parsed by `hcl-expression.ts`) to values, for the forms
 * rule files use: references (`var.x`, `local.x`, `each.key`, `count.index`, a `dynamic` block's
 * iterator, `azurerm_ip_group.x.id`), attribute and index access, literals, templates, `? :`,
 * comparison, logic and arithmetic, `try` and `can`, and the functions of
 * `terraform-functions.ts`. Anything else is an unknown with its reason, never a guess.
 *
 * Two kinds of failure are kept apart (`Evaluated.unknown`): Terraform's own errors (a missing
 * attribute, an index out of range), which `try` and `can` catch as Terraform does, and values the
 * audit cannot know (a `for` expression, an attribute known only after apply), which they must not
 * catch: `try(azurerm_x.y.attr, "default")` is not "default" in Terraform, it is unknown until
 * apply.
 *
 * Work is bounded: every step costs from a budget shared by one import, so that references that
 * double a value at each level (`local.b = [local.a, local.a]`) cannot run away.
 */
import { parseHclJsonString, type HclExpr } from './hcl-expression.ts'
import { MUST_BE_WHOLLY_KNOWN, TERRAFORM_FUNCTIONS } from './terraform-functions.ts'
import {
  asBool,
  asNumber,
  elementsOf,
  failed,
  findUnknown,
  isList,
  isMap,
  MAX_VALUE_DEPTH,
  ok,
  primitiveText,
  TfResource,
  TfSet,
  TfUnknown,
  typeName,
  unknown,
  valueEquals,
  type Evaluated,
  type TfValue,
} from './terraform-value.ts'

/** The names an expression can start from. */
export interface TfScope {
  /**
   * The value a reference starts from, given its root name and the attribute names that follow
   * it (`var.rules.x` gives `var` and `["rules", "x"]`), and how many of those it used (`var.NAME`
   * uses one, an iterator none). Undefined when the name is not known here.
   */
  root(name: string, attributes: readonly string[]): { readonly result: Evaluated; readonly used: number } | undefined
}

/**
 * The evaluation steps one import may take, plus two per byte of the file (a large file written
 * out takes that many): enough for any file expanded to MAX_TERRAFORM_BLOCKS blocks, and a stop
 * for values that double at each reference.
 */
export const MAX_EVALUATION_STEPS = 20_000_000

/** The longest string a template may build: far above any name, address or FQDN. */
export const MAX_STRING_LENGTH = 1_000_000

/** Evaluates expressions; one per import, with the budget and the parsed strings it shares. */
export class TerraformEvaluator {
  #steps: number
  readonly #maxSteps: number
  readonly #parsed = new Map<string, { ok: true; expr: HclExpr } | { ok: false; reason: string }>()

  constructor(maxSteps = MAX_EVALUATION_STEPS) {
    this.#steps = maxSteps
    this.#maxSteps = maxSteps
  }

  /**
   * Evaluates a value as hcl2json gives it: strings are templates, arrays tuples, objects maps
   * (keys may be templates too).
   *
   * @example
   * evaluator.json('g-${each.key}', scope) // { ok: true, value: 'g-east' }
   */
  json(raw: unknown, scope: TfScope): Evaluated {
    return known(this.#json(raw, scope, 0))
  }

  /** Whether the budget ran out: every evaluation from then on is an unknown with that reason. */
  get exhausted(): boolean {
    return this.#steps < 0
  }

  /** Evaluates a parsed expression. An unknown result is a failure; unknown parts stay in the value. */
  expression(e: HclExpr, scope: TfScope): Evaluated {
    return known(this.#expr(e, scope))
  }

  #json(raw: unknown, scope: TfScope, depth: number): Evaluated {
    // A scalar written as a literal costs nothing, so that a file whose budget ran out (in some
    // runaway reference) still has its plain priorities and names read.
    if (raw === null || typeof raw === 'boolean' || typeof raw === 'number') return ok(raw)
    if (typeof raw === 'string' && !raw.includes('$') && !raw.includes('%')) return ok(raw)
    if (!this.#spend(1)) return this.#exhausted()
    if (depth > MAX_VALUE_DEPTH) return unknown('the value nests too deeply')
    if (typeof raw === 'string') {
      const parsed = this.parse(raw)
      return parsed.ok ? this.#expr(parsed.expr, scope) : unknown(`it cannot be read (${parsed.reason})`)
    }
    if (Array.isArray(raw)) {
      const out: TfValue[] = []
      for (const x of raw as unknown[]) {
        // Each element costs: a literal list inside a generated block is read once per block.
        if (!this.#spend(1)) return this.#exhausted()
        const r = this.#json(x, scope, depth + 1)
        const v = part(r)
        if (v === undefined) return r
        out.push(v)
      }
      return ok(out)
    }
    if (typeof raw === 'object') {
      const out = new Map<string, TfValue>()
      for (const [k, x] of Object.entries(raw)) {
        if (!this.#spend(1)) return this.#exhausted()
        const key = k.includes('${') ? this.#json(k, scope, depth + 1) : ok(k)
        if (!key.ok) return key
        const name = primitiveText(key.value)
        if (name === undefined) return failed(`an object key is a ${typeName(key.value)}, not a string`)
        const r = this.#json(x, scope, depth + 1)
        const v = part(r)
        if (v === undefined) return r
        out.set(name, v)
      }
      return ok(out)
    }
    return unknown('it is not a value')
  }

  /** Parses an hcl2json string once; the same text is evaluated once per expanded block. */
  parse(raw: string): { ok: true; expr: HclExpr } | { ok: false; reason: string } {
    let p = this.#parsed.get(raw)
    if (p === undefined) {
      p = parseHclJsonString(raw)
      this.#parsed.set(raw, p)
    }
    return p
  }

  #expr(e: HclExpr, scope: TfScope): Evaluated {
    if (!this.#spend(1)) return this.#exhausted()
    switch (e.kind) {
      case 'literal':
        return ok(e.value)
      case 'template':
        return this.#template(e.parts, scope)
      case 'tuple': {
        const out: TfValue[] = []
        for (const x of e.items) {
          const r = this.#expr(x, scope)
          const v = part(r)
          if (v === undefined) return r
          out.push(v)
        }
        return ok(out)
      }
      case 'object': {
        const out = new Map<string, TfValue>()
        for (const item of e.items) {
          const k = known(this.#expr(item.key, scope))
          if (!k.ok) return k
          const name = primitiveText(k.value)
          if (name === undefined) return failed(`an object key is a ${typeName(k.value)}, not a string`)
          const r = this.#expr(item.value, scope)
          const v = part(r)
          if (v === undefined) return r
          out.set(name, v)
        }
        return ok(out)
      }
      case 'name':
      case 'attr':
      case 'index':
        return this.#traversal(e, scope)
      case 'call':
        return this.#call(e.name, e.args, e.expand, scope)
      case 'conditional': {
        const test = known(this.#expr(e.test, scope))
        if (!test.ok) return test
        const b = asBool(test.value)
        if (b === undefined) return failed(`the condition of "? :" is a ${typeName(test.value)}, not a bool`)
        return this.#expr(b ? e.then : e.otherwise, scope)
      }
      case 'unary': {
        const r = known(this.#expr(e.operand, scope))
        if (!r.ok) return r
        if (e.op === '!') {
          const b = asBool(r.value)
          return b === undefined ? failed(`"!" needs a bool, not a ${typeName(r.value)}`) : ok(!b)
        }
        const n = asNumber(r.value)
        return n === undefined ? failed(`"-" needs a number, not a ${typeName(r.value)}`) : ok(-n)
      }
      case 'binary':
        return this.#binary(e.op, e.left, e.right, scope)
      case 'unsupported':
        return unknown(`${e.what} is not evaluated by the audit`)
    }
  }

  #spend(n: number): boolean {
    this.#steps -= n
    return this.#steps >= 0
  }

  #exhausted(): Evaluated {
    return unknown(`evaluating the file takes more than ${this.#maxSteps} steps`)
  }

  #template(parts: ReadonlyArray<string | HclExpr>, scope: TfScope): Evaluated {
    // A template that is one interpolation and nothing else gives the value itself (HCL spec).
    const only = parts[0]
    if (parts.length === 1 && only !== undefined && typeof only !== 'string') return this.#expr(only, scope)
    let out = ''
    for (const p of parts) {
      if (typeof p === 'string') {
        out += p
        continue
      }
      const r = known(this.#expr(p, scope))
      if (!r.ok) return r
      const s = primitiveText(r.value)
      if (s === undefined) return failed(r.value === null ? 'an interpolated value is null' : `an interpolated value is a ${typeName(r.value)}, not a string`)
      if (!this.#spend(Math.ceil(s.length / 64))) return this.#exhausted()
      // Templates that double a string at each reference would reach V8's string limit first.
      if (out.length + s.length > MAX_STRING_LENGTH) return unknown(`a template makes a string longer than ${MAX_STRING_LENGTH} characters`)
      out += s
    }
    return ok(out)
  }

  /** A reference and the attribute and index steps after it. */
  #traversal(e: HclExpr, scope: TfScope): Evaluated {
    const steps: Array<{ attr: string } | { index: HclExpr }> = []
    let t = e
    while (t.kind === 'attr' || t.kind === 'index') {
      steps.push(t.kind === 'attr' ? { attr: t.name } : { index: t.key })
      t = t.target
    }
    steps.reverse()
    let value: TfValue
    let from = 0
    if (t.kind === 'name') {
      const attrs: string[] = []
      for (const s of steps) {
        if (!('attr' in s)) break
        attrs.push(s.attr)
      }
      const root = scope.root(t.name, attrs)
      if (root === undefined) return unknown(`"${t.name}" is not a name the audit knows here`)
      if (!root.result.ok) return root.result
      value = root.result.value
      from = root.used
    } else {
      const r = this.#expr(t, scope)
      if (!r.ok) return r
      value = r.value
    }
    for (const s of steps.slice(from)) {
      if (!this.#spend(1)) return this.#exhausted()
      let key: TfValue
      if ('attr' in s) key = s.attr
      else {
        const k = known(this.#expr(s.index, scope))
        if (!k.ok) return k
        key = k.value
      }
      const r = step(value, key, 'attr' in s)
      if (!r.ok) return r
      value = r.value
    }
    return ok(value)
  }

  #binary(op: string, left: HclExpr, right: HclExpr, scope: TfScope): Evaluated {
    const l = known(this.#expr(left, scope))
    if (!l.ok) return l
    // && and || do not short-circuit in HCL: both sides are evaluated.
    const r = known(this.#expr(right, scope))
    if (!r.ok) return r
    const a = l.value
    const b = r.value
    switch (op) {
      case '==':
      case '!=': {
        // Comparing is linear in the values' size, and values can share parts (exponentially).
        if (!this.#spend(deepSize([a, b], Math.max(0, this.#steps)))) return this.#exhausted()
        // As go-cty's Equals: a known value and null compare by nullness alone (`var.x == null`
        // is false for a list with unknown parts); otherwise an unknown part leaves it unknown.
        if (a === null || b === null) return ok((a === b) === (op === '=='))
        const u = findUnknown([a, b])
        if (u !== undefined) return unknown(u.reason)
        return ok(valueEquals(a, b) === (op === '=='))
      }
      case '&&':
      case '||': {
        const x = asBool(a)
        const y = asBool(b)
        if (x === undefined || y === undefined) return failed(`"${op}" needs bools`)
        return ok(op === '&&' ? x && y : x || y)
      }
    }
    const x = asNumber(a)
    const y = asNumber(b)
    if (x === undefined || y === undefined) return failed(`"${op}" needs numbers, not a ${typeName(x === undefined ? a : b)}`)
    switch (op) {
      case '<':
        return ok(x < y)
      case '<=':
        return ok(x <= y)
      case '>':
        return ok(x > y)
      case '>=':
        return ok(x >= y)
      case '+':
        return ok(x + y)
      case '-':
        return ok(x - y)
      case '*':
        return ok(x * y)
      case '/':
        return y === 0 ? failed('a division by zero') : ok(x / y)
      case '%':
        return y === 0 ? failed('a modulo by zero') : ok(x % y)
      default:
        return unknown(`the operator "${op}" is not evaluated by the audit`)
    }
  }

  #call(name: string, argExprs: readonly HclExpr[], expand: boolean, scope: TfScope): Evaluated {
    // try and can look at how their arguments fail, so they evaluate them themselves.
    if (name === 'try' || name === 'can') {
      if (expand) return unknown(`${name}() with "..." is not evaluated by the audit`)
      let last: Evaluated = failed(`${name}() needs an argument`)
      for (const a of argExprs) {
        // A value with unknown parts might still fail later in Terraform: try cannot decide.
        const r = wholly(this.#expr(a, scope))
        if (r.ok) return name === 'can' ? ok(true) : r
        if (r.unknown) return r
        last = r
        if (name === 'can') return ok(false)
      }
      return last.ok ? last : failed(`no argument of try() can be evaluated (the last: ${last.reason})`)
    }
    // Own names only: `constructor` or `toString` is not a Terraform function.
    const f = Object.hasOwn(TERRAFORM_FUNCTIONS, name) ? TERRAFORM_FUNCTIONS[name] : undefined
    if (f === undefined) return unknown(`the function ${name}() is not evaluated by the audit`)
    const args: TfValue[] = []
    for (const a of argExprs) {
      const r = known(this.#expr(a, scope))
      if (!r.ok) return r
      args.push(r.value)
    }
    if (expand) {
      const last = args.pop()
      const spread = last === undefined ? undefined : elementsOf(last)
      if (spread === undefined) return failed(`the argument before "..." in ${name}() is not a list`)
      for (const x of spread) args.push(x)
    }
    // The functions' work is at most linear in their arguments' whole size: charge it first.
    if (!this.#spend(deepSize(args, Math.max(0, this.#steps)))) return this.#exhausted()
    if (MUST_BE_WHOLLY_KNOWN.has(name)) {
      const u = findUnknown(args)
      if (u !== undefined) return unknown(u.reason)
    }
    const r = f(args)
    return r.ok ? r : failed(`${name}(): ${r.reason}`)
  }
}

/**
 * How many values `v` holds, counting shared parts each time they occur, up to `limit` (then
 * limit + 1): a value built by references can share parts, and its size can be exponential.
 */
export function deepSize(v: TfValue | readonly TfValue[], limit: number): number {
  let n = 0
  const stack: TfValue[] = [v]
  while (stack.length > 0 && n <= limit) {
    const x = stack.pop()!
    n++
    if (isList(x)) for (const y of x) stack.push(y)
    else if (x instanceof TfSet) for (const y of x.items) stack.push(y)
    else if (isMap(x)) for (const y of x.values()) stack.push(y)
  }
  return n
}

/**
 * A part of a collection being built: its value, or an unknown standing for it; undefined when the
 * failure is Terraform's own error, which fails the whole collection.
 */
function part(r: Evaluated): TfValue | undefined {
  if (r.ok) return r.value
  return r.unknown ? new TfUnknown(r.reason) : undefined
}

/** The result, unless it is an unknown value, which is then the failure. */
function known(r: Evaluated): Evaluated {
  return r.ok && r.value instanceof TfUnknown ? unknown(r.value.reason) : r
}

/** The result, unless it has an unknown part, which is then the failure. */
function wholly(r: Evaluated): Evaluated {
  if (!r.ok) return r
  const u = findUnknown(r.value)
  return u === undefined ? r : unknown(u.reason)
}

/** One attribute (`.name`) or index (`[key]`) step, with Terraform's errors. */
function step(value: TfValue, key: TfValue, isAttr: boolean): Evaluated {
  if (value instanceof TfUnknown) return unknown(value.reason)
  if (value === null) return failed(`cannot read ${isAttr ? `attribute "${primitiveText(key) ?? typeName(key)}"` : 'an element'} of null`)
  if (key === null) return failed('an index is null')
  if (isMap(value)) {
    const k = primitiveText(key)
    if (k === undefined) return failed(`an object's index is a ${typeName(key)}, not a string`)
    const v = value.get(k)
    if (v !== undefined) return ok(v)
    if (value instanceof TfResource) return unknown(`${value.address}.${k} is a resource attribute, known only after apply`)
    return failed(`the object has no attribute "${k}"`)
  }
  if (isList(value)) {
    const n = asNumber(key)
    if (n === undefined || !Number.isInteger(n)) return failed(`a list's index is ${JSON.stringify(key)}, not a whole number`)
    const v = value[n]
    return v === undefined ? failed(`the index ${n} is out of range (the list has ${value.length} elements)`) : ok(v)
  }
  if (value instanceof TfSet) return failed('a set has no index; convert it with tolist()')
  return failed(`a ${typeName(value)} has no ${isAttr ? 'attributes' : 'elements'}`)
}
