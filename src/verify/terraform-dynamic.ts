/**
 * @module Terraform's generated blocks: `dynamic "TYPE" { for_each, iterator, content }` inside a
 * block, and `for_each` / `count` on a resource, expanded into the blocks and instances Terraform
 * would create.
 *
 * - A `dynamic` block makes one `content` block per element of its `for_each`: lists and tuples in
 *   order (`key` is the index), sets in set order (`key` is the value), maps and objects by key in
 *   lexical order (go-cty's ElementIterator; `terraform-value.ts`). The iterator is `iterator = NAME`
 *   or the block type, and nested `dynamic` blocks see the outer iterators (hashicorp/hcl
 *   `ext/dynblock`).
 * - Static and `dynamic` blocks of one type keep the order they are written in: dynblock's
 *   `expandBlocks` walks the body's blocks in source order and expands each `dynamic` in place.
 *   hcl2json groups `dynamic` blocks apart, so the order comes from the outline (`hcl-outline.ts`).
 * - A resource's `for_each` takes a map (`each.key`, `each.value`) or a set of strings (`each.key`
 *   and `each.value` are the string); a list is an error in Terraform, and here. `count` takes a
 *   whole number (`count.index`).
 *
 * A `for_each` or `count` that cannot be evaluated is a warning at its expression, and what it
 * generates is left out, never guessed. The number of blocks is capped (MAX_TERRAFORM_BLOCKS).
 */
import type { Span } from '../diagnostics/diagnostic.ts'
import { blocksOfType, type HclBlock, type HclBody } from './hcl-outline.ts'
import type { TerraformEvaluator, TfScope } from './terraform-evaluate.ts'
import { instanceScope, iterationScope } from './terraform-scope.ts'
import { isList, isMap, sortedEntries, TfResource, TfSet, typeName, type TfValue } from './terraform-value.ts'

type Obj = Record<string, unknown>

/** The most blocks (collections, rules, protocols) and resource instances one file expands to. */
export const MAX_TERRAFORM_BLOCKS = 100_000

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function objects(v: unknown): Obj[] {
  if (Array.isArray(v)) return v.filter(isObj)
  return isObj(v) ? [v] : []
}

/** A block as the importer reads it: its hcl2json body, its outline, and the names it sees. */
export interface TfBlock {
  readonly body: Obj
  readonly outline: HclBody | undefined
  readonly scope: TfScope
  /** Its header in the file (for an expanded block, its `content` header). */
  readonly span: Span | undefined
}

export interface ExpansionContext {
  readonly evaluator: TerraformEvaluator
  /** A block or instance that is not generated, and why. */
  readonly warn: (message: string, span: Span | undefined) => void
  /** Blocks left before MAX_TERRAFORM_BLOCKS; shared by one import. */
  readonly budget: { blocks: number; exceeded: boolean }
}

function take(ctx: ExpansionContext, span: Span | undefined, where: string): boolean {
  if (ctx.budget.blocks > 0) {
    ctx.budget.blocks--
    return true
  }
  if (!ctx.budget.exceeded) {
    ctx.budget.exceeded = true
    ctx.warn(`${where}: the file expands to more than ${MAX_TERRAFORM_BLOCKS} blocks and resource instances; the rest are left out of the audit`, span)
  }
  return false
}

/**
 * The blocks of `type` in a block, static and generated, in Terraform's order.
 *
 * @example
 * expandBlocks(collection, 'rule', ctx, 'aks-egress/aksfwar') // one TfBlock per rule
 */
export function expandBlocks(parent: TfBlock, type: string, ctx: ExpansionContext, where: string): TfBlock[] {
  const statics = objects(parent.body[type])
  const dynamics = objects(isObj(parent.body['dynamic']) ? parent.body['dynamic'][type] : undefined)
  const staticOutline = blocksOfType(parent.outline, type)
  const dynamicOutline = blocksOfType(parent.outline, 'dynamic', type)
  // The written order, when the outline agrees with hcl2json; else statics first.
  const order: Array<['static' | 'dynamic', number]> = []
  if (parent.outline !== undefined && staticOutline.length === statics.length && dynamicOutline.length === dynamics.length) {
    let s = 0
    let d = 0
    for (const b of parent.outline.blocks) {
      if (b.type === type && b.labels.length === 0) order.push(['static', s++])
      else if (b.type === 'dynamic' && b.labels[0] === type) order.push(['dynamic', d++])
    }
  } else {
    statics.forEach((_, i) => order.push(['static', i]))
    dynamics.forEach((_, i) => order.push(['dynamic', i]))
  }
  const out: TfBlock[] = []
  for (const [kind, i] of order) {
    if (kind === 'static') {
      const o = staticOutline[i]
      const span = o?.headerSpan ?? parent.span
      if (!take(ctx, span, where)) break
      out.push({ body: statics[i]!, outline: o?.body, scope: parent.scope, span })
    } else if (!expandDynamic(parent, type, dynamics[i]!, dynamicOutline[i], ctx, where, out)) break
  }
  return out
}

/** Appends the blocks one `dynamic` block generates; false when the block cap is reached. */
function expandDynamic(parent: TfBlock, type: string, dyn: Obj, outline: HclBlock | undefined, ctx: ExpansionContext, where: string, out: TfBlock[]): boolean {
  const forEachSpan = outline?.body.attributes.get('for_each')?.valueSpan ?? outline?.headerSpan ?? parent.span
  const notExpanded = (why: string, span = forEachSpan): true => {
    ctx.warn(`${where}: dynamic "${type}" is not expanded: ${why}; the blocks it generates are not audited`, span)
    return true
  }
  const content = objects(dyn['content'])[0]
  if (content === undefined) return notExpanded('it has no content block', outline?.headerSpan ?? parent.span)
  let iterator = type
  if (dyn['iterator'] !== undefined) {
    const parsed = typeof dyn['iterator'] === 'string' ? ctx.evaluator.parse(dyn['iterator']) : undefined
    const e = parsed?.ok === true ? parsed.expr : undefined
    const name = e?.kind === 'template' && e.parts.length === 1 && typeof e.parts[0] === 'object' && e.parts[0].kind === 'name' ? e.parts[0].name : undefined
    if (name === undefined) return notExpanded('its iterator is not a name', outline?.body.attributes.get('iterator')?.valueSpan)
    iterator = name
  }
  if (dyn['for_each'] === undefined) return notExpanded('it has no for_each')
  const r = ctx.evaluator.json(dyn['for_each'], parent.scope)
  if (!r.ok) return notExpanded(`its for_each cannot be evaluated (${r.reason})`)
  const elements = elementsToIterate(r.value)
  if (typeof elements === 'string') return notExpanded(`its for_each ${elements}`)
  const contentOutline = outline === undefined ? undefined : blocksOfType(outline.body, 'content')[0]
  const span = contentOutline?.headerSpan ?? outline?.headerSpan ?? parent.span
  for (const [key, value] of elements) {
    if (!take(ctx, span, where)) return false
    out.push({ body: content, outline: contentOutline?.body, scope: iterationScope(parent.scope, iterator, key, value), span })
  }
  return true
}

/** The (key, value) pairs a dynamic block's for_each iterates, or what is wrong with it. */
function elementsToIterate(v: TfValue): Array<[TfValue, TfValue]> | string {
  if (v === null) return 'is null'
  if (v instanceof TfResource) return `is the resource ${v.address}, whose attributes are known only after apply`
  if (isMap(v)) return sortedEntries(v)
  if (isList(v)) return v.map((x, i) => [i, x])
  if (v instanceof TfSet) return v.items.map((x) => [x, x])
  return `is a ${typeName(v)}, not a list, set or map`
}

export interface ResourceInstance {
  /** The instance key (`for_each`) or index (`count`); undefined for a single instance. */
  readonly key: string | number | undefined
  readonly scope: TfScope
}

/**
 * The instances of a resource: one without `for_each` and `count`, else one per key or index.
 * Undefined (with a warning) when they cannot be evaluated.
 */
export function resourceInstances(body: Obj, outline: HclBlock | undefined, scope: TfScope, ctx: ExpansionContext, address: string): ResourceInstance[] | undefined {
  const at = (attr: string): Span | undefined => outline?.body.attributes.get(attr)?.valueSpan ?? outline?.headerSpan
  const skip = (attr: string, why: string): ResourceInstance[] | undefined => {
    ctx.warn(`${address}: ${attr} ${why}; its instances are not audited`, at(attr))
    return undefined
  }
  const hasForEach = body['for_each'] !== undefined
  const hasCount = body['count'] !== undefined
  if (!hasForEach && !hasCount) return [{ key: undefined, scope }]
  if (hasForEach && hasCount) return skip('for_each', 'and count are both set, which Terraform rejects')
  const attr = hasForEach ? 'for_each' : 'count'
  const r = ctx.evaluator.json(body[attr], scope)
  if (!r.ok) return skip(attr, `cannot be evaluated (${r.reason})`)
  const v = r.value
  const out: ResourceInstance[] = []
  if (hasCount) {
    const n = typeof v === 'string' && /^[0-9]+$/.test(v) ? Number(v) : v
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) return skip(attr, `is ${typeof v === 'number' ? String(v) : `a ${typeName(v)}`}, not a whole number`)
    for (let i = 0; i < n; i++) {
      if (!take(ctx, at(attr), address)) break
      out.push({ key: i, scope: instanceScope(scope, { count: i }) })
    }
    return out
  }
  let pairs: Array<[string, TfValue]>
  if (isMap(v) && !(v instanceof TfResource)) pairs = sortedEntries(v)
  else if (v instanceof TfSet && v.items.every((x) => typeof x === 'string')) pairs = v.items.map((x) => [x, x])
  else if (isList(v)) return skip(attr, 'is a list, which Terraform rejects for a resource (it needs a map or a set of strings: toset(...))')
  else return skip(attr, `is a ${typeName(v)}, not a map or a set of strings`)
  for (const [key, value] of pairs) {
    if (!take(ctx, at(attr), address)) break
    out.push({ key, scope: instanceScope(scope, { each: { key, value } }) })
  }
  return out
}
