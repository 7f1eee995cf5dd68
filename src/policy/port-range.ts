/**
 * @module Port specifications of network rules: `443`, `1000-2000`, `*` (Azure Firewall
 * `destinationPorts`). Ports are 1–65535 (firewall-known-issues: network and application rules
 * take 1–65535; NAT rules only 1–63999, checked by the policy validator).
 */

export interface PortRange {
  readonly from: number
  readonly to: number
}

export type ParsedPorts = { readonly ok: true; readonly range: PortRange; readonly normal: string } | { readonly ok: false; readonly detail: string }

export const ALL_PORTS: PortRange = Object.freeze({ from: 1, to: 65535 })

function parsePort(text: string): number {
  if (text.length === 0 || text.length > 5) return -1
  let n = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x30 || c > 0x39) return -1
    if (i > 0 && n === 0) return -1
    n = n * 10 + (c - 0x30)
  }
  return n >= 1 && n <= 65535 ? n : -1
}

/** Parses one port spec. */
export function parsePortSpec(input: string): ParsedPorts {
  if (input === '*') return { ok: true, range: ALL_PORTS, normal: '*' }
  const dash = input.indexOf('-')
  if (dash === -1) {
    const p = parsePort(input)
    if (p < 0) return { ok: false, detail: `"${input}" is not a port (1-65535), a range (1000-2000) or "*"` }
    return { ok: true, range: { from: p, to: p }, normal: String(p) }
  }
  const a = parsePort(input.slice(0, dash))
  const b = parsePort(input.slice(dash + 1))
  if (a < 0 || b < 0) return { ok: false, detail: `"${input}" is not a port range of two ports 1-65535 (1000-2000)` }
  if (a > b) return { ok: false, detail: `"${input}" starts after it ends; write ${b}-${a}` }
  return { ok: true, range: { from: a, to: b }, normal: a === b ? String(a) : `${a}-${b}` }
}

export function portInRanges(port: number, ranges: readonly PortRange[]): boolean {
  for (const r of ranges) if (port >= r.from && port <= r.to) return true
  return false
}
