/**
 * @module The `aks-egress` command line: dispatch, errors and exit codes, no business logic.
 */
import { readFileSync } from 'node:fs'
import { renderDiagnostics } from '../diagnostics/render-diagnostic.ts'
import { didYouMean } from '../util/did-you-mean.ts'
import { runAudit } from './commands/audit.ts'
import { runCheck } from './commands/check.ts'
import { runEndpoints } from './commands/endpoints.ts'
import { runExplain } from './commands/explain.ts'
import { runExport } from './commands/export.ts'
import { runLogs } from './commands/logs.ts'
import { runPolicy } from './commands/policy.ts'
import { runServe } from './commands/serve.ts'
import { EXIT_OK, EXIT_USAGE, InputError, UsageError, type Io } from './io.ts'

type Command = (argv: readonly string[], io: Io) => number | Promise<number>

const COMMANDS: Readonly<Record<string, { run: Command; summary: string }>> = {
  endpoints: { run: runEndpoints, summary: 'List the ports and FQDNs a cluster profile needs' },
  policy: { run: runPolicy, summary: 'init, validate or print the schema of a policy file' },
  explain: { run: runExplain, summary: 'Decide flows with a policy and say which rule decided' },
  serve: { run: runServe, summary: 'Run the egress firewall: explicit proxy and transparent TLS/HTTP listeners' },
  export: { run: runExport, summary: 'Write the policy for a target: az script, ARM, Bicep, Terraform, Squid, Cilium, ...' },
  audit: { run: runAudit, summary: 'Hold an Azure Firewall policy (ARM, az, Terraform) against a profile' },
  check: { run: runCheck, summary: 'Probe every endpoint from a node: DNS, TCP, TLS, HTTP, NTP' },
  logs: { run: runLogs, summary: 'Map firewall log denials to the catalog: what the cluster needed' },
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

export function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length))
  return `aks-egress ${version()}: lock down the egress of Azure Kubernetes Service nodes.

Usage: aks-egress COMMAND [OPTIONS]

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
  .join('\n')}

PROFILE options (endpoints, policy init, explain, serve, export, audit, check, logs):
  --cloud public|china|usgov  --location REGION  --catalog 2019-11|2026-06|latest
  --features NAME[,NAME...]   --no-recommended   --api-server IP  --node-cidr CIDR

Run "aks-egress COMMAND --help" for the options of a command.
Exit codes: 0 success; 1 the command found a problem; 2 bad usage or bad input.
`
}

/** Runs the command line; returns the exit code. Never throws for user errors. */
export async function main(argv: readonly string[], io: Io): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(mainHelp())
    return name === undefined ? EXIT_USAGE : EXIT_OK
  }
  if (name === '--version' || name === '-v') {
    io.stdout.write(`${version()}\n`)
    return EXIT_OK
  }
  const command = COMMANDS[name]
  try {
    if (!command) {
      const guess = didYouMean(name, Object.keys(COMMANDS))
      throw new UsageError(`Unknown command "${name}"`, guess ? `did you mean "${guess}"?` : 'run "aks-egress --help" for the commands')
    }
    return await command.run(rest, io)
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`error USAGE: ${e.message}\n${e.fix === undefined ? '' : `  fix: ${e.fix}\n`}`)
      return EXIT_USAGE
    }
    if (e instanceof InputError) {
      io.stderr.write(`${renderDiagnostics(e.diagnostics, e.sources)}\n`)
      return EXIT_USAGE
    }
    throw e
  }
}
