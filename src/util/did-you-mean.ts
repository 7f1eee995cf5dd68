/**
 * @module "Did you mean" suggestions: the closest known word by edit distance, if close enough.
 */

/** Levenshtein distance, O(a·b) time and O(b) memory; inputs are short identifiers. */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0
  const row = new Array<number>(b.length + 1)
  for (let j = 0; j <= b.length; j++) row[j] = j
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] ?? 0
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] ?? 0
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1
      row[j] = Math.min(above + 1, (row[j - 1] ?? 0) + 1, diagonal + cost)
      diagonal = above
    }
  }
  return row[b.length] ?? 0
}

/**
 * The known word closest to `input`, when the distance is at most a third of the longer word
 * (at least 1, at most 3), compared case-insensitively; undefined when nothing is close.
 * @example didYouMean('westeurop', ['westeurope', 'northeurope']) // 'westeurope'
 */
export function didYouMean(input: string, known: Iterable<string>): string | undefined {
  const needle = input.toLowerCase()
  let best: string | undefined
  let bestDistance = Infinity
  for (const word of known) {
    const d = editDistance(needle, word.toLowerCase())
    const limit = Math.min(3, Math.max(1, Math.floor(Math.max(needle.length, word.length) / 3)))
    if (d <= limit && d < bestDistance) {
      best = word
      bestDistance = d
    }
  }
  return best
}
