/**
 * @module HCL native-syntax expressions and templates, parsed into a tree the Terraform evaluator
 * (`terraform-evaluate.ts`) walks. `@cdktf/hcl2json` gives every value that is not a literal as a
 * template string: literal text already unescaped, `$${` and `%%{` for a literal `${` and `%{`,
 * and each interpolation's expression as written (`${lookup(rule.value, "y", [])}`).
 *
 * Grammar (the HCL spec's, hashicorp/hcl `hclsyntax/spec.md`; precedence from low to high):
 *
 *     expr        = or [ "?" expr ":" expr ]
 *     or          = and { "||" and }          and = eq { "&&" eq }
 *     eq          = cmp { ("==" | "!=") cmp } cmp = sum { ("<" | "<=" | ">" | ">=") sum }
 *     sum         = prod { ("+" | "-") prod } prod = unary { ("*" | "/" | "%") unary }
 *     unary       = ("-" | "!") unary | postfix
 *     postfix     = primary { "." NAME | "." DIGITS | "[" expr "]" | "[*]" | ".*" }
 *     primary     = NUMBER | "true" | "false" | "null" | STRING | NAME | NAME "(" args ")"
 *                 | "[" [ expr { "," expr } [","] ] "]" | "{" { key ("=" | ":") expr [","] } "}"
 *                 | "(" expr ")" | "[for ...]" | "{for ...}"
 *
 * `for` expressions, splats (`[*]`, `.*`), template directives (`%{ }`) and strip markers (`~`)
 * parse to an `unsupported` node: the evaluator reports them, it does not guess. Nesting is capped
 * (MAX_NESTING) so that untrusted input cannot exhaust the stack.
 */

export type BinaryOp = '||' | '&&' | '==' | '!=' | '<' | '<=' | '>' | '>=' | '+' | '-' | '*' | '/' | '%'

export type HclExpr =
  | { readonly kind: 'literal'; readonly value: null | boolean | number | string }
  /** A string with interpolations; a single interpolation alone gives its value unconverted. */
  | { readonly kind: 'template'; readonly parts: ReadonlyArray<string | HclExpr> }
  | { readonly kind: 'tuple'; readonly items: readonly HclExpr[] }
  | { readonly kind: 'object'; readonly items: ReadonlyArray<{ readonly key: HclExpr; readonly value: HclExpr }> }
  | { readonly kind: 'name'; readonly name: string }
  | { readonly kind: 'attr'; readonly target: HclExpr; readonly name: string }
  | { readonly kind: 'index'; readonly target: HclExpr; readonly key: HclExpr }
  | { readonly kind: 'call'; readonly name: string; readonly args: readonly HclExpr[]; readonly expand: boolean }
  | { readonly kind: 'conditional'; readonly test: HclExpr; readonly then: HclExpr; readonly otherwise: HclExpr }
  | { readonly kind: 'binary'; readonly op: BinaryOp; readonly left: HclExpr; readonly right: HclExpr }
  | { readonly kind: 'unary'; readonly op: '-' | '!'; readonly operand: HclExpr }
  | { readonly kind: 'unsupported'; readonly what: string }

export type Parsed = { readonly ok: true; readonly expr: HclExpr } | { readonly ok: false; readonly reason: string }

/** How deeply brackets, calls and interpolations may nest. */
export const MAX_NESTING = 32

/**
 * Parses a string from hcl2json: literal text and `${ }` interpolations.
 *
 * @example
 * parseHclJsonString('g-${each.key}') // template ['g-', attr(name each, key)]
 */
export function parseHclJsonString(src: string): Parsed {
  return run(src, (p) => p.template(false, src.length))
}

/** Parses an expression written in HCL (a `--var` value for a variable of a collection type). */
export function parseHclExpression(src: string): Parsed {
  return run(src, (p) => {
    const e = p.expr()
    p.blank()
    if (!p.atEnd()) p.fail(`unexpected "${src.slice(p.pos, p.pos + 10)}"`)
    return e
  })
}

class ParseError extends Error {}

function run(src: string, f: (p: Parser) => HclExpr): Parsed {
  try {
    return { ok: true, expr: f(new Parser(src)) }
  } catch (e) {
    // Only the parser's own failures are expected; anything else is a bug and propagates.
    if (e instanceof ParseError) return { ok: false, reason: e.message }
    throw e
  }
}

const PRECEDENCE: ReadonlyArray<readonly BinaryOp[]> = [['||'], ['&&'], ['==', '!='], ['<', '<=', '>', '>='], ['+', '-'], ['*', '/', '%']]

function isNameStart(c: string | undefined): boolean {
  return c !== undefined && (/[A-Za-z_]/.test(c) || c.charCodeAt(0) >= 0x80)
}

function isNamePart(c: string | undefined): boolean {
  return c !== undefined && (/[A-Za-z0-9_-]/.test(c) || c.charCodeAt(0) >= 0x80)
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9'
}

class Parser {
  readonly src: string
  pos = 0
  #depth = 0

  constructor(src: string) {
    this.src = src
  }

  fail(message: string): never {
    throw new ParseError(message)
  }

  atEnd(): boolean {
    return this.pos >= this.src.length
  }

  #enter(): void {
    if (++this.#depth > MAX_NESTING) this.fail(`expressions nest more than ${MAX_NESTING} deep`)
  }

  #leave(): void {
    this.#depth--
  }

  /** Skips blanks, newlines and comments. */
  blank(): void {
    const s = this.src
    while (this.pos < s.length) {
      const c = s[this.pos]
      if (c === ' ' || c === '\t' || c === '\r' || c === '\n') this.pos++
      else if (c === '#' || (c === '/' && s[this.pos + 1] === '/')) {
        const nl = s.indexOf('\n', this.pos)
        this.pos = nl < 0 ? s.length : nl + 1
      } else if (c === '/' && s[this.pos + 1] === '*') {
        const close = s.indexOf('*/', this.pos + 2)
        this.pos = close < 0 ? s.length : close + 2
      } else break
    }
  }

  #peek(text: string): boolean {
    this.blank()
    return this.src.startsWith(text, this.pos)
  }

  #eat(text: string): boolean {
    if (!this.#peek(text)) return false
    this.pos += text.length
    return true
  }

  #expect(text: string): void {
    if (!this.#eat(text)) this.fail(`expected "${text}" at "${this.src.slice(this.pos, this.pos + 10)}"`)
  }

  #name(): string {
    const start = this.pos
    while (isNamePart(this.src[this.pos])) this.pos++
    return this.src.slice(start, this.pos)
  }

  /**
   * A template: literal text and interpolations, up to `end` or, when `quoted`, the closing quote.
   * `quoted` strings are written in an expression and have backslash escapes; hcl2json's strings
   * are already unescaped.
   */
  template(quoted: boolean, end: number): HclExpr {
    this.#enter()
    const s = this.src
    const parts: Array<string | HclExpr> = []
    let text = ''
    let closed = !quoted
    let unsupported: string | undefined
    while (this.pos < end) {
      const c = s[this.pos]
      if (quoted && c === '"') {
        this.pos++
        closed = true
        break
      }
      if (quoted && c === '\n') this.fail('a quoted string runs past the end of the line')
      if (quoted && c === '\\') {
        text += this.#escape()
        continue
      }
      if ((c === '$' || c === '%') && s[this.pos + 1] === c && s[this.pos + 2] === '{') {
        text += `${c}{`
        this.pos += 3
        continue
      }
      if (c === '%' && s[this.pos + 1] === '{') {
        this.pos += 2
        this.#skipBalanced('}')
        unsupported ??= 'a template directive (%{ })'
        continue
      }
      if (c === '$' && s[this.pos + 1] === '{') {
        this.pos += 2
        if (s[this.pos] === '~') {
          this.#skipBalanced('}')
          unsupported ??= 'a template strip marker (~)'
          continue
        }
        if (text !== '') parts.push(text)
        text = ''
        const e = this.expr()
        if (this.#eat('~')) unsupported ??= 'a template strip marker (~)'
        this.#expect('}')
        parts.push(e)
        continue
      }
      text += c ?? ''
      this.pos++
    }
    if (!closed) this.fail('a quoted string is not closed')
    this.#leave()
    if (unsupported !== undefined) return { kind: 'unsupported', what: unsupported }
    if (text !== '' || parts.length === 0) parts.push(text)
    const only = parts[0]
    if (parts.length === 1 && typeof only === 'string') return { kind: 'literal', value: only }
    return { kind: 'template', parts }
  }

  /** Skips to the `close` that balances an opening just read, over nested brackets and strings. */
  #skipBalanced(close: string): void {
    const s = this.src
    const stack: string[] = [close]
    while (this.pos < s.length && stack.length > 0) {
      const c = s[this.pos]!
      this.pos++
      if (c === '"') this.template(true, s.length)
      else if (c === '(') stack.push(')')
      else if (c === '[') stack.push(']')
      else if (c === '{') stack.push('}')
      else if (c === stack[stack.length - 1]) stack.pop()
    }
    if (stack.length > 0) this.fail(`"${close}" is missing`)
  }

  /** A backslash escape in a quoted string (HCL spec: \n \r \t \" \\ \uNNNN \UNNNNNNNN). */
  #escape(): string {
    const s = this.src
    const c = s[this.pos + 1]
    this.pos += 2
    switch (c) {
      case 'n':
        return '\n'
      case 'r':
        return '\r'
      case 't':
        return '\t'
      case '"':
        return '"'
      case '\\':
        return '\\'
      case 'u':
      case 'U': {
        const len = c === 'u' ? 4 : 8
        const hex = s.slice(this.pos, this.pos + len)
        if (!/^[0-9A-Fa-f]+$/.test(hex) || hex.length !== len) this.fail(`a bad \\${c} escape`)
        this.pos += len
        const cp = parseInt(hex, 16)
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) this.fail(`a bad \\${c} escape`)
        return String.fromCodePoint(cp)
      }
      default:
        return this.fail(`an unknown escape \\${c ?? ''}`)
    }
  }

  expr(): HclExpr {
    this.#enter()
    const test = this.#binary(0)
    let out = test
    if (this.#eat('?')) {
      const then = this.expr()
      this.#expect(':')
      const otherwise = this.expr()
      out = { kind: 'conditional', test, then, otherwise }
    }
    this.#leave()
    return out
  }

  #binary(level: number): HclExpr {
    const ops = PRECEDENCE[level]
    if (ops === undefined) return this.#unary()
    let left = this.#binary(level + 1)
    // Each operator nests the tree one level deeper (`a + b + c` is `(a + b) + c`): count it.
    let nested = 0
    for (;;) {
      this.blank()
      const op = this.#operator(ops)
      if (op === undefined) break
      this.pos += op.length
      this.#enter()
      nested++
      const right = this.#binary(level + 1)
      left = { kind: 'binary', op, left, right }
    }
    while (nested-- > 0) this.#leave()
    return left
  }

  /** The operator of this level at the position, if any: the longest, so that `<=` is not `<`. */
  #operator(ops: readonly BinaryOp[]): BinaryOp | undefined {
    const s = this.src
    let best: BinaryOp | undefined
    for (const op of ops) if (s.startsWith(op, this.pos) && (best === undefined || op.length > best.length)) best = op
    return best
  }

  #unary(): HclExpr {
    this.blank()
    const c = this.src[this.pos]
    if ((c === '-' || c === '!') && this.src[this.pos + 1] !== '=') {
      this.pos++
      this.#enter()
      const operand = this.#unary()
      this.#leave()
      return { kind: 'unary', op: c, operand }
    }
    return this.#postfix(this.#primary())
  }

  #postfix(target: HclExpr): HclExpr {
    let e = target
    const s = this.src
    // Each step nests the tree one level deeper, as operators do.
    let nested = 0
    for (;; nested++) {
      if (nested > 0) this.#enter()
      this.blank()
      const c = s[this.pos]
      if (c === '.' && s[this.pos + 1] !== '.') {
        this.pos++
        this.blank()
        if (s[this.pos] === '*') {
          this.pos++
          e = this.#splat()
        } else if (isDigit(s[this.pos])) {
          const start = this.pos
          while (isDigit(s[this.pos])) this.pos++
          e = { kind: 'index', target: e, key: { kind: 'literal', value: Number(s.slice(start, this.pos)) } }
        } else if (isNameStart(s[this.pos])) e = { kind: 'attr', target: e, name: this.#name() }
        else this.fail('expected an attribute name after "."')
      } else if (c === '[') {
        this.pos++
        this.blank()
        if (s[this.pos] === '*') {
          this.pos++
          this.#expect(']')
          e = this.#splat()
        } else {
          const key = this.expr()
          this.#expect(']')
          e = { kind: 'index', target: e, key }
        }
      } else break
    }
    while (nested-- > 0) this.#leave()
    return e
  }

  /** A splat and the traversal after it: parsed over, not evaluated. */
  #splat(): HclExpr {
    this.#postfix({ kind: 'literal', value: null })
    return { kind: 'unsupported', what: 'a splat expression ([*])' }
  }

  #primary(): HclExpr {
    this.blank()
    const s = this.src
    const c = s[this.pos]
    if (c === undefined) return this.fail('an expression is missing')
    if (isDigit(c)) return this.#number()
    if (c === '"') {
      this.pos++
      return this.template(true, s.length)
    }
    if (c === '(') {
      this.pos++
      const e = this.expr()
      this.#expect(')')
      return e
    }
    if (c === '[' || c === '{') {
      this.pos++
      if (this.#isFor()) return this.#skipFor(c === '[' ? ']' : '}')
      this.#enter()
      const e = c === '[' ? this.#tuple() : this.#object()
      this.#leave()
      return e
    }
    if (c === '<' && s[this.pos + 1] === '<') return this.fail('a heredoc inside an expression')
    if (isNameStart(c)) {
      const name = this.#name()
      if (name === 'true' || name === 'false') return { kind: 'literal', value: name === 'true' }
      if (name === 'null') return { kind: 'literal', value: null }
      this.blank()
      if (s[this.pos] === '(') {
        this.pos++
        this.#enter()
        const call = this.#call(name)
        this.#leave()
        return call
      }
      if (s.startsWith('::', this.pos)) return this.fail(`provider function ${name}::... calls are not evaluated`)
      return { kind: 'name', name }
    }
    return this.fail(`unexpected "${s.slice(this.pos, this.pos + 10)}"`)
  }

  #number(): HclExpr {
    const s = this.src
    const start = this.pos
    while (isDigit(s[this.pos])) this.pos++
    if (s[this.pos] === '.' && isDigit(s[this.pos + 1])) {
      this.pos++
      while (isDigit(s[this.pos])) this.pos++
    }
    if (s[this.pos] === 'e' || s[this.pos] === 'E') {
      let p = this.pos + 1
      if (s[p] === '+' || s[p] === '-') p++
      if (isDigit(s[p])) {
        this.pos = p
        while (isDigit(s[this.pos])) this.pos++
      }
    }
    return { kind: 'literal', value: Number(s.slice(start, this.pos)) }
  }

  #call(name: string): HclExpr {
    const args: HclExpr[] = []
    let expand = false
    while (!this.#eat(')')) {
      if (args.length > 0 || expand) this.#expect(',')
      if (this.#eat(')')) break
      args.push(this.expr())
      if (this.#eat('...')) expand = true
    }
    return { kind: 'call', name, args, expand }
  }

  #tuple(): HclExpr {
    const items: HclExpr[] = []
    while (!this.#eat(']')) {
      if (items.length > 0) this.#expect(',')
      if (this.#eat(']')) break
      items.push(this.expr())
    }
    return { kind: 'tuple', items }
  }

  #object(): HclExpr {
    const items: Array<{ key: HclExpr; value: HclExpr }> = []
    while (!this.#eat('}')) {
      // Items are separated by commas or newlines; blank() has skipped the newlines.
      if (items.length > 0) this.#eat(',')
      if (this.#eat('}')) break
      const key = this.#objectKey()
      if (!this.#eat('=') && !this.#eat(':')) this.fail('expected "=" after an object key')
      items.push({ key, value: this.expr() })
    }
    return { kind: 'object', items }
  }

  /** A bare name as a key is the name as a string (`{ a = 1 }`), not a reference. */
  #objectKey(): HclExpr {
    this.blank()
    const start = this.pos
    if (isNameStart(this.src[this.pos])) {
      const name = this.#name()
      this.blank()
      const c = this.src[this.pos]
      if ((c === '=' && this.src[this.pos + 1] !== '=') || c === ':') return { kind: 'literal', value: name }
      this.pos = start
    }
    return this.expr()
  }

  /** After "[" or "{": is this a `for` expression (`for NAME ...`)? */
  #isFor(): boolean {
    this.blank()
    const s = this.src
    if (!s.startsWith('for', this.pos) || isNamePart(s[this.pos + 3])) return false
    let p = this.pos + 3
    while (s[p] === ' ' || s[p] === '\t' || s[p] === '\n' || s[p] === '\r') p++
    return isNameStart(s[p])
  }

  /** Skips a `for` expression to its closing bracket. */
  #skipFor(close: string): HclExpr {
    this.#skipBalanced(close)
    return { kind: 'unsupported', what: 'a for expression' }
  }
}
