/**
 * @module Splicing a suite's results into docs/benchmarks.md between its markers
 * (`<!-- bench:NAME:start -->` … `<!-- bench:NAME:end -->`). Everything outside the markers is
 * hand-written and kept as it is; a suite without markers yet gets them appended at the end.
 */

export function startMarker(suite: string): string {
  return `<!-- bench:${suite}:start -->`
}

export function endMarker(suite: string): string {
  return `<!-- bench:${suite}:end -->`
}

/** Returns `doc` with the text between the suite's markers replaced by `body`. */
export function spliceSection(doc: string, suite: string, body: string): string {
  const start = startMarker(suite)
  const end = endMarker(suite)
  const block = `${start}\n${body.trim()}\n${end}`
  const i = doc.indexOf(start)
  const j = doc.indexOf(end)
  if (i === -1 && j === -1) return `${doc.trimEnd()}\n\n${block}\n`
  if (i === -1 || j === -1 || j < i || doc.indexOf(start, i + 1) !== -1 || doc.indexOf(end, j + 1) !== -1) {
    throw new Error(`docs/benchmarks.md: the markers of suite "${suite}" are unbalanced; fix them by hand`)
  }
  return doc.slice(0, i) + block + doc.slice(j + end.length)
}
