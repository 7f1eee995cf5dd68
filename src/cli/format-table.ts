/**
 * @module Tabular output: aligned text tables, CSV (RFC 4180) and Markdown tables.
 */

export interface TableOptions {
  /** Terminal width: when given, the last column is cut to fit (with "…"). */
  readonly width?: number | undefined
}

/** An aligned text table with a header row. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[], options: TableOptions = {}): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const lastIndex = header.length - 1
  const fixed = widths.slice(0, lastIndex).reduce((a, b) => a + b + 2, 0)
  const cut = (text: string, i: number): string => {
    if (i !== lastIndex || options.width === undefined) return text
    const room = Math.max(20, options.width - fixed)
    return text.length > room ? `${text.slice(0, room - 1)}…` : text
  }
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === lastIndex ? cut(c, i) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd()
  return [line(header), ...rows.map(line)].join('\n') + '\n'
}

function csvCell(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

/** CSV with a header row, CRLF line ends (RFC 4180 §2). */
export function formatCsv(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n'
}

function mdCell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')
}

/** A GitHub-flavoured Markdown table. */
export function formatMarkdown(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.map(mdCell).join(' | ')} |`
  return [line(header), `|${header.map(() => '---').join('|')}|`, ...rows.map(line)].join('\n') + '\n'
}
