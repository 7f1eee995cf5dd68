/**
 * @module Reads a YAML (or JSON) document against a `Spec`: structure and types, every problem
 * at once, each with the source span of the node it is about. Produces plain values and a span
 * index by path for the semantic checks that follow (check-policy.ts). Never throws on input.
 */
import { isAlias, isMap, isScalar, isSeq, parseDocument, visit, type Document, type Node, type Pair } from 'yaml'
import { parseJsonNodes } from './parse-json-nodes.ts'
import { diagnostic, type Diagnostic, type Span } from '../diagnostics/diagnostic.ts'
import { SourceText } from '../diagnostics/render-diagnostic.ts'
import { didYouMean } from '../util/did-you-mean.ts'
import type { DiagnosticCode } from '../diagnostics/codes.ts'
import type { Field, Spec } from './policy-schema.ts'

export type Path = readonly (string | number)[]

/** Where nodes are in the source, by path: the span of a value, or of the key that introduces it. */
export interface Spans {
  /** The span of the value at `path`, else of the nearest ancestor that has one. */
  get(path: Path): Span | undefined
  /** The span of the key that introduces `path` (for "unknown key" and "missing key" problems). */
  keyOf(path: Path): Span | undefined
}

/** Spans recorded eagerly by path (for parsers that build no tree, such as the audit's JSON reader). */
export class SpanIndex implements Spans {
  readonly #spans = new Map<string, Span>()

  static key(path: Path): string {
    return path.join('\u0000')
  }

  set(path: Path, span: Span): void {
    this.#spans.set(SpanIndex.key(path), span)
  }

  get(path: Path): Span | undefined {
    for (let n = path.length; n >= 0; n--) {
      const s = this.#spans.get(SpanIndex.key(path.slice(0, n)))
      if (s) return s
    }
    return undefined
  }

  keyOf(path: Path): Span | undefined {
    return this.#spans.get(SpanIndex.key([...path, '#key'])) ?? this.get(path)
  }
}

/**
 * Spans looked up in the YAML tree when asked. Diagnostics are rare and documents can hold
 * 100,000 rules, so nothing is recorded per node while reading: a lookup walks the path.
 */
class YamlSpans implements Spans {
  readonly #root: Node | null

  constructor(root: Node | null) {
    this.#root = root
  }

  /** The node at `path` and the pair whose value it is, as far as the path goes. */
  #walk(path: Path): { node: Node | null | undefined; key: Node | undefined; depth: number } {
    let node: Node | null | undefined = this.#root
    let key: Node | undefined
    let depth = 0
    for (const seg of path) {
      if (seg === '#key') break
      if (isMap(node)) {
        const pair: Pair<Node, Node> | undefined = (node.items as Array<Pair<Node, Node>>).find((p) => isScalar(p.key) && String(p.key.value) === String(seg))
        if (!pair) break
        key = pair.key
        node = pair.value
      } else if (isSeq(node) && typeof seg === 'number') {
        const item = node.items[seg] as Node | undefined
        if (!item) break
        key = undefined
        node = item
      } else break
      depth++
    }
    return { node, key, depth }
  }

  get(path: Path): Span | undefined {
    if (path[path.length - 1] === '#key') return this.keyOf(path.slice(0, -1))
    for (let n = path.length; n >= 0; n--) {
      const { node, depth } = this.#walk(path.slice(0, n))
      if (depth === n) {
        const span = spanOf(node)
        if (span) return span
      }
    }
    return undefined
  }

  keyOf(path: Path): Span | undefined {
    const { key, depth } = this.#walk(path)
    return depth === path.length && key ? spanOf(key) : this.get(path)
  }
}

export interface ReadResult {
  readonly value: unknown
  readonly spans: Spans
  readonly diagnostics: Diagnostic[]
}

function spanOf(node: Node | null | undefined): Span | undefined {
  const r = node?.range
  return r ? { start: r[0], end: r[1] } : undefined
}

/** A string value longer than this is cut in a message (a file that is not a policy at all, e.g. a PEM, would be echoed whole). */
const MAX_SHOWN_STRING = 60

function describe(node: Node | null | undefined): string {
  if (node === null || node === undefined) return 'nothing'
  if (isMap(node)) return 'a mapping'
  if (isSeq(node)) return 'a list'
  if (isScalar(node)) {
    const v = node.value
    if (v === null) return 'null'
    if (typeof v === 'string') return `the string ${JSON.stringify(v.length > MAX_SHOWN_STRING ? `${v.slice(0, MAX_SHOWN_STRING)}…` : v)}`
    if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v} ${String(v)}`
    return 'a tagged value'
  }
  return 'an alias or tag'
}

function shown(path: Path): string {
  let out = ''
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out === '' ? seg : `.${seg}`
  return out === '' ? 'the document' : out
}

/** Parses text and reads it against `spec`. */
export function readDocument(text: string, file: string, spec: Spec): ReadResult {
  const diagnostics: Diagnostic[] = []
  // JSON (generated policies, often large) through the fast reader; anything else, and JSON it
  // does not accept, through the YAML parser, which also words the syntax errors.
  const json = looksLikeJson(text) ? parseJsonNodes(text) : undefined
  let root: Node | null
  let failed: boolean
  let yamlDoc: Document.Parsed | undefined
  if (json) {
    root = json.root
    failed = json.duplicateKeys.length > 0
    if (failed) {
      const lines = new SourceText(file, text)
      for (const [first, start, end] of json.duplicateKeys) {
        diagnostics.push(
          diagnostic('DUPLICATE_KEY', {
            message: `Key ${text.slice(start, end)} appears twice in one mapping (first on line ${lines.position(first).line}); JSON readers would keep only one`,
            file,
            span: { start, end },
            fix: 'remove or rename one of the two',
          }),
        )
      }
    }
  } else {
    const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, strict: true })
    // One pass each over the document, only when needed (a file can have many errors).
    const duplicates = doc.errors.some((e) => e.code === 'DUPLICATE_KEY') ? duplicateKeys(doc) : undefined
    const quotes = doc.errors.some((e) => e.code === 'MISSING_CHAR') ? quotedScalarsByEnd(doc) : undefined
    const lines = duplicates ? new SourceText(file, text) : undefined
    for (const e of doc.errors) {
      const span = { start: e.pos[0], end: Math.max(e.pos[1], e.pos[0] + 1) }
      const quote = e.code === 'MISSING_CHAR' ? quotes?.get(e.pos[0]) : undefined
      if (e.code === 'DUPLICATE_KEY') {
        const dup = duplicates?.get(e.pos[0])
        const where = dup && lines ? `Key "${dup.key}" appears twice in one mapping (first on line ${lines.position(dup.first).line})` : 'A key appears twice in one mapping'
        diagnostics.push(diagnostic('DUPLICATE_KEY', { message: `${where}; YAML would keep only one`, file, span: dup?.span ?? span, fix: 'remove or rename one of the two' }))
      } else if (quote !== undefined) {
        // The parser reports an unclosed quote where the file ends; point at the quote that opens it.
        diagnostics.push(diagnostic('YAML_SYNTAX', { message: `${e.message.replace(/\.$/, '')}: the string that starts here runs to the end of the file`, file, span: { start: quote, end: quote + 1 }, fix: 'close the quote at the end of the value' }))
      } else {
        // An unquoted value cannot start with "*": YAML reads `*name` as an alias (`[*]`, `*.b.com`).
        const fix =
          text.charCodeAt(e.pos[0]) === 0x2a
            ? 'quote a value that starts with "*": \'*\', \'*.contoso.com\''
            : e.code === 'TAB_AS_INDENT'
              ? 'indent with spaces'
              : 'fix the YAML syntax at the caret'
        diagnostics.push(diagnostic('YAML_SYNTAX', { message: e.message.replace(/\.$/, ''), file, span, fix }))
      }
    }
    root = doc.contents
    failed = doc.errors.length > 0
    yamlDoc = doc
  }
  const spans = new YamlSpans(root)
  if (failed) return { value: undefined, spans, diagnostics }

  const push = (code: DiagnosticCode, path: Path, message: string, fix: string | undefined, span: Span | undefined): void => {
    const sentence = message.startsWith('the document') ? `T${message.slice(1)}` : message
    diagnostics.push(diagnostic(code, { message: sentence, file, span, path, fix }))
  }

  const read = (node: Node | null | undefined, s: Spec, path: Path, code?: DiagnosticCode): unknown => {
    const span = spanOf(node)
    if (isAlias(node) && (yamlDoc === undefined || node.resolve(yamlDoc) === undefined)) {
      // `targetFqdns: [*.contoso.com]`: YAML reads an unquoted "*" as an alias to an anchor.
      push('TYPE_MISMATCH', path, `${shown(path)} starts with "*", which YAML reads as an alias`, `quote it: "*${node.source}"`, span)
      return undefined
    }
    const isNull = node === null || node === undefined || (isScalar(node) && node.value === null)
    if (isNull && s.t !== 'string') {
      const fix = path.length === 0 ? 'write a policy; "aks-egress policy init" prints a starting one' : `give ${expected(s)}`
      push('TYPE_MISMATCH', path, `${shown(path)} is empty`, fix, span)
      return undefined
    }
    switch (s.t) {
      case 'string': {
        if (isScalar(node) && typeof node.value === 'string') {
          const v = node.value
          if (s.enum && !s.enum.includes(v)) {
            const guess = s.enum.find((x) => x.toLowerCase() === v.toLowerCase()) ?? didYouMean(v, s.enum)
            push(code ?? 'VALUE_NOT_ALLOWED', path, `${shown(path)} is "${v}"; it must be ${oneOf(s.enum)}`, guess ? `write "${guess}"` : `write ${oneOf(s.enum)}`, span)
            return undefined
          }
          return v
        }
        if (isScalar(node) && (typeof node.value === 'number' || typeof node.value === 'boolean')) {
          push('TYPE_MISMATCH', path, `${shown(path)} must be a string, not ${describe(node)}`, `quote it: "${String(node.value)}"`, span)
          return undefined
        }
        push('TYPE_MISMATCH', path, `${shown(path)} must be a string, not ${describe(node)}`, undefined, span)
        return undefined
      }
      case 'integer': {
        if (isScalar(node) && typeof node.value === 'number' && Number.isInteger(node.value)) {
          const v = node.value
          if (v < s.min || v > s.max) {
            const code = s.rangeCode ?? 'VALUE_NOT_ALLOWED'
            push(code, path, `${shown(path)} is ${v}; it must be between ${s.min} and ${s.max}`, `use a value from ${s.min} to ${s.max}`, span)
            return undefined
          }
          return v
        }
        push('TYPE_MISMATCH', path, `${shown(path)} must be an integer, not ${describe(node)}`, undefined, span)
        return undefined
      }
      case 'boolean': {
        if (isScalar(node) && typeof node.value === 'boolean') return node.value
        push('TYPE_MISMATCH', path, `${shown(path)} must be true or false, not ${describe(node)}`, undefined, span)
        return undefined
      }
      case 'port': {
        if (isScalar(node) && (typeof node.value === 'number' || typeof node.value === 'string')) return String(node.value)
        push('TYPE_MISMATCH', path, `${shown(path)} must be a port (443), a range ("1000-2000") or "*", not ${describe(node)}`, undefined, span)
        return undefined
      }
      case 'list': {
        if (!isSeq(node)) {
          const fix = isScalar(node) ? `write a list: [${JSON.stringify(node.value)}]` : undefined
          push('TYPE_MISMATCH', path, `${shown(path)} must be a list, not ${describe(node)}`, fix, span)
          return undefined
        }
        if (s.minItems !== undefined && node.items.length < s.minItems) {
          push('TYPE_MISMATCH', path, `${shown(path)} must have at least ${s.minItems} item${s.minItems === 1 ? '' : 's'}`, undefined, span)
        }
        return node.items.map((item, i) => read(item as Node, s.items, [...path, i]))
      }
      case 'map': {
        if (!isMap(node)) {
          push('TYPE_MISMATCH', path, `${shown(path)} must be a mapping, not ${describe(node)}`, undefined, span)
          return undefined
        }
        const out: Record<string, unknown> = {}
        for (const pair of node.items as Array<Pair<Node, Node>>) {
          const key = pairKey(pair, path)
          if (key === undefined) continue
          out[key] = read(pair.value, s.values, [...path, key])
        }
        return out
      }
      case 'object':
        return readObject(node, s.fields, path, span)
      case 'tagged': {
        if (!isMap(node)) {
          push('TYPE_MISMATCH', path, `${shown(path)} must be a mapping, not ${describe(node)}`, undefined, span)
          return undefined
        }
        const tagNode = node.get(s.key, true) as Node | undefined
        const tags = Object.keys(s.variants)
        if (tagNode === undefined) {
          push('MISSING_KEY', path, `${shown(path)} has no "${s.key}"`, `add "${s.key}" (one of ${tags.join(', ')})`, span)
          return undefined
        }
        const tag = isScalar(tagNode) ? tagNode.value : undefined
        const variant = typeof tag === 'string' ? s.variants[tag] : undefined
        if (!variant) {
          const guess = typeof tag === 'string' ? (tags.find((t) => t.toLowerCase() === tag.toLowerCase()) ?? didYouMean(tag, tags)) : undefined
          push(
            'VALUE_NOT_ALLOWED',
            [...path, s.key],
            `${shown([...path, s.key])} is ${typeof tag === 'string' ? `"${tag}"` : describe(tagNode)}; it must be one of ${tags.join(', ')}`,
            guess ? `write "${guess}"` : `write ${oneOf(tags)}`,
            spanOf(tagNode),
          )
          return undefined
        }
        return readObject(node, variant.fields, path, span)
      }
    }
  }

  const pairKey = (pair: Pair<Node, Node>, path: Path): string | undefined => {
    const k = pair.key
    if (isScalar(k) && (typeof k.value === 'string' || typeof k.value === 'number')) {
      const key = String(k.value)
      return key
    }
    push('TYPE_MISMATCH', path, `${shown(path)} has a key that is not a string`, undefined, spanOf(k))
    return undefined
  }

  const readObject = (node: Node | null | undefined, fields: Readonly<Record<string, Field>>, path: Path, span: Span | undefined): unknown => {
    if (!isMap(node)) {
      push('TYPE_MISMATCH', path, `${shown(path)} must be a mapping, not ${describe(node)}`, undefined, span)
      return undefined
    }
    const out: Record<string, unknown> = {}
    const names = Object.keys(fields)
    // Keys an unknown key is a likely typo of: their "missing" report would say the same again.
    const guessed = new Set<string>()
    for (const pair of node.items as Array<Pair<Node, Node>>) {
      const key = pairKey(pair, path)
      if (key === undefined) continue
      const field = fields[key]
      if (!field) {
        const guess = didYouMean(key, names)
        if (guess !== undefined) guessed.add(guess)
        push(
          'UNKNOWN_KEY',
          [...path, key],
          `Unknown key "${key}" in ${shown(path)}`,
          guess ? `did you mean "${guess}"?` : `the keys here are: ${names.join(', ')}`,
          spanOf(pair.key),
        )
        continue
      }
      const v = read(pair.value, field.spec, [...path, key], field.code)
      if (v !== undefined) out[key] = v
      else out[key] = INVALID
    }
    for (const [key, field] of Object.entries(fields)) {
      if (field.required && !(key in out) && !guessed.has(key)) {
        push(field.code ?? 'MISSING_KEY', [...path, key], `${shown(path)} has no "${key}"`, missingFix(key, field.spec), keyLineSpan(node, span))
      }
    }
    return out
  }

  const value = read(root, spec, [])
  return { value, spans, diagnostics }
}

/** A marker for a value that was present but invalid (already reported); checks skip it. */
export const INVALID: unique symbol = Symbol('invalid value')

/** For a missing key: the first key of the mapping (a caret at the start of its block). */
function keyLineSpan(node: Node, span: Span | undefined): Span | undefined {
  if (isMap(node)) {
    const first = node.items[0] as Pair<Node, Node> | undefined
    const ks = spanOf(first?.key)
    if (ks) return ks
  }
  return span
}

/** "one of a, b, c", or the value itself when only one is allowed. */
function oneOf(values: readonly string[]): string {
  return values.length === 1 ? (values[0] ?? '') : `one of ${values.join(', ')}`
}

/** The fix of a missing key: the line to write when only one value is allowed, else what it holds. */
function missingFix(key: string, s: Spec): string {
  if (s.t === 'string' && s.enum?.length === 1) return `add "${key}: ${s.enum[0] ?? ''}"`
  return `add "${key}" (${s.description.replace(/\.$/, '')})`
}

/** Every repeated key of every mapping, by the offset where it starts: its text, span, and where the first one starts. */
function duplicateKeys(doc: Document): Map<number, { key: string; span: Span; first: number }> {
  const found = new Map<number, { key: string; span: Span; first: number }>()
  visit(doc, {
    Map(_, map) {
      const firsts = new Map<unknown, number>()
      for (const pair of map.items) {
        const k = pair.key
        if (!isScalar(k) || !k.range) continue
        const first = firsts.get(k.value)
        if (first === undefined) firsts.set(k.value, k.range[0])
        else found.set(k.range[0], { key: String(k.value), span: { start: k.range[0], end: k.range[1] }, first })
      }
    },
  })
  return found
}

/** The start of every quoted scalar, by the offset where it ends (an unclosed one ends where the parser gave up). */
function quotedScalarsByEnd(doc: Document): Map<number, number> {
  const found = new Map<number, number>()
  visit(doc, {
    Scalar(_, node) {
      if ((node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE') && node.range) found.set(node.range[1], node.range[0])
    },
  })
  return found
}

function expected(s: Spec): string {
  switch (s.t) {
    case 'string':
      return s.enum ? `one of ${s.enum.join(', ')}` : 'a string'
    case 'integer':
      return `an integer from ${s.min} to ${s.max}`
    case 'boolean':
      return 'true or false'
    case 'port':
      return 'a port'
    case 'list':
      return 'a list'
    case 'map':
    case 'object':
    case 'tagged':
      return 'a mapping'
  }
}

/** The first character that is not white space opens a JSON object or array. */
function looksLikeJson(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0xfeff) continue
    return c === 0x7b || c === 0x5b
  }
  return false
}
