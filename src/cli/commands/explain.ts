/**
 * @module `aks-egress explain [PROFILE | --policy FILE] [FLOW...] [--flows FILE|-] [--from IP]
 * [--output table|json]`: flows in, decisions out (DESIGN.md §6, §8). Flows from a file or stdin
 * are streamed: a decision is printed per line as it is read, in bounded memory.
 */
import { createReadStream } from 'node:fs'
import { resolve } from 'node:path'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import { engineFor } from '../../config/load-policy.ts'
import { diagnostic, type Diagnostic } from '../../diagnostics/diagnostic.ts'
import { renderDiagnostics } from '../../diagnostics/render-diagnostic.ts'
import type { Decision } from '../../policy/decision.ts'
import { parseIp } from '../../policy/ip-address.ts'
import { parseFlowLine, parseFlowUrl, type ParsedFlow } from '../../verify/parse-flow.ts'
import { formatTable } from '../format-table.ts'
import { EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, UsageError, type Io } from '../io.ts'
import { formatOptionHelp, type OptionSpecs, parseOptions, PROFILE_OPTIONS, tableOrJson } from '../parse-options.ts'
import { policyFromOptions } from '../policy-source.ts'

const OPTIONS: OptionSpecs = {
  policy: { type: 'string', value: 'FILE', help: 'The policy to use (default: the default policy of the PROFILE options)' },
  flows: { type: 'string', value: 'FILE|-', help: 'Read flows from FILE or standard input: one URL or JSON object per line' },
  from: { type: 'string', value: 'IP', help: 'Source address of the flows (default: source conditions are not checked)' },
  output: { type: 'string', short: 'o', value: 'FORMAT', help: 'table or json (one JSON object per line)' },
  ...PROFILE_OPTIONS,
}

/** The longest flow line read; longer lines are rejected (a bound on memory per line). */
export const MAX_FLOW_LINE = 64 * 1024

export const EXPLAIN_HELP = `Usage: aks-egress explain [PROFILE | --policy FILE] [FLOW...] [--flows FILE|-] [--from IP] [--output table|json]

Decides flows with Azure Firewall's rule processing and says which rule decided and why.

FLOW is SCHEME://HOST[:PORT], SCHEME one of http, https, mssql, tcp, udp, icmp; http, https and
mssql have default ports (80, 443, 1433). Examples:
  https://mcr.microsoft.com   udp://ntp.ubuntu.com:123   tcp://20.50.1.2:9000   https://20.50.1.2
A flows file has one FLOW per line, or JSON objects:
  {"flow": "https://20.50.1.2", "sni": "mcr.microsoft.com", "from": "10.240.0.4", "tags": ["AzureCloud.westeurope"]}

Options:
${formatOptionHelp(OPTIONS)}

Output: a table, or with --output json one object per flow and line:
  {"flow":"https://mcr.microsoft.com:443","action":"allow","rule":"GROUP/COLLECTION/RULE","code":"APPLICATION_RULE_ALLOW","reason":"..."}

Exit codes: 0 every flow allowed; 1 a flow denied; 2 bad usage, a bad policy or a bad flow.
`

interface Row {
  readonly text: string
  readonly decision: Decision
}

export async function runExplain(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseOptions(argv, OPTIONS, true)
  if (values['help'] === true) {
    io.stdout.write(EXPLAIN_HELP)
    return EXIT_OK
  }
  const output = tableOrJson(values)
  const from = values['from']
  if (typeof from === 'string' && !parseIp(from)) throw new UsageError(`--from "${from}" is not an IP address`)
  const flowsFile = values['flows']
  if (positionals.length === 0 && flowsFile === undefined) throw new UsageError('explain needs flows', 'give FLOW arguments (https://mcr.microsoft.com) or --flows FILE|-')

  const source = policyFromOptions(values, io)
  const engine = engineFor(source.policy)
  const fromIp = typeof from === 'string' ? from : undefined

  const problems: Diagnostic[] = []
  const rows: Row[] = []
  const seen = { denied: false }
  const json = output === 'json'
  const handle = (parsed: ParsedFlow | undefined, where: string): void => {
    if (!parsed) return
    if (!parsed.ok) {
      problems.push(diagnostic('FLOW_INVALID', { message: `${where}: ${parsed.message}`, fix: parsed.fix }))
      return
    }
    const decision = engine.decide(parsed.flow)
    if (decision.action === 'deny') seen.denied = true
    if (json) io.stdout.write(`${JSON.stringify(flowJson(parsed.text, decision))}\n`)
    else rows.push({ text: parsed.text, decision })
  }

  positionals.forEach((p, i) => {
    handle(parseFlowUrl(p, fromIp === undefined ? {} : { sourceIp: fromIp }), `argument ${i + 1}`)
  })
  if (typeof flowsFile === 'string') {
    const stream: Readable = flowsFile === '-' ? io.stdin : createReadStream(resolve(io.cwd, flowsFile))
    const name = flowsFile === '-' ? 'stdin' : flowsFile
    try {
      let lineNo = 0
      for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
        lineNo++
        if (line.length > MAX_FLOW_LINE) {
          problems.push(diagnostic('FLOW_INVALID', { message: `${name}:${lineNo}: the line has ${line.length} characters; at most ${MAX_FLOW_LINE} are read` }))
          continue
        }
        handle(parseFlowLine(line, fromIp), `${name}:${lineNo}`)
      }
    } catch (e) {
      const code = e instanceof Error && 'code' in e ? String(e.code) : String(e)
      throw new UsageError(`Cannot read flows from "${flowsFile}": ${code}`)
    }
  }
  if (!json && rows.length > 0) {
    io.stdout.write(
      formatTable(
        ['FLOW', 'ACTION', 'CODE', 'RULE OR REASON'],
        rows.map((r) => [r.text, r.decision.action + (r.decision.wouldDeny ? ' (report: would deny)' : ''), r.decision.code, r.decision.rulePath ?? r.decision.reason]),
        { width: io.stdout.isTTY ? io.stdout.columns : undefined },
      ),
    )
  }
  if (problems.length > 0) {
    io.stderr.write(`${renderDiagnostics(problems)}\n`)
    return EXIT_USAGE
  }
  return seen.denied ? EXIT_PROBLEM : EXIT_OK
}

/** The JSON line of one decision (DESIGN.md §8). */
export function flowJson(text: string, d: Decision): { flow: string; action: string; rule: string | null; code: string; reason: string } {
  return { flow: text, action: d.action, rule: d.rulePath, code: d.code, reason: d.reason }
}
