/**
 * @module `aks-egress check [PROFILE]`: probes every endpoint of a profile from where it runs (a
 * node, a jump box): DNS, TCP, TLS and HTTP for each, NTP for UDP 123 (DESIGN.md §6, §8).
 * Exit 1 when an endpoint the profile needs fails.
 */
import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { resolve } from 'node:path'
import { resolveEndpoints } from '../../catalog/profile.ts'
import { diagnostic, type Diagnostic } from '../../diagnostics/diagnostic.ts'
import { checkAll, parseHostsFile, type CheckOptions, type CheckResult } from '../../verify/check-endpoints.ts'
import type { ProxyTarget } from '../../verify/probe.ts'
import { formatTable } from '../format-table.ts'
import { EXIT_OK, EXIT_PROBLEM, InputError, UsageError, type Io } from '../io.ts'
import { formatOptionHelp, type OptionSpecs, parseOptions, PROFILE_OPTIONS, profileInputOf, tableOrJson } from '../parse-options.ts'
import { profileFromOptions } from '../profile-from-options.ts'

export const DEFAULT_CONCURRENCY = 8
export const MAX_CONCURRENCY = 64
export const DEFAULT_STEP_TIMEOUT_MS = 5000

const OPTIONS: OptionSpecs = {
  output: { type: 'string', short: 'o', value: 'FORMAT', help: 'table or json (default: table)' },
  concurrency: { type: 'string', value: 'N', help: `Probes at once (default ${DEFAULT_CONCURRENCY}, at most ${MAX_CONCURRENCY})` },
  timeout: { type: 'string', value: 'MS', help: `Timeout of each step: DNS, connect, TLS, HTTP, NTP (default ${DEFAULT_STEP_TIMEOUT_MS})` },
  'api-server-fqdn': { type: 'string', value: 'FQDN', help: "The cluster's API server FQDN: probed for *.hcp. / *.tun. and the tunnel" },
  probe: { type: 'string', multiple: true, value: 'PATTERN=HOST', help: "The name to probe for a wildcard entry, by pattern or entry id (repeatable)" },
  'via-proxy': { type: 'string', value: 'URL', help: 'Test through an explicit HTTP proxy: http://[user:pass@]host:port (CONNECT)' },
  hosts: { type: 'string', value: 'FILE', help: 'Static name to address overrides, "ADDRESS NAME..." per line (as /etc/hosts)' },
  'connect-to': { type: 'string', multiple: true, value: 'NAME:PORT:ADDR:PORT', help: 'Connect to ADDR:PORT instead of NAME:PORT (as curl --connect-to; repeatable)' },
  'ca-file': { type: 'string', value: 'FILE', help: 'Extra trusted CA certificates (PEM), e.g. a TLS-inspecting firewall\'s' },
  only: { type: 'string', multiple: true, value: 'ID|TARGET', help: 'Probe only these entries (by catalog id or target; repeatable, comma-separated)' },
  ...PROFILE_OPTIONS,
}

export const CHECK_HELP = `Usage: aks-egress check [PROFILE] [--output table|json] [--via-proxy URL] [--api-server-fqdn FQDN]

Tests, from where it runs (an AKS node, a VM in the node subnet), each endpoint the profile needs:
  HTTPS   DNS resolution, TCP connect, TLS handshake with SNI and certificate validation, GET /
  HTTP    DNS resolution, TCP connect, GET /
  TCP     DNS resolution, TCP connect (weak evidence: a firewall may complete a handshake it drops)
  UDP 123 a real NTP query (RFC 5905); UDP 53 to --dns-server: a DNS query; other UDP (the 1194
          tunnel) is reported as not checkable
Statuses 200-399 pass (as az aks check-network outbound); 4xx pass as "the server answered"
(a reachable origin); 407, 470 (Azure Firewall's deny) and 403 from a proxy fail, as does 5xx.
Wildcard entries are probed through --probe PATTERN=HOST, --api-server-fqdn for *.hcp./*.tun.,
or a known representative (<location>.data.mcr.microsoft.com); else they are not checked.

Options:
${formatOptionHelp(OPTIONS)}

Exit codes: 0 every checked endpoint passed; 1 one failed; 2 bad usage.
`

function intOption(v: string | boolean | string[] | undefined, name: string, min: number, max: number, dflt: number): number {
  if (v === undefined) return dflt
  const n = typeof v === 'string' && /^[0-9]+$/.test(v) ? Number(v) : NaN
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} "${typeof v === 'string' ? v : String(v)}" is not a whole number from ${min} to ${max}`)
  return n
}

function list(v: string | boolean | string[] | undefined): string[] {
  if (v === undefined || typeof v === 'boolean') return []
  return (Array.isArray(v) ? v : [v]).flatMap((x) => x.split(',')).map((x) => x.trim()).filter((x) => x !== '')
}

function parseProxy(url: string): ProxyTarget {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw new UsageError(`--via-proxy "${url}" is not a URL`, 'write http://host:port')
  }
  if (u.protocol !== 'http:') throw new UsageError(`--via-proxy "${url}" must be an http:// URL (AKS httpProxyConfig takes http only)`)
  const host = u.hostname.replace(/^\[|\]$/g, '')
  const port = u.port === '' ? 80 : Number(u.port)
  const auth = u.username !== '' ? `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}` : undefined
  return { host, port, ...(auth === undefined ? {} : { authorization: auth }) }
}

function parseConnectTo(values: readonly string[]): Map<string, { address: string; port: number }> {
  const out = new Map<string, { address: string; port: number }>()
  for (const v of values) {
    // NAME:PORT:ADDRESS:PORT, the address may be [IPv6].
    const m = /^([^:]+):([0-9]{1,5}):(\[[^\]]+\]|[^:]+):([0-9]{1,5})$/.exec(v)
    const address = m?.[3]?.replace(/^\[|\]$/g, '')
    if (!m || address === undefined || isIP(address) === 0) throw new UsageError(`--connect-to "${v}" is not NAME:PORT:ADDRESS:PORT with an IP address`, 'write --connect-to mcr.microsoft.com:443:127.0.0.1:8443')
    out.set(`${m[1]!.toLowerCase()}:${m[2]!}`, { address, port: Number(m[4]) })
  }
  return out
}

export async function runCheck(argv: readonly string[], io: Io): Promise<number> {
  const { values } = parseOptions(argv, OPTIONS, false)
  if (values['help'] === true) {
    io.stdout.write(CHECK_HELP)
    return EXIT_OK
  }
  const output = tableOrJson(values)
  const concurrency = intOption(values['concurrency'], 'concurrency', 1, MAX_CONCURRENCY, DEFAULT_CONCURRENCY)
  const timeoutMs = intOption(values['timeout'], 'timeout', 1, 120_000, DEFAULT_STEP_TIMEOUT_MS)
  const probes = new Map<string, string>()
  for (const p of list(values['probe'])) {
    const eq = p.lastIndexOf('=')
    if (eq <= 0 || eq === p.length - 1) throw new UsageError(`--probe "${p}" is not PATTERN=HOST`, "write --probe '*.blob.core.windows.net=myacr.blob.core.windows.net'")
    probes.set(p.slice(0, eq), p.slice(eq + 1).toLowerCase())
  }
  const problems: Diagnostic[] = []
  let hosts = new Map<string, string[]>()
  if (typeof values['hosts'] === 'string') {
    const file = values['hosts']
    try {
      const parsed = parseHostsFile(readFileSync(resolve(io.cwd, file), 'utf8'))
      hosts = parsed.hosts
      for (const p of parsed.problems) problems.push(diagnostic('HOSTS_FILE_INVALID', { message: `${file}:${p.line}: ${p.message}`, file, fix: 'write ADDRESS NAME... per line, as /etc/hosts' }))
    } catch (e) {
      problems.push(diagnostic('FILE_UNREADABLE', { message: `Cannot read --hosts "${file}": ${e instanceof Error && 'code' in e ? String(e.code) : String(e)}`, file }))
    }
  }
  let ca: string[] | undefined
  if (typeof values['ca-file'] === 'string') {
    const file = values['ca-file']
    try {
      const pem = readFileSync(resolve(io.cwd, file), 'utf8')
      const certs = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []
      if (certs.length === 0) problems.push(diagnostic('CA_FILE_INVALID', { message: `--ca-file "${file}" holds no PEM certificate`, file, fix: 'give the CA bundle in PEM form (-----BEGIN CERTIFICATE-----)' }))
      // The file's CAs are added to Node's bundled roots, not put in their place.
      const { rootCertificates } = await import('node:tls')
      ca = [...rootCertificates, ...certs]
    } catch (e) {
      problems.push(diagnostic('FILE_UNREADABLE', { message: `Cannot read --ca-file "${file}": ${e instanceof Error && 'code' in e ? String(e.code) : String(e)}`, file }))
    }
  }
  if (problems.length > 0) throw new InputError(problems)
  const proxy = typeof values['via-proxy'] === 'string' ? parseProxy(values['via-proxy']) : undefined
  const connectTo = parseConnectTo(list(values['connect-to']))
  const profile = profileFromOptions(profileInputOf(values), io)
  let endpoints = resolveEndpoints(profile)
  const only = list(values['only'])
  if (only.length > 0) {
    endpoints = endpoints.filter((e) => only.includes(e.entry.id) || only.includes(e.target) || only.includes(e.entry.target))
    if (endpoints.length === 0) throw new UsageError(`--only ${only.join(',')} selects no endpoint of the profile`, 'see aks-egress endpoints --output json for ids and targets')
  }
  const options: CheckOptions = {
    profile,
    ...(typeof values['api-server-fqdn'] === 'string' ? { apiServerFqdn: values['api-server-fqdn'].toLowerCase() } : {}),
    probes,
    hosts,
    connectTo,
    ca,
    proxy,
    timeoutMs,
  }
  const tty = io.stderr.isTTY === true
  const results = await checkAll(endpoints, options, concurrency, (done, total, last) => {
    if (tty) io.stderr.write(`\r\x1b[K[${done}/${total}] ${last.probed ?? last.endpoint.target} ${last.protocol} ${last.status}`)
  })
  if (tty) io.stderr.write('\r\x1b[K')
  if (output === 'json') io.stdout.write(`${JSON.stringify(checkJson(results, proxy), null, 2)}\n`)
  else io.stdout.write(renderCheckTable(results, io))
  return results.some((r) => r.status === 'fail') ? EXIT_PROBLEM : EXIT_OK
}

const STEP_ORDER = ['dns', 'tcp', 'proxy', 'tls', 'http', 'ntp', 'dnsQuery'] as const

function stepsText(r: CheckResult): string {
  return STEP_ORDER.filter((s) => r.steps[s] !== undefined)
    .map((s) => {
      const step = r.steps[s]!
      const name = s === 'dnsQuery' ? 'dns-query' : s
      if (!step.ok) return `${name.toUpperCase()}-FAILED`
      return s === 'http' ? step.detail.split(' ').slice(0, 2).join(' ').toLowerCase() : name
    })
    .join(' ')
}

const WORD: Record<CheckResult['status'], string> = { ok: 'ok', fail: 'FAIL', 'not-checked': 'not checked' }

export function renderCheckTable(results: readonly CheckResult[], io: Io): string {
  const rows = results.map((r) => [WORD[r.status], r.endpoint.target, r.protocol, r.endpoint.category, r.probed ?? '-', stepsText(r) || '-', r.detail])
  const count = (s: CheckResult['status']): number => results.filter((r) => r.status === s).length
  return `${formatTable(['RESULT', 'ENDPOINT', 'PORT', 'CATEGORY', 'PROBED', 'STEPS', 'DETAIL'], rows, { width: io.stdout.isTTY ? io.stdout.columns : undefined })}\nResult: ${count('ok')} passed, ${count('fail')} failed, ${count('not-checked')} not checked.\n`
}

export function checkJson(results: readonly CheckResult[], proxy: ProxyTarget | undefined): Record<string, unknown> {
  return {
    viaProxy: proxy ? `${proxy.host}:${proxy.port}` : null,
    results: results.map((r) => ({
      id: r.endpoint.entry.id,
      target: r.endpoint.target,
      protocol: r.protocol,
      category: r.endpoint.category,
      probed: r.probed ?? null,
      status: r.status,
      detail: r.detail,
      steps: r.steps,
    })),
    summary: { passed: results.filter((r) => r.status === 'ok').length, failed: results.filter((r) => r.status === 'fail').length, notChecked: results.filter((r) => r.status === 'not-checked').length },
  }
}
