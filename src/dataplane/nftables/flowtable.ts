/**
 * @module The flowtable fast path of the aks-egress table: its declaration, the forward-chain rule
 * that offloads flows into it, and the check-mode probe that tells whether the kernel has it.
 *
 * A flowtable (kernel Documentation/networking/nf_flowtable.rst; nftables wiki "Flowtables") hooks
 * the ingress of its devices. A packet of a flow it holds is forwarded from there by the flowtable
 * itself, NAT included (the flow keeps the conntrack entry's NAT bindings): the prerouting,
 * forward and postrouting hooks, conntrack's per-packet work and the routing lookup are skipped.
 *
 * Invariants, so that the fast path never bypasses the policy:
 * - Only `ct state established` TCP and UDP flows are added (`flow add @ft`), in the first rule of
 *   the forward chain, just before `ct state established,related accept`: a flow is established
 *   only once conntrack saw a reply, i.e. once its first packet was accepted by this chain (the
 *   network rules, DNAT) and by postrouting (masquerade). The kernel adds nothing else either: it
 *   offloads only confirmed entries, TCP only when established and without FIN/RST
 *   (net/netfilter/nft_flow_offload.c), and hands a flow back to the slow path on FIN, RST, an
 *   MTU it cannot keep, or after 30 s idle (nf_flowtable_tcp_timeout / udp_timeout).
 * - Every packet the forward chain would see of such a flow it would accept (its first rule), so
 *   skipping the chain changes no verdict. Connections that outlive a policy change already did so
 *   (established flows pass; DESIGN.md §4, docs/appliance.md §8).
 * - The flowtable is part of the one table: a reload (`delete table`, declare anew, one
 *   transaction) drops it with its flows, which go back to conntrack and are offloaded again by the
 *   new table's rule; the cleanup file removes it with the table.
 * - Devices are the appliance's own interfaces: the egress interface and those toward the nodes.
 *   On a one-NIC appliance (Azure's usual) that is one device, in and out through it.
 */

/** The flowtable's name inside the table. */
export const FLOWTABLE_NAME = 'ft'

/** The devices of the flowtable: the interfaces toward the nodes, then the egress interface, each once. */
export function flowtableDevices(egressInterface: string, ingressInterfaces: readonly string[] = []): string[] {
  return [...new Set([...ingressInterfaces, egressInterface])]
}

/**
 * The declaration, one line inside the table. `priority filter` (0): the ingress hook runs before
 * anything of the inet family's prerouting; device names are quoted strings (nft(8), FLOWTABLES).
 */
export function flowtableDeclaration(devices: readonly string[]): string {
  return `flowtable ${FLOWTABLE_NAME} { hook ingress priority filter; devices = { ${devices.map((d) => JSON.stringify(d)).join(', ')} }; }`
}

/** The forward chain's first rule: established TCP and UDP flows, already accepted, go to the fast path. */
export const FLOW_OFFLOAD_RULE = `ct state established meta l4proto { tcp, udp } flow add @${FLOWTABLE_NAME} comment "established flows: the flowtable forwards them"`

/** A table that is never committed (`nft -c`): the kernel says whether it can make this flowtable. */
export function flowtableProbe(devices: readonly string[] | undefined): string {
  const decl = devices === undefined ? `flowtable ${FLOWTABLE_NAME} { hook ingress priority filter; }` : flowtableDeclaration(devices)
  return `table inet aks_egress_probe {\n\t${decl}\n}\n`
}

/** What the kernel said about the flowtable (`probeFlowtable`); `detail` is the runner's rejection (an NftApplyError). */
export type FlowtableSupport =
  | { readonly ok: true }
  /** `kernel`: no flowtable at all (nf_flow_table / CONFIG_NF_FLOW_TABLE missing); `devices`: not on these devices. */
  | { readonly ok: false; readonly reason: 'kernel' | 'devices'; readonly detail: unknown }

/**
 * Asks the kernel, in check mode (a runner made with `nftCommand({ check: true })`: nothing is
 * committed), whether it can make the flowtable: first without devices (is there a flowtable
 * type at all? nf_tables answers ENOENT when none is registered for the family), then on the
 * devices (an interface that does not exist, or that cannot take an ingress hook).
 *
 * @example
 *   const support = await probeFlowtable(nftCommand({ check: true }), ['eth0'])
 *   if (!support.ok) console.error(support.detail)
 */
export async function probeFlowtable(checkRunner: { apply(text: string): Promise<void> }, devices: readonly string[]): Promise<FlowtableSupport> {
  try {
    await checkRunner.apply(flowtableProbe(undefined))
  } catch (e) {
    return { ok: false, reason: 'kernel', detail: e }
  }
  try {
    await checkRunner.apply(flowtableProbe(devices))
  } catch (e) {
    return { ok: false, reason: 'devices', detail: e }
  }
  return { ok: true }
}
