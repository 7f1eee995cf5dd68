/**
 * @module Reading a log file as a stream of rows, in bounded memory whatever its size:
 * - JSON lines (Log Analytics "JSON" per line, the aks-egress decision log): line by line;
 * - a top-level JSON array (Log Analytics export) or a `{"records": [...]}` document (diagnostic
 *   settings to Storage / Event Hubs): a character-level splitter hands out one element at a time;
 * - CSV with a header row (Log Analytics "Export to CSV"): an RFC 4180 state machine, quoted
 *   fields may hold commas, quotes and line breaks;
 * - plain AzureDiagnostics `msg` lines ("HTTPS request from ..."): line by line.
 * The format is detected from the file's first bytes. Every line, row and element is capped
 * (`MAX_RECORD_CHARS`); a longer one is skipped and reported, never buffered.
 */
import { createReadStream } from 'node:fs'

export type LogFormat = 'json-lines' | 'json-array' | 'csv' | 'msg-lines'

/** The longest line, row or array element read; longer ones are skipped as invalid. */
export const MAX_RECORD_CHARS = 1024 * 1024

export type RawRow =
  | { readonly ok: true; readonly line: number; readonly value: Readonly<Record<string, unknown>> | string }
  | { readonly ok: false; readonly line: number; readonly problem: string }

export interface ReadProgress {
  bytesRead: number
  readonly totalBytes: number
}

const KNOWN_COLUMNS = ['timegenerated', 'msg_s', 'fqdn', 'sourceip', 'queryname', 'action', 'category', 'operationname', 'type']

/** Detects the format from the first chunk of a file; undefined when it is none of them. */
export function detectLogFormat(head: string): LogFormat | undefined {
  const text = head.replace(/^\uFEFF/, '')
  const first = text.trimStart()[0]
  if (first === '[') return 'json-array'
  if (first === '{') {
    const line = text.trimStart().split('\n', 1)[0] ?? ''
    try {
      JSON.parse(line)
      return 'json-lines'
    } catch {
      return 'json-array' // an object spanning lines: `{"records": [...]}`
    }
  }
  const line = (text.trimStart().split('\n', 1)[0] ?? '').replace(/\r$/, '')
  if (/ request from |^DNS Request: |^Error: \d+ /.test(line)) return 'msg-lines'
  const header = line.split(',').map((h) => h.replace(/^"|"$/g, '').replace(/ \[UTC\]$/, '').toLowerCase())
  if (header.length > 1 && header.some((h) => KNOWN_COLUMNS.includes(h))) return 'csv'
  return undefined
}

/** Splits text into lines across chunks, skipping (and reporting) lines over the cap. */
class LineSplitter {
  #partial = ''
  #tooLong = false
  // The `;` ends this field: without it, the generator method's `*` below would continue it.
  line = 0;

  *push(chunk: string): Generator<{ line: number; text: string } | { line: number; tooLong: true }> {
    let start = 0
    while (true) {
      const nl = chunk.indexOf('\n', start)
      if (nl === -1) {
        if (!this.#tooLong) {
          this.#partial += chunk.slice(start)
          if (this.#partial.length > MAX_RECORD_CHARS) {
            this.#tooLong = true
            this.#partial = ''
          }
        }
        return
      }
      this.line++
      if (this.#tooLong) {
        yield { line: this.line, tooLong: true }
        this.#tooLong = false
      } else {
        const text = this.#partial + chunk.slice(start, nl)
        this.#partial = ''
        if (text.length > MAX_RECORD_CHARS) yield { line: this.line, tooLong: true }
        else yield { line: this.line, text: text.endsWith('\r') ? text.slice(0, -1) : text }
      }
      start = nl + 1
    }
  }

  *end(): Generator<{ line: number; text: string } | { line: number; tooLong: true }> {
    if (this.#tooLong) yield { line: ++this.line, tooLong: true }
    else if (this.#partial !== '') yield { line: ++this.line, text: this.#partial }
    this.#partial = ''
  }
}

/**
 * Hands out the elements of a top-level JSON array, or of the first array directly inside a
 * top-level object (`{"records": [...]}`), as text, one at a time. Tracks strings and escapes so
 * that brackets inside strings do not count.
 */
export class JsonArraySplitter {
  readonly #stack: string[] = []
  #inString = false
  #escape = false
  #elementsDepth = -1
  #buf = ''
  #capturing = false
  #tooLong = false
  #startLine = 0
  // The `;` ends this field: without it, the generator method's `*` below would continue it.
  line = 1;

  *push(chunk: string): Generator<{ line: number; text: string } | { line: number; tooLong: true }> {
    let from = 0
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i)
      if (c === 0x0a) this.line++
      if (this.#inString) {
        if (this.#escape) this.#escape = false
        else if (c === 0x5c) this.#escape = true
        else if (c === 0x22) this.#inString = false
        continue
      }
      if (c === 0x22) {
        this.#inString = true
        continue
      }
      if (c === 0x7b || c === 0x5b) {
        // { or [
        if (c === 0x5b && this.#elementsDepth === -1 && (this.#stack.length === 0 || (this.#stack.length === 1 && this.#stack[0] === '{'))) {
          this.#elementsDepth = this.#stack.length + 1
        } else if (c === 0x7b && this.#stack.length === this.#elementsDepth && !this.#capturing) {
          this.#capturing = true
          this.#tooLong = false
          this.#buf = ''
          this.#startLine = this.line
          from = i
        }
        this.#stack.push(c === 0x7b ? '{' : '[')
        continue
      }
      if (c === 0x7d || c === 0x5d) {
        this.#stack.pop()
        if (this.#capturing && this.#stack.length === this.#elementsDepth) {
          this.#capturing = false
          if (this.#tooLong || this.#buf.length + (i + 1 - from) > MAX_RECORD_CHARS) yield { line: this.#startLine, tooLong: true }
          else yield { line: this.#startLine, text: this.#buf + chunk.slice(from, i + 1) }
          this.#buf = ''
        }
      }
    }
    if (this.#capturing && !this.#tooLong) {
      this.#buf += chunk.slice(from)
      if (this.#buf.length > MAX_RECORD_CHARS) {
        this.#tooLong = true
        this.#buf = ''
      }
    }
  }
}

/** RFC 4180 rows across chunks; quoted fields may hold `,`, `""` and line breaks. */
export class CsvSplitter {
  #field = ''
  #row: string[] = []
  #rowChars = 0
  #quoted = false
  #afterQuote = false
  #tooLong = false
  #rowLine = 1
  // The `;` ends this field: without it, the generator method's `*` below would continue it.
  line = 1;

  *push(chunk: string): Generator<{ line: number; fields: string[] } | { line: number; tooLong: true }> {
    for (let i = 0; i < chunk.length; i++) {
      const ch = chunk[i]!
      if (this.#quoted) {
        if (ch === '"') {
          if (chunk[i + 1] === '"') {
            this.#add('"')
            i++
          } else if (i + 1 === chunk.length) {
            // A quote at the end of the chunk: decided by the next chunk's first character.
            this.#quoted = false
            this.#afterQuote = true
          } else this.#quoted = false
        } else {
          if (ch === '\n') this.line++
          this.#add(ch)
        }
        continue
      }
      if (this.#afterQuote) {
        this.#afterQuote = false
        if (ch === '"') {
          this.#quoted = true
          this.#add('"')
          continue
        }
      }
      if (ch === '"' && this.#field === '') this.#quoted = true
      else if (ch === ',') this.#endField()
      else if (ch === '\n') {
        this.line++
        const row = this.#endRow()
        if (row) yield row
      } else if (ch !== '\r') this.#add(ch)
    }
  }

  *end(): Generator<{ line: number; fields: string[] } | { line: number; tooLong: true }> {
    if (this.#field !== '' || this.#row.length > 0) {
      const row = this.#endRow()
      if (row) yield row
    }
  }

  #add(ch: string): void {
    if (this.#tooLong) return
    this.#rowChars++
    if (this.#rowChars > MAX_RECORD_CHARS) {
      this.#tooLong = true
      this.#field = ''
      this.#row = []
      return
    }
    this.#field += ch
  }

  #endField(): void {
    if (!this.#tooLong) this.#row.push(this.#field)
    this.#field = ''
  }

  #endRow(): { line: number; fields: string[] } | { line: number; tooLong: true } | undefined {
    this.#endField()
    const line = this.#rowLine
    this.#rowLine = this.line
    const tooLong = this.#tooLong
    const row = this.#row
    this.#row = []
    this.#rowChars = 0
    this.#tooLong = false
    if (tooLong) return { line, tooLong: true }
    if (row.length === 1 && row[0] === '') return undefined // blank line
    return { line, fields: row }
  }
}

/** The rows of a log file, in order, with the detected format. */
export async function* readLogRows(path: string, format: LogFormat, progress?: ReadProgress): AsyncGenerator<RawRow> {
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 64 * 1024 })
  let first = true
  const lines = new LineSplitter()
  const array = new JsonArraySplitter()
  const csv = new CsvSplitter()
  let header: string[] | undefined
  const tooLong = (line: number): RawRow => ({ ok: false, line, problem: `longer than ${MAX_RECORD_CHARS} characters` })

  function* fromLine(item: { line: number; text: string } | { line: number; tooLong: true }): Generator<RawRow> {
    if ('tooLong' in item) {
      yield tooLong(item.line)
      return
    }
    const text = item.text.trim()
    if (text === '') return
    if (format === 'msg-lines') {
      yield { ok: true, line: item.line, value: text }
      return
    }
    try {
      const v: unknown = JSON.parse(text)
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) yield { ok: true, line: item.line, value: v as Record<string, unknown> }
      else yield { ok: false, line: item.line, problem: 'not a JSON object' }
    } catch (e) {
      yield { ok: false, line: item.line, problem: `not JSON: ${e instanceof Error ? e.message : String(e)}` }
    }
  }

  function* fromCsv(item: { line: number; fields: string[] } | { line: number; tooLong: true }): Generator<RawRow> {
    if ('tooLong' in item) {
      yield tooLong(item.line)
      return
    }
    if (!header) {
      header = item.fields.map((h) => h.trim())
      return
    }
    if (item.fields.length !== header.length) {
      yield { ok: false, line: item.line, problem: `${item.fields.length} fields where the header has ${header.length}` }
      return
    }
    const row: Record<string, unknown> = {}
    header.forEach((h, i) => {
      row[h] = item.fields[i]
    })
    yield { ok: true, line: item.line, value: row }
  }

  for await (const raw of stream) {
    let chunk = raw as string
    if (progress) progress.bytesRead += Buffer.byteLength(chunk)
    if (first) {
      chunk = chunk.replace(/^\uFEFF/, '')
      first = false
    }
    switch (format) {
      case 'json-lines':
      case 'msg-lines':
        for (const item of lines.push(chunk)) yield* fromLine(item)
        break
      case 'json-array':
        for (const item of array.push(chunk)) yield* fromLine(item)
        break
      case 'csv':
        for (const item of csv.push(chunk)) yield* fromCsv(item)
        break
    }
  }
  if (format === 'json-lines' || format === 'msg-lines') for (const item of lines.end()) yield* fromLine(item)
  if (format === 'csv') for (const item of csv.end()) yield* fromCsv(item)
}
