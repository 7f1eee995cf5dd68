/**
 * @module Reading Terraform (HCL) into raw firewall rules (azure-facts §4.2):
 * `azurerm_firewall_policy_rule_collection_group` (application, network and NAT rule collections),
 * the classic `azurerm_firewall_{application,network,nat}_rule_collection`, `azurerm_ip_group`
 * (its `cidrs`) and `azurerm_firewall_policy` (its `name`).
 *
 * HCL is parsed by `@cdktf/hcl2json` (HashiCorp's own parser, compiled to WebAssembly), which
 * gives JSON with expressions as `${...}` strings and no positions. Expressions are evaluated for
 * the forms a rule file uses: `var.NAME` (the variable's default, or --var), `local.NAME`,
 * `azurerm_ip_group.X.id`, `azurerm_firewall_policy.X.id`, and string templates of those. Anything
 * else (resource attributes known after apply, functions, `dynamic` blocks, `for_each`) is
 * reported with its location, found by searching the source text for the block and the value.
 */
import { diagnostic, type Diagnostic, type Span } from '../diagnostics/diagnostic.ts'
import { policyNameOfId } from './import-azure-json.ts'
import { emptyRule, ipGroupName, type Item, type RawCollection, type RawFirewall, type RawGroup, type RawRule, type RawRuleKind } from './imported-policy.ts'

type Obj = Record<string, unknown>

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** The first element of an hcl2json block list (`name = [{...}]`), or the object itself. */
function one(v: unknown): Obj | undefined {
  if (Array.isArray(v)) return isObj(v[0]) ? v[0] : undefined
  return isObj(v) ? v : undefined
}

function blocks(v: unknown): Obj[] {
  if (Array.isArray(v)) return v.filter(isObj)
  return isObj(v) ? [v] : []
}

export interface TerraformImport {
  readonly firewalls: RawFirewall[]
  readonly diagnostics: Diagnostic[]
}

/** Parses HCL text with hcl2json; returns the JSON or the parser's message and position. */
export async function parseHcl(text: string, file: string): Promise<{ ok: true; value: Obj } | { ok: false; message: string; span?: Span }> {
  // Loaded on demand: the WebAssembly module takes a moment to start, and only this reader needs it.
  const { parse } = await import('@cdktf/hcl2json')
  try {
    const value = (await parse(file, text)) as unknown
    return { ok: true, value: isObj(value) ? value : {} }
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e)
    // "parse config: [main.tf:3,1-2: Invalid expression; Expected ...]"
    const m = /:(\d+),(\d+)(?:-(\d+))?: ([^\]]*)/.exec(message)
    if (!m) return { ok: false, message }
    const line = Number(m[1])
    const col = Number(m[2])
    let offset = 0
    for (let l = 1; l < line && offset !== -1; l++) offset = text.indexOf('\n', offset) + 1
    const start = Math.max(0, offset) + col - 1
    return { ok: false, message: m[4] ?? message, span: { start, end: start + 1 } }
  }
}

const RG_TYPE = 'azurerm_firewall_policy_rule_collection_group'
const CLASSIC_TYPES: Readonly<Record<string, RawRuleKind>> = {
  azurerm_firewall_application_rule_collection: 'application',
  azurerm_firewall_network_rule_collection: 'network',
  azurerm_firewall_nat_rule_collection: 'dnat',
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** Finds source positions for hcl2json paths by searching the text (hcl2json has none). */
class Locator {
  readonly #text: string
  constructor(text: string) {
    this.#text = text
  }

  resource(type: string, name: string): number {
    const m = new RegExp(`resource\\s+"${escapeRe(type)}"\\s+"${escapeRe(name)}"`).exec(this.#text)
    return m ? m.index : -1
  }

  /** The `index`-th `key {` block after `from`. */
  block(from: number, key: string, index: number): number {
    if (from < 0) return -1
    const re = new RegExp(`\\b${escapeRe(key)}\\s*\\{`, 'g')
    re.lastIndex = from
    let m: RegExpExecArray | null = null
    for (let i = 0; i <= index; i++) {
      m = re.exec(this.#text)
      if (!m) return from
    }
    return m ? m.index : from
  }

  /** The first `dynamic "NAME" {` block after `from`. */
  dynamic(from: number): Span | undefined {
    if (from < 0) return undefined
    const re = /\bdynamic\s+"[^"]*"/g
    re.lastIndex = from
    const m = re.exec(this.#text)
    return m ? { start: m.index, end: m.index + m[0].length } : undefined
  }

  /** The span of attribute `key` after `from`, or of the quoted `value` after it. */
  attribute(from: number, key: string, value?: string): Span | undefined {
    if (from < 0) return undefined
    const re = new RegExp(`\\b${escapeRe(key)}\\s*=`, 'g')
    re.lastIndex = from
    const m = re.exec(this.#text)
    if (!m) return { start: from, end: from + 1 }
    if (value !== undefined) {
      // A whole-value reference `${var.x}` is written bare in HCL: `[var.x]`.
      const bare = /^\$\{([^{}]+)\}$/.exec(value)?.[1]
      const needle = bare ?? `"${value}"`
      const at = this.#text.indexOf(needle, m.index)
      if (at !== -1 && at - m.index < 4000) return { start: at, end: at + needle.length }
    }
    return { start: m.index, end: m.index + key.length }
  }
}

export function importTerraform(doc: Obj, text: string, file: string, vars: ReadonlyMap<string, string>): TerraformImport {
  const diagnostics: Diagnostic[] = []
  const loc = new Locator(text)
  const resources = isObj(doc['resource']) ? doc['resource'] : {}
  const variables = new Map<string, unknown>()
  if (isObj(doc['variable'])) for (const [k, v] of Object.entries(doc['variable'])) variables.set(k, one(v)?.['default'])
  const locals = new Map<string, unknown>()
  for (const l of blocks(doc['locals'])) for (const [k, v] of Object.entries(l)) locals.set(k, v)
  for (const [k, v] of vars) variables.set(k, v)
  const ipGroupResources = isObj(resources['azurerm_ip_group']) ? resources['azurerm_ip_group'] : {}
  const policyResources = isObj(resources['azurerm_firewall_policy']) ? resources['azurerm_firewall_policy'] : {}

  type Resolved = { ok: true; value: unknown } | { ok: false; reason: string }

  const resolveExpr = (expr: string, depth: number): Resolved => {
    const e = expr.trim()
    if (depth > 16) return { ok: false, reason: 'references nest too deeply' }
    let m = /^var\.([A-Za-z0-9_-]+)$/.exec(e)
    if (m) {
      const v = variables.get(m[1]!)
      if (v === undefined) return { ok: false, reason: `variable "${m[1]!}" has no default (give --var ${m[1]!}=VALUE)` }
      return resolveValue(v, depth + 1)
    }
    m = /^local\.([A-Za-z0-9_-]+)$/.exec(e)
    if (m) {
      const v = locals.get(m[1]!)
      if (v === undefined) return { ok: false, reason: `local "${m[1]!}" is not defined in this file` }
      return resolveValue(v, depth + 1)
    }
    m = /^azurerm_ip_group\.([A-Za-z0-9_-]+)\.id$/.exec(e)
    if (m) {
      const r = one(ipGroupResources[m[1]!])
      if (!r) return { ok: false, reason: `azurerm_ip_group.${m[1]!} is not in this file` }
      const name = resolveValue(r['name'], depth + 1)
      return { ok: true, value: `/ipGroups/${name.ok && typeof name.value === 'string' ? name.value : m[1]!}` }
    }
    m = /^azurerm_firewall_policy\.([A-Za-z0-9_-]+)\.id$/.exec(e)
    if (m) {
      const r = one(policyResources[m[1]!])
      const name = r ? resolveValue(r['name'], depth + 1) : undefined
      return { ok: true, value: `/firewallPolicies/${name?.ok && typeof name.value === 'string' ? name.value : m[1]!}` }
    }
    m = /^"([^"\\$%]*)"$/.exec(e)
    if (m) return { ok: true, value: m[1] }
    if (/^[0-9]+$/.test(e)) return { ok: true, value: Number(e) }
    if (/^[a-z0-9_]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_.-]+$/.test(e)) return { ok: false, reason: `${e} is a resource attribute, known only after apply` }
    return { ok: false, reason: `"${e.length > 60 ? `${e.slice(0, 60)}…` : e}" is an expression the audit does not evaluate` }
  }

  const resolveValue = (v: unknown, depth: number): Resolved => {
    if (typeof v !== 'string') {
      if (Array.isArray(v)) {
        const out: unknown[] = []
        for (const x of v) {
          const r = resolveValue(x, depth + 1)
          if (!r.ok) return r
          if (Array.isArray(r.value)) out.push(...(r.value as unknown[]))
          else out.push(r.value)
        }
        return { ok: true, value: out }
      }
      return { ok: true, value: v }
    }
    if (v.includes('%{')) return { ok: false, reason: 'template directives (%{ }) are not evaluated' }
    const whole = /^\$\{([^{}]*)\}$/.exec(v)
    if (whole) return resolveExpr(whole[1]!, depth + 1)
    let out = ''
    let i = 0
    while (i < v.length) {
      const open = v.indexOf('${', i)
      if (open === -1) {
        out += v.slice(i)
        break
      }
      // `$${` is HCL's escape for a literal `${`.
      if (open > 0 && v[open - 1] === '$') {
        out += v.slice(i, open + 2)
        i = open + 2
        continue
      }
      const close = v.indexOf('}', open)
      if (close === -1) return { ok: false, reason: 'an unclosed ${' }
      out += v.slice(i, open)
      const r = resolveExpr(v.slice(open + 2, close), depth + 1)
      if (!r.ok) return r
      if (typeof r.value !== 'string' && typeof r.value !== 'number') return { ok: false, reason: `${v.slice(open, close + 1)} is not a string` }
      out += String(r.value)
      i = close + 1
    }
    return { ok: true, value: out }
  }

  const seen = new Set<string>()
  const unresolved = (raw: unknown, reason: string, span: Span | undefined): void => {
    const key = `${span?.start ?? -1}:${reason}`
    if (seen.has(key)) return
    seen.add(key)
    diagnostics.push(
      diagnostic('IMPORT_UNRESOLVED', {
        message: `${typeof raw === 'string' ? `"${raw}"` : 'A value'} cannot be resolved: ${reason}; left out of the audit`,
        file,
        span,
        fix: 'give the value with --var NAME=VALUE, or audit the deployed policy as JSON (az network firewall policy rule-collection-group list)',
      }),
    )
  }

  /** Context for one block: where it starts in the text. */
  interface Ctx {
    readonly offset: number
  }
  const str = (o: Obj, key: string, ctx: Ctx): string | undefined => {
    const raw = o[key]
    if (raw === undefined || raw === null) return undefined
    const r = resolveValue(raw, 0)
    if (!r.ok) {
      unresolved(raw, r.reason, loc.attribute(ctx.offset, key))
      return undefined
    }
    return typeof r.value === 'string' || typeof r.value === 'number' ? String(r.value) : undefined
  }
  const num = (o: Obj, key: string, ctx: Ctx): number | undefined => {
    const s = str(o, key, ctx)
    return s !== undefined && /^[0-9]+$/.test(s) ? Number(s) : undefined
  }
  const items = (o: Obj, key: string, ctx: Ctx): Item[] => {
    const raw = o[key]
    if (raw === undefined || raw === null) return []
    const list = Array.isArray(raw) ? raw : [raw]
    const out: Item[] = []
    for (const x of list) {
      const r = resolveValue(x, 0)
      const shown = typeof x === 'string' || typeof x === 'number' ? String(x) : undefined
      const span = loc.attribute(ctx.offset, key, shown)
      if (!r.ok) {
        unresolved(x, r.reason, span)
        out.push({ text: '', span, unreadable: true })
        continue
      }
      const values = Array.isArray(r.value) ? (r.value as unknown[]) : [r.value]
      for (const v of values) if (typeof v === 'string' || typeof v === 'number') out.push({ text: String(v), span: loc.attribute(ctx.offset, key, String(v)) ?? span })
    }
    return out
  }

  const unsupportedBlocks = (o: Obj, ctx: Ctx, where: string): void => {
    for (const key of ['dynamic', 'for_each', 'count']) {
      if (o[key] === undefined) continue
      diagnostics.push(
        diagnostic('IMPORT_UNSUPPORTED', {
          message: `${where}: "${key}" is not expanded by the audit; the rules it generates are not audited`,
          file,
          span: key === 'dynamic' ? loc.dynamic(ctx.offset) : loc.attribute(ctx.offset, key),
          severity: 'warning',
          fix: 'audit the applied policy instead (az network firewall policy rule-collection-group list), or write the rules out',
        }),
      )
    }
  }

  const readRule = (r: Obj, kind: RawRuleKind, ctx: Ctx, classic: boolean): RawRule => {
    const name = str(r, 'name', ctx) ?? '(unnamed)'
    const base = emptyRule(kind, name, loc.attribute(ctx.offset, 'name', name))
    const unsupported: Item[] = []
    for (const key of ['destination_urls', 'web_categories']) {
      if (Array.isArray(r[key]) && r[key].length > 0) unsupported.push({ text: key, span: loc.attribute(ctx.offset, key) })
    }
    if (kind === 'application') {
      const protocols: Array<{ type: Item; port: Item }> = []
      blocks(r[classic ? 'protocol' : 'protocols']).forEach((p, i) => {
        const pctx = { offset: loc.block(ctx.offset, classic ? 'protocol' : 'protocols', i) }
        protocols.push({ type: { text: str(p, 'type', pctx) ?? '', span: loc.attribute(pctx.offset, 'type') }, port: { text: str(p, 'port', pctx) ?? '', span: loc.attribute(pctx.offset, 'port') } })
      })
      return {
        ...base,
        sourceAddresses: items(r, 'source_addresses', ctx),
        sourceIpGroups: items(r, 'source_ip_groups', ctx),
        protocols,
        targetFqdns: items(r, classic ? 'target_fqdns' : 'destination_fqdns', ctx),
        fqdnTags: items(r, classic ? 'fqdn_tags' : 'destination_fqdn_tags', ctx),
        unsupported,
      }
    }
    const dest = kind === 'dnat' && !classic ? items(r, 'destination_address', ctx) : items(r, 'destination_addresses', ctx)
    const common = {
      ...base,
      sourceAddresses: items(r, 'source_addresses', ctx),
      sourceIpGroups: items(r, 'source_ip_groups', ctx),
      ipProtocols: items(r, 'protocols', ctx),
      destinationAddresses: dest,
      destinationPorts: items(r, 'destination_ports', ctx),
      unsupported,
    }
    if (kind === 'network') return { ...common, destinationIpGroups: items(r, 'destination_ip_groups', ctx), destinationFqdns: items(r, 'destination_fqdns', ctx) }
    const tAddr = str(r, 'translated_address', ctx)
    const tFqdn = str(r, 'translated_fqdn', ctx)
    const tPort = str(r, 'translated_port', ctx)
    return {
      ...common,
      ...(tAddr === undefined ? {} : { translatedAddress: { text: tAddr } }),
      ...(tFqdn === undefined ? {} : { translatedFqdn: { text: tFqdn } }),
      ...(tPort === undefined ? {} : { translatedPort: { text: tPort } }),
    }
  }

  const readCollection = (c: Obj, kind: RawRuleKind, ctx: Ctx, where: string, classic: boolean): RawCollection => {
    const name = str(c, 'name', ctx) ?? '(unnamed)'
    unsupportedBlocks(c, ctx, `${where}/${name}`)
    const action = str(c, 'action', ctx)
    const rules = blocks(c['rule']).map((r, i) => readRule(r, kind, { offset: loc.block(ctx.offset, 'rule', i) }, classic))
    return {
      name,
      span: loc.attribute(ctx.offset, 'name', name),
      priority: num(c, 'priority', ctx),
      ...(action === undefined ? {} : { action: { text: action, span: loc.attribute(ctx.offset, 'action') } }),
      kind,
      rules,
    }
  }

  // Rule collection groups, by policy.
  const byPolicy = new Map<string, RawGroup[]>()
  const groupsOfType = isObj(resources[RG_TYPE]) ? resources[RG_TYPE] : {}
  for (const [resName, list] of Object.entries(groupsOfType)) {
    const g = one(list)
    if (!g) continue
    const offset = loc.resource(RG_TYPE, resName)
    const ctx = { offset }
    unsupportedBlocks(g, ctx, `${RG_TYPE}.${resName}`)
    const name = str(g, 'name', ctx) ?? resName
    const policyRef = g['firewall_policy_id']
    const policyResolved = resolveValue(policyRef, 0)
    const policy = policyResolved.ok && typeof policyResolved.value === 'string' ? (policyResolved.value.split('/').filter((x) => x !== '').pop() ?? 'firewall-policy') : 'firewall-policy'
    const collections: RawCollection[] = []
    const kinds: Array<[string, RawRuleKind]> = [
      ['nat_rule_collection', 'dnat'],
      ['network_rule_collection', 'network'],
      ['application_rule_collection', 'application'],
    ]
    for (const [key, kind] of kinds) {
      blocks(g[key]).forEach((c, i) => {
        collections.push(readCollection(c, kind, { offset: loc.block(offset, key, i) }, name, false))
      })
    }
    const list2 = byPolicy.get(policy) ?? []
    list2.push({ name, span: offset >= 0 ? { start: offset, end: offset + 8 } : undefined, priority: num(g, 'priority', ctx), collections })
    byPolicy.set(policy, list2)
  }

  // IP groups defined in the file.
  const ipGroups = new Map<string, Item[]>()
  for (const [resName, list] of Object.entries(ipGroupResources)) {
    const g = one(list)
    if (!g) continue
    const ctx = { offset: loc.resource('azurerm_ip_group', resName) }
    const name = str(g, 'name', ctx) ?? resName
    ipGroups.set(ipGroupName(name), items(g, 'cidrs', ctx))
  }

  // Parents: azurerm_firewall_policy.base_policy_id (Azure processes the parent's groups first).
  const basePolicies = new Map<string, string>()
  for (const [resName, list] of Object.entries(policyResources)) {
    const p = one(list)
    if (!p || p['base_policy_id'] === undefined) continue
    const name = resolveValue(p['name'], 0)
    const base = resolveValue(p['base_policy_id'], 0)
    if (!base.ok || typeof base.value !== 'string') {
      diagnostics.push(
        diagnostic('IMPORT_UNRESOLVED', {
          message: `azurerm_firewall_policy.${resName}.base_policy_id cannot be resolved: ${base.ok ? 'not a string' : base.reason}; its parent's rules, which Azure processes first, are left out of the audit`,
          file,
          span: loc.attribute(loc.resource('azurerm_firewall_policy', resName), 'base_policy_id'),
          fix: 'define the parent azurerm_firewall_policy and its rule collection groups in the same file',
        }),
      )
      continue
    }
    const parent = policyNameOfId(base.value)
    if (parent !== undefined) basePolicies.set(name.ok && typeof name.value === 'string' ? name.value : resName, parent)
  }
  const firewalls: RawFirewall[] = [...byPolicy].map(([name, groups]) => {
    const basePolicy = basePolicies.get(name)
    return { name, kind: 'policy' as const, groups, ipGroups, ...(basePolicy === undefined ? {} : { basePolicy }) }
  })

  // Classic rule collections, by firewall.
  const classic = new Map<string, RawCollection[]>()
  for (const [type, kind] of Object.entries(CLASSIC_TYPES)) {
    const ofType = isObj(resources[type]) ? resources[type] : {}
    for (const [resName, list] of Object.entries(ofType)) {
      const c = one(list)
      if (!c) continue
      const offset = loc.resource(type, resName)
      const fw = str(c, 'azure_firewall_name', { offset }) ?? 'azure-firewall'
      const coll = readCollection(c, kind, { offset }, fw, true)
      const colls = classic.get(fw) ?? []
      colls.push(coll)
      classic.set(fw, colls)
    }
  }
  for (const [name, collections] of classic) firewalls.push({ name, kind: 'classic', groups: [{ name, priority: 100, collections }], ipGroups })
  return { firewalls, diagnostics }
}
