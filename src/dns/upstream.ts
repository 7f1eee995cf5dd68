/**
 * @module Asking the upstream resolver, over UDP or TCP (RFC 1035 §4.2, RFC 7766).
 *
 * - Every UDP query goes out on its own socket (a fresh random source port, RFC 5452 §9.2) with a
 *   fresh random ID; the socket is connected, so only the upstream's address is read from.
 * - An answer is accepted only if it decodes, has QR set, the query's ID and the same question
 *   (RFC 5452 §4.1); anything else is counted as malformed or mismatched and ignored, and the
 *   query waits for a proper answer until its timeout.
 * - TCP: one connection per query, two-byte length framing, the answer bounded to 65535 bytes.
 */
import { randomInt } from 'node:crypto'
import dgram from 'node:dgram'
import net from 'node:net'
import type { Question } from 'dns-packet'
import { decodeMessage, MAX_MESSAGE_SIZE, withId, type Decoded } from './dns-message.ts'
import { FrameReader } from './tcp-framing.ts'

export interface UpstreamAddress {
  readonly host: string
  readonly port: number
}

export type UpstreamResult =
  | { readonly ok: true; readonly buf: Buffer; readonly decoded: Extract<Decoded, { ok: true }> }
  | { readonly ok: false; readonly error: 'timeout' | 'network'; readonly message: string }

export interface UpstreamEvents {
  /** An answer that did not decode, or did not match the query (spoofing, a confused server). */
  onBadAnswer?(reason: string): void
}

function sameQuestion(a: Question | undefined, b: Question): boolean {
  return a !== undefined && a.type === b.type && (a.class ?? 'IN') === (b.class ?? 'IN') && a.name.toLowerCase() === b.name.toLowerCase()
}

function checkAnswer(buf: Buffer, id: number, question: Question, events: UpstreamEvents): Extract<Decoded, { ok: true }> | undefined {
  const d = decodeMessage(buf)
  if (!d.ok) {
    events.onBadAnswer?.(`malformed: ${d.error}`)
    return undefined
  }
  if (!d.header.qr || d.header.id !== id || !sameQuestion(d.packet.questions?.[0], question)) {
    events.onBadAnswer?.('answer does not match the query')
    return undefined
  }
  return d
}

/** Sends `query` (its ID is replaced) over UDP and waits for the matching answer. */
export function queryUdp(upstream: UpstreamAddress, query: Buffer, question: Question, timeoutMs: number, events: UpstreamEvents = {}): Promise<UpstreamResult> {
  return new Promise((resolve) => {
    const id = randomInt(0, 0x10000)
    const socket = dgram.createSocket(net.isIPv6(upstream.host) ? 'udp6' : 'udp4')
    let done = false
    const finish = (r: UpstreamResult): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.close()
      resolve(r)
    }
    const timer = setTimeout(() => {
      finish({ ok: false, error: 'timeout', message: `no answer from ${upstream.host}:${upstream.port} over UDP within ${timeoutMs} ms` })
    }, timeoutMs)
    socket.on('error', (e) => {
      finish({ ok: false, error: 'network', message: `UDP ${upstream.host}:${upstream.port}: ${e.message}` })
    })
    socket.on('message', (msg) => {
      const d = checkAnswer(msg, id, question, events)
      if (d) finish({ ok: true, buf: msg, decoded: d })
    })
    socket.connect(upstream.port, upstream.host, () => {
      if (done) return
      socket.send(withId(query, id), (e) => {
        if (e) finish({ ok: false, error: 'network', message: `UDP ${upstream.host}:${upstream.port}: ${e.message}` })
      })
    })
  })
}

/** Sends `query` (its ID is replaced) over a new TCP connection and reads one answer. */
export function queryTcp(upstream: UpstreamAddress, query: Buffer, question: Question, timeoutMs: number, events: UpstreamEvents = {}): Promise<UpstreamResult> {
  return new Promise((resolve) => {
    const id = randomInt(0, 0x10000)
    const socket = net.connect({ host: upstream.host, port: upstream.port })
    const reader = new FrameReader(MAX_MESSAGE_SIZE + 2)
    let done = false
    const finish = (r: UpstreamResult): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      resolve(r)
    }
    const timer = setTimeout(() => {
      finish({ ok: false, error: 'timeout', message: `no answer from ${upstream.host}:${upstream.port} over TCP within ${timeoutMs} ms` })
    }, timeoutMs)
    socket.on('error', (e) => {
      finish({ ok: false, error: 'network', message: `TCP ${upstream.host}:${upstream.port}: ${e.message}` })
    })
    socket.on('close', () => {
      finish({ ok: false, error: 'network', message: `TCP ${upstream.host}:${upstream.port}: closed before an answer` })
    })
    socket.on('connect', () => {
      const msg = withId(query, id)
      const len = Buffer.alloc(2)
      len.writeUInt16BE(msg.length)
      socket.write(Buffer.concat([len, msg]))
    })
    socket.on('data', (chunk: Buffer) => {
      const frames = reader.push(chunk)
      if (frames === undefined) {
        finish({ ok: false, error: 'network', message: `TCP ${upstream.host}:${upstream.port}: framing error` })
        return
      }
      for (const f of frames) {
        const d = checkAnswer(f, id, question, events)
        if (d) {
          finish({ ok: true, buf: f, decoded: d })
          return
        }
      }
    })
  })
}
