/**
 * @module `check`: what to probe for each endpoint of a profile, and probing it (DESIGN.md §6).
 *
 * - HTTPS: resolve, TCP connect (or CONNECT through --via-proxy), TLS with SNI and certificate
 *   validation, `GET /` status. HTTP: resolve, connect, status. TCP: resolve, connect.
 * - UDP 123: a real NTP query (RFC 5905). UDP 53 to the custom DNS server: a DNS query. Other UDP
 *   (the 1194 tunnel) cannot be checked without the peer's protocol: reported as not checkable.
 * - A wildcard entry is probed through a name: `--probe PATTERN=HOST` (or entry id), the API
 *   server FQDN for `*.hcp.`/`*.tun.`, or a representative name where one is known
 *   (`<location>.data.mcr.microsoft.com`, as `az aks check-network outbound` probes
 *   eastus.data.mcr.microsoft.com). Otherwise it is not checked, and the report says what to give.
 * - The tunnel's service-tag entries (AzureCloud.<location> TCP 9000) go to the API server, by
 *   --api-server IP or --api-server-fqdn.
 * Probes run in parallel up to a bound; every socket is closed when its probe ends.
 */
import { isIP } from 'node:net'
import type { ResolvedEndpoint, Profile } from '../catalog/profile.ts'
import type { EndpointProtocol } from '../catalog/catalog-types.ts'
import { isApiServerEndpoint } from './audit-policy.ts'
import { connectTcp, connectThroughProxy, handshakeTls, httpStatus, queryDns, queryNtp, resolveName, type ProxyTarget, type StepResult } from './probe.ts'

export type CheckStatus = 'ok' | 'fail' | 'not-checked'

export interface CheckResult {
  readonly endpoint: ResolvedEndpoint
  readonly protocol: EndpointProtocol
  /** The name or address probed. */
  readonly probed?: string
  readonly status: CheckStatus
  readonly steps: Readonly<Partial<Record<'dns' | 'tcp' | 'proxy' | 'tls' | 'http' | 'ntp' | 'dnsQuery', StepResult>>>
  readonly detail: string
}

export interface CheckOptions {
  readonly profile: Profile
  readonly apiServerFqdn?: string | undefined
  /** `--probe PATTERN=HOST`: by catalog target (substituted) or entry id. */
  readonly probes: ReadonlyMap<string, string>
  readonly hosts: ReadonlyMap<string, readonly string[]>
  /** `--connect-to NAME:PORT:ADDRESS:PORT`, keyed `name:port`. */
  readonly connectTo: ReadonlyMap<string, { readonly address: string; readonly port: number }>
  readonly ca?: readonly string[] | undefined
  readonly proxy?: ProxyTarget | undefined
  readonly timeoutMs: number
}

/** Names that stand for a wildcard entry when the user gives none (`<location>` substituted). */
const REPRESENTATIVES: Readonly<Record<string, string>> = {
  '*.data.mcr.microsoft.com': '<location>.data.mcr.microsoft.com',
}

/** The name to probe for an endpoint, or why there is none. */
export function probeTarget(e: ResolvedEndpoint, o: Pick<CheckOptions, 'profile' | 'apiServerFqdn' | 'probes'>): { host: string } | { reason: string } {
  const given = o.probes.get(e.target) ?? o.probes.get(e.entry.id) ?? o.probes.get(e.entry.target)
  if (given !== undefined) return { host: given }
  const api = isApiServerEndpoint(e)
  if (e.entry.kind === 'fqdn') {
    if (e.missing.length > 0) return { reason: `needs ${e.missing.map((m) => `<${m}>`).join(' and ')}` }
    if (!e.target.startsWith('*')) return { host: e.target }
    if (api && o.apiServerFqdn !== undefined) return { host: o.apiServerFqdn }
    const rep = REPRESENTATIVES[e.target]
    if (rep !== undefined && (!rep.includes('<location>') || o.profile.location !== undefined)) return { host: rep.replace('<location>', o.profile.location ?? '') }
    return { reason: `a wildcard: give ${api ? '--api-server-fqdn FQDN or ' : ''}--probe '${e.target}=NAME'` }
  }
  if (api) {
    if (o.profile.apiServerIp !== undefined) return { host: o.profile.apiServerIp }
    if (o.apiServerFqdn !== undefined) return { host: o.apiServerFqdn }
    return { reason: 'the API server: give --api-server IP or --api-server-fqdn FQDN' }
  }
  if (e.entry.kind === 'address') return e.missing.length > 0 ? { reason: `needs ${e.missing.map((m) => `<${m}>`).join(' and ')}` } : { host: e.target }
  return { reason: `${e.entry.kind === 'any' ? 'any address' : `service tag ${e.target}`}: no single host to probe` }
}

function notChecked(e: ResolvedEndpoint, protocol: EndpointProtocol, detail: string, probed?: string): CheckResult {
  return { endpoint: e, protocol, status: 'not-checked', steps: {}, detail, ...(probed === undefined ? {} : { probed }) }
}

/** Probes one endpoint × protocol. */
export async function checkEndpoint(e: ResolvedEndpoint, protocol: EndpointProtocol, o: CheckOptions): Promise<CheckResult> {
  const [scheme, portText] = protocol.split(':') as ['http' | 'https' | 'tcp' | 'udp', string]
  const port = Number(portText)
  const target = probeTarget(e, o)
  if ('reason' in target) return notChecked(e, protocol, target.reason)
  const host = target.host
  const mapped = o.connectTo.get(`${host.toLowerCase()}:${port}`)
  const steps: Record<string, StepResult> = {}
  const done = (detail?: string): CheckResult => {
    const failed = Object.entries(steps).find(([, s]) => !s.ok)
    return {
      endpoint: e,
      protocol,
      probed: host,
      status: failed ? 'fail' : 'ok',
      steps,
      detail: detail ?? (failed ? `${failed[0]}: ${failed[1].detail}` : (Object.values(steps).at(-1)?.detail ?? '')),
    }
  }
  /** The address to probe: the --connect-to mapping, else the name resolved; the DNS step recorded. */
  const destination = async (): Promise<string | undefined> => {
    if (mapped !== undefined) {
      steps['dns'] = { ok: true, ms: 0, detail: `${mapped.address} (--connect-to)` }
      return mapped.address
    }
    const r = await resolveName(host, { hosts: o.hosts, timeoutMs: o.timeoutMs })
    steps['dns'] = r.step
    return r.step.ok ? r.addresses[0] : undefined
  }

  if (scheme === 'udp') {
    if (port !== 123 && !(port === 53 && e.entry.kind === 'address')) return notChecked(e, protocol, `UDP ${port}: not checkable without the peer's protocol (a sent datagram proves nothing)`, host)
    if (o.proxy) return notChecked(e, protocol, 'UDP cannot go through an HTTP proxy', host)
    const address = await destination()
    if (address === undefined) return done()
    const udpPort = mapped?.port ?? port
    if (port === 123) steps['ntp'] = await queryNtp(address, udpPort, o.timeoutMs)
    else steps['dnsQuery'] = await queryDns(address, udpPort, o.profile.cloud === 'china' ? 'management.chinacloudapi.cn' : o.profile.cloud === 'usgov' ? 'management.usgovcloudapi.net' : 'management.azure.com', o.timeoutMs)
    return done()
  }

  // TCP-based: directly, or through the explicit proxy.
  let socket
  if (o.proxy) {
    const r = await resolveName(o.proxy.host, { hosts: o.hosts, timeoutMs: o.timeoutMs })
    if (!r.step.ok) {
      steps['dns'] = { ...r.step, detail: `the proxy ${o.proxy.host}: ${r.step.detail}` }
      return done()
    }
    const c = await connectTcp(r.addresses[0]!, o.proxy.port, o.timeoutMs)
    steps['tcp'] = { ...c.step, detail: `proxy ${c.step.detail}` }
    if (!c.socket) return done()
    socket = c.socket
    if (scheme === 'http') {
      // A plain HTTP request goes to the proxy in absolute form (RFC 9112 §3.2.2).
      steps['http'] = await httpStatus(socket, host, port, { timeoutMs: o.timeoutMs, absoluteForm: true, authorization: o.proxy.authorization, viaProxy: true })
      return done()
    }
    steps['proxy'] = await connectThroughProxy(socket, host, port, o.proxy, o.timeoutMs)
    if (!steps['proxy'].ok) {
      socket.destroy()
      return done()
    }
  } else {
    const address = await destination()
    if (address === undefined) return done()
    const c = await connectTcp(address, mapped?.port ?? port, o.timeoutMs)
    steps['tcp'] = c.step
    if (!c.socket) return done()
    socket = c.socket
  }
  if (scheme === 'tcp') {
    socket.destroy()
    return done(`TCP connect ${steps['tcp'].detail} (a firewall may complete a TCP handshake it would not forward: a connect alone is weak evidence)`)
  }
  if (scheme === 'http') {
    steps['http'] = await httpStatus(socket, host, port, { timeoutMs: o.timeoutMs, viaProxy: false })
    return done()
  }
  const t = await handshakeTls(socket, host, { ca: o.ca, timeoutMs: o.timeoutMs })
  steps['tls'] = t.step
  if (!t.tls) return done()
  steps['http'] = await httpStatus(t.tls, host, port, { timeoutMs: o.timeoutMs, viaProxy: o.proxy !== undefined })
  return done()
}

/** Runs every check with at most `concurrency` at once, in catalog order in the result. */
export async function checkAll(
  endpoints: readonly ResolvedEndpoint[],
  o: CheckOptions,
  concurrency: number,
  onDone?: (done: number, total: number, last: CheckResult) => void,
): Promise<CheckResult[]> {
  const jobs: Array<{ e: ResolvedEndpoint; p: EndpointProtocol }> = []
  for (const e of endpoints) for (const p of e.entry.protocols) jobs.push({ e, p })
  const results: CheckResult[] = new Array<CheckResult>(jobs.length)
  let next = 0
  let finished = 0
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++
      const job = jobs[i]!
      const r = await checkEndpoint(job.e, job.p, o)
      results[i] = r
      finished++
      onDone?.(finished, jobs.length, r)
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, jobs.length)) }, () => worker()))
  return results
}

/** `--hosts FILE` lines: `ADDRESS NAME...`, `#` comments (as /etc/hosts). */
export function parseHostsFile(text: string): { hosts: Map<string, string[]>; problems: Array<{ line: number; message: string }> } {
  const hosts = new Map<string, string[]>()
  const problems: Array<{ line: number; message: string }> = []
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim()
    if (line === '') return
    const [address, ...names] = line.split(/\s+/)
    if (address === undefined || isIP(address) === 0) {
      problems.push({ line: i + 1, message: `"${address ?? ''}" is not an IPv4 or IPv6 address` })
      return
    }
    if (names.length === 0) {
      problems.push({ line: i + 1, message: `no name after ${address}` })
      return
    }
    for (const n of names) {
      const key = n.toLowerCase().replace(/\.$/, '')
      const list = hosts.get(key) ?? []
      list.push(address)
      hosts.set(key, list)
    }
  })
  return { hosts, problems }
}
