/**
 * @module The outline of an HCL file: where each block and attribute is, and in which order the
 * blocks are written. `@cdktf/hcl2json` gives the values but no positions, and it groups `dynamic`
 * blocks apart from static blocks of the same type, which loses their relative order: Terraform
 * expands each `dynamic` block in place among the static ones (hashicorp/hcl `ext/dynblock`
 * `expandBlocks` walks the body's blocks in source order), so the importer needs that order.
 *
 * Grammar scanned (HCL native syntax, structure only; expressions are skipped over, not parsed):
 *
 *     body      = { attribute | block }
 *     attribute = IDENT "=" expression NEWLINE       (the expression ends at a newline outside
 *                                                     brackets, or at the "}" that closes a
 *                                                     one-line block)
 *     block     = IDENT { STRING | IDENT } "{" body "}"
 *
 * Strings (with `${ }` interpolations, which nest), heredocs and comments are skipped whole. The
 * scan is one pass with an explicit stack (no recursion, no regular expression that can
 * backtrack), linear in the text: the file is untrusted. The text has already been accepted by
 * hcl2json, so on text that is not HCL the outline only has to stay finite, not be right.
 */
import type { Span } from '../diagnostics/diagnostic.ts'

export interface HclAttribute {
  readonly name: string
  readonly nameSpan: Span
  /** The expression, without the comments and blank after it. */
  readonly valueSpan: Span
  /** When the expression is a tuple literal `[a, b]`: each element's span. */
  readonly elements?: readonly Span[]
}

export interface HclBlock {
  readonly type: string
  readonly labels: readonly string[]
  /** The type and labels: where a diagnostic about the whole block points. */
  readonly headerSpan: Span
  readonly body: HclBody
}

export interface HclBody {
  /** By name; the first one when a (malformed) body repeats a name. */
  readonly attributes: ReadonlyMap<string, HclAttribute>
  /** In source order. */
  readonly blocks: readonly HclBlock[]
}

interface MutableBody {
  attributes: Map<string, HclAttribute>
  blocks: HclBlock[]
}

/**
 * Scans an HCL file into its outline.
 *
 * @example
 * outlineHcl('a { b = 1 }').blocks[0]?.body.attributes.get('b')?.valueSpan // { start: 8, end: 9 }
 */
export function outlineHcl(text: string): HclBody {
  const root: MutableBody = { attributes: new Map(), blocks: [] }
  const bodies: MutableBody[] = [root]
  const n = text.length
  let i = 0
  while (i < n) {
    i = skipBlank(text, i, true)
    if (i >= n) break
    const c = text.charCodeAt(i)
    const body = bodies[bodies.length - 1]!
    if (c === RBRACE) {
      if (bodies.length > 1) bodies.pop()
      i++
      continue
    }
    if (!isIdentStart(c)) {
      i = nextLine(text, i)
      continue
    }
    const nameStart = i
    i = identEnd(text, i)
    const name = text.slice(nameStart, i)
    i = skipBlank(text, i, false)
    if (text.charCodeAt(i) === EQUALS && text.charCodeAt(i + 1) !== EQUALS) {
      const valueStart = skipBlank(text, i + 1, false)
      const scanned = scanExpression(text, valueStart)
      if (!body.attributes.has(name)) {
        body.attributes.set(name, {
          name,
          nameSpan: { start: nameStart, end: nameStart + name.length },
          valueSpan: { start: valueStart, end: Math.max(valueStart, scanned.end) },
          ...(scanned.elements === undefined ? {} : { elements: scanned.elements }),
        })
      }
      i = scanned.next
      continue
    }
    const labels: string[] = []
    let headerEnd = i
    for (;;) {
      const l = text.charCodeAt(i)
      if (l === QUOTE) {
        const close = labelEnd(text, i + 1)
        if (close < 0) break
        labels.push(unescapeLabel(text.slice(i + 1, close)))
        i = close + 1
      } else if (isIdentStart(l)) {
        const start = i
        i = identEnd(text, i)
        labels.push(text.slice(start, i))
      } else break
      headerEnd = i
      i = skipBlank(text, i, false)
    }
    if (text.charCodeAt(i) !== LBRACE) {
      i = nextLine(text, i)
      continue
    }
    const inner: MutableBody = { attributes: new Map(), blocks: [] }
    body.blocks.push({ type: name, labels, headerSpan: { start: nameStart, end: headerEnd }, body: inner })
    bodies.push(inner)
    i++
  }
  return root
}

/** The blocks of a body with this type and, when given, this first label. */
export function blocksOfType(body: HclBody | undefined, type: string, label?: string): HclBlock[] {
  if (body === undefined) return []
  return body.blocks.filter((b) => b.type === type && (label === undefined ? b.labels.length === 0 : b.labels[0] === label))
}

const LBRACE = 0x7b
const RBRACE = 0x7d
const QUOTE = 0x22
const EQUALS = 0x3d
const NEWLINE = 0x0a
const BACKSLASH = 0x5c

function isIdentStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c >= 0x80
}

function isIdentPart(c: number): boolean {
  return isIdentStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x2d
}

function identEnd(text: string, i: number): number {
  while (i < text.length && isIdentPart(text.charCodeAt(i))) i++
  return i
}

function nextLine(text: string, i: number): number {
  const nl = text.indexOf('\n', i)
  return nl < 0 ? text.length : nl + 1
}

/** Skips blanks and comments; newlines too when `newlines`. */
function skipBlank(text: string, i: number, newlines: boolean): number {
  const n = text.length
  while (i < n) {
    const c = text.charCodeAt(i)
    if (c === 0x20 || c === 0x09 || c === 0x0d || (newlines && c === NEWLINE)) i++
    else if (c === 0x23 || (c === 0x2f && text.charCodeAt(i + 1) === 0x2f)) {
      // A line comment ends at the newline, which ends an attribute: leave it to the caller.
      const nl = text.indexOf('\n', i)
      i = nl < 0 ? n : nl
    } else if (c === 0x2f && text.charCodeAt(i + 1) === 0x2a) {
      const close = text.indexOf('*/', i + 2)
      i = close < 0 ? n : close + 2
    } else break
  }
  return i
}

/** The closing quote of a block label, on the same line; -1 if none. */
function labelEnd(text: string, i: number): number {
  while (i < text.length) {
    const c = text.charCodeAt(i)
    if (c === BACKSLASH) i += 2
    else if (c === QUOTE) return i
    else if (c === NEWLINE) return -1
    else i++
  }
  return -1
}

function unescapeLabel(s: string): string {
  return s.includes('\\') ? s.replace(/\\(.)/g, '$1') : s
}

/** Matches the opening of a heredoc at a position: `<<EOT` or `<<-EOT`, then the newline. */
const HEREDOC_OPEN = /<<-?([A-Za-z_][A-Za-z0-9_-]*)\r?\n/y

/** The end of the heredoc whose first line starts at `i`: after its closing marker's line. */
function heredocEnd(text: string, i: number, marker: string): number {
  const n = text.length
  while (i < n) {
    const nl = text.indexOf('\n', i)
    const lineEnd = nl < 0 ? n : nl
    let a = i
    let b = lineEnd
    while (a < b && (text.charCodeAt(a) === 0x20 || text.charCodeAt(a) === 0x09)) a++
    while (b > a && (text.charCodeAt(b - 1) === 0x0d || text.charCodeAt(b - 1) === 0x20 || text.charCodeAt(b - 1) === 0x09)) b--
    if (b - a === marker.length && text.startsWith(marker, a)) return lineEnd
    i = lineEnd + 1
  }
  return n
}

interface Scanned {
  /** After the last character of the expression that is not a blank or a comment. */
  readonly end: number
  /** Where the body scan goes on: the newline or closing brace after the expression. */
  readonly next: number
  readonly elements?: Span[]
}

/**
 * Skips over one attribute expression. The stack holds what is open: brackets `(`, `[`, `{`,
 * quoted strings `"` and interpolations `$` (`${` or `%{`, closed by `}`).
 */
function scanExpression(text: string, start: number): Scanned {
  const n = text.length
  const stack: number[] = []
  const tuple = text.charCodeAt(start) === 0x5b
  // Elements are those of the first bracket only: `[1, 2][0]` is an index, not a third element.
  let collecting = tuple
  const elements: Span[] = []
  let elementStart = -1
  let elementEnd = -1
  let end = start
  let i = start
  while (i < n) {
    const c = text.charCodeAt(i)
    const top = stack[stack.length - 1]
    if (top === QUOTE) {
      if (c === BACKSLASH) i += 2
      else if (c === QUOTE) {
        stack.pop()
        i++
      } else if ((c === 0x24 || c === 0x25) && text.charCodeAt(i + 1) === c && text.charCodeAt(i + 2) === LBRACE) i += 3
      else if ((c === 0x24 || c === 0x25) && text.charCodeAt(i + 1) === LBRACE) {
        stack.push(0x24)
        i += 2
      } else if (c === NEWLINE) stack.pop() // not HCL; do not run on
      else i++
      end = i
      if (elementStart >= 0) elementEnd = i
      continue
    }
    if (c === 0x20 || c === 0x09 || c === 0x0d) {
      i++
      continue
    }
    if (c === NEWLINE) {
      if (stack.length === 0) break
      i++
      continue
    }
    if (c === 0x23 || (c === 0x2f && text.charCodeAt(i + 1) === 0x2f)) {
      const nl = text.indexOf('\n', i)
      i = nl < 0 ? n : nl
      continue
    }
    if (c === 0x2f && text.charCodeAt(i + 1) === 0x2a) {
      const close = text.indexOf('*/', i + 2)
      i = close < 0 ? n : close + 2
      continue
    }
    // A significant character: it belongs to the expression, and to the current tuple element.
    if (collecting && stack.length === 1 && c !== 0x2c && c !== 0x5d && elementStart < 0) elementStart = i
    if (c === QUOTE) {
      stack.push(QUOTE)
      i++
    } else if (c === 0x3c && text.charCodeAt(i + 1) === 0x3c) {
      HEREDOC_OPEN.lastIndex = i
      const m = HEREDOC_OPEN.exec(text)
      i = m ? heredocEnd(text, i + m[0].length, m[1]!) : i + 2
    } else if (c === 0x28 || c === 0x5b || c === LBRACE) {
      stack.push(c)
      i++
    } else if (c === 0x29 || c === 0x5d || c === RBRACE) {
      // A "}" with nothing open closes the one-line block the attribute is in.
      if (stack.length === 0) {
        if (c === RBRACE) break
        i++
        continue
      }
      if (collecting && stack.length === 1 && c === 0x5d) {
        if (elementStart >= 0) elements.push({ start: elementStart, end: elementEnd })
        elementStart = -1
        collecting = false
      }
      stack.pop()
      i++
    } else if (c === 0x2c && collecting && stack.length === 1) {
      if (elementStart >= 0) elements.push({ start: elementStart, end: elementEnd })
      elementStart = -1
      i++
    } else i++
    end = i
    if (elementStart >= 0) elementEnd = i
  }
  return { end, next: i, ...(tuple ? { elements } : {}) }
}
