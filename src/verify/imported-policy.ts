/**
 * @module From the rules of an Azure Firewall export, read by one of the importers (ARM/REST/CLI
 * JSON, classic firewall JSON, Terraform) into format-neutral raw rules, to the policy model the
 * engine decides with. One place normalises and checks every value the way Azure Firewall reads
 * it (names compared case-insensitively, `*` and CIDRs, service tags, port ranges, protocols).
 *
 * An export is what is deployed, not what a person is writing: a value aks-egress cannot read is
 * a warning with its location, and is left out of the audit (never guessed). Left-out sources
 * never widen a rule: a rule whose every source was unreadable matches no source.
 */
import type { Profile } from '../catalog/profile.ts'
import { KNOWN_FQDN_TAGS } from '../config/check-policy.ts'
import { diagnostic, type Diagnostic, type Span } from '../diagnostics/diagnostic.ts'
import type { DiagnosticCode } from '../diagnostics/codes.ts'
import { parseAddressBlock } from '../policy/cidr.ts'
import { parseFqdnPattern } from '../policy/fqdn-pattern.ts'
import { parseIp } from '../policy/ip-address.ts'
import {
  API_VERSION,
  DEFAULT_SETTINGS,
  type ApplicationProtocol,
  type ApplicationRule,
  type NatRule,
  type NetworkProtocol,
  type NetworkRule,
  type Policy,
  type RuleCollection,
  type RuleCollectionGroup,
} from '../policy/policy-model.ts'
import { parsePortSpec } from '../policy/port-range.ts'

/** A value read from the export, with where it is. */
export interface Item {
  readonly text: string
  readonly span?: Span | undefined
  /**
   * The value could not be read (its diagnostic is already given): it stands in the list so that a
   * list of nothing but unreadable sources is not mistaken for an empty one, which means any source.
   */
  readonly unreadable?: true
}

/** The items that were read. */
function readable(items: readonly Item[]): readonly Item[] {
  return items.some((i) => i.unreadable) ? items.filter((i) => !i.unreadable) : items
}

export type RawRuleKind = 'application' | 'network' | 'dnat'

export interface RawRule {
  readonly kind: RawRuleKind
  readonly name: string
  readonly span?: Span | undefined
  readonly sourceAddresses: readonly Item[]
  readonly sourceIpGroups: readonly Item[]
  /** Application rules: `{type, port}` pairs. */
  readonly protocols: ReadonlyArray<{ readonly type: Item; readonly port: Item }>
  readonly targetFqdns: readonly Item[]
  readonly fqdnTags: readonly Item[]
  /** Network and DNAT rules. */
  readonly ipProtocols: readonly Item[]
  readonly destinationAddresses: readonly Item[]
  readonly destinationIpGroups: readonly Item[]
  readonly destinationFqdns: readonly Item[]
  readonly destinationPorts: readonly Item[]
  readonly translatedAddress?: Item | undefined
  readonly translatedFqdn?: Item | undefined
  readonly translatedPort?: Item | undefined
  /** Features the audit does not evaluate (targetUrls, webCategories, ...), by field name. */
  readonly unsupported: readonly Item[]
}

export interface RawCollection {
  readonly name: string
  readonly span?: Span | undefined
  readonly priority?: number | undefined
  readonly action?: Item | undefined
  /** Known from the container (classic `networkRuleCollections`), else from the rules. */
  readonly kind?: RawRuleKind | undefined
  readonly rules: readonly RawRule[]
}

export interface RawGroup {
  readonly name: string
  readonly span?: Span | undefined
  readonly priority?: number | undefined
  readonly collections: readonly RawCollection[]
  /** The group comes from an ancestor policy (import-firewall.ts sets it when it composes a child). */
  readonly inherited?: { readonly policy: string; readonly depth: number }
}

export interface RawFirewall {
  /** The firewall policy's (or classic firewall's) name. */
  readonly name: string
  readonly kind: 'policy' | 'classic'
  readonly groups: readonly RawGroup[]
  /** IP groups defined in the same file, by name (lower case). */
  readonly ipGroups: ReadonlyMap<string, readonly Item[]>
  /** The parent (base) policy this policy inherits from, by name, when the file says so. */
  readonly basePolicy?: string
}

export function emptyRule(kind: RawRuleKind, name: string, span?: Span): RawRule {
  return {
    kind,
    name,
    span,
    sourceAddresses: [],
    sourceIpGroups: [],
    protocols: [],
    targetFqdns: [],
    fqdnTags: [],
    ipProtocols: [],
    destinationAddresses: [],
    destinationIpGroups: [],
    destinationFqdns: [],
    destinationPorts: [],
    unsupported: [],
  }
}

/** An IP group that matches nothing: stands for sources aks-egress could not read. */
export const UNREADABLE_GROUP = 'aks-egress-unreadable-sources'

const SERVICE_TAG_SHAPE = /^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z0-9]+)*$/

/** The name of an IP group from its resource id (`.../ipGroups/NAME`) or name. */
export function ipGroupName(ref: string): string {
  const parts = ref.split('/').filter((p) => p !== '')
  return (parts[parts.length - 1] ?? ref).toLowerCase()
}

export interface ImportedPolicy {
  readonly policy: Policy
  readonly diagnostics: readonly Diagnostic[]
  readonly rules: number
}

/** Builds the policy model of a raw firewall; every value it cannot read is a warning. */
export function buildImportedPolicy(raw: RawFirewall, file: string, profile: Profile | undefined): ImportedPolicy {
  const diagnostics: Diagnostic[] = []
  const warn = (code: DiagnosticCode, message: string, span: Span | undefined, fix?: string): void => {
    diagnostics.push(diagnostic(code, { message, file, span, fix, severity: 'warning' }))
  }
  const ipGroups: Record<string, string[]> = { [UNREADABLE_GROUP]: [] }
  let ruleCount = 0

  const addresses = (items: readonly Item[], where: string, isSource: boolean): string[] => {
    const out: string[] = []
    for (const item of readable(items)) {
      const t = item.text.trim()
      const block = parseAddressBlock(t)
      if (block.ok) {
        out.push(block.any ? '*' : block.normal)
        continue
      }
      if (block.suggestion !== undefined && parseAddressBlock(block.suggestion).ok) {
        // Azure keeps 10.0.0.1/16 as written and matches the block; so do we.
        out.push(block.suggestion)
        continue
      }
      if (!isSource && SERVICE_TAG_SHAPE.test(t)) {
        out.push(t)
        continue
      }
      warn(
        'ADDRESS_INVALID',
        `${where}: ${isSource ? 'source' : 'destination'} "${t}" is not an address, CIDR, range${isSource ? '' : ' or service tag'}; left out of the audit`,
        item.span,
      )
    }
    return out
  }

  const groupsOf = (items: readonly Item[], where: string): string[] => {
    const out: string[] = []
    for (const item of readable(items)) {
      const name = ipGroupName(item.text)
      const members = raw.ipGroups.get(name)
      if (!members) {
        warn('IP_GROUP_UNKNOWN', `${where}: IP group "${item.text}" is not defined in this file; its addresses are unknown, so it matches nothing here`, item.span, 'put the Microsoft.Network/ipGroups resource in the file (its ipAddresses), or audit with --node-cidr left out')
        ipGroups[name] = []
      } else if (!(name in ipGroups)) {
        ipGroups[name] = addresses(members, `IP group ${name}`, true)
      }
      out.push(name)
    }
    return out
  }

  const fqdns = (items: readonly Item[], where: string, network: boolean): string[] => {
    const out: string[] = []
    for (const item of readable(items)) {
      const parsed = parseFqdnPattern(item.text.trim())
      if (!parsed.ok) {
        warn('FQDN_INVALID', `${where}: FQDN "${item.text}" ${parsed.detail}; left out of the audit`, item.span)
        continue
      }
      if (network && parsed.pattern.kind !== 'exact') {
        warn(
          'IMPORT_UNSUPPORTED',
          `${where}: network rule FQDN "${item.text}" has a wildcard, which Azure Firewall does not accept in network rules; audited as aks-egress would match it`,
          item.span,
          'use an application rule for HTTP/HTTPS names, or exact names',
        )
      }
      out.push(parsed.normal)
    }
    return out
  }

  const ports = (items: readonly Item[], where: string): string[] => {
    const out: string[] = []
    for (const item of readable(items)) {
      const t = item.text.trim()
      const parsed = parsePortSpec(t === '0-65535' ? '*' : t)
      if (parsed.ok) out.push(parsed.range.from === 1 && parsed.range.to === 65535 ? '*' : parsed.normal)
      else warn('PORT_INVALID', `${where}: destination port ${parsed.detail}; left out of the audit`, item.span)
    }
    return out
  }

  const netProtocols = (items: readonly Item[], where: string): NetworkProtocol[] => {
    const out: NetworkProtocol[] = []
    for (const item of readable(items)) {
      const t = item.text.trim().toLowerCase()
      const p: NetworkProtocol | undefined = t === 'tcp' ? 'TCP' : t === 'udp' ? 'UDP' : t === 'icmp' ? 'ICMP' : t === 'any' ? 'Any' : undefined
      if (p) out.push(p)
      else warn('VALUE_NOT_ALLOWED', `${where}: protocol "${item.text}" is not TCP, UDP, ICMP or Any; left out of the audit`, item.span)
    }
    return out
  }

  const appProtocols = (list: RawRule['protocols'], where: string): ApplicationProtocol[] => {
    const out: ApplicationProtocol[] = []
    for (const { type, port } of list) {
      const t = type.text.trim().toLowerCase()
      const kind = t === 'http' ? 'Http' : t === 'https' ? 'Https' : t === 'mssql' ? 'Mssql' : undefined
      const n = Number(port.text)
      if (!kind) warn('PROTOCOL_INVALID', `${where}: protocol "${type.text}" is not Http, Https or Mssql; left out of the audit`, type.span)
      else if (!Number.isInteger(n) || n < 1 || n > 65535) warn('PORT_INVALID', `${where}: port "${port.text}" of ${kind} is not 1-65535; left out of the audit`, port.span ?? type.span)
      else out.push({ type: kind, port: n })
    }
    return out
  }

  const sources = (rule: RawRule, where: string): { sourceAddresses: string[]; sourceIpGroups: string[] } => {
    const sourceAddresses = addresses(rule.sourceAddresses, where, true)
    const sourceIpGroups = groupsOf(rule.sourceIpGroups, where)
    const given = rule.sourceAddresses.length + rule.sourceIpGroups.length
    if (given > 0 && sourceAddresses.length === 0 && sourceIpGroups.length === 0) sourceIpGroups.push(UNREADABLE_GROUP)
    return { sourceAddresses, sourceIpGroups }
  }

  const groups: RuleCollectionGroup[] = []
  for (const g of raw.groups) {
    const collections: RuleCollection[] = []
    for (const c of g.collections) {
      const where0 = `${g.name}/${c.name}`
      const priority = c.priority ?? 65000
      if (c.priority === undefined) warn('MISSING_KEY', `Rule collection ${where0} has no priority; audited as 65000 (last)`, c.span)
      const byKind = new Map<RawRuleKind, RawRule[]>()
      for (const r of c.rules) {
        const kind = c.kind ?? r.kind
        const list = byKind.get(kind) ?? []
        list.push(r)
        byKind.set(kind, list)
      }
      if (byKind.size > 1) warn('IMPORT_UNSUPPORTED', `Rule collection ${where0} mixes rule types, which Azure Firewall does not allow; each type is audited as its own collection`, c.span)
      const actionText = (c.action?.text ?? '').trim().toLowerCase()
      for (const [kind, rules] of byKind) {
        if (kind === 'dnat') {
          const natRules: NatRule[] = []
          for (const r of rules) {
            const where = `${where0}/${r.name}`
            const dest = r.destinationAddresses[0]
            const destIp = dest === undefined ? undefined : parseIp(dest.text.trim())
            const port = Number(r.destinationPorts[0]?.text)
            const tport = Number(r.translatedPort?.text)
            if (!dest || !destIp || !Number.isInteger(port) || !Number.isInteger(tport) || (!r.translatedAddress && !r.translatedFqdn)) {
              warn('IMPORT_UNSUPPORTED', `${where}: DNAT rule without a readable destination address, port and translation; left out (DNAT rules concern inbound traffic)`, r.span)
              continue
            }
            natRules.push({
              name: r.name,
              ...sources(r, where),
              ipProtocols: netProtocols(r.ipProtocols, where).filter((p): p is 'TCP' | 'UDP' => p === 'TCP' || p === 'UDP'),
              destinationAddress: dest.text.trim(),
              destinationPort: port,
              ...(r.translatedAddress ? { translatedAddress: r.translatedAddress.text } : {}),
              ...(r.translatedFqdn ? { translatedFqdn: r.translatedFqdn.text } : {}),
              translatedPort: tport,
            })
            ruleCount++
          }
          if (natRules.length > 0) collections.push({ type: 'dnat', name: c.name, priority, action: 'DNAT', rules: natRules })
          continue
        }
        let action: 'Allow' | 'Deny' = 'Allow'
        if (actionText === 'deny') action = 'Deny'
        else if (actionText !== 'allow') {
          warn('ACTION_MISMATCH', `Rule collection ${where0} has action "${c.action?.text ?? ''}", not Allow or Deny; audited as Deny (the safe reading)`, c.action?.span ?? c.span)
          action = 'Deny'
        }
        if (kind === 'application') {
          const appRules: ApplicationRule[] = []
          for (const r of rules) {
            const where = `${where0}/${r.name}`
            for (const u of r.unsupported) warn('IMPORT_UNSUPPORTED', `${where}: ${u.text} is not evaluated by the audit`, u.span)
            const tags: string[] = []
            for (const t of readable(r.fqdnTags)) {
              const known = KNOWN_FQDN_TAGS.find((k) => k.toLowerCase() === t.text.trim().toLowerCase())
              if (known) tags.push(known)
              else warn('IMPORT_UNSUPPORTED', `${where}: FQDN tag "${t.text}" has no published list of names; it covers no catalog entry in this audit`, t.span)
            }
            const protocols = appProtocols(r.protocols, where)
            if (protocols.length === 0) {
              warn('PROTOCOL_INVALID', `${where}: application rule without a protocol matches no traffic (Azure Firewall: "FQDN tags require a protocol: port to be set")`, r.span, 'add protocols, e.g. Http:80 and Https:443')
            }
            appRules.push({
              name: r.name,
              ...sources(r, where),
              protocols,
              targetFqdns: fqdns(r.targetFqdns, where, false),
              fqdnTags: tags,
            })
            ruleCount++
          }
          collections.push({ type: 'application', name: c.name, priority, action, rules: appRules })
        } else {
          const netRules: NetworkRule[] = []
          for (const r of rules) {
            const where = `${where0}/${r.name}`
            for (const u of r.unsupported) warn('IMPORT_UNSUPPORTED', `${where}: ${u.text} is not evaluated by the audit`, u.span)
            netRules.push({
              name: r.name,
              ...sources(r, where),
              ipProtocols: netProtocols(r.ipProtocols, where),
              destinationAddresses: addresses(r.destinationAddresses, where, false),
              destinationIpGroups: groupsOf(r.destinationIpGroups, where),
              destinationFqdns: fqdns(r.destinationFqdns, where, true),
              destinationPorts: ports(r.destinationPorts, where),
            })
            ruleCount++
          }
          collections.push({ type: 'network', name: c.name, priority, action, rules: netRules })
        }
      }
    }
    const priority = g.priority ?? 65000
    if (g.priority === undefined && raw.kind === 'policy') warn('MISSING_KEY', `Rule collection group ${g.name} has no priority; audited as 65000 (last)`, g.span)
    // An inherited group is named after its policy too: parent and child often both have the
    // portal's DefaultNetworkRuleCollectionGroup, and a rule path must say which one matched.
    if (g.inherited) groups.push({ name: `${g.inherited.policy}:${g.name}`, priority, ruleCollections: collections, inherited: g.inherited })
    else groups.push({ name: g.name, priority, ruleCollections: collections })
  }

  const policy: Policy = {
    apiVersion: API_VERSION,
    name: raw.name,
    ...(profile ? { profile } : {}),
    settings: DEFAULT_SETTINGS,
    ipGroups,
    ruleCollectionGroups: groups,
  }
  return { policy, diagnostics, rules: ruleCount }
}
