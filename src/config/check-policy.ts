/**
 * @module Semantic checks of a policy document (after read-document.ts has checked structure and
 * types) and its conversion to the policy model. Every problem at once, each at its span: names,
 * priorities, actions, FQDN patterns (normal form, wildcard position), addresses, ports,
 * protocols, IP groups, FQDN tags, DNAT translations, and the profile.
 */
import { checkProfile, type ProfileField, type ProfileInput, type Profile } from '../catalog/profile.ts'
import { diagnostic, type Diagnostic, type Span } from '../diagnostics/diagnostic.ts'
import type { DiagnosticCode } from '../diagnostics/codes.ts'
import { parseAddressBlock } from '../policy/cidr.ts'
import { isBroadPattern, parseFqdnPattern } from '../policy/fqdn-pattern.ts'
import { normalizeName } from '../policy/fqdn.ts'
import { parseIp } from '../policy/ip-address.ts'
import {
  API_VERSION,
  DEFAULT_SETTINGS,
  type ApplicationProtocol,
  type ApplicationRule,
  type DnsPolicy,
  type Mode,
  type NatProtocol,
  type NatRule,
  type NetworkProtocol,
  type NetworkRule,
  type Policy,
  type RuleCollection,
  type RuleCollectionGroup,
  type Settings,
} from '../policy/policy-model.ts'
import { parsePortSpec } from '../policy/port-range.ts'
import { didYouMean } from '../util/did-you-mean.ts'
import type { Path, SpanIndex } from './read-document.ts'

/** FQDN tags aks-egress can expand. */
export const KNOWN_FQDN_TAGS = ['AzureKubernetesService'] as const

/**
 * Service tags (the part before any `.region`), from Azure's published list; a tag outside it
 * gets a warning, not an error (Microsoft adds tags).
 */
export const KNOWN_SERVICE_TAGS = [
  'ActionGroup', 'ApiManagement', 'AppConfiguration', 'AppService', 'AppServiceManagement', 'AzureActiveDirectory',
  'AzureActiveDirectoryDomainServices', 'AzureAdvancedThreatProtection', 'AzureArcInfrastructure', 'AzureBackup',
  'AzureBotService', 'AzureCloud', 'AzureCognitiveSearch', 'AzureConnectors', 'AzureContainerRegistry', 'AzureCosmosDB',
  'AzureDatabricks', 'AzureDataExplorerManagement', 'AzureDataLake', 'AzureDevOps', 'AzureDevSpaces', 'AzureDigitalTwins',
  'AzureEventGrid', 'AzureFrontDoor', 'AzureHealthcareAPIs', 'AzureInformationProtection', 'AzureIoTHub', 'AzureKeyVault',
  'AzureLoadBalancer', 'AzureMachineLearning', 'AzureMonitor', 'AzureOpenDatasets', 'AzurePlatformDNS', 'AzurePlatformIMDS',
  'AzurePlatformLKM', 'AzureResourceManager', 'AzureSignalR', 'AzureSiteRecovery', 'AzureSphere', 'AzureSpringCloud',
  'AzureStack', 'AzureTrafficManager', 'AzureUpdateDelivery', 'BatchNodeManagement', 'CognitiveServicesFrontend',
  'CognitiveServicesManagement', 'DataFactory', 'DataFactoryManagement', 'Dynamics365ForMarketingEmail', 'EventHub',
  'GatewayManager', 'GuestAndHybridManagement', 'HDInsight', 'Internet', 'LogicApps', 'LogicAppsManagement',
  'MicrosoftCloudAppSecurity', 'MicrosoftContainerRegistry', 'MicrosoftDefenderForEndpoint', 'PowerBI', 'PowerPlatformInfra',
  'PowerQueryOnline', 'ServiceBus', 'ServiceFabric', 'Sql', 'SqlManagement', 'Storage', 'StorageSyncService', 'VirtualNetwork',
  'WindowsAdminCenter', 'WindowsVirtualDesktop',
] as const

const SERVICE_TAG_SHAPE = /^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z0-9]+)*$/

type Obj = Record<string, unknown>

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function strAt(o: Obj | undefined, k: string): string | undefined {
  const v = o?.[k]
  return typeof v === 'string' ? v : undefined
}

function numAt(o: Obj | undefined, k: string): number | undefined {
  const v = o?.[k]
  return typeof v === 'number' ? v : undefined
}

function listAt(o: Obj | undefined, k: string): unknown[] {
  const v = o?.[k]
  return Array.isArray(v) ? v : []
}

/**
 * Azure Firewall names: letters, digits, `_`, `.`, `-`; first a letter or digit; last a letter,
 * digit or `_`; at most 80 characters (azure-facts §2.1).
 */
export function checkAzureName(name: string): string | undefined {
  if (name.length === 0) return 'it is empty'
  if (name.length > 80) return `it has ${name.length} characters; at most 80 are allowed`
  const alnum = (c: number): boolean => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i)
    if (!(alnum(c) || c === 0x5f || c === 0x2e || c === 0x2d)) return `character ${JSON.stringify(name[i])} is not allowed (letters, digits, "_", ".", "-")`
  }
  if (!alnum(name.charCodeAt(0))) return 'it must start with a letter or digit'
  const last = name.charCodeAt(name.length - 1)
  if (!(alnum(last) || last === 0x5f)) return 'it must end with a letter, digit or "_"'
  return undefined
}

/** The fix of an invalid name: the nearest valid name, when there is one. */
function renameFix(name: string): string {
  const near = name
    .replace(/[^A-Za-z0-9_.-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 80)
    .replace(/[^A-Za-z0-9_]+$/, '')
  return near !== '' && checkAzureName(near) === undefined ? `rename it, e.g. "${near}"` : 'rename it'
}

export interface CheckedPolicy {
  readonly policy?: Policy
  readonly diagnostics: Diagnostic[]
}

export function checkPolicy(value: unknown, spans: SpanIndex, file: string, defaultName: string): CheckedPolicy {
  const diagnostics: Diagnostic[] = []
  const report = (code: DiagnosticCode, path: Path, message: string, fix?: string, span?: Span): void => {
    diagnostics.push(diagnostic(code, { message, file, path, fix, span: span ?? spans.get(path) }))
  }
  const doc = isObj(value) ? value : undefined
  if (!doc) return { diagnostics }

  // apiVersion is checked by the reader (its field carries the code API_VERSION_UNSUPPORTED).
  const apiVersion = doc['apiVersion']

  const name = strAt(doc, 'name') ?? defaultName
  if (doc['name'] !== undefined && typeof doc['name'] === 'string') {
    const problem = checkAzureName(name)
    if (problem) report('NAME_INVALID', ['name'], `Policy name "${name}" is not valid: ${problem}`, renameFix(name))
  }

  // Profile
  let profile: Profile | undefined
  const rawProfile = isObj(doc['profile']) ? doc['profile'] : undefined
  if (rawProfile) {
    const fieldKey: Record<ProfileField, string> = {
      cloud: 'cloud', location: 'location', catalog: 'catalog', features: 'features', recommended: 'recommended',
      apiServerIp: 'apiServerIp', nodeCidrs: 'nodeCidrs', dnsServerIp: 'dnsServerIp', devSpacesFqdn: 'devSpacesFqdn',
    }
    const input: ProfileInput = {
      cloud: strAt(rawProfile, 'cloud'),
      location: strAt(rawProfile, 'location'),
      catalog: strAt(rawProfile, 'catalog'),
      features: listAt(rawProfile, 'features').filter((x): x is string => typeof x === 'string'),
      recommended: typeof rawProfile['recommended'] === 'boolean' ? rawProfile['recommended'] : undefined,
      apiServerIp: strAt(rawProfile, 'apiServerIp'),
      nodeCidrs: listAt(rawProfile, 'nodeCidrs').filter((x): x is string => typeof x === 'string'),
      dnsServerIp: strAt(rawProfile, 'dnsServerIp'),
      devSpacesFqdn: strAt(rawProfile, 'devSpacesFqdn'),
    }
    const checked = checkProfile(input, {
      file,
      label: (f) => `profile.${fieldKey[f]}`,
      span: (f, i) => spans.get(i === undefined ? ['profile', fieldKey[f]] : ['profile', fieldKey[f], i]),
    })
    diagnostics.push(...checked.diagnostics)
    profile = checked.profile
  }

  // Settings
  const rawSettings = isObj(doc['settings']) ? doc['settings'] : undefined
  const unsafe: string[] = []
  listAt(rawSettings, 'unsafeAllowPrivateRanges').forEach((v, i) => {
    if (typeof v !== 'string') return
    const checked = checkBlock(v, ['settings', 'unsafeAllowPrivateRanges', i], false)
    if (checked !== undefined) unsafe.push(checked)
  })
  const settings: Settings = {
    mode: (strAt(rawSettings, 'mode') as Mode | undefined) ?? DEFAULT_SETTINGS.mode,
    dnsPolicy: (strAt(rawSettings, 'dnsPolicy') as DnsPolicy | undefined) ?? DEFAULT_SETTINGS.dnsPolicy,
    unsafeAllowPrivateRanges: unsafe,
  }

  // IP groups
  const ipGroups: Record<string, string[]> = {}
  const rawGroups = isObj(doc['ipGroups']) ? doc['ipGroups'] : {}
  for (const [g, members] of Object.entries(rawGroups)) {
    const problem = checkAzureName(g)
    if (problem) report('NAME_INVALID', ['ipGroups', g, '#key'], `IP group name "${g}" is not valid: ${problem}`, renameFix(g))
    const list: string[] = []
    if (Array.isArray(members)) {
      members.forEach((m, i) => {
        if (typeof m !== 'string') return
        const checked = checkBlock(m, ['ipGroups', g, i], false)
        if (checked !== undefined) list.push(checked)
      })
    }
    ipGroups[g] = list
  }

  function checkBlock(text: string, path: Path, allowServiceTag: boolean): string | undefined {
    const parsed = parseAddressBlock(text)
    if (parsed.ok) {
      if (parsed.any) return '*'
      if (parsed.normal !== text) {
        report('ADDRESS_NOT_NORMALIZED', path, `Address "${text}" is not in canonical form`, `write "${parsed.normal}"`)
        return undefined
      }
      return parsed.normal
    }
    if (parsed.suggestion !== undefined && parsed.detail.includes('host bits')) {
      report('ADDRESS_NOT_NORMALIZED', path, `CIDR ${parsed.detail}`, `write "${parsed.suggestion}"`)
      return undefined
    }
    const isTagShaped = SERVICE_TAG_SHAPE.test(text) && !/^[0-9.]+$/.test(text)
    const base = text.split('.')[0] ?? text
    if (!allowServiceTag && isTagShaped && (KNOWN_SERVICE_TAGS as readonly string[]).includes(base)) {
      report('ADDRESS_INVALID', path, `Service tag "${text}" is not allowed here`, 'write an IP, a CIDR or a range; service tags are allowed only in destinationAddresses')
      return undefined
    }
    if (allowServiceTag && isTagShaped) {
      if (!(KNOWN_SERVICE_TAGS as readonly string[]).includes(base)) {
        const guess = didYouMean(base, KNOWN_SERVICE_TAGS)
        report(
          'SERVICE_TAG_UNKNOWN',
          path,
          `"${text}" is neither an address nor a known service tag`,
          guess
            ? `did you mean "${guess}${text.slice(base.length)}"?`
            : /^[a-z]/.test(text)
              ? 'a host name belongs in destinationFqdns; service tags are written like AzureCloud.westeurope'
              : 'check the name against Azure\'s service tag list',
        )
      }
      return text
    }
    // The detail usually names the text already: say it once.
    report(
      'ADDRESS_INVALID',
      path,
      parsed.detail.startsWith(`"${text}" `) ? `Address ${parsed.detail}` : `Address "${text}" is not valid: ${parsed.detail}`,
      parsed.suggestion !== undefined
        ? `write "${parsed.suggestion}"`
        : allowServiceTag
          ? 'write an IP, a CIDR (10.0.0.0/16), a range (10.0.0.1-10.0.0.9), "*" or a service tag'
          : 'write an IP, a CIDR (10.0.0.0/16), a range (10.0.0.1-10.0.0.9) or "*"',
    )
    return undefined
  }

  const checkPattern = (text: string, path: Path, what: string): string | undefined => {
    const parsed = parseFqdnPattern(text)
    if (!parsed.ok) {
      if (parsed.problem === 'wildcard-position' || parsed.problem === 'wildcard-double') {
        report('FQDN_WILDCARD_POSITION', path, `${what} ${parsed.detail}`, parsed.suggestion ? `write "${parsed.suggestion}" (and list the apex separately if you need it)` : 'put the "*" first: "*.example.com"')
      } else if (parsed.problem === 'ip-literal') {
        report('FQDN_INVALID', path, `${what} "${text}" is an IP address`, 'put addresses in destinationAddresses (network rules)')
      } else {
        report('FQDN_INVALID', path, `${what} "${text}" is not a valid name: ${parsed.detail}`, 'write a host name: labels of letters, digits, "-" and "_", 1-63 characters each, like mcr.microsoft.com')
      }
      return undefined
    }
    if (parsed.normal !== text) {
      report('FQDN_NOT_NORMALIZED', path, `${what} "${text}" is not in normal form`, `write "${parsed.normal}" (lower case, no trailing dot, IDN as punycode)`)
      return undefined
    }
    const p = parsed.pattern
    if (p.kind === 'suffix') {
      const base = p.base === '' ? p.tail : `${p.tail}.${p.base}`
      report(
        'FQDN_WILDCARD_SUFFIX',
        path,
        `${what} "${text}" matches every name ending in "${base}", look-alikes such as "evil${base}" included`,
        `write "*.${base}" and "${base}" if you mean the domain and its subdomains`,
      )
    } else if (isBroadPattern(p)) {
      report('FQDN_WILDCARD_BROAD', path, `${what} "${text}" matches ${p.kind === 'subdomain' ? `every name under ".${p.base}"` : 'every name'}`, 'name the domains you need')
    }
    return parsed.normal
  }

  const addressList = (o: Obj, key: string, path: Path, allowServiceTag: boolean): string[] => {
    const out: string[] = []
    listAt(o, key).forEach((v, i) => {
      if (typeof v !== 'string') return
      const checked = checkBlock(v, [...path, key, i], allowServiceTag)
      if (checked !== undefined) out.push(checked)
    })
    return out
  }

  const groupRefs = (o: Obj, key: string, path: Path): string[] => {
    const out: string[] = []
    listAt(o, key).forEach((v, i) => {
      if (typeof v !== 'string') return
      if (!(v in ipGroups)) {
        const guess = didYouMean(v, Object.keys(ipGroups))
        report('IP_GROUP_UNKNOWN', [...path, key, i], `IP group "${v}" is not defined under ipGroups`, guess ? `did you mean "${guess}"?` : 'define it under ipGroups, or remove it')
        return
      }
      out.push(v)
    })
    return out
  }

  const stringsAt = (o: Obj, key: string): string[] => listAt(o, key).filter((x): x is string => typeof x === 'string')

  // Rule collection groups
  const groups: RuleCollectionGroup[] = []
  const groupNames = new Map<string, Path>()
  const groupPriorities = new Map<number, string>()
  const collectionNames = new Map<string, Path>()
  listAt(doc, 'ruleCollectionGroups').forEach((rawGroup, gi) => {
    if (!isObj(rawGroup)) return
    const gPath: Path = ['ruleCollectionGroups', gi]
    const gName = uniqueName(strAt(rawGroup, 'name'), [...gPath, 'name'], 'Rule collection group', groupNames)
    const gPriority = numAt(rawGroup, 'priority')
    if (gPriority !== undefined) {
      const other = groupPriorities.get(gPriority)
      if (other !== undefined) {
        report('PRIORITY_DUPLICATE', [...gPath, 'priority'], `Rule collection group "${gName ?? '?'}" has priority ${gPriority}, as "${other}" does; the one written first is processed first`, 'give each group its own priority')
      } else groupPriorities.set(gPriority, gName ?? '?')
    }
    const collections: RuleCollection[] = []
    const cPriorities = new Map<number, string>()
    listAt(rawGroup, 'ruleCollections').forEach((rawColl, ci) => {
      if (!isObj(rawColl)) return
      const cPath: Path = [...gPath, 'ruleCollections', ci]
      const cName = uniqueName(strAt(rawColl, 'name'), [...cPath, 'name'], 'Rule collection', collectionNames)
      const cPriority = numAt(rawColl, 'priority')
      if (cPriority !== undefined) {
        const other = cPriorities.get(cPriority)
        if (other !== undefined) {
          report('PRIORITY_DUPLICATE', [...cPath, 'priority'], `Rule collection "${cName ?? '?'}" has priority ${cPriority}, as "${other}" in the same group does; the one written first is processed first`, 'give each collection of a group its own priority')
        } else cPriorities.set(cPriority, cName ?? '?')
      }
      const type = strAt(rawColl, 'type')
      const action = strAt(rawColl, 'action')
      if (type !== undefined && action !== undefined) {
        const fits = type === 'dnat' ? action === 'DNAT' : action === 'Allow' || action === 'Deny'
        if (!fits) {
          report('ACTION_MISMATCH', [...cPath, 'action'], `${type === 'application' ? 'An' : 'A'} ${type} collection cannot have action "${action}"`, type === 'dnat' ? 'write action: DNAT' : 'write action: Allow or Deny')
        }
      }
      const ruleNames = new Map<string, Path>()
      const rules: unknown[] = []
      listAt(rawColl, 'rules').forEach((rawRule, ri) => {
        if (!isObj(rawRule)) return
        const rPath: Path = [...cPath, 'rules', ri]
        const rName = uniqueName(strAt(rawRule, 'name'), [...rPath, 'name'], 'Rule', ruleNames)
        if (rName === undefined) return
        const sources = { sourceAddresses: addressList(rawRule, 'sourceAddresses', rPath, false), sourceIpGroups: groupRefs(rawRule, 'sourceIpGroups', rPath) }
        const description = strAt(rawRule, 'description')
        const desc = description === undefined ? {} : { description }
        if (type === 'application') rules.push(applicationRule(rawRule, rPath, rName, sources, desc))
        else if (type === 'network') rules.push(networkRule(rawRule, rPath, rName, sources, desc))
        else if (type === 'dnat') rules.push(natRule(rawRule, rPath, rName, sources, desc))
      })
      if (cName === undefined || cPriority === undefined || type === undefined || action === undefined) return
      collections.push({ type, name: cName, priority: cPriority, action, rules } as RuleCollection)
    })
    if (gName !== undefined && gPriority !== undefined) groups.push({ name: gName, priority: gPriority, ruleCollections: collections })
  })

  function uniqueName(n: string | undefined, path: Path, what: string, seen: Map<string, Path>): string | undefined {
    if (n === undefined) return undefined
    const problem = checkAzureName(n)
    if (problem) {
      // Reported; the checks of what it names go on, so that every problem shows at once.
      report('NAME_INVALID', path, `${what} name "${n}" is not valid: ${problem}`, renameFix(n))
    }
    const key = n.toLowerCase()
    if (seen.has(key)) {
      report('NAME_DUPLICATE', path, `${what} name "${n}" is used twice${what === 'Rule collection' ? ' in the policy' : what === 'Rule' ? ' in the collection' : ''}`, 'rename one of them')
      return n
    }
    seen.set(key, path)
    return n
  }

  type Sources = Pick<ApplicationRule, 'sourceAddresses' | 'sourceIpGroups'>

  function applicationRule(o: Obj, path: Path, name: string, sources: Sources, desc: { description?: string }): ApplicationRule {
    const protocols: ApplicationProtocol[] = []
    listAt(o, 'protocols').forEach((v, i) => {
      if (typeof v !== 'string') return
      const parsed = parseApplicationProtocol(v)
      if (typeof parsed === 'string') report('PROTOCOL_INVALID', [...path, 'protocols', i], `Protocol "${v}" ${parsed}`, 'write Http:80, Https:443 or Mssql:1433')
      else protocols.push(parsed)
    })
    const targetFqdns: string[] = []
    stringsAt(o, 'targetFqdns').forEach((v, i) => {
      const n = checkPattern(v, [...path, 'targetFqdns', i], 'Target FQDN')
      if (n !== undefined) targetFqdns.push(n)
    })
    const fqdnTags: string[] = []
    stringsAt(o, 'fqdnTags').forEach((v, i) => {
      if (!(KNOWN_FQDN_TAGS as readonly string[]).includes(v)) {
        const guess = didYouMean(v, KNOWN_FQDN_TAGS)
        report('FQDN_TAG_UNKNOWN', [...path, 'fqdnTags', i], `FQDN tag "${v}" is not one aks-egress can expand`, guess ? `did you mean "${guess}"?` : `use ${KNOWN_FQDN_TAGS.join(', ')}, or list the FQDNs in targetFqdns`)
        return
      }
      if (!rawProfile) {
        report('FQDN_TAG_NEEDS_PROFILE', [...path, 'fqdnTags', i], `FQDN tag "${v}" expands to the catalog entries of the cluster profile, and the policy has no profile`, 'add a profile: section (cloud, location, catalog, features)')
        return
      }
      fqdnTags.push(v)
    })
    if (o['targetFqdns'] === undefined && o['fqdnTags'] === undefined) {
      report('RULE_NO_DESTINATION', path, `Application rule "${name}" has neither targetFqdns nor fqdnTags`, 'add targetFqdns: [...]', spans.keyOf([...path, 'name']))
    }
    return { name, ...desc, ...sources, protocols, targetFqdns, fqdnTags }
  }

  function networkRule(o: Obj, path: Path, name: string, sources: Sources, desc: { description?: string }): NetworkRule {
    const destinationFqdns: string[] = []
    stringsAt(o, 'destinationFqdns').forEach((v, i) => {
      const n = checkPattern(v, [...path, 'destinationFqdns', i], 'Destination FQDN')
      if (n !== undefined) destinationFqdns.push(n)
    })
    const destinationPorts: string[] = []
    stringsAt(o, 'destinationPorts').forEach((v, i) => {
      const parsed = parsePortSpec(v)
      if (!parsed.ok) report('PORT_INVALID', [...path, 'destinationPorts', i], `Destination port ${parsed.detail}`, 'write one port (443), one range ("1000-2000") or "*" per list item')
      else destinationPorts.push(parsed.normal)
    })
    if (o['destinationAddresses'] === undefined && o['destinationIpGroups'] === undefined && o['destinationFqdns'] === undefined) {
      report('RULE_NO_DESTINATION', path, `Network rule "${name}" has no destinationAddresses, destinationIpGroups or destinationFqdns`, 'add a destination', spans.keyOf([...path, 'name']))
    }
    return {
      name,
      ...desc,
      ...sources,
      ipProtocols: stringsAt(o, 'ipProtocols') as NetworkProtocol[],
      destinationAddresses: addressList(o, 'destinationAddresses', path, true),
      destinationIpGroups: groupRefs(o, 'destinationIpGroups', path),
      destinationFqdns,
      destinationPorts,
    }
  }

  function natRule(o: Obj, path: Path, name: string, sources: Sources, desc: { description?: string }): NatRule {
    const single = (key: string): string | undefined => {
      const v = strAt(o, key)
      if (v === undefined) return undefined
      const ip = parseIp(v)
      const block = parseAddressBlock(v)
      if (!ip || !block.ok || block.any) {
        report('ADDRESS_INVALID', [...path, key], `${key} "${v}" is not one IP address`, 'write one IPv4 or IPv6 address')
        return undefined
      }
      if (block.normal !== v) {
        report('ADDRESS_NOT_NORMALIZED', [...path, key], `${key} "${v}" is not in canonical form`, `write "${block.normal}"`)
        return undefined
      }
      return v
    }
    const destinationAddress = single('destinationAddress') ?? ''
    const translatedAddress = single('translatedAddress')
    let translatedFqdn: string | undefined
    const fqdn = strAt(o, 'translatedFqdn')
    if (fqdn !== undefined) {
      const n = normalizeName(fqdn)
      if (!n.ok) report('FQDN_INVALID', [...path, 'translatedFqdn'], `translatedFqdn "${fqdn}" is not a valid name: ${n.detail}`, 'write a host name: labels of letters, digits, "-" and "_", 1-63 characters each, like mcr.microsoft.com')
      else if (n.name !== fqdn) report('FQDN_NOT_NORMALIZED', [...path, 'translatedFqdn'], `translatedFqdn "${fqdn}" is not in normal form`, `write "${n.name}"`)
      else translatedFqdn = n.name
    }
    const hasAddress = o['translatedAddress'] !== undefined
    const hasFqdn = o['translatedFqdn'] !== undefined
    if (hasAddress === hasFqdn) {
      report(
        'NAT_TRANSLATION',
        hasAddress ? [...path, 'translatedFqdn'] : path,
        hasAddress ? `DNAT rule "${name}" has both translatedAddress and translatedFqdn` : `DNAT rule "${name}" has neither translatedAddress nor translatedFqdn`,
        hasAddress ? 'keep one of them' : 'add translatedAddress: the internal service IP',
        hasAddress ? undefined : spans.keyOf([...path, 'name']),
      )
    }
    return {
      name,
      ...desc,
      ...sources,
      ipProtocols: stringsAt(o, 'ipProtocols') as NatProtocol[],
      destinationAddress,
      destinationPort: numAt(o, 'destinationPort') ?? 0,
      ...(translatedAddress === undefined ? {} : { translatedAddress }),
      ...(translatedFqdn === undefined ? {} : { translatedFqdn }),
      translatedPort: numAt(o, 'translatedPort') ?? 0,
    }
  }

  if (diagnostics.some((d) => d.severity === 'error')) return { diagnostics }
  if (apiVersion !== API_VERSION) return { diagnostics }
  const policy: Policy = {
    apiVersion: API_VERSION,
    name,
    ...(profile ? { profile } : {}),
    settings,
    ipGroups,
    ruleCollectionGroups: groups,
  }
  return { policy: deepFreeze(policy), diagnostics }
}

/** `Https:443` → {type, port}; the type is matched case-insensitively and written back canonical. */
export function parseApplicationProtocol(text: string): ApplicationProtocol | string {
  const sep = text.indexOf(':') === -1 ? text.indexOf('=') : text.indexOf(':')
  if (sep === -1) return 'has no port (write Https:443)'
  const typeText = text.slice(0, sep).toLowerCase()
  const type = typeText === 'http' ? 'Http' : typeText === 'https' ? 'Https' : typeText === 'mssql' ? 'Mssql' : undefined
  if (!type) return `has protocol "${text.slice(0, sep)}"; application rules take Http, Https and Mssql (use a network rule for TCP and UDP)`
  const parsed = parsePortSpec(text.slice(sep + 1))
  if (!parsed.ok || parsed.range.from !== parsed.range.to) return 'needs one port from 1 to 65535'
  return { type, port: parsed.range.from }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return value
}

