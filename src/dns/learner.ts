/**
 * @module Learning: the addresses the DNS proxy answers for names of FQDN network rules go into
 * those rules' nftables sets (DESIGN.md §4, azure-facts §2.4), so that `ntp.ubuntu.com UDP 123`
 * means "the addresses ntp.ubuntu.com resolved to".
 *
 * - Which sets: every set whose rule has a pattern matching the queried name or a name of its
 *   CNAME chain (the engine's trie semantics, dataplane/nftables/fqdn-sets.ts). The chain is
 *   followed within the answer section only, from the question name, at most 16 links, loops
 *   cut; an address record counts only if its owner is on the chain (an answer for `a.com` cannot
 *   plant addresses for `b.com`).
 * - How long: the record's TTL (the smallest along the chain, at most 1 h) plus a grace period
 *   (default 60 s, as Cilium's idle grace; Azure keeps addresses 15 min after they stop being
 *   answered). The element carries that timeout in the kernel; connections already established
 *   outlive it (the forward chain accepts established flows first).
 * - Caps: per name (default 100 addresses, NPEP-133's minimum): at the cap the address of that
 *   name that expires soonest is dropped (and removed from the sets no other name holds it in), so
 *   a name that rotates through many addresses keeps its newest. Per set (default 10,000): at the
 *   cap a new address is NOT added and is counted (`learn_refused_set_cap_total`): fail closed,
 *   new flows to it are denied, nothing already learned is disturbed.
 * - Batching: updates are gathered and applied as one `nft -f` transaction; while one runs, the
 *   next batch gathers. `learn()` resolves when its batch is in the kernel, so the DNS answer can
 *   wait for it (a client that connects right after the answer finds its address allowed).
 * - Refresh: an element is re-added (add, delete, add in one transaction: kernels before 6.x do not
 *   update a timeout on a plain `add`) only when its expiry moves later by more than 5 s.
 * - Reload: the learned names are the truth; `plan(newIndex)` gives the elements of the new
 *   ruleset's sets, which the new table carries from its first instant; `commit` switches over.
 */
import type { DecodedPacket } from 'dns-packet'
import { TABLE, type LearnedElement } from '../dataplane/nftables/compile-nftables.ts'
import type { FqdnSetIndex } from '../dataplane/nftables/fqdn-sets.ts'
import type { NftRunner } from '../dataplane/nftables/nft-runner.ts'
import { POSITIVE_TTL_CAP_SEC } from './dns-cache.ts'
import type { DnsMetrics } from './dns-metrics.ts'

export const MAX_CNAME_CHAIN = 16
/** The most element updates in one `nft -f` run. */
export const MAX_BATCH_ELEMENTS = 4000
const REFRESH_SLACK_MS = 5000

export interface LearnerOptions {
  readonly graceSec?: number
  readonly maxPerName?: number
  readonly maxPerSet?: number
  /** Clock, for tests. */
  readonly now?: () => number
  readonly onError?: (e: unknown) => void
}

export interface LearnedAddress {
  readonly name: string
  readonly address: string
  readonly v: 4 | 6
  readonly ttlSec: number
}

/** The addresses an answer gives for its question's name and CNAME chain, with the names they belong to. */
export function addressesOfAnswer(qname: string, packet: DecodedPacket): Array<{ names: string[]; address: string; v: 4 | 6; ttlSec: number }> {
  const norm = (n: string): string => (n.endsWith('.') ? n.slice(0, -1) : n).toLowerCase()
  const answers = packet.answers ?? []
  const chain: string[] = [norm(qname)]
  const chainTtl = new Map<string, number>([[chain[0]!, Infinity]])
  for (let i = 0; i < MAX_CNAME_CHAIN; i++) {
    const last = chain[chain.length - 1]!
    const cname = answers.find((a) => a.type === 'CNAME' && norm(a.name) === last)
    if (!cname || cname.type !== 'CNAME') break
    const target = norm(cname.data)
    if (chainTtl.has(target)) break
    chainTtl.set(target, Math.min(chainTtl.get(last) ?? Infinity, cname.ttl ?? 0))
    chain.push(target)
  }
  const out: Array<{ names: string[]; address: string; v: 4 | 6; ttlSec: number }> = []
  for (const a of answers) {
    if (a.type !== 'A' && a.type !== 'AAAA') continue
    const owner = norm(a.name)
    const at = chain.indexOf(owner)
    if (at === -1) continue
    const ttl = Math.min(chainTtl.get(owner) ?? Infinity, a.ttl ?? 0, POSITIVE_TTL_CAP_SEC)
    out.push({ names: chain.slice(0, at + 1), address: a.data, v: a.type === 'A' ? 4 : 6, ttlSec: ttl })
  }
  return out
}

interface SetElement {
  expiresAtMs: number
  readonly names: Set<string>
}

interface Pending {
  readonly set: string
  readonly address: string
  /** undefined: remove. */
  readonly timeoutSec: number | undefined
}

export class FqdnLearner {
  readonly #runner: NftRunner
  readonly #metrics: DnsMetrics | undefined
  readonly #graceMs: number
  readonly #maxPerName: number
  readonly #maxPerSet: number
  readonly #now: () => number
  readonly #onError: (e: unknown) => void
  #index: FqdnSetIndex
  /** name → address → expiry (ms): the truth, kept across reloads. */
  readonly #names = new Map<string, Map<string, { expiresAtMs: number; v: 4 | 6 }>>()
  /** set → address → element: what the kernel holds (as far as we know). */
  #sets = new Map<string, Map<string, SetElement>>()
  #pending = new Map<string, Pending>()
  #waiters: Array<() => void> = []
  #running = false

  constructor(index: FqdnSetIndex, runner: NftRunner, metrics?: DnsMetrics, options: LearnerOptions = {}) {
    this.#index = index
    this.#runner = runner
    this.#metrics = metrics
    this.#graceMs = (options.graceSec ?? 60) * 1000
    this.#maxPerName = options.maxPerName ?? 100
    this.#maxPerSet = options.maxPerSet ?? 10_000
    this.#now = options.now ?? Date.now
    this.#onError = options.onError ?? (() => undefined)
  }

  /** Whether any rule learns from DNS at all. */
  get active(): boolean {
    return this.#index.size > 0
  }

  /**
   * Learns the addresses of an answer: their count, at once when nothing new has to reach the
   * kernel (no rule for the name, or every address already there for long enough), else a promise
   * that resolves with it when the batch is in the kernel. A cached answer to a name no FQDN rule
   * has (most of them) costs the DNS proxy no promise and no tick.
   */
  learn(qname: string, packet: DecodedPacket): number | Promise<number> {
    if (this.#index.size === 0) return 0
    const now = this.#now()
    let count = 0
    for (const a of addressesOfAnswer(qname, packet)) {
      for (const name of a.names) {
        const sets = this.#index.setsFor(name)
        if (sets.length === 0) continue
        const expiresAtMs = now + a.ttlSec * 1000 + this.#graceMs
        this.#rememberName(name, a.address, a.v, expiresAtMs, now)
        for (const s of sets) if (this.#addToSet(a.v === 4 ? s.v4 : s.v6, a.address, name, expiresAtMs, now)) count++
      }
    }
    if (this.#pending.size === 0) return count
    return new Promise<number>((resolve) => {
      this.#waiters.push(() => {
        resolve(count)
      })
      this.#kick()
    })
  }

  #rememberName(name: string, address: string, v: 4 | 6, expiresAtMs: number, now: number): void {
    let addrs = this.#names.get(name)
    if (!addrs) {
      addrs = new Map()
      this.#names.set(name, addrs)
    }
    const known = addrs.get(address)
    if (known) {
      known.expiresAtMs = Math.max(known.expiresAtMs, expiresAtMs)
      return
    }
    for (const [a, e] of addrs) if (e.expiresAtMs <= now) addrs.delete(a)
    while (addrs.size >= this.#maxPerName) {
      let oldest: string | undefined
      let oldestAt = Infinity
      for (const [a, e] of addrs) {
        if (e.expiresAtMs < oldestAt) {
          oldest = a
          oldestAt = e.expiresAtMs
        }
      }
      if (oldest === undefined) break
      addrs.delete(oldest)
      this.#metrics?.inc('learn_evicted_name_cap_total')
      this.#forget(name, oldest)
    }
    addrs.set(address, { expiresAtMs, v })
  }

  /** Takes `name` off an address in every set; removes the element where no name holds it. */
  #forget(name: string, address: string): void {
    for (const [set, elements] of this.#sets) {
      const e = elements.get(address)
      if (!e?.names.delete(name) || e.names.size > 0) continue
      elements.delete(address)
      this.#pending.set(`${set} ${address}`, { set, address, timeoutSec: undefined })
    }
  }

  /** Returns true when the kernel element is added or refreshed. */
  #addToSet(set: string, address: string, name: string, expiresAtMs: number, now: number): boolean {
    let elements = this.#sets.get(set)
    if (!elements) {
      elements = new Map()
      this.#sets.set(set, elements)
    }
    const e = elements.get(address)
    if (e && e.expiresAtMs > now) {
      e.names.add(name)
      if (expiresAtMs <= e.expiresAtMs + REFRESH_SLACK_MS) return false
      e.expiresAtMs = expiresAtMs
    } else {
      if (e) elements.delete(address)
      if (elements.size >= this.#maxPerSet) {
        for (const [a, x] of elements) if (x.expiresAtMs <= now) elements.delete(a)
      }
      if (elements.size >= this.#maxPerSet) {
        this.#metrics?.inc('learn_refused_set_cap_total')
        return false
      }
      elements.set(address, { expiresAtMs, names: new Set([name]) })
    }
    this.#pending.set(`${set} ${address}`, { set, address, timeoutSec: Math.ceil((expiresAtMs - now) / 1000) })
    this.#metrics?.inc('learned_addresses_total')
    return true
  }

  #kick(): void {
    if (this.#running) return
    this.#running = true
    setImmediate(() => {
      void this.#drain()
    })
  }

  async #drain(): Promise<void> {
    while (this.#pending.size > 0) {
      const batch = [...this.#pending.values()].slice(0, MAX_BATCH_ELEMENTS)
      for (const p of batch) this.#pending.delete(`${p.set} ${p.address}`)
      const waiters = this.#pending.size === 0 ? this.#waiters.splice(0) : []
      try {
        await this.#runner.apply(batchText(batch))
      } catch (e) {
        this.#metrics?.inc('learn_apply_errors_total')
        this.#onError(e)
      }
      for (const w of waiters) w()
    }
    for (const w of this.#waiters.splice(0)) w()
    this.#running = false
  }

  /**
   * The elements a new ruleset's sets must carry (reload, step 1): apply the ruleset with them
   * through the same runner, then `commit` (step 2). Nothing changes until then, so a ruleset the
   * kernel rejects leaves learning on the old sets.
   */
  plan(index: FqdnSetIndex): Map<string, LearnedElement[]> {
    const now = this.#now()
    const out = new Map<string, LearnedElement[]>()
    for (const [set, elements] of this.#derive(index, now)) {
      out.set(set, [...elements].map(([address, e]) => ({ address, timeoutSec: Math.ceil((e.expiresAtMs - now) / 1000) })))
    }
    return out
  }

  /**
   * Switches to the new ruleset's sets (reload, step 2). Addresses learned since `plan` (they went
   * to the old table, which the new one replaced) are queued for the new sets.
   */
  commit(index: FqdnSetIndex, planned: ReadonlyMap<string, readonly LearnedElement[]>): void {
    const now = this.#now()
    this.#index = index
    this.#sets = this.#derive(index, now)
    this.#pending = new Map()
    for (const [set, elements] of this.#sets) {
      const had = new Set((planned.get(set) ?? []).map((e) => e.address))
      for (const [address, e] of elements) {
        if (!had.has(address)) this.#pending.set(`${set} ${address}`, { set, address, timeoutSec: Math.ceil((e.expiresAtMs - now) / 1000) })
      }
    }
    if (this.#pending.size > 0) this.#kick()
  }

  /** The set contents the learned names give under an index. */
  #derive(index: FqdnSetIndex, now: number): Map<string, Map<string, SetElement>> {
    const sets = new Map<string, Map<string, SetElement>>()
    for (const [name, addrs] of this.#names) {
      const named = index.setsFor(name)
      for (const [address, e] of addrs) {
        if (e.expiresAtMs <= now) continue
        for (const s of named) {
          const set = e.v === 4 ? s.v4 : s.v6
          let elements = sets.get(set)
          if (!elements) {
            elements = new Map()
            sets.set(set, elements)
          }
          const known = elements.get(address)
          if (known) {
            known.names.add(name)
            known.expiresAtMs = Math.max(known.expiresAtMs, e.expiresAtMs)
          } else if (elements.size < this.#maxPerSet) {
            elements.set(address, { expiresAtMs: e.expiresAtMs, names: new Set([name]) })
          }
        }
      }
    }
    return sets
  }

  /** Drops expired entries from memory (the kernel expires its elements itself). */
  sweep(): void {
    const now = this.#now()
    for (const [name, addrs] of this.#names) {
      for (const [a, e] of addrs) if (e.expiresAtMs <= now) addrs.delete(a)
      if (addrs.size === 0) this.#names.delete(name)
    }
    for (const elements of this.#sets.values()) for (const [a, e] of elements) if (e.expiresAtMs <= now) elements.delete(a)
  }

  /** Live learned addresses per set (for tests and metrics). */
  elementCount(): number {
    let n = 0
    for (const elements of this.#sets.values()) n += elements.size
    return n
  }
}

/** The `nft -f` text of a batch: refreshes re-add with the new timeout; removals delete. */
export function batchText(batch: readonly Pending[]): string {
  const lines: string[] = []
  for (const p of batch) {
    const el = `element ${TABLE} ${p.set} { ${p.address}`
    // `add` first, so that the `delete` never fails on a missing element (which would abort the
    // whole transaction); the second `add` sets the timeout whatever the kernel version.
    if (p.timeoutSec === undefined) lines.push(`add ${el} timeout 1s }`, `delete ${el} }`)
    else lines.push(`add ${el} timeout ${p.timeoutSec}s }`, `delete ${el} }`, `add ${el} timeout ${p.timeoutSec}s }`)
  }
  return `${lines.join('\n')}\n`
}
