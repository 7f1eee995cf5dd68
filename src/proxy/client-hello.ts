/**
 * @module A peek parser for the TLS ClientHello (Envoy `tls_inspector` style): given the bytes a
 * client has sent so far, it says whether more are needed, or what the hello carries. It never
 * consumes, never throws on input, and never looks past `maxBytes`; the caller replays the bytes
 * untouched to the origin (ALPN and everything else pass through as sent, which AKS konnectivity
 * needs).
 *
 * Grammar (RFC 8446 §5.1, §4.1.2; RFC 6066 §3; RFC 7301 §3.1):
 *   record      = type(1)=22 version(2)=0x03xx length(2)<=2^14+256 fragment
 *   handshake   = msg_type(1)=1 length(3) body       (may span several records, none empty)
 *   ClientHello = legacy_version(2) random(32) session_id<0..32> cipher_suites<2..2^16-2>
 *                 compression_methods<1..2^8-1> [extensions<0..2^16-1>]
 *   server_name = list<1..2^16-1> of { name_type(1)=0 host_name<1..2^16-1> }
 *   ALPN        = list<2..2^16-1> of ProtocolName<1..2^8-1>
 *
 * Cost: deciding "need more" only walks record headers, so a hello that arrives one byte at a time
 * costs O(bytes), not O(bytes²); the body is parsed once, when complete.
 */

import { latin1 } from '../util/latin1.ts'

export const TLS_RECORD_HANDSHAKE = 22 // RFC 8446 §5.1 ContentType.handshake
export const TLS_HANDSHAKE_CLIENT_HELLO = 1 // RFC 8446 §4 HandshakeType.client_hello
export const TLS_EXT_SERVER_NAME = 0 // RFC 6066 §3
export const TLS_EXT_ALPN = 16 // RFC 7301 §3.1
const TLS_RECORD_HEADER_BYTES = 5
const TLS_HANDSHAKE_HEADER_BYTES = 4
/** RFC 8446 §5.1: a TLSPlaintext fragment is at most 2^14 bytes; TLS 1.2 allowed 2^14 + 2048 for compressed. */
const TLS_MAX_FRAGMENT_BYTES = 16384 + 2048
const SNI_HOST_NAME = 0 // RFC 6066 NameType.host_name

export type ClientHelloResult =
  | { readonly kind: 'needMore' }
  | { readonly kind: 'sni'; readonly sni: string; readonly alpn: readonly string[] }
  | { readonly kind: 'noSni'; readonly alpn: readonly string[] }
  | { readonly kind: 'notTls' }
  | { readonly kind: 'malformed'; readonly detail: string }
  | { readonly kind: 'tooLarge' }

const NEED_MORE: ClientHelloResult = Object.freeze({ kind: 'needMore' })
const NOT_TLS: ClientHelloResult = Object.freeze({ kind: 'notTls' })
const TOO_LARGE: ClientHelloResult = Object.freeze({ kind: 'tooLarge' })

function malformed(detail: string): ClientHelloResult {
  return { kind: 'malformed', detail }
}

/**
 * Inspects the first bytes a client sent. `maxBytes` bounds the bytes examined, record headers
 * included; a hello that needs more is `tooLarge`.
 * @example parseClientHello(firstBytes, 16384) // { kind: 'sni', sni: 'mcr.microsoft.com', alpn: ['h2', 'http/1.1'] }
 */
export function parseClientHello(buf: Uint8Array, maxBytes: number): ClientHelloResult {
  if (buf.length === 0) return NEED_MORE
  if (buf[0] !== TLS_RECORD_HANDSHAKE) return NOT_TLS
  if (buf.length >= 2 && buf[1] !== 3) return NOT_TLS
  // Walk whole records until the handshake message is complete.
  let pos = 0
  let collected = 0 // handshake bytes in the complete records walked
  let messageBytes = -1 // header + body of the ClientHello, once its header is known
  const fragments: Array<readonly [number, number]> = []
  while (true) {
    if (pos + TLS_RECORD_HEADER_BYTES > buf.length) return pos + TLS_RECORD_HEADER_BYTES > maxBytes ? TOO_LARGE : NEED_MORE
    // RFC 8446 §5.1: handshake messages MUST NOT be interleaved with other record types.
    if (buf[pos] !== TLS_RECORD_HANDSHAKE) return pos === 0 ? NOT_TLS : malformed('a non-handshake record interleaves the ClientHello')
    if (buf[pos + 1] !== 3) return pos === 0 ? NOT_TLS : malformed('record version is not 3.x')
    const length = (buf[pos + 3]! << 8) | buf[pos + 4]!
    // RFC 8446 §5.1: "Implementations MUST NOT send zero-length fragments of Handshake types".
    if (length === 0) return malformed('empty handshake record')
    if (length > TLS_MAX_FRAGMENT_BYTES) return malformed(`record length ${length} exceeds ${TLS_MAX_FRAGMENT_BYTES}`)
    const end = pos + TLS_RECORD_HEADER_BYTES + length
    // Refuse a first record that does not start a ClientHello before waiting for all of it.
    if (pos === 0 && buf.length > TLS_RECORD_HEADER_BYTES && buf[TLS_RECORD_HEADER_BYTES] !== TLS_HANDSHAKE_CLIENT_HELLO) {
      return malformed(`first handshake message is type ${buf[TLS_RECORD_HEADER_BYTES]!}, not ClientHello`)
    }
    if (end > maxBytes) return TOO_LARGE
    if (end > buf.length) return NEED_MORE
    fragments.push([pos + TLS_RECORD_HEADER_BYTES, end])
    collected += length
    pos = end
    if (messageBytes < 0 && collected >= TLS_HANDSHAKE_HEADER_BYTES) {
      const header = gather(buf, fragments, TLS_HANDSHAKE_HEADER_BYTES)
      if (header[0] !== TLS_HANDSHAKE_CLIENT_HELLO) return malformed(`first handshake message is type ${header[0]!}, not ClientHello`)
      messageBytes = TLS_HANDSHAKE_HEADER_BYTES + ((header[1]! << 16) | (header[2]! << 8) | header[3]!)
      if (messageBytes > maxBytes) return TOO_LARGE
    }
    if (messageBytes >= 0 && collected >= messageBytes) break
  }
  const message = gather(buf, fragments, messageBytes)
  return parseBody(message, TLS_HANDSHAKE_HEADER_BYTES, messageBytes)
}
/** The first `n` bytes of the concatenated fragments (a view when one fragment holds them). */
function gather(buf: Uint8Array, fragments: ReadonlyArray<readonly [number, number]>, n: number): Uint8Array {
  const first = fragments[0]
  if (first && first[1] - first[0] >= n) return buf.subarray(first[0], first[0] + n)
  const out = new Uint8Array(n)
  let filled = 0
  for (const [s, e] of fragments) {
    if (filled >= n) break
    const take = Math.min(e - s, n - filled)
    out.set(buf.subarray(s, s + take), filled)
    filled += take
  }
  return out
}

function u16(b: Uint8Array, i: number): number {
  return (b[i]! << 8) | b[i + 1]!
}

function parseBody(b: Uint8Array, start: number, end: number): ClientHelloResult {
  let p = start
  // legacy_version(2) + random(32)
  p += 34
  if (p + 1 > end) return malformed('ClientHello truncated before session_id')
  const sessionIdLength = b[p]!
  if (sessionIdLength > 32) return malformed('session_id longer than 32 bytes')
  p += 1 + sessionIdLength
  if (p + 2 > end) return malformed('ClientHello truncated before cipher_suites')
  const suitesLength = u16(b, p)
  if (suitesLength < 2 || suitesLength % 2 !== 0) return malformed('cipher_suites length is not a positive even number')
  p += 2 + suitesLength
  if (p + 1 > end) return malformed('ClientHello truncated before compression_methods')
  const compressionLength = b[p]!
  if (compressionLength < 1) return malformed('compression_methods is empty')
  p += 1 + compressionLength
  if (p > end) return malformed('ClientHello truncated in compression_methods')
  if (p === end) return { kind: 'noSni', alpn: [] } // no extensions at all (TLS 1.2 allows it)
  if (p + 2 > end) return malformed('ClientHello truncated before extensions')
  const extensionsLength = u16(b, p)
  p += 2
  if (p + extensionsLength !== end) return malformed('extensions length does not match the ClientHello length')
  let sni: string | undefined
  let alpn: string[] = []
  const seen = new Set<number>()
  while (p < end) {
    if (p + 4 > end) return malformed('extension header truncated')
    const type = u16(b, p)
    const length = u16(b, p + 2)
    p += 4
    if (p + length > end) return malformed(`extension ${type} overruns the ClientHello`)
    // RFC 8446 §4.2: "There MUST NOT be more than one extension of the same type in a given extension block."
    if (seen.has(type)) return malformed(`extension ${type} appears twice`)
    seen.add(type)
    if (type === TLS_EXT_SERVER_NAME) {
      const parsed = parseServerName(b, p, p + length)
      if (typeof parsed !== 'string') return malformed(parsed.detail)
      if (parsed === '') return malformed('server_name has no host_name')
      sni = parsed
    } else if (type === TLS_EXT_ALPN) {
      const parsed = parseAlpn(b, p, p + length)
      if (!Array.isArray(parsed)) return malformed(parsed.detail)
      alpn = parsed
    }
    p += length
  }
  return sni === undefined ? { kind: 'noSni', alpn } : { kind: 'sni', sni, alpn }
}

/** The host_name of a server_name extension body; '' when the list holds none. */
function parseServerName(b: Uint8Array, start: number, end: number): string | { detail: string } {
  if (start + 2 > end) return { detail: 'server_name list truncated' }
  const listLength = u16(b, start)
  if (listLength === 0 || start + 2 + listLength !== end) return { detail: 'server_name list length does not match' }
  let p = start + 2
  let name = ''
  while (p < end) {
    if (p + 3 > end) return { detail: 'server_name entry truncated' }
    const type = b[p]!
    const length = u16(b, p + 1)
    p += 3
    if (length === 0 || p + length > end) return { detail: 'server_name entry length is zero or overruns' }
    if (type === SNI_HOST_NAME) {
      // RFC 6066 §3: "The ServerNameList MUST NOT contain more than one name of the same name_type."
      if (name !== '') return { detail: 'server_name holds two host_name entries' }
      for (let i = p; i < p + length; i++) {
        const c = b[i]!
        if (c <= 0x20 || c >= 0x7f) return { detail: 'host_name has a byte outside printable ASCII' }
      }
      name = latin1(b, p, p + length)
    }
    p += length
  }
  return name
}

function parseAlpn(b: Uint8Array, start: number, end: number): string[] | { detail: string } {
  if (start + 2 > end) return { detail: 'ALPN list truncated' }
  const listLength = u16(b, start)
  if (listLength < 2 || start + 2 + listLength !== end) return { detail: 'ALPN list length does not match' }
  const out: string[] = []
  let p = start + 2
  while (p < end) {
    const length = b[p]!
    p += 1
    if (length === 0 || p + length > end) return { detail: 'ALPN protocol name is empty or overruns' }
    out.push(latin1(b, p, p + length))
    p += length
  }
  return out
}
