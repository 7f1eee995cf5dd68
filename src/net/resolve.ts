/**
 * @module The proxy resolves every allowed name itself (DESIGN.md §4: dial what you checked):
 * the `--hosts` overrides first, then DNS through c-ares (`dns.promises.Resolver`: the system's
 * servers from /etc/resolv.conf, or `--dns-upstream`), A and AAAA in parallel, bounded in time.
 * c-ares rather than `dns.lookup`: getaddrinfo runs on libuv's four-thread pool, where a slow
 * server would stall every other lookup and file operation of the process.
 *
 * Positive answers are cached for their TTL (capped) in a bounded map; the addresses are
 * classified again on every dial, so the cache cannot carry a rebinding past the checks.
 */
import { Resolver } from 'node:dns/promises'
import { isIP } from 'node:net'
import type { HostsTable } from './hosts-file.ts'

export type ResolveFailure = 'NOT_FOUND' | 'NO_ADDRESS' | 'TIMEOUT' | 'SERVER_FAILURE'

export type ResolveResult =
  | { readonly ok: true; readonly addresses: readonly string[]; readonly source: 'literal' | 'hosts' | 'dns' | 'cache' }
  | { readonly ok: false; readonly failure: ResolveFailure; readonly detail: string }

export interface ResolverOptions {
  readonly hosts?: HostsTable
  /** `ADDR` or `ADDR:PORT` (IPv6 as `[ADDR]:PORT`); empty: the system's servers. */
  readonly upstream?: readonly string[]
  readonly timeoutMs: number
  readonly cacheMaxEntries: number
  readonly cacheMaxTtlSeconds: number
}

interface CacheEntry {
  readonly addresses: readonly string[]
  readonly expiresAtMs: number
}

interface Answer {
  readonly addresses: string[]
  readonly ttl: number
}

function errorCode(e: unknown): string {
  return e instanceof Error && 'code' in e ? String(e.code) : 'UNKNOWN'
}

/** An IPv4 literal starts with a digit, an IPv6 one has a colon: other names skip `isIP` (a large regular expression, on every request). */
function mayBeAddress(name: string): boolean {
  const c = name.charCodeAt(0)
  return (c >= 0x30 && c <= 0x39) || name.includes(':')
}

export class NameResolver {
  #hosts: HostsTable
  readonly #resolver: Resolver
  readonly #timeoutMs: number
  readonly #cache = new Map<string, CacheEntry>()
  readonly #cacheMaxEntries: number
  readonly #cacheMaxTtlMs: number
  readonly #now: () => number

  constructor(options: ResolverOptions, now: () => number = Date.now) {
    this.#hosts = options.hosts ?? new Map()
    // tries: 2 within the bound; c-ares' own timeout is per try.
    this.#resolver = new Resolver({ timeout: Math.max(1, Math.floor(options.timeoutMs / 2)), tries: 2 })
    if (options.upstream && options.upstream.length > 0) this.#resolver.setServers([...options.upstream])
    this.#timeoutMs = options.timeoutMs
    this.#cacheMaxEntries = options.cacheMaxEntries
    this.#cacheMaxTtlMs = options.cacheMaxTtlSeconds * 1000
    this.#now = now
  }

  /**
   * Replaces the `--hosts` overrides (`serve` re-reads the file on SIGHUP): the next lookup of a
   * name uses the new table. Answers cached from DNS stay until their TTL.
   */
  setHosts(hosts: HostsTable): void {
    this.#hosts = hosts
  }

  /**
   * The answer known without asking DNS: an IP literal, a `--hosts` entry, an unexpired cached
   * answer; undefined when DNS must be asked. Synchronous, so that the usual dial (a name the
   * proxy has seen) takes no promise and no trip through the microtask queue.
   */
  known(name: string): ResolveResult | undefined {
    if (mayBeAddress(name) && isIP(name) !== 0) return { ok: true, addresses: [name], source: 'literal' }
    const fixed = this.#hosts.get(name)
    if (fixed) return { ok: true, addresses: fixed, source: 'hosts' }
    const cached = this.#cache.get(name)
    if (cached) {
      if (cached.expiresAtMs > this.#now()) return { ok: true, addresses: cached.addresses, source: 'cache' }
      this.#cache.delete(name)
    }
    return undefined
  }

  /** Resolves a name in normal form (or an IP literal, returned as is). */
  async resolve(name: string): Promise<ResolveResult> {
    const known = this.known(name)
    if (known) return known
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(resolve, this.#timeoutMs, 'timeout')
    })
    try {
      const both = Promise.allSettled([this.#query(name, 4), this.#query(name, 6)])
      const settled = await Promise.race([both, timeout])
      if (settled === 'timeout') return { ok: false, failure: 'TIMEOUT', detail: `no DNS answer for ${name} within ${this.#timeoutMs} ms` }
      const addresses: string[] = []
      let ttl = Infinity
      const codes: string[] = []
      for (const r of settled) {
        if (r.status === 'fulfilled') {
          addresses.push(...r.value.addresses)
          if (r.value.addresses.length > 0) ttl = Math.min(ttl, r.value.ttl)
        } else {
          codes.push(errorCode(r.reason))
        }
      }
      if (addresses.length > 0) {
        this.#remember(name, addresses, ttl)
        return { ok: true, addresses, source: 'dns' }
      }
      if (codes.includes('ENOTFOUND')) return { ok: false, failure: 'NOT_FOUND', detail: `${name} does not exist (NXDOMAIN)` }
      if (codes.includes('ETIMEOUT')) return { ok: false, failure: 'TIMEOUT', detail: `DNS query for ${name} timed out` }
      if (codes.length === 0 || codes.every((c) => c === 'ENODATA')) return { ok: false, failure: 'NO_ADDRESS', detail: `${name} has no A or AAAA record` }
      return { ok: false, failure: 'SERVER_FAILURE', detail: `DNS query for ${name} failed: ${[...new Set(codes)].join(', ')}` }
    } finally {
      clearTimeout(timer)
    }
  }

  async #query(name: string, family: 4 | 6): Promise<Answer> {
    const records = family === 4 ? await this.#resolver.resolve4(name, { ttl: true }) : await this.#resolver.resolve6(name, { ttl: true })
    let ttl = Infinity
    for (const r of records) ttl = Math.min(ttl, r.ttl)
    return { addresses: records.map((r) => r.address), ttl: records.length > 0 ? ttl : 0 }
  }

  #remember(name: string, addresses: readonly string[], ttlSeconds: number): void {
    const ttlMs = Math.min(this.#cacheMaxTtlMs, Number.isFinite(ttlSeconds) ? ttlSeconds * 1000 : 0)
    if (ttlMs <= 0 || this.#cacheMaxEntries <= 0) return
    if (this.#cache.size >= this.#cacheMaxEntries) {
      const oldest = this.#cache.keys().next()
      if (!oldest.done) this.#cache.delete(oldest.value)
    }
    this.#cache.set(name, { addresses, expiresAtMs: this.#now() + ttlMs })
  }

  /** Cancels outstanding queries (they fail with ECANCELLED). */
  close(): void {
    this.#resolver.cancel()
  }
}
