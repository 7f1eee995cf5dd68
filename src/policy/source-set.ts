/**
 * @module The source addresses a rule accepts, compiled once. Rules name few sources (a node
 * subnet, an IP group of a handful of blocks), and many rules name the same ones, so the engine
 * keeps one `SourceSet` per distinct list (`sourceSetKey`) and a set of up to `LINEAR_MAX` IPv4
 * blocks is a flat array of (network, mask) pairs scanned in place: one cache line, no hashing.
 * Larger sets and IPv6 go to a `CidrTable`.
 */
import { v4Mask, type Cidr } from './cidr.ts'
import { CidrTable } from './cidr-table.ts'

const LINEAR_MAX = 8

export class SourceSet {
  /** (network, mask) pairs of the IPv4 blocks, when there are at most LINEAR_MAX of them. */
  readonly #v4: Int32Array
  readonly #v4Table: CidrTable<true> | undefined
  readonly #v6Table: CidrTable<true> | undefined

  constructor(cidrs: readonly Cidr[]) {
    const v4 = cidrs.filter((c) => c.v === 4)
    const v6 = cidrs.filter((c) => c.v === 6)
    if (v4.length <= LINEAR_MAX) {
      this.#v4 = new Int32Array(v4.length * 2)
      v4.forEach((c, i) => {
        this.#v4[i * 2] = c.network | 0
        this.#v4[i * 2 + 1] = v4Mask(c.prefix) | 0
      })
      this.#v4Table = undefined
    } else {
      this.#v4 = new Int32Array(0)
      const table = new CidrTable<true>()
      for (const c of v4) table.add(c, true)
      this.#v4Table = table
    }
    if (v6.length > 0) {
      const table = new CidrTable<true>()
      for (const c of v6) table.add(c, true)
      this.#v6Table = table
    } else {
      this.#v6Table = undefined
    }
  }

  /** True when a block contains `ip` (int32 IPv4 or bigint IPv6, see `parseIpCompact`). */
  has(ip: number | bigint): boolean {
    if (typeof ip === 'number') {
      if (this.#v4Table) return this.#v4Table.has(ip)
      const v4 = this.#v4
      for (let i = 0; i < v4.length; i += 2) if ((ip & v4[i + 1]!) === v4[i]) return true
      return false
    }
    return this.#v6Table ? this.#v6Table.has(ip) : false
  }
}

/** A key equal for two lists of blocks that accept the same addresses in the same way. */
export function sourceSetKey(cidrs: readonly Cidr[]): string {
  return cidrs
    .map((c) => `${c.v}:${c.network.toString(16)}/${c.prefix}`)
    .sort()
    .join(',')
}
