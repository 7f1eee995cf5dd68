/**
 * @module Which transparent listeners the policy needs, and on which port each listens. One TLS
 * listener per `Https` rule port and one HTTP listener per `Http` rule port; nftables (the next
 * layer) redirects each original port to its listener:
 * - offset 0 (the default): the listener of original port P listens on P itself, which is what
 *   nftables `redirect` without a port delivers to;
 * - offset N: it listens on P + N (`redirect to :P+N`), for a host where P is taken;
 * - `ephemeral`: each listener takes a free port; the map is printed at startup and served at the
 *   admin endpoint's `/listeners` (tests, benchmarks).
 * A port named by both an Http and an Https rule gets the TLS listener (logged as a warning).
 */
import type { PolicyState } from './policy-state.ts'

export type TransparentPorts = { readonly kind: 'offset'; readonly offset: number } | { readonly kind: 'ephemeral' }

export interface PlannedListener {
  readonly kind: 'tls' | 'http'
  readonly originalPort: number
  /** 0 for an ephemeral port. */
  readonly listenPort: number
}

/** The port the listener of `originalPort` listens on; -1 when it would be outside 1-65535. */
export function transparentListenPort(originalPort: number, ports: TransparentPorts): number {
  if (ports.kind === 'ephemeral') return 0
  const p = originalPort + ports.offset
  return p >= 1 && p <= 65535 ? p : -1
}

export function planTransparentListeners(state: PolicyState, ports: TransparentPorts): { listeners: PlannedListener[]; warnings: string[] } {
  const listeners: PlannedListener[] = []
  const warnings: string[] = []
  const add = (kind: 'tls' | 'http', originalPort: number): void => {
    const listenPort = transparentListenPort(originalPort, ports)
    if (listenPort < 0) {
      warnings.push(`no ${kind} listener for port ${originalPort}: with the port offset it would be outside 1-65535`)
      return
    }
    listeners.push({ kind, originalPort, listenPort })
  }
  for (const p of [...state.httpsPorts].sort((a, b) => a - b)) add('tls', p)
  for (const p of [...state.httpPorts].sort((a, b) => a - b)) {
    if (state.httpsPorts.has(p)) {
      warnings.push(`port ${p} has both Http and Https rules; its transparent listener reads TLS`)
      continue
    }
    add('http', p)
  }
  return { listeners, warnings }
}
