/**
 * @module Reading an Azure Firewall export in JSON (azure-facts §4.1) into raw rules:
 * - an ARM template (`resources` with `Microsoft.Network/firewallPolicies` and
 *   `.../ruleCollectionGroups`, top-level or nested; `parameters` defaults and `variables` feed the
 *   expression evaluator, arm-expression.ts);
 * - REST or `az` output: a rule collection group, or a list of them (`az network firewall policy
 *   rule-collection-group list`; the CLI flattens `properties`, REST keeps it);
 * - classic `Microsoft.Network/azureFirewalls` (`applicationRuleCollections`,
 *   `networkRuleCollections`, `natRuleCollections`; protocolType Http|Https|Mssql; actions
 *   Allow|Deny|Dnat), as a template resource or `az network firewall show` output;
 * - any JSON wrapping those (`{"firewallPolicy": ..., "ruleCollectionGroups": [...]}`): the
 *   reader walks the document and recognises the objects by their type or their fields.
 * `Microsoft.Network/ipGroups` resources in the same file give IP group contents.
 */
import { diagnostic, type Diagnostic, type Span } from '../diagnostics/diagnostic.ts'
import type { Path, Spans } from '../config/read-document.ts'
import { evaluateArm, isArmExpression, type ArmScope, type ArmValue } from './arm-expression.ts'
import { emptyRule, ipGroupName, type Item, type RawCollection, type RawFirewall, type RawGroup, type RawRule, type RawRuleKind } from './imported-policy.ts'
import type { JsonValue } from './json-with-spans.ts'

type Obj = { [k: string]: JsonValue }

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

export interface JsonImport {
  /** The firewalls (policies or classic firewalls) found, by name. */
  readonly firewalls: RawFirewall[]
  readonly diagnostics: Diagnostic[]
  /** What the file looked like: `ARM template`, `rule collection groups (REST/az)`, ... */
  readonly shape: string
}

const MAX_WALK_DEPTH = 64

/** The policy name in a firewall policy's resource id (`.../firewallPolicies/NAME[/...]`), or the id's last segment. */
export function policyNameOfId(id: string): string | undefined {
  const m = /\/firewallPolicies\/([^/]+)/i.exec(id)
  if (m) return m[1]
  const last = id.split('/').filter((x) => x !== '').pop()
  return last === undefined || last === '' ? undefined : last
}

function typeOf(o: Obj): string {
  return typeof o['type'] === 'string' ? o['type'].toLowerCase() : ''
}

export function importAzureJson(doc: JsonValue, spans: Spans, file: string, vars: ReadonlyMap<string, string>): JsonImport {
  const diagnostics: Diagnostic[] = []
  const at = (path: Path): Span | undefined => spans.get(path)

  // The template's scope: parameter defaults (overridden by --var) and variables.
  const parameters = new Map<string, ArmValue>()
  const variables = new Map<string, ArmValue>()
  const isTemplate = isObj(doc) && Array.isArray(doc['resources']) && (typeof doc['$schema'] === 'string' || isObj(doc['parameters']) || 'contentVersion' in doc)
  if (isTemplate && isObj(doc)) {
    const params = doc['parameters']
    if (isObj(params)) {
      for (const [k, v] of Object.entries(params)) if (isObj(v) && v['defaultValue'] !== undefined) parameters.set(k, v['defaultValue'])
    }
    const varsObj = doc['variables']
    if (isObj(varsObj)) for (const [k, v] of Object.entries(varsObj)) variables.set(k, v)
  }
  for (const [k, v] of vars) parameters.set(k, v)
  const scope: ArmScope = { parameters, variables }
  const unresolvedSeen = new Set<string>()

  /** Evaluates a value; unresolved ones are reported once per location and give undefined. */
  const evalAt = (v: JsonValue | undefined, path: Path): ArmValue | undefined => {
    if (v === undefined) return undefined
    const r = evaluateArm(v, scope)
    if (r.ok) return r.value
    const key = path.join('/')
    if (!unresolvedSeen.has(key)) {
      unresolvedSeen.add(key)
      diagnostics.push(
        diagnostic('IMPORT_UNRESOLVED', {
          message: `${typeof v === 'string' && v.length <= 120 ? `"${v}"` : 'This value'} cannot be resolved: ${r.reason}; left out of the audit`,
          file,
          span: at(path),
          fix: 'give the value with --var NAME=VALUE, or audit the deployed policy (az network firewall policy rule-collection-group list)',
        }),
      )
    }
    return undefined
  }
  const str = (o: Obj, key: string, path: Path): string | undefined => {
    const v = evalAt(o[key], [...path, key])
    return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined
  }
  const num = (o: Obj, key: string, path: Path): number | undefined => {
    const v = evalAt(o[key], [...path, key])
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^[0-9]+$/.test(v) ? Number(v) : undefined
    return n
  }
  /** A list field: each element, or a whole-list expression, resolved to strings. */
  const items = (o: Obj, key: string, path: Path): Item[] => {
    const raw = o[key]
    if (raw === undefined || raw === null) return []
    const out: Item[] = []
    if (typeof raw === 'string' && isArmExpression(raw)) {
      const v = evalAt(raw, [...path, key])
      const span = at([...path, key])
      if (v === undefined) out.push({ text: '', span, unreadable: true })
      else if (Array.isArray(v)) {
        for (const x of v) if (typeof x === 'string' || typeof x === 'number') out.push({ text: String(x), span })
      } else if (typeof v === 'string') out.push({ text: v, span })
      return out
    }
    if (!Array.isArray(raw)) {
      if (typeof raw === 'string' || typeof raw === 'number') out.push({ text: String(raw), span: at([...path, key]) })
      return out
    }
    raw.forEach((x, i) => {
      const p = [...path, key, i]
      const v = evalAt(x, p)
      if (v === undefined) out.push({ text: '', span: at(p), unreadable: true })
      else if (Array.isArray(v)) {
        for (const y of v) if (typeof y === 'string' || typeof y === 'number') out.push({ text: String(y), span: at(p) })
      } else if (typeof v === 'string' || typeof v === 'number') out.push({ text: String(v), span: at(p) })
    })
    return out
  }

  const readRule = (r: Obj, path: Path, fallback: RawRuleKind | undefined, classic: boolean): RawRule | undefined => {
    const props = isObj(r['properties']) && !('ruleType' in r) && !classic ? r['properties'] : r
    const pp = props === r ? path : [...path, 'properties']
    const ruleType = (str(props, 'ruleType', pp) ?? '').toLowerCase()
    const kind: RawRuleKind | undefined =
      ruleType === 'applicationrule' ? 'application' : ruleType === 'networkrule' ? 'network' : ruleType === 'natrule' ? 'dnat' : fallback
    const name = str(props, 'name', pp) ?? str(r, 'name', path) ?? '(unnamed)'
    if (!kind) {
      diagnostics.push(diagnostic('IMPORT_UNSUPPORTED', { message: `Rule "${name}" has ruleType "${ruleType}"; left out of the audit`, file, span: at(path), severity: 'warning' }))
      return undefined
    }
    const base = emptyRule(kind, name, at(path))
    const unsupported: Item[] = []
    for (const key of ['targetUrls', 'webCategories']) {
      if (Array.isArray(props[key]) && props[key].length > 0) unsupported.push({ text: key, span: at([...pp, key]) })
    }
    if (kind === 'application') {
      const protocols: Array<{ type: Item; port: Item }> = []
      const list = props['protocols']
      if (Array.isArray(list)) {
        list.forEach((p, i) => {
          if (!isObj(p)) return
          const ip = [...pp, 'protocols', i]
          const type = str(p, 'protocolType', ip)
          const port = num(p, 'port', ip)
          protocols.push({ type: { text: type ?? '', span: at([...ip, 'protocolType']) }, port: { text: port === undefined ? '' : String(port), span: at([...ip, 'port']) } })
        })
      }
      if (Array.isArray(props['destinationAddresses']) && props['destinationAddresses'].length > 0) unsupported.push({ text: 'destinationAddresses of an application rule', span: at([...pp, 'destinationAddresses']) })
      return {
        ...base,
        sourceAddresses: items(props, 'sourceAddresses', pp),
        sourceIpGroups: items(props, 'sourceIpGroups', pp),
        protocols,
        targetFqdns: items(props, 'targetFqdns', pp),
        fqdnTags: items(props, 'fqdnTags', pp),
        unsupported,
      }
    }
    const ipProtocols = items(props, classic ? 'protocols' : 'ipProtocols', pp)
    const common = {
      ...base,
      sourceAddresses: items(props, 'sourceAddresses', pp),
      sourceIpGroups: items(props, 'sourceIpGroups', pp),
      ipProtocols: ipProtocols.length > 0 ? ipProtocols : items(props, classic ? 'ipProtocols' : 'protocols', pp),
      destinationAddresses: items(props, 'destinationAddresses', pp),
      destinationPorts: items(props, 'destinationPorts', pp),
      unsupported,
    }
    if (kind === 'network') {
      return { ...common, destinationIpGroups: items(props, 'destinationIpGroups', pp), destinationFqdns: items(props, 'destinationFqdns', pp) }
    }
    const tAddr = str(props, 'translatedAddress', pp)
    const tFqdn = str(props, 'translatedFqdn', pp)
    const tPort = str(props, 'translatedPort', pp)
    return {
      ...common,
      ...(tAddr === undefined ? {} : { translatedAddress: { text: tAddr, span: at([...pp, 'translatedAddress']) } }),
      ...(tFqdn === undefined ? {} : { translatedFqdn: { text: tFqdn, span: at([...pp, 'translatedFqdn']) } }),
      ...(tPort === undefined ? {} : { translatedPort: { text: tPort, span: at([...pp, 'translatedPort']) } }),
    }
  }

  /** A collection of a policy's rule collection group, or of a classic firewall. */
  const readCollection = (c: Obj, path: Path, classicKind: RawRuleKind | undefined): RawCollection => {
    const props = isObj(c['properties']) ? c['properties'] : c
    const pp = props === c ? path : [...path, 'properties']
    const name = str(c, 'name', path) ?? str(props, 'name', pp) ?? '(unnamed)'
    const collType = (str(props, 'ruleCollectionType', pp) ?? '').toLowerCase()
    const kind: RawRuleKind | undefined = classicKind ?? (collType === 'firewallpolicynatrulecollection' ? 'dnat' : undefined)
    const action = isObj(props['action']) ? str(props['action'], 'type', [...pp, 'action']) : str(props, 'action', pp)
    const rules: RawRule[] = []
    const list = props['rules']
    if (Array.isArray(list)) {
      list.forEach((r, i) => {
        if (!isObj(r)) return
        const rule = readRule(r, [...pp, 'rules', i], kind, classicKind !== undefined)
        if (rule) rules.push(rule)
      })
    }
    return {
      name,
      span: at(path),
      priority: num(props, 'priority', pp),
      ...(action === undefined ? {} : { action: { text: action, span: at([...pp, 'action']) } }),
      ...(kind === undefined ? {} : { kind }),
      rules,
    }
  }

  // ---- the walk ----
  interface FoundGroup {
    readonly policy: string | undefined
    readonly group: RawGroup
  }
  const groups: FoundGroup[] = []
  const classics: RawFirewall[] = []
  const policyNames = new Set<string>()
  const ipGroups = new Map<string, Item[]>()
  const found = { policyRefsOnly: false }
  /** Child policy name → its parent's name (`basePolicy`). */
  const basePolicies = new Map<string, string>()
  const shapes = new Set<string>()

  const readGroup = (o: Obj, path: Path, enclosing: string | undefined): void => {
    const props = isObj(o['properties']) ? o['properties'] : o
    const pp = props === o ? path : [...path, 'properties']
    const fullName = str(o, 'name', path) ?? '(unnamed)'
    const id = typeof o['id'] === 'string' ? o['id'] : ''
    const idPolicy = /\/firewallPolicies\/([^/]+)\//i.exec(id)?.[1]
    const slash = fullName.lastIndexOf('/')
    const policy = enclosing ?? (slash > 0 ? fullName.slice(0, slash) : idPolicy)
    const collections: RawCollection[] = []
    const list = props['ruleCollections']
    if (Array.isArray(list)) {
      list.forEach((c, i) => {
        if (isObj(c)) collections.push(readCollection(c, [...pp, 'ruleCollections', i], undefined))
      })
    }
    groups.push({ policy, group: { name: slash > 0 ? fullName.slice(slash + 1) : fullName, span: at(path), priority: num(props, 'priority', pp), collections } })
  }

  const readClassic = (o: Obj, path: Path): void => {
    const props = isObj(o['properties']) ? o['properties'] : o
    const pp = props === o ? path : [...path, 'properties']
    const name = str(o, 'name', path) ?? 'azure-firewall'
    const collections: RawCollection[] = []
    const kinds: Array<[string, RawRuleKind]> = [
      ['natRuleCollections', 'dnat'],
      ['networkRuleCollections', 'network'],
      ['applicationRuleCollections', 'application'],
    ]
    for (const [key, kind] of kinds) {
      const list = props[key]
      if (!Array.isArray(list)) continue
      list.forEach((c, i) => {
        if (isObj(c)) collections.push(readCollection(c, [...pp, key, i], kind))
      })
    }
    if (collections.length === 0 && isObj(props['firewallPolicy'])) {
      diagnostics.push(
        diagnostic('IMPORT_UNSUPPORTED', {
          message: `Azure Firewall "${name}" takes its rules from a firewall policy, which this file does not hold`,
          file,
          span: at([...pp, 'firewallPolicy']),
          severity: 'warning',
          fix: 'export the policy: az network firewall policy rule-collection-group list -g RG --policy-name POLICY',
        }),
      )
      return
    }
    classics.push({ name, kind: 'classic', groups: [{ name, priority: 100, collections }], ipGroups })
  }

  const walk = (v: JsonValue, path: Path, depth: number, enclosing: string | undefined): void => {
    if (depth > MAX_WALK_DEPTH) return
    if (Array.isArray(v)) {
      v.forEach((x, i) => {
        walk(x, [...path, i], depth + 1, enclosing)
      })
      return
    }
    if (!isObj(v)) return
    const type = typeOf(v)
    const props = isObj(v['properties']) ? v['properties'] : v
    if (type.endsWith('/ipgroups') || type === 'ipgroups') {
      const name = str(v, 'name', path)
      if (name !== undefined) ipGroups.set(ipGroupName(name), items(props, 'ipAddresses', props === v ? path : [...path, 'properties']))
      return
    }
    if (type.endsWith('rulecollectiongroups') || Array.isArray(props['ruleCollections'])) {
      shapes.add(isTemplate ? 'ARM template' : 'rule collection groups')
      readGroup(v, path, enclosing)
      return
    }
    if (type.endsWith('azurefirewalls') || ['applicationRuleCollections', 'networkRuleCollections', 'natRuleCollections'].some((k) => Array.isArray(props[k]))) {
      shapes.add(isTemplate ? 'ARM template (classic rules)' : 'classic Azure Firewall')
      readClassic(v, path)
      return
    }
    if (type.endsWith('firewallpolicies') || type === 'firewallpolicies') {
      const name = str(v, 'name', path)
      if (name !== undefined) policyNames.add(name)
      // A child policy names its parent by id (properties.basePolicy.id); Azure processes the
      // parent's groups first (azure-facts §2.1), so the audit needs to know.
      const base = props['basePolicy']
      if (name !== undefined && isObj(base)) {
        const id = str(base, 'id', [...(props === v ? path : [...path, 'properties']), 'basePolicy'])
        const parent = id === undefined ? undefined : policyNameOfId(id)
        if (parent !== undefined) basePolicies.set(name, parent)
      }
      if (Array.isArray(props['ruleCollectionGroups']) && props['ruleCollectionGroups'].every((g) => isObj(g) && !('properties' in g) && !('ruleCollections' in g))) {
        found.policyRefsOnly = true
      }
      const children = v['resources']
      if (Array.isArray(children)) walk(children, [...path, 'resources'], depth + 1, name)
      return
    }
    for (const [k, x] of Object.entries(v)) walk(x, [...path, k], depth + 1, enclosing)
  }
  walk(doc, [], 0, undefined)

  // Group the rule collection groups by policy.
  const byPolicy = new Map<string, RawGroup[]>()
  for (const g of groups) {
    const name = g.policy ?? (policyNames.size === 1 ? [...policyNames][0]! : 'firewall-policy')
    const list = byPolicy.get(name) ?? []
    list.push(g.group)
    byPolicy.set(name, list)
  }
  const firewalls: RawFirewall[] = [...byPolicy].map(([name, gs]) => {
    const basePolicy = basePolicies.get(name)
    return { name, kind: 'policy' as const, groups: gs, ipGroups, ...(basePolicy === undefined ? {} : { basePolicy }) }
  })
  firewalls.push(...classics)
  if (firewalls.length === 0 && found.policyRefsOnly) {
    diagnostics.push(
      diagnostic('IMPORT_FORMAT_UNKNOWN', {
        message: 'The file holds a firewall policy that only refers to its rule collection groups by id; their rules are not in it',
        file,
        fix: 'export the groups too: az network firewall policy rule-collection-group list -g RG --policy-name POLICY > groups.json',
      }),
    )
  }
  return { firewalls, diagnostics, shape: [...shapes].join(', ') || 'JSON' }
}
