/**
 * @module The pieces of an HTTP/1.x head that requests and responses share (RFC 9112 §5, RFC 9110
 * §5): tchar, field lines, Content-Length digits and Connection tokens. Used by the request-head
 * parser (http-head.ts) and the response-head parser (response-head.ts), so that both refuse the
 * same things in the same words. No regular expressions; nothing here throws on input.
 */

const SP = 0x20
const HTAB = 0x09
const COLON = 0x3a

/** More digits than this is not a length any proxy should believe (and stays an exact integer). */
export const MAX_CONTENT_LENGTH_DIGITS = 15

/** RFC 9110 §5.6.2 tchar. */
export function isTchar(c: number): boolean {
  if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) return true
  switch (c) {
    case 0x21: // !
    case 0x23: // #
    case 0x24: // $
    case 0x25: // %
    case 0x26: // &
    case 0x27: // '
    case 0x2a: // *
    case 0x2b: // +
    case 0x2d: // -
    case 0x2e: // .
    case 0x5e: // ^
    case 0x5f: // _
    case 0x60: // `
    case 0x7c: // |
    case 0x7e: // ~
      return true
    default:
      return false
  }
}

/**
 * One field line, `field-name ":" OWS field-value OWS` (RFC 9112 §5), from `s` to `e` of the
 * head's latin1 text (the CR excluded): `[name, value]` as sent (the value without the surrounding
 * whitespace), or why it is refused: obs-fold (§5.2), an empty or non-token name, whitespace
 * before the colon (§5.1, a MUST), a control character in the value (RFC 9110 §5.5). The head is
 * decoded once by the caller: its names and values are then slices of one string, where a native
 * decode per name and per value cost about 0.4 µs each.
 */
export function parseFieldLine(text: string, s: number, e: number): readonly [string, string] | string {
  const first = text.charCodeAt(s)
  if (first === SP || first === HTAB) return 'obsolete line folding'
  let q = s
  while (q < e && isTchar(text.charCodeAt(q))) q++
  if (q === s) return 'empty or invalid field name'
  if (q >= e || text.charCodeAt(q) !== COLON) return 'invalid character in field name or before the colon'
  const name = text.slice(s, q)
  let vs = q + 1
  let ve = e
  while (vs < ve && (text.charCodeAt(vs) === SP || text.charCodeAt(vs) === HTAB)) vs++
  while (ve > vs && (text.charCodeAt(ve - 1) === SP || text.charCodeAt(ve - 1) === HTAB)) ve--
  for (let i = vs; i < ve; i++) {
    const c = text.charCodeAt(i)
    if ((c < SP && c !== HTAB) || c === 0x7f) return `control character in field ${name}`
  }
  return [name, text.slice(vs, ve)]
}

/** A Content-Length value of digits only (RFC 9110 §8.6), at most MAX_CONTENT_LENGTH_DIGITS; -1 otherwise. */
export function parseLengthDigits(digits: string): number {
  if (digits.length === 0 || digits.length > MAX_CONTENT_LENGTH_DIGITS) return -1
  let n = 0
  for (let i = 0; i < digits.length; i++) {
    const c = digits.charCodeAt(i)
    if (c < 0x30 || c > 0x39) return -1
    n = n * 10 + (c - 0x30)
  }
  return n
}

/** Appends the tokens of a Connection field value (RFC 9110 §7.6.1), lower case, empty elements skipped. */
export function addConnectionTokens(value: string, into: string[]): void {
  for (const part of value.split(',')) {
    const t = part.trim().toLowerCase()
    if (t.length > 0) into.push(t)
  }
}
