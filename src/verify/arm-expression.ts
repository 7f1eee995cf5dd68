/**
 * @module The subset of ARM template expressions an exported firewall policy uses, evaluated so
 * that `"[concat('AzureCloud.', parameters('location'))]"` audits as `AzureCloud.westeurope`.
 *
 *   expression := "[" call "]"            a string starting "[[" is a literal "[" (ARM's escape)
 *   call       := IDENT "(" [arg {"," arg}] ")" {"." IDENT | "[" arg "]"}
 *   arg        := call | 'string' (quote doubled to escape) | integer | true | false
 *
 * Functions: parameters (value given with --var, else the template's defaultValue), variables,
 * concat, format ({0}-style), toLower, toUpper, string, createArray, replace, split, last, first,
 * resourceId (as `/providers/TYPE/NAME`).
 * Anything else (resourceGroup(), reference(), resourceId(), copyIndex(), ...) is unresolved:
 * the caller reports it with its location and the name of what would resolve it.
 */

export type ArmValue = string | number | boolean | null | ArmValue[] | { [k: string]: ArmValue }

export type ArmResult = { readonly ok: true; readonly value: ArmValue } | { readonly ok: false; readonly reason: string }

export interface ArmScope {
  /** Template parameters: `defaultValue`s, overridden by --var. */
  readonly parameters: ReadonlyMap<string, ArmValue>
  /** Template variables, unevaluated (they may hold expressions themselves). */
  readonly variables: ReadonlyMap<string, ArmValue>
}

class Unresolved extends Error {}

/** Whether a string is an ARM expression (`[...]`, not the `[[` escape). */
export function isArmExpression(text: string): boolean {
  return text.startsWith('[') && !text.startsWith('[[') && text.endsWith(']')
}

const MAX_DEPTH = 32

/** Evaluates a value that may be, or contain, expressions. Strings only are evaluated. */
export function evaluateArm(value: ArmValue, scope: ArmScope, depth = 0): ArmResult {
  try {
    return { ok: true, value: evalValue(value, scope, depth) }
  } catch (e) {
    if (e instanceof Unresolved) return { ok: false, reason: e.message }
    throw e
  }
}

function evalValue(value: ArmValue, scope: ArmScope, depth: number): ArmValue {
  if (depth > MAX_DEPTH) throw new Unresolved('expressions nest too deeply (a variable that refers to itself?)')
  if (typeof value === 'string') {
    if (value.startsWith('[[')) return value.slice(1)
    if (!isArmExpression(value)) return value
    const parser = new Parser(value.slice(1, -1), scope, depth)
    const v = parser.parseAll()
    return v
  }
  if (Array.isArray(value)) return value.map((v) => evalValue(v, scope, depth + 1))
  return value
}

type Tok = { t: 'id'; v: string } | { t: 'str'; v: string } | { t: 'num'; v: number } | { t: 'p'; v: string }

function tokenize(src: string): Tok[] {
  const out: Tok[] = []
  let i = 0
  while (i < src.length) {
    const c = src[i]!
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++
    } else if (c === "'") {
      let s = ''
      i++
      while (true) {
        if (i >= src.length) throw new Unresolved('unterminated string in an expression')
        if (src[i] === "'") {
          if (src[i + 1] === "'") {
            s += "'"
            i += 2
            continue
          }
          i++
          break
        }
        s += src[i]!
        i++
      }
      out.push({ t: 'str', v: s })
    } else if (/[0-9-]/.test(c)) {
      let j = i + 1
      while (j < src.length && /[0-9]/.test(src[j]!)) j++
      out.push({ t: 'num', v: Number(src.slice(i, j)) })
      i = j
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i + 1
      while (j < src.length && /[A-Za-z0-9_]/.test(src[j]!)) j++
      out.push({ t: 'id', v: src.slice(i, j) })
      i = j
    } else if ('(),.[]'.includes(c)) {
      out.push({ t: 'p', v: c })
      i++
    } else throw new Unresolved(`unexpected character "${c}" in an expression`)
  }
  return out
}

class Parser {
  readonly #toks: Tok[]
  #i = 0
  readonly #scope: ArmScope
  readonly #depth: number

  constructor(src: string, scope: ArmScope, depth: number) {
    this.#toks = tokenize(src)
    this.#scope = scope
    this.#depth = depth
  }

  parseAll(): ArmValue {
    const v = this.#arg()
    if (this.#i !== this.#toks.length) throw new Unresolved('unexpected text after the expression')
    return v
  }

  #peek(): Tok | undefined {
    return this.#toks[this.#i]
  }

  #expect(p: string): void {
    const t = this.#toks[this.#i]
    if (!t || t.t !== 'p' || t.v !== p) throw new Unresolved(`expected "${p}" in an expression`)
    this.#i++
  }

  #arg(): ArmValue {
    const t = this.#toks[this.#i]
    if (!t) throw new Unresolved('the expression ends too early')
    this.#i++
    if (t.t === 'str') return t.v
    if (t.t === 'num') return t.v
    if (t.t === 'id' && (t.v === 'true' || t.v === 'false') && this.#peek()?.v !== '(') return t.v === 'true'
    if (t.t !== 'id') throw new Unresolved(`unexpected "${t.v}" in an expression`)
    this.#expect('(')
    const args: ArmValue[] = []
    if (this.#peek()?.v !== ')') {
      while (true) {
        args.push(this.#arg())
        if (this.#peek()?.v === ',') {
          this.#i++
          continue
        }
        break
      }
    }
    this.#expect(')')
    let v = this.#call(t.v, args)
    // Property and index access: resourceGroup().location, variables('x')[0], ...
    while (this.#peek()?.v === '.' || this.#peek()?.v === '[') {
      const p = this.#toks[this.#i++]!
      if (p.v === '.') {
        const name = this.#toks[this.#i++]
        if (!name || name.t !== 'id') throw new Unresolved('expected a property name after "."')
        if (v === null || typeof v !== 'object' || Array.isArray(v) || !(name.v in v)) throw new Unresolved(`property "${name.v}" is not known`)
        v = v[name.v]!
      } else {
        const index = this.#arg()
        this.#expect(']')
        if (Array.isArray(v) && typeof index === 'number' && index >= 0 && index < v.length) v = v[index]!
        else if (v !== null && typeof v === 'object' && !Array.isArray(v) && typeof index === 'string' && index in v) v = v[index]!
        else throw new Unresolved('an index outside the value')
      }
    }
    return v
  }

  #call(name: string, args: ArmValue[]): ArmValue {
    const fn = name.toLowerCase()
    const str = (v: ArmValue | undefined): string => {
      if (typeof v === 'string') return v
      if (typeof v === 'number' || typeof v === 'boolean') return String(v)
      throw new Unresolved(`${name}() needs strings`)
    }
    switch (fn) {
      case 'parameters': {
        const key = str(args[0])
        const v = findCaseless(this.#scope.parameters, key)
        if (v === undefined) throw new Unresolved(`parameters('${key}') has no value (no defaultValue; give --var ${key}=VALUE)`)
        return evalValue(v, this.#scope, this.#depth + 1)
      }
      case 'variables': {
        const key = str(args[0])
        const v = findCaseless(this.#scope.variables, key)
        if (v === undefined) throw new Unresolved(`variables('${key}') is not defined in the template`)
        return evalValue(v, this.#scope, this.#depth + 1)
      }
      case 'concat':
        if (args.every((a) => Array.isArray(a))) return (args as ArmValue[][]).flat()
        return args.map(str).join('')
      case 'format': {
        const fmt = str(args[0])
        return fmt.replace(/\{(\d+)\}/g, (_, n: string) => str(args[Number(n) + 1]))
      }
      case 'tolower':
        return str(args[0]).toLowerCase()
      case 'toupper':
        return str(args[0]).toUpperCase()
      case 'string':
        return str(args[0])
      case 'createarray':
        return args
      case 'resourceid': {
        // resourceId([subscriptionId,] [resourceGroupName,] type, name...): the id's provider
        // part is enough to name the resource (IP groups are referenced by id).
        const parts = args.map(str)
        const typeAt = parts.findIndex((p) => p.includes('/'))
        if (typeAt === -1) throw new Unresolved('resourceId() without a resource type')
        return `/providers/${parts.slice(typeAt).join('/')}`
      }
      case 'replace':
        return str(args[0]).split(str(args[1])).join(str(args[2]))
      case 'split':
        return str(args[0]).split(str(args[1]))
      case 'first':
      case 'last': {
        const a = args[0]
        if (Array.isArray(a) && a.length > 0) return (fn === 'first' ? a[0] : a[a.length - 1])!
        if (typeof a === 'string' && a.length > 0) return fn === 'first' ? a[0]! : a[a.length - 1]!
        throw new Unresolved(`${name}() of an empty value`)
      }
      default:
        throw new Unresolved(`${name}() is evaluated only at deployment`)
    }
  }
}

function findCaseless(map: ReadonlyMap<string, ArmValue>, key: string): ArmValue | undefined {
  const direct = map.get(key)
  if (direct !== undefined) return direct
  const lower = key.toLowerCase()
  for (const [k, v] of map) if (k.toLowerCase() === lower) return v
  return undefined
}
