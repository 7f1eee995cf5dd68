/**
 * @module Which kinds of network-rule destination can match a flow's protocol and port, in one
 * byte read: a prefilter, so that a flow no network rule of a kind can match skips that kind's
 * lookup (an HTTPS flow on 443 in a policy whose FQDN network rules are all UDP 123 and TCP 9000
 * never hashes its name for them).
 *
 * It over-approximates and never under-approximates: a set bit means "some rule of this kind
 * takes this protocol and port", nothing about addresses or sources. Rule ports are 1–65535
 * (`*` too), so no rule takes a port outside that range. ICMP has no ports: one mask for it.
 */
import { ALL_PORTS, type PortRange } from './port-range.ts'

/** Destination kinds: blocks or `*` (address phase), names, service tags. */
export const COVER_ADDRESS = 1
export const COVER_NAME = 2
export const COVER_TAG = 4
export const COVER_ALL = COVER_ADDRESS | COVER_NAME | COVER_TAG

export class PortCoverBuilder {
  /** Per protocol (TCP, UDP) and kind (bit index), the port ranges of the rules recorded. */
  readonly #ranges: PortRange[][] = [[], [], [], [], [], []]
  #icmp = 0

  /**
   * Records a rule: `tcp`/`udp`/`icmp` as it takes them, `ports` null for every port (1–65535),
   * `kinds` the COVER_ bits of its destinations.
   */
  add(tcp: boolean, udp: boolean, icmp: boolean, ports: readonly PortRange[] | null, kinds: number): void {
    if (icmp) this.#icmp |= kinds
    const ranges = ports ?? [ALL_PORTS]
    for (let k = 0; k < 3; k++) {
      if ((kinds & (1 << k)) === 0) continue
      if (tcp) for (const r of ranges) this.#ranges[k]!.push(r)
      if (udp) for (const r of ranges) this.#ranges[3 + k]!.push(r)
    }
  }

  build(): PortCover {
    // One byte per port: TCP kinds in bits 0-2, UDP kinds in bits 3-5. Each list of ranges is
    // laid down with a difference array: +1 where a range starts, -1 after it ends.
    const cover = new Uint8Array(65536)
    const delta = new Int32Array(65537)
    for (let list = 0; list < 6; list++) {
      const ranges = this.#ranges[list]!
      if (ranges.length === 0) continue
      delta.fill(0)
      for (const r of ranges) {
        delta[r.from]! += 1
        delta[r.to + 1]! -= 1
      }
      const bit = 1 << list
      let running = 0
      for (let port = 0; port < 65536; port++) {
        running += delta[port]!
        if (running > 0) cover[port]! |= bit
      }
    }
    return new PortCover(cover, this.#icmp)
  }
}

export class PortCover {
  /** TCP kinds in bits 0-2, UDP kinds in bits 3-5, by port. */
  readonly #cover: Uint8Array
  readonly #icmp: number

  constructor(cover: Uint8Array, icmp: number) {
    this.#cover = cover
    this.#icmp = icmp
  }

  /**
   * The COVER_ bits for a flow: `protocol` 1 TCP, 2 UDP, 4 ICMP (the engine's bits). A port in
   * range that is not an integer (no packet has one) is left to the rules (every bit set).
   */
  coverOf(protocol: number, port: number): number {
    if (protocol === 4) return this.#icmp
    if (!(port >= 1 && port <= 65535)) return 0
    if ((port | 0) !== port) return COVER_ALL
    const bits = this.#cover[port]!
    return protocol === 1 ? bits & COVER_ALL : bits >>> 3
  }
}
