/**
 * @module The appliance process's data plane: the explicit proxy listener, one transparent
 * listener per application-rule port, the connection caps, policy swaps and the drain.
 *
 * Ownership: every accepted socket is in `#sockets` from accept to its 'close'; the per-source
 * counts mirror that set. A reload swaps the policy state (new connections use it; open ones keep
 * theirs) and opens/closes transparent listeners so that they match the new policy's ports;
 * closing a listener stops accepting and leaves its open connections alone. `stop()` closes every
 * listener, waits for open connections up to the drain bound, then destroys what is left.
 *
 * A reload is two steps, so that the appliance can put the nftables redirect in between
 * (dataplane/appliance.ts): `prepareReload(state)` opens the listeners the new policy needs (the
 * old ones keep serving, the old state stays in force) and tells their bound ports; `commit()`
 * swaps the state and closes the listeners no longer needed, `abort()` closes the new ones and
 * changes nothing. Transparent listeners are keyed by their original port: a port whose rule
 * turns from Http to Https keeps its socket, and its handler follows the state in force.
 */
import { createServer, Server, type Socket } from 'node:net'
import { networkInterfaces } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import type { ListenAddress } from '../net/classify-address.ts'
import { LiteServer, LiteSocket, liteSelfTest, liteSocketsAvailable, type HandleTaker, type TcpHandle } from '../net/lite-socket.ts'
import { ListenerStartError } from './listener-start-error.ts'
import type { SocketLayer, StreamSocket } from '../net/stream-socket.ts'
import type { NameResolver } from '../net/resolve.ts'
import { AdminServer } from './admin-server.ts'
import { ClientConnection, closeWhenFlushed, type ProxyRuntime, type RelayingConnection } from './client-connection.ts'
import type { ConnectionLog } from './connection-log.ts'
import { handleExplicit } from './explicit-proxy.ts'
import { deny } from './outcome.ts'
import type { PolicyState } from './policy-state.ts'
import type { ProxyAuth } from './proxy-auth.ts'
import { OriginPool } from './origin-pool.ts'
import { ProxyMetrics } from './proxy-metrics.ts'
import type { ServeLimits } from './serve-defaults.ts'
import { handleTransparentHttp } from './transparent-http.ts'
import { handleTransparentTls } from './transparent-tls.ts'
import { TunnelConnection, type TunnelHost } from './tunnel-connection.ts'
import { planTransparentListeners, type PlannedListener, type TransparentPorts } from './listener-plan.ts'

/** What fixes a transparent listener that cannot open: its port is the original one plus the offset, its address the option's. */
const TRANSPARENT_CHANGES = { port: '--transparent-port-offset', address: '--transparent-address' } as const

/** Why a reload was refused: the transparent listeners of the new policy that could not be opened. */
export function listenersNotOpened(prepared: PreparedReload): Error {
  return new Error(`cannot open ${prepared.failed.map((f) => f.message).join('; ')}`)
}

/** How long a stop waits, after closing the connections left at the drain bound, for their close lines. */
const STOP_CLOSE_LINES_BOUND_MS = 1000

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
  /**
   * The data plane's sockets: `lite` (src/net/lite-socket.ts) or `node` (`net.Socket`). Default:
   * `lite` where this Node has the handle API it needs, else `node`.
   */
  readonly socketLayer?: SocketLayer
}

/** The socket layer `requested` resolves to on this Node (`lite` falls back to `node` when the handle API is missing). */
function effectiveSocketLayer(requested: SocketLayer | undefined): SocketLayer {
  if (requested === 'node') return 'node'
  return liteSocketsAvailable() ? 'lite' : 'node'
}

/** A listening socket of either layer: what the server does with it after `listen`. */
type Listener = Server | LiteServer

export interface ListenerInfo {
  readonly kind: 'explicit' | 'tls' | 'http' | 'admin'
  /** Transparent listeners: the original port nftables redirects from. */
  readonly originalPort?: number
  readonly address: string
  readonly port: number
}

interface OpenListener {
  readonly info: ListenerInfo
  readonly server: Listener
}

/** What an accepted connection is served by: its listener's label (metrics, logs) and handler. */
interface Route {
  readonly label: string
  readonly handler: (conn: ClientConnection) => Promise<void>
}

/** An open transparent listener; `kind` follows the policy in force (set at commit). */
interface TransparentListener {
  kind: 'tls' | 'http'
  readonly originalPort: number
  readonly address: string
  readonly port: number
  readonly server: Listener
}

/** A reload's first step done (`prepareReload`): commit or abort it, once. */
export interface PreparedReload {
  /** Original port → the port its listener is bound to, for every listener of the new policy. */
  readonly listenerPorts: ReadonlyMap<number, number>
  /** Plan warnings and listeners that could not be opened. */
  readonly warnings: readonly string[]
  /** Listeners of the new policy that could not be opened (`warnings` has the reasons). */
  readonly failed: readonly ListenerStartError[]
  /** Puts the new state in force; closes the listeners it does not need. */
  commit(): void
  /** Closes the listeners opened for it; nothing else changes. */
  abort(): void
}

function listen(server: Listener, host: string, port: number): Promise<HostPort> {
  if (server instanceof LiteServer) {
    try {
      const a = server.listen(host, port)
      return Promise.resolve({ host: a.address, port: a.port })
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)))
    }
  }
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

/** An accepted socket's errors are handled where it is used (relay, handshake); a reset before that just closes it. */
function ignoreError(): void {
  // One function for every socket, not a closure per connection.
}

function localInterfaceAddresses(): string[] {
  const out: string[] = []
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) out.push(a.address)
  return out
}

export class ProxyServer {
  readonly metrics: ProxyMetrics
  readonly #options: ProxyServerOptions
  #state: PolicyState
  /** Basic authentication of the explicit proxy; replaced by `setAuth` (SIGHUP). */
  #auth: ProxyAuth | undefined
  readonly #runtime: ProxyRuntime
  #explicit: OpenListener | undefined
  /** Original port → its listener. */
  readonly #transparent = new Map<number, TransparentListener>()
  readonly #readinessChecks: Array<() => boolean> = []
  #admin: AdminServer | undefined
  /**
   * Every accepted connection, from accept to the close of its client side: keyed by its socket,
   * or by itself for a TunnelConnection (a stop closes the connection's origin too).
   */
  readonly #sockets = new Map<object, RelayingConnection>()
  /** HTTP client connections with nothing in flight: waiting for their next request, or closing. */
  readonly #idleClients = new Set<StreamSocket>()
  /** Connections relaying a tunnel (ProxyRuntime.relaying). */
  readonly #relaying = new Set<RelayingConnection>()
  /** What the tunnels' connections need of the server (one object for all). */
  readonly #tunnelHost: TunnelHost
  #socketLayer: SocketLayer
  readonly #pool: OriginPool
  readonly #perSource = new Map<string, number>()
  #nextId = 0
  #stopping = false
  /** The stop's drain bound passed: the connections left are being closed. */
  #forcedStop = false
  #started = false
  #onIdle: (() => void) | undefined
  /** #listenAddresses(); undefined after any change of the listeners. */
  #listenCache: readonly ListenAddress[] | undefined

  /** The resolver the proxy dials by (`--hosts`, then DNS): the appliance resolves DNAT names with it too. */
  get resolver(): NameResolver {
    return this.#options.resolver
  }

  constructor(state: PolicyState, options: ProxyServerOptions) {
    this.#state = state
    this.#options = options
    this.#auth = options.auth
    this.#socketLayer = effectiveSocketLayer(options.socketLayer)
    this.metrics = new ProxyMetrics(options.defaultMetrics)
    this.metrics.watchLog(options.log)
    this.metrics.beforeBytesScrape(() => {
      for (const c of this.#relaying) c.liveBytesToMetrics()
    })
    const localAddresses = localInterfaceAddresses()
    const l = options.limits
    this.#pool = new OriginPool({ maxIdlePerKey: l.originPoolMaxIdlePerKey, maxIdleTotal: l.originPoolMaxIdle, idleTimeoutMs: l.originIdleTimeoutMs }, this.metrics)
    this.#runtime = {
      limits: options.limits,
      log: options.log,
      metrics: this.metrics,
      resolver: options.resolver,
      auth: () => this.#auth,
      policy: () => this.#state,
      listening: () => this.#listenAddresses(),
      localAddresses,
      pool: this.#pool,
      draining: () => this.#stopping,
      forcedStop: () => this.#forcedStop,
      idleClients: this.#idleClients,
      relaying: this.#relaying,
      // A function: start() may fall back to `node` (liteSelfTest).
      socketLayer: () => this.#socketLayer,
    }
    const runtime = this.#runtime
    this.#tunnelHost = {
      rt: runtime,
      clientClosed: (t) => {
        this.#released(t, t.srcIp, t.listener)
      },
      handlerFailed: (conn, e) => {
        this.#handlerFailed(conn, e)
      },
    }
    this.#recordPolicy(state)
  }

  get state(): PolicyState {
    return this.#state
  }

  /**
   * Replaces the users of Basic proxy authentication (`serve` re-reads `--proxy-auth-file` on
   * SIGHUP): requests read from now on are checked against them; open tunnels stay open.
   */
  setAuth(auth: ProxyAuth): void {
    this.#auth = auth
  }

  /** The sockets the data plane uses (`socketLayer` after the fallback). */
  get socketLayer(): SocketLayer {
    return this.#socketLayer
  }

  get openConnections(): number {
    return this.#sockets.size
  }

  /** Idle origin connections in the pool. */
  get idleOriginConnections(): number {
    return this.#pool.idle
  }

  /** Closes every idle pooled origin connection (a reload does; tests that count handles too). */
  dropIdleOrigins(): void {
    this.#pool.clear('reload')
  }

  get ready(): boolean {
    return this.#started && !this.#stopping && this.#readinessChecks.every((check) => check())
  }

  /** Makes `/readyz` depend on something else too (the appliance's table and DNS proxy). */
  addReadinessCheck(check: () => boolean): void {
    this.#readinessChecks.push(check)
  }

  /** Original port → bound port of every transparent listener open now. */
  get transparentPorts(): ReadonlyMap<number, number> {
    return new Map([...this.#transparent].map(([p, l]) => [p, l.port]))
  }

  /** Every listener open now. */
  get listeners(): ListenerInfo[] {
    const out: ListenerInfo[] = []
    if (this.#explicit) out.push(this.#explicit.info)
    for (const l of [...this.#transparent.values()].sort((a, b) => (a.kind === b.kind ? a.originalPort - b.originalPort : a.kind === 'tls' ? -1 : 1))) {
      out.push({ kind: l.kind, originalPort: l.originalPort, address: l.address, port: l.port })
    }
    const admin = this.#admin?.address
    if (admin) out.push({ kind: 'admin', address: admin.host, port: admin.port })
    return out
  }

  /** The listeners' addresses, as the dial's `self` class needs them on every dial: kept until a listener opens or closes. */
  #listenAddresses(): readonly ListenAddress[] {
    this.#listenCache ??= this.listeners.map((l) => ({ address: l.address, port: l.port }))
    return this.#listenCache
  }

  /** Opens every listener. Throws (with every listener closed again) when one cannot be opened. */
  async start(): Promise<{ warnings: string[] }> {
    const o = this.#options
    const warnings: string[] = []
    if (this.#socketLayer === 'lite') {
      const problem = await liteSelfTest()
      if (problem !== undefined) {
        this.#socketLayer = 'node'
        warnings.push(`LiteSocket self-test failed (${problem}): the data plane uses net.Socket`)
      }
    }
    try {
      const explicit = o.listen
      if (explicit) {
        const route: Route = { label: 'explicit', handler: handleExplicit }
        const server = this.#makeServer(() => route, true, (handle, peerAddress, peerPort) => {
          this.#acceptTunnel(handle, peerAddress, peerPort, route, undefined)
          return true
        })
        const a = await listen(server, explicit.host, explicit.port).catch((e: unknown) => {
          throw new ListenerStartError('--listen', explicit.host, explicit.port, e)
        })
        this.#explicit = { info: { kind: 'explicit', address: a.host, port: a.port }, server }
        this.#listenCache = undefined
      }
      const prepared = await this.#prepare(this.#state)
      const failed = prepared.failed[0]
      if (failed) {
        prepared.abort()
        // The first, with its fix; the others are the same kind of failure (the same offset or address).
        if (prepared.failed.length > 1) failed.message += ` (and ${prepared.failed.length - 1} more transparent listener${prepared.failed.length > 2 ? 's' : ''})`
        throw failed
      }
      prepared.commit()
      warnings.push(...prepared.warnings)
      if (o.admin) {
        this.#admin = new AdminServer(this)
        const admin = o.admin
        await this.#admin.start(admin.host, admin.port).catch((e: unknown) => {
          throw new ListenerStartError('--admin', admin.host, admin.port, e)
        })
        this.#listenCache = undefined
      }
    } catch (e) {
      this.#closeListeners()
      await this.#admin?.close()
      throw e
    }
    this.#started = true
    return { warnings }
  }

  /** A listener whose label and handler are chosen at each accept (a transparent port's kind follows the policy). */
  #makeServer(route: () => Route, explicit: boolean, takeHandle?: HandleTaker): Listener {
    const onConnection = (socket: Socket | LiteSocket): void => {
      const { label, handler } = route()
      this.#accept(socket, label, handler, explicit)
    }
    // Accepted LiteSockets start paused, with no Nagle delay on the relay's small writes either way.
    const server = this.#socketLayer === 'lite' ? new LiteServer({ noDelay: true, ...(takeHandle ? { takeHandle } : {}) }) : createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true })
    server.on('connection', onConnection)
    server.on('error', (e: Error) => {
      // A net.Server's failed listen() comes here too: that is the start's failure, reported by start().
      if (server instanceof Server && !server.listening) return
      this.#options.log.logger.error({ event: 'listener-error', listener: route().label, error: e.message }, 'listener error')
    })
    return server
  }

  #accept(socket: StreamSocket, label: string, handler: (conn: ClientConnection) => Promise<void>, explicit: boolean): void {
    socket.on('error', ignoreError)
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
    const conn = new ClientConnection(++this.#nextId, socket, label, explicit, this.#runtime)
    this.#sockets.set(socket, conn)
    this.#perSource.set(source, fromSource + 1)
    this.metrics.connectionOpened(label)
    // 'close' comes once: `on`, not `once` (no wrapper per connection).
    socket.on('close', () => {
      conn.clientClosed()
      this.#released(socket, source, label)
    })
    handler(conn).catch((e: unknown) => {
      this.#handlerFailed(conn, e)
    })
  }

  /** A fault in a connection's handler (never expected): logged, the connection closed. */
  #handlerFailed(conn: ClientConnection, e: unknown): void {
    this.#options.log.logger.error({ event: 'handler-error', conn: conn.id, error: e instanceof Error ? e.stack ?? e.message : String(e) }, 'handler error')
    conn.socket.destroy()
  }

  /** A connection's client side closed: its slot, its source's count and its gauge are released. */
  #released(key: object, source: string, label: string): void {
    this.#sockets.delete(key)
    const n = (this.#perSource.get(source) ?? 1) - 1
    if (n <= 0) this.#perSource.delete(source)
    else this.#perSource.set(source, n)
    this.metrics.connectionClosed(label)
    if (this.#sockets.size === 0) this.#onIdle?.()
  }

  /**
   * A connection to the explicit port or a transparent TLS listener on the default socket layer:
   * a TunnelConnection on its handle (src/proxy/tunnel-connection.ts; `originalPort` undefined for
   * the explicit port). One over a cap, or during a stop, goes to `#accept` on a LiteSocket, which
   * refuses it as any other.
   */
  #acceptTunnel(handle: TcpHandle, address: string, port: number, route: Route, originalPort: number | undefined): void {
    const limits = this.#options.limits
    if (this.#stopping || this.#sockets.size >= limits.maxConnections || (this.#perSource.get(address) ?? 0) >= limits.maxConnectionsPerSource) {
      const socket = new LiteSocket(handle)
      socket.remoteAddress = address
      socket.remotePort = port
      this.#accept(socket, route.label, route.handler, originalPort === undefined)
      return
    }
    const t = new TunnelConnection(++this.#nextId, handle, address, port, route.label, originalPort, this.#tunnelHost)
    this.#sockets.set(t, t)
    this.#perSource.set(address, (this.#perSource.get(address) ?? 0) + 1)
    this.metrics.connectionOpened(route.label)
    t.start()
  }

  /**
   * Opens the transparent listeners `state` needs that are not open yet; the listeners open now
   * keep serving under the state in force until `commit()`.
   */
  async #prepare(state: PolicyState): Promise<PreparedReload> {
    const t = this.#options.transparent
    const plan = t ? planTransparentListeners(state, t.ports) : { listeners: [], warnings: [] }
    const warnings = [...plan.warnings]
    // A network rule whose destination is a service tag cannot match here (policy-state.ts): said, not found out.
    const tags = state.serviceTags
    if (tags.length > 0) {
      warnings.push(
        `network rules name the service tag${tags.length === 1 ? '' : 's'} ${tags.slice(0, 3).join(', ')}${tags.length > 3 ? ` and ${tags.length - 3} more` : ''}: the proxy has no address ranges for service tags, so those destinations never match here; use CIDRs or IP groups (a profile's default policy: \`aks-egress policy init\` writes it to a file to edit)`,
      )
    }
    const failed: ListenerStartError[] = []
    const opened = new Map<number, TransparentListener>()
    const kinds = new Map<number, 'tls' | 'http'>()
    for (const p of plan.listeners) {
      kinds.set(p.originalPort, p.kind)
      if (this.#transparent.has(p.originalPort) || !t) continue
      const open = await this.#openTransparent(p, t.address)
      if (open instanceof ListenerStartError) {
        warnings.push(`cannot open ${open.message}`)
        failed.push(open)
      } else opened.set(p.originalPort, open)
    }
    const listenerPorts = new Map<number, number>()
    for (const p of plan.listeners) {
      const l = this.#transparent.get(p.originalPort) ?? opened.get(p.originalPort)
      if (l) listenerPorts.set(p.originalPort, l.port)
    }
    let done = false
    return {
      listenerPorts,
      warnings,
      failed,
      commit: () => {
        if (done) return
        done = true
        if (this.#stopping) {
          for (const l of opened.values()) l.server.close()
          return
        }
        this.#state = state
        this.#recordPolicy(state)
        // Pooled origin connections were checked under the old policy: none is reused under the new one.
        this.#pool.clear('reload')
        for (const [port, l] of this.#transparent) {
          const kind = kinds.get(port)
          if (kind === undefined) {
            l.server.close()
            this.#transparent.delete(port)
          } else l.kind = kind
        }
        for (const [port, l] of opened) this.#transparent.set(port, l)
        this.#listenCache = undefined
      },
      abort: () => {
        if (done) return
        done = true
        for (const l of opened.values()) l.server.close()
      },
    }
  }

  /** Opens the listener of a planned port; a ListenerStartError says why it could not. */
  async #openTransparent(p: PlannedListener, address: string): Promise<TransparentListener | ListenerStartError> {
    let record: TransparentListener | undefined
    const originalPort = p.originalPort
    // Both routes made once per listener: an accept only picks one (no label or closure per connection).
    const routes: Record<'tls' | 'http', Route> = {
      tls: { label: `tls:${originalPort}`, handler: (c) => handleTransparentTls(c, originalPort) },
      http: { label: `http:${originalPort}`, handler: (c) => handleTransparentHttp(c, originalPort) },
    }
    // A TLS port's connections are TunnelConnections on their handles (LiteSockets only when refused at accept).
    const takeHandle: HandleTaker = (handle, peerAddress, peerPort) => {
      if ((record?.kind ?? p.kind) !== 'tls') return false
      this.#acceptTunnel(handle, peerAddress, peerPort, routes.tls, originalPort)
      return true
    }
    const server = this.#makeServer(() => routes[record?.kind ?? p.kind], false, takeHandle)
    try {
      const a = await listen(server, address, p.listenPort)
      record = { kind: p.kind, originalPort: p.originalPort, address: a.host, port: a.port, server }
      return record
    } catch (e) {
      return new ListenerStartError(`the transparent listener ${p.kind}:${p.originalPort}`, address, p.listenPort, e, TRANSPARENT_CHANGES)
    }
  }

  #recordPolicy(state: PolicyState): void {
    const s = state.engine.stats
    this.metrics.policyRules.set({ type: 'network' }, s.networkRules)
    this.metrics.policyRules.set({ type: 'application' }, s.applicationRules)
    this.metrics.policyRules.set({ type: 'dnat' }, s.dnatRules)
    this.metrics.policyLoadedTime.set(state.loadedAtMs / 1000)
  }

  /**
   * A reload's first step: opens the listeners `state` needs (the state in force does not change
   * until `commit()`). The appliance applies its nftables table in between.
   */
  async prepareReload(state: PolicyState): Promise<PreparedReload> {
    return this.#prepare(state)
  }

  /** Counts a reload that was put in force. */
  reloadApplied(): void {
    this.metrics.reloads.inc({ result: 'ok' })
  }

  /**
   * Puts a new policy in force; returns warnings. A transparent listener the new policy needs that
   * cannot be opened refuses the reload with nothing changed (it throws), as at start and as the
   * appliance does: a reload that left a port of the policy without its listener would be half
   * applied.
   */
  async reload(state: PolicyState): Promise<string[]> {
    const prepared = await this.#prepare(state)
    if (prepared.failed.length > 0) {
      prepared.abort()
      throw listenersNotOpened(prepared)
    }
    prepared.commit()
    this.reloadApplied()
    return [...prepared.warnings]
  }

  /** Counts a reload that was refused (the old policy stays). */
  reloadRejected(): void {
    this.metrics.reloads.inc({ result: 'rejected' })
  }

  #closeListeners(): void {
    this.#listenCache = undefined
    this.#explicit?.server.close()
    this.#explicit = undefined
    for (const l of this.#transparent.values()) l.server.close()
    this.#transparent.clear()
  }

  /** Until every accepted socket has closed and every relay has ended (so logged its close line), or `boundMs`. */
  async #closeLinesWritten(boundMs: number): Promise<void> {
    // performance.now(): a wall clock stepped back must not stretch the bound.
    const until = performance.now() + boundMs
    while ((this.#sockets.size > 0 || this.#relaying.size > 0 || this.metrics.openTunnelCount > 0) && performance.now() < until) await sleep(5)
  }

  /**
   * Stops accepting, lets open connections finish for up to `drainMs`, then closes the rest.
   * Returns how many had to be closed.
   */
  async stop(drainMs: number): Promise<{ closed: number }> {
    if (this.#stopping) return { closed: 0 }
    this.#stopping = true
    this.#closeListeners()
    // Kept-alive clients between requests, and those closing after their last response, have
    // nothing in flight: they close once what was written to them is sent, not at the drain bound.
    for (const s of this.#idleClients) closeWhenFlushed(s)
    this.#idleClients.clear()
    this.#pool.clear('stop')
    const drainEnd = performance.now() + drainMs
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
    // Tunnels whose client is gone, still writing what it sent to their origin: within the same bound.
    while (this.#relaying.size > 0 && performance.now() < drainEnd) await sleep(10)
    // The open connections, and the tunnels whose client is gone already (their origin still being
    // written to: one that does not read would hold the tunnel, and its close line, past the stop).
    const left = new Set<RelayingConnection>([...this.#sockets.values(), ...this.#relaying])
    const closed = left.size
    if (closed > 0) this.#forcedStop = true
    for (const c of left) c.destroyNow()
    // The connections closed at the bound still get their close lines (bytes, duration): a relay
    // ends, and writes its line, when both of its sockets have closed, a few callbacks after
    // destroy(). Bounded, as everything in a stop.
    if (closed > 0) await this.#closeLinesWritten(STOP_CLOSE_LINES_BOUND_MS)
    this.#pool.clear('stop')
    await this.#admin?.close()
    this.#admin = undefined
    this.#listenCache = undefined
    this.#options.resolver.close()
    return { closed }
  }
}
