/**
 * @module The source addresses a rule accepts, compiled once. Rules name few sources (a node
 * subnet, an IP group of a handful of blocks), and many rules name the same ones, so the engine
 * keeps one `SourceSet` per distinct list (`sourceSetKey`), and a set of up to `LINEAR_MAX`
 * blocks of a family is a flat array of networks and masks scanned in place: a cache line or
 * two, no hashing. Larger sets go to a `CidrIndex`. Addresses come as `int32` words
 * (ip-words.ts), so a check allocates nothing, IPv6 included.
 */
import { v4Mask, v6Mask, type Cidr } from './cidr.ts'
import { CidrIndexBuilder, type CidrIndex } from './cidr-index.ts'
import { IP_V4, IP_V6, wordsOfIpv6, type IpKind } from './ip-words.ts'
import { PostingsBuilder } from './postings.ts'

const LINEAR_MAX = 8

/** Room for what a CidrIndex lookup writes (33 IPv4 or 129 IPv6 references). */
const found = new Int32Array(129)

export class SourceSet {
  /** Network and mask per IPv4 block, when there are at most LINEAR_MAX of them. */
  readonly #v4: Int32Array
  /** Four network words then four mask words per IPv6 block, when there are at most LINEAR_MAX. */
  readonly #v6: Int32Array
  /** Every block, when a family has more than LINEAR_MAX. */
  readonly #index: CidrIndex | undefined

  constructor(cidrs: readonly Cidr[]) {
    const v4 = cidrs.filter((c) => c.v === 4)
    const v6 = cidrs.filter((c) => c.v === 6)
    if (v4.length <= LINEAR_MAX && v6.length <= LINEAR_MAX) {
      this.#v4 = new Int32Array(v4.length * 2)
      v4.forEach((c, i) => { this.#v4.set([c.network | 0, v4Mask(c.prefix) | 0], i * 2); })
      this.#v6 = new Int32Array(v6.length * 8)
      v6.forEach((c, i) => { this.#v6.set([...wordsOfIpv6(c.network), ...wordsOfIpv6(v6Mask(c.prefix))], i * 8); })
      this.#index = undefined
    } else {
      this.#v4 = new Int32Array(0)
      this.#v6 = new Int32Array(0)
      const builder = new CidrIndexBuilder()
      for (const c of cidrs) builder.add(c, 0)
      this.#index = builder.build(new PostingsBuilder())
    }
  }

  /** True when a block contains the address `kind`/`w` (see `parseIpWords`). */
  has(kind: IpKind, w: Int32Array): boolean {
    if (this.#index) {
      if (kind === IP_V4) return this.#index.collect4(w[0]!, found, 0) > 0
      return kind === IP_V6 && this.#index.collect6(w, found, 0) > 0
    }
    if (kind === IP_V4) {
      const ip = w[0]!
      const v4 = this.#v4
      for (let i = 0; i < v4.length; i += 2) if ((ip & v4[i + 1]!) === v4[i]) return true
      return false
    }
    if (kind !== IP_V6) return false
    const v6 = this.#v6
    for (let i = 0; i < v6.length; i += 8) {
      if ((w[0]! & v6[i + 4]!) === v6[i] && (w[1]! & v6[i + 5]!) === v6[i + 1] && (w[2]! & v6[i + 6]!) === v6[i + 2] && (w[3]! & v6[i + 7]!) === v6[i + 3]) return true
    }
    return false
  }
}

/** A key equal for two lists of blocks that accept the same addresses in the same way. */
export function sourceSetKey(cidrs: readonly Cidr[]): string {
  return cidrs
    .map((c) => `${c.v}:${c.network.toString(16)}/${c.prefix}`)
    .sort()
    .join(',')
}
