/**
 * @module Azure Firewall's logs (azure-facts §2.10), row by row:
 * - resource-specific tables as Log Analytics exports them (JSON or CSV): AZFWApplicationRule
 *   (Protocol, SourceIp, SourcePort, DestinationPort, Fqdn, TargetUrl, Action, Policy,
 *   RuleCollectionGroup, RuleCollection, Rule, ActionReason, ...), AZFWNetworkRule (DestinationIp
 *   instead of Fqdn), AZFWNatRule, AZFWDnsQuery (QueryName, QueryType, ResponseCode, ...); also as
 *   diagnostic-setting records (`{"category": "AZFWApplicationRule", "properties": {...}}`);
 * - legacy AzureDiagnostics rows: `msg_s` (Log Analytics) or `properties.msg` (storage / Event
 *   Hubs records), with `Category` / `OperationName`. The message shapes:
 *     HTTPS request from 10.1.0.5:55640 to mydestination.com:443. Action: Allow. Rule Collection: c. Rule: r
 *     HTTPS request from 10.1.0.5:55640 to x.com:443. Action: Deny. No rule matched. Proceeding with default action
 *     HTTPS request from 10.1.0.5:55640. Action: Deny. Reason: SNI TLS extension was missing.
 *     HTTPS request from 10.13.1.4:55583 to a.com:443. Action: Deny. Policy: p. Rule Collection Group: g. Rule Collection: c. Rule: r
 *     HTTP request from 10.0.0.4:5000 to a.com:80. Url: a.com/x. Action: Allow. ...
 *     TCP request from 111.35.136.173:12518 to 13.78.143.217:2323. Action: Deny
 *     HTTP request from 10.0.0.5:54074 to bad.com:80. Action: Alert. ThreatIntel: Bot Networks
 *     DNS Request: 11.5.0.7:48197 – 15676 AAA IN md-x.blob.core.windows.net. udp 55 false 512 NOERROR - 0 2.000301956s
 *     Error: 2 time.windows.com.reddog.microsoft.com. A: read udp 10.0.1.5:49126->168.63.129.160:53: i/o timeout
 * Column names are matched case-insensitively, and a CSV header's " [UTC]" suffix is ignored.
 */
import type { LogKind, LogRecord, LogSource } from './log-record.ts'

type Row = Readonly<Record<string, unknown>>

/** Case-insensitive column access (Log Analytics CSV headers, raw records, `properties`). */
export class Columns {
  readonly #map = new Map<string, unknown>()
  constructor(row: Row) {
    for (const [k, v] of Object.entries(row)) this.#map.set(k.replace(/ \[UTC\]$/, '').toLowerCase(), v)
    const props = row['properties']
    if (typeof props === 'object' && props !== null && !Array.isArray(props)) {
      for (const [k, v] of Object.entries(props)) if (!this.#map.has(k.toLowerCase())) this.#map.set(k.toLowerCase(), v)
    }
  }
  has(name: string): boolean {
    return this.#map.has(name.toLowerCase())
  }
  str(name: string): string | undefined {
    const v = this.#map.get(name.toLowerCase())
    if (typeof v === 'string') return v === '' ? undefined : v
    if (typeof v === 'number' || typeof v === 'boolean') return String(v)
    return undefined
  }
  num(name: string): number | undefined {
    const v = this.#map.get(name.toLowerCase())
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^[0-9]{1,5}$/.test(v.trim()) ? Number(v.trim()) : undefined
    return n !== undefined && Number.isInteger(n) ? n : undefined
  }
}

function action(text: string | undefined): LogRecord['action'] {
  const t = (text ?? '').toLowerCase()
  return t === 'allow' ? 'allow' : t === 'deny' || t === 'drop' ? 'deny' : t === 'alert' ? 'alert' : 'other'
}

function rulePath(c: Columns): string | undefined {
  const parts = [c.str('RuleCollectionGroup'), c.str('RuleCollection'), c.str('Rule')].filter((x): x is string => x !== undefined && x !== 'N/A')
  return parts.length > 0 ? parts.join('/') : undefined
}

/** Which table a row belongs to, from `Type`/`category`, else from its columns. */
export function tableOf(c: Columns): LogSource | 'msg' | undefined {
  const type = (c.str('Type') ?? c.str('category') ?? '').toLowerCase()
  if (type === 'azfwapplicationrule' || type === 'azfwapplicationruleaggregation') return 'AZFWApplicationRule'
  if (type === 'azfwnetworkrule' || type === 'azfwnetworkruleaggregation') return 'AZFWNetworkRule'
  if (type === 'azfwnatrule') return 'AZFWNatRule'
  if (type === 'azfwdnsquery') return 'AZFWDnsQuery'
  if (c.has('msg_s') || c.has('msg')) return 'msg'
  if (c.has('QueryName')) return 'AZFWDnsQuery'
  if (c.has('Fqdn') || c.has('TargetUrl')) return 'AZFWApplicationRule'
  if (c.has('TranslatedIp')) return 'AZFWNatRule'
  if (c.has('DestinationIp') && c.has('Action')) return 'AZFWNetworkRule'
  return undefined
}

/** The record of a row of any Azure Firewall table; undefined when the row is none of them. */
export function parseAzureRow(row: Row): LogRecord | undefined {
  const c = new Columns(row)
  const table = tableOf(c)
  if (table === undefined || table === 'aks-egress' || table === 'AzureDiagnostics') return undefined
  const time = c.str('TimeGenerated') ?? c.str('time')
  const common = {
    ...(time === undefined ? {} : { time }),
    ...optional('sourceIp', c.str('SourceIp')),
    ...optional('sourcePort', c.num('SourcePort')),
  }
  switch (table) {
    case 'msg': {
      const msg = c.str('msg_s') ?? c.str('msg')
      if (msg === undefined) return undefined
      const r = parseAzureMessage(msg)
      return r ? { ...r, ...(time === undefined ? {} : { time }) } : undefined
    }
    case 'AZFWApplicationRule': {
      const fqdn = c.str('Fqdn')
      const protocol = (c.str('Protocol') ?? '').toUpperCase()
      const reason = c.str('ActionReason')
      const rule = rulePath(c)
      const a = action(c.str('Action'))
      return {
        source: table,
        kind: 'application',
        ...common,
        protocol,
        action: a,
        ...optional('host', fqdn),
        ...optional('destinationPort', c.num('DestinationPort')),
        ...optional('rule', rule),
        ...optional('reason', reason),
        ...(a === 'deny' && fqdn === undefined && protocol === 'HTTPS' ? { sniMissing: true } : {}),
      }
    }
    case 'AZFWNetworkRule':
    case 'AZFWNatRule':
      return {
        source: table,
        kind: table === 'AZFWNatRule' ? 'nat' : 'network',
        ...common,
        protocol: (c.str('Protocol') ?? '').toUpperCase(),
        action: action(c.str('Action')),
        ...optional('destinationIp', c.str('DestinationIp')),
        ...optional('destinationPort', c.num('DestinationPort')),
        ...optional('rule', rulePath(c)),
        ...optional('reason', c.str('ActionReason')),
      }
    case 'AZFWDnsQuery': {
      const name = (c.str('QueryName') ?? '').replace(/\.$/, '')
      return {
        source: table,
        kind: 'dns',
        ...common,
        protocol: (c.str('Protocol') ?? '').toUpperCase(),
        action: 'other',
        dns: { name, ...optional('type', c.str('QueryType')), ...optional('responseCode', c.str('ResponseCode')), ...optional('error', c.str('ErrorMessage')) },
      }
    }
  }
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V }
}

/** `10.1.0.5:55640`, `[2001:db8::1]:443`, `host.example:443`: address or name, and port. */
function splitHostPort(text: string): { host: string; port?: number } {
  const t = text.replace(/\.$/, '')
  if (t.startsWith('[')) {
    const close = t.indexOf(']')
    const port = Number(t.slice(close + 2))
    return { host: t.slice(1, close), ...(Number.isInteger(port) && close + 2 < t.length ? { port } : {}) }
  }
  const colon = t.lastIndexOf(':')
  if (colon === -1 || t.indexOf(':') !== colon) return { host: t }
  const port = Number(t.slice(colon + 1))
  return Number.isInteger(port) ? { host: t.slice(0, colon), port } : { host: t }
}

const IPV4 = /^[0-9]{1,3}(\.[0-9]{1,3}){3}$/

/** Parses a legacy AzureDiagnostics `msg`; undefined when it has none of the known shapes. */
export function parseAzureMessage(msg: string): LogRecord | undefined {
  const text = msg.trim()
  if (text.startsWith('DNS Request:')) return parseDnsMessage(text)
  if (text.startsWith('Error: ')) {
    // Error: 2 time.windows.com.reddog.microsoft.com. A: read udp ...: i/o timeout
    const parts = text.slice(7).split(' ')
    const name = (parts[1] ?? '').replace(/\.$/, '')
    return { source: 'AzureDiagnostics', kind: 'dns', action: 'other', dns: { name, type: (parts[2] ?? '').replace(/:$/, ''), error: parts.slice(3).join(' ') } }
  }
  const marker = ' request from '
  const at = text.indexOf(marker)
  if (at <= 0) return undefined
  const protocol = text.slice(0, at).toUpperCase()
  if (!/^[A-Z0-9]+$/.test(protocol)) return undefined
  let rest = text.slice(at + marker.length)
  const firstSpace = rest.indexOf(' ')
  const srcText = firstSpace === -1 ? rest : rest.slice(0, firstSpace)
  rest = firstSpace === -1 ? '' : rest.slice(firstSpace + 1)
  const src = splitHostPort(srcText)
  let dest: { host: string; port?: number } | undefined
  if (rest.startsWith('to ')) {
    const end = rest.indexOf(' ', 3)
    dest = splitHostPort(end === -1 ? rest.slice(3) : rest.slice(3, end))
    rest = end === -1 ? '' : rest.slice(end + 1)
  }
  let kind: LogKind = protocol === 'HTTP' || protocol === 'HTTPS' || protocol === 'MSSQL' ? 'application' : 'network'
  let act: LogRecord['action'] = 'other'
  let reason: string | undefined
  let policy: string | undefined
  let group: string | undefined
  let collection: string | undefined
  let rule: string | undefined
  let sniMissing = false
  if (rest.startsWith("was DNAT'ed to")) kind = 'nat'
  for (const raw of rest.split('. ')) {
    const part = raw.replace(/\.$/, '').trim()
    const colon = part.indexOf(': ')
    const key = colon === -1 ? part : part.slice(0, colon)
    const value = colon === -1 ? '' : part.slice(colon + 2)
    switch (key) {
      case 'Action':
        act = action(value)
        break
      case 'Reason':
        reason = value
        if (value.startsWith('SNI TLS extension was missing')) sniMissing = true
        break
      case 'No rule matched':
        reason = 'No rule matched. Proceeding with default action'
        break
      case 'Policy':
        policy = value
        break
      case 'Rule Collection Group':
        group = value
        break
      case 'Rule Collection':
        collection = value
        break
      case 'Rule':
        rule = value
        break
      case 'ThreatIntel':
        kind = 'threat'
        reason = `ThreatIntel: ${value}`
        break
      default:
        break
    }
  }
  const path = [group, collection, rule].filter((x): x is string => x !== undefined)
  const destIsIp = dest !== undefined && (IPV4.test(dest.host) || dest.host.includes(':'))
  return {
    source: 'AzureDiagnostics',
    kind,
    protocol,
    action: act,
    ...optional('sourceIp', src.host === '' ? undefined : src.host),
    ...optional('sourcePort', src.port),
    ...(dest === undefined ? {} : destIsIp ? { destinationIp: dest.host } : { host: dest.host }),
    ...optional('destinationPort', dest?.port),
    ...(path.length > 0 ? { rule: path.join('/') } : {}),
    ...optional('reason', reason ?? (policy === undefined ? undefined : `Policy: ${policy}`)),
    ...(sniMissing ? { sniMissing: true } : {}),
  }
}

/**
 * `DNS Request: 11.5.0.7:48197 – 15676 AAA IN md-x.blob.core.windows.net. udp 55 false 512 NOERROR - 0 2.000301956s`
 * ([client]:[port] – [query id] [type] [class] [name] [protocol] [size] [DO] [EDNS0] [rcode] [flags] [size] [duration]).
 */
function parseDnsMessage(text: string): LogRecord | undefined {
  const fields = text.slice('DNS Request:'.length).trim().split(/\s+/)
  const client = splitHostPort(fields[0] ?? '')
  // fields[1] is the dash (an en dash in Microsoft's samples, or "-").
  const name = (fields[5] ?? '').replace(/\.$/, '')
  if (name === '') return undefined
  return {
    source: 'AzureDiagnostics',
    kind: 'dns',
    action: 'other',
    ...optional('sourceIp', client.host === '' ? undefined : client.host),
    ...optional('sourcePort', client.port),
    protocol: (fields[6] ?? '').toUpperCase(),
    dns: { name, type: fields[3] ?? '', ...optional('responseCode', fields[10]) },
  }
}
