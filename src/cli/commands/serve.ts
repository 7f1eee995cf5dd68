/**
 * @module `aks-egress serve [PROFILE | --policy FILE] ...`: the egress firewall's data plane
 * (DESIGN.md §4, §8). Parses options, builds the pieces, runs until SIGTERM/SIGINT; the logic
 * lives in src/proxy/, src/net/ and, for `--transparent` (the appliance), src/dataplane/.
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseRawAddress } from '../../net/classify-address.ts'
import { parseHostsFile, type HostsTable, MAX_HOSTS_FILE_BYTES } from '../../net/hosts-file.ts'
import type { SocketLayer } from '../../net/stream-socket.ts'
import { NameResolver } from '../../net/resolve.ts'
import { Appliance } from '../../dataplane/appliance.ts'
import { formatNote, TABLE } from '../../dataplane/nftables/compile-nftables.ts'
import { nftCommand } from '../../dataplane/nftables/nft-runner.ts'
import { parseAuthority, formatHostPort } from '../../proxy/authority.ts'
import { createConnectionLog, LOG_MAX_BUFFERED_BYTES, type LogDestination } from '../../proxy/connection-log.ts'
import { openLogFile } from '../../proxy/open-log-file.ts'
import type { TransparentPorts } from '../../proxy/listener-plan.ts'
import { PolicyReloader, type CompanionFiles } from '../../proxy/policy-reloader.ts'
import { buildPolicyState } from '../../proxy/policy-state.ts'
import { parseAuthFile, type ProxyAuth } from '../../proxy/proxy-auth.ts'
import { ListenerStartError } from '../../proxy/listener-start-error.ts'
import { ProxyServer, type HostPort } from '../../proxy/proxy-server.ts'
import { DEFAULT_LIMITS, SERVE_DEFAULTS, type ServeLimits } from '../../proxy/serve-defaults.ts'
import { renderDiagnostics } from '../../diagnostics/render-diagnostic.ts'
import { EXIT_OK, EXIT_PROBLEM, UsageError, type Io } from '../io.ts'
import { formatOptionHelp, parseOptions, PROFILE_OPTIONS, type OptionSpecs, type ParsedOptions } from '../parse-options.ts'
import { policyFromOptions } from '../policy-source.ts'
import { stopWhenParentGoes } from '../serve-node-flags.ts'
import { APPLIANCE_OPTIONS, decideFlowtable, readApplianceOptions, resolverUpstream, runCleanup, serviceTcpPorts, type ApplianceConfig } from './serve-appliance.ts'

/** The least `--max-header-bytes` and `--max-response-header-bytes` may be: a request line, a Host and a few fields. */
const MIN_HEAD_BYTES = 1024
/**
 * The least `--max-client-hello-bytes` may be: today's browsers and Go/OpenSSL clients send
 * 0.5–2 KiB (2 KiB and more with a post-quantum key share, X25519MLKEM768's 1,216-byte share).
 */
const MIN_CLIENT_HELLO_BYTES = 4096

/** Limit options: option name → the ServeLimits field it sets, its help, and its least value (default 1). */
const LIMIT_OPTIONS: ReadonlyArray<readonly [string, keyof ServeLimits, string, number?]> = [
  ['max-connections', 'maxConnections', 'Connections open at once, all listeners'],
  ['max-connections-per-source', 'maxConnectionsPerSource', 'Connections open at once from one source address'],
  // Byte bounds have floors a real client's head or hello fits in: a smaller bound only refuses everyone.
  ['max-header-bytes', 'maxHeaderBytes', 'Bytes of an HTTP request head', MIN_HEAD_BYTES],
  ['max-client-hello-bytes', 'maxClientHelloBytes', 'Bytes of a TLS ClientHello, record headers included', MIN_CLIENT_HELLO_BYTES],
  ['handshake-timeout-ms', 'handshakeTimeoutMs', 'Accept to a complete request head or ClientHello'],
  ['idle-timeout-ms', 'idleTimeoutMs', 'A relayed connection idle this long is closed'],
  ['dial-timeout-ms', 'dialTimeoutMs', 'One TCP connect attempt to an origin address'],
  ['max-dial-attempts', 'maxDialAttempts', 'Addresses of a name tried in turn'],
  ['dns-timeout-ms', 'dnsTimeoutMs', 'One name resolution (A and AAAA)'],
  ['drain-timeout-ms', 'drainTimeoutMs', 'On SIGTERM, how long open connections may finish'],
  ['keep-alive-idle-timeout-ms', 'keepAliveIdleTimeoutMs', 'Plain HTTP: a client connection idle this long between requests is closed'],
  ['max-requests-per-connection', 'maxRequestsPerConnection', 'Plain HTTP: requests on one client connection (1: no keep-alive)'],
  ['max-response-header-bytes', 'maxResponseHeaderBytes', 'Plain HTTP: bytes of an origin\'s response head', MIN_HEAD_BYTES],
  ['origin-idle-timeout-ms', 'originIdleTimeoutMs', 'Plain HTTP: a pooled origin connection idle this long is closed'],
  ['origin-pool-max-idle-per-key', 'originPoolMaxIdlePerKey', 'Plain HTTP: idle origin connections per address, port and Host (0: no pool)', 0],
  ['origin-pool-max-idle', 'originPoolMaxIdle', 'Plain HTTP: idle origin connections in all (0: no pool)', 0],
]

const OPTIONS: OptionSpecs = {
  policy: { type: 'string', value: 'FILE', help: 'The policy to enforce (default: the default policy of the PROFILE options); reloaded on SIGHUP and on change' },
  listen: { type: 'string', value: 'ADDR:PORT', help: `Explicit proxy (HTTP forward and CONNECT), or "none" (default ${SERVE_DEFAULTS.listen})` },
  admin: { type: 'string', value: 'ADDR:PORT', help: `/metrics, /healthz, /readyz, /listeners, or "none" (default ${SERVE_DEFAULTS.admin})` },
  transparent: {
    type: 'boolean',
    help: `The appliance (Linux, root): the nftables table ${TABLE}, the DNS proxy, and a transparent TLS listener per Https rule port and HTTP listener per Http rule port`,
  },
  'transparent-address': { type: 'string', value: 'ADDR', help: `Address of the transparent listeners (default ${SERVE_DEFAULTS.transparentAddress})` },
  'transparent-port-offset': {
    type: 'string',
    value: 'N|ephemeral',
    help: `The listener of original port P listens on P+N (default ${SERVE_DEFAULTS.transparentPortOffset}; the table redirects P there); ephemeral: free ports, see /listeners`,
  },
  ...APPLIANCE_OPTIONS,
  hosts: { type: 'string', value: 'FILE', help: 'Static name overrides for the proxy\'s own resolution, /etc/hosts format (the addresses are still classified); read again on SIGHUP' },
  'dns-upstream': {
    type: 'string',
    multiple: true,
    value: 'ADDR[:PORT]',
    help: 'The resolver: with --transparent (and its nftables table), one, for the DNS proxy and the proxy\'s own resolution (default Azure DNS 168.63.129.16); else, --no-nftables too, repeatable (default /etc/resolv.conf)',
  },
  'proxy-auth-file': { type: 'string', value: 'FILE', help: 'Require Basic proxy authentication on the explicit proxy; FILE has user:password lines, read again on SIGHUP' },
  log: { type: 'string', value: 'FILE|-', help: 'Decision log (JSON lines): a file appended to, made 0640 with its missing directories (default - : standard output)' },
  'log-level': { type: 'string', value: 'LEVEL', help: 'info (default: a line per decision and per close), warn (no decision lines: failures and operations only), error, debug' },
  'no-watch': { type: 'boolean', help: 'Do not reload the policy file when it changes (SIGHUP still does)' },
  'socket-layer': {
    type: 'string',
    value: 'lite|node',
    help: 'Sockets of the data plane: lite (default: over the TCP handle, without Node\'s streams; node where this Node lacks the API) or node (net.Socket)',
  },
  ...Object.fromEntries(LIMIT_OPTIONS.map(([name, field, help]) => [name, { type: 'string', value: 'N', help: `${help} (default ${DEFAULT_LIMITS[field]})` } as const])),
  ...PROFILE_OPTIONS,
}

export const SERVE_HELP = `Usage: aks-egress serve [PROFILE | --policy FILE] [--listen ADDR:PORT] [--admin ADDR:PORT]
                        [--transparent --egress-interface IF [--ingress-interface IF]... [--no-flowtable]
                         [--dns-listen ADDR:PORT] [--ssh-from CIDR]...]
                        [--dns-upstream ADDR[:PORT]] [--hosts FILE] [LIMITS...]
       aks-egress serve --cleanup

The egress firewall's data plane: an explicit proxy (HTTP forward and CONNECT, for AKS
httpProxyConfig) and, with --transparent, the appliance a UDR sends the nodes' traffic to
(docs/appliance.md): the nftables table ${TABLE} (network rules, DNAT, masquerade, and the
redirect of every Http/Https rule port to its L7 listener), the DNS proxy (--dns-listen, learning
the addresses of FQDN network rules), one TLS listener per Https rule port (decides by SNI) and
one HTTP listener per Http rule port (decides by Host). Every allowed name is resolved by the
proxy itself and only a checked address is dialled: loopback, private, link-local (IMDS), CGNAT,
multicast, IPv4-embedding IPv6 and the proxy's own addresses are refused unless
settings.unsafeAllowPrivateRanges opens them.

Options:
${formatOptionHelp(OPTIONS)}

Logs: one JSON line per connection ("event":"decision") and one when it closes ("event":"close");
with --transparent one per DNS query ("event":"dns"); docs/logging.md maps the fields to Azure
Firewall's AZFWApplicationRule and AZFWDnsQuery columns.
Signals: SIGHUP reloads the policy file, the listeners and the table together (an invalid policy,
or a table the kernel refuses, is refused and the old one stays); SIGTERM/SIGINT stop accepting,
drain open connections (--drain-timeout-ms), then stop the DNS proxy, remove the table, exit 0.
Exit codes: 0 stopped by a signal (or --cleanup done); 1 a listener, the table or the DNS proxy
could not be set up; 2 bad usage or a bad policy.
`

function str(values: ParsedOptions['values'], name: string): string | undefined {
  const v = values[name]
  return typeof v === 'string' ? v : undefined
}

/** `ADDR:PORT` (IPv6 in brackets), port 0 allowed (any free port); "none" → null. */
export function parseListenOption(text: string, option: string): HostPort | null {
  if (text === 'none') return null
  if (text.endsWith(':0')) {
    const a = parseAuthority(`${text.slice(0, -2)}:1`)
    if (a) return { host: a.host, port: 0 }
  }
  const a = parseAuthority(text)
  if (!a || a.port === undefined) throw new UsageError(`--${option} "${text}" is not ADDR:PORT${listenProblem(text)}`, 'write e.g. 127.0.0.1:3128 or [::1]:3128 (port 0: any free port), or "none"')
  return { host: a.host, port: a.port }
}

/** What is wrong with a refused ADDR:PORT, when it can be told: the port out of range, or missing. */
function listenProblem(text: string): string {
  const colon = text.lastIndexOf(':')
  const port = colon === -1 ? '' : text.slice(colon + 1)
  if (colon === -1 || (text.startsWith('[') && !text.slice(0, colon).endsWith(']'))) return ': no port'
  if (/^[0-9]{1,10}$/.test(port) && Number(port) > 65535) return `: port ${port} is out of range (0-65535)`
  return ''
}

function parseCount(text: string, option: string, min: number): number {
  let n = 0
  if (text.length === 0 || text.length > 10) throw new UsageError(`--${option} "${text}" is not a whole number`)
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x30 || c > 0x39) throw new UsageError(`--${option} "${text}" is not a whole number`)
    n = n * 10 + (c - 0x30)
  }
  if (n < min) throw new UsageError(`--${option} must be at least ${min}`)
  return n
}

function readLimits(values: ParsedOptions['values']): ServeLimits {
  const limits: Record<string, number> = { ...DEFAULT_LIMITS }
  for (const [name, field, , min] of LIMIT_OPTIONS) {
    const v = str(values, name)
    if (v !== undefined) limits[field] = parseCount(v, name, min ?? 1)
  }
  return limits as unknown as ServeLimits
}

function readSmallFile(path: string, option: string, maxBytes: number): string {
  try {
    const buf = readFileSync(path)
    if (buf.length > maxBytes) throw new UsageError(`--${option} file "${path}" has ${buf.length} bytes; at most ${maxBytes} are read`)
    return buf.toString('utf8')
  } catch (e) {
    if (e instanceof UsageError) throw e
    throw new UsageError(`Cannot read --${option} file "${path}": ${e instanceof Error && 'code' in e ? String(e.code) : String(e)}`)
  }
}

function readHosts(path: string): HostsTable {
  const parsed = parseHostsFile(readSmallFile(path, 'hosts', MAX_HOSTS_FILE_BYTES))
  const first = parsed.problems[0]
  if (first) throw new UsageError(`--hosts ${path}:${first.line}: ${first.message}${parsed.problems.length > 1 ? ` (and ${parsed.problems.length - 1} more)` : ''}`)
  return parsed.table
}

function readAuth(path: string): ProxyAuth {
  const parsed = parseAuthFile(readSmallFile(path, 'proxy-auth-file', 1024 * 1024), SERVE_DEFAULTS.authRealm)
  const first = parsed.problems[0]
  if (first) throw new UsageError(`--proxy-auth-file ${path}:${first.line}: ${first.message}`)
  return parsed.auth
}

/** Two listen hosts that cannot both bind one port: the same address, or a wildcard and anything of its family. */
function sameListenHost(a: string, b: string): boolean {
  if (a === b) return true
  const wild = (h: string): boolean => h === '0.0.0.0' || h === '::'
  return (wild(a) || wild(b)) && (a.includes(':') === b.includes(':') || a === '::' || b === '::')
}

function readUpstreams(list: string[]): string[] {
  return list.map((u) => {
    const a = parseAuthority(u)
    if (!a || !parseRawAddress(a.host)) throw new UsageError(`--dns-upstream "${u}" is not ADDR[:PORT]`, 'give an IP address, e.g. 168.63.129.16 or 10.0.0.10:53')
    return a.port === undefined ? (a.isIpv6 ? `[${a.host}]` : a.host) : formatHostPort(a.host, a.port)
  })
}

function transparentPorts(text: string | undefined): TransparentPorts {
  if (text === undefined) return { kind: 'offset', offset: SERVE_DEFAULTS.transparentPortOffset }
  if (text === 'ephemeral') return { kind: 'ephemeral' }
  return { kind: 'offset', offset: parseCount(text, 'transparent-port-offset', 0) }
}

export async function runServe(argv: readonly string[], io: Io): Promise<number> {
  const { values } = parseOptions(argv, OPTIONS, false)
  if (values['help'] === true) {
    io.stdout.write(SERVE_HELP)
    return EXIT_OK
  }
  if (values['cleanup'] === true) return runCleanup(io, str(values, 'nft'))
  const listen = parseListenOption(str(values, 'listen') ?? SERVE_DEFAULTS.listen, 'listen')
  const admin = parseListenOption(str(values, 'admin') ?? SERVE_DEFAULTS.admin, 'admin')
  const limits = readLimits(values)
  const socketLayerText = str(values, 'socket-layer') ?? 'lite'
  if (socketLayerText !== 'lite' && socketLayerText !== 'node') throw new UsageError(`--socket-layer "${socketLayerText}" is not lite or node`)
  const socketLayer: SocketLayer = socketLayerText
  const logLevel = str(values, 'log-level') ?? 'info'
  if (!['info', 'warn', 'error', 'debug'].includes(logLevel)) throw new UsageError(`--log-level "${logLevel}" is not info, warn, error or debug`)
  const hostsPath = str(values, 'hosts')
  const hosts = hostsPath === undefined ? undefined : readHosts(resolve(io.cwd, hostsPath))
  const authPath = str(values, 'proxy-auth-file')
  const auth = authPath === undefined ? undefined : readAuth(resolve(io.cwd, authPath))
  const transparent = values['transparent'] === true
  const tAddress = str(values, 'transparent-address') ?? SERVE_DEFAULTS.transparentAddress
  if (!parseRawAddress(tAddress)) throw new UsageError(`--transparent-address "${tAddress}" is not an IP address`, 'e.g. 0.0.0.0, 10.0.1.4 or ::')
  const tPorts = transparentPorts(str(values, 'transparent-port-offset'))
  if (!listen && !transparent) throw new UsageError('Nothing to serve: --listen none without --transparent')
  const transparentOnly = ['transparent-address', 'transparent-port-offset'].find((o) => values[o] !== undefined)
  if (!transparent && transparentOnly !== undefined) throw new UsageError(`--${transparentOnly} goes with --transparent`)
  if (listen && admin && listen.port !== 0 && listen.port === admin.port && sameListenHost(listen.host, admin.host)) {
    throw new UsageError(`--admin ${formatHostPort(admin.host, admin.port)} is the --listen address too`, 'give --admin another port (the default is 127.0.0.1:9901), or --admin none')
  }
  const applianceOnly = ['egress-interface', 'ingress-interface', 'dns-listen', 'ssh-from', 'learn-grace', 'flowtable', 'no-flowtable', 'nft'].find((o) => values[o] !== undefined)
  if (!transparent && (applianceOnly !== undefined || values['no-nftables'] === true)) throw new UsageError(`--${applianceOnly ?? 'no-nftables'} goes with --transparent`)
  if (values['no-nftables'] === true && applianceOnly !== undefined) throw new UsageError(`--${applianceOnly} has no effect with --no-nftables (no table, no DNS proxy)`)
  const applianceConfig: ApplianceConfig | undefined = transparent && values['no-nftables'] !== true ? readApplianceOptions(values, tAddress, io.cwd) : undefined
  // Before anything is bound or applied: under --flowtable a kernel without it is exit 1.
  const flowtable = applianceConfig ? await decideFlowtable(applianceConfig) : undefined
  if (flowtable?.diagnostic) {
    io.stderr.write(`${renderDiagnostics([flowtable.diagnostic])}\n`)
    if (flowtable.diagnostic.severity === 'error') return EXIT_PROBLEM
  }
  const upstreamValue = values['dns-upstream']
  const upstream = applianceConfig ? [resolverUpstream(applianceConfig.upstream)] : readUpstreams(Array.isArray(upstreamValue) ? upstreamValue : [])

  const source = policyFromOptions(values, io)
  const logPath = str(values, 'log')
  let destination: LogDestination = { kind: 'stdout' }
  if (logPath !== undefined && logPath !== '-') {
    // Before anything listens: a log that cannot be written is a start-up error, not a crash later.
    const path = resolve(io.cwd, logPath)
    const opened = openLogFile(path)
    if (!opened.ok) {
      io.stderr.write(`error: --log ${logPath}: ${opened.detail}\n  fix: give --log a file this process can write (missing directories are made), or - for standard output\n`)
      return EXIT_PROBLEM
    }
    destination = { kind: 'file', fd: opened.fd, path }
  }
  const log = createConnectionLog(destination, logLevel, (e, name) => {
    io.stderr.write(
      `warning: cannot write the log to ${name} (${e.message}); the proxy goes on, keeping up to ${LOG_MAX_BUFFERED_BYTES / 1024 / 1024} MiB of lines to write when it can (lines beyond are dropped and counted)\n`,
    )
  })
  const state = buildPolicyState(source.policy, source.label)
  const resolver = new NameResolver({
    ...(hosts ? { hosts } : {}),
    upstream,
    timeoutMs: limits.dnsTimeoutMs,
    cacheMaxEntries: SERVE_DEFAULTS.dnsCacheMaxEntries,
    cacheMaxTtlSeconds: SERVE_DEFAULTS.dnsCacheMaxTtlSeconds,
  })
  const server = new ProxyServer(state, {
    listen,
    admin,
    transparent: transparent ? { address: tAddress, ports: tPorts } : null,
    limits,
    resolver,
    log,
    ...(auth ? { auth } : {}),
    defaultMetrics: true,
    socketLayer,
  })
  let warnings: string[]
  try {
    ;({ warnings } = await server.start())
  } catch (e) {
    resolver.close()
    io.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`)
    const fix = e instanceof ListenerStartError ? e.fix() : undefined
    if (fix !== undefined) io.stderr.write(`  fix: ${fix}\n`)
    await log.flush()
    return EXIT_PROBLEM
  }
  for (const w of warnings) io.stderr.write(`warning: ${w}\n`)

  let appliance: Appliance | undefined
  let dnsAddress: { host: string; port: number } | undefined
  if (applianceConfig) {
    for (const w of applianceConfig.warnings) io.stderr.write(`warning: ${w}\n`)
    appliance = new Appliance({
      server,
      nft: {
        egressInterface: applianceConfig.egressInterface,
        ingressInterfaces: applianceConfig.ingressInterfaces,
        flowtable: flowtable?.flowtable === true,
        sshFrom: applianceConfig.sshFrom,
        dnsPort: applianceConfig.dnsListen.port,
        serviceTcpPorts: serviceTcpPorts(server.listeners),
      },
      dns: { listen: applianceConfig.dnsListen, upstream: applianceConfig.upstream },
      learner: { graceSec: applianceConfig.learnGraceSec },
      runner: nftCommand({ nft: applianceConfig.nft }),
      logger: log.logger,
      dnsLog: (r) => {
        log.dns(r)
      },
    })
    try {
      ;({ dns: dnsAddress } = await appliance.start())
    } catch (e) {
      await server.stop(0)
      io.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`)
      await log.flush()
      return EXIT_PROBLEM
    }
    // After start: the table in force, with DNAT names resolved.
    for (const n of appliance.ruleset.notes) io.stderr.write(`${n.severity} UNSUPPORTED_BY_TARGET: nftables: ${formatNote(n)}\n`)
  }
  const target = appliance ?? server

  // --hosts and --proxy-auth-file are read again on SIGHUP, with the policy (rotated credentials, a changed override without a restart).
  const inForce = { hosts, auth }
  const companions: CompanionFiles | undefined =
    hostsPath === undefined && authPath === undefined
      ? undefined
      : {
          load: () => {
            try {
              const h = hostsPath === undefined ? undefined : readHosts(resolve(io.cwd, hostsPath))
              const a = authPath === undefined ? undefined : readAuth(resolve(io.cwd, authPath))
              return {
                ok: true,
                summary: {
                  ...(h ? { hosts: { file: hostsPath, names: h.size } } : {}),
                  ...(a ? { auth: { file: authPath, users: a.users.size } } : {}),
                },
                apply: () => {
                  const before = { hosts: inForce.hosts, auth: inForce.auth }
                  const put = (next: { hosts: HostsTable | undefined; auth: ProxyAuth | undefined }): void => {
                    if (next.hosts) resolver.setHosts(next.hosts)
                    if (next.auth) server.setAuth(next.auth)
                    inForce.hosts = next.hosts
                    inForce.auth = next.auth
                  }
                  put({ hosts: h, auth: a })
                  return () => {
                    put(before)
                  }
                },
              }
            } catch (e) {
              return { ok: false, error: e instanceof Error ? e.message : String(e) }
            }
          },
        }
  const policyPath = str(values, 'policy')
  const reloader = new PolicyReloader({
    server: target,
    file: policyPath === undefined ? null : { path: resolve(io.cwd, policyPath), label: policyPath },
    log,
    stderr: io.stderr,
    debounceMs: SERVE_DEFAULTS.reloadDebounceMs,
    ...(companions ? { companions } : {}),
  })
  if (values['no-watch'] !== true) reloader.watch()

  // Signal handlers go in before the startup lines: whoever reads them may signal at once.
  const stopped = new Promise<number>((done) => {
    let stopping = false
    const onHup = (): void => {
      if (stopping) return
      // logrotate's `create` mode renames the file and sends SIGHUP: the next lines go to a new file at --log's path.
      if (destination.kind === 'file') {
        const r = log.reopen()
        if (r.ok) log.logger.info({ event: 'log-reopened', file: destination.path }, 'log file reopened')
        else {
          io.stderr.write(`warning: cannot reopen the log ${destination.path} (${r.detail}); lines go on to the file open before\n`)
          log.logger.warn({ event: 'log-reopen-failed', file: destination.path, error: r.detail }, 'log file not reopened')
        }
      }
      void reloader.reload('SIGHUP')
    }
    const removeHandlers = (): void => {
      process.removeListener('SIGHUP', onHup)
      process.removeListener('SIGTERM', onTerm)
      process.removeListener('SIGINT', onInt)
    }
    const onStop = (signal: string): void => {
      // Signals during the drain are ignored (not the default action, an exit without draining):
      // a terminal's Ctrl-C or a service manager may reach both this process and the binary's
      // supervising parent, which forwards it too (serve-node-flags.ts).
      if (stopping) return
      stopping = true
      reloader.close()
      const open = server.openConnections
      log.logger.info({ event: 'drain', signal, open, drainTimeoutMs: limits.drainTimeoutMs }, 'stopping: draining open connections')
      target.stop(limits.drainTimeoutMs).then(
        ({ closed }) => {
          removeHandlers()
          log.logger.info({ event: 'stop', closedAfterDrain: closed }, 'stopped')
          void log.flush().then(() => {
            done(EXIT_OK)
          })
        },
        (e: unknown) => {
          removeHandlers()
          io.stderr.write(`error while stopping: ${String(e)}\n`)
          void log.flush().then(() => {
            done(EXIT_PROBLEM)
          })
        },
      )
    }
    const onTerm = (): void => {
      onStop('SIGTERM')
    }
    const onInt = (): void => {
      onStop('SIGINT')
    }
    process.on('SIGHUP', onHup)
    process.on('SIGTERM', onTerm)
    process.on('SIGINT', onInt)
    stopWhenParentGoes()
  })

  const s = state.engine.stats
  const listeners = server.listeners
    .map((l) => `${l.kind === 'tls' || l.kind === 'http' ? `${l.kind}:${l.originalPort ?? 0}` : l.kind} ${formatHostPort(l.address, l.port)}`)
    .join(', ')
  const dns = `${hosts ? `hosts ${hostsPath ?? ''} (${hosts.size} name${hosts.size === 1 ? '' : 's'}), ` : ''}dns ${upstream.length > 0 ? upstream.join(',') : 'system'}`
  const table = appliance?.ruleset
  const applianceSummary =
    appliance && applianceConfig && table && dnsAddress
      ? `; table ${TABLE} (${table.stats.lines} lines, ${table.sets.size} FQDN sets, egress ${applianceConfig.egressInterface}, ${table.flowtableDevices ? `flowtable on ${table.flowtableDevices.join(',')}` : 'no flowtable'}), DNS proxy ${formatHostPort(dnsAddress.host, dnsAddress.port)}`
      : ''
  io.stderr.write(
    `aks-egress serve: ${listeners}; policy ${source.label} (${state.policy.settings.mode}): ${s.networkRules} network, ${s.applicationRules} application, ${s.dnatRules} DNAT rules; ${dns}${applianceSummary}\n`,
  )
  log.logger.info(
    {
      event: 'start',
      policy: source.label,
      policyName: state.policy.name,
      mode: state.policy.settings.mode,
      listeners: server.listeners,
      sockets: server.socketLayer,
      rules: { network: s.networkRules, application: s.applicationRules, dnat: s.dnatRules },
      ...(appliance && applianceConfig && dnsAddress
        ? {
            appliance: {
              table: TABLE,
              egressInterface: applianceConfig.egressInterface,
              flowtable: table?.flowtableDevices ?? null,
              dnsListen: formatHostPort(dnsAddress.host, dnsAddress.port),
              dnsUpstream: resolverUpstream(applianceConfig.upstream),
            },
          }
        : {}),
    },
    'serving',
  )

  return stopped
}
