/**
 * @module JSON (RFC 8259) parsed into plain values plus the source span of every value by path,
 * so that diagnostics about an Azure export point at `file:line:column`. A recursive-descent
 * parser over the text, linear, depth-capped; no backtracking. `JSON.parse` gives no positions.
 *
 * A UTF-8 byte order mark is skipped (Windows exports carry one). Duplicate keys keep the last
 * value, as `JSON.parse` does.
 */
import type { Span } from '../diagnostics/diagnostic.ts'
import { SpanIndex, type Path } from '../config/read-document.ts'

/** Nesting deeper than this is refused (a bound on the parser's stack). */
export const MAX_JSON_DEPTH = 256

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }

export type JsonParse =
  | { readonly ok: true; readonly value: JsonValue; readonly spans: SpanIndex }
  | { readonly ok: false; readonly message: string; readonly offset: number }

class JsonSyntaxError extends Error {
  readonly offset: number
  constructor(message: string, offset: number) {
    super(message)
    this.offset = offset
  }
}

/** Parses JSON text; on failure returns the message and the offset where it failed. */
export function parseJsonWithSpans(text: string): JsonParse {
  const spans = new SpanIndex()
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0

  const ws = (): void => {
    while (i < text.length) {
      const c = text.charCodeAt(i)
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++
      else break
    }
  }
  const fail = (what: string): never => {
    const found = i >= text.length ? 'the end of the file' : JSON.stringify(text[i])
    throw new JsonSyntaxError(`Expected ${what}, found ${found}`, i)
  }

  const str = (): string => {
    const start = i
    i++ // opening quote
    let out = ''
    let chunk = i
    while (true) {
      if (i >= text.length) throw new JsonSyntaxError('Unterminated string', start)
      const c = text.charCodeAt(i)
      if (c === 0x22) {
        out += text.slice(chunk, i)
        i++
        return out
      }
      if (c < 0x20) throw new JsonSyntaxError('Control character in a string', i)
      if (c === 0x5c) {
        out += text.slice(chunk, i)
        const e = text[i + 1]
        const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' }
        if (e !== undefined && e in simple) {
          out += simple[e] ?? ''
          i += 2
        } else if (e === 'u') {
          const hex = text.slice(i + 2, i + 6)
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new JsonSyntaxError('Bad \\u escape', i)
          out += String.fromCharCode(parseInt(hex, 16))
          i += 6
        } else throw new JsonSyntaxError('Bad escape in a string', i)
        chunk = i
        continue
      }
      i++
    }
  }

  const value = (path: Path, depth: number): JsonValue => {
    if (depth > MAX_JSON_DEPTH) throw new JsonSyntaxError(`Nesting deeper than ${MAX_JSON_DEPTH}`, i)
    ws()
    const start = i
    const c = text[i]
    let v: JsonValue
    if (c === '{') {
      i++
      const obj: { [key: string]: JsonValue } = {}
      ws()
      if (text[i] === '}') i++
      else {
        while (true) {
          ws()
          if (text[i] !== '"') fail('a key in double quotes')
          const keyStart = i
          const key = str()
          spans.set([...path, key, '#key'], { start: keyStart, end: i })
          ws()
          if (text[i] !== ':') fail('":"')
          i++
          obj[key] = value([...path, key], depth + 1)
          ws()
          if (text[i] === ',') {
            i++
            continue
          }
          if (text[i] === '}') {
            i++
            break
          }
          fail('"," or "}"')
        }
      }
      v = obj
    } else if (c === '[') {
      i++
      const arr: JsonValue[] = []
      ws()
      if (text[i] === ']') i++
      else {
        while (true) {
          arr.push(value([...path, arr.length], depth + 1))
          ws()
          if (text[i] === ',') {
            i++
            continue
          }
          if (text[i] === ']') {
            i++
            break
          }
          fail('"," or "]"')
        }
      }
      v = arr
    } else if (c === '"') {
      v = str()
    } else if (text.startsWith('true', i)) {
      i += 4
      v = true
    } else if (text.startsWith('false', i)) {
      i += 5
      v = false
    } else if (text.startsWith('null', i)) {
      i += 4
      v = null
    } else {
      const m = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y
      m.lastIndex = i
      const hit = m.exec(text)
      if (!hit || hit[0] === '' || hit[0] === '-') fail('a JSON value')
      i += hit![0].length
      v = Number(hit![0])
    }
    const span: Span = { start, end: i }
    spans.set(path, span)
    return v
  }

  try {
    const v = value([], 0)
    ws()
    if (i < text.length) fail('the end of the document')
    return { ok: true, value: v, spans }
  } catch (e) {
    if (e instanceof JsonSyntaxError) return { ok: false, message: e.message, offset: e.offset }
    throw e
  }
}
