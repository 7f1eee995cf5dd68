/**
 * @module The appliance options of `aks-egress serve --transparent` (DESIGN.md §8, docs/appliance.md):
 * parsing and checks only; dataplane/appliance.ts runs it.
 *
 * One DNS upstream for both resolvers. The nodes ask the DNS proxy, which forwards to
 * `--dns-upstream` (Azure DNS 168.63.129.16 by default) and learns the answers of FQDN network
 * rules into nftables sets; the L7 proxy resolves the names it dials through that same upstream,
 * so both see the same records (the same resolver, the same cache at Azure DNS): the addresses
 * the proxy dials are those the nodes were told. `--hosts` stays the L7 proxy's own static
 * override; the DNS proxy never answers from it.
 */
import { readFileSync } from 'node:fs'
import { networkInterfaces } from 'node:os'
import { resolve } from 'node:path'
import { parseRawAddress } from '../../net/classify-address.ts'
import { formatHostPort, parseAuthority } from '../../proxy/authority.ts'
import { cleanupTransparent, AZURE_DNS } from '../../dataplane/transparent.ts'
import { TABLE } from '../../dataplane/nftables/compile-nftables.ts'
import { flowtableDevices, probeFlowtable } from '../../dataplane/nftables/flowtable.ts'
import { nftCommand } from '../../dataplane/nftables/nft-runner.ts'
import { diagnostic, type Diagnostic } from '../../diagnostics/diagnostic.ts'
import type { UpstreamAddress } from '../../dns/upstream.ts'
import { parseAddressBlock } from '../../policy/cidr.ts'
import { EXIT_OK, EXIT_PROBLEM, UsageError, type Io } from '../io.ts'
import type { OptionSpecs, ParsedOptions } from '../parse-options.ts'

export const DEFAULT_DNS_LISTEN = '0.0.0.0:53'
export const DEFAULT_LEARN_GRACE_SEC = 60

export const APPLIANCE_OPTIONS: OptionSpecs = {
  'egress-interface': { type: 'string', value: 'IF', help: 'With --transparent (required): the interface toward the internet; outbound flows are masqueraded there' },
  'dns-listen': { type: 'string', value: 'ADDR:PORT', help: `With --transparent: the DNS proxy the nodes use (default ${DEFAULT_DNS_LISTEN}; give the appliance's address)` },
  'ssh-from': { type: 'string', multiple: true, value: 'CIDR', help: 'With --transparent: sources allowed to SSH to the appliance (default *; "none"); repeatable' },
  'learn-grace': { type: 'string', value: 'SECONDS', help: `With --transparent: learned addresses live their DNS TTL plus this (default ${DEFAULT_LEARN_GRACE_SEC})` },
  'ingress-interface': { type: 'string', multiple: true, value: 'IF', help: 'With --transparent: an interface toward the nodes other than --egress-interface (a two-NIC appliance); a flowtable device; repeatable' },
  flowtable: { type: 'boolean', help: 'With --transparent: require the flowtable fast path (exit 1 if the kernel cannot make it; default: used when it can)' },
  'no-flowtable': { type: 'boolean', help: 'With --transparent: no flowtable; every packet goes through the forward chain' },
  nft: { type: 'string', value: 'PATH', help: 'With --transparent: the nft program to run (default nft from PATH)' },
  'no-nftables': { type: 'boolean', help: 'With --transparent: only the L7 listeners, no table and no DNS proxy (something else redirects)' },
  cleanup: { type: 'boolean', help: `Remove the table ${TABLE} (left by a crash) and exit` },
}

/** `auto`: the flowtable when the kernel can make it (default); `require`: exit 1 if not; `off`. */
export type FlowtableMode = 'auto' | 'require' | 'off'

export interface ApplianceConfig {
  readonly egressInterface: string
  readonly ingressInterfaces: readonly string[]
  readonly flowtable: FlowtableMode
  /** The nft program (`--nft`), resolved against the working directory when it is a path. */
  readonly nft: string
  readonly dnsListen: { readonly host: string; readonly port: number }
  readonly upstream: UpstreamAddress
  readonly sshFrom: readonly string[]
  readonly learnGraceSec: number
  /** Things worth a warning at startup (not errors: the machine may change under us). */
  readonly warnings: readonly string[]
}

function str(values: ParsedOptions['values'], name: string): string | undefined {
  const v = values[name]
  return typeof v === 'string' ? v : undefined
}

/** `ADDR:PORT` or `[V6]:PORT` with an IP address; the port defaulted when absent. */
export function parseAddressPort(text: string, defaultPort: number | undefined, option: string): { host: string; port: number } {
  const a = parseAuthority(text)
  const port = a?.port ?? defaultPort
  if (!a || !parseRawAddress(a.host) || port === undefined) {
    throw new UsageError(`--${option} "${text}" is not ${defaultPort === undefined ? 'ADDR:PORT' : 'ADDR[:PORT]'}`, `give an IP address, e.g. --${option} 10.0.1.4${defaultPort === undefined ? ':53' : ''}`)
  }
  return { host: a.host, port }
}

function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address === 'localhost'
}

const IFNAME = /^[A-Za-z0-9_.:@-]{1,15}$/

/** Reads and checks the appliance options of `serve --transparent`; `cwd` resolves `--nft PATH`. */
export function readApplianceOptions(values: ParsedOptions['values'], transparentAddress: string, cwd = process.cwd()): ApplianceConfig {
  const warnings: string[] = []
  const iface = str(values, 'egress-interface')
  if (iface === undefined) {
    throw new UsageError(
      `--transparent applies the nftables table ${TABLE} to this machine and needs --egress-interface IF`,
      'give the interface toward the internet (e.g. --egress-interface eth0), or --no-nftables for the L7 listeners alone',
    )
  }
  // IFNAMSIZ is 16 with the final NUL (linux/if.h); nft takes the name as a quoted string.
  if (!IFNAME.test(iface)) throw new UsageError(`--egress-interface "${iface}" is not an interface name`)
  if (!(iface in networkInterfaces())) warnings.push(`--egress-interface ${iface}: no interface of that name has an address here; outbound flows will not be masqueraded until it has`)
  const ingressInterfaces = (values['ingress-interface'] as string[] | undefined) ?? []
  for (const i of ingressInterfaces) if (!IFNAME.test(i)) throw new UsageError(`--ingress-interface "${i}" is not an interface name`)
  if (values['flowtable'] === true && values['no-flowtable'] === true) throw new UsageError('--flowtable and --no-flowtable contradict each other', 'give one of them, or neither (the flowtable is used when the kernel can make it)')
  const flowtable: FlowtableMode = values['flowtable'] === true ? 'require' : values['no-flowtable'] === true ? 'off' : 'auto'
  const nftText = str(values, 'nft') ?? 'nft'
  const nft = nftText.includes('/') ? resolve(cwd, nftText) : nftText
  if (isLoopback(transparentAddress)) {
    throw new UsageError(
      `--transparent-address ${transparentAddress}: nftables "redirect" delivers to the address of the interface a flow arrives on, never to loopback`,
      'leave the default 0.0.0.0 (or ::), or use --no-nftables',
    )
  }
  const dnsListen = parseAddressPort(str(values, 'dns-listen') ?? DEFAULT_DNS_LISTEN, 53, 'dns-listen')
  const upstreams = values['dns-upstream']
  const list = Array.isArray(upstreams) ? upstreams : []
  if (list.length > 1) {
    throw new UsageError('--transparent takes one --dns-upstream: the DNS proxy forwards to it and the L7 proxy resolves through it', 'give one resolver, e.g. --dns-upstream 168.63.129.16')
  }
  const upstream = list[0] === undefined ? AZURE_DNS : parseAddressPort(list[0], 53, 'dns-upstream')
  const sshValues = (values['ssh-from'] as string[] | undefined) ?? ['*']
  const sshFrom = sshValues.length === 1 && sshValues[0] === 'none' ? [] : sshValues
  for (const s of sshFrom) if (!parseAddressBlock(s).ok) throw new UsageError(`--ssh-from "${s}" is not an address, a CIDR, * or none`)
  const graceText = str(values, 'learn-grace') ?? String(DEFAULT_LEARN_GRACE_SEC)
  const grace = /^[0-9]{1,5}$/.test(graceText) ? Number(graceText) : NaN
  if (!Number.isInteger(grace) || grace > 86_400) throw new UsageError(`--learn-grace "${graceText}" is not whole seconds, 0-86400`)
  try {
    if (readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim() === '0') {
      warnings.push('IPv4 forwarding is off (net.ipv4.ip_forward = 0): nothing is forwarded until it is turned on (docs/appliance.md, sections 3 and 7)')
    }
  } catch {
    // Not Linux, or /proc not mounted: nft will say more.
  }
  return { egressInterface: iface, ingressInterfaces, flowtable, nft, dnsListen, upstream, sshFrom, learnGraceSec: grace, warnings }
}

/** The L7 resolver's upstream in NameResolver's form. */
export function resolverUpstream(upstream: UpstreamAddress): string {
  return formatHostPort(upstream.host, upstream.port)
}

/** TCP ports of the appliance's own services the nodes may reach: those not bound to loopback. */
export function serviceTcpPorts(listeners: ReadonlyArray<{ readonly kind: string; readonly address: string; readonly port: number }>): number[] {
  return listeners.filter((l) => (l.kind === 'explicit' || l.kind === 'admin') && !isLoopback(l.address)).map((l) => l.port)
}

/** The kernel's words from a failed nft run: its `Error:` lines without the file position (stable text). */
function nftError(e: unknown): string {
  const stderr = e instanceof Error && 'stderr' in e && typeof e.stderr === 'string' ? e.stderr : ''
  const errors = stderr.split('\n').filter((l) => l.includes('Error:')).map((l) => l.slice(l.indexOf('Error:')))
  if (errors.length > 0) return [...new Set(errors)].join('; ')
  return e instanceof Error ? e.message : String(e)
}

/**
 * Decides whether the table gets the flowtable (dataplane/nftables/flowtable.ts): asks the kernel
 * in check mode unless `--no-flowtable`. When it cannot, the table goes without the fast path and
 * a FLOWTABLE_UNSUPPORTED warning says why; under `--flowtable` that is an error (exit 1, before
 * anything is bound or applied).
 */
export async function decideFlowtable(config: ApplianceConfig): Promise<{ readonly flowtable: boolean; readonly diagnostic?: Diagnostic }> {
  if (config.flowtable === 'off') return { flowtable: false }
  const devices = flowtableDevices(config.egressInterface, config.ingressInterfaces)
  const support = await probeFlowtable(nftCommand({ check: true, nft: config.nft }), devices)
  if (support.ok) return { flowtable: true }
  const required = config.flowtable === 'require'
  const what =
    support.reason === 'kernel'
      ? 'this kernel has no nftables flowtable (nf_flow_table_inet, CONFIG_NF_FLOW_TABLE_INET)'
      : `the kernel cannot make a flowtable on ${devices.join(', ')}`
  return {
    flowtable: false,
    diagnostic: diagnostic('FLOWTABLE_UNSUPPORTED', {
      severity: required ? 'error' : 'warning',
      message: `${what}: ${nftError(support.detail)}${required ? '' : '; the table is applied without the fast path (every packet through the forward chain)'}`,
      fix: support.reason === 'kernel'
        ? `load the module (modprobe nf_flow_table_inet) or use a kernel built with it${required ? ', or leave out --flowtable' : '; --no-flowtable skips the check'}`
        : `check --egress-interface and --ingress-interface name this machine's interfaces${required ? ', or leave out --flowtable' : ''}`,
    }),
  }
}

/** `serve --cleanup`: removes the table (after a crash) and exits. */
export async function runCleanup(io: Io, nft?: string): Promise<number> {
  try {
    await cleanupTransparent(nftCommand(nft === undefined ? {} : { nft: nft.includes('/') ? resolve(io.cwd, nft) : nft }))
  } catch (e) {
    io.stderr.write(`error: cannot remove the table ${TABLE}: ${e instanceof Error ? e.message : String(e)}\n`)
    return EXIT_PROBLEM
  }
  io.stderr.write(`aks-egress serve: table ${TABLE} removed (or there was none)\n`)
  return EXIT_OK
}
