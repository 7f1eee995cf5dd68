/**
 * @module One connection (or DNS query) from a firewall log, whatever the log: Azure Firewall's
 * resource-specific tables, its legacy AzureDiagnostics messages, or the aks-egress decision log.
 * Parsers produce this; the analysis (log-analysis.ts) reads only this.
 */

export type LogKind = 'application' | 'network' | 'nat' | 'dns' | 'threat' | 'other'

/** Which log a record came from (for counts). */
export type LogSource = 'AZFWApplicationRule' | 'AZFWNetworkRule' | 'AZFWNatRule' | 'AZFWDnsQuery' | 'AzureDiagnostics' | 'aks-egress'

export interface LogRecord {
  readonly source: LogSource
  readonly kind: LogKind
  readonly time?: string
  /** Upper case as Azure writes it: HTTP, HTTPS, TCP, UDP, MSSQL. */
  readonly protocol?: string
  readonly sourceIp?: string
  readonly sourcePort?: number
  /** The name asked for: FQDN (Host, SNI), the CONNECT host. */
  readonly host?: string
  readonly destinationIp?: string
  readonly destinationPort?: number
  readonly action: 'allow' | 'deny' | 'alert' | 'other'
  /** aks-egress report mode: allowed, but enforce would have denied it. */
  readonly wouldDeny?: boolean
  /** `group/collection/rule` (or `collection/rule` for classic rules). */
  readonly rule?: string
  readonly reason?: string
  /** HTTPS without the TLS server_name extension. */
  readonly sniMissing?: boolean
  readonly dns?: { readonly name: string; readonly type?: string; readonly responseCode?: string; readonly error?: string }
}

/** A denial, counting aks-egress's report-mode "would deny" as one. */
export function isDenial(r: LogRecord): boolean {
  return r.action === 'deny' || r.wouldDeny === true
}
