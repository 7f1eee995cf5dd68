/**
 * @module Which transparent listeners the policy needs, and on which port each listens. One TLS
 * listener per `Https` rule port and one HTTP listener per `Http` rule port; nftables redirects
 * each original port to its listener (`redirect to :PORT`):
 * - offset N (default 15000): the listener of original port P listens on P + N, so that the
 *   listeners never take a port of the appliance's own services (SSH 22, DNS 53, the explicit
 *   proxy); where P + N is above 65535, on the first port from 10000 up that no other listener
 *   and no application port uses (deterministic: `export nftables` prints the same);
 * - offset 0: on P itself;
 * - `ephemeral`: each listener takes a free port; the map is printed at startup and served at the
 *   admin endpoint's `/listeners` (tests, benchmarks).
 * The appliance (dataplane/appliance.ts) gives nftables the ports the listeners are bound to,
 * whatever the mode, so the redirect and the listeners always agree.
 * A port named by both an Http and an Https rule gets the TLS listener (logged as a warning).
 */
import type { PolicyState } from './policy-state.ts'

export type TransparentPorts = { readonly kind: 'offset'; readonly offset: number } | { readonly kind: 'ephemeral' }

/** The default offset of transparent listeners (`--transparent-port-offset`, `export nftables`). */
export const DEFAULT_LISTENER_PORT_OFFSET = 15000
/** Where listeners of ports whose offset port is out of range look for a free port. */
const SPARE_PORT_START = 10000

export interface PlannedListener {
  readonly kind: 'tls' | 'http'
  readonly originalPort: number
  /** 0 for an ephemeral port. */
  readonly listenPort: number
}

/**
 * The listen port of every original port under an offset: P + offset, or (above 65535) the first
 * port from 10000 up that is neither an original port nor another listener's.
 */
export function listenPortsFor(originalPorts: Iterable<number>, offset: number): Map<number, number> {
  const sorted = [...new Set(originalPorts)].sort((a, b) => a - b)
  const out = new Map<number, number>()
  const taken = new Set<number>(sorted)
  for (const p of sorted) if (p + offset <= 65535) taken.add(p + offset)
  let spare = SPARE_PORT_START
  for (const p of sorted) {
    if (p + offset <= 65535) {
      out.set(p, p + offset)
      continue
    }
    while (taken.has(spare)) spare++
    out.set(p, spare)
    taken.add(spare)
  }
  return out
}

export function planTransparentListeners(state: PolicyState, ports: TransparentPorts): { listeners: PlannedListener[]; warnings: string[] } {
  const listeners: PlannedListener[] = []
  const warnings: string[] = []
  const kinds = new Map<number, 'tls' | 'http'>()
  for (const p of state.httpsPorts) kinds.set(p, 'tls')
  for (const p of state.httpPorts) {
    if (state.httpsPorts.has(p)) warnings.push(`port ${p} has both Http and Https rules; its transparent listener reads TLS`)
    else kinds.set(p, 'http')
  }
  const offsetPorts = ports.kind === 'offset' ? listenPortsFor(kinds.keys(), ports.offset) : undefined
  for (const kind of ['tls', 'http'] as const) {
    for (const [originalPort, k] of [...kinds].sort((a, b) => a[0] - b[0])) {
      if (k === kind) listeners.push({ kind, originalPort, listenPort: offsetPorts?.get(originalPort) ?? 0 })
    }
  }
  return { listeners, warnings }
}
