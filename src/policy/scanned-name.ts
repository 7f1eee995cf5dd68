/**
 * @module A host name read once, right to left, for the engine's hash indexes (fqdn-index.ts).
 *
 * One pass over the raw name (TLS SNI, HTTP Host, CONNECT host) does what `canonicalHost` does —
 * the same validity rules, lower-casing, one trailing dot dropped (a property test holds the two
 * to the same answers) — and, at the same time, records for every position `i` the hash of the
 * lower-cased suffix `name[i..]`. Every lookup the FQDN index makes is a question about a suffix
 * (the whole name for exact patterns, `b.com` for `*.b.com`, `xb.com` for `*xb.com`), so after
 * this pass every probe is one array read of a hash that is already there: no substring, no
 * lower-cased copy, no second hash of the same characters.
 *
 * The hash reads the suffix from its end: FNV-1a over the characters in reverse, so that
 * `hash(name[i..])` is one step from `hash(name[i+1..])`. Patterns are hashed with the same
 * function at compile time (`suffixHash`). Hits are always confirmed against the characters
 * (`lower`), so the hash only has to spread keys, never to be collision-free.
 *
 * Instances are scratch space: the engine keeps one per name it reads and refills it per
 * decision. Single-threaded, synchronous use only.
 */
import { MAX_LABEL_LENGTH, MAX_NAME_LENGTH } from './fqdn.ts'

export const NAME_HASH_SEED = 0x811c9dc5 | 0

/** One FNV-1a step: the hash of `c` followed (to its right) by the suffix hashed as `h`. */
export function nameHashStep(h: number, c: number): number {
  return Math.imul(h ^ c, 0x01000193)
}

/** The hash of `text[start..]` (already in normal form), as `ScannedName` computes it per position. */
export function suffixHash(text: string, start = 0): number {
  let h = NAME_HASH_SEED
  for (let i = text.length - 1; i >= start; i--) h = nameHashStep(h, text.charCodeAt(i))
  return h
}

const C_DOT = 0x2e
const C_HYPHEN = 0x2d
const C_UNDERSCORE = 0x5f
const C_X = 0x78

export class ScannedName {
  /** Lower-cased characters of the name (trailing dot dropped), `length` of them. */
  readonly lower = new Uint8Array(MAX_NAME_LENGTH)
  /** `hashes[i]`: the hash of `lower[i..length)`. */
  readonly hashes = new Int32Array(MAX_NAME_LENGTH)
  /**
   * Start of each label, right to left: `labelStarts[0]` is the last label's, `labelStarts[labels - 1]`
   * is 0. The suffix at `labelStarts[k]` is the name without its `labels - 1 - k` leftmost labels.
   */
  readonly labelStarts = new Int32Array((MAX_NAME_LENGTH + 1) >> 1)
  length = 0
  labels = 0

  /**
   * Reads `raw`. Returns false, leaving the instance unusable until the next scan, when `raw` is
   * not a valid host name by the rules of `canonicalHost` (fqdn.ts). Allocates nothing.
   */
  scan(raw: string): boolean {
    let len = raw.length
    if (len > 0 && raw.charCodeAt(len - 1) === C_DOT) len--
    if (len === 0 || len > MAX_NAME_LENGTH) return false
    const lower = this.lower
    const hashes = this.hashes
    const starts = this.labelStarts
    let h = NAME_HASH_SEED
    let labels = 0
    let labelEnd = len
    for (let i = len - 1; i >= 0; i--) {
      let c = raw.charCodeAt(i)
      if (c === C_DOT) {
        // The label [i + 1, labelEnd) is complete.
        const first = i + 1
        if (first === labelEnd || labelEnd - first > MAX_LABEL_LENGTH) return false
        if (lower[first] === C_HYPHEN || lower[labelEnd - 1] === C_HYPHEN) return false
        starts[labels++] = first
        labelEnd = i
      } else if (c >= 0x61 && c <= 0x7a) {
        // a-z: as is
      } else if (c >= 0x41 && c <= 0x5a) {
        c += 0x20
      } else if (!((c >= 0x30 && c <= 0x39) || c === C_HYPHEN || c === C_UNDERSCORE)) {
        return false
      }
      lower[i] = c
      h = nameHashStep(h, c)
      hashes[i] = h
    }
    if (labelEnd === 0 || labelEnd > MAX_LABEL_LENGTH) return false
    if (lower[0] === C_HYPHEN || lower[labelEnd - 1] === C_HYPHEN) return false
    starts[labels++] = 0
    if (isNumericLabel(lower, starts[0]!, len)) return false
    this.length = len
    this.labels = labels
    return true
  }

  /**
   * True when `lower[start..length)` is the text (normal form) stored at `textAt` in `text`: its
   * length in one byte, then its characters (suffix-table.ts).
   */
  suffixEquals(start: number, text: Uint8Array, textAt: number): boolean {
    const length = text[textAt]!
    if (this.length - start !== length) return false
    const lower = this.lower
    const from = textAt + 1 - start
    for (let k = start; k < this.length; k++) if (lower[k] !== text[from + k]) return false
    return true
  }

  /** The name in normal form, as a string (for tests and messages; allocates). */
  text(): string {
    let s = ''
    for (let i = 0; i < this.length; i++) s += String.fromCharCode(this.lower[i]!)
    return s
  }
}

/**
 * The last label all digits, or `0x` and hex digits: resolvers read such a name as an IPv4
 * address (`127.1`, `0x7f.1`), so it is not a name (see `canonicalHost`). A dotted quad ends in
 * an all-digit label, so this also rejects those.
 */
function isNumericLabel(lower: Uint8Array, start: number, end: number): boolean {
  let digits = true
  for (let i = start; i < end; i++) {
    const c = lower[i]!
    if (c < 0x30 || c > 0x39) {
      digits = false
      break
    }
  }
  if (digits) return true
  if (end - start <= 2 || lower[start] !== 0x30 || lower[start + 1] !== C_X) return false
  for (let i = start + 2; i < end; i++) {
    const c = lower[i]!
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false
  }
  return true
}
