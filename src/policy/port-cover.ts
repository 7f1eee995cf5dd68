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
import type { PortRange } from './port-range.ts'

/** Destination kinds: blocks or `*` (address phase), names, service tags. */
export const COVER_ADDRESS = 1
export const COVER_NAME = 2
export const COVER_TAG = 4
export const COVER_ALL = COVER_ADDRESS | COVER_NAME | COVER_TAG

export class PortCoverBuilder {
  /** Per protocol (TCP, UDP), per kind: +1 where a range starts, -1 after it ends. */
  readonly #deltas = [0, 0, 0, 0, 0, 0].map(() => new Int32Array(65537))
  #icmp = 0

  /**
   * Records a rule: `tcp`/`udp`/`icmp` as it takes them, `ports` null for every port (1–65535),
   * `kinds` the COVER_ bits of its destinations.
   */
  add(tcp: boolean, udp: boolean, icmp: boolean, ports: readonly PortRange[] | null, kinds: number): void {
    if (icmp) this.#icmp |= kinds
    const ranges = ports ?? [{ from: 1, to: 65535 }]
    for (let k = 0; k < 3; k++) {
      if ((kinds & (1 << k)) === 0) continue
      for (const [on, p] of [[tcp, 0], [udp, 1]] as const) {
        if (!on) continue
        const d = this.#deltas[p * 3 + k]!
        for (const r of ranges) {
          d[r.from]! += 1
          d[r.to + 1]! -= 1
        }
      }
    }
  }

  build(): PortCover {
    const tcp = new Uint8Array(65536)
    const udp = new Uint8Array(65536)
    for (let p = 0; p < 2; p++) {
      const out = p === 0 ? tcp : udp
      for (let k = 0; k < 3; k++) {
        const d = this.#deltas[p * 3 + k]!
        let running = 0
        for (let port = 0; port < 65536; port++) {
          running += d[port]!
          if (running > 0) out[port]! |= 1 << k
        }
      }
    }
    return new PortCover(tcp, udp, this.#icmp)
  }
}

export class PortCover {
  readonly #tcp: Uint8Array
  readonly #udp: Uint8Array
  readonly #icmp: number

  constructor(tcp: Uint8Array, udp: Uint8Array, icmp: number) {
    this.#tcp = tcp
    this.#udp = udp
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
    return protocol === 1 ? this.#tcp[port]! : this.#udp[port]!
  }
}
