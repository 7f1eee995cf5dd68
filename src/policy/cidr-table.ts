/**
 * @module Longest-prefix-free CIDR lookup compiled once: one `Map` per prefix length present,
 * keyed by the masked network number (IPv4 as uint32 `number`, IPv6 as `bigint`). A lookup masks
 * the address once per distinct prefix length and probes: at most 33 (IPv4) or 129 (IPv6) probes,
 * in practice a handful. Integer masks, no string work on the hot path.
 *
 * IPv6 keys are stored with their two 64-bit halves swapped. V8 hashes a `bigint` Map key by its
 * least significant 64 bits only, and those are zero in every network of prefix 64 or shorter:
 * unswapped, all such blocks of one prefix length share a hash bucket and a lookup walks them
 * all (thousands of comparisons in a large policy). Swapping is a bit permutation, so it
 * commutes with masking: swap(ip & mask) = swap(ip) & swap(mask).
 */
import { v4Mask, v6Mask, type Cidr } from './cidr.ts'
import type { IpAddress } from './ip-address.ts'

const LOW64 = (1n << 64n) - 1n

/** The 128-bit value with its high and low 64-bit halves exchanged. */
function swapHalves(n: bigint): bigint {
  return ((n & LOW64) << 64n) | (n >> 64n)
}

interface Level<K, T> {
  readonly prefix: number
  readonly mask: K
  readonly map: Map<K, T[]>
}

export class CidrTable<T> {
  readonly #v4: Array<Level<number, T>> = []
  readonly #v6: Array<Level<bigint, T>> = []
  #size = 0

  get size(): number {
    return this.#size
  }

  add(cidr: Cidr, value: T): void {
    this.#size++
    if (cidr.v === 4) {
      let level = this.#v4.find((l) => l.prefix === cidr.prefix)
      if (!level) {
        level = { prefix: cidr.prefix, mask: v4Mask(cidr.prefix), map: new Map() }
        this.#v4.push(level)
      }
      const list = level.map.get(cidr.network)
      if (list) list.push(value)
      else level.map.set(cidr.network, [value])
    } else {
      let level = this.#v6.find((l) => l.prefix === cidr.prefix)
      if (!level) {
        level = { prefix: cidr.prefix, mask: swapHalves(v6Mask(cidr.prefix)), map: new Map() }
        this.#v6.push(level)
      }
      const key = swapHalves(cidr.network)
      const list = level.map.get(key)
      if (list) list.push(value)
      else level.map.set(key, [value])
    }
  }

  /** Pushes onto `out` the value list of every block containing `ip`. */
  collect(ip: IpAddress, out: T[][]): void {
    if (ip.v === 4) {
      for (const level of this.#v4) {
        const list = level.map.get((ip.n & level.mask) >>> 0)
        if (list) out.push(list)
      }
    } else if (this.#v6.length > 0) {
      const n = swapHalves(ip.n)
      for (const level of this.#v6) {
        const list = level.map.get(n & level.mask)
        if (list) out.push(list)
      }
    }
  }

  /** True when some block contains `ip`. */
  has(ip: IpAddress): boolean {
    if (ip.v === 4) {
      for (const level of this.#v4) if (level.map.has((ip.n & level.mask) >>> 0)) return true
    } else if (this.#v6.length > 0) {
      const n = swapHalves(ip.n)
      for (const level of this.#v6) if (level.map.has(n & level.mask)) return true
    }
    return false
  }
}
