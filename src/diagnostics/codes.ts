/**
 * @module The registry of diagnostic codes: every problem aks-egress reports in user input has one
 * stable code, a summary and a default severity. `docs/errors.md` has one heading per code; a test
 * keeps the two in sync, in both directions. Retired codes MUST NOT be reused.
 */

export const DIAGNOSTIC_CODES = {
  FILE_UNREADABLE: { severity: 'error', summary: 'A file named on the command line cannot be read' },
  YAML_SYNTAX: { severity: 'error', summary: 'The policy file is not well-formed YAML or JSON' },
  API_VERSION_UNSUPPORTED: { severity: 'error', summary: 'apiVersion is missing or not aks-egress/v1' },
  UNKNOWN_KEY: { severity: 'error', summary: 'A key the policy format does not define' },
  MISSING_KEY: { severity: 'error', summary: 'A required key is absent' },
  DUPLICATE_KEY: { severity: 'error', summary: 'A key appears twice in one mapping' },
  TYPE_MISMATCH: { severity: 'error', summary: 'A value has the wrong type (a string where a list belongs, ...)' },
  VALUE_NOT_ALLOWED: { severity: 'error', summary: 'A value outside the allowed set (an action, a protocol, a mode)' },
  NAME_INVALID: { severity: 'error', summary: 'A group, collection, rule or IP group name Azure Firewall would reject' },
  NAME_DUPLICATE: { severity: 'error', summary: 'Two groups, two collections of a group, or two rules of a collection share a name' },
  PRIORITY_RANGE: { severity: 'error', summary: 'A priority outside 100-65000' },
  PRIORITY_DUPLICATE: { severity: 'warning', summary: 'Two groups, or two collections of a group, share a priority' },
  ACTION_MISMATCH: { severity: 'error', summary: 'An action that does not fit the collection type' },
  RULE_NO_DESTINATION: { severity: 'error', summary: 'A rule with no destination' },
  FQDN_INVALID: { severity: 'error', summary: 'A name or FQDN pattern that is not a valid host name' },
  FQDN_NOT_NORMALIZED: { severity: 'error', summary: 'A name not written in normal form (lower case, no trailing dot, punycode)' },
  FQDN_WILDCARD_POSITION: { severity: 'error', summary: 'A wildcard that is not the left-most character of the pattern' },
  FQDN_WILDCARD_SUFFIX: { severity: 'warning', summary: 'A "*name" pattern, which also matches look-alike names' },
  FQDN_WILDCARD_BROAD: { severity: 'warning', summary: 'A pattern that matches every name, or every name under a top-level domain' },
  FQDN_TAG_UNKNOWN: { severity: 'error', summary: 'An FQDN tag aks-egress cannot expand' },
  FQDN_TAG_NEEDS_PROFILE: { severity: 'error', summary: 'The AzureKubernetesService tag is used without a profile to expand it' },
  ADDRESS_INVALID: { severity: 'error', summary: 'An address, CIDR, range or service tag that cannot be parsed' },
  ADDRESS_NOT_NORMALIZED: { severity: 'error', summary: 'A CIDR with host bits set, or an address not in canonical form' },
  SERVICE_TAG_UNKNOWN: { severity: 'warning', summary: 'A service tag aks-egress does not know' },
  IP_GROUP_UNKNOWN: { severity: 'error', summary: 'A rule names an IP group the policy does not define' },
  PORT_INVALID: { severity: 'error', summary: 'A port or port range outside 1-65535, or malformed' },
  PROTOCOL_INVALID: { severity: 'error', summary: 'An application protocol not written as Http:PORT, Https:PORT or Mssql:PORT' },
  NAT_TRANSLATION: { severity: 'error', summary: 'A DNAT rule needs exactly one of translatedAddress and translatedFqdn' },
  CLOUD_UNKNOWN: { severity: 'error', summary: 'A cloud other than public, china or usgov' },
  REGION_UNKNOWN: { severity: 'error', summary: 'A region name the cloud does not have' },
  CATALOG_UNKNOWN: { severity: 'error', summary: 'A catalog edition that does not exist' },
  FEATURE_UNKNOWN: { severity: 'error', summary: 'An add-on or recommended set the catalog edition does not have' },
  PARAMETER_MISSING: { severity: 'warning', summary: 'A catalog entry needs a profile parameter that was not given' },
  FLOW_INVALID: { severity: 'error', summary: 'A flow that cannot be parsed (explain)' },
  USAGE: { severity: 'error', summary: 'Bad command-line usage' },
  UNSUPPORTED_BY_TARGET: { severity: 'warning', summary: 'An export target cannot express a rule as written: the substitute used, or (error) left out' },
} as const satisfies Record<string, { severity: 'error' | 'warning'; summary: string }>

export type DiagnosticCode = keyof typeof DIAGNOSTIC_CODES
