/**
 * @module What a connection (or a kept-alive connection's current request) learns on its way to a
 * decision — protocol, host, SNI, timings, the address dialled — for its decision line.
 *
 * One object per connection with every field present from the start, set in place: the handlers
 * used to copy an immutable record with a spread at each step (five or six per connection), and a
 * profile of new connections showed those copies. The upstream is kept as address and port and
 * formatted only when a line is written (`record()`, at the info level).
 */
import { formatHostPort } from './authority.ts'
import type { DecisionRecord } from './connection-log.ts'

/** The decision line's fields that the handlers fill in (the rest come from the connection and the verdict). */
export type RecordFields = Omit<DecisionRecord, 'conn' | 'listener' | 'explicit' | 'srcIp' | 'srcPort' | 'action' | 'rule' | 'code' | 'reason' | 'wouldDeny'>

export class DecisionFields {
  protocol: DecisionRecord['protocol'] = 'unknown'
  host: string | null = null
  port: number | null = null
  /** Undefined: no ClientHello was read; null: one without server_name. */
  sni: string | null | undefined = undefined
  alpn: readonly string[] | undefined = undefined
  method: string | undefined = undefined
  url: string | undefined = undefined
  request: number | undefined = undefined
  reused: boolean | undefined = undefined
  handshakeMs: number | undefined = undefined
  dnsMs: number | undefined = undefined
  connectMs: number | undefined = undefined
  upstreamAddress: string | undefined = undefined
  upstreamPort = 0

  /** Back to the state of a new connection (the next request on a kept-alive one). */
  reset(): void {
    this.protocol = 'unknown'
    this.host = null
    this.port = null
    this.sni = undefined
    this.alpn = undefined
    this.method = undefined
    this.url = undefined
    this.request = undefined
    this.reused = undefined
    this.handshakeMs = undefined
    this.dnsMs = undefined
    this.connectMs = undefined
    this.upstreamAddress = undefined
    this.upstreamPort = 0
  }

  /** The fields set so far, for a decision line (unset ones are left out, as they were before). */
  record(): RecordFields {
    return {
      protocol: this.protocol,
      host: this.host,
      port: this.port,
      ...(this.sni !== undefined ? { sni: this.sni } : {}),
      ...(this.alpn !== undefined ? { alpn: this.alpn } : {}),
      ...(this.method !== undefined ? { method: this.method } : {}),
      ...(this.url !== undefined ? { url: this.url } : {}),
      ...(this.request !== undefined ? { request: this.request } : {}),
      ...(this.handshakeMs !== undefined ? { handshakeMs: this.handshakeMs } : {}),
      ...(this.dnsMs !== undefined ? { dnsMs: this.dnsMs } : {}),
      ...(this.connectMs !== undefined ? { connectMs: this.connectMs } : {}),
      ...(this.upstreamAddress !== undefined ? { upstream: formatHostPort(this.upstreamAddress, this.upstreamPort) } : {}),
      ...(this.reused !== undefined ? { reused: this.reused } : {}),
    }
  }
}
