/**
 * @module A bounded, strict HTTP/1.x request-head parser (RFC 9112) for the explicit proxy and the
 * transparent HTTP listeners. It never throws on input, uses no regular expression, and never
 * reads past `maxBytes`.
 *
 * Strictness, where RFC 9112 lets a server choose, is chosen against request smuggling and filter
 * confusion: bare LF and bare CR are refused (§2.2), so is obs-fold (§5.2), whitespace between a
 * field name and its colon (§5.1, MUST), control characters in values, a duplicate Host (§3.2,
 * MUST), Content-Length values that disagree (§6.3), Transfer-Encoding with Content-Length (§6.3),
 * Transfer-Encoding other than exactly `chunked` (501), and Transfer-Encoding in HTTP/1.0 (§6.1).
 * Up to four empty lines before the request line are skipped (§2.2 "SHOULD ignore at least one").
 */
import { authorityProblem, parseAuthority, quoteCut, type Authority } from './authority.ts'
import { addConnectionTokens, isTchar, parseFieldLine, parseLengthDigits } from './http-field.ts'
import { latin1 } from '../util/latin1.ts'

/** RFC 9112 §5: a bound on the number of fields, beside the byte bound. */
export const MAX_HEADER_FIELDS = 100
const MAX_LEADING_EMPTY_LINES = 4
/** The longest method name accepted (the longest registered one, UPDATEREDIRECTREF, has 17). */
const MAX_METHOD_BYTES = 32

export type TargetForm = 'origin' | 'absolute' | 'authority' | 'asterisk'

export interface HttpRequestHead {
  readonly method: string
  /** The request target as sent. */
  readonly target: string
  readonly form: TargetForm
  readonly version: '1.0' | '1.1'
  /** Fields in order, names as sent, values without surrounding whitespace. */
  readonly headers: ReadonlyArray<readonly [string, string]>
  /** absolute-form: the scheme, lower case (`http`); otherwise undefined. */
  readonly scheme: string | undefined
  /** The authority of an absolute-form or authority-form target. */
  readonly targetAuthority: Authority | undefined
  /** The Host field, parsed; undefined when absent. */
  readonly hostHeader: Authority | undefined
  /** The path and query to send to the origin (origin-form). */
  readonly path: string
  readonly contentLength: number | undefined
  readonly chunked: boolean
  readonly proxyAuthorization: string | undefined
  /** Tokens of the Connection fields, lower case (hop-by-hop field names among them). */
  readonly connectionTokens: readonly string[]
  /** Bytes of the head, the final empty line included; the body starts here. */
  readonly headBytes: number
}

export type HttpHeadResult =
  | { readonly kind: 'needMore' }
  | { readonly kind: 'ok'; readonly head: HttpRequestHead }
  | { readonly kind: 'tooLarge' }
  | { readonly kind: 'malformed'; readonly status: 400 | 501 | 505; readonly detail: string }

const NEED_MORE: HttpHeadResult = Object.freeze({ kind: 'needMore' })
const TOO_LARGE: HttpHeadResult = Object.freeze({ kind: 'tooLarge' })

function bad(detail: string, status: 400 | 501 | 505 = 400): HttpHeadResult {
  return { kind: 'malformed', status, detail }
}

const CR = 0x0d
const LF = 0x0a
const SP = 0x20

/** Where the head ends (the index after the empty line), -1 when not yet; `from` skips bytes already scanned. */
function findHeadEnd(buf: Uint8Array, start: number, from: number, limit: number): number {
  for (let i = Math.max(start, from); i < limit; i++) {
    if (buf[i] !== LF) continue
    // An empty line: LF preceded by CR LF, or (refused later) by a bare LF.
    if (i - start >= 2 && buf[i - 1] === CR && buf[i - 2] === LF) return i + 1
    if (i - start >= 1 && buf[i - 1] === LF) return i + 1
  }
  return -1
}

/**
 * Parses the request head at the start of `buf`.
 * `scannedBytes` (optional) is how many bytes an earlier call already saw without finding the
 * end: the search resumes there, so a head arriving byte by byte costs linear time.
 * @example parseHttpHead(Buffer.from('CONNECT mcr.microsoft.com:443 HTTP/1.1\r\n\r\n'), 16384)
 */
export function parseHttpHead(buf: Uint8Array, maxBytes: number, scannedBytes = 0): HttpHeadResult {
  if (buf.length === 0) return NEED_MORE
  // Skip a few empty lines before the request line.
  let start = 0
  for (let n = 0; n < MAX_LEADING_EMPTY_LINES; n++) {
    if (buf[start] === CR && buf[start + 1] === LF) start += 2
    else if (buf[start] === LF) return bad('bare LF line terminator')
    else break
  }
  if (start >= buf.length || (buf[start] === CR && start + 1 >= buf.length)) return buf.length > maxBytes ? TOO_LARGE : NEED_MORE
  // Nothing past the bound is looked at.
  const limit = Math.min(buf.length, maxBytes)
  // Bytes that cannot start a request line (a TLS ClientHello, binary noise) are refused at once.
  for (let i = start; i < limit && i < start + MAX_METHOD_BYTES + 1; i++) {
    const c = buf[i]!
    if (c === SP && i > start) break
    if (!isTchar(c) || i === start + MAX_METHOD_BYTES) return bad('malformed request line (method)')
  }
  const end = findHeadEnd(buf, start, scannedBytes > 3 ? scannedBytes - 3 : 0, limit)
  if (end < 0) {
    // A line break without CR, or a CR not before LF, can be refused early.
    for (let i = Math.max(start, scannedBytes - 1); i < limit; i++) {
      if (buf[i] === LF && (i === 0 || buf[i - 1] !== CR)) return bad('bare LF line terminator')
      if (buf[i - 1] === CR && buf[i] !== LF) return bad('bare CR in the head')
    }
    return buf.length >= maxBytes ? TOO_LARGE : NEED_MORE
  }
  return parseLines(buf, start, end)
}

interface Line {
  readonly s: number
  readonly e: number // exclusive, before CR
}

function parseLines(buf: Uint8Array, start: number, end: number): HttpHeadResult {
  // Split into lines, each ending in CR LF; refuse bare CR and bare LF.
  const lines: Line[] = []
  let s = start
  for (let i = start; i < end; i++) {
    const c = buf[i]!
    if (c === LF) {
      if (i === s || buf[i - 1] !== CR) return bad('bare LF line terminator')
      lines.push({ s, e: i - 1 })
      s = i + 1
    } else if (c === CR && buf[i + 1] !== LF) {
      return bad('bare CR in the head')
    }
  }
  // The last line is the empty one.
  const requestLine = lines[0]
  if (!requestLine || lines.length < 2) return bad('no request line')
  if (lines.length - 2 > MAX_HEADER_FIELDS) return bad(`more than ${MAX_HEADER_FIELDS} header fields`, 400)
  // One native decode for the request line and one for the fields (once the request line is
  // valid); tokens are slices of them. A slice keeps the string it was cut from alive: a tunnel
  // keeps its CONNECT target for its whole life, and with it the request line only, never up to
  // maxBytes of fields.
  const lineText = latin1(buf, requestLine.s, requestLine.e)

  // request-line = method SP request-target SP HTTP-version
  let p = requestLine.s
  while (p < requestLine.e && isTchar(buf[p]!)) p++
  if (p === requestLine.s || buf[p] !== SP) return bad('malformed request line (method)')
  const method = lineText.slice(0, p - requestLine.s)
  const targetStart = ++p
  while (p < requestLine.e && buf[p]! > SP && buf[p]! < 0x7f) p++
  if (p === targetStart || buf[p] !== SP) return bad('malformed request line (target)')
  const target = lineText.slice(targetStart - requestLine.s, p - requestLine.s)
  p++
  const versionText = lineText.slice(p - requestLine.s)
  let version: '1.0' | '1.1'
  if (versionText === 'HTTP/1.1') version = '1.1'
  else if (versionText === 'HTTP/1.0') version = '1.0'
  else if (versionText.length === 8 && versionText.startsWith('HTTP/') && versionText[6] === '.') return bad(`unsupported version ${versionText}`, 505)
  else return bad('malformed request line (version)')

  // Fields
  const fieldsStart = lines[1]!.s
  const fieldsText = latin1(buf, fieldsStart, end)
  const headers: Array<readonly [string, string]> = []
  let hostValue: string | undefined
  let contentLength: number | undefined
  let transferEncoding: string[] | undefined
  let proxyAuthorization: string | undefined
  const connectionTokens: string[] = []
  for (let k = 1; k < lines.length - 1; k++) {
    const line = lines[k]!
    const field = parseFieldLine(fieldsText, line.s - fieldsStart, line.e - fieldsStart)
    if (typeof field === 'string') return bad(field)
    headers.push(field)
    const [name, value] = field
    switch (name.toLowerCase()) {
      case 'host':
        if (hostValue !== undefined) return bad('duplicate Host field')
        hostValue = value
        break
      case 'content-length': {
        for (const part of value.split(',')) {
          const n = parseLengthDigits(part.trim())
          if (n < 0) return bad('invalid Content-Length')
          if (contentLength !== undefined && contentLength !== n) return bad('conflicting Content-Length values')
          contentLength = n
        }
        break
      }
      case 'transfer-encoding':
        transferEncoding ??= []
        for (const part of value.split(',')) transferEncoding.push(part.trim().toLowerCase())
        break
      case 'proxy-authorization':
        if (proxyAuthorization !== undefined) return bad('duplicate Proxy-Authorization field')
        proxyAuthorization = value
        break
      case 'connection':
        addConnectionTokens(value, connectionTokens)
        break
      default:
        break
    }
  }
  let chunked = false
  if (transferEncoding !== undefined) {
    if (version === '1.0') return bad('Transfer-Encoding in an HTTP/1.0 request')
    if (contentLength !== undefined) return bad('both Transfer-Encoding and Content-Length')
    if (transferEncoding.length !== 1 || transferEncoding[0] !== 'chunked') return bad(`unsupported Transfer-Encoding "${transferEncoding.join(', ')}"`, 501)
    chunked = true
  }

  // The target
  let hostHeader: Authority | undefined
  if (hostValue !== undefined) {
    hostHeader = parseAuthority(hostValue)
    if (!hostHeader) return bad(`invalid Host field: ${authorityProblem(hostValue)}`)
  } else if (version === '1.1' && method !== 'CONNECT') {
    return bad('HTTP/1.1 request without a Host field')
  }
  let form: TargetForm
  let scheme: string | undefined
  let targetAuthority: Authority | undefined
  let path = target
  if (method === 'CONNECT') {
    targetAuthority = parseAuthority(target)
    if (!targetAuthority) return bad(`CONNECT target ${authorityProblem(target)}`)
    if (targetAuthority.port === undefined) return bad(`CONNECT target ${quoteCut(target)} has no port (host:port)`)
    form = 'authority'
  } else if (target.charCodeAt(0) === 0x2f) {
    form = 'origin'
  } else if (target === '*') {
    form = 'asterisk'
  } else {
    const abs = parseAbsolute(target)
    if (typeof abs === 'string') return bad(abs)
    ;({ scheme, authority: targetAuthority, path } = abs)
    form = 'absolute'
  }
  for (let i = 0; i < path.length; i++) if (path.charCodeAt(i) === 0x23) return bad('fragment in the request target')

  return {
    kind: 'ok',
    head: {
      method,
      target,
      form,
      version,
      headers,
      scheme,
      targetAuthority,
      hostHeader,
      path,
      contentLength,
      chunked,
      proxyAuthorization,
      connectionTokens,
      headBytes: lines[lines.length - 1]!.e + 2,
    },
  }
}

/** `scheme "://" authority [ path-abempty ] [ "?" query ]`, without userinfo or fragment. */
function parseAbsolute(target: string): { scheme: string; authority: Authority; path: string } | string {
  // host:port is the authority-form, CONNECT's alone (RFC 9112 §3.2.3); method names are case-sensitive.
  if (parseAuthority(target)?.port !== undefined) return 'host:port as the request target is for CONNECT only (in capitals: methods are case-sensitive)'
  const colon = target.indexOf(':')
  if (colon <= 0) return 'request target is neither origin-form nor absolute-form'
  const scheme = target.slice(0, colon).toLowerCase()
  for (let i = 0; i < scheme.length; i++) {
    const c = scheme.charCodeAt(i)
    const ok = (c >= 0x61 && c <= 0x7a) || (i > 0 && ((c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e))
    if (!ok) return 'invalid URI scheme'
  }
  if (!target.startsWith('//', colon + 1)) return 'absolute-form target without "//" authority'
  const authStart = colon + 3
  let authEnd = authStart
  while (authEnd < target.length) {
    const c = target.charCodeAt(authEnd)
    if (c === 0x2f || c === 0x3f || c === 0x23) break
    if (c === 0x40) return 'userinfo in the request target'
    authEnd++
  }
  const authority = parseAuthority(target.slice(authStart, authEnd))
  if (!authority) return 'invalid authority in the request target'
  let path = target.slice(authEnd)
  if (path.length === 0) path = '/'
  else if (path.charCodeAt(0) === 0x3f) path = `/${path}`
  return { scheme, authority, path }
}

/** The value of the first field named `name` (case-insensitive). */
export function headerValue(head: HttpRequestHead, name: string): string | undefined {
  const lower = name.toLowerCase()
  for (const [n, v] of head.headers) if (n.toLowerCase() === lower) return v
  return undefined
}
