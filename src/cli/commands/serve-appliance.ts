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
import { parseRawAddress } from '../../net/classify-address.ts'
import { formatHostPort, parseAuthority } from '../../proxy/authority.ts'
import { cleanupTransparent, AZURE_DNS } from '../../dataplane/transparent.ts'
import { TABLE } from '../../dataplane/nftables/compile-nftables.ts'
import { nftCommand } from '../../dataplane/nftables/nft-runner.ts'
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
  'no-nftables': { type: 'boolean', help: 'With --transparent: only the L7 listeners, no table and no DNS proxy (something else redirects)' },
  cleanup: { type: 'boolean', help: `Remove the table ${TABLE} (left by a crash) and exit` },
}

export interface ApplianceConfig {
  readonly egressInterface: string
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

/** Reads and checks the appliance options of `serve --transparent`. */
export function readApplianceOptions(values: ParsedOptions['values'], transparentAddress: string): ApplianceConfig {
  const warnings: string[] = []
  const iface = str(values, 'egress-interface')
  if (iface === undefined) {
    throw new UsageError(
      `--transparent applies the nftables table ${TABLE} to this machine and needs --egress-interface IF`,
      'give the interface toward the internet (e.g. --egress-interface eth0), or --no-nftables for the L7 listeners alone',
    )
  }
  // IFNAMSIZ is 16 with the final NUL (linux/if.h); nft takes the name as a quoted string.
  if (!/^[A-Za-z0-9_.:@-]{1,15}$/.test(iface)) throw new UsageError(`--egress-interface "${iface}" is not an interface name`)
  if (!(iface in networkInterfaces())) warnings.push(`--egress-interface ${iface}: no interface of that name has an address here; outbound flows will not be masqueraded until it has`)
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
  return { egressInterface: iface, dnsListen, upstream, sshFrom, learnGraceSec: grace, warnings }
}

/** The L7 resolver's upstream in NameResolver's form. */
export function resolverUpstream(upstream: UpstreamAddress): string {
  return formatHostPort(upstream.host, upstream.port)
}

/** TCP ports of the appliance's own services the nodes may reach: those not bound to loopback. */
export function serviceTcpPorts(listeners: ReadonlyArray<{ readonly kind: string; readonly address: string; readonly port: number }>): number[] {
  return listeners.filter((l) => (l.kind === 'explicit' || l.kind === 'admin') && !isLoopback(l.address)).map((l) => l.port)
}

/** `serve --cleanup`: removes the table (after a crash) and exits. */
export async function runCleanup(io: Io): Promise<number> {
  try {
    await cleanupTransparent(nftCommand())
  } catch (e) {
    io.stderr.write(`error: cannot remove the table ${TABLE}: ${e instanceof Error ? e.message : String(e)}\n`)
    return EXIT_PROBLEM
  }
  io.stderr.write(`aks-egress serve: table ${TABLE} removed (or there was none)\n`)
  return EXIT_OK
}
