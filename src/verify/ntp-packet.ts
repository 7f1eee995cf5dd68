/**
 * @module NTP client request and server reply (RFC 5905 §7.3, the 48-byte header):
 *
 *   0: LI(2) VN(3) Mode(3)   1: Stratum   2: Poll   3: Precision
 *   4: Root Delay   8: Root Dispersion   12: Reference ID
 *   16: Reference Timestamp   24: Origin Timestamp   32: Receive Timestamp   40: Transmit Timestamp
 *
 * Timestamps are 64-bit: seconds since 1900-01-01 (32 bits) and a binary fraction (32 bits).
 * A client (mode 3) puts its clock in Transmit; the server (mode 4) copies it into Origin, which is
 * how the client knows the reply answers its request (RFC 5905 §8, "bogus packet" check).
 */

export const NTP_PACKET_BYTES = 48
/** Seconds from 1900-01-01 (NTP era 0) to 1970-01-01 (Unix epoch), RFC 5905 §6. */
export const NTP_UNIX_OFFSET_S = 2208988800
const MODE_CLIENT = 3
const MODE_SERVER = 4
const VERSION = 4

function writeTimestamp(buf: Buffer, offset: number, unixMs: number): void {
  const seconds = Math.floor(unixMs / 1000) + NTP_UNIX_OFFSET_S
  const fraction = Math.floor(((unixMs % 1000) / 1000) * 2 ** 32)
  buf.writeUInt32BE(seconds >>> 0, offset)
  buf.writeUInt32BE(fraction >>> 0, offset + 4)
}

function readTimestampMs(buf: Buffer, offset: number): number {
  const seconds = buf.readUInt32BE(offset)
  const fraction = buf.readUInt32BE(offset + 4)
  return (seconds - NTP_UNIX_OFFSET_S) * 1000 + (fraction / 2 ** 32) * 1000
}

/** A client request carrying `nowMs` as its transmit timestamp. */
export function ntpRequest(nowMs: number): Buffer {
  const buf = Buffer.alloc(NTP_PACKET_BYTES)
  buf[0] = (0 << 6) | (VERSION << 3) | MODE_CLIENT
  writeTimestamp(buf, 40, nowMs)
  return buf
}

export type NtpReply =
  | { readonly ok: true; readonly stratum: number; readonly offsetMs: number; readonly referenceId: string }
  | { readonly ok: false; readonly problem: string }

/** Checks a reply against the request it answers; `sentMs`/`receivedMs` are the local clock. */
export function parseNtpReply(reply: Buffer, request: Buffer, sentMs: number, receivedMs: number): NtpReply {
  if (reply.length < NTP_PACKET_BYTES) return { ok: false, problem: `a ${reply.length}-byte reply; NTP needs ${NTP_PACKET_BYTES}` }
  const mode = reply[0]! & 7
  if (mode !== MODE_SERVER) return { ok: false, problem: `reply mode ${mode}, not 4 (server)` }
  if (!reply.subarray(24, 32).equals(request.subarray(40, 48))) return { ok: false, problem: 'the reply does not answer this request (origin timestamp differs)' }
  const stratum = reply[1]!
  const refId = reply.subarray(12, 16)
  if (stratum === 0) return { ok: false, problem: `kiss-o'-death "${refId.toString('latin1').replace(/[^\x20-\x7e]/g, '')}" (RFC 5905 §7.4)` }
  if (stratum > 15) return { ok: false, problem: `stratum ${stratum}: the server is unsynchronised` }
  // Clock offset θ = ((T2 - T1) + (T3 - T4)) / 2 (RFC 5905 §8).
  const t2 = readTimestampMs(reply, 32)
  const t3 = readTimestampMs(reply, 40)
  const offsetMs = (t2 - sentMs + (t3 - receivedMs)) / 2
  const referenceId = stratum === 1 ? refId.toString('latin1').replace(/[^\x20-\x7e]/g, '') : [...refId].join('.')
  return { ok: true, stratum, offsetMs, referenceId }
}

/** A server reply to `request` (for tests and local origins). */
export function ntpServerReply(request: Buffer, nowMs: number, stratum = 2): Buffer {
  const buf = Buffer.alloc(NTP_PACKET_BYTES)
  buf[0] = (0 << 6) | (VERSION << 3) | MODE_SERVER
  buf[1] = stratum
  buf.writeUInt32BE(0x7f000001, 12)
  writeTimestamp(buf, 16, nowMs)
  request.copy(buf, 24, 40, 48)
  writeTimestamp(buf, 32, nowMs)
  writeTimestamp(buf, 40, nowMs)
  return buf
}
