/**
 * @module Rendering diagnostics the way compilers do (TypeScript, eemeli/yaml):
 *
 *   policy.yaml:12:9 - error FQDN_NOT_NORMALIZED: Name "MCR.microsoft.com" is not in normal form
 *     12 |         targetFqdns: [MCR.microsoft.com]
 *        |                       ^^^^^^^^^^^^^^^^^
 *     fix: write "mcr.microsoft.com"
 *
 * Columns count UTF-16 code units from 1, as editors' "go to line:column" expects.
 */
import type { Diagnostic } from './diagnostic.ts'

/** A source text with its line starts, for offset → line:column. */
export class SourceText {
  readonly name: string
  readonly text: string
  readonly #lineStarts: number[]

  constructor(name: string, text: string) {
    this.name = name
    this.text = text
    this.#lineStarts = [0]
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 0x0a) this.#lineStarts.push(i + 1)
  }

  /** 1-based line and column of an offset. */
  position(offset: number): { line: number; column: number } {
    const o = Math.max(0, Math.min(offset, this.text.length))
    let lo = 0
    let hi = this.#lineStarts.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if ((this.#lineStarts[mid] ?? 0) <= o) lo = mid
      else hi = mid - 1
    }
    return { line: lo + 1, column: o - (this.#lineStarts[lo] ?? 0) + 1 }
  }

  /** The text of a 1-based line, without its line break. */
  line(line: number): string {
    const start = this.#lineStarts[line - 1] ?? this.text.length
    const next = this.#lineStarts[line]
    let end = next === undefined ? this.text.length : next - 1
    if (end > start && this.text.charCodeAt(end - 1) === 0x0d) end--
    return this.text.slice(start, end)
  }
}

const MAX_SNIPPET = 100

/** One diagnostic as text; `source` gives the line and caret when the diagnostic has a span. */
export function renderDiagnostic(d: Diagnostic, source?: SourceText): string {
  const head = `${d.severity} ${d.code}: ${d.message}`
  if (!source || !d.span) {
    const lines = [d.file === undefined ? head : `${d.file} - ${head}`]
    if (d.fix !== undefined) lines.push(`  fix: ${d.fix}`)
    return lines.join('\n')
  }
  const { line, column } = source.position(d.span.start)
  const lines = [`${source.name}:${line}:${column} - ${head}`]
  const text = source.line(line)
  const end = source.position(Math.max(d.span.start, d.span.end)).line === line ? source.position(d.span.end).column : text.length + 1
  let shown = text
  let caretStart = column - 1
  let caretLength = Math.max(1, end - column)
  if (shown.length > MAX_SNIPPET) {
    // Keep the caret in view: show a window around it.
    const from = Math.max(0, Math.min(caretStart - 20, shown.length - MAX_SNIPPET))
    shown = `…${shown.slice(from, from + MAX_SNIPPET)}…`
    caretStart = caretStart - from + 1
    caretLength = Math.min(caretLength, MAX_SNIPPET - (caretStart - 1))
  }
  const gutter = String(line)
  lines.push(`  ${gutter} | ${shown}`)
  lines.push(`  ${' '.repeat(gutter.length)} | ${' '.repeat(Math.max(0, caretStart))}${'^'.repeat(Math.max(1, caretLength))}`)
  if (d.fix !== undefined) lines.push(`  fix: ${d.fix}`)
  return lines.join('\n')
}

/** Every diagnostic, then a summary line ("2 errors, 1 warning"). */
export function renderDiagnostics(diagnostics: readonly Diagnostic[], sources: ReadonlyMap<string, SourceText> = new Map()): string {
  const parts = diagnostics.map((d) => renderDiagnostic(d, d.file === undefined ? undefined : sources.get(d.file)))
  const errors = diagnostics.filter((d) => d.severity === 'error').length
  const warnings = diagnostics.length - errors
  if (diagnostics.length > 0) {
    parts.push(`${errors} ${errors === 1 ? 'error' : 'errors'}, ${warnings} ${warnings === 1 ? 'warning' : 'warnings'}`)
  }
  return parts.join('\n\n')
}
