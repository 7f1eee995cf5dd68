/**
 * @module The aks-egress decision log (`serve`, docs/logging.md): one JSON object per line, written
 * by pino. A connection's line has `event: "decision"` and the fields below; `close` lines (bytes,
 * duration) and `serve` events are not connections and are skipped.
 *
 *   {"level":"info","time":"2026-11-29T23:28:39.123Z","event":"decision","conn":7,"listener":"explicit",
 *    "explicit":true,"srcIp":"10.240.0.4","srcPort":51234,"protocol":"https","host":"mcr.microsoft.com",
 *    "port":443,"sni":"mcr.microsoft.com","action":"deny","rule":null,"code":"DEFAULT_DENY",
 *    "reason":"No rule matched. Proceeding with default action","wouldDeny":false,"msg":"deny"}
 *
 * Kept apart from the Azure parsers on purpose: the field names live here only, so that a change
 * of the decision log is a change of this file. Spellings a person might use instead (`src` as
 * `ip:port`, `sourceIp`, `dstPort`, `reasonCode`) are read too.
 */
import type { LogRecord } from './log-record.ts'

type Row = Readonly<Record<string, unknown>>

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined
}

function num(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^[0-9]{1,5}$/.test(v) ? Number(v) : undefined
  return n !== undefined && Number.isInteger(n) ? n : undefined
}

/**
 * Whether a line of the aks-egress log is not a connection nor a DNS query: a `close` line, or a
 * process event (`start`, `reload`, `drain`, `stop`, `nftables-applied`, ...). pino writes every
 * line with `level` and `event`.
 */
export function isOwnEventLine(row: Row): boolean {
  const event = row['event']
  return typeof event === 'string' && event !== 'decision' && event !== 'dns' && typeof row['level'] === 'string'
}

/**
 * A DNS query line of `serve --transparent` (`event: "dns"`): its fields are AZFWDnsQuery's
 * (dns/dns-log.ts), so it is read as a row of that table.
 */
export function asAzureDnsRow(row: Row): Row | undefined {
  return row['event'] === 'dns' && typeof row['QueryName'] === 'string' ? { ...row, Type: 'AZFWDnsQuery' } : undefined
}

/** Whether a JSON object is an aks-egress decision line (or another line of that log). */
export function isOwnDecisionLog(row: Row): boolean {
  if (row['event'] === 'decision' || row['event'] === 'close' || row['event'] === 'serve') return true
  return typeof row['action'] === 'string' && (typeof row['code'] === 'string' || typeof row['reasonCode'] === 'string') && ('rule' in row || 'rulePath' in row)
}

/** The record of a decision line; undefined for lines that are not connections. */
export function parseOwnDecision(row: Row): LogRecord | undefined {
  if (row['event'] !== undefined && row['event'] !== 'decision') return undefined
  let sourceIp = str(row['srcIp']) ?? str(row['sourceIp'])
  let sourcePort = num(row['srcPort']) ?? num(row['sourcePort'])
  const src = str(row['src']) ?? str(row['source'])
  if (src !== undefined && sourceIp === undefined) {
    const colon = src.lastIndexOf(':')
    sourceIp = colon > 0 ? src.slice(0, colon).replace(/^\[|\]$/g, '') : src
    sourcePort = colon > 0 ? num(src.slice(colon + 1)) : undefined
  }
  const protocol = (str(row['protocol']) ?? str(row['proto']) ?? 'unknown').toUpperCase()
  const host = str(row['host']) ?? str(row['sni'])
  const action = str(row['action'])
  const rule = str(row['rule']) ?? str(row['rulePath'])
  const reason = str(row['code']) ?? str(row['reasonCode'])
  const time = str(row['time'])
  const port = num(row['port']) ?? num(row['dstPort']) ?? num(row['destinationPort'])
  return {
    source: 'aks-egress',
    kind: protocol === 'HTTP' || protocol === 'HTTPS' ? 'application' : 'network',
    protocol,
    action: action === 'allow' || action === 'deny' ? action : 'other',
    ...(row['wouldDeny'] === true ? { wouldDeny: true } : {}),
    ...(time === undefined ? {} : { time }),
    ...(sourceIp === undefined ? {} : { sourceIp }),
    ...(sourcePort === undefined ? {} : { sourcePort }),
    ...(host === undefined ? {} : { host }),
    ...(port === undefined ? {} : { destinationPort: port }),
    ...(rule === undefined ? {} : { rule }),
    ...(reason === undefined ? {} : { reason }),
    ...(reason === 'SNI_MISSING' ? { sniMissing: true } : {}),
  }
}
