/**
 * @module The appliance process's data plane: the explicit proxy listener, one transparent
 * listener per application-rule port, the connection caps, policy swaps and the drain.
 *
 * Ownership: every accepted socket is in `#sockets` from accept to its 'close'; the per-source
 * counts mirror that set. A reload swaps the policy state (new connections use it; open ones keep
 * theirs) and opens/closes transparent listeners so that they match the new policy's ports;
 * closing a listener stops accepting and leaves its open connections alone. `stop()` closes every
 * listener, waits for open connections up to the drain bound, then destroys what is left.
 */
import { createServer, type Server, type Socket } from 'node:net'
import { networkInterfaces } from 'node:os'
import type { ListenAddress } from '../net/classify-address.ts'
import type { NameResolver } from '../net/resolve.ts'
import { AdminServer } from './admin-server.ts'
import { formatHostPort } from './authority.ts'
import { ClientConnection, type ProxyRuntime } from './client-connection.ts'
import type { ConnectionLog } from './connection-log.ts'
import { handleExplicit } from './explicit-proxy.ts'
import { deny } from './outcome.ts'
import type { PolicyState } from './policy-state.ts'
import type { ProxyAuth } from './proxy-auth.ts'
import { ProxyMetrics } from './proxy-metrics.ts'
import type { ServeLimits } from './serve-defaults.ts'
import { handleTransparentHttp } from './transparent-http.ts'
import { handleTransparentTls } from './transparent-tls.ts'
import { planTransparentListeners, type PlannedListener, type TransparentPorts } from './listener-plan.ts'

export interface HostPort {
  readonly host: string
  readonly port: number
}

export interface ProxyServerOptions {
  /** The explicit proxy; null: none. */
  readonly listen: HostPort | null
  /** Metrics, health, readiness; null: none. */
  readonly admin: HostPort | null
  /** Transparent listeners; null: none. */
  readonly transparent: { readonly address: string; readonly ports: TransparentPorts } | null
  readonly limits: ServeLimits
  readonly resolver: NameResolver
  readonly log: ConnectionLog
  readonly auth?: ProxyAuth
  /** prom-client's process and Node.js metrics (off in tests that count handles). */
  readonly defaultMetrics: boolean
}

export interface ListenerInfo {
  readonly kind: 'explicit' | 'tls' | 'http' | 'admin'
  /** Transparent listeners: the original port nftables redirects from. */
  readonly originalPort?: number
  readonly address: string
  readonly port: number
}

interface OpenListener {
  readonly info: ListenerInfo
  readonly server: Server
}

function listen(server: Server, host: string, port: number): Promise<HostPort> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void => {
      reject(e)
    }
    server.once('error', onError)
    server.listen({ host, port, exclusive: true }, () => {
      server.removeListener('error', onError)
      const a = server.address()
      if (a === null || typeof a === 'string') reject(new Error('listener has no address'))
      else resolve({ host: a.address, port: a.port })
    })
  })
}

function localInterfaceAddresses(): string[] {
  const out: string[] = []
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) out.push(a.address)
  return out
}

function listenerKey(kind: string, originalPort: number): string {
  return `${kind}:${originalPort}`
}

export class ProxyServer {
  readonly metrics: ProxyMetrics
  readonly #options: ProxyServerOptions
  #state: PolicyState
  readonly #runtime: ProxyRuntime
  #explicit: OpenListener | undefined
  readonly #transparent = new Map<string, OpenListener>()
  #admin: AdminServer | undefined
  readonly #sockets = new Set<Socket>()
  readonly #perSource = new Map<string, number>()
  #nextId = 0
  #stopping = false
  #started = false
  #onIdle: (() => void) | undefined

  constructor(state: PolicyState, options: ProxyServerOptions) {
    this.#state = state
    this.#options = options
    this.metrics = new ProxyMetrics(options.defaultMetrics)
    const localAddresses = localInterfaceAddresses()
    this.#runtime = {
      limits: options.limits,
      log: options.log,
      metrics: this.metrics,
      resolver: options.resolver,
      auth: options.auth,
      policy: () => this.#state,
      listening: () => this.#listenAddresses(),
      localAddresses,
    }
    this.#recordPolicy(state)
  }

  get state(): PolicyState {
    return this.#state
  }

  get openConnections(): number {
    return this.#sockets.size
  }

  get ready(): boolean {
    return this.#started && !this.#stopping
  }

  /** Every listener open now. */
  get listeners(): ListenerInfo[] {
    const out: ListenerInfo[] = []
    if (this.#explicit) out.push(this.#explicit.info)
    for (const l of this.#transparent.values()) out.push(l.info)
    const admin = this.#admin?.address
    if (admin) out.push({ kind: 'admin', address: admin.host, port: admin.port })
    return out
  }

  #listenAddresses(): ListenAddress[] {
    return this.listeners.map((l) => ({ address: l.address, port: l.port }))
  }

  /** Opens every listener. Throws (with every listener closed again) when one cannot be opened. */
  async start(): Promise<{ warnings: string[] }> {
    const o = this.#options
    const warnings: string[] = []
    try {
      if (o.listen) {
        const server = this.#makeServer('explicit', (c) => handleExplicit(c), true)
        const a = await listen(server, o.listen.host, o.listen.port)
        this.#explicit = { info: { kind: 'explicit', address: a.host, port: a.port }, server }
      }
      if (o.transparent) warnings.push(...(await this.#reconcileTransparent(true)))
      if (o.admin) {
        this.#admin = new AdminServer(this)
        await this.#admin.start(o.admin.host, o.admin.port)
      }
    } catch (e) {
      this.#closeListeners()
      await this.#admin?.close()
      throw e
    }
    this.#started = true
    return { warnings }
  }

  #makeServer(label: string, handler: (conn: ClientConnection) => Promise<void>, explicit: boolean): Server {
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true })
    server.on('connection', (socket) => {
      this.#accept(socket, label, handler, explicit)
    })
    server.on('error', (e) => {
      this.#options.log.logger.error({ event: 'listener-error', listener: label, error: e.message }, 'listener error')
    })
    return server
  }

  #accept(socket: Socket, label: string, handler: (conn: ClientConnection) => Promise<void>, explicit: boolean): void {
    socket.on('error', () => {
      // Handled where the socket is used (relay, handshake); a reset before that just closes it.
    })
    if (this.#stopping) {
      socket.destroy()
      return
    }
    const limits = this.#options.limits
    const source = socket.remoteAddress ?? ''
    const fromSource = this.#perSource.get(source) ?? 0
    const full = this.#sockets.size >= limits.maxConnections
    if (full || fromSource >= limits.maxConnectionsPerSource) {
      const conn = new ClientConnection(++this.#nextId, socket, label, explicit, this.#runtime)
      const verdict = full
        ? deny('TOO_MANY_CONNECTIONS', `The proxy has ${this.#sockets.size} connections open (at most ${limits.maxConnections})`)
        : deny('TOO_MANY_FROM_SOURCE', `${source} has ${fromSource} connections open (at most ${limits.maxConnectionsPerSource})`)
      conn.decide(verdict)
      if (explicit) conn.socket.end(`HTTP/1.1 ${full ? '503 Service Unavailable' : '429 Too Many Requests'}\r\nX-Aks-Egress-Reason: ${verdict.code}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`)
      socket.destroySoon()
      return
    }
    this.#sockets.add(socket)
    this.#perSource.set(source, fromSource + 1)
    this.metrics.connectionsOpen.inc({ listener: label })
    socket.once('close', () => {
      this.#sockets.delete(socket)
      const n = (this.#perSource.get(source) ?? 1) - 1
      if (n <= 0) this.#perSource.delete(source)
      else this.#perSource.set(source, n)
      this.metrics.connectionsOpen.dec({ listener: label })
      if (this.#sockets.size === 0) this.#onIdle?.()
    })
    const conn = new ClientConnection(++this.#nextId, socket, label, explicit, this.#runtime)
    handler(conn).catch((e: unknown) => {
      this.#options.log.logger.error({ event: 'handler-error', conn: conn.id, error: e instanceof Error ? e.stack ?? e.message : String(e) }, 'handler error')
      socket.destroy()
    })
  }

  /** Opens and closes transparent listeners to match the policy's ports; returns warnings. */
  async #reconcileTransparent(failHard: boolean): Promise<string[]> {
    const t = this.#options.transparent
    if (!t) return []
    const plan = planTransparentListeners(this.#state, t.ports)
    const warnings = [...plan.warnings]
    const wanted = new Map<string, PlannedListener>()
    for (const p of plan.listeners) wanted.set(listenerKey(p.kind, p.originalPort), p)
    for (const [key, open] of this.#transparent) {
      if (wanted.has(key)) continue
      open.server.close()
      this.#transparent.delete(key)
    }
    for (const [key, p] of wanted) {
      if (this.#transparent.has(key)) continue
      const label = listenerKey(p.kind, p.originalPort)
      const server =
        p.kind === 'tls'
          ? this.#makeServer(label, (c) => handleTransparentTls(c, p.originalPort), false)
          : this.#makeServer(label, (c) => handleTransparentHttp(c, p.originalPort), false)
      try {
        const a = await listen(server, t.address, p.listenPort)
        this.#transparent.set(key, { info: { kind: p.kind, originalPort: p.originalPort, address: a.host, port: a.port }, server })
      } catch (e) {
        const message = `cannot open the ${label} listener on ${formatHostPort(t.address, p.listenPort)}: ${e instanceof Error ? e.message : String(e)}`
        if (failHard) throw new Error(message, { cause: e })
        warnings.push(message)
      }
    }
    return warnings
  }

  #recordPolicy(state: PolicyState): void {
    const s = state.engine.stats
    this.metrics.policyRules.set({ type: 'network' }, s.networkRules)
    this.metrics.policyRules.set({ type: 'application' }, s.applicationRules)
    this.metrics.policyRules.set({ type: 'dnat' }, s.dnatRules)
    this.metrics.policyLoadedTime.set(state.loadedAtMs / 1000)
  }

  /** Puts a new policy in force; returns warnings (a transparent listener that could not open). */
  async reload(state: PolicyState): Promise<string[]> {
    this.#state = state
    this.#recordPolicy(state)
    this.metrics.reloads.inc({ result: 'ok' })
    if (this.#stopping) return []
    return this.#reconcileTransparent(false)
  }

  /** Counts a reload that was refused (the old policy stays). */
  reloadRejected(): void {
    this.metrics.reloads.inc({ result: 'rejected' })
  }

  #closeListeners(): void {
    this.#explicit?.server.close()
    this.#explicit = undefined
    for (const l of this.#transparent.values()) l.server.close()
    this.#transparent.clear()
  }

  /**
   * Stops accepting, lets open connections finish for up to `drainMs`, then closes the rest.
   * Returns how many had to be closed.
   */
  async stop(drainMs: number): Promise<{ closed: number }> {
    if (this.#stopping) return { closed: 0 }
    this.#stopping = true
    this.#closeListeners()
    if (this.#sockets.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, drainMs)
        this.#onIdle = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      this.#onIdle = undefined
    }
    const closed = this.#sockets.size
    for (const s of this.#sockets) s.destroy()
    await this.#admin?.close()
    this.#admin = undefined
    this.#options.resolver.close()
    return { closed }
  }
}
