/**
 * @module The appliance (`serve --transparent`, DESIGN.md §4): the L7 proxy (proxy/proxy-server.ts)
 * and the L4 and DNS half (transparent.ts: the nftables table, the DNS proxy, learning) started,
 * reloaded and stopped as one.
 *
 * - Start: the proxy's listeners are bound first (`ProxyServer.start()`), then the table is
 *   compiled with the ports they are bound to (`redirect to :PORT` of each application port) and
 *   applied, then the DNS proxy starts. `/readyz` answers 200 only once all of it runs.
 * - Reload (SIGHUP, file change; proxy/policy-reloader.ts checks the file first): the listeners the
 *   new policy needs are opened beside the old ones, the new table (redirecting to them, carrying
 *   the learned addresses) replaces the old one in one `nft -f` transaction, and only then does
 *   the proxy switch to the new policy and close the listeners it no longer needs. If a listener
 *   cannot be opened or the kernel refuses the table, the new listeners are closed again and the
 *   old table, policy and listeners all stay: a reload is all or nothing. Between the kernel's
 *   commit and the proxy's switch (the same event-loop turn as the nft process's exit), a request
 *   head or ClientHello read may still be decided by the old policy.
 * - Stop (SIGTERM): the proxy stops accepting and drains (the table stays meanwhile, so the nodes
 *   stay filtered, and the DNS proxy keeps answering), then the DNS proxy stops and the table is
 *   removed.
 */
import type { Logger } from 'pino'
import { pinoDnsSink, type DnsLogSink } from '../dns/dns-log.ts'
import { registerDnsMetrics } from '../dns/dns-metrics.ts'
import type { LearnerOptions } from '../dns/learner.ts'
import type { PolicyState } from '../proxy/policy-state.ts'
import type { ReloadTarget } from '../proxy/policy-reloader.ts'
import { listenersNotOpened, type ListenerInfo, type ProxyServer } from '../proxy/proxy-server.ts'
import type { NftablesOptions, NftablesRuleset } from './nftables/compile-nftables.ts'
import type { NftRunner } from './nftables/nft-runner.ts'
import { TransparentAppliance, type TransparentOptions } from './transparent.ts'

export interface ApplianceOptions {
  /** The proxy, started: its transparent listeners are bound. */
  readonly server: ProxyServer
  /** Table options other than the listener ports (taken from the server) and learned addresses. */
  readonly nft: Omit<NftablesOptions, 'listenerPorts' | 'learned'>
  readonly dns: TransparentOptions['dns']
  readonly learner?: LearnerOptions
  readonly runner: NftRunner
  /** The decision log's logger: appliance events go there, and DNS query lines unless `dnsLog`. */
  readonly logger: Logger
  /** Where DNS query lines go (serve: the connection log's hand-serialised line); default through `logger`. */
  readonly dnsLog?: DnsLogSink
}

const EVENT_MESSAGES: Readonly<Record<string, string>> = {
  'nftables-applied': 'nftables table applied',
  'nftables-reloaded': 'nftables table replaced',
  'nftables-removed': 'nftables table removed',
  'learn-error': 'learned addresses could not be added',
  'dnat-fqdn-changed': 'a DNAT translatedFqdn resolves to another address: table replaced',
}

export class Appliance implements ReloadTarget {
  readonly #server: ProxyServer
  readonly #l4: TransparentAppliance
  #stopping = false

  constructor(options: ApplianceOptions) {
    const { server, logger } = options
    this.#server = server
    this.#l4 = new TransparentAppliance(server.state.policy, {
      nft: { ...options.nft, listenerPorts: server.transparentPorts },
      dns: options.dns,
      ...(options.learner ? { learner: options.learner } : {}),
      runner: options.runner,
      resolve: (name) => server.resolver.resolve(name),
      dnsLog: options.dnsLog ?? pinoDnsSink(logger),
      onEvent: (e) => {
        if (e.event === 'learn-error') logger.warn(e, EVENT_MESSAGES[e.event])
        else logger.info(e, EVENT_MESSAGES[e.event] ?? e.event)
      },
    })
    registerDnsMetrics(server.metrics.registry, this.#l4.metrics)
    server.addReadinessCheck(() => this.#l4.ready)
  }

  /** The table in force (its notes: what nftables cannot express). */
  get ruleset(): NftablesRuleset {
    return this.#l4.ruleset
  }

  get listeners(): readonly ListenerInfo[] {
    return this.#server.listeners
  }

  /** Applies the table and starts the DNS proxy; on failure, nothing of it is left. */
  async start(): Promise<{ dns: { host: string; port: number } }> {
    return this.#l4.start()
  }

  /** Puts a checked policy in force in the proxy and the kernel together (see the module comment). */
  async reload(state: PolicyState): Promise<readonly string[]> {
    if (this.#stopping) throw new Error('the appliance is stopping')
    const prepared = await this.#server.prepareReload(state)
    if (prepared.failed.length > 0) {
      prepared.abort()
      throw listenersNotOpened(prepared)
    }
    try {
      await this.#l4.reload(state.policy, prepared.listenerPorts)
    } catch (e) {
      prepared.abort()
      throw new Error(`nftables refused the new table (the old one stays): ${e instanceof Error ? e.message : String(e)}`, { cause: e })
    }
    prepared.commit()
    this.#server.reloadApplied()
    return prepared.warnings
  }

  /** Counts a reload put in force without a new policy (SIGHUP's files alone). */
  reloadApplied(): void {
    this.#server.reloadApplied()
  }

  reloadRejected(): void {
    this.#server.reloadRejected()
  }

  /** Drains the proxy, then stops the DNS proxy and removes the table. */
  async stop(drainMs: number): Promise<{ closed: number }> {
    this.#stopping = true
    try {
      return await this.#server.stop(drainMs)
    } finally {
      await this.#l4.stop()
    }
  }
}
