/**
 * @module The DNS query log: one JSON line per query, its fields named after Azure Firewall's
 * AZFWDnsQuery table (azure-facts §2.10) so the same queries work on both; `docs/logging.md`
 * documents each field. The line is written by `serve`'s logger (`pinoDnsSink`), in the same
 * stream as the proxy's decision lines and with their envelope: `level`, `time` (when the answer
 * was sent), `event: "dns"`, ..., `msg: "dns"`.
 */
import type { Logger } from 'pino'

export interface DnsQueryLog {
  readonly SourceIp: string
  readonly SourcePort: number
  readonly QueryId: number
  readonly QueryType: string
  readonly QueryClass: string
  readonly QueryName: string
  readonly Protocol: 'udp' | 'tcp'
  readonly RequestSize: number
  readonly DnssecOkBit: boolean
  readonly EDNS0BufferSize: number
  readonly ResponseCode: string
  readonly ResponseFlags: string
  readonly ResponseSize: number
  readonly RequestDurationSecs: number
  readonly ErrorNumber: number
  readonly ErrorMessage: string
  /** aks-egress: the answer came from the cache. */
  readonly Cached: boolean
  /** aks-egress: addresses learned into nftables sets from this answer. */
  readonly LearnedAddresses: number
}

export type DnsLogSink = (record: DnsQueryLog) => void

/** ErrorNumber values (Azure logs carry a number and a message for failed upstream queries). */
export const DNS_ERROR = { NONE: 0, UPSTREAM_TIMEOUT: 1, UPSTREAM_NETWORK: 2, OVERLOAD: 3, REFUSED_BY_POLICY: 4, NOT_SERVED: 5 } as const

/**
 * A sink writing one line per record through a pino logger (`serve`'s decision log). `event` is a
 * child logger's binding, serialised once (pino writes bindings before the record's fields, so
 * the line reads as before): per query there is no object spread, only the record's own fields.
 */
export function pinoDnsSink(logger: Logger): DnsLogSink {
  const dns = logger.child({ event: 'dns' })
  return (record) => {
    dns.info(record, 'dns')
  }
}

const str = (s: string): string => JSON.stringify(s)

/**
 * The DNS query line as `serve`'s logger writes it (level and time as in
 * proxy/connection-log.ts: `"level":"info"`, ISO time; then `event`, the record's fields in
 * their order, `msg`), serialised by hand: one template per query instead of pino's generic walk
 * over the object, which was a third of the proxy's CPU per cached answer. Strings go through
 * JSON.stringify (escaping); the rest are numbers and booleans. A test holds it to pino's output.
 */
export function dnsLogLine(r: DnsQueryLog, isoTime: string): string {
  return (
    `{"level":"info","time":"${isoTime}","event":"dns","SourceIp":${str(r.SourceIp)},"SourcePort":${r.SourcePort},"QueryId":${r.QueryId},` +
    `"QueryType":${str(r.QueryType)},"QueryClass":${str(r.QueryClass)},"QueryName":${str(r.QueryName)},"Protocol":"${r.Protocol}",` +
    `"RequestSize":${r.RequestSize},"DnssecOkBit":${r.DnssecOkBit},"EDNS0BufferSize":${r.EDNS0BufferSize},"ResponseCode":${str(r.ResponseCode)},` +
    `"ResponseFlags":${str(r.ResponseFlags)},"ResponseSize":${r.ResponseSize},"RequestDurationSecs":${r.RequestDurationSecs},` +
    `"ErrorNumber":${r.ErrorNumber},"ErrorMessage":${str(r.ErrorMessage)},"Cached":${r.Cached},"LearnedAddresses":${r.LearnedAddresses},"msg":"dns"}\n`
  )
}
