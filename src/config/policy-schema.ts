/**
 * @module The policy file format (`apiVersion: aks-egress/v1`), described once: the validator
 * walks these descriptors, and `aks-egress policy schema` turns them into a JSON Schema (draft
 * 2020-12) for editors. Field names follow Azure Firewall Policy's ARM properties so that Azure
 * users read a policy at once (DESIGN.md §3).
 */

import type { DiagnosticCode } from '../diagnostics/codes.ts'

export type Spec =
  | { readonly t: 'string'; readonly description: string; readonly enum?: readonly string[]; readonly caseInsensitive?: boolean }
  | { readonly t: 'integer'; readonly description: string; readonly min: number; readonly max: number; readonly rangeCode?: DiagnosticCode }
  | { readonly t: 'boolean'; readonly description: string }
  /** A port spec: an integer, or a string such as "443", "1000-2000", "*". */
  | { readonly t: 'port'; readonly description: string }
  | { readonly t: 'list'; readonly description: string; readonly items: Spec; readonly minItems?: number }
  | { readonly t: 'object'; readonly description: string; readonly fields: Readonly<Record<string, Field>> }
  | { readonly t: 'map'; readonly description: string; readonly values: Spec }
  /** An object whose fields depend on the value of `key` (rule collections by `type`). */
  | { readonly t: 'tagged'; readonly description: string; readonly key: string; readonly variants: Readonly<Record<string, Spec & { t: 'object' }>> }

export interface Field {
  readonly spec: Spec
  readonly required?: boolean
  /** The code for this field's "missing" and "not allowed" problems, when not the generic one. */
  readonly code?: DiagnosticCode
}

const str = (description: string): Spec => ({ t: 'string', description })
const strList = (description: string): Spec => ({ t: 'list', description, items: { t: 'string', description } })
const priority = (what: string): Spec => ({
  t: 'integer',
  description: `Priority of the ${what}: 100 (first) to 65000 (last). Azure Firewall processes lower numbers first.`,
  min: 100,
  max: 65000,
  rangeCode: 'PRIORITY_RANGE',
})
const name = (what: string): Field => ({
  required: true,
  spec: {
    t: 'string',
    description: `Name of the ${what}: letters, digits, "_", "." and "-", starting with a letter or digit, ending with a letter, digit or "_", at most 80 characters (Azure Firewall's rule).`,
  },
})

const sourceFields = {
  sourceAddresses: { spec: strList('Source IPs, CIDRs, ranges (10.2.0.0-10.2.0.31) or "*". Default: "*".') },
  sourceIpGroups: { spec: strList('Names of IP groups (under ipGroups) whose addresses are sources.') },
} as const

const description = { spec: str('What the rule is for.') } as const

const applicationRule: Spec & { t: 'object' } = {
  t: 'object',
  description: 'An application rule: HTTP matched by Host header, HTTPS and MSSQL by TLS SNI.',
  fields: {
    name: name('rule'),
    description,
    ...sourceFields,
    protocols: {
      required: true,
      spec: { t: 'list', minItems: 1, description: 'Protocols and ports: "Http:80", "Https:443", "Mssql:1433".', items: str('Protocol:port') },
    },
    targetFqdns: { spec: strList('FQDN patterns: "a.b.com", "*.b.com" (subdomains of any depth, not b.com itself), "*".') },
    fqdnTags: { spec: strList('FQDN tags: "AzureKubernetesService" (the profile\'s catalog).') },
  },
}

const networkRule: Spec & { t: 'object' } = {
  t: 'object',
  description: 'A network rule: IP protocol, addresses and ports.',
  fields: {
    name: name('rule'),
    description,
    ...sourceFields,
    ipProtocols: {
      required: true,
      spec: { t: 'list', minItems: 1, description: 'IP protocols.', items: { t: 'string', description: 'IP protocol', enum: ['TCP', 'UDP', 'ICMP', 'Any'] } },
    },
    destinationAddresses: { spec: strList('Destination IPs, CIDRs, ranges, "*", or service tags (AzureCloud.westeurope).') },
    destinationIpGroups: { spec: strList('Names of IP groups whose addresses are destinations.') },
    destinationFqdns: { spec: strList('Destination FQDN patterns, resolved through the DNS proxy ("*.b.com" is an aks-egress extension).') },
    destinationPorts: {
      required: true,
      spec: { t: 'list', minItems: 1, description: 'Destination ports: 443, "1000-2000", "*".', items: { t: 'port', description: 'A port, a range or "*"' } },
    },
  },
}

const natRule: Spec & { t: 'object' } = {
  t: 'object',
  description: 'A DNAT rule: traffic to the firewall\'s public address and port is translated to an internal one.',
  fields: {
    name: name('rule'),
    description,
    ...sourceFields,
    ipProtocols: {
      required: true,
      spec: { t: 'list', minItems: 1, description: 'IP protocols.', items: { t: 'string', description: 'IP protocol', enum: ['TCP', 'UDP'] } },
    },
    destinationAddress: { required: true, spec: str('The firewall\'s public IP address the rule listens on.') },
    destinationPort: { required: true, spec: { t: 'integer', description: 'The port it listens on (1-63999, as Azure allows).', min: 1, max: 63999, rangeCode: 'PORT_INVALID' } },
    translatedAddress: { spec: str('The internal address traffic is sent to (one of translatedAddress, translatedFqdn).') },
    translatedFqdn: { spec: str('The internal name traffic is sent to.') },
    translatedPort: { required: true, spec: { t: 'integer', description: 'The internal port.', min: 1, max: 65535, rangeCode: 'PORT_INVALID' } },
  },
}

const collection = (type: string, action: readonly string[], rule: Spec & { t: 'object' }): Spec & { t: 'object' } => ({
  t: 'object',
  description: `A rule collection of ${type} rules.`,
  fields: {
    name: name('rule collection'),
    type: { required: true, spec: { t: 'string', description: 'Rule type of the collection.', enum: ['application', 'network', 'dnat'] } },
    priority: { required: true, spec: priority('rule collection within its group') },
    // Every action is accepted here; check-policy.ts reports one that does not fit the type.
    action: { required: true, spec: { t: 'string', description: `Action of the collection: ${action.join(' or ')}.`, enum: ['Allow', 'Deny', 'DNAT'] } },
    rules: { required: true, spec: { t: 'list', description: 'The rules, in order.', items: rule } },
  },
})

export const POLICY_SPEC: Spec & { t: 'object' } = {
  t: 'object',
  description: 'An aks-egress policy: an Azure Firewall Policy for the egress of AKS nodes.',
  fields: {
    apiVersion: { required: true, code: 'API_VERSION_UNSUPPORTED', spec: { t: 'string', description: 'Format version: aks-egress/v1.', enum: ['aks-egress/v1'] } },
    name: { spec: str('Name of the policy (defaults to the file name).') },
    profile: {
      spec: {
        t: 'object',
        description: 'The cluster profile: which catalog entries apply (the AzureKubernetesService FQDN tag expands to them).',
        fields: {
          cloud: { code: 'CLOUD_UNKNOWN', spec: { t: 'string', description: 'Azure cloud.', enum: ['public', 'china', 'usgov'] } },
          location: { spec: str('Region of the cluster (ARM name: westeurope).') },
          catalog: { spec: str('Catalog edition: 2019-11, 2026-06 or latest.') },
          features: { spec: strList('Add-ons (and recommended sets) switched on: monitoring, gpu, windows, ...') },
          recommended: { spec: { t: 'boolean', description: 'Whether the recommended sets (ubuntu-updates) apply. Default: true.' } },
          apiServerIp: { spec: str('The API server\'s public IP address.') },
          nodeCidrs: { spec: strList('The node subnets.') },
          dnsServerIp: { spec: str('The custom DNS server the nodes use.') },
          devSpacesFqdn: { spec: str('Azure Dev Spaces data-plane FQDN (2019-11 dev-spaces add-on).') },
        },
      },
    },
    settings: {
      spec: {
        t: 'object',
        description: 'How the policy is enforced.',
        fields: {
          mode: { spec: { t: 'string', description: 'enforce, or report (allow all and log wouldDeny).', enum: ['enforce', 'report'] } },
          dnsPolicy: {
            spec: { t: 'string', description: 'allow-all (like Azure Firewall), or allowed-only (REFUSED for names no rule allows).', enum: ['allow-all', 'allowed-only'] },
          },
          unsafeAllowPrivateRanges: {
            spec: strList('Private, loopback, link-local or CGNAT blocks the firewall may dial (default: none; they are refused).'),
          },
        },
      },
    },
    ipGroups: { spec: { t: 'map', description: 'IP groups: name → IPs, CIDRs and ranges.', values: strList('Members') } },
    ruleCollectionGroups: {
      required: true,
      spec: {
        t: 'list',
        description: 'Rule collection groups. DNAT rules are processed first, then network rules, then application rules, whatever the priorities.',
        items: {
          t: 'object',
          description: 'A rule collection group.',
          fields: {
            name: name('rule collection group'),
            priority: { required: true, spec: priority('rule collection group') },
            ruleCollections: {
              required: true,
              spec: {
                t: 'list',
                description: 'Rule collections.',
                items: {
                  t: 'tagged',
                  key: 'type',
                  description: 'A rule collection: type application, network or dnat.',
                  variants: {
                    application: collection('application', ['Allow', 'Deny'], applicationRule),
                    network: collection('network', ['Allow', 'Deny'], networkRule),
                    dnat: collection('dnat', ['DNAT'], natRule),
                  },
                },
              },
            },
          },
        },
      },
    },
  },
}

type Json = string | number | boolean | null | Json[] | { [k: string]: Json }

function toJsonSchema(spec: Spec): { [k: string]: Json } {
  switch (spec.t) {
    case 'string':
      return { type: 'string', description: spec.description, ...(spec.enum ? { enum: [...spec.enum] } : {}) }
    case 'integer':
      return { type: 'integer', description: spec.description, minimum: spec.min, maximum: spec.max }
    case 'boolean':
      return { type: 'boolean', description: spec.description }
    case 'port':
      return {
        description: spec.description,
        oneOf: [
          { type: 'integer', minimum: 1, maximum: 65535 },
          { type: 'string', pattern: '^(\\*|[0-9]{1,5}(-[0-9]{1,5})?)$' },
        ],
      }
    case 'list':
      return { type: 'array', description: spec.description, items: toJsonSchema(spec.items), ...(spec.minItems ? { minItems: spec.minItems } : {}) }
    case 'map':
      return { type: 'object', description: spec.description, additionalProperties: toJsonSchema(spec.values) }
    case 'object': {
      const properties: { [k: string]: Json } = {}
      const required: string[] = []
      for (const [k, f] of Object.entries(spec.fields)) {
        properties[k] = toJsonSchema(f.spec)
        if (f.required) required.push(k)
      }
      return { type: 'object', description: spec.description, properties, ...(required.length ? { required } : {}), additionalProperties: false }
    }
    case 'tagged':
      return {
        description: spec.description,
        oneOf: Object.entries(spec.variants).map(([tag, v]) => {
          const s = toJsonSchema(v)
          const props = s['properties'] as { [k: string]: Json }
          props[spec.key] = { const: tag, description: `Rule type: ${tag}.` }
          return s
        }),
      }
  }
}

/** The JSON Schema of the policy file, for editors (`aks-egress policy schema`). */
export function policyJsonSchema(): { [k: string]: Json } {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://aks-egress.dev/schema/policy-v1.json',
    title: 'aks-egress policy (aks-egress/v1)',
    ...toJsonSchema(POLICY_SPEC),
  }
}
