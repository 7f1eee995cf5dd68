/**
 * @module The transparent appliance's L4 and DNS half (DESIGN.md §4): the nftables table applied
 * and kept in step with the policy, the DNS proxy started with learning into the table's sets.
 * `serve --transparent` runs it beside the L7 listeners (dataplane/appliance.ts), which give it
 * the ports they are bound to.
 *
 * Lifecycle: `start()` applies the table (atomically) and starts the DNS proxy; `reload(policy,
 * listenerPorts)` compiles the new policy and replaces the table in one transaction carrying the
 * learned addresses: if the kernel refuses it the old table stays and the promise rejects;
 * `stop()` stops the DNS proxy and removes the table.
 */
import { fqdnTagsFor } from '../config/load-policy.ts'
import { DnsProxy, type DnsProxyOptions } from '../dns/dns-proxy.ts'
import type { DnsLogSink } from '../dns/dns-log.ts'
import { DnsMetrics } from '../dns/dns-metrics.ts'
import { FqdnLearner, type LearnerOptions } from '../dns/learner.ts'
import { namePolicyFor } from '../dns/name-policy.ts'
import type { UpstreamAddress } from '../dns/upstream.ts'
import { isIPv4 } from 'node:net'
import type { ResolveResult } from '../net/resolve.ts'
import type { Policy } from '../policy/policy-model.ts'
import { cleanupRuleset, compileNftables, TABLE, type NftablesOptions, type NftablesRuleset } from './nftables/compile-nftables.ts'
import { NftQueue, type NftRunner } from './nftables/nft-runner.ts'

export interface TransparentOptions {
  readonly nft: NftablesOptions
  readonly dns: {
    readonly listen: { readonly host: string; readonly port: number }
    readonly upstream: UpstreamAddress
  } & Partial<Omit<DnsProxyOptions, 'listen' | 'upstream' | 'names' | 'learn' | 'log' | 'metrics'>>
  readonly learner?: LearnerOptions
  readonly runner: NftRunner
  readonly dnsLog?: DnsLogSink
  /** Events worth a log line (`event`: nftables-applied, nftables-reloaded, nftables-removed, learn-error, dnat-fqdn-changed). */
  readonly onEvent?: (event: { readonly event: string } & Record<string, unknown>) => void
  /**
   * Resolves DNAT rules' `translatedFqdn`s (the proxy's resolver: `--hosts`, then DNS), at start,
   * on every reload, and again every `dnatRefreshMs`; without it such rules are left out (a note).
   */
  readonly resolve?: (name: string) => Promise<ResolveResult>
  /** How often DNAT names are resolved again (default 60 s; a change replaces the table). */
  readonly dnatRefreshMs?: number
}

/** At most this many distinct DNAT names are resolved (each rule holds one). */
const MAX_DNAT_NAMES = 1000

/** Azure DNS, the default upstream on Azure (azure-facts §2.4). */
export const AZURE_DNS: UpstreamAddress = Object.freeze({ host: '168.63.129.16', port: 53 })

export class TransparentAppliance {
  readonly metrics = new DnsMetrics()
  readonly #o: TransparentOptions
  #nft: NftablesOptions
  readonly #queue: NftQueue
  #policy: Policy
  #ruleset: NftablesRuleset
  readonly #learner: FqdnLearner
  #dns: DnsProxy | undefined
  #sweep: NodeJS.Timeout | undefined
  #refresh: NodeJS.Timeout | undefined
  #refreshing = false
  #chain: Promise<void> = Promise.resolve()
  #applied = false

  constructor(policy: Policy, options: TransparentOptions) {
    this.#o = options
    this.#nft = options.nft
    this.#queue = new NftQueue(options.runner)
    this.#policy = policy
    this.#ruleset = compileNftables(policy, options.nft)
    this.#learner = new FqdnLearner(this.#ruleset.sets, this.#queue, this.metrics, {
      ...options.learner,
      onError: (e) => options.onEvent?.({ event: 'learn-error', error: e instanceof Error ? e.message : String(e) }),
    })
  }

  get ruleset(): NftablesRuleset {
    return this.#ruleset
  }

  get policy(): Policy {
    return this.#policy
  }

  /** The table is applied and the DNS proxy answers. */
  get ready(): boolean {
    return this.#applied && this.#dns !== undefined
  }

  /** Applies the table, then starts the DNS proxy; returns the DNS address bound. */
  async start(): Promise<{ dns: { host: string; port: number } }> {
    const resolvedFqdns = await this.#resolveDnatNames(this.#policy)
    if (resolvedFqdns.size > 0) {
      this.#nft = { ...this.#nft, resolvedFqdns }
      this.#ruleset = compileNftables(this.#policy, this.#nft)
      this.#learner.commit(this.#ruleset.sets, new Map())
    }
    await this.#queue.apply(this.#ruleset.text)
    this.#applied = true
    this.#o.onEvent?.({ event: 'nftables-applied', table: TABLE, rules: this.#ruleset.stats.lines, sets: this.#ruleset.sets.size, notes: this.#ruleset.notes })
    const dnsOptions: DnsProxyOptions = {
      ...this.#o.dns,
      names: namePolicyFor(this.#policy, fqdnTagsFor(this.#policy)),
      learn: (name, packet) => this.#learner.learn(name, packet),
      metrics: this.metrics,
      ...(this.#o.dnsLog ? { log: this.#o.dnsLog } : {}),
    }
    const proxy = new DnsProxy(dnsOptions)
    try {
      const dns = await proxy.start()
      this.#dns = proxy
      this.#sweep = setInterval(() => {
        this.#learner.sweep()
      }, 60_000)
      this.#sweep.unref()
      this.#refresh = setInterval(() => {
        void this.#refreshDnatNames()
      }, this.#o.dnatRefreshMs ?? 60_000)
      this.#refresh.unref()
      return { dns }
    } catch (e) {
      await proxy.close()
      await this.stop()
      throw e
    }
  }

  /**
   * Replaces the table for a new policy (and, when given, the listeners' new ports); on failure
   * the old table, policy and ports stay and the promise rejects.
   */
  reload(policy: Policy, listenerPorts?: ReadonlyMap<number, number>): Promise<void> {
    return this.#serialized(() => this.#reload(policy, listenerPorts))
  }

  /** Runs table replacements one at a time (a reload and a DNAT refresh must not interleave). */
  #serialized(fn: () => Promise<void>): Promise<void> {
    const run = this.#chain.then(fn, fn)
    this.#chain = run.then(
      () => undefined,
      () => undefined,
    )
    return run
  }

  async #reload(policy: Policy, listenerPorts?: ReadonlyMap<number, number>): Promise<void> {
    const resolvedFqdns = await this.#resolveDnatNames(policy)
    const nft: NftablesOptions = { ...this.#nft, ...(listenerPorts ? { listenerPorts } : {}), resolvedFqdns }
    const next = compileNftables(policy, nft)
    const planned = this.#learner.plan(next.sets)
    const withLearned = compileNftables(policy, { ...nft, learned: planned })
    await this.#queue.apply(withLearned.text)
    this.#learner.commit(withLearned.sets, planned)
    this.#nft = nft
    this.#policy = policy
    this.#ruleset = withLearned
    this.#dns?.setNamePolicy(namePolicyFor(policy, fqdnTagsFor(policy)))
    this.#o.onEvent?.({ event: 'nftables-reloaded', table: TABLE, rules: withLearned.stats.lines, sets: withLearned.sets.size, carried: this.#learner.elementCount(), notes: withLearned.notes })
  }

  /** Stops the DNS proxy and removes the table (also when start failed half way). */
  async stop(): Promise<void> {
    if (this.#sweep) clearInterval(this.#sweep)
    if (this.#refresh) clearInterval(this.#refresh)
    await this.#dns?.close()
    this.#dns = undefined
    await this.#queue.idle()
    await this.#queue.apply(cleanupRuleset())
    this.#applied = false
    this.#o.onEvent?.({ event: 'nftables-removed', table: TABLE })
  }

  /**
   * The address each DNAT `translatedFqdn` of the policy resolves to now: the first IPv4 address,
   * else the first IPv6 one (nftables NAT keeps the family; the compiler notes a mismatch). A
   * name that does not resolve is absent, and the compiler leaves its rule out with a note.
   */
  async #resolveDnatNames(policy: Policy): Promise<Map<string, string>> {
    const out = new Map<string, string>()
    const resolve = this.#o.resolve
    if (!resolve) return out
    const names = new Set<string>()
    for (const g of policy.ruleCollectionGroups) {
      for (const c of g.ruleCollections) {
        if (c.type !== 'dnat') continue
        for (const r of c.rules) if (r.translatedFqdn !== undefined && names.size < MAX_DNAT_NAMES) names.add(r.translatedFqdn)
      }
    }
    await Promise.all(
      [...names].map(async (name) => {
        const r = await resolve(name)
        if (!r.ok) return
        const address = r.addresses.find((a) => isIPv4(a)) ?? r.addresses[0]
        if (address !== undefined) out.set(name, address)
      }),
    )
    return out
  }

  /** Resolves the DNAT names again; if an address changed, replaces the table (same policy). */
  async #refreshDnatNames(): Promise<void> {
    if (!this.#applied || this.#refreshing) return
    this.#refreshing = true
    try {
      await this.#serialized(async () => {
        // Inside the queue: the policy and ports in force now, not those of when the timer fired.
        const policy = this.#policy
        const now = await this.#resolveDnatNames(policy)
        const before = this.#nft.resolvedFqdns ?? new Map<string, string>()
        const changed = now.size !== before.size || [...now].some(([k, v]) => before.get(k) !== v)
        if (!changed || !this.#applied) return
        this.#o.onEvent?.({ event: 'dnat-fqdn-changed', before: Object.fromEntries(before), after: Object.fromEntries(now) })
        await this.#reload(policy)
      })
    } catch (e) {
      this.#o.onEvent?.({ event: 'learn-error', error: `DNAT names: ${e instanceof Error ? e.message : String(e)}` })
    } finally {
      this.#refreshing = false
    }
  }
}

/** Removes the table (`serve --cleanup`, e.g. after a crash). */
export async function cleanupTransparent(runner: NftRunner): Promise<void> {
  await runner.apply(cleanupRuleset())
}
