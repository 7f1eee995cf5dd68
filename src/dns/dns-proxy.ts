/**
 * @module The DNS proxy of the appliance (DESIGN.md §4, azure-facts §2.4): UDP and TCP on one
 * address, forwarding to the upstream resolver, answering from a bounded cache, logging every query
 * (AZFWDnsQuery fields), refusing names no rule allows under `dnsPolicy: allowed-only`, and
 * feeding the answers of FQDN network rules' names to the learner.
 *
 * Bounds: queries in flight (`maxInflight`, beyond it SERVFAIL and `overload_total`), the
 * per-query upstream timeout, TCP connections (`maxTcpConnections`), queries in flight per TCP
 * connection, TCP idle time, the framing buffer. A message that does not decode is dropped and
 * counted, never answered and never thrown: nothing a client sends can stop the proxy.
 *
 * Truncation: an upstream UDP answer with TC set is asked again over TCP (RFC 7766 §5); an answer
 * larger than a UDP client's buffer (512 bytes, or its EDNS0 size up to 4096) is sent truncated,
 * TC set and no records, so the client retries over TCP.
 */
import dgram from 'node:dgram'
import net from 'node:net'
import type { DecodedPacket } from 'dns-packet'
import { cacheKey, cacheTtl, DnsCache } from './dns-cache.ts'
import { DNS_ERROR, type DnsLogSink, type DnsQueryLog } from './dns-log.ts'
import {
  agedResponse,
  agedWire,
  checkQuery,
  decodeMessage,
  errorResponse,
  flagNames,
  MAX_UDP_SIZE,
  questionEnd,
  quickQuery,
  RCODE,
  rcodeName,
  readHeader,
  truncatedResponse,
  withId,
  type QueryInfo,
  type QuickQuery,
} from './dns-message.ts'
import { DnsMetrics } from './dns-metrics.ts'
import { ALLOW_ALL, type NamePolicy } from './name-policy.ts'
import { FrameReader, frame } from './tcp-framing.ts'
import { queryTcp, queryUdp, type UpstreamAddress, type UpstreamResult } from './upstream.ts'

export interface DnsProxyOptions {
  readonly listen: { readonly host: string; readonly port: number }
  readonly upstream: UpstreamAddress
  readonly cacheEntries?: number
  readonly maxInflight?: number
  readonly queryTimeoutMs?: number
  readonly maxTcpConnections?: number
  readonly maxQueriesPerTcpConnection?: number
  readonly tcpIdleTimeoutMs?: number
  /** How long an answer waits for its addresses to reach nftables before it is sent anyway. */
  readonly learnWaitMs?: number
  readonly names?: NamePolicy
  /**
   * Learns an answer's addresses into nftables sets: the count, synchronously when nothing has to
   * reach the kernel (nothing new, no FQDN rule for the name), else a promise of it.
   */
  readonly learn?: (qname: string, packet: DecodedPacket) => Promise<number> | number
  readonly log?: DnsLogSink
  readonly metrics?: DnsMetrics
}

export const DNS_DEFAULTS = Object.freeze({
  cacheEntries: 10_000,
  maxInflight: 1024,
  /** Azure's own DNS log shows 2 s upstream timeouts; a little more for slow authoritative chains. */
  queryTimeoutMs: 3000,
  maxTcpConnections: 256,
  maxQueriesPerTcpConnection: 16,
  tcpIdleTimeoutMs: 10_000,
  learnWaitMs: 2000,
})

type Settings = Required<Omit<DnsProxyOptions, 'learn' | 'log' | 'metrics' | 'names'>>

interface Answer {
  readonly buf: Buffer
  readonly rcode: string
  readonly flags: number
  readonly cached: boolean
  readonly learned: number
  readonly errorNumber: number
  readonly errorMessage: string
}

interface Upstreamed {
  readonly result: UpstreamResult
  readonly learned: number
}

export class DnsProxy {
  readonly metrics: DnsMetrics
  readonly #o: Settings
  readonly #cache: DnsCache
  readonly #learn: ((qname: string, packet: DecodedPacket) => Promise<number> | number) | undefined
  readonly #log: DnsLogSink | undefined
  #names: NamePolicy
  #udp: dgram.Socket | undefined
  #tcp: net.Server | undefined
  readonly #tcpSockets = new Set<net.Socket>()
  #inflight = 0
  readonly #coalesce = new Map<string, Promise<Upstreamed>>()
  #closed = false

  constructor(options: DnsProxyOptions) {
    this.#o = { ...DNS_DEFAULTS, ...options }
    this.#cache = new DnsCache(this.#o.cacheEntries)
    this.#learn = options.learn
    this.#log = options.log
    this.#names = options.names ?? ALLOW_ALL
    this.metrics = options.metrics ?? new DnsMetrics()
    this.metrics.gauge('inflight', () => this.#inflight)
    this.metrics.gauge('cache_entries', () => this.#cache.size)
    this.metrics.gauge('tcp_connections', () => this.#tcpSockets.size)
  }

  /** Replaces the name policy (reload). The cache is kept: it holds answers, not decisions. */
  setNamePolicy(names: NamePolicy): void {
    this.#names = names
  }

  /** Binds UDP and TCP on the listen address (port 0: one free port for both). */
  async start(): Promise<{ host: string; port: number }> {
    const { host } = this.#o.listen
    const type = net.isIPv6(host) ? 'udp6' : 'udp4'
    for (let attempt = 0; ; attempt++) {
      const udp = dgram.createSocket({ type, reuseAddr: false })
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject)
        udp.bind(this.#o.listen.port, host, () => {
          udp.off('error', reject)
          resolve()
        })
      })
      const port = udp.address().port
      const tcp = net.createServer({ noDelay: true }, (s) => {
        this.#acceptTcp(s)
      })
      tcp.maxConnections = this.#o.maxTcpConnections
      const bound = await new Promise<boolean>((resolve) => {
        tcp.once('error', () => {
          resolve(false)
        })
        tcp.listen({ port, host, exclusive: true }, () => {
          resolve(true)
        })
      })
      if (!bound) {
        udp.close()
        if (this.#o.listen.port !== 0 || attempt >= 10) throw new Error(`cannot listen on TCP ${host}:${port}`)
        continue
      }
      tcp.on('drop', () => {
        this.metrics.inc('tcp_connections_rejected_total')
      })
      udp.on('message', (msg, rinfo) => {
        this.metrics.inc('queries_udp_total')
        const out = this.#respond(msg, 'udp', rinfo.address, rinfo.port)
        // A cached answer is sent in the same turn as the query arrived: no promise, no tick.
        if (!(out instanceof Promise)) {
          if (!this.#closed) udp.send(out, rinfo.port, rinfo.address)
          return
        }
        void out.then((answer) => {
          if (answer && !this.#closed) udp.send(answer, rinfo.port, rinfo.address)
        })
      })
      udp.on('error', () => undefined)
      this.#udp = udp
      this.#tcp = tcp
      return { host, port }
    }
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#udp?.close()
    for (const s of this.#tcpSockets) s.destroy()
    await new Promise<void>((resolve) => {
      if (this.#tcp) {
        this.#tcp.close(() => {
          resolve()
        })
      } else resolve()
    })
  }

  #acceptTcp(socket: net.Socket): void {
    this.metrics.inc('tcp_connections_total')
    this.#tcpSockets.add(socket)
    const reader = new FrameReader(2 * (65535 + 2))
    let pending = 0
    socket.setTimeout(this.#o.tcpIdleTimeoutMs, () => socket.destroy())
    socket.on('error', () => undefined)
    socket.on('close', () => this.#tcpSockets.delete(socket))
    socket.on('data', (chunk: Buffer) => {
      const frames = reader.push(chunk)
      if (frames === undefined) {
        this.metrics.inc('malformed_queries_total')
        socket.destroy()
        return
      }
      for (const f of frames) {
        this.metrics.inc('queries_tcp_total')
        if (pending >= this.#o.maxQueriesPerTcpConnection) {
          this.metrics.inc('overload_total')
          socket.destroy()
          return
        }
        pending++
        void Promise.resolve(this.#respond(f, 'tcp', socket.remoteAddress ?? '', socket.remotePort ?? 0)).then((out) => {
          pending--
          if (out && !socket.destroyed) socket.write(frame(out))
        })
      }
    })
  }

  /**
   * Answers one message: the common case first, an ordinary query whose answer is cached, read and
   * answered from its bytes without decoding either message, synchronously when no learning has
   * to reach the kernel; anything else through the full path (`#serve`). Never rejects.
   */
  #respond(msg: Buffer, protocol: 'udp' | 'tcp', sourceIp: string, sourcePort: number): Buffer | Promise<Buffer | undefined> {
    // The clock is read only for the log's RequestDurationSecs.
    const started = this.#log ? process.hrtime.bigint() : 0n
    const quick = quickQuery(msg)
    const hit = quick ? this.#fromCache(msg, quick, protocol, sourceIp, sourcePort, started) : undefined
    return hit ?? this.#serve(msg, protocol, sourceIp, sourcePort, started)
  }

  /** Answers one message by the full path; undefined = drop it. Never rejects. */
  async #serve(msg: Buffer, protocol: 'udp' | 'tcp', sourceIp: string, sourcePort: number, started: bigint): Promise<Buffer | undefined> {
    const decoded = decodeMessage(msg)
    if (!decoded.ok) {
      this.metrics.inc('malformed_queries_total')
      return undefined
    }
    const header = decoded.header
    const check = checkQuery(decoded)
    let info: QueryInfo | undefined
    let answer: Answer
    if (!check.ok) {
      // Only answer something that is not itself a response (no reflection loops).
      if (header.qr) {
        this.metrics.inc('malformed_queries_total')
        return undefined
      }
      const q = decoded.packet.questions?.[0]
      answer = this.#fixed(errorResponse({ id: header.id, rd: header.rd, ...(q ? { question: q } : {}) }, check.rcode), check.rcode, DNS_ERROR.NOT_SERVED, check.error)
    } else {
      info = check.info
      try {
        answer = await this.#answer(msg, header.id, header.rd, header.cd, info)
      } catch (e) {
        answer = this.#fixed(errorResponse({ id: header.id, rd: header.rd, question: info.question }, RCODE.SERVFAIL), RCODE.SERVFAIL, DNS_ERROR.UPSTREAM_NETWORK, e instanceof Error ? e.message : String(e))
      }
    }
    let out = answer.buf
    if (protocol === 'udp' && info && out.length > Math.min(info.ednsBufferSize, MAX_UDP_SIZE)) {
      this.metrics.inc('truncated_to_client_total')
      out = truncatedResponse(out, info.question)
    }
    const flags = readHeader(out)?.flags ?? answer.flags
    this.metrics.response(answer.rcode)
    if (this.#log) {
      const q = info?.question ?? decoded.packet.questions?.[0]
      const record: DnsQueryLog = {
        SourceIp: sourceIp,
        SourcePort: sourcePort,
        QueryId: header.id,
        QueryType: q ? q.type : '',
        QueryClass: q ? (q.class ?? 'IN') : '',
        QueryName: q ? q.name : '',
        Protocol: protocol,
        RequestSize: msg.length,
        DnssecOkBit: info?.dnssecOk ?? false,
        EDNS0BufferSize: info?.ednsBufferSize ?? 512,
        ResponseCode: answer.rcode,
        ResponseFlags: flagNames(flags),
        ResponseSize: out.length,
        RequestDurationSecs: Number(process.hrtime.bigint() - started) / 1e9,
        ErrorNumber: answer.errorNumber,
        ErrorMessage: answer.errorMessage,
        Cached: answer.cached,
        LearnedAddresses: answer.learned,
      }
      this.#log(record)
    }
    return out
  }

  /**
   * A cached answer to an ordinary query: a cache lookup, a copy of the stored bytes with the
   * query's ID and question and the TTLs aged, then counters. The answer itself when learning has
   * nothing to wait for, a promise of it when it has; undefined to take the full path (miss,
   * refusal, truncation).
   */
  #fromCache(msg: Buffer, q: QuickQuery, protocol: 'udp' | 'tcp', sourceIp: string, sourcePort: number, started: bigint): Buffer | Promise<Buffer> | undefined {
    if (!this.#names.allows(q.name)) return undefined
    const now = Date.now()
    const hit = this.#cache.get(cacheKey(q.name, q.type, 'IN', q.dnssecOk, q.cd), now)
    if (!hit?.wire || !hit.layout) return undefined
    const out = agedWire(hit.wire, hit.layout, msg, q.questionEnd, Math.floor((now - hit.storedAtMs) / 1000))
    if (!out || (protocol === 'udp' && out.length > Math.min(q.ednsBufferSize, MAX_UDP_SIZE))) return undefined
    this.metrics.inc('cache_hits_total')
    const learned = this.#learnBounded(q.name, hit.packet)
    if (typeof learned === 'number') {
      this.#cachedDone(msg, q, protocol, sourceIp, sourcePort, started, hit.packet, out, learned)
      return out
    }
    return learned.then((n) => {
      this.#cachedDone(msg, q, protocol, sourceIp, sourcePort, started, hit.packet, out, n)
      return out
    })
  }

  /** The counters and the log line of a cached answer. */
  #cachedDone(msg: Buffer, q: QuickQuery, protocol: 'udp' | 'tcp', sourceIp: string, sourcePort: number, started: bigint, packet: DecodedPacket, out: Buffer, learned: number): void {
    const rcode = rcodeName((packet.flags ?? 0) & 0xf)
    this.metrics.response(rcode)
    if (this.#log) {
      this.#log({
        SourceIp: sourceIp,
        SourcePort: sourcePort,
        QueryId: q.id,
        QueryType: q.type,
        QueryClass: 'IN',
        QueryName: q.sentName,
        Protocol: protocol,
        RequestSize: msg.length,
        DnssecOkBit: q.dnssecOk,
        EDNS0BufferSize: q.ednsBufferSize,
        ResponseCode: rcode,
        ResponseFlags: flagNames(out.readUInt16BE(2)),
        ResponseSize: out.length,
        RequestDurationSecs: Number(process.hrtime.bigint() - started) / 1e9,
        ErrorNumber: 0,
        ErrorMessage: '',
        Cached: true,
        LearnedAddresses: learned,
      })
    }
  }

  #fixed(buf: Buffer, rcode: number, errorNumber: number, errorMessage: string): Answer {
    return { buf, rcode: rcodeName(rcode), flags: readHeader(buf)?.flags ?? 0, cached: false, learned: 0, errorNumber, errorMessage }
  }

  async #answer(msg: Buffer, id: number, rd: boolean, cd: boolean, info: QueryInfo): Promise<Answer> {
    if (!this.#names.allows(info.name)) {
      this.metrics.inc('refused_total')
      return this.#fixed(errorResponse({ id, rd, cd, question: info.question }, RCODE.REFUSED), RCODE.REFUSED, DNS_ERROR.REFUSED_BY_POLICY, 'dnsPolicy allowed-only: no rule allows this name')
    }
    const key = cacheKey(info.name, info.type, info.class, info.dnssecOk, cd)
    const now = Date.now()
    const hit = this.#cache.get(key, now)
    if (hit) {
      this.metrics.inc('cache_hits_total')
      const learned = await this.#learnBounded(info.name, hit.packet)
      const elapsed = Math.floor((now - hit.storedAtMs) / 1000)
      const fast = hit.wire && hit.layout ? agedWire(hit.wire, hit.layout, msg, questionEnd(msg), elapsed) : undefined
      const buf = fast ?? agedResponse(hit.packet, id, info.question, elapsed)
      return { buf, rcode: rcodeName((hit.packet.flags ?? 0) & 0xf), flags: hit.packet.flags ?? 0, cached: true, learned, errorNumber: 0, errorMessage: '' }
    }
    this.metrics.inc('cache_misses_total')
    let flight = this.#coalesce.get(key)
    if (!flight) {
      if (this.#inflight >= this.#o.maxInflight) {
        this.metrics.inc('overload_total')
        return this.#fixed(errorResponse({ id, rd, cd, question: info.question }, RCODE.SERVFAIL), RCODE.SERVFAIL, DNS_ERROR.OVERLOAD, `more than ${this.#o.maxInflight} queries in flight`)
      }
      flight = this.#upstream(msg, info, key)
      this.#coalesce.set(key, flight)
      void flight.finally(() => this.#coalesce.delete(key))
    }
    const { result, learned } = await flight
    if (!result.ok) {
      if (result.error === 'timeout') this.metrics.inc('upstream_timeouts_total')
      else this.metrics.inc('upstream_errors_total')
      return this.#fixed(
        errorResponse({ id, rd, cd, question: info.question }, RCODE.SERVFAIL),
        RCODE.SERVFAIL,
        result.error === 'timeout' ? DNS_ERROR.UPSTREAM_TIMEOUT : DNS_ERROR.UPSTREAM_NETWORK,
        result.message,
      )
    }
    // The upstream echoed our forwarded bytes' question, so the client's spelling comes back.
    const buf = result.buf.readUInt16BE(0) === id ? result.buf : withId(result.buf, id)
    return { buf, rcode: rcodeName(result.decoded.header.rcode), flags: result.decoded.header.flags, cached: false, learned, errorNumber: 0, errorMessage: '' }
  }

  async #upstream(msg: Buffer, info: QueryInfo, key: string): Promise<Upstreamed> {
    this.#inflight++
    try {
      const events = {
        onBadAnswer: () => {
          this.metrics.inc('malformed_upstream_total')
        },
      }
      this.metrics.inc('upstream_queries_total')
      let result = await queryUdp(this.#o.upstream, msg, info.question, this.#o.queryTimeoutMs, events)
      if (result.ok && result.decoded.header.tc) {
        this.metrics.inc('upstream_tcp_retries_total')
        result = await queryTcp(this.#o.upstream, msg, info.question, this.#o.queryTimeoutMs, events)
      }
      if (!result.ok) return { result, learned: 0 }
      const ttl = cacheTtl(result.decoded.packet, result.decoded.header)
      if (ttl > 0 && this.#cache.set(key, result.decoded.packet, ttl, Date.now(), result.buf) > 0) this.metrics.inc('cache_evictions_total')
      const learned = result.decoded.header.rcode === RCODE.NOERROR ? await this.#learnBounded(info.name, result.decoded.packet) : 0
      return { result, learned }
    } finally {
      this.#inflight--
    }
  }

  /** Learns, waiting at most `learnWaitMs` for the kernel; a number when there was nothing to wait for. */
  #learnBounded(qname: string, packet: DecodedPacket): number | Promise<number> {
    if (!this.#learn) return 0
    let pending: Promise<number> | number
    try {
      pending = this.#learn(qname, packet)
    } catch {
      return 0
    }
    return typeof pending === 'number' ? pending : this.#waitLearn(pending)
  }

  async #waitLearn(pending: Promise<number>): Promise<number> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<number>((resolve) => {
      timer = setTimeout(() => { resolve(0); }, this.#o.learnWaitMs)
    })
    try {
      return await Promise.race([pending.catch(() => 0), timeout])
    } finally {
      clearTimeout(timer)
    }
  }
}
