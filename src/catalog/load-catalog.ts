/**
 * @module Loads and checks the catalog editions shipped in `catalog/*.yaml`.
 *
 * The catalog is our own data, so a malformed edition is a fault of the build, not user input:
 * it throws `CatalogError` (a test loads every edition, so CI catches it before users do).
 */
import { readFileSync, readdirSync } from 'node:fs'
import { parse } from 'yaml'
import {
  CLOUDS,
  PARAMETERS,
  type CatalogEdition,
  type CatalogEntry,
  type Category,
  type Cloud,
  type EndpointProtocol,
  type FeatureInfo,
  type TargetKind,
} from './catalog-types.ts'

/** The catalog folder: `catalog/` at the package root, beside `src/` and `dist/`. */
export const CATALOG_DIR = new URL('../../catalog/', import.meta.url)

export class CatalogError extends Error {
  readonly code = 'ERR_CATALOG_INVALID'
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'CatalogError'
  }
}

const PROTOCOL_FORMAT = /^(https?|tcp|udp):(\d{1,5})$/
const PLACEHOLDER = /<([a-z-]+)>/g
const TARGET_KINDS: readonly TargetKind[] = ['fqdn', 'address', 'service-tag', 'any']
const CATEGORIES: readonly Category[] = ['required', 'recommended', 'addon']

const cache = new Map<string, CatalogEdition>()

/** Names of the editions shipped, oldest first (`2019-11`, `2026-06`). */
export function listEditions(): string[] {
  return readdirSync(CATALOG_DIR)
    .filter((f) => /^\d{4}-\d{2}\.yaml$/.test(f))
    .map((f) => f.slice(0, -'.yaml'.length))
    .sort()
}

/** The newest edition: what `latest` names. */
export function latestEdition(): string {
  const all = listEditions()
  const last = all[all.length - 1]
  if (last === undefined) throw new CatalogError(`No catalog edition found in ${CATALOG_DIR.pathname}`)
  return last
}

/** Resolves `latest` and checks that the edition exists; returns undefined when it does not. */
export function resolveEditionName(name: string): string | undefined {
  if (name === 'latest') return latestEdition()
  return listEditions().includes(name) ? name : undefined
}

export function loadEdition(name: string): CatalogEdition {
  const resolved = resolveEditionName(name)
  if (resolved === undefined) throw new CatalogError(`Unknown catalog edition "${name}"`)
  const cached = cache.get(resolved)
  if (cached) return cached
  const file = new URL(`${resolved}.yaml`, CATALOG_DIR)
  let raw: unknown
  try {
    raw = parse(readFileSync(file, 'utf8'))
  } catch (cause) {
    throw new CatalogError(`Cannot read catalog edition "${resolved}"`, { cause })
  }
  const edition = checkEdition(raw, resolved)
  cache.set(resolved, edition)
  return edition
}

function fail(edition: string, where: string, message: string): never {
  throw new CatalogError(`Catalog ${edition}: ${where}: ${message}`)
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function str(edition: string, where: string, v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) fail(edition, where, 'must be a non-empty string')
  return v
}

function strList(edition: string, where: string, v: unknown): string[] {
  if (!Array.isArray(v)) fail(edition, where, 'must be a list')
  return v.map((x, i) => str(edition, `${where}[${i}]`, x))
}

function checkEdition(raw: unknown, name: string): CatalogEdition {
  if (!isRecord(raw)) fail(name, 'file', 'must be a mapping')
  if (raw['edition'] !== name) fail(name, 'edition', `must be "${name}" (the file name)`)
  const features: FeatureInfo[] = []
  const featureMap = raw['features']
  if (!isRecord(featureMap)) fail(name, 'features', 'must be a mapping of name to {category, title}')
  for (const [fname, info] of Object.entries(featureMap)) {
    if (!isRecord(info)) fail(name, `features.${fname}`, 'must be a mapping')
    const category = info['category']
    if (category !== 'recommended' && category !== 'addon') {
      fail(name, `features.${fname}.category`, 'must be "recommended" or "addon"')
    }
    features.push({ name: fname, category, title: str(name, `features.${fname}.title`, info['title']) })
  }
  const rawEntries = raw['entries']
  if (!Array.isArray(rawEntries)) fail(name, 'entries', 'must be a list')
  const ids = new Set<string>()
  const entries = rawEntries.map((e, i) => {
    const entry = checkEntry(name, `entries[${i}]`, e, features)
    if (ids.has(entry.id)) fail(name, `entries[${i}].id`, `duplicate id "${entry.id}"`)
    ids.add(entry.id)
    return entry
  })
  return Object.freeze({
    edition: name,
    title: str(name, 'title', raw['title']),
    source: str(name, 'source', raw['source']),
    features: Object.freeze(features),
    entries: Object.freeze(entries),
  })
}

function checkPlaceholders(edition: string, where: string, text: string): void {
  for (const m of text.matchAll(PLACEHOLDER)) {
    if (!(PARAMETERS as readonly string[]).includes(m[1] ?? '')) {
      fail(edition, where, `unknown placeholder <${m[1] ?? ''}>; known: ${PARAMETERS.join(', ')}`)
    }
  }
}

function checkEntry(edition: string, where: string, e: unknown, features: readonly FeatureInfo[]): CatalogEntry {
  if (!isRecord(e)) fail(edition, where, 'must be a mapping')
  const allowed = new Set([
    'id', 'clouds', 'kind', 'target', 'protocols', 'category', 'feature', 'purpose', 'section',
    'condition', 'note', 'seed', 'alternatives',
  ])
  for (const k of Object.keys(e)) if (!allowed.has(k)) fail(edition, `${where}.${k}`, 'unknown key')
  const id = str(edition, `${where}.id`, e['id'])
  const at = `${where} (${id})`
  const clouds = strList(edition, `${at}.clouds`, e['clouds'])
  for (const c of clouds) if (!(CLOUDS as readonly string[]).includes(c)) fail(edition, `${at}.clouds`, `unknown cloud "${c}"`)
  const kind = str(edition, `${at}.kind`, e['kind'])
  if (!(TARGET_KINDS as readonly string[]).includes(kind)) fail(edition, `${at}.kind`, `must be one of ${TARGET_KINDS.join(', ')}`)
  const target = str(edition, `${at}.target`, e['target'])
  checkPlaceholders(edition, `${at}.target`, target)
  if (kind === 'any' && target !== '*') fail(edition, `${at}.target`, 'kind "any" must have target "*"')
  if (kind === 'address' && !/^<[a-z-]+>$/.test(target)) fail(edition, `${at}.target`, 'kind "address" must be one <parameter>')
  const protocols = strList(edition, `${at}.protocols`, e['protocols'])
  if (protocols.length === 0) fail(edition, `${at}.protocols`, 'must not be empty')
  for (const p of protocols) {
    const m = PROTOCOL_FORMAT.exec(p)
    const port = Number(m?.[2])
    if (!m || port < 1 || port > 65535) fail(edition, `${at}.protocols`, `"${p}" is not protocol:port (https:443, udp:123)`)
    if ((m[1] === 'http' || m[1] === 'https') && kind !== 'fqdn') {
      fail(edition, `${at}.protocols`, `"${p}" is an application protocol; only fqdn targets may use it`)
    }
  }
  const category = str(edition, `${at}.category`, e['category'])
  if (!(CATEGORIES as readonly string[]).includes(category)) fail(edition, `${at}.category`, `must be one of ${CATEGORIES.join(', ')}`)
  const feature = e['feature']
  if (category === 'required') {
    if (feature !== undefined) fail(edition, `${at}.feature`, 'a required entry belongs to no feature')
  } else {
    const f = features.find((x) => x.name === feature)
    if (!f) fail(edition, `${at}.feature`, `must name a feature declared under "features"`)
    if (f.category !== category) fail(edition, `${at}.feature`, `feature "${f.name}" is ${f.category}, entry is ${category}`)
  }
  const seed = e['seed']
  let seedValue: CatalogEntry['seed']
  if (seed !== undefined) {
    if (!isRecord(seed)) fail(edition, `${at}.seed`, 'must be {target, ports}')
    seedValue = Object.freeze({ target: str(edition, `${at}.seed.target`, seed['target']), ports: str(edition, `${at}.seed.ports`, seed['ports']) })
  }
  const alternatives = e['alternatives'] === undefined ? undefined : strList(edition, `${at}.alternatives`, e['alternatives'])
  for (const a of alternatives ?? []) checkPlaceholders(edition, `${at}.alternatives`, a)
  const optional = (k: string): string | undefined => (e[k] === undefined ? undefined : str(edition, `${at}.${k}`, e[k]))
  const entry: CatalogEntry = {
    id,
    clouds: Object.freeze(clouds as Cloud[]),
    kind: kind as TargetKind,
    target,
    protocols: Object.freeze(protocols as EndpointProtocol[]),
    category: category,
    ...(typeof feature === 'string' ? { feature } : {}),
    purpose: str(edition, `${at}.purpose`, e['purpose']),
    section: str(edition, `${at}.section`, e['section']),
    ...optionalField('condition', optional('condition')),
    ...optionalField('note', optional('note')),
    ...(seedValue ? { seed: seedValue } : {}),
    ...(alternatives ? { alternatives: Object.freeze(alternatives) } : {}),
  }
  return Object.freeze(entry)
}

function optionalField<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string }
}
