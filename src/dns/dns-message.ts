/**
 * @module DNS messages (RFC 1035 §4.1) through `dns-packet`, with the checks a proxy needs:
 * decoding never throws to the caller (a malformed message is a value), queries must have the
 * shape the proxy answers (one question, opcode QUERY), and responses are built here (REFUSED,
 * SERVFAIL, a truncated answer for a UDP client that cannot take the full one).
 */
import dnsPacket from 'dns-packet'
import type { Answer, DecodedPacket, OptAnswer, Packet, Question } from 'dns-packet'

/** RFC 1035 §2.3.4: UDP messages are at most 512 bytes unless EDNS (RFC 6891) says more. */
export const CLASSIC_UDP_SIZE = 512
/** The most a UDP answer to a client may be, whatever its EDNS buffer says (RFC 6891 §6.2.5 advice, DNS flag day 2020: 1232). */
export const MAX_UDP_SIZE = 4096
/** A DNS message over TCP is at most 65535 bytes (RFC 1035 §4.2.2, two-byte length). */
export const MAX_MESSAGE_SIZE = 65535
const HEADER_SIZE = 12

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const
const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE']

export function rcodeName(rcode: number): string {
  return RCODE_NAMES[rcode] ?? `RCODE_${rcode}`
}

/** Header fields read straight off the bytes (dns-packet's types omit opcode and rcode). */
export interface Header {
  readonly id: number
  readonly qr: boolean
  readonly opcode: number
  readonly tc: boolean
  readonly rd: boolean
  readonly cd: boolean
  readonly rcode: number
  readonly flags: number
}

export function readHeader(buf: Buffer): Header | undefined {
  if (buf.length < HEADER_SIZE) return undefined
  const flags = buf.readUInt16BE(2)
  return {
    id: buf.readUInt16BE(0),
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    tc: (flags & 0x0200) !== 0,
    rd: (flags & 0x0100) !== 0,
    cd: (flags & 0x0010) !== 0,
    rcode: flags & 0xf,
    flags,
  }
}

/** `qr,aa,tc,rd,ra,ad,cd` for the flags that are set (the AZFWDnsQuery ResponseFlags column). */
export function flagNames(flags: number): string {
  const names: string[] = []
  if (flags & 0x8000) names.push('qr')
  if (flags & 0x0400) names.push('aa')
  if (flags & 0x0200) names.push('tc')
  if (flags & 0x0100) names.push('rd')
  if (flags & 0x0080) names.push('ra')
  if (flags & 0x0020) names.push('ad')
  if (flags & 0x0010) names.push('cd')
  return names.join(',')
}

export type Decoded = { readonly ok: true; readonly packet: DecodedPacket; readonly header: Header } | { readonly ok: false; readonly error: string }

/** Decodes a message; never throws. Trailing bytes after the message are malformed too. */
export function decodeMessage(buf: Buffer): Decoded {
  const header = readHeader(buf)
  if (!header) return { ok: false, error: `message of ${buf.length} bytes is shorter than a header` }
  try {
    const packet = dnsPacket.decode(buf)
    if ((dnsPacket.decode as unknown as { bytes: number }).bytes !== buf.length) return { ok: false, error: 'trailing bytes after the message' }
    return { ok: true, packet, header }
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) }
  }
}

export function optOf(packet: Packet): OptAnswer | undefined {
  for (const a of packet.additionals ?? []) if (a.type === 'OPT') return a
  return undefined
}

/** What a query asks, in the form the cache keys on and the log reports. */
export interface QueryInfo {
  readonly question: Question
  /** Lower case, no trailing dot. */
  readonly name: string
  readonly type: string
  readonly class: string
  readonly dnssecOk: boolean
  /** The client's EDNS0 UDP buffer size; 512 without EDNS. */
  readonly ednsBufferSize: number
  readonly hasEdns: boolean
}

export type QueryCheck =
  | { readonly ok: true; readonly info: QueryInfo }
  /** A well-formed message the proxy does not serve: answer with this rcode. */
  | { readonly ok: false; readonly rcode: number; readonly error: string }

/** Checks that a decoded message is a query the proxy serves: QR=0, opcode QUERY, one question. */
export function checkQuery(d: { packet: DecodedPacket; header: Header }): QueryCheck {
  if (d.header.qr) return { ok: false, rcode: RCODE.FORMERR, error: 'a response where a query was expected' }
  if (d.header.opcode !== 0) return { ok: false, rcode: RCODE.NOTIMP, error: `opcode ${d.header.opcode} is not QUERY` }
  const questions = d.packet.questions ?? []
  const q = questions[0]
  if (questions.length !== 1 || !q) return { ok: false, rcode: RCODE.FORMERR, error: `${questions.length} questions; exactly one is served` }
  const opt = optOf(d.packet)
  let name = q.name.toLowerCase()
  if (name.endsWith('.')) name = name.slice(0, -1)
  return {
    ok: true,
    info: {
      question: q,
      name,
      type: q.type,
      class: q.class ?? 'IN',
      dnssecOk: opt?.flag_do === true,
      ednsBufferSize: opt ? Math.max(CLASSIC_UDP_SIZE, opt.udpPayloadSize) : CLASSIC_UDP_SIZE,
      hasEdns: opt !== undefined,
    },
  }
}

/** A response with no records: REFUSED, SERVFAIL, FORMERR, NOTIMP; echoes the question and RD. */
export function errorResponse(query: { id: number; rd: boolean; question?: Question; cd?: boolean }, rcode: number, ednsBufferSize?: number): Buffer {
  const flags = (query.rd ? 0x0100 : 0) | 0x0080 | (query.cd === true ? 0x0010 : 0) | rcode
  return dnsPacket.encode({
    type: 'response',
    id: query.id,
    flags,
    questions: query.question ? [query.question] : [],
    answers: [],
    authorities: [],
    additionals: ednsBufferSize === undefined ? [] : [optRecord(ednsBufferSize)],
  })
}

function optRecord(size: number): OptAnswer {
  return { type: 'OPT', name: '.', udpPayloadSize: size, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] } as unknown as OptAnswer
}

/**
 * The answer to a UDP client whose buffer is too small for the full response: the header with TC
 * set and the question only (RFC 1035 §4.2.1, RFC 7766 §5), so the client retries over TCP.
 */
export function truncatedResponse(response: Buffer, question: Question): Buffer {
  const h = readHeader(response)!
  const out = dnsPacket.encode({ type: 'response', id: h.id, flags: (h.flags & 0x7fff) | 0x0200, questions: [question], answers: [], authorities: [], additionals: [] })
  return out
}

/** Encodes a response from a decoded one, with another ID and the TTLs lowered by `elapsedSec`. */
export function agedResponse(packet: DecodedPacket, id: number, question: Question, elapsedSec: number): Buffer {
  const age = (list: Answer[] | undefined): Answer[] =>
    (list ?? []).map((a) => (a.type === 'OPT' ? a : ({ ...a, ttl: Math.max(0, (a.ttl ?? 0) - elapsedSec) })))
  return dnsPacket.encode({
    type: 'response',
    id,
    flags: packet.flags ?? 0,
    questions: [question],
    answers: age(packet.answers),
    authorities: age(packet.authorities),
    additionals: age(packet.additionals),
  })
}

/** Replaces the ID of an encoded message (a copy). */
export function withId(buf: Buffer, id: number): Buffer {
  const out = Buffer.from(buf)
  out.writeUInt16BE(id, 0)
  return out
}

/** Where a message's TTL fields are, to age a cached answer without re-encoding it. */
export interface TtlLayout {
  /** End of the question section (the question is copied from each client's query). */
  readonly questionEnd: number
  /** Offsets of the TTL fields of every record except OPT. */
  readonly offsets: readonly number[]
  readonly ttls: readonly number[]
}

function skipName(buf: Buffer, at: number): number {
  let i = at
  for (let guard = 0; guard < 128; guard++) {
    if (i >= buf.length) return -1
    const len = buf[i]!
    if ((len & 0xc0) === 0xc0) return i + 2
    if (len === 0) return i + 1
    i += len + 1
  }
  return -1
}

/** Walks a well-formed message (RFC 1035 §4.1) for its TTL fields; undefined if it does not add up. */
export function ttlLayout(buf: Buffer): TtlLayout | undefined {
  if (buf.length < HEADER_SIZE) return undefined
  const qd = buf.readUInt16BE(4)
  const rr = buf.readUInt16BE(6) + buf.readUInt16BE(8) + buf.readUInt16BE(10)
  let at = HEADER_SIZE
  for (let i = 0; i < qd; i++) {
    at = skipName(buf, at)
    if (at < 0 || at + 4 > buf.length) return undefined
    at += 4
  }
  const questionEnd = at
  const offsets: number[] = []
  const ttls: number[] = []
  for (let i = 0; i < rr; i++) {
    at = skipName(buf, at)
    if (at < 0 || at + 10 > buf.length) return undefined
    const type = buf.readUInt16BE(at)
    if (type !== 41) {
      offsets.push(at + 4)
      ttls.push(buf.readUInt32BE(at + 4))
    }
    at += 10 + buf.readUInt16BE(at + 8)
    if (at > buf.length) return undefined
  }
  return at === buf.length ? { questionEnd, offsets, ttls } : undefined
}

/**
 * A cached answer for a new query: the stored bytes with the query's ID and question (the client's
 * spelling of the name), the TTLs lowered by `elapsedSec`. undefined when the question sections
 * differ in length (then re-encode).
 */
export function agedWire(wire: Buffer, layout: TtlLayout, query: Buffer, queryQuestionEnd: number, elapsedSec: number): Buffer | undefined {
  if (queryQuestionEnd !== layout.questionEnd) return undefined
  const out = Buffer.from(wire)
  query.copy(out, 0, 0, 2)
  query.copy(out, HEADER_SIZE, HEADER_SIZE, queryQuestionEnd)
  for (let i = 0; i < layout.offsets.length; i++) out.writeUInt32BE(Math.max(0, layout.ttls[i]! - elapsedSec), layout.offsets[i])
  return out
}

/** End of a query's question section (one question), or -1. */
export function questionEnd(buf: Buffer): number {
  const at = skipName(buf, HEADER_SIZE)
  return at < 0 || at + 4 > buf.length ? -1 : at + 4
}

/** The query types the fast path knows, by code, with dns-packet's names for them (it has none for
 * SVCB and HTTPS, 64 and 65: those take the full path). */
const QUICK_TYPES: ReadonlyMap<number, string> = new Map([
  [1, 'A'], [2, 'NS'], [5, 'CNAME'], [6, 'SOA'], [12, 'PTR'], [15, 'MX'], [16, 'TXT'], [28, 'AAAA'],
  [33, 'SRV'], [43, 'DS'], [48, 'DNSKEY'], [257, 'CAA'], [255, 'ANY'],
])

/** What the fast path reads of an ordinary query without decoding the whole message. */
export interface QuickQuery {
  readonly id: number
  readonly rd: boolean
  readonly cd: boolean
  /** The name as sent (for the log) and in lower case without the dot (for the cache and policy). */
  readonly sentName: string
  readonly name: string
  readonly type: string
  readonly dnssecOk: boolean
  readonly ednsBufferSize: number
  readonly questionEnd: number
}

/**
 * Reads an ordinary query straight from its bytes (RFC 1035 §4.1, RFC 6891 §6.1.2): QR 0, opcode
 * QUERY, one question of class IN and a known type, a name of plain labels (letters, digits, `-`,
 * `_`; no compression, as a query has nothing to point back to), no answer or authority records,
 * at most one additional record which must be an OPT, and nothing after it. Anything else returns
 * undefined and takes the full decoder: this is an optimisation of the common case (a cached
 * answer to a node's A or AAAA query), never a second parser with its own opinions.
 */
export function quickQuery(msg: Buffer): QuickQuery | undefined {
  if (msg.length < HEADER_SIZE + 5 || msg.length > MAX_UDP_SIZE) return undefined
  const flags = msg.readUInt16BE(2)
  if ((flags & 0x8000) !== 0 || (flags & 0x7800) !== 0) return undefined
  if (msg.readUInt16BE(4) !== 1 || msg.readUInt16BE(6) !== 0 || msg.readUInt16BE(8) !== 0) return undefined
  const additional = msg.readUInt16BE(10)
  if (additional > 1) return undefined
  let at = HEADER_SIZE
  let sent = ''
  let total = 0
  for (;;) {
    const len = msg[at]
    if (len === undefined || len > 63) return undefined
    at++
    if (len === 0) break
    if (at + len > msg.length) return undefined
    total += len + 1
    if (total > 254) return undefined
    for (let i = at; i < at + len; i++) {
      const c = msg[i]!
      const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f
      if (!ok) return undefined
    }
    sent += (sent === '' ? '' : '.') + msg.toString('latin1', at, at + len)
    at += len
  }
  if (sent === '' || at + 4 > msg.length) return undefined
  const type = QUICK_TYPES.get(msg.readUInt16BE(at))
  if (type === undefined || msg.readUInt16BE(at + 2) !== 1) return undefined
  const qEnd = at + 4
  let dnssecOk = false
  let ednsBufferSize = CLASSIC_UDP_SIZE
  if (additional === 1) {
    // OPT: root name, TYPE 41, CLASS = UDP payload size, TTL = extended RCODE, version, DO, Z.
    if (qEnd + 11 > msg.length || msg[qEnd] !== 0 || msg.readUInt16BE(qEnd + 1) !== 41) return undefined
    ednsBufferSize = Math.max(CLASSIC_UDP_SIZE, msg.readUInt16BE(qEnd + 3))
    dnssecOk = (msg.readUInt16BE(qEnd + 7) & 0x8000) !== 0
    if (qEnd + 11 + msg.readUInt16BE(qEnd + 9) !== msg.length) return undefined
  } else if (qEnd !== msg.length) return undefined
  return {
    id: msg.readUInt16BE(0),
    rd: (flags & 0x0100) !== 0,
    cd: (flags & 0x0010) !== 0,
    sentName: sent,
    name: sent.toLowerCase(),
    type,
    dnssecOk,
    ednsBufferSize,
    questionEnd: qEnd,
  }
}
