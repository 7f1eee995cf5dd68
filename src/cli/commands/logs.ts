/**
 * @module `aks-egress logs FILE... [PROFILE | --policy FILE] [--output table|json]`: Azure Firewall
 * logs and the aks-egress decision log, mapped to catalog entries: what the cluster needed and was
 * denied, grouped and counted, and the rules to add (DESIGN.md §6). Streams every file; exit 1
 * when a denial hits an endpoint the profile needs.
 */
import { open, stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { stringify } from 'yaml'
import type { Profile } from '../../catalog/profile.ts'
import { policyToPlain } from '../../config/write-policy.ts'
import { diagnostic, type Diagnostic } from '../../diagnostics/diagnostic.ts'
import { renderDiagnostics } from '../../diagnostics/render-diagnostic.ts'
import { engineFor } from '../../config/load-policy.ts'
import { API_VERSION, DEFAULT_SETTINGS, type Policy } from '../../policy/policy-model.ts'
import type { Engine } from '../../policy/compile-policy.ts'
import type { Flow } from '../../policy/flow.ts'
import { buildFix, type Fix } from '../../verify/audit-findings.ts'
import { parseAzureMessage, parseAzureRow } from '../../verify/azure-firewall-log.ts'
import { LogAnalysis, type DenialGroup } from '../../verify/log-analysis.ts'
import { detectLogFormat, readLogRows, type LogFormat, type ReadProgress } from '../../verify/log-reader.ts'
import type { LogRecord } from '../../verify/log-record.ts'
import { asAzureDnsRow, isOwnDecisionLog, isOwnEventLine, parseOwnDecision } from '../../verify/own-decision-log.ts'
import { formatTable } from '../format-table.ts'
import { EXIT_OK, EXIT_PROBLEM, InputError, UsageError, type Io } from '../io.ts'
import { formatOptionHelp, type OptionSpecs, parseOptions, PROFILE_OPTIONS, profileInputOf, tableOrJson } from '../parse-options.ts'
import { profileFromOptions } from '../profile-from-options.ts'
import { policyFromOptions } from '../policy-source.ts'

const OPTIONS: OptionSpecs = {
  policy: { type: 'string', value: 'FILE', help: 'Take the profile from this policy, and say whether it would allow each denial' },
  output: { type: 'string', short: 'o', value: 'FORMAT', help: 'table or json (default: table)' },
  ...PROFILE_OPTIONS,
}

export const LOGS_HELP = `Usage: aks-egress logs FILE... [PROFILE | --policy FILE] [--output table|json]

Reads firewall logs and says what the cluster needed and was denied: each denial is mapped to the
catalog entry it belongs to (by name, or by port for the tunnel and NTP, which Azure logs by
address only), grouped and counted; denials of add-on endpoints the profile does not name are
listed by add-on; the rules to add are printed as an aks-egress policy fragment.

FILE (the format is detected per file; files of any size are streamed):
  - Log Analytics exports of AZFWApplicationRule, AZFWNetworkRule, AZFWNatRule, AZFWDnsQuery, as
    JSON (an array, or one object per line) or CSV with the column names;
  - legacy AzureDiagnostics rows (msg_s, Category, OperationName), diagnostic-setting records
    ({"records": [{"category": ..., "properties": {"msg": ...}}]}), or bare msg lines
    ("HTTPS request from 10.240.0.4:51234 to mcr.microsoft.com:443. Action: Deny. ...");
  - the aks-egress decision log (aks-egress serve), JSON lines.

Options:
${formatOptionHelp(OPTIONS)}

Exit codes: 0 no denial of an endpoint the profile needs; 1 at least one; 2 bad usage or a file
that cannot be read.
`

const MAX_SHOWN_PROBLEMS = 5

interface FileReport {
  readonly file: string
  readonly format: LogFormat
  records: number
  invalid: number
}

function toRecord(value: Readonly<Record<string, unknown>> | string): LogRecord | undefined {
  if (typeof value === 'string') return parseAzureMessage(value)
  const dns = asAzureDnsRow(value)
  if (dns) return parseAzureRow(dns)
  if (isOwnDecisionLog(value)) return parseOwnDecision(value)
  return parseAzureRow(value)
}

function isSkippable(value: Readonly<Record<string, unknown>> | string): boolean {
  // aks-egress close lines and process events are not connections.
  return typeof value !== 'string' && (value['event'] === 'close' || value['event'] === 'serve' || isOwnEventLine(value))
}

export async function runLogs(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseOptions(argv, OPTIONS, true)
  if (values['help'] === true) {
    io.stdout.write(LOGS_HELP)
    return EXIT_OK
  }
  const output = tableOrJson(values)
  if (positionals.length === 0) throw new UsageError('logs needs at least one log FILE', 'aks-egress logs firewall-logs.json --location westeurope')

  // With --policy, its profile and its rules; else the PROFILE options alone (no default policy
  // is needed: the catalog says what the cluster needs).
  let profile: Profile
  let givenPolicy: Policy | undefined
  if (typeof values['policy'] === 'string') {
    const source = policyFromOptions(values, io)
    if (!source.policy.profile) throw new UsageError(`${source.label} has no profile: section`, 'add profile: (cloud, location, catalog) to the policy')
    profile = source.policy.profile
    givenPolicy = source.policy
  } else profile = profileFromOptions(profileInputOf(values), io)
  const engine = givenPolicy ? engineFor(givenPolicy) : undefined

  // Detect every format first: a bad file is bad usage, before any reading.
  const problems: Diagnostic[] = []
  const files: Array<{ name: string; path: string; format: LogFormat; size: number }> = []
  for (const name of positionals) {
    const path = resolve(io.cwd, name)
    try {
      const handle = await open(path, 'r')
      try {
        const buf = Buffer.alloc(64 * 1024)
        const { bytesRead } = await handle.read(buf, 0, buf.length, 0)
        const format = detectLogFormat(buf.subarray(0, bytesRead).toString('utf8'))
        if (!format) {
          problems.push(
            diagnostic('LOG_FORMAT_UNKNOWN', {
              message: `"${name}" is not a log aks-egress reads (JSON array or lines, CSV with column names, AzureDiagnostics msg lines)`,
              file: name,
              fix: 'export the rows with their column names from Log Analytics, or give the decision log of aks-egress serve',
            }),
          )
        } else files.push({ name, path, format, size: (await stat(path)).size })
      } finally {
        await handle.close()
      }
    } catch (e) {
      const reason = e instanceof Error && 'code' in e ? String(e.code) : String(e)
      problems.push(diagnostic('FILE_UNREADABLE', { message: `Cannot read "${name}": ${reason}`, file: name }))
    }
  }
  if (problems.length > 0) throw new InputError(problems)

  const analysis = new LogAnalysis(profile)
  const reports: FileReport[] = []
  const warnings: Diagnostic[] = []
  const tty = io.stderr.isTTY === true
  for (const f of files) {
    const report: FileReport = { file: f.name, format: f.format, records: 0, invalid: 0 }
    reports.push(report)
    const progress: ReadProgress = { bytesRead: 0, totalBytes: f.size }
    let lastShown = 0
    const shown: string[] = []
    for await (const row of readLogRows(f.path, f.format, progress)) {
      if (tty && Date.now() - lastShown > 200) {
        lastShown = Date.now()
        io.stderr.write(`\r\x1b[Kreading ${f.name}: ${mib(progress.bytesRead)} of ${mib(f.size)} MiB, ${report.records} records`)
      }
      if (!row.ok) {
        report.invalid++
        if (shown.length < MAX_SHOWN_PROBLEMS) shown.push(`${f.name}:${row.line}: ${row.problem}`)
        continue
      }
      if (isSkippable(row.value)) continue
      const record = toRecord(row.value)
      if (!record) {
        report.invalid++
        if (shown.length < MAX_SHOWN_PROBLEMS) shown.push(`${f.name}:${row.line}: not a firewall log record of a known shape`)
        continue
      }
      report.records++
      analysis.add(record)
    }
    if (tty) io.stderr.write('\r\x1b[K')
    if (report.invalid > 0) {
      warnings.push(
        diagnostic('LOG_RECORD_INVALID', {
          message: `${report.invalid} record${report.invalid === 1 ? '' : 's'} of "${f.name}" could not be read (${f.format}): ${shown.join('; ')}${report.invalid > shown.length ? '; ...' : ''}`,
          file: f.name,
        }),
      )
    }
  }

  const groups = analysis.sorted()
  const needed = groups.filter((g) => g.inProfile)
  const fix = needed.length > 0 ? fixFor(needed, profile, givenPolicy) : undefined
  if (output === 'json') io.stdout.write(`${JSON.stringify(logsJson(reports, analysis, groups, fix, engine), null, 2)}\n`)
  else io.stdout.write(renderLogsTable(reports, analysis, groups, fix, engine, io))
  if (warnings.length > 0) io.stderr.write(`${renderDiagnostics(warnings)}\n`)
  return needed.length > 0 ? EXIT_PROBLEM : EXIT_OK
}

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1)
}

function fixFor(needed: readonly DenialGroup[], profile: Profile, given: Policy | undefined): Fix | undefined {
  const results = needed.flatMap((g) => (g.endpoint ? [{ endpoint: g.endpoint, protocol: g.protocol as never, status: 'blocked' as const, samples: [] }] : []))
  const base: Policy = given ?? { apiVersion: API_VERSION, name: 'aks-egress', profile, settings: DEFAULT_SETTINGS, ipGroups: {}, ruleCollectionGroups: [] }
  return buildFix(results, base, profile, { kind: 'policy', name: base.name })
}

/** What the given policy says about a group's denials (its first example). */
function verdict(g: DenialGroup, engine: Engine | undefined): string | undefined {
  if (!engine) return undefined
  const [scheme, port] = g.protocol.split(':') as [Flow['protocol'], string]
  const name = [...g.names][0] ?? g.target
  const isIp = /^[0-9.]+$/.test(name) || name.includes(':')
  const flow: Flow = { protocol: scheme, destinationPort: Number(port), ...(isIp ? { destinationIp: name } : { host: name, ...(scheme === 'https' ? { sni: name } : {}) }) }
  const d = engine.decide(flow)
  return d.action === 'allow' ? `allowed by ${d.rulePath ?? '?'}` : `still denied (${d.rulePath ?? d.code})`
}

function groupRow(g: DenialGroup): string[] {
  const seen = [...g.names].filter((n) => n !== g.target)
  const details = [
    g.matchedBy === 'port' ? 'by port' : '',
    seen.length > 0 ? `seen as ${seen.join(', ')}` : '',
    [...g.rules].join(', '),
    g.wouldDenyCount > 0 ? `${g.wouldDenyCount} would deny (report mode)` : '',
  ].filter((x) => x !== '')
  return [String(g.count), g.target, g.protocol, g.category, details.join('; ')]
}

export function renderLogsTable(reports: readonly FileReport[], analysis: LogAnalysis, groups: readonly DenialGroup[], fix: Fix | undefined, engine: Engine | undefined, io: Io): string {
  const width = io.stdout.isTTY ? io.stdout.columns : undefined
  const s = analysis.summary
  const out: string[] = []
  const p = analysis.profile
  out.push(
    `Read ${reports.map((r) => `${r.file} (${r.format}, ${r.records} records)`).join(', ')}: ${s.records} records, ${s.denials} denials; profile ${p.cloud}${p.location ? ` ${p.location}` : ''}, catalog ${p.catalog}${p.features.length > 0 ? `, add-ons ${p.features.join(', ')}` : ''}.\n`,
  )
  const section = (title: string, list: readonly DenialGroup[], header: string): void => {
    if (list.length === 0) return
    out.push(title)
    out.push(
      formatTable(
        ['COUNT', header, 'PORT', 'CATEGORY', engine ? 'WITH THE POLICY' : 'DETAILS'],
        list.map((g) => {
          const row = groupRow(g)
          return engine ? [...row.slice(0, 4), verdict(g, engine) ?? ''] : row
        }),
        { width },
      ),
    )
  }
  const needed = groups.filter((g) => g.inProfile)
  const addons = groups.filter((g) => !g.inProfile && g.entry)
  const others = groups.filter((g) => !g.entry)
  section('Needed by the cluster and denied:', needed, 'ENDPOINT')
  if (addons.length > 0) {
    const names = [...new Set(addons.map((g) => g.category))]
    section(`Denied endpoints of add-ons the profile does not name (if the cluster uses them, add --features ${names.join(',')}):`, addons, 'ENDPOINT')
  }
  section(`Other denials (not in the catalog), most frequent first${s.otherOverflow > 0 ? `; ${s.otherOverflow} more beyond the first ${others.length} destinations` : ''}:`, others.slice(0, 20), 'DESTINATION')
  if (others.length > 20) out.push(`  ... and ${others.length - 20} more destinations (--output json lists them all)\n`)
  if (s.sniMissing > 0) out.push(`HTTPS without SNI: ${s.sniMissing} denied (Azure Firewall filters HTTPS by SNI; the client must send it, or use a network rule), from ${[...s.sniMissingSources].join(', ')}\n`)
  if (s.dnsFailures.size > 0) out.push(`DNS failures for catalog names: ${[...s.dnsFailures].map(([n, f]) => `${n} ${f.code} x${f.count}`).join(', ')}\n`)
  if (needed.length === 0) out.push('No denial of an endpoint the profile needs.\n')
  if (fix) {
    out.push('Rules to add, as an aks-egress policy (aks-egress policy validate accepts it):')
    out.push(stringify(policyToPlain(fix.policy), { lineWidth: 0 }))
    for (const n of fix.notes) out.push(`note: ${n}`)
  }
  return `${out.join('\n').trimEnd()}\n`
}

function groupJson(g: DenialGroup, engine: Engine | undefined): Record<string, unknown> {
  const v = verdict(g, engine)
  return {
    ...(g.entry ? { id: g.entry.id } : {}),
    target: g.target,
    protocol: g.protocol,
    category: g.category,
    matchedBy: g.matchedBy,
    count: g.count,
    wouldDeny: g.wouldDenyCount,
    firstTime: g.firstTime ?? null,
    lastTime: g.lastTime ?? null,
    names: [...g.names],
    sources: [...g.sources],
    rules: [...g.rules],
    ...(v === undefined ? {} : { withPolicy: v }),
  }
}

export function logsJson(reports: readonly FileReport[], analysis: LogAnalysis, groups: readonly DenialGroup[], fix: Fix | undefined, engine: Engine | undefined): Record<string, unknown> {
  const s = analysis.summary
  return {
    files: reports.map((r) => ({ file: r.file, format: r.format, records: r.records, invalid: r.invalid })),
    summary: { records: s.records, denials: s.denials, bySource: s.bySource, sniMissing: s.sniMissing, otherOverflow: s.otherOverflow },
    needed: groups.filter((g) => g.inProfile).map((g) => groupJson(g, engine)),
    addons: groups.filter((g) => !g.inProfile && g.entry).map((g) => groupJson(g, engine)),
    other: groups.filter((g) => !g.entry).map((g) => groupJson(g, engine)),
    dnsFailures: [...s.dnsFailures].map(([name, f]) => ({ name, code: f.code, count: f.count })),
    fix: fix ? policyToPlain(fix.policy) : null,
  }
}
