/**
 * @module Longest-prefix-free CIDR lookup compiled once: one `Map` per prefix length present,
 * keyed by the masked network number (IPv4 as uint32 `number`, IPv6 as `bigint`). A lookup masks
 * the address once per distinct prefix length and probes: at most 33 (IPv4) or 129 (IPv6) probes,
 * in practice a handful. Integer masks, no string work on the hot path.
 */
import { v4Mask, v6Mask, type Cidr } from './cidr.ts'
import type { IpAddress } from './ip-address.ts'

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
        level = { prefix: cidr.prefix, mask: v6Mask(cidr.prefix), map: new Map() }
        this.#v6.push(level)
      }
      const list = level.map.get(cidr.network)
      if (list) list.push(value)
      else level.map.set(cidr.network, [value])
    }
  }

  /** Pushes onto `out` the value list of every block containing `ip`. */
  collect(ip: IpAddress, out: T[][]): void {
    if (ip.v === 4) {
      for (const level of this.#v4) {
        const list = level.map.get((ip.n & level.mask) >>> 0)
        if (list) out.push(list)
      }
    } else {
      for (const level of this.#v6) {
        const list = level.map.get(ip.n & level.mask)
        if (list) out.push(list)
      }
    }
  }

  /** True when some block contains `ip`. */
  has(ip: IpAddress): boolean {
    if (ip.v === 4) {
      for (const level of this.#v4) if (level.map.has((ip.n & level.mask) >>> 0)) return true
    } else {
      for (const level of this.#v6) if (level.map.has(ip.n & level.mask)) return true
    }
    return false
  }
}
