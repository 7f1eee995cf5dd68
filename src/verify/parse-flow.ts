/**
 * @module Flows written by people: `SCHEME://HOST[:PORT][/path]` (DESIGN.md §8), with SCHEME one
 * of http, https, mssql, tcp, udp, icmp and the scheme's default port; and JSON objects
 * `{"flow": URL, "from": IP, "sni": NAME|null, "tags": [SERVICE_TAG...]}` (explain --flows).
 *
 * An HTTPS flow to a name carries that name as SNI; to an IP literal it carries none, as TLS
 * clients send no SNI for IP literals (RFC 6066 §3: "Literal IPv4 and IPv6 addresses are not
 * permitted in HostName").
 */
import { DEFAULT_PORTS, type Flow, type FlowProtocol } from '../policy/flow.ts'
import { normalizeName } from '../policy/fqdn.ts'
import { formatIp, parseIp } from '../policy/ip-address.ts'

const SCHEMES: readonly FlowProtocol[] = ['http', 'https', 'mssql', 'tcp', 'udp', 'icmp']

export type ParsedFlow = { readonly ok: true; readonly flow: Flow; readonly text: string } | { readonly ok: false; readonly message: string; readonly fix?: string }

function fail(message: string, fix?: string): ParsedFlow {
  return { ok: false, message, ...(fix === undefined ? {} : { fix }) }
}

/** Parses `SCHEME://HOST[:PORT]`. `text` in the result is the canonical form, port included. */
export function parseFlowUrl(input: string, extra: { sourceIp?: string; sni?: string | null; tags?: readonly string[] } = {}): ParsedFlow {
  const sep = input.indexOf('://')
  if (sep === -1) {
    return fail(`Flow "${input}" has no scheme`, /^[\w.-]+$/.test(input) ? `write "https://${input}"` : 'write SCHEME://HOST[:PORT], e.g. https://mcr.microsoft.com or udp://ntp.ubuntu.com:123')
  }
  const scheme = input.slice(0, sep).toLowerCase() as FlowProtocol
  if (!SCHEMES.includes(scheme)) return fail(`Flow "${input}" has scheme "${input.slice(0, sep)}"`, `use one of ${SCHEMES.join(', ')}`)
  let rest = input.slice(sep + 3)
  for (const c of ['/', '?', '#']) {
    const i = rest.indexOf(c)
    if (i !== -1) rest = rest.slice(0, i)
  }
  if (rest.includes('@')) return fail(`Flow "${input}" has user information`, 'remove "user@" from the URL')
  let hostText: string
  let portText: string | undefined
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']')
    if (close === -1) return fail(`Flow "${input}" has an unclosed "["`)
    hostText = rest.slice(1, close)
    const after = rest.slice(close + 1)
    if (after !== '' && !after.startsWith(':')) return fail(`Flow "${input}" has text after "]"`)
    portText = after === '' ? undefined : after.slice(1)
  } else {
    const colon = rest.lastIndexOf(':')
    if (colon !== -1 && rest.indexOf(':') !== colon) return fail(`Flow "${input}" has an IPv6 address without brackets`, `write ${scheme}://[address]:port`)
    hostText = colon === -1 ? rest : rest.slice(0, colon)
    portText = colon === -1 ? undefined : rest.slice(colon + 1)
  }
  if (hostText === '') return fail(`Flow "${input}" has no host`)
  let port = DEFAULT_PORTS[scheme]
  if (portText !== undefined) {
    if (scheme === 'icmp') return fail(`Flow "${input}": ICMP has no port`, `write icmp://${hostText}`)
    if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) return fail(`Flow "${input}" has port "${portText}"; a port is 1-65535`)
    port = Number(portText)
  } else if (scheme === 'tcp' || scheme === 'udp') {
    return fail(`Flow "${input}" has no port; ${scheme} has no default port`, `write ${scheme}://${hostText}:PORT`)
  }
  const ip = parseIp(hostText)
  const portSuffix = scheme === 'icmp' ? '' : `:${port}`
  const { sourceIp, sni, tags } = extra
  const common = {
    protocol: scheme,
    destinationPort: port,
    ...(sourceIp === undefined ? {} : { sourceIp }),
    ...(tags === undefined ? {} : { destinationTags: tags }),
  }
  if (ip) {
    const ipText = formatIp(ip)
    const shown = ip.v === 6 ? `[${ipText}]` : ipText
    const tls = scheme === 'https' || scheme === 'mssql'
    const flow: Flow = {
      ...common,
      destinationIp: ipText,
      ...(scheme === 'http' ? { host: ipText } : {}),
      ...(tls ? { sni: sni === undefined ? null : sni } : {}),
    }
    return { ok: true, flow, text: `${scheme}://${shown}${portSuffix}` }
  }
  const name = normalizeName(hostText)
  if (!name.ok) return fail(`Flow "${input}": ${name.detail}`)
  const flow: Flow = { ...common, host: name.name, ...(sni === undefined ? {} : { sni }) }
  return { ok: true, flow, text: `${scheme}://${name.name}${portSuffix}` }
}

/** One line of a flows file: a URL, or a JSON object; blank lines and `#` comments are skipped. */
export function parseFlowLine(line: string, defaultSource?: string): ParsedFlow | undefined {
  const t = line.trim()
  if (t === '' || t.startsWith('#')) return undefined
  if (!t.startsWith('{')) return parseFlowUrl(t, defaultSource === undefined ? {} : { sourceIp: defaultSource })
  let obj: unknown
  try {
    obj = JSON.parse(t)
  } catch (e) {
    return fail(`Line is not valid JSON: ${e instanceof Error ? e.message : String(e)}`)
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return fail('A JSON flow must be an object like {"flow": "https://mcr.microsoft.com"}')
  const o = obj as Record<string, unknown>
  for (const k of Object.keys(o)) {
    if (!['flow', 'from', 'sni', 'tags'].includes(k)) return fail(`A JSON flow has unknown key "${k}"`, 'the keys are flow, from, sni, tags')
  }
  if (typeof o['flow'] !== 'string') return fail('A JSON flow needs "flow": "SCHEME://HOST[:PORT]"')
  const from = o['from'] ?? defaultSource
  if (from !== undefined && (typeof from !== 'string' || !parseIp(from))) return fail(`"from" must be an IP address, not ${JSON.stringify(from)}`)
  const sni = o['sni']
  if (sni !== undefined && sni !== null && typeof sni !== 'string') return fail('"sni" must be a name or null')
  const tags = o['tags']
  if (tags !== undefined && (!Array.isArray(tags) || !tags.every((x) => typeof x === 'string'))) return fail('"tags" must be a list of service tags')
  return parseFlowUrl(o['flow'], {
    ...(typeof from === 'string' ? { sourceIp: from } : {}),
    ...(sni === undefined ? {} : { sni: sni }),
    ...(tags === undefined ? {} : { tags: tags }),
  })
}
