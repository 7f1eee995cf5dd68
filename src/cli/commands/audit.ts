/**
 * @module `aks-egress audit FILE [PROFILE] [--output table|json]`: an existing Azure Firewall policy
 * (ARM export, `az` output, classic firewall JSON, Terraform) held against a cluster profile
 * (DESIGN.md §6, §8). Exit 1 when a required endpoint is blocked, 0 when clean, 2 on bad input.
 */
import { resolve } from 'node:path'
import { stringify } from 'yaml'
import { aksFqdnTagNames, missingParameterDiagnostics, resolveEndpoints, type Profile } from '../../catalog/profile.ts'
import { regionsOf } from '../../catalog/regions.ts'
import { policyToPlain } from '../../config/write-policy.ts'
import { diagnostic, hasErrors, type Diagnostic } from '../../diagnostics/diagnostic.ts'
import { renderDiagnostics } from '../../diagnostics/render-diagnostic.ts'
import { compilePolicy, PolicyCompileError } from '../../policy/compile-policy.ts'
import type { Policy } from '../../policy/policy-model.ts'
import { auditEndpoints, policyPatterns, type EndpointResult } from '../../verify/audit-policy.ts'
import { buildFix, findBroadRules, type BroadRule, type Fix } from '../../verify/audit-findings.ts'
import { importFirewallFile } from '../../verify/import-firewall.ts'
import { formatTable } from '../format-table.ts'
import { EXIT_OK, EXIT_PROBLEM, InputError, UsageError, type Io } from '../io.ts'
import { formatOptionHelp, type OptionSpecs, parseOptions, PROFILE_OPTIONS, profileInputOf, tableOrJson } from '../parse-options.ts'
import { profileFromOptions } from '../profile-from-options.ts'

const OPTIONS: OptionSpecs = {
  output: { type: 'string', short: 'o', value: 'FORMAT', help: 'table or json (default: table)' },
  var: { type: 'string', multiple: true, value: 'NAME=VALUE', help: 'Value of an ARM parameter or Terraform variable the file leaves open (repeatable)' },
  firewall: { type: 'string', value: 'NAME', help: 'The firewall policy or classic firewall to audit, when the file holds several' },
  'api-server-fqdn': { type: 'string', value: 'FQDN', help: "The cluster's API server FQDN: decided instead of a sample *.hcp. name" },
  ...PROFILE_OPTIONS,
}

export const AUDIT_HELP = `Usage: aks-egress audit FILE [PROFILE] [--output table|json] [--var NAME=VALUE...]

Reads an existing Azure Firewall policy and evaluates every endpoint the cluster profile requires
with Azure Firewall's rule processing: which required endpoint is blocked (and by which rule, or
the default deny), which rule allows far more than the catalog needs, and what to add.

FILE is one of (detected from the content):
  - an ARM template or REST/az JSON with Microsoft.Network/firewallPolicies and its
    ruleCollectionGroups (az network firewall policy rule-collection-group list -g RG --policy-name P);
  - classic Microsoft.Network/azureFirewalls JSON (az network firewall show -g RG -n FW);
  - Terraform with azurerm_firewall_policy_rule_collection_group (or the classic
    azurerm_firewall_*_rule_collection) resources; dynamic blocks, for_each and count are
    expanded as Terraform would.
Values the file leaves open (ARM parameters without a default, Terraform variables) are reported;
give them with --var (a Terraform variable of a list, map or object type takes an HCL value:
--var 'fqdns=["mcr.microsoft.com"]'). An expression or reference that cannot be evaluated is left
out.

How endpoints are decided:
  - HTTP/HTTPS entries are application flows (Host, SNI). A wildcard entry is allowed only when the
    whole pattern is: a generic name plus one name per narrower rule pattern are decided.
  - TCP/UDP entries are network flows. The API server and its tunnel (TCP 443/9000/22, UDP 1194)
    are reached by a rule to the API server IP (--api-server), to AzureCloud.<location>, to
    AzureCloud, to * or to --api-server-fqdn.
  - An AzureKubernetesService FQDN tag rule covers the profile's HTTP/HTTPS FQDN entries.
  - With --node-cidr, rules whose sources exclude the nodes do not count.

Options:
${formatOptionHelp(OPTIONS)}

Exit codes: 0 every required endpoint allowed; 1 one is blocked or only partly allowed;
2 bad usage or an unreadable file.
`

function parseVars(values: readonly string[]): Map<string, string> {
  const out = new Map<string, string>()
  for (const v of values) {
    const eq = v.indexOf('=')
    if (eq <= 0) throw new UsageError(`--var "${v}" is not NAME=VALUE`, 'write --var location=westeurope')
    out.set(v.slice(0, eq), v.slice(eq + 1))
  }
  return out
}

/** Regions the policy names (`AzureCloud.westeurope`, `*.hcp.westeurope.azmk8s.io`). */
export function regionsNamed(policy: Policy, known: readonly string[]): string[] {
  const found = new Set<string>()
  const consider = (text: string): void => {
    const tag = /^AzureCloud\.([a-z0-9]+)$/i.exec(text)?.[1]?.toLowerCase()
    if (tag !== undefined && known.includes(tag)) found.add(tag)
    const host = /\.(?:hcp|tun)\.([a-z0-9]+)\./.exec(text)?.[1]
    if (host !== undefined && known.includes(host)) found.add(host)
  }
  for (const g of policy.ruleCollectionGroups) {
    for (const c of g.ruleCollections) {
      for (const r of c.rules) {
        if ('destinationAddresses' in r) r.destinationAddresses.forEach(consider)
        if ('destinationFqdns' in r) r.destinationFqdns.forEach(consider)
        if ('targetFqdns' in r) r.targetFqdns.forEach(consider)
      }
    }
  }
  return [...found]
}

export async function runAudit(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseOptions(argv, OPTIONS, true)
  if (values['help'] === true) {
    io.stdout.write(AUDIT_HELP)
    return EXIT_OK
  }
  const output = tableOrJson(values)
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'audit needs the FILE to audit' : `audit takes one FILE, not ${positionals.length}`, 'aks-egress audit policy-export.json --location westeurope')
  const file = positionals[0]!
  const vars = parseVars((values['var'] as string[] | undefined) ?? [])
  const apiServerFqdn = typeof values['api-server-fqdn'] === 'string' ? values['api-server-fqdn'].toLowerCase().replace(/\.$/, '') : undefined
  const input = profileInputOf(values)
  let profile = profileFromOptions(input, io)

  const imported = await importFirewallFile(resolve(io.cwd, file), file, profile, { vars, select: typeof values['firewall'] === 'string' ? values['firewall'] : undefined })
  const sources = imported.source ? new Map([[file, imported.source]]) : undefined
  if (!imported.ok || hasErrors(imported.diagnostics)) throw new InputError(imported.diagnostics, sources)
  const notes: Diagnostic[] = [...imported.diagnostics]

  if (profile.location === undefined) {
    const regions = regionsNamed(imported.policy, regionsOf(profile.cloud))
    if (regions.length === 1) {
      profile = profileFromOptions({ ...input, location: regions[0] }, io)
      notes.push(diagnostic('LOCATION_INFERRED', { message: `--location not given: auditing for ${regions[0]!}, the region the policy names`, fix: `give --location ${regions[0]!} to be explicit` }))
    }
  }
  const endpoints = resolveEndpoints(profile)
  const fqdnTags = { AzureKubernetesService: aksFqdnTagNames(endpoints) }
  const policy: Policy = { ...imported.policy, profile }
  let engine
  try {
    engine = compilePolicy(policy, { fqdnTags })
  } catch (e) {
    if (e instanceof PolicyCompileError) throw new InputError([diagnostic('IMPORT_UNSUPPORTED', { message: e.message, file, severity: 'error' })], sources)
    throw e
  }
  const results = auditEndpoints(engine, profile, endpoints, policyPatterns(policy, fqdnTags), apiServerFqdn === undefined ? {} : { apiServerFqdn })
  const broad = findBroadRules(policy, endpoints)
  const fix = buildFix(results, policy, profile, { kind: imported.kind, name: policy.name })
  notes.push(...missingParameterDiagnostics(endpoints.filter((e) => !e.entry.condition)))
  const failing = results.filter((r) => r.status === 'blocked' || r.status === 'partial')

  if (output === 'json') {
    io.stdout.write(`${JSON.stringify(auditJson(file, imported.format, imported.kind, policy, profile, results, broad, fix, notes), null, 2)}\n`)
  } else {
    io.stdout.write(renderAuditTable(file, imported.format, imported.kind, policy, imported.rules, profile, results, broad, fix, io))
  }
  if (notes.length > 0) io.stderr.write(`${renderDiagnostics(notes, sources)}\n`)
  return failing.length > 0 ? EXIT_PROBLEM : EXIT_OK
}

function decidedBy(r: EndpointResult): string {
  if (r.status === 'not-checked') return r.note ?? ''
  const paths = [...new Set(r.samples.map((s) => (s.decision.isDefault ? 'default deny' : `${s.decision.action === 'deny' ? 'denied by ' : ''}${s.decision.rulePath ?? s.decision.code}`)))]
  return `${paths.join('; ')}${r.note ? ` (${r.note})` : ''}`
}

const STATUS_WORD: Record<EndpointResult['status'], string> = { allowed: 'allowed', blocked: 'BLOCKED', partial: 'PARTIAL', 'not-checked': 'not checked' }

export function renderAuditTable(
  file: string,
  format: string,
  kind: 'policy' | 'classic',
  policy: Policy,
  rules: number,
  profile: Profile,
  results: readonly EndpointResult[],
  broad: readonly BroadRule[],
  fix: Fix | undefined,
  io: Io,
): string {
  const width = io.stdout.isTTY ? io.stdout.columns : undefined
  const out: string[] = []
  const ancestors = [...new Set(policy.ruleCollectionGroups.flatMap((g) => (g.inherited ? [g.inherited.policy] : [])))]
  const inherits = ancestors.length > 0 ? `, inheriting from ${ancestors.map((a) => `"${a}"`).join(' and ')} (processed first)` : ''
  out.push(
    `Audit of ${file} (${format}; ${kind === 'policy' ? 'firewall policy' : 'classic firewall'} "${policy.name}"${inherits}, ${rules} rule${rules === 1 ? '' : 's'}) against ${profile.cloud}${profile.location ? ` ${profile.location}` : ''}, catalog ${profile.catalog}${profile.features.length > 0 ? `, add-ons ${profile.features.join(', ')}` : ''}\n`,
  )
  out.push(
    formatTable(
      ['STATUS', 'ENDPOINT', 'PORT', 'CATEGORY', 'DECIDED BY'],
      results.map((r) => [STATUS_WORD[r.status], r.endpoint.target, r.protocol, r.endpoint.category, decidedBy(r)]),
      { width },
    ),
  )
  const failing = results.filter((r) => r.status === 'blocked' || r.status === 'partial')
  if (failing.length > 0) {
    out.push('\nBlocked:')
    for (const r of failing) {
      out.push(`  ${r.endpoint.target} ${r.protocol} (${r.endpoint.entry.id}, ${r.endpoint.category}): ${r.endpoint.entry.purpose.replace(/\s+/g, ' ')}`)
      for (const s of r.samples) out.push(`    ${s.decision.action} ${s.flow}${s.region === 'generic' ? '' : ` [names matching ${s.region}]`}: ${s.decision.reason}`)
    }
  }
  if (broad.length > 0) {
    out.push('\nRules that allow far more than the catalog needs:')
    for (const b of broad) for (const reason of b.reasons) out.push(`  ${b.rule}: ${reason}`)
  }
  if (fix) {
    out.push(`\nTo add, with az (set RESOURCE_GROUP; ${kind === 'policy' ? `firewall policy "${policy.name}"` : `firewall "${policy.name}"`}):`)
    for (const c of fix.az) out.push(`  ${c}`)
    for (const n of fix.notes) out.push(`  note: ${n}`)
    out.push('\nThe same as an aks-egress policy (aks-egress policy validate accepts it):')
    out.push(
      stringify(policyToPlain(fix.policy), { lineWidth: 0 })
        .trimEnd()
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n'),
    )
  }
  const count = (s: EndpointResult['status']): number => results.filter((r) => r.status === s).length
  out.push(`\nResult: ${count('allowed')} allowed, ${count('blocked')} blocked, ${count('partial')} partly allowed, ${count('not-checked')} not checked; ${broad.length} broad rule${broad.length === 1 ? '' : 's'}.\n`)
  return out.join('\n')
}

export function auditJson(
  file: string,
  format: string,
  kind: 'policy' | 'classic',
  policy: Policy,
  profile: Profile,
  results: readonly EndpointResult[],
  broad: readonly BroadRule[],
  fix: Fix | undefined,
  diagnostics: readonly Diagnostic[],
): Record<string, unknown> {
  const count = (s: EndpointResult['status']): number => results.filter((r) => r.status === s).length
  return {
    file,
    format,
    firewall: { kind, name: policy.name, inheritsFrom: [...new Set(policy.ruleCollectionGroups.flatMap((g) => (g.inherited ? [g.inherited.policy] : [])))] },
    profile: { cloud: profile.cloud, location: profile.location ?? null, catalog: profile.catalog, features: [...profile.features], recommended: profile.recommended },
    endpoints: results.map((r) => ({
      id: r.endpoint.entry.id,
      target: r.endpoint.target,
      protocol: r.protocol,
      category: r.endpoint.category,
      status: r.status,
      ...(r.note === undefined ? {} : { note: r.note }),
      decisions: r.samples.map((s) => ({ flow: s.flow, region: s.region, action: s.decision.action, rule: s.decision.rulePath, code: s.decision.code, reason: s.decision.reason })),
    })),
    broadRules: broad.map((b) => ({ rule: b.rule, type: b.type, reasons: [...b.reasons] })),
    fix: fix ? { policy: policyToPlain(fix.policy), az: [...fix.az], notes: [...fix.notes] } : null,
    summary: { allowed: count('allowed'), blocked: count('blocked'), partial: count('partial'), notChecked: count('not-checked'), broadRules: broad.length },
    diagnostics: diagnostics.map((d) => ({ code: d.code, severity: d.severity, message: d.message, ...(d.file === undefined ? {} : { file: d.file }), ...(d.fix === undefined ? {} : { fix: d.fix }) })),
  }
}
