/**
 * @module "Did you mean" suggestions: the closest known word by edit distance, if close enough.
 */

/**
 * Optimal string alignment distance: insertions, deletions, substitutions and transpositions of
 * two adjacent characters each count one (so `UPD` is one edit from `UDP`). O(a·b) time and
 * memory; inputs are short identifiers.
 */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0
  const width = b.length + 1
  const d = new Array<number>((a.length + 1) * width).fill(0)
  const at = (i: number, j: number): number => d[i * width + j] ?? 0
  for (let i = 0; i <= a.length; i++) d[i * width] = i
  for (let j = 0; j <= b.length; j++) d[j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost)
      if (i > 1 && j > 1 && a.charCodeAt(i - 1) === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === b.charCodeAt(j - 1)) {
        best = Math.min(best, at(i - 2, j - 2) + 1)
      }
      d[i * width + j] = best
    }
  }
  return at(a.length, b.length)
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
