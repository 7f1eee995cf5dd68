/**
 * @module The cluster profile (cloud, region, catalog edition, add-ons, parameters) and the
 * endpoints it selects from the catalog, with `<placeholders>` substituted. An entry whose
 * parameter was not given keeps its placeholder and lists it in `missing`: it is reported, never
 * silently dropped (DESIGN.md §1).
 */
import { diagnostic, type Diagnostic, type Span } from '../diagnostics/diagnostic.ts'
import { parseAddressBlock } from '../policy/cidr.ts'
import { normalizeName } from '../policy/fqdn.ts'
import { parseIp } from '../policy/ip-address.ts'
import { didYouMean } from '../util/did-you-mean.ts'
import { CLOUDS, PARAMETERS, type CatalogEdition, type CatalogEntry, type Cloud, type ParameterName } from './catalog-types.ts'
import { listEditions, loadEdition, resolveEditionName } from './load-catalog.ts'
import { checkRegion } from './regions.ts'

export interface Profile {
  readonly cloud: Cloud
  /** ARM region name (`westeurope`); needed by every `<location>` entry. */
  readonly location?: string
  /** The edition, resolved (never `latest`). */
  readonly catalog: string
  /** Add-ons (and recommended sets) switched on. */
  readonly features: readonly string[]
  /** Whether the edition's recommended sets are on (`--no-recommended` turns them off). */
  readonly recommended: boolean
  readonly apiServerIp?: string
  /** The node subnets: the sources of the default policy's rules. */
  readonly nodeCidrs: readonly string[]
  readonly dnsServerIp?: string
  readonly devSpacesFqdn?: string
}

/** A profile as written: on the command line or under `profile:` in a policy file. */
export interface ProfileInput {
  readonly cloud?: string | undefined
  readonly location?: string | undefined
  readonly catalog?: string | undefined
  readonly features?: readonly string[] | undefined
  readonly recommended?: boolean | undefined
  readonly apiServerIp?: string | undefined
  readonly nodeCidrs?: readonly string[] | undefined
  readonly dnsServerIp?: string | undefined
  readonly devSpacesFqdn?: string | undefined
}

export type ProfileField = keyof ProfileInput

/** Where a profile field was written, so that diagnostics can point at it. */
export interface FieldLocator {
  /** How to name the field to the user: `--location` or `profile.location`. */
  label(field: ProfileField): string
  span?(field: ProfileField, index?: number): Span | undefined
  readonly file?: string
}

export const DEFAULT_CLOUD: Cloud = 'public'

/** How to write a field's value where the label comes from: `--cloud china`, `profile.cloud: china`. */
function setting(label: string, value: string): string {
  return label.startsWith('--') ? `${label} ${value}` : `${label}: ${value}`
}

function at(locator: FieldLocator, field: ProfileField, index?: number): { file?: string; span?: Span } {
  const span = locator.span?.(field, index)
  return { ...(locator.file === undefined ? {} : { file: locator.file }), ...(span ? { span } : {}) }
}

/** Checks a profile input; returns the profile when there is no error, and every diagnostic. */
export function checkProfile(input: ProfileInput, locator: FieldLocator): { profile?: Profile; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = []
  const cloudText = input.cloud ?? DEFAULT_CLOUD
  let cloud: Cloud | undefined
  if ((CLOUDS as readonly string[]).includes(cloudText)) cloud = cloudText as Cloud
  else {
    const guess = didYouMean(cloudText, CLOUDS)
    diagnostics.push(
      diagnostic('CLOUD_UNKNOWN', {
        message: `Cloud "${cloudText}" of ${locator.label('cloud')} is not one of ${CLOUDS.join(', ')}`,
        fix: guess ? `did you mean "${guess}"?` : `use one of ${CLOUDS.join(', ')}`,
        ...at(locator, 'cloud'),
      }),
    )
  }

  const catalogText = input.catalog ?? 'latest'
  const catalog = resolveEditionName(catalogText)
  if (catalog === undefined) {
    const names = [...listEditions(), 'latest']
    const guess = didYouMean(catalogText, names)
    diagnostics.push(
      diagnostic('CATALOG_UNKNOWN', {
        message: `Catalog edition "${catalogText}" of ${locator.label('catalog')} does not exist`,
        fix: guess ? `did you mean "${guess}"?` : `use one of ${names.join(', ')}`,
        ...at(locator, 'catalog'),
      }),
    )
  }

  let location: string | undefined
  if (input.location !== undefined && cloud) {
    const check = checkRegion(cloud, input.location)
    if (check.ok) location = check.region
    else {
      const fix = check.otherCloud
        ? `"${input.location}" is a region of the ${check.otherCloud} cloud: use ${setting(locator.label('cloud'), check.otherCloud)}, or pick a ${cloud} region`
        : check.suggestion
          ? `did you mean "${check.suggestion}"?`
          : `run "aks-egress endpoints --help" for the region names of each cloud`
      diagnostics.push(
        diagnostic('REGION_UNKNOWN', {
          message: `Region "${input.location}" of ${locator.label('location')} is not a ${cloud} region`,
          fix,
          ...at(locator, 'location'),
        }),
      )
    }
  }

  const features: string[] = []
  if (catalog !== undefined) {
    const edition = loadEdition(catalog)
    const names = edition.features.map((f) => f.name)
    ;(input.features ?? []).forEach((f, i) => {
      if (names.includes(f)) {
        if (!features.includes(f)) features.push(f)
        if (cloud && !edition.entries.some((e) => e.feature === f && e.clouds.includes(cloud))) {
          // The source lists no endpoints of this add-on for this cloud (2026-06 has no 21Vianet
          // table for Key Vault or cluster extensions): say so rather than add nothing silently.
          diagnostics.push(
            diagnostic('FEATURE_NOT_IN_CLOUD', {
              message: `Feature "${f}" of ${locator.label('features')} has no endpoints for the ${cloud} cloud in catalog edition ${catalog}: the source lists none, so it adds no rule`,
              fix: 'check the add-on\'s documentation for this cloud, and add its endpoints to the policy by hand if it needs any',
              ...at(locator, 'features', i),
            }),
          )
        }
        return
      }
      const guess = didYouMean(f, names)
      diagnostics.push(
        diagnostic('FEATURE_UNKNOWN', {
          message: `Feature "${f}" of ${locator.label('features')} is not in catalog edition ${catalog}`,
          fix: guess ? `did you mean "${guess}"?` : `edition ${catalog} has: ${names.join(', ')}`,
          ...at(locator, 'features', i),
        }),
      )
    })
  }

  const apiServerIp = checkIp(input.apiServerIp, 'apiServerIp', locator, diagnostics)
  const dnsServerIp = checkIp(input.dnsServerIp, 'dnsServerIp', locator, diagnostics)
  const nodeCidrs: string[] = []
  ;(input.nodeCidrs ?? []).forEach((c, i) => {
    const parsed = parseAddressBlock(c)
    if (parsed.ok && !parsed.any) {
      if (parsed.normal !== c) {
        diagnostics.push(
          diagnostic('ADDRESS_NOT_NORMALIZED', {
            message: `Node CIDR "${c}" of ${locator.label('nodeCidrs')} is not in canonical form`,
            fix: `write "${parsed.normal}"`,
            ...at(locator, 'nodeCidrs', i),
          }),
        )
      } else nodeCidrs.push(parsed.normal)
      return
    }
    diagnostics.push(
      diagnostic(parsed.ok ? 'ADDRESS_INVALID' : parsed.suggestion ? 'ADDRESS_NOT_NORMALIZED' : 'ADDRESS_INVALID', {
        message: parsed.ok ? `Node CIDR of ${locator.label('nodeCidrs')} cannot be "*"` : `Node CIDR of ${locator.label('nodeCidrs')}: ${parsed.detail}`,
        fix: !parsed.ok && parsed.suggestion ? `write "${parsed.suggestion}"` : 'give the node subnet, e.g. 10.240.0.0/16',
        ...at(locator, 'nodeCidrs', i),
      }),
    )
  })
  let devSpacesFqdn: string | undefined
  if (input.devSpacesFqdn !== undefined) {
    const n = normalizeName(input.devSpacesFqdn)
    if (n.ok && n.name === input.devSpacesFqdn) devSpacesFqdn = n.name
    else {
      diagnostics.push(
        diagnostic(n.ok ? 'FQDN_NOT_NORMALIZED' : 'FQDN_INVALID', {
          message: n.ok
            ? `Name "${input.devSpacesFqdn}" of ${locator.label('devSpacesFqdn')} is not in normal form`
            : `${locator.label('devSpacesFqdn')}: ${n.detail}`,
          fix: n.ok ? `write "${n.name}"` : 'give the dataplaneFqdn from the Dev Spaces settings.json',
          ...at(locator, 'devSpacesFqdn'),
        }),
      )
    }
  }

  if (diagnostics.some((d) => d.severity === 'error') || !cloud || catalog === undefined) return { diagnostics }
  const profile: Profile = {
    cloud,
    catalog,
    features,
    recommended: input.recommended ?? true,
    nodeCidrs,
    ...(location === undefined ? {} : { location }),
    ...(apiServerIp === undefined ? {} : { apiServerIp }),
    ...(dnsServerIp === undefined ? {} : { dnsServerIp }),
    ...(devSpacesFqdn === undefined ? {} : { devSpacesFqdn }),
  }
  return { profile: Object.freeze(profile), diagnostics }
}

function checkIp(value: string | undefined, field: ProfileField, locator: FieldLocator, out: Diagnostic[]): string | undefined {
  if (value === undefined) return undefined
  const ip = parseIp(value)
  if (ip) {
    const block = parseAddressBlock(value)
    if (block.ok && !block.any && block.normal === value) return value
    if (block.ok && !block.any) {
      out.push(
        diagnostic('ADDRESS_NOT_NORMALIZED', {
          message: `Address "${value}" of ${locator.label(field)} is not in canonical form`,
          fix: `write "${block.normal}"`,
          ...at(locator, field),
        }),
      )
      return undefined
    }
  }
  out.push(
    diagnostic('ADDRESS_INVALID', {
      message: `"${value}" of ${locator.label(field)} is not an IP address`,
      fix: 'give one IPv4 or IPv6 address',
      ...at(locator, field),
    }),
  )
  return undefined
}

/** A catalog entry as it applies to one profile. */
export interface ResolvedEndpoint {
  readonly entry: CatalogEntry
  /** The target with the profile's parameters substituted (placeholders kept where missing). */
  readonly target: string
  /** Parameters the target needs and the profile lacks. */
  readonly missing: readonly ParameterName[]
  /** Alternatives that are fully substituted. */
  readonly alternatives: readonly string[]
  /** `required`, `recommended`, or the add-on's name (the `category` of `endpoints --output json`). */
  readonly category: string
}

function parameterValue(profile: Profile, name: ParameterName): string | undefined {
  switch (name) {
    case 'location':
      return profile.location
    case 'api-server-ip':
      return profile.apiServerIp
    case 'dns-server-ip':
      return profile.dnsServerIp
    case 'dev-spaces-fqdn':
      return profile.devSpacesFqdn
  }
}

/** Substitutes `<name>` placeholders; returns the text and the names that had no value. */
export function substitute(text: string, profile: Profile): { text: string; missing: ParameterName[] } {
  const missing: ParameterName[] = []
  const out = text.replace(/<([a-z-]+)>/g, (whole, name: string) => {
    const known = (PARAMETERS as readonly string[]).includes(name) ? (name as ParameterName) : undefined
    const value = known ? parameterValue(profile, known) : undefined
    if (value === undefined) {
      if (known && !missing.includes(known)) missing.push(known)
      return whole
    }
    return value
  })
  return { text: out, missing }
}

/** Whether the profile selects an entry: its cloud, and required or a switched-on feature. */
export function selects(profile: Profile, entry: CatalogEntry): boolean {
  if (!entry.clouds.includes(profile.cloud)) return false
  if (entry.category === 'required') return true
  const feature = entry.feature ?? ''
  if (profile.features.includes(feature)) return true
  return entry.category === 'recommended' && profile.recommended
}

/** The endpoints a profile needs, in catalog order. */
export function resolveEndpoints(profile: Profile, edition: CatalogEdition = loadEdition(profile.catalog)): ResolvedEndpoint[] {
  const out: ResolvedEndpoint[] = []
  for (const entry of edition.entries) {
    if (!selects(profile, entry)) continue
    const { text, missing } = substitute(entry.target, profile)
    const alternatives = (entry.alternatives ?? []).map((a) => substitute(a, profile)).filter((a) => a.missing.length === 0).map((a) => a.text)
    out.push(
      Object.freeze({
        entry,
        target: text,
        missing,
        alternatives,
        category: entry.category === 'required' ? 'required' : entry.category === 'recommended' ? 'recommended' : (entry.feature ?? 'addon'),
      }),
    )
  }
  return out
}

/**
 * The names the `AzureKubernetesService` FQDN tag stands for under a profile: the FQDN entries
 * with an HTTP or HTTPS port whose parameters are all known (azure-facts §1.9: the tag "contains
 * all the FQDNs listed" and applies to application rules only).
 */
export function aksFqdnTagNames(endpoints: readonly ResolvedEndpoint[]): string[] {
  const names = new Set<string>()
  for (const e of endpoints) {
    if (e.entry.kind !== 'fqdn' || e.missing.length > 0) continue
    if (e.entry.protocols.some((p) => p.startsWith('http'))) names.add(e.target)
  }
  return [...names]
}

/** A diagnostic per endpoint that needs a parameter the profile lacks. */
export function missingParameterDiagnostics(endpoints: readonly ResolvedEndpoint[]): Diagnostic[] {
  const flags: Record<ParameterName, string> = {
    location: '--location',
    'api-server-ip': '--api-server',
    'dns-server-ip': '--dns-server',
    'dev-spaces-fqdn': '--dev-spaces-fqdn',
  }
  return endpoints
    .filter((e) => e.missing.length > 0)
    .map((e) =>
      diagnostic('PARAMETER_MISSING', {
        message: `Endpoint ${e.entry.id} (${e.entry.target} ${e.entry.protocols.join(',')}) needs ${e.missing.map((m) => `<${m}>`).join(' and ')}${e.entry.condition ? ` (${e.entry.condition})` : ''}`,
        fix: `give ${e.missing.map((m) => flags[m]).join(' and ')}`,
      }),
    )
}
