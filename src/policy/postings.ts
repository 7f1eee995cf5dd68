/**
 * @module Postings: the rule ordinals an index key stands for, as one `int32` reference.
 *
 * An index entry (an FQDN pattern, a CIDR block, a service tag) names the rules, by ordinal
 * (processing position), that list it. Most name one rule, so a reference is:
 * - `NO_RULES` (-1): none;
 * - `ordinal` (>= 0): exactly that rule;
 * - `-2 - offset` (<= -2): a list at `offset` in the shared `Int32Array`: its length, then the
 *   ordinals in ascending order (repeats removed).
 * A lookup then hands the engine plain integers: no array object per entry to chase, and the
 * one-rule case costs no read at all.
 */

export const NO_RULES = -1

/**
 * `covers(a, b)`, for `a < b`: rule `a` takes every flow rule `b` takes (of those that reach
 * them by the same index key). Then `b` can never be the first rule of a list that holds `a`.
 */
export type Covers = (a: number, b: number) => boolean

/** Earlier ordinals of a list compared with each later one by `covers` (a bound on the work). */
const COVER_CHECKS = 8

export class PostingsBuilder {
  #data: number[] = []
  readonly #covers: Covers | undefined

  /**
   * With `covers`, each list leaves out the rules an earlier rule of the list covers: they cannot
   * decide a flow (the engine takes the first rule that takes it), and a list cut to one rule
   * needs no read of the lists at all.
   */
  constructor(covers?: Covers) {
    this.#covers = covers
  }

  /** The reference of a list of ordinals (sorted here; repeats, and rules covered by an earlier one, dropped). */
  add(ordinals: readonly number[]): number {
    if (ordinals.length === 0) return NO_RULES
    const sorted = ordinals.length === 1 ? ordinals : [...ordinals].sort((a, b) => a - b)
    const unique: number[] = []
    const covers = this.#covers
    for (const o of sorted) {
      if (unique.length > 0 && unique[unique.length - 1] === o) continue
      if (covers !== undefined && coveredBy(covers, unique, o)) continue
      unique.push(o)
    }
    if (unique.length === 1) return unique[0]!
    const data = this.#data
    const offset = data.length
    data.push(unique.length)
    for (const o of unique) data.push(o)
    return -2 - offset
  }

  /** The lists, to read references with (`postingsOf`). */
  finish(): Int32Array {
    return Int32Array.from(this.#data)
  }
}

function coveredBy(covers: Covers, kept: readonly number[], o: number): boolean {
  const n = Math.min(kept.length, COVER_CHECKS)
  for (let i = 0; i < n; i++) if (covers(kept[i]!, o)) return true
  return false
}

/** The ordinals of `ref`, in order (for tests and diagnostics; allocates). */
export function postingsOf(ref: number, data: Int32Array): number[] {
  if (ref === NO_RULES) return []
  if (ref >= 0) return [ref]
  const offset = -2 - ref
  const count = data[offset] ?? 0
  return Array.from(data.subarray(offset + 1, offset + 1 + count))
}
