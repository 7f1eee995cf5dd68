/**
 * @module A stand-alone entry point for the transparent appliance's L4 and DNS half, until
 * `aks-egress serve --transparent` (issue 3's command) runs it beside the L7 listeners:
 *
 *   node dist/dataplane/transparent-main.js [PROFILE | --policy FILE] --egress-interface IF
 *        [--dns-listen ADDR:PORT] [--dns-upstream ADDR[:PORT]] [--ssh-from CIDR]... [--cleanup]
 *
 * SIGHUP reloads the policy file (an invalid policy is reported and the running one stays);
 * SIGTERM and SIGINT stop the DNS proxy, remove the table and exit 0. `--cleanup` only removes
 * the table (after a crash). Logs are JSON lines on standard output.
 */
import { resolve } from 'node:path'
import { loadPolicyFile } from '../config/load-policy.ts'
import { jsonLineSink } from '../dns/dns-log.ts'
import { renderDiagnostics } from '../diagnostics/render-diagnostic.ts'
import { EXIT_OK, EXIT_USAGE, InputError, UsageError, type Io } from '../cli/io.ts'
import { formatOptionHelp, parseOptions, PROFILE_OPTIONS, type OptionSpecs } from '../cli/parse-options.ts'
import { policyFromOptions } from '../cli/policy-source.ts'
import { parseAddressBlock } from '../policy/cidr.ts'
import { parseIp } from '../policy/ip-address.ts'
import { formatNote } from './nftables/compile-nftables.ts'
import { nftCommand } from './nftables/nft-runner.ts'
import { AZURE_DNS, cleanupTransparent, TransparentAppliance } from './transparent.ts'

export const TRANSPARENT_OPTIONS: OptionSpecs = {
  policy: { type: 'string', value: 'FILE', help: 'The policy (default: the default policy of the PROFILE options)' },
  'egress-interface': { type: 'string', value: 'IF', help: 'The interface toward the internet, masqueraded (default eth0)' },
  'dns-listen': { type: 'string', value: 'ADDR:PORT', help: 'Where the DNS proxy listens (default 0.0.0.0:53)' },
  'dns-upstream': { type: 'string', value: 'ADDR[:PORT]', help: 'The resolver it forwards to (default Azure DNS 168.63.129.16:53)' },
  'ssh-from': { type: 'string', multiple: true, value: 'CIDR', help: 'Sources allowed to SSH to the appliance (default *; "none")' },
  'learn-grace': { type: 'string', value: 'SECONDS', help: 'Learned addresses live TTL + this long (default 60)' },
  cleanup: { type: 'boolean', help: 'Remove the aks-egress table and exit' },
  ...PROFILE_OPTIONS,
}

export const TRANSPARENT_HELP = `Usage: transparent-main [PROFILE | --policy FILE] [--egress-interface IF] [--dns-listen ADDR:PORT]
                         [--dns-upstream ADDR[:PORT]] [--ssh-from CIDR]... | --cleanup

Options:
${formatOptionHelp(TRANSPARENT_OPTIONS)}
`

/** `host:port`, `[v6]:port`, or a bare address with the default port. */
export function parseHostPort(text: string, defaultPort: number | undefined, what: string): { host: string; port: number } {
  let host = text
  let portText: string | undefined
  if (text.startsWith('[')) {
    const end = text.indexOf(']')
    host = text.slice(1, end)
    portText = text.slice(end + 1).startsWith(':') ? text.slice(end + 2) : undefined
  } else if (text.split(':').length === 2) {
    ;[host = '', portText] = text.split(':')
  }
  const port = portText === undefined ? defaultPort : Number(portText)
  if (!parseIp(host) || port === undefined || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`${what} "${text}" is not ADDRESS:PORT`, `e.g. ${what} 10.0.0.4:53`)
  }
  return { host, port }
}

export async function runTransparent(argv: readonly string[], io: Io, signals: NodeJS.EventEmitter = process): Promise<number> {
  const { values } = parseOptions(argv, TRANSPARENT_OPTIONS, false)
  if (values['help'] === true) {
    io.stdout.write(TRANSPARENT_HELP)
    return EXIT_OK
  }
  const runner = nftCommand()
  if (values['cleanup'] === true) {
    await cleanupTransparent(runner)
    io.stderr.write('aks-egress: table inet aks_egress removed\n')
    return EXIT_OK
  }
  const sshValues = (values['ssh-from'] as string[] | undefined) ?? ['*']
  const sshFrom = sshValues.length === 1 && sshValues[0] === 'none' ? [] : sshValues
  for (const s of sshFrom) if (!parseAddressBlock(s).ok) throw new UsageError(`--ssh-from "${s}" is not an address, a CIDR or *`)
  const iface = typeof values['egress-interface'] === 'string' ? values['egress-interface'] : 'eth0'
  if (!/^[A-Za-z0-9_.:@-]{1,15}$/.test(iface)) throw new UsageError(`--egress-interface "${iface}" is not an interface name`)
  const dnsListen = parseHostPort(typeof values['dns-listen'] === 'string' ? values['dns-listen'] : '0.0.0.0:53', 53, '--dns-listen')
  const upstream = typeof values['dns-upstream'] === 'string' ? parseHostPort(values['dns-upstream'], 53, '--dns-upstream') : AZURE_DNS
  const grace = typeof values['learn-grace'] === 'string' ? Number(values['learn-grace']) : 60
  if (!Number.isInteger(grace) || grace < 0 || grace > 86_400) throw new UsageError('--learn-grace takes whole seconds, 0-86400')
  const source = policyFromOptions(values, io)
  const policyFile = typeof values['policy'] === 'string' ? resolve(io.cwd, values['policy']) : undefined

  const log = (event: Record<string, unknown>): void => {
    io.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`)
  }
  const appliance = new TransparentAppliance(source.policy, {
    nft: { egressInterface: iface, sshFrom, dnsPort: dnsListen.port },
    dns: { listen: dnsListen, upstream },
    learner: { graceSec: grace },
    runner,
    dnsLog: jsonLineSink(io.stdout),
    onEvent: log,
  })
  for (const n of appliance.ruleset.notes) io.stderr.write(`${n.severity} UNSUPPORTED_BY_TARGET: nftables: ${formatNote(n)}\n`)
  const { dns } = await appliance.start()
  log({ msg: 'ready', dns: `${dns.host}:${dns.port}`, policy: source.label })

  return await new Promise<number>((done) => {
    let stopping = false
    const reload = (): void => {
      if (!policyFile) {
        log({ msg: 'reload-skipped', reason: 'no --policy file to reload' })
        return
      }
      const loaded = loadPolicyFile(policyFile)
      if (!loaded.policy) {
        log({ msg: 'reload-rejected', diagnostics: renderDiagnostics(loaded.diagnostics, loaded.source ? new Map([[policyFile, loaded.source]]) : undefined) })
        return
      }
      appliance.reload(loaded.policy).catch((e: unknown) => {
        log({ msg: 'reload-failed', error: e instanceof Error ? e.message : String(e) })
      })
    }
    const stop = (signal: string): void => {
      if (stopping) return
      stopping = true
      signals.off('SIGHUP', reload)
      log({ msg: 'stopping', signal })
      appliance.stop().then(
        () => {
          done(EXIT_OK)
        },
        (e: unknown) => {
          log({ msg: 'stop-failed', error: e instanceof Error ? e.message : String(e) })
          done(1)
        },
      )
    }
    signals.on('SIGHUP', reload)
    signals.once('SIGTERM', () => {
      stop('SIGTERM')
    })
    signals.once('SIGINT', () => {
      stop('SIGINT')
    })
  })
}

if (process.argv[1] !== undefined && /transparent-main\.[jt]s$/.test(process.argv[1])) {
  const io: Io = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, cwd: process.cwd() }
  runTransparent(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code
    },
    (e: unknown) => {
      if (e instanceof UsageError) {
        io.stderr.write(`error USAGE: ${e.message}\n${e.fix === undefined ? '' : `  fix: ${e.fix}\n`}`)
        process.exitCode = EXIT_USAGE
      } else if (e instanceof InputError) {
        io.stderr.write(`${renderDiagnostics(e.diagnostics, e.sources)}\n`)
        process.exitCode = EXIT_USAGE
      } else {
        io.stderr.write(`aks-egress: ${e instanceof Error ? e.message : String(e)}\n`)
        process.exitCode = 1
      }
    },
  )
}
