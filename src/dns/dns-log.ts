/**
 * @module The DNS query log: one JSON line per query, its fields named after Azure Firewall's
 * AZFWDnsQuery table (azure-facts §2.10) so the same queries work on both; `docs/logging.md`
 * documents each field. `time` and `msg` lead, as in the proxy's decision log.
 */

export interface DnsQueryLog {
  readonly time: string
  readonly msg: 'dns'
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

/** A sink writing one JSON line per record to a stream (stdout by default). */
export function jsonLineSink(stream: { write(text: string): unknown } = process.stdout): DnsLogSink {
  return (record) => {
    stream.write(`${JSON.stringify(record)}\n`)
  }
}
