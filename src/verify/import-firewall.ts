/**
 * @module An Azure Firewall export read from a file, whatever its form (JSON: ARM template, REST
 * or `az` output, classic firewall; Terraform HCL), into the policy model: the format is detected
 * from the content, the firewall chosen when the file holds several, and every value that cannot
 * be read is a located diagnostic.
 */
import { readFileSync } from 'node:fs'
import type { Profile } from '../catalog/profile.ts'
import { diagnostic, type Diagnostic } from '../diagnostics/diagnostic.ts'
import { SourceText } from '../diagnostics/render-diagnostic.ts'
import type { Policy } from '../policy/policy-model.ts'
import { didYouMean } from '../util/did-you-mean.ts'
import { importAzureJson } from './import-azure-json.ts'
import { importTerraform, parseHcl } from './import-terraform.ts'
import { buildImportedPolicy, type RawFirewall } from './imported-policy.ts'
import { parseJsonWithSpans } from './json-with-spans.ts'

/** The largest export read, in bytes. */
export const MAX_EXPORT_BYTES = 64 * 1024 * 1024

export interface ImportOptions {
  /** ARM parameters and Terraform variables: `--var NAME=VALUE`. */
  readonly vars?: ReadonlyMap<string, string>
  /** Which firewall policy or classic firewall, when the file holds several. */
  readonly select?: string | undefined
}

export type FirewallImport =
  | {
      readonly ok: true
      readonly policy: Policy
      /** `ARM template`, `rule collection groups`, `classic Azure Firewall`, `Terraform`. */
      readonly format: string
      readonly kind: 'policy' | 'classic'
      readonly rules: number
      readonly diagnostics: readonly Diagnostic[]
      readonly source: SourceText
    }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[]; readonly source?: SourceText }

/** Reads and imports an export file. `name` is how diagnostics name it. */
export async function importFirewallFile(path: string, name: string, profile: Profile | undefined, options: ImportOptions = {}): Promise<FirewallImport> {
  let text: string
  try {
    const buf = readFileSync(path)
    if (buf.length > MAX_EXPORT_BYTES) {
      return { ok: false, diagnostics: [diagnostic('FILE_UNREADABLE', { message: `"${name}" has ${buf.length} bytes; at most ${MAX_EXPORT_BYTES} are read`, file: name })] }
    }
    text = buf.toString('utf8')
  } catch (e) {
    const reason = e instanceof Error && 'code' in e ? String(e.code) : String(e)
    return { ok: false, diagnostics: [diagnostic('FILE_UNREADABLE', { message: `Cannot read "${name}": ${reason}`, file: name })] }
  }
  return importFirewallText(text, name, profile, options)
}

export async function importFirewallText(text: string, name: string, profile: Profile | undefined, options: ImportOptions = {}): Promise<FirewallImport> {
  const source = new SourceText(name, text)
  const vars = options.vars ?? new Map<string, string>()
  const first = text.replace(/^\uFEFF/, '').trimStart()[0]
  let firewalls: RawFirewall[]
  let format: string
  const diagnostics: Diagnostic[] = []
  if (first === '{' || first === '[') {
    const parsed = parseJsonWithSpans(text)
    if (!parsed.ok) {
      return { ok: false, source, diagnostics: [diagnostic('IMPORT_SYNTAX', { message: `Not well-formed JSON: ${parsed.message}`, file: name, span: { start: parsed.offset, end: parsed.offset + 1 } })] }
    }
    const imported = importAzureJson(parsed.value, parsed.spans, name, vars)
    firewalls = imported.firewalls
    format = imported.shape
    for (const d of imported.diagnostics) diagnostics.push(d)
  } else {
    const parsed = await parseHcl(text, name)
    if (!parsed.ok) {
      return { ok: false, source, diagnostics: [diagnostic('IMPORT_SYNTAX', { message: `Neither JSON nor valid Terraform: ${parsed.message}`, file: name, span: parsed.span })] }
    }
    const imported = importTerraform(parsed.value, text, name, vars)
    firewalls = imported.firewalls
    format = 'Terraform'
    for (const d of imported.diagnostics) diagnostics.push(d)
  }

  if (firewalls.length === 0) {
    if (!diagnostics.some((d) => d.code === 'IMPORT_FORMAT_UNKNOWN')) {
      diagnostics.push(
        diagnostic('IMPORT_FORMAT_UNKNOWN', {
          message: `"${name}" holds no Azure Firewall rules aks-egress can read (${format})`,
          file: name,
          fix: 'give an ARM export with Microsoft.Network/firewallPolicies/ruleCollectionGroups, `az network firewall policy rule-collection-group list` output, a classic azureFirewalls resource, or Terraform azurerm_firewall_policy_rule_collection_group resources',
        }),
      )
    }
    return { ok: false, source, diagnostics }
  }
  let chosen: RawFirewall | undefined
  const names = firewalls.map((f) => f.name)
  // A parent policy and its child in one file are one firewall's rules, not two firewalls: the
  // audit is of the policy no other policy in the file inherits from (the one a firewall uses).
  const parents = new Set(firewalls.flatMap((f) => (f.basePolicy === undefined ? [] : [f.basePolicy.toLowerCase()])))
  const leaves = firewalls.filter((f) => !parents.has(f.name.toLowerCase()))
  if (options.select !== undefined) {
    chosen = firewalls.find((f) => f.name.toLowerCase() === options.select?.toLowerCase())
    if (!chosen) {
      const guess = didYouMean(options.select, names)
      diagnostics.push(diagnostic('IMPORT_FORMAT_UNKNOWN', { message: `"${name}" has no firewall policy or firewall named "${options.select}"; it has ${names.join(', ')}`, file: name, fix: guess ? `did you mean "${guess}"?` : undefined }))
      return { ok: false, source, diagnostics }
    }
  } else if (firewalls.length > 1 && leaves.length !== 1) {
    const choices = leaves.length > 1 ? leaves.map((f) => f.name) : names
    diagnostics.push(
      diagnostic('IMPORT_FORMAT_UNKNOWN', {
        message: `"${name}" holds ${firewalls.length} firewall policies or firewalls (${names.join(', ')}); one is audited at a time`,
        file: name,
        fix: `choose one with --firewall ${choices[0] ?? 'NAME'}`,
      }),
    )
    return { ok: false, source, diagnostics }
  } else chosen = firewalls.length === 1 ? firewalls[0]! : leaves[0]!
  const composed = withAncestors(chosen, firewalls, name, diagnostics)
  const built = buildImportedPolicy(composed, name, profile)
  // A loop, not push(...): an expanded file can have more diagnostics than a call has arguments.
  for (const d of built.diagnostics) diagnostics.push(d)
  return { ok: true, policy: built.policy, format, kind: chosen.kind, rules: built.rules, diagnostics, source }
}

/** How many parent levels are followed: Azure allows one parent per policy; chains stay short. */
const MAX_INHERITANCE_DEPTH = 16

/**
 * The policy with the rule collection groups of its ancestors (those in the same file) added and
 * marked: Azure Firewall processes "parent policy rule collection groups ... first, regardless of
 * priority" (azure-facts §2.1). A parent not in the file is a warning: its rules are unknown.
 */
function withAncestors(child: RawFirewall, firewalls: readonly RawFirewall[], file: string, diagnostics: Diagnostic[]): RawFirewall {
  if (child.basePolicy === undefined) return child
  const groups = [...child.groups]
  const seen = new Set([child.name.toLowerCase()])
  let current: RawFirewall = child
  for (let depth = 1; current.basePolicy !== undefined; depth++) {
    const parentName: string = current.basePolicy
    const parent = firewalls.find((f) => f.name.toLowerCase() === parentName.toLowerCase())
    if (parent === undefined || seen.has(parentName.toLowerCase()) || depth > MAX_INHERITANCE_DEPTH) {
      const why = parent === undefined ? 'which this file does not hold' : 'which makes a cycle or too deep a chain'
      diagnostics.push(
        diagnostic('IMPORT_UNSUPPORTED', {
          message: `Firewall policy "${current.name}" inherits from parent policy "${parentName}", ${why}; Azure processes the parent's rules first, and the audit cannot see them`,
          file,
          severity: 'warning',
          fix: `put the parent's export in the same file (az network firewall policy show and rule-collection-group list for "${parentName}")`,
        }),
      )
      break
    }
    seen.add(parentName.toLowerCase())
    for (const g of parent.groups) groups.push({ ...g, inherited: { policy: parent.name, depth } })
    current = parent
  }
  return { ...child, groups }
}
