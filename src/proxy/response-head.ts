/**
 * @module A bounded, strict HTTP/1.x response-head parser (RFC 9112 §4, §5, §6) for persistent
 * plain-HTTP forwarding: the proxy must know where each response ends to reuse the client's and
 * the origin's connections, and any disagreement about that with a client or an origin is a
 * response-desync (response splitting / queue poisoning) bug. So the parser refuses, rather than
 * repairs, everything ambiguous. It never throws on input, uses no regular expression, and never
 * reads past `maxBytes`.
 *
 * Refused (the proxy answers 502 and discards the origin connection):
 * - a status line other than `HTTP/1.0` or `HTTP/1.1`, SP, three digits (100–599), then nothing or
 *   SP and a reason phrase without control characters; no empty lines before it;
 * - bare LF and bare CR (§2.2), obs-fold (§5.2), an empty or invalid field name, whitespace
 *   before the colon (§5.1), control characters in a value, more than MAX_RESPONSE_FIELDS fields;
 * - Content-Length that is not one field of digits only: a second Content-Length field, or a
 *   list (`5, 5`), even with equal values (§6.3 lets a recipient collapse equal values; the proxy
 *   does not, so that it never has to agree with anyone's collapsing);
 * - Transfer-Encoding whose last coding is not `chunked`, that names `chunked` twice, or whose
 *   codings are not tokens (§6.3 rule 4 would make such a response close-delimited; refused);
 *   Transfer-Encoding in an HTTP/1.0 response (§6.1: faulty framing);
 * - Transfer-Encoding together with Content-Length (§6.3 rule 3: "ought to be handled as an
 *   error"; the proxy refuses it rather than strip Content-Length and forward).
 *
 * Which body follows (§6.3) is `bodyKind()`'s answer, which needs the request method.
 */
import { addConnectionTokens, isTchar, parseFieldLine, parseLengthDigits } from './http-field.ts'
import { latin1 } from '../util/latin1.ts'

/** Fields in one response head (Set-Cookie makes responses carry more than requests). */
export const MAX_RESPONSE_FIELDS = 256

export interface HttpResponseHead {
  readonly version: '1.0' | '1.1'
  readonly status: number
  /** The reason phrase as sent (may be empty). */
  readonly reason: string
  /** Fields in order, names as sent, values without surrounding whitespace. */
  readonly headers: ReadonlyArray<readonly [string, string]>
  readonly contentLength: number | undefined
  /** Transfer-Encoding ends in `chunked` (the only accepted form). */
  readonly chunked: boolean
  /** Tokens of the Connection fields, lower case. */
  readonly connectionTokens: readonly string[]
  /** Bytes of the head, the final empty line included; the body starts here. */
  readonly headBytes: number
}

export type ResponseHeadResult =
  | { readonly kind: 'needMore' }
  | { readonly kind: 'ok'; readonly head: HttpResponseHead }
  | { readonly kind: 'tooLarge' }
  | { readonly kind: 'malformed'; readonly detail: string }

const NEED_MORE: ResponseHeadResult = Object.freeze({ kind: 'needMore' })
const TOO_LARGE: ResponseHeadResult = Object.freeze({ kind: 'tooLarge' })

function bad(detail: string): ResponseHeadResult {
  return { kind: 'malformed', detail }
}

const CR = 0x0d
const LF = 0x0a
const SP = 0x20
const HTAB = 0x09
const PREFIX = [0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e] // "HTTP/1."

/**
 * Parses the response head at the start of `buf`. `scannedBytes`: how many bytes an earlier call
 * saw without finding the end (the search resumes there: a head arriving byte by byte costs
 * linear time).
 * @example parseResponseHead(Buffer.from('HTTP/1.1 204 No Content\r\n\r\n'), 65536) // { kind: 'ok', head: { status: 204, ... } }
 */
export function parseResponseHead(buf: Uint8Array, maxBytes: number, scannedBytes = 0): ResponseHeadResult {
  const limit = Math.min(buf.length, maxBytes)
  // Bytes that cannot start a status line are refused at once (no waiting for a CRLF CRLF).
  for (let i = 0; i < PREFIX.length && i < limit; i++) if (buf[i] !== PREFIX[i]) return bad('not an HTTP/1.x status line')
  const from = Math.max(0, scannedBytes - 3)
  for (let i = from; i < limit; i++) {
    const c = buf[i]
    if (c === LF) {
      if (i === 0 || buf[i - 1] !== CR) return bad('bare LF line terminator')
      if (i >= 3 && buf[i - 2] === LF && buf[i - 3] === CR) return parseLines(buf, i + 1)
    } else if (i > 0 && buf[i - 1] === CR) {
      return bad('bare CR in the head')
    }
  }
  return buf.length >= maxBytes ? TOO_LARGE : NEED_MORE
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39
}

/** `end`: the index after the empty line. Every line ends in CR LF (checked by the caller). */
function parseLines(buf: Uint8Array, end: number): ResponseHeadResult {
  // status-line = HTTP-version SP status-code SP [ reason-phrase ]
  let eol = 0
  while (buf[eol] !== CR) eol++
  const minor = buf[7]
  if (minor !== 0x30 && minor !== 0x31) return bad('unsupported HTTP version')
  const version = minor === 0x31 ? '1.1' : '1.0'
  if (buf[8] !== SP || !isDigit(buf[9]) || !isDigit(buf[10]) || !isDigit(buf[11])) return bad('malformed status line')
  const status = (buf[9]! - 0x30) * 100 + (buf[10]! - 0x30) * 10 + (buf[11]! - 0x30)
  if (status < 100 || status > 599) return bad(`status code ${status} out of range`)
  // One native decode of the whole head; its reason phrase and fields are slices of it.
  const text = latin1(buf, 0, end)
  let reason = ''
  if (eol > 12) {
    if (buf[12] !== SP) return bad('malformed status line')
    for (let i = 13; i < eol; i++) {
      const c = buf[i]!
      if ((c < SP && c !== HTAB) || c === 0x7f) return bad('control character in the reason phrase')
    }
    reason = text.slice(13, eol)
  }

  const headers: Array<readonly [string, string]> = []
  let contentLength: number | undefined
  let sawContentLength = false
  let codings: string[] | undefined
  const connectionTokens: string[] = []
  let s = eol + 2
  while (s < end - 2) {
    let e = s
    while (buf[e] !== CR) e++
    if (headers.length >= MAX_RESPONSE_FIELDS) return bad(`more than ${MAX_RESPONSE_FIELDS} header fields`)
    const field = parseFieldLine(text, s, e)
    if (typeof field === 'string') return bad(field)
    headers.push(field)
    const [name, value] = field
    switch (name.toLowerCase()) {
      case 'content-length': {
        if (sawContentLength) return bad('duplicate Content-Length')
        sawContentLength = true
        const n = parseLengthDigits(value)
        if (n < 0) return bad('invalid Content-Length')
        contentLength = n
        break
      }
      case 'transfer-encoding':
        codings ??= []
        for (const part of value.split(',')) {
          const t = part.trim().toLowerCase()
          // Empty list elements are allowed by the list syntax (§5.6.1); a coding with
          // parameters or odd characters is not something the proxy can vouch for.
          if (t.length === 0) continue
          for (let i = 0; i < t.length; i++) if (!isTchar(t.charCodeAt(i))) return bad('invalid Transfer-Encoding')
          codings.push(t)
        }
        break
      case 'connection':
        addConnectionTokens(value, connectionTokens)
        break
      default:
        break
    }
    s = e + 2
  }
  let chunked = false
  if (codings !== undefined) {
    if (version === '1.0') return bad('Transfer-Encoding in an HTTP/1.0 response')
    if (sawContentLength) return bad('both Transfer-Encoding and Content-Length')
    if (codings.length === 0 || codings[codings.length - 1] !== 'chunked') return bad(`Transfer-Encoding "${codings.join(', ')}" does not end in chunked`)
    if (codings.indexOf('chunked') !== codings.length - 1) return bad('chunked applied more than once')
    chunked = true
  }
  return { kind: 'ok', head: { version, status, reason, headers, contentLength, chunked, connectionTokens, headBytes: end } }
}

/**
 * How the body of a response is delimited (RFC 9112 §6.3), in the order the RFC gives:
 * no body for a HEAD request, 1xx, 204 and 304, whatever the fields say; then chunked; then
 * Content-Length; otherwise the body runs until the origin closes.
 */
export type BodyKind = { readonly kind: 'none' } | { readonly kind: 'chunked' } | { readonly kind: 'length'; readonly length: number } | { readonly kind: 'close' }

export function bodyKind(head: HttpResponseHead, requestMethod: string): BodyKind {
  if (requestMethod === 'HEAD' || head.status < 200 || head.status === 204 || head.status === 304) return { kind: 'none' }
  if (head.chunked) return { kind: 'chunked' }
  if (head.contentLength !== undefined) return head.contentLength === 0 ? { kind: 'none' } : { kind: 'length', length: head.contentLength }
  return { kind: 'close' }
}

/** Whether the origin lets its connection be reused after this response (§9.3). */
export function originKeepsAlive(head: HttpResponseHead): boolean {
  if (head.connectionTokens.includes('close')) return false
  return head.version === '1.1' || head.connectionTokens.includes('keep-alive')
}
