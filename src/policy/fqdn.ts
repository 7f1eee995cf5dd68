/**
 * @module Host names: the one normal form every name is compared in, and its validation.
 *
 * Normal form: lower case, no trailing dot, IDNs as A-labels (punycode, RFC 5891 via WHATWG
 * `domainToASCII`). Names are checked label by label:
 * - at most 253 octets in all and 63 per label, no empty label (RFC 1035 §2.3.4);
 * - letters, digits, `-` and `_`; `-` neither first nor last in a label (RFC 1123 §2.1). `_` is
 *   accepted anywhere because real names carry it (SRV and DKIM labels, RFC 2782, RFC 6376), as
 *   smokescreen's NormalizeHost does: an intended diversion from the strict host-name grammar.
 */
import { domainToASCII } from 'node:url'

export const MAX_NAME_LENGTH = 253
export const MAX_LABEL_LENGTH = 63

export type NameProblem =
  | 'empty'
  | 'too-long'
  | 'empty-label'
  | 'label-too-long'
  | 'bad-character'
  | 'hyphen-edge'
  | 'bad-idn'
  | 'ip-literal'

export type NormalizedName =
  | { readonly ok: true; readonly name: string }
  | { readonly ok: false; readonly problem: NameProblem; readonly detail: string }

const C_DOT = 0x2e
const C_HYPHEN = 0x2d
const C_UNDERSCORE = 0x5f

function isNameChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === C_HYPHEN || c === C_UNDERSCORE
}

/**
 * Checks a name that is already lower-case ASCII without a trailing dot. Returns undefined when
 * valid, else the problem. Linear, no regular expression.
 */
export function checkNormalName(name: string): { problem: NameProblem; detail: string } | undefined {
  if (name.length === 0) return { problem: 'empty', detail: 'the name is empty' }
  if (name.length > MAX_NAME_LENGTH) {
    return { problem: 'too-long', detail: `the name has ${name.length} characters; at most ${MAX_NAME_LENGTH} are allowed` }
  }
  let start = 0
  for (let i = 0; i <= name.length; i++) {
    const c = i === name.length ? C_DOT : name.charCodeAt(i)
    if (c === C_DOT) {
      const len = i - start
      if (len === 0) return { problem: 'empty-label', detail: 'the name has an empty label ("..", or a leading dot)' }
      if (len > MAX_LABEL_LENGTH) {
        return { problem: 'label-too-long', detail: `label "${name.slice(start, i)}" has ${len} characters; at most ${MAX_LABEL_LENGTH} are allowed` }
      }
      if (name.charCodeAt(start) === C_HYPHEN || name.charCodeAt(i - 1) === C_HYPHEN) {
        return { problem: 'hyphen-edge', detail: `label "${name.slice(start, i)}" starts or ends with "-"` }
      }
      start = i + 1
    } else if (!isNameChar(c)) {
      return { problem: 'bad-character', detail: `character ${JSON.stringify(name[i])} is not allowed in a host name` }
    }
  }
  if (looksLikeIpv4(name)) return { problem: 'ip-literal', detail: `"${name}" is an IP address, not a name` }
  if (hasNumericLastLabel(name)) {
    return { problem: 'ip-literal', detail: `"${name}" ends in a numeric label; resolvers read such names as IP addresses ("127.1", "0x7f.1", "2130706433" all mean 127.0.0.1)` }
  }
  return undefined
}

/** Four dot-separated all-digit labels: an IPv4 literal written where a name was expected. */
function looksLikeIpv4(name: string): boolean {
  let dots = 0
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i)
    if (c === C_DOT) dots++
    else if (c < 0x30 || c > 0x39) return false
  }
  return dots === 3
}

/**
 * True when the last label is all digits, or `0x` and hex digits. Top-level domains are never
 * all-numeric (RFC 3696 §2), and getaddrinfo/inet_aton read such names as IPv4 addresses in
 * shortened, octal or hex forms: a "name" like `127.1` would dial loopback. Rejected as IP literals.
 */
function hasNumericLastLabel(name: string): boolean {
  const start = name.lastIndexOf('.') + 1
  if (start >= name.length) return false
  let digits = true
  for (let i = start; i < name.length; i++) {
    const c = name.charCodeAt(i)
    if (c < 0x30 || c > 0x39) {
      digits = false
      break
    }
  }
  if (digits) return true
  if (name.length - start > 2 && name.charCodeAt(start) === 0x30 && name.charCodeAt(start + 1) === 0x78) {
    for (let i = start + 2; i < name.length; i++) {
      const c = name.charCodeAt(i)
      const hex = (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66)
      if (!hex) return false
    }
    return true
  }
  return false
}

/**
 * Brings a name written by a person (a policy file, a command line) to normal form: IDN to
 * punycode, lower case, one trailing dot removed. The caller compares the result with the input
 * to tell the user that a non-normal form was written.
 * @example normalizeName('MCR.Microsoft.com.') // { ok: true, name: 'mcr.microsoft.com' }
 */
export function normalizeName(input: string): NormalizedName {
  let name = input
  if (name.endsWith('.') && name !== '.') name = name.slice(0, -1)
  let ascii = true
  for (let i = 0; i < name.length; i++) {
    if (name.charCodeAt(i) > 0x7e) {
      ascii = false
      break
    }
  }
  if (!ascii) {
    // domainToASCII parses a URL host: it would cut "bücher.example/x" at the "/" (also "?",
    // "#", "\") and percent-decode. Only the Unicode is left to it: ASCII must be name characters.
    for (let i = 0; i < name.length; i++) {
      const c = name.charCodeAt(i)
      const lower = c >= 0x41 && c <= 0x5a ? c + 0x20 : c
      if (c <= 0x7f && c !== C_DOT && !isNameChar(lower)) {
        return { ok: false, problem: 'bad-character', detail: `character ${JSON.stringify(name[i])} is not allowed in a host name` }
      }
    }
    const converted = domainToASCII(name)
    if (converted === '') return { ok: false, problem: 'bad-idn', detail: `"${input}" is not a valid internationalised domain name` }
    name = converted
  }
  name = name.toLowerCase()
  const problem = checkNormalName(name)
  return problem ? { ok: false, ...problem } : { ok: true, name }
}

/**
 * The hot-path form of `normalizeName` for names read off the network (TLS SNI, HTTP Host, DNS
 * questions): ASCII only (RFC 6066 §3 sends A-labels), lower-cased, one trailing dot removed.
 * Returns undefined for anything that is not a valid name. Allocates only when the input is not
 * already in normal form.
 */
export function canonicalHost(host: string): string | undefined {
  let name = host
  const len = name.length
  if (len > 0 && name.charCodeAt(len - 1) === C_DOT) name = name.slice(0, len - 1)
  let upper = false
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i)
    if (c >= 0x41 && c <= 0x5a) upper = true
    else if (c > 0x7e) return undefined
  }
  if (upper) name = name.toLowerCase()
  return checkNormalName(name) === undefined ? name : undefined
}
