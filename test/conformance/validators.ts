// What each target's output is checked against here, with the tools this machine has (the
// conformance suite runs them on every case). Each returns the problems found, or a reason why it
// cannot run (a skip must say why).
// - azure-cli: `bash -n`, and every az invocation's command and flags against the flag list of
//   azure-facts §4.3, completed from the azure-firewall extension's _params.py and custom.py
//   signatures (add-filter-collection, add-nat-collection, collection rule add) and the core
//   network commands (route-table, vnet subnet, ip-group); values of enum flags and priorities.
// - arm: JSON, the template's shape, and each rule collection group's properties against a JSON
//   Schema written from azure-facts §4.1 (schemas/), with ajv.
// - bicep: no Bicep compiler installs from npm or Debian here, so a parser of the subset the
//   exporter writes reads it back, and the same schema checks each rule collection group.
// - terraform: parsed back with @cdktf/hcl2json (HashiCorp's HCL parser compiled to wasm), then
//   the resource types and the required attributes, enums and ranges of azure-facts §4.2.
// - squid: `squid -k parse` on a minimal squid.conf that includes the fragment (never started).
// - cilium, networkpolicy: kubernetes-models' schema validation (@kubernetes-models/cilium for
//   the Cilium CRDs), plus a strict check that every key is a field those models know (their
//   validators allow unknown keys), plus Cilium's own rules (one L3 selector per rule).
// - calico: no model package exists; a JSON Schema written from Tigera's reference (schemas/).
// - nftables: `nft -c -f` (parse and check against the kernel, change nothing) inside a network
//   namespace made for the check and deleted after it (root only; skipped with the reason else);
//   on a kernel without flowtables, by the rule of test/support/nft-check.ts.
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { parse as parseHcl } from '@cdktf/hcl2json'
import { Ajv, type ValidateFunction } from 'ajv'
import { parseAllDocuments } from 'yaml'
import { CiliumClusterwideNetworkPolicy } from '@kubernetes-models/cilium/cilium.io/v2/CiliumClusterwideNetworkPolicy'
import { CiliumNetworkPolicy } from '@kubernetes-models/cilium/cilium.io/v2/CiliumNetworkPolicy'
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy'
import { nftCheckProblems, type RunNft } from '../support/nft-check.ts'

export type Validation = { readonly problems: readonly string[] } | { readonly skip: string }
export type Validator = (text: string) => Promise<Validation> | Validation

const require = createRequire(import.meta.url)
const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false })
function schema(name: string): ValidateFunction {
  return ajv.compile(JSON.parse(readFileSync(new URL(`schemas/${name}.schema.json`, import.meta.url), 'utf8')) as object)
}
const rcgSchema = schema('firewall-policy-rule-collection-group')
const calicoSchema = schema('calico-global-network-policy')

function schemaProblems(v: ValidateFunction, data: unknown, where: string): string[] {
  if (v(data)) return []
  return (v.errors ?? []).map((e) => `${where}${e.instancePath}: ${e.message ?? ''} ${JSON.stringify(e.params)}`)
}

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Filter collections hold rules of one type (the schema cannot say "all items alike"). */
function rcgExtraProblems(props: unknown, where: string): string[] {
  const out: string[] = []
  if (!isObj(props) || !Array.isArray(props['ruleCollections'])) return out
  for (const c of props['ruleCollections'] as unknown[]) {
    if (!isObj(c) || !Array.isArray(c['rules'])) continue
    const types = new Set((c['rules'] as unknown[]).map((r) => (isObj(r) ? r['ruleType'] : undefined)))
    if (types.size > 1) out.push(`${where}: collection ${String(c['name'])} mixes rule types ${[...types].join(', ')}`)
  }
  const priorities = (props['ruleCollections'] as unknown[]).map((c) => (isObj(c) ? c['priority'] : undefined))
  if (new Set(priorities).size !== priorities.length) out.push(`${where}: two collections share a priority`)
  return out
}

// ---------------------------------------------------------------------------------------------
// azure-cli

const AZ_FLAGS: Readonly<Record<string, { flags: readonly string[]; required?: readonly string[] }>> = {
  'extension add': { flags: ['--name', '--upgrade', '--yes'], required: ['--name'] },
  'group show': { flags: ['-n', '--query', '-o'], required: ['-n'] },
  'network firewall show': { flags: ['-g', '-n', '--query', '-o'], required: ['-g', '-n'] },
  'network public-ip show': { flags: ['--ids', '--query', '-o'], required: ['--ids'] },
  'network firewall update': { flags: ['-g', '-n', '--firewall-policy'], required: ['-g', '-n'] },
  'network firewall policy create': { flags: ['-g', '-n', '-l', '--sku', '--threat-intel-mode', '--enable-dns-proxy', '--dns-servers'], required: ['-g', '-n'] },
  'network ip-group create': { flags: ['-g', '-n', '-l', '--ip-addresses'], required: ['-g', '-n', '--ip-addresses'] },
  'network firewall policy rule-collection-group create': { flags: ['-g', '--policy-name', '-n', '--priority'], required: ['-g', '--policy-name', '-n', '--priority'] },
  'network firewall policy rule-collection-group collection add-filter-collection': {
    flags: ['-g', '--policy-name', '--rule-collection-group-name', '-n', '--collection-priority', '--action', '--rule-name', '--rule-type', '--description', '--ip-protocols', '--source-addresses', '--source-ip-groups', '--destination-addresses', '--destination-ip-groups', '--destination-fqdns', '--destination-ports', '--protocols', '--target-fqdns', '--fqdn-tags'],
    required: ['-g', '--policy-name', '--rule-collection-group-name', '-n', '--collection-priority', '--action', '--rule-name', '--rule-type'],
  },
  'network firewall policy rule-collection-group collection add-nat-collection': {
    flags: ['-g', '--policy-name', '--rule-collection-group-name', '-n', '--collection-priority', '--action', '--rule-name', '--description', '--ip-protocols', '--source-addresses', '--source-ip-groups', '--destination-addresses', '--destination-ports', '--translated-address', '--translated-fqdn', '--translated-port'],
    required: ['-g', '--policy-name', '--rule-collection-group-name', '-n', '--collection-priority', '--action', '--rule-name', '--ip-protocols', '--destination-addresses', '--destination-ports', '--translated-port'],
  },
  'network firewall policy rule-collection-group collection rule add': {
    flags: ['-g', '--policy-name', '--rule-collection-group-name', '--collection-name', '--name', '--rule-type', '--description', '--ip-protocols', '--source-addresses', '--source-ip-groups', '--destination-addresses', '--destination-ip-groups', '--destination-fqdns', '--destination-ports', '--protocols', '--target-fqdns', '--fqdn-tags', '--translated-address', '--translated-fqdn', '--translated-port'],
    required: ['-g', '--policy-name', '--rule-collection-group-name', '--collection-name', '--name', '--rule-type'],
  },
  'network route-table create': { flags: ['-g', '-n', '-l'], required: ['-g', '-n'] },
  'network route-table route create': { flags: ['-g', '--route-table-name', '-n', '--address-prefix', '--next-hop-type', '--next-hop-ip-address'], required: ['-g', '--route-table-name', '-n', '--address-prefix', '--next-hop-type'] },
  'network vnet subnet update': { flags: ['-g', '--vnet-name', '-n', '--route-table'], required: ['-g', '--vnet-name', '-n'] },
}

const ENUMS: Readonly<Record<string, readonly string[]>> = {
  '--action': ['Allow', 'Deny', 'DNAT'],
  '--rule-type': ['ApplicationRule', 'NetworkRule', 'NatRule'],
  '--ip-protocols': ['TCP', 'UDP', 'Any', 'ICMP'],
  '--next-hop-type': ['VirtualAppliance', 'Internet'],
  '--sku': ['Standard', 'Premium', 'Basic'],
  '--threat-intel-mode': ['Alert', 'Deny', 'Off'],
  '--enable-dns-proxy': ['true', 'false'],
}

/** Splits a command line into words: quotes removed, `$(...)` and `"..."` kept as one word. */
function shellWords(line: string): string[] {
  const words: string[] = []
  let cur = ''
  let inWord = false
  for (let i = 0; i < line.length; i++) {
    const c = line[i] ?? ''
    if (c === ' ' || c === '\t') {
      if (inWord) words.push(cur)
      cur = ''
      inWord = false
      continue
    }
    inWord = true
    if (c === "'") {
      const end = line.indexOf("'", i + 1)
      cur += line.slice(i + 1, end)
      i = end
    } else if (c === '"') {
      let j = i + 1
      while (j < line.length && line[j] !== '"') j += line[j] === '\\' ? 2 : 1
      cur += line.slice(i + 1, j)
      i = j
    } else cur += c
  }
  if (inWord) words.push(cur)
  return words
}

function azInvocations(script: string): string[] {
  const joined = script.replace(/\\\n\s*/g, '')
  const out: string[] = []
  for (const raw of joined.split('\n')) {
    let line = raw.trim()
    if (line.startsWith('#')) continue
    // Command substitutions, innermost first: $(az ...) inside variable defaults.
    for (;;) {
      const m = /\$\((az [^()]*)\)/.exec(line)
      if (!m) break
      out.push(m[1] ?? '')
      line = line.replace(m[0], 'SUBST')
    }
    if (line.startsWith('az ')) out.push(line)
  }
  return out
}

export function checkAzCommand(line: string): string[] {
  const words = shellWords(line).slice(1)
  const firstFlag = words.findIndex((w) => w.startsWith('-'))
  const path = (firstFlag === -1 ? words : words.slice(0, firstFlag)).join(' ')
  const spec = AZ_FLAGS[path]
  if (!spec) return [`unknown az command "az ${path}"`]
  const problems: string[] = []
  const seen = new Map<string, string[]>()
  let current: string | undefined
  for (const w of firstFlag === -1 ? [] : words.slice(firstFlag)) {
    if (/^--?[a-z]/.test(w)) {
      if (!spec.flags.includes(w)) problems.push(`az ${path}: unknown flag ${w}`)
      if (seen.has(w)) problems.push(`az ${path}: flag ${w} given twice`)
      seen.set(w, [])
      current = w
    } else if (current !== undefined) seen.get(current)?.push(w)
    else problems.push(`az ${path}: stray word "${w}"`)
  }
  for (const r of spec.required ?? []) if (!seen.has(r)) problems.push(`az ${path}: missing ${r}`)
  for (const [f, values] of seen) {
    if (values.length === 0 && f !== '--upgrade' && f !== '--yes') problems.push(`az ${path}: flag ${f} has no value`)
    const allowed = ENUMS[f]
    if (allowed) for (const v of values) if (!allowed.includes(v)) problems.push(`az ${path}: ${f} ${v} is not one of ${allowed.join(', ')}`)
    if (f === '--priority' || f === '--collection-priority') for (const v of values) if (!(Number(v) >= 100 && Number(v) <= 65000)) problems.push(`az ${path}: ${f} ${v} outside 100-65000`)
    if (f === '--protocols') for (const v of values) if (!/^(Http|Https)=\d+$/.test(v) || Number(v.split('=')[1]) > 64000) problems.push(`az ${path}: --protocols ${v} is not Http=PORT or Https=PORT (port <= 64000)`)
  }
  return problems
}

const validateAzureCli: Validator = (text) => {
  const dir = mkdtempSync(join(tmpdir(), 'aks-egress-az-'))
  try {
    const file = join(dir, 'fw.sh')
    writeFileSync(file, text)
    const syntax = spawnSync('bash', ['-n', file], { encoding: 'utf8' })
    const problems = syntax.status === 0 ? [] : [`bash -n: ${syntax.stderr}`]
    if (!text.startsWith('#!/usr/bin/env bash\n') || !text.includes('\nset -euo pipefail\n')) problems.push('not a bash script with set -euo pipefail')
    const calls = azInvocations(text)
    if (calls.length === 0) problems.push('no az command')
    for (const c of calls) problems.push(...checkAzCommand(c))
    return { problems }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

// ---------------------------------------------------------------------------------------------
// arm

const RESOURCE_TYPES = ['Microsoft.Network/firewallPolicies', 'Microsoft.Network/firewallPolicies/ruleCollectionGroups', 'Microsoft.Network/ipGroups', 'Microsoft.Network/routeTables']

const validateArm: Validator = (text) => {
  const problems: string[] = []
  let t: Obj
  try {
    t = JSON.parse(text) as Obj
  } catch (e) {
    return { problems: [`not JSON: ${String(e)}`] }
  }
  if (!String(t['$schema']).includes('deploymentTemplate.json')) problems.push('$schema is not a deployment template')
  if (t['contentVersion'] !== '1.0.0.0') problems.push('contentVersion missing')
  const params = isObj(t['parameters']) ? t['parameters'] : {}
  for (const [k, p] of Object.entries(params)) if (!isObj(p) || p['type'] !== 'string') problems.push(`parameter ${k} has no type string`)
  for (const m of text.matchAll(/parameters\('([A-Za-z]+)'\)/g)) if (!(String(m[1]) in params)) problems.push(`parameters('${String(m[1])}') is not declared`)
  const resources = Array.isArray(t['resources']) ? (t['resources'] as unknown[]) : []
  let previousRcg: string | undefined
  for (const [i, r] of resources.entries()) {
    if (!isObj(r)) continue
    const where = `resources[${i}]`
    if (!RESOURCE_TYPES.includes(String(r['type']))) problems.push(`${where}: type ${String(r['type'])}`)
    if (r['apiVersion'] !== '2024-05-01') problems.push(`${where}: apiVersion ${String(r['apiVersion'])}`)
    if (r['type'] === 'Microsoft.Network/firewallPolicies/ruleCollectionGroups') {
      problems.push(...schemaProblems(rcgSchema, r['properties'], where), ...rcgExtraProblems(r['properties'], where))
      const deps = Array.isArray(r['dependsOn']) ? (r['dependsOn'] as string[]) : []
      if (previousRcg !== undefined && !deps.some((d) => d.includes(`'${previousRcg ?? ''}')`))) problems.push(`${where}: does not depend on the previous rule collection group ${previousRcg}`)
      previousRcg = /'([^']+)'\)\]$/.exec(String(r['name']))?.[1]
    }
    if (r['type'] === 'Microsoft.Network/routeTables') {
      const routes = isObj(r['properties']) && Array.isArray(r['properties']['routes']) ? (r['properties']['routes'] as Obj[]) : []
      const hops = routes.map((x) => (isObj(x['properties']) ? `${String(x['properties']['addressPrefix'])}>${String(x['properties']['nextHopType'])}` : ''))
      if (!hops.includes('0.0.0.0/0>VirtualAppliance')) problems.push('route table: no 0.0.0.0/0 to the firewall')
      if (!hops.some((h) => h.includes('/32') && h.endsWith('>Internet'))) problems.push('route table: no firewall public IP /32 to Internet')
    }
  }
  return { problems }
}

// ---------------------------------------------------------------------------------------------
// bicep: a reader of the subset the exporter writes.

interface BicepResource {
  readonly symbol: string
  readonly type: string
  readonly body: unknown
}

export function readBicep(text: string): { params: string[]; resources: BicepResource[]; expressions: string[] } {
  const src = text.split('\n').filter((l) => !l.trimStart().startsWith('//')).join('\n')
  let i = 0
  const expressions: string[] = []
  const ws = (): void => {
    while (i < src.length && /\s/.test(src[i] ?? '')) i++
  }
  const fail = (what: string): never => {
    throw new Error(`bicep: ${what} at offset ${i}: ${JSON.stringify(src.slice(i, i + 40))}`)
  }
  const ident = (): string => {
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))
    if (!m) return fail('identifier expected')
    i += m[0].length
    return m[0]
  }
  const str = (): string => {
    if (src[i] !== "'") fail('string expected')
    let out = ''
    i++
    while (src[i] !== "'") {
      if (i >= src.length) fail('unterminated string')
      if (src[i] === '\\') {
        const n = src[i + 1]
        out += n === 'n' ? '\n' : (n ?? '')
        i += 2
      } else if (src.startsWith('${', i)) {
        const end = src.indexOf('}', i)
        expressions.push(src.slice(i + 2, end))
        out += `[${src.slice(i + 2, end)}]`
        i = end + 1
      } else out += src[i++] ?? ''
    }
    i++
    return out
  }
  const value = (): unknown => {
    ws()
    const c = src[i]
    if (c === '{') {
      i++
      const o: Obj = {}
      for (;;) {
        ws()
        if (src[i] === '}') {
          i++
          return o
        }
        const key = src[i] === "'" ? str() : ident()
        ws()
        if (src[i] !== ':') fail('":" expected')
        i++
        o[key] = value()
      }
    }
    if (c === '[') {
      i++
      const a: unknown[] = []
      for (;;) {
        ws()
        if (src[i] === ']') {
          i++
          return a
        }
        a.push(value())
      }
    }
    if (c === "'") return str()
    const rest = /^[^\n]*/.exec(src.slice(i))?.[0] ?? ''
    const token = rest.trim()
    i += rest.length
    if (/^-?\d+$/.test(token)) return Number(token)
    if (token === 'true' || token === 'false') return token === 'true'
    expressions.push(token)
    return `[${token}]`
  }
  const params: string[] = []
  const resources: BicepResource[] = []
  for (;;) {
    ws()
    if (i >= src.length) break
    if (src[i] === '@') {
      i++
      ident()
      if (src[i] !== '(') fail('"(" expected')
      i++
      str()
      if (src[i] !== ')') fail('")" expected')
      i++
      continue
    }
    const keyword = ident()
    ws()
    if (keyword === 'param') {
      params.push(ident())
      ws()
      if (ident() !== 'string') fail('param type string expected')
      if (/^[ \t]*=/.test(src.slice(i))) {
        i = src.indexOf('=', i) + 1
        value()
      }
    } else if (keyword === 'resource') {
      const symbol = ident()
      ws()
      const type = str()
      ws()
      if (src[i] !== '=') fail('"=" expected')
      i++
      resources.push({ symbol, type, body: value() })
    } else if (keyword === 'output') {
      ident()
      ws()
      ident()
      ws()
      if (src[i] !== '=') fail('"=" expected')
      i++
      value()
    } else fail(`unknown statement ${keyword}`)
  }
  return { params, resources, expressions }
}

const validateBicep: Validator = (text) => {
  let read: ReturnType<typeof readBicep>
  try {
    read = readBicep(text)
  } catch (e) {
    return { problems: [String(e)] }
  }
  const problems: string[] = []
  const symbols = new Set([...read.params, ...read.resources.map((r) => r.symbol)])
  for (const e of read.expressions) {
    const head = /^[A-Za-z_][A-Za-z0-9_]*/.exec(e)?.[0] ?? ''
    if (!symbols.has(head) && head !== 'resourceGroup') problems.push(`expression ${e}: ${head} is not declared`)
  }
  let previous: string | undefined
  for (const r of read.resources) {
    const [type, version] = r.type.split('@')
    if (!RESOURCE_TYPES.includes(type ?? '') || version !== '2024-05-01') problems.push(`resource ${r.symbol}: type ${r.type}`)
    if (!isObj(r.body)) continue
    if (type === 'Microsoft.Network/firewallPolicies/ruleCollectionGroups') {
      if (r.body['parent'] !== '[firewallPolicy]') problems.push(`resource ${r.symbol}: parent is not the firewall policy`)
      problems.push(...schemaProblems(rcgSchema, r.body['properties'], r.symbol), ...rcgExtraProblems(r.body['properties'], r.symbol))
      const deps = Array.isArray(r.body['dependsOn']) ? (r.body['dependsOn'] as string[]) : []
      if (previous !== undefined && !deps.includes(`[${previous}]`)) problems.push(`resource ${r.symbol}: does not depend on ${previous}`)
      previous = r.symbol
    }
  }
  return { problems }
}

// ---------------------------------------------------------------------------------------------
// terraform

const validateTerraform: Validator = async (text) => {
  let hcl: Obj
  try {
    hcl = (await parseHcl('main.tf', text)) as Obj
  } catch (e) {
    return { problems: [`HCL: ${String(e)}`] }
  }
  const problems: string[] = []
  const variables = isObj(hcl['variable']) ? Object.keys(hcl['variable']) : []
  for (const m of text.matchAll(/\bvar\.([a-z_]+)/g)) if (!variables.includes(String(m[1]))) problems.push(`var.${String(m[1])} is not declared`)
  const resources = isObj(hcl['resource']) ? hcl['resource'] : {}
  const allowedTypes = ['azurerm_firewall_policy', 'azurerm_ip_group', 'azurerm_firewall_policy_rule_collection_group', 'azurerm_route_table', 'azurerm_subnet_route_table_association']
  for (const type of Object.keys(resources)) if (!allowedTypes.includes(type)) problems.push(`resource type ${type}`)
  const one = (x: unknown): Obj => (Array.isArray(x) && isObj(x[0]) ? x[0] : isObj(x) ? x : {})
  const list = (x: unknown): Obj[] => (Array.isArray(x) ? x.filter(isObj) : [])
  const inRange = (v: unknown, lo: number, hi: number): boolean => typeof v === 'number' && v >= lo && v <= hi
  const groups = isObj(resources['azurerm_firewall_policy_rule_collection_group']) ? resources['azurerm_firewall_policy_rule_collection_group'] : {}
  for (const [label, raw] of Object.entries(groups)) {
    const g = one(raw)
    const where = `rule collection group ${label}`
    for (const k of Object.keys(g)) if (!['name', 'firewall_policy_id', 'priority', 'application_rule_collection', 'network_rule_collection', 'nat_rule_collection', 'depends_on'].includes(k)) problems.push(`${where}: unknown attribute or block ${k}`)
    if (typeof g['name'] !== 'string' || typeof g['firewall_policy_id'] !== 'string') problems.push(`${where}: name and firewall_policy_id are required`)
    if (!inRange(g['priority'], 100, 65000)) problems.push(`${where}: priority ${String(g['priority'])} outside 100-65000`)
    const kinds = { application_rule_collection: ['Allow', 'Deny'], network_rule_collection: ['Allow', 'Deny'], nat_rule_collection: ['Dnat'] } as const
    const priorities: unknown[] = []
    for (const [kind, actions] of Object.entries(kinds)) {
      for (const c of list(g[kind])) {
        const cw = `${where}: ${kind} ${String(c['name'])}`
        priorities.push(c['priority'])
        if (!inRange(c['priority'], 100, 65000)) problems.push(`${cw}: priority outside 100-65000`)
        if (!(actions as readonly string[]).includes(String(c['action']))) problems.push(`${cw}: action ${String(c['action'])}`)
        const rules = list(c['rule'])
        if (rules.length === 0) problems.push(`${cw}: no rule`)
        for (const r of rules) {
          const rw = `${cw}/${String(r['name'])}`
          if (typeof r['name'] !== 'string') problems.push(`${rw}: name required`)
          if (kind === 'application_rule_collection') {
            const protocols = list(r['protocols'])
            if (protocols.length === 0) problems.push(`${rw}: protocols required`)
            for (const p of protocols) if (!['Http', 'Https'].includes(String(p['type'])) || !inRange(p['port'], 0, 64000)) problems.push(`${rw}: protocol ${JSON.stringify(p)}`)
            if (r['destination_fqdns'] === undefined && r['destination_fqdn_tags'] === undefined) problems.push(`${rw}: no destination`)
          } else if (kind === 'network_rule_collection') {
            const protocols = Array.isArray(r['protocols']) ? (r['protocols'] as unknown[]) : []
            if (protocols.length === 0 || !protocols.every((p) => ['Any', 'TCP', 'UDP', 'ICMP'].includes(String(p)))) problems.push(`${rw}: protocols ${JSON.stringify(r['protocols'])}`)
            if (!Array.isArray(r['destination_ports'])) problems.push(`${rw}: destination_ports required`)
            const dests = ['destination_addresses', 'destination_ip_groups', 'destination_fqdns'].filter((k) => r[k] !== undefined)
            if (dests.length === 0) problems.push(`${rw}: no destination`)
            if (r['destination_fqdns'] !== undefined && dests.length > 1) problems.push(`${rw}: FQDNs mixed with addresses`)
          } else {
            const protocols = Array.isArray(r['protocols']) ? (r['protocols'] as unknown[]) : []
            if (protocols.length === 0 || !protocols.every((p) => ['TCP', 'UDP'].includes(String(p)))) problems.push(`${rw}: protocols ${JSON.stringify(r['protocols'])}`)
            if (typeof r['destination_address'] !== 'string') problems.push(`${rw}: destination_address required`)
            if (!Array.isArray(r['destination_ports']) || (r['destination_ports'] as unknown[]).length !== 1) problems.push(`${rw}: exactly one destination port`)
            if (!inRange(r['translated_port'], 1, 65535)) problems.push(`${rw}: translated_port required`)
            if ((r['translated_address'] === undefined) === (r['translated_fqdn'] === undefined)) problems.push(`${rw}: one of translated_address and translated_fqdn`)
          }
        }
      }
    }
    if (new Set(priorities).size !== priorities.length) problems.push(`${where}: two collections share a priority`)
  }
  const tables = isObj(resources['azurerm_route_table']) ? Object.values(resources['azurerm_route_table']) : []
  const routes = tables.flatMap((t) => list(one(t)['route']))
  if (!routes.some((r) => r['address_prefix'] === '0.0.0.0/0' && r['next_hop_type'] === 'VirtualAppliance' && r['next_hop_in_ip_address'] !== undefined)) problems.push('route table: no 0.0.0.0/0 to the firewall')
  if (!routes.some((r) => String(r['address_prefix']).endsWith('/32') && r['next_hop_type'] === 'Internet')) problems.push('route table: no firewall public IP /32 to Internet')
  return { problems }
}

// ---------------------------------------------------------------------------------------------
// squid

let squidSsl: true | string | undefined
function squidWithSsl(): true | string {
  if (squidSsl !== undefined) return squidSsl
  const v = spawnSync('squid', ['-v'], { encoding: 'utf8' })
  if (v.error) squidSsl = 'squid is not installed (apt-get install squid-openssl)'
  else if (!v.stdout.includes('--with-openssl')) squidSsl = 'this squid has no OpenSSL, so no ssl_bump (apt-get install squid-openssl)'
  else squidSsl = true
  return squidSsl
}

const validateSquid: Validator = (text) => {
  const ssl = squidWithSsl()
  if (typeof ssl === 'string') return { skip: ssl }
  const dir = mkdtempSync(join(tmpdir(), 'aks-egress-squid-'))
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'bump.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=aks-egress-test'], { stdio: 'ignore' })
    writeFileSync(join(dir, 'bump.pem'), readFileSync(join(dir, 'cert.pem'), 'utf8') + readFileSync(join(dir, 'bump.pem'), 'utf8'))
    writeFileSync(join(dir, 'fragment.conf'), text)
    const conf = join(dir, 'squid.conf')
    writeFileSync(conf, [`http_port 127.0.0.1:3128 ssl-bump tls-cert=${join(dir, 'bump.pem')} generate-host-certificates=off`, `include ${join(dir, 'fragment.conf')}`, `cache_log ${join(dir, 'cache.log')}`, 'access_log none', 'pid_filename none', ''].join('\n'))
    const r = spawnSync('squid', ['-k', 'parse', '-f', conf], { encoding: 'utf8', cwd: dir })
    const bad = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => /FATAL|ERROR|WARNING|Bungled/.test(l))
    return { problems: r.status === 0 && bad.length === 0 ? [] : [`squid -k parse exited ${String(r.status)}`, ...bad] }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

// ---------------------------------------------------------------------------------------------
// Kubernetes

function dtsKeys(dir: string, out = new Set<string>()): Set<string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) dtsKeys(p, out)
    else if (name.endsWith('.d.ts')) for (const m of readFileSync(p, 'utf8').matchAll(/^\s*"([A-Za-z0-9$_-]+)"\??:/gm)) out.add(m[1] ?? '')
  }
  return out
}

let knownKeys: Set<string> | undefined
function kubernetesKeys(): Set<string> {
  if (knownKeys) return knownKeys
  const pkg = (name: string): string => dirname(require.resolve(`${name}/package.json`))
  knownKeys = dtsKeys(pkg('@kubernetes-models/cilium'))
  dtsKeys(join(pkg('kubernetes-models'), 'networking.k8s.io', 'v1'), knownKeys)
  dtsKeys(join(pkg('@kubernetes-models/apimachinery'), 'apis', 'meta', 'v1'), knownKeys)
  return knownKeys
}

/** Every key of the object is a field the models define (maps of labels excepted). */
function unknownKeys(value: unknown, path: string, out: string[]): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      unknownKeys(v, `${path}[${i}]`, out)
    })
  }
  else if (isObj(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (!kubernetesKeys().has(k)) out.push(`${path}.${k}: not a field of the schema`)
      if (!['matchLabels', 'labels', 'annotations'].includes(k)) unknownKeys(v, `${path}.${k}`, out)
    }
  }
}

function yamlDocuments(text: string): { values: unknown[]; problems: string[] } {
  const docs = parseAllDocuments(text)
  const problems = docs.flatMap((d) => d.errors.map((e) => `YAML: ${e.message}`))
  return { values: docs.map((d) => d.toJS() as unknown), problems }
}

function modelProblems(validate: () => void): string[] {
  try {
    validate()
    return []
  } catch (e) {
    return [String(e instanceof Error ? e.message : e)]
  }
}

const L3 = ['toCIDR', 'toCIDRSet', 'toEntities', 'toEndpoints', 'toFQDNs', 'toServices', 'toGroups', 'toNodes']

const validateCilium: Validator = (text) => {
  const { values, problems } = yamlDocuments(text)
  for (const v of values) {
    if (!isObj(v)) continue
    const kind = v['kind']
    const model = kind === 'CiliumClusterwideNetworkPolicy' ? new CiliumClusterwideNetworkPolicy(v as never) : kind === 'CiliumNetworkPolicy' ? new CiliumNetworkPolicy(v as never) : undefined
    if (!model) {
      problems.push(`kind ${String(kind)}`)
      continue
    }
    problems.push(...modelProblems(() => { model.validate() }))
    unknownKeys(v, String(kind), problems)
    const spec = isObj(v['spec']) ? v['spec'] : {}
    let fqdns = false
    let dns = false
    for (const section of ['egress', 'egressDeny']) {
      for (const [i, rule] of (Array.isArray(spec[section]) ? (spec[section] as unknown[]) : []).entries()) {
        if (!isObj(rule)) continue
        const selectors = L3.filter((k) => rule[k] !== undefined)
        if (selectors.length > 1) problems.push(`${section}[${i}]: combines ${selectors.join(' and ')} (Cilium takes one L3 selector per rule)`)
        if (rule['toFQDNs'] !== undefined) fqdns = true
        if (section === 'egressDeny' && rule['toFQDNs'] !== undefined) problems.push(`${section}[${i}]: toFQDNs in a deny rule`)
        for (const s of Array.isArray(rule['toFQDNs']) ? (rule['toFQDNs'] as Obj[]) : []) {
          const p = typeof s['matchPattern'] === 'string' ? s['matchPattern'] : ''
          if (p.includes('**') && !(p.startsWith('**.') && !p.slice(3).includes('**'))) problems.push(`${section}[${i}]: "**" only as a "**." prefix: ${p}`)
        }
        for (const tp of Array.isArray(rule['toPorts']) ? (rule['toPorts'] as Obj[]) : []) {
          if (Array.isArray(tp['ports']) && tp['ports'].length > 40) problems.push(`${section}[${i}]: more than 40 ports`)
          if (isObj(tp['rules']) && tp['rules']['dns'] !== undefined) dns = true
        }
      }
    }
    if (fqdns && !dns) problems.push('toFQDNs without the DNS rule that lets Cilium learn addresses')
  }
  return { problems }
}

const validateNetworkPolicy: Validator = (text) => {
  const { values, problems } = yamlDocuments(text)
  for (const v of values) {
    if (!isObj(v) || v['kind'] !== 'NetworkPolicy') {
      problems.push('not a NetworkPolicy')
      continue
    }
    problems.push(...modelProblems(() => { new NetworkPolicy(v).validate() }))
    unknownKeys(v, 'NetworkPolicy', problems)
  }
  return { problems }
}

const validateCalico: Validator = (text) => {
  const { values, problems } = yamlDocuments(text)
  for (const v of values) {
    problems.push(...schemaProblems(calicoSchema, v, 'GlobalNetworkPolicy'))
    const spec = isObj(v) && isObj(v['spec']) ? v['spec'] : {}
    for (const [i, r] of (Array.isArray(spec['egress']) ? (spec['egress'] as unknown[]) : []).entries()) {
      if (!isObj(r)) continue
      const d = isObj(r['destination']) ? r['destination'] : {}
      if (d['domains'] !== undefined && r['action'] !== 'Allow') problems.push(`egress[${i}]: domains in a ${String(r['action'])} rule (Allow only)`)
      if (d['ports'] !== undefined && !['TCP', 'UDP', 'SCTP', 'UDPLite'].includes(String(r['protocol']))) problems.push(`egress[${i}]: ports need protocol TCP, UDP, SCTP or UDPLite`)
    }
  }
  return { problems }
}

/** The validator of each target; a target without one is skipped by the suite, with that reason. */
function validateNftables(text: string): Validation {
  if (process.getuid?.() !== 0) return { skip: 'nft -c needs root (a network namespace of its own); CI runs as root' }
  const ns = `aeg${process.pid}x${Math.floor(Math.random() * 0xffffff).toString(16)}-nftcheck`
  const add = spawnSync('ip', ['netns', 'add', ns], { encoding: 'utf8' })
  if (add.status !== 0) return { skip: `cannot make a network namespace: ${add.stderr.trim()}` }
  try {
    const run: RunNft = (argv, input) => spawnSync('ip', ['netns', 'exec', ns, ...argv], { input, encoding: 'utf8', timeout: 60_000 })
    return { problems: nftCheckProblems(run, text) }
  } finally {
    spawnSync('ip', ['netns', 'del', ns])
  }
}

export const VALIDATORS: Readonly<Record<string, Validator>> = {
  'azure-cli': validateAzureCli,
  arm: validateArm,
  bicep: validateBicep,
  terraform: validateTerraform,
  squid: validateSquid,
  cilium: validateCilium,
  calico: validateCalico,
  networkpolicy: validateNetworkPolicy,
  nftables: validateNftables,
}
