/**
 * @module The catalog's data model: editions of the AKS egress requirements, one YAML file per
 * edition under `catalog/` (DESIGN.md §1). Data, not code; `load-catalog.ts` validates it.
 *
 * A target is one of four kinds:
 * - `fqdn`: an FQDN pattern (`mcr.microsoft.com`, `*.hcp.<location>.azmk8s.io`);
 * - `address`: a named address parameter the user gives (`<api-server-ip>`, `<dns-server-ip>`);
 * - `service-tag`: an Azure service tag (`AzureCloud.<location>`, `AzureMonitor`);
 * - `any`: every address (`*`).
 * Placeholders `<name>` stand for profile parameters; they are substituted, never guessed.
 */

export const CLOUDS = ['public', 'china', 'usgov'] as const
export type Cloud = (typeof CLOUDS)[number]

export type TargetKind = 'fqdn' | 'address' | 'service-tag' | 'any'

/** `https:443`, `http:80`, `tcp:22`, `udp:123`: lower-case protocol, one port. */
export type EndpointProtocol = `${'http' | 'https' | 'tcp' | 'udp'}:${number}`

/** Profile parameters a catalog target may name as `<name>`. */
export const PARAMETERS = ['location', 'api-server-ip', 'dns-server-ip', 'dev-spaces-fqdn'] as const
export type ParameterName = (typeof PARAMETERS)[number]

export type Category = 'required' | 'recommended' | 'addon'

export interface CatalogEntry {
  /** Stable identifier, unique in the edition (`public.hcp`, `gpu.nvidia-github`). */
  readonly id: string
  readonly clouds: readonly Cloud[]
  readonly kind: TargetKind
  /** The target as the catalog states it, with `<placeholders>`. */
  readonly target: string
  readonly protocols: readonly EndpointProtocol[]
  readonly category: Category
  /** The recommended set or add-on the entry belongs to; absent for `required`. */
  readonly feature?: string
  readonly purpose: string
  /** Section of the source document the entry comes from. */
  readonly section: string
  /** When the entry applies only under a condition ("if pods access the API server"). */
  readonly condition?: string
  /** Where the source is wrong or ambiguous: what it says and what we record instead. */
  readonly note?: string
  /** For `2019-11` table rows: the row exactly as the seed writes it. */
  readonly seed?: { readonly target: string; readonly ports: string }
  /**
   * Other targets that satisfy the same requirement (for `audit`, and for the default policy's
   * choice of destination): `AzureCloud.<location>`, `<api-server-ip>`, an FQDN, `*`.
   */
  readonly alternatives?: readonly string[]
}

export interface FeatureInfo {
  readonly name: string
  readonly category: 'recommended' | 'addon'
  readonly title: string
}

export interface CatalogEdition {
  readonly edition: string
  readonly title: string
  readonly source: string
  readonly features: readonly FeatureInfo[]
  readonly entries: readonly CatalogEntry[]
}
