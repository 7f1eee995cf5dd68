/**
 * @module Reading Terraform (HCL) into raw firewall rules (azure-facts §4.2):
 * `azurerm_firewall_policy_rule_collection_group` (application, network and NAT rule collections),
 * the classic `azurerm_firewall_{application,network,nat}_rule_collection`, `azurerm_ip_group`
 * (its `cidrs`) and `azurerm_firewall_policy` (its `name` and `base_policy_id`).
 *
 * HCL is parsed by `@cdktf/hcl2json` (HashiCorp's own parser, compiled to WebAssembly), which
 * gives JSON with expressions as `${...}` strings and no positions; `hcl-outline.ts` finds the
 * positions and the order of blocks in the text. Values are evaluated as Terraform evaluates them
 * (`terraform-evaluate.ts`): variables (default or --var, converted to their declared type),
 * locals, IP group and policy ids, templates, `? :`, and the functions rule files use (`try`,
 * `lookup`, `toset`, `flatten`, `concat`, `merge`, ...). `dynamic` blocks (collections, rules,
 * protocols) and `for_each` / `count` on resources are expanded (`terraform-dynamic.ts`).
 *
 * Whatever cannot be evaluated (a resource attribute known only after apply, a variable without a
 * value, a `for` expression, a splat) is a warning at the attribute that reads it, and is left out,
 * never guessed; a `for_each` that cannot be evaluated leaves out the blocks it would generate.
 * Inside a generated block, diagnostics point at the `content` attribute they come from.
 */
import { diagnostic, type Diagnostic, type Span } from '../diagnostics/diagnostic.ts'
import { outlineHcl, type HclBlock } from './hcl-outline.ts'
import { policyNameOfId } from './import-azure-json.ts'
import { emptyRule, ipGroupName, type Item, type RawCollection, type RawFirewall, type RawGroup, type RawRule, type RawRuleKind } from './imported-policy.ts'
import { expandBlocks, MAX_TERRAFORM_BLOCKS, resourceInstances, type ExpansionContext, type ResourceInstance, type TfBlock } from './terraform-dynamic.ts'
import { MAX_EVALUATION_STEPS, TerraformEvaluator } from './terraform-evaluate.ts'
import { moduleScope } from './terraform-scope.ts'
import { elementsOf, ok, primitiveText, TfResource, TfUnknown, typeName, unknown, type Evaluated } from './terraform-value.ts'

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
const IP_GROUP_TYPE = 'azurerm_ip_group'
const POLICY_TYPE = 'azurerm_firewall_policy'
const CLASSIC_TYPES: Readonly<Record<string, RawRuleKind>> = {
  azurerm_firewall_application_rule_collection: 'application',
  azurerm_firewall_network_rule_collection: 'network',
  azurerm_firewall_nat_rule_collection: 'dnat',
}
const FIX_UNRESOLVED = 'give the value with --var NAME=VALUE, or audit the deployed policy as JSON (az network firewall policy rule-collection-group list)'
const FIX_GENERATED = 'give the values with --var NAME=VALUE, write the blocks out, or audit the applied policy (az network firewall policy rule-collection-group list)'

/** A resource instance's name, and whether it was read (else the resource's own name stands in). */
interface InstanceName {
  readonly text: string
  readonly resolved: boolean
}

export function importTerraform(doc: Obj, text: string, file: string, vars: ReadonlyMap<string, string>): TerraformImport {
  const diagnostics: Diagnostic[] = []
  const outline = outlineHcl(text)
  const evaluator = new TerraformEvaluator(MAX_EVALUATION_STEPS + 2 * text.length)
  const resources = isObj(doc['resource']) ? doc['resource'] : {}
  const resourcesOf = (type: string): Obj => (isObj(resources[type]) ? resources[type] : {})
  /** A resource's hcl2json body; own names only (an expression may name `__proto__`). */
  const resourceBody = (type: string, name: string): Obj | undefined => {
    const all = resourcesOf(type)
    return Object.hasOwn(all, name) ? one(all[name]) : undefined
  }
  const outlines = new Map<string, HclBlock>()
  for (const b of outline.blocks) {
    const key = `${b.labels[0] ?? ''}.${b.labels[1] ?? ''}`
    if (b.type === 'resource' && b.labels.length === 2 && !outlines.has(key)) outlines.set(key, b)
  }
  const outlineOf = (type: string, name: string): HclBlock | undefined => outlines.get(`${type}.${name}`)

  const seen = new Set<string>()
  const warn = (code: 'IMPORT_UNRESOLVED' | 'IMPORT_UNSUPPORTED', message: string, span: Span | undefined, fix: string): void => {
    // Once the evaluation budget is spent, every value fails for that reason: say it once.
    if (evaluator.exhausted) {
      if (seen.has('exhausted')) return
      seen.add('exhausted')
    }
    // An expanded block repeats its attributes once per element: one diagnostic per place and reason.
    const key = `${code}:${span?.start ?? -1}:${message}`
    if (seen.has(key)) return
    seen.add(key)
    diagnostics.push(diagnostic(code, { message, file, span, fix, severity: 'warning' }))
  }
  const unresolved = (raw: unknown, reason: string, span: Span | undefined): void => {
    const shown = typeof raw === 'string' && raw.length <= 200 ? `"${raw}"` : 'A value'
    warn('IMPORT_UNRESOLVED', `${shown} cannot be resolved: ${reason}; left out of the audit`, span, FIX_UNRESOLVED)
  }
  const expansion: ExpansionContext = {
    evaluator,
    warn: (message, span) => {
      warn('IMPORT_UNSUPPORTED', message, span, FIX_GENERATED)
    },
    budget: { blocks: MAX_TERRAFORM_BLOCKS, exceeded: false },
  }

  const variables = new Map<string, Obj>()
  if (isObj(doc['variable'])) {
    for (const [k, v] of Object.entries(doc['variable'])) {
      const b = one(v)
      if (b) variables.set(k, b)
    }
  }
  const locals = new Map<string, unknown>()
  for (const l of blocks(doc['locals'])) for (const [k, v] of Object.entries(l)) locals.set(k, v)

  // Instances of resources, evaluated once: their for_each warnings are given once.
  const instanceCache = new Map<string, ResourceInstance[] | undefined>()
  const instancesOf = (type: string, name: string): ResourceInstance[] | undefined => {
    const key = `${type}.${name}`
    if (instanceCache.has(key)) return instanceCache.get(key)
    const body = resourceBody(type, name)
    // Cached before it is computed: a for_each that refers to its own resource ends here.
    instanceCache.set(key, undefined)
    const list = body === undefined ? undefined : resourceInstances(body, outlineOf(type, name), scope, expansion, key)
    instanceCache.set(key, list)
    return list
  }
  const instanceName = (type: string, name: string, inst: ResourceInstance): InstanceName => {
    const r = evaluator.json(resourceBody(type, name)?.['name'], inst.scope)
    if (r.ok && typeof r.value === 'string') return { text: r.value, resolved: true }
    return { text: inst.key === undefined ? name : `${name}[${JSON.stringify(inst.key)}]`, resolved: false }
  }

  /** `azurerm_ip_group.X` and `azurerm_firewall_policy.X`: their ids (and names) as the file gives them. */
  const resourceValue = (type: string, name: string): Evaluated | undefined => {
    if (type !== IP_GROUP_TYPE && type !== POLICY_TYPE) return undefined
    const address = `${type}.${name}`
    const body = resourceBody(type, name)
    // A policy not in the file still names the policy its groups belong to.
    if (body === undefined) return type === POLICY_TYPE ? ok(new TfResource(address, [['id', `/firewallPolicies/${name}`]])) : unknown(`${address} is not in this file`)
    const list = instancesOf(type, name)
    if (list === undefined) return unknown(`${address} has a for_each or count that cannot be evaluated`)
    const make = (inst: ResourceInstance): TfResource => {
      const n = instanceName(type, name, inst)
      const id = type === IP_GROUP_TYPE ? `/ipGroups/${n.text}` : `/firewallPolicies/${n.text}`
      return new TfResource(address, n.resolved ? [['id', id], ['name', n.text]] : [['id', id]])
    }
    if (body['for_each'] !== undefined) return ok(new Map(list.map((inst) => [String(inst.key), make(inst)])))
    if (body['count'] !== undefined) return ok(list.map(make))
    const only = list[0]
    return only === undefined ? unknown(`${address} has no instance`) : ok(make(only))
  }
  const scope = moduleScope({ evaluator, variables, locals, vars, resource: resourceValue })

  const value = (b: TfBlock, key: string): Evaluated | undefined => {
    const raw = b.body[key]
    return raw === undefined ? undefined : evaluator.json(raw, b.scope)
  }
  const valueSpan = (b: TfBlock, key: string): Span | undefined => b.outline?.attributes.get(key)?.valueSpan ?? b.span
  const str = (b: TfBlock, key: string): string | undefined => {
    const r = value(b, key)
    if (r === undefined) return undefined
    if (!r.ok) {
      unresolved(b.body[key], r.reason, valueSpan(b, key))
      return undefined
    }
    if (r.value === null) return undefined
    const s = primitiveText(r.value)
    if (s === undefined) unresolved(b.body[key], `it is a ${typeName(r.value)}, not a string`, valueSpan(b, key))
    return s
  }
  const num = (b: TfBlock, key: string): number | undefined => {
    const s = str(b, key)
    return s !== undefined && /^[0-9]+$/.test(s) ? Number(s) : undefined
  }
  /** A list attribute's strings, each with where it is written: its element, else the attribute. */
  const items = (b: TfBlock, key: string): Item[] => {
    const raw = b.body[key]
    if (raw === undefined || raw === null) return []
    const whole = valueSpan(b, key)
    const out: Item[] = []
    const add = (x: unknown, span: Span | undefined, inList: boolean): void => {
      const r = evaluator.json(x, b.scope)
      if (!r.ok) {
        unresolved(x, r.reason, span)
        out.push({ text: '', span, unreadable: true })
        return
      }
      // An element that is itself a list is read as its elements, as a whole-attribute value is.
      const values = r.value === null ? [] : (elementsOf(r.value) ?? [r.value])
      for (const v of values) {
        if (v instanceof TfUnknown) {
          unresolved(x, v.reason, span)
          out.push({ text: '', span, unreadable: true })
          continue
        }
        const s = primitiveText(v)
        if (s !== undefined) out.push({ text: s, span })
        else if (v !== null) {
          unresolved(x, `${inList ? 'an element' : 'it'} is a ${typeName(v)}, not a string`, span)
          out.push({ text: '', span, unreadable: true })
        }
      }
    }
    if (Array.isArray(raw)) {
      const elements = b.outline?.attributes.get(key)?.elements
      const spans = elements?.length === raw.length ? elements : undefined
      raw.forEach((x, i) => {
        add(x, spans?.[i] ?? whole, true)
      })
    } else add(raw, whole, false)
    return out
  }

  const readRule = (r: TfBlock, kind: RawRuleKind, where: string, classic: boolean): RawRule => {
    const name = str(r, 'name') ?? '(unnamed)'
    const base = emptyRule(kind, name, valueSpan(r, 'name'))
    const unsupported: Item[] = []
    for (const key of ['destination_urls', 'web_categories']) {
      const v = value(r, key)
      // Unreadable counts as present: the audit cannot say the rule does without it.
      if (v !== undefined && (!v.ok || (elementsOf(v.value)?.length ?? (v.value === null ? 0 : 1)) > 0)) {
        unsupported.push({ text: key, span: r.outline?.attributes.get(key)?.nameSpan ?? r.span })
      }
    }
    if (kind === 'application') {
      const protocols: Array<{ type: Item; port: Item }> = []
      for (const p of expandBlocks(r, classic ? 'protocol' : 'protocols', expansion, `${where}/${name}`)) {
        protocols.push({ type: { text: str(p, 'type') ?? '', span: valueSpan(p, 'type') }, port: { text: str(p, 'port') ?? '', span: valueSpan(p, 'port') } })
      }
      return {
        ...base,
        sourceAddresses: items(r, 'source_addresses'),
        sourceIpGroups: items(r, 'source_ip_groups'),
        protocols,
        targetFqdns: items(r, classic ? 'target_fqdns' : 'destination_fqdns'),
        fqdnTags: items(r, classic ? 'fqdn_tags' : 'destination_fqdn_tags'),
        unsupported,
      }
    }
    const dest = kind === 'dnat' && !classic ? items(r, 'destination_address') : items(r, 'destination_addresses')
    const common = {
      ...base,
      sourceAddresses: items(r, 'source_addresses'),
      sourceIpGroups: items(r, 'source_ip_groups'),
      ipProtocols: items(r, 'protocols'),
      destinationAddresses: dest,
      destinationPorts: items(r, 'destination_ports'),
      unsupported,
    }
    if (kind === 'network') return { ...common, destinationIpGroups: items(r, 'destination_ip_groups'), destinationFqdns: items(r, 'destination_fqdns') }
    const tAddr = str(r, 'translated_address')
    const tFqdn = str(r, 'translated_fqdn')
    const tPort = str(r, 'translated_port')
    return {
      ...common,
      ...(tAddr === undefined ? {} : { translatedAddress: { text: tAddr } }),
      ...(tFqdn === undefined ? {} : { translatedFqdn: { text: tFqdn } }),
      ...(tPort === undefined ? {} : { translatedPort: { text: tPort } }),
    }
  }

  const readCollection = (c: TfBlock, kind: RawRuleKind, where: string, classic: boolean): RawCollection => {
    const name = str(c, 'name') ?? '(unnamed)'
    const action = str(c, 'action')
    const rules = expandBlocks(c, 'rule', expansion, `${where}/${name}`).map((r) => readRule(r, kind, `${where}/${name}`, classic))
    return {
      name,
      span: valueSpan(c, 'name'),
      priority: num(c, 'priority'),
      ...(action === undefined ? {} : { action: { text: action, span: valueSpan(c, 'action') } }),
      kind,
      rules,
    }
  }

  /** The resource's instances, each as the block the readers read. */
  const resourceBlocks = (type: string, resName: string): Array<{ block: TfBlock; key: string | number | undefined }> => {
    const body = resourceBody(type, resName)
    if (body === undefined) return []
    const o = outlineOf(type, resName)
    return (instancesOf(type, resName) ?? []).map((inst) => ({ block: { body, outline: o?.body, scope: inst.scope, span: o?.headerSpan }, key: inst.key }))
  }
  const instanceLabel = (resName: string, key: string | number | undefined): string => (key === undefined ? resName : `${resName}[${JSON.stringify(key)}]`)

  // Rule collection groups, by policy.
  const byPolicy = new Map<string, RawGroup[]>()
  const kinds: Array<[string, RawRuleKind]> = [
    ['nat_rule_collection', 'dnat'],
    ['network_rule_collection', 'network'],
    ['application_rule_collection', 'application'],
  ]
  for (const resName of Object.keys(resourcesOf(RG_TYPE))) {
    for (const { block: g, key } of resourceBlocks(RG_TYPE, resName)) {
      const name = str(g, 'name') ?? instanceLabel(resName, key)
      const policyRef = value(g, 'firewall_policy_id')
      const policy = policyRef?.ok === true && typeof policyRef.value === 'string' ? (policyRef.value.split('/').filter((x) => x !== '').pop() ?? 'firewall-policy') : 'firewall-policy'
      const collections: RawCollection[] = []
      for (const [blockType, kind] of kinds) {
        for (const c of expandBlocks(g, blockType, expansion, name)) collections.push(readCollection(c, kind, name, false))
      }
      const list = byPolicy.get(policy) ?? []
      const start = g.span?.start
      list.push({ name, span: start === undefined ? undefined : { start, end: start + 'resource'.length }, priority: num(g, 'priority'), collections })
      byPolicy.set(policy, list)
    }
  }

  // IP groups defined in the file.
  const ipGroups = new Map<string, Item[]>()
  for (const resName of Object.keys(resourcesOf(IP_GROUP_TYPE))) {
    for (const { block, key } of resourceBlocks(IP_GROUP_TYPE, resName)) {
      const name = str(block, 'name') ?? instanceLabel(resName, key)
      ipGroups.set(ipGroupName(name), items(block, 'cidrs'))
    }
  }

  // Parents: azurerm_firewall_policy.base_policy_id (Azure processes the parent's groups first).
  const basePolicies = new Map<string, string>()
  for (const resName of Object.keys(resourcesOf(POLICY_TYPE))) {
    for (const { block: p, key } of resourceBlocks(POLICY_TYPE, resName)) {
      if (p.body['base_policy_id'] === undefined) continue
      const name = value(p, 'name')
      const base = value(p, 'base_policy_id')
      if (base?.ok !== true || typeof base.value !== 'string') {
        diagnostics.push(
          diagnostic('IMPORT_UNRESOLVED', {
            message: `${POLICY_TYPE}.${instanceLabel(resName, key)}.base_policy_id cannot be resolved: ${base?.ok === false ? base.reason : 'not a string'}; its parent's rules, which Azure processes first, are left out of the audit`,
            file,
            span: valueSpan(p, 'base_policy_id'),
            fix: 'define the parent azurerm_firewall_policy and its rule collection groups in the same file',
          }),
        )
        continue
      }
      const parent = policyNameOfId(base.value)
      if (parent !== undefined) basePolicies.set(name?.ok === true && typeof name.value === 'string' ? name.value : instanceLabel(resName, key), parent)
    }
  }
  const firewalls: RawFirewall[] = [...byPolicy].map(([name, groups]) => {
    const basePolicy = basePolicies.get(name)
    return { name, kind: 'policy' as const, groups, ipGroups, ...(basePolicy === undefined ? {} : { basePolicy }) }
  })

  // Classic rule collections, by firewall.
  const classic = new Map<string, RawCollection[]>()
  for (const [type, kind] of Object.entries(CLASSIC_TYPES)) {
    for (const resName of Object.keys(resourcesOf(type))) {
      for (const { block: c } of resourceBlocks(type, resName)) {
        const fw = str(c, 'azure_firewall_name') ?? 'azure-firewall'
        const coll = readCollection(c, kind, fw, true)
        const colls = classic.get(fw) ?? []
        colls.push(coll)
        classic.set(fw, colls)
      }
    }
  }
  for (const [name, collections] of classic) firewalls.push({ name, kind: 'classic', groups: [{ name, priority: 100, collections }], ipGroups })
  return { firewalls, diagnostics }
}
