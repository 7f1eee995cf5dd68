/**
 * @module The engine's flow for a destination the proxy was asked for (a CONNECT target, a
 * forwarded request's host): IP literals are decided by address, names by their canonical form.
 * Shared by the explicit proxy and the plain-HTTP forwarder.
 */
import { canonicalHost } from '../policy/fqdn.ts'
import { makeFlow, type Flow } from '../policy/flow.ts'
import { parseRawAddress } from '../net/classify-address.ts'

/**
 * The flow of a destination and the host to dial; undefined when `host` is not a valid name.
 * @example flowFor(conn, 'security.ubuntu.com', 80, 'http') // { flow: { protocol: 'http', host: 'security.ubuntu.com', ... }, dialHost: 'security.ubuntu.com' }
 */
export function flowFor(
  conn: { readonly srcIp: string },
  host: string,
  port: number,
  protocol: 'https' | 'http' | 'tcp',
  // The caller may know already (parsing an address literal twice was a visible share of a CONNECT's checks).
  isIp = parseRawAddress(host) !== undefined,
): { flow: Flow; dialHost: string } | undefined {
  if (isIp) {
    // CONNECT to an address: network rules only. Plain HTTP to an address: network rules by
    // address, and application rules whose target is `*` (the engine matches an IP Host so).
    // makeFlow: flows of one shape keep the engine's property reads monomorphic (flow.ts).
    const flow: Flow =
      protocol === 'http'
        ? makeFlow({ protocol, host, destinationIp: host, destinationPort: port, sourceIp: conn.srcIp })
        : makeFlow({ protocol: 'tcp', destinationIp: host, destinationPort: port, sourceIp: conn.srcIp })
    return { flow, dialHost: host }
  }
  const name = canonicalHost(host)
  if (name === undefined) return undefined
  return { flow: makeFlow({ protocol, host: name, destinationPort: port, sourceIp: conn.srcIp }), dialHost: name }
}
