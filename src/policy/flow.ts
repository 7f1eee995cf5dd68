/**
 * @module A flow: what the engine decides on. The data plane builds one per connection (from
 * the TLS SNI, the HTTP Host or CONNECT line, the packet's addresses); `explain` builds one from a
 * URL; `audit` from a catalog entry.
 */

/** Application protocols are matched by application rules, the rest by network rules only. */
export type FlowProtocol = 'http' | 'https' | 'mssql' | 'tcp' | 'udp' | 'icmp'

export interface Flow {
  readonly protocol: FlowProtocol
  /** Destination port; ignored for `icmp`. */
  readonly destinationPort: number
  /**
   * The destination name in normal form: the HTTP Host, the CONNECT host, or the name a network
   * flow was resolved from. For `https`, the SNI is used when `sni` is given.
   */
  readonly host?: string | undefined
  /** `https`/`mssql` only: the ClientHello's server_name; `null` when the extension was absent. */
  readonly sni?: string | null | undefined
  /** Destination IP (IPv4 or IPv6 text). */
  readonly destinationIp?: string | undefined
  /** Source IP. When absent, the rules' source conditions are not checked. */
  readonly sourceIp?: string | undefined
  /**
   * Service tags the destination is known to belong to (`AzureCloud.westeurope`, `AzureCloud`):
   * lets `audit` and `explain` match tag rules symbolically where no address ranges are at hand.
   */
  readonly destinationTags?: readonly string[] | undefined
}

/**
 * Builds a flow with every property present, in one order (absent ones `undefined`). The engine
 * reads each property of every flow; flows of one shape keep those reads monomorphic, which is
 * several times faster than flows whose shape depends on which properties were set. The data
 * plane builds its flows with this.
 */
export function makeFlow(init: Flow): Flow {
  return {
    protocol: init.protocol,
    destinationPort: init.destinationPort,
    host: init.host,
    sni: init.sni,
    destinationIp: init.destinationIp,
    sourceIp: init.sourceIp,
    destinationTags: init.destinationTags,
  }
}

export function isApplicationProtocol(p: FlowProtocol): p is 'http' | 'https' | 'mssql' {
  return p === 'http' || p === 'https' || p === 'mssql'
}

/** Default port of each scheme, for `SCHEME://HOST` without a port (DESIGN.md §8). */
export const DEFAULT_PORTS: Readonly<Record<FlowProtocol, number>> = Object.freeze({
  http: 80,
  https: 443,
  mssql: 1433,
  tcp: 0,
  udp: 0,
  icmp: 0,
})
