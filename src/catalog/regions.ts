/**
 * @module Azure region names per cloud (`catalog/regions.yaml`), validated with a "did you mean".
 */
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { didYouMean } from '../util/did-you-mean.ts'
import { CLOUDS, type Cloud } from './catalog-types.ts'
import { CATALOG_DIR, CatalogError } from './load-catalog.ts'

let regions: ReadonlyMap<Cloud, readonly string[]> | undefined

/** The region names (ARM `location` values: lower case, no spaces) of each cloud. */
export function regionsOf(cloud: Cloud): readonly string[] {
  if (!regions) {
    const raw: unknown = parse(readFileSync(new URL('regions.yaml', CATALOG_DIR), 'utf8'))
    const map = new Map<Cloud, readonly string[]>()
    for (const c of CLOUDS) {
      const list = (raw as Record<string, unknown> | null)?.[c]
      if (!Array.isArray(list) || !list.every((x) => typeof x === 'string' && /^[a-z0-9]+$/.test(x))) {
        throw new CatalogError(`catalog/regions.yaml: "${c}" must be a list of lower-case region names`)
      }
      map.set(c, Object.freeze([...(list as string[])]))
    }
    regions = map
  }
  return regions.get(cloud) ?? []
}

export type RegionCheck =
  | { readonly ok: true; readonly region: string }
  | { readonly ok: false; readonly suggestion?: string; readonly otherCloud?: Cloud }

/**
 * Checks a region name for a cloud. Accepts the display form too ("West Europe" → westeurope,
 * as ARM does when it normalises a location). On failure, suggests the closest name of this cloud
 * and says when the name belongs to another cloud.
 */
export function checkRegion(cloud: Cloud, input: string): RegionCheck {
  const normal = input.toLowerCase().replace(/[\s_-]/g, '')
  const known = regionsOf(cloud)
  if (known.includes(normal)) return { ok: true, region: normal }
  const otherCloud = CLOUDS.find((c) => c !== cloud && regionsOf(c).includes(normal))
  const suggestion = didYouMean(normal, known)
  return {
    ok: false,
    ...(suggestion === undefined ? {} : { suggestion }),
    ...(otherCloud === undefined ? {} : { otherCloud }),
  }
}
