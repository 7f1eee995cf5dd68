/**
 * @module Resolve → classify → dial the exact address that was checked (smokescreen's
 * `safeResolve`, DESIGN.md §4). The client's original destination is never an input here: the
 * only way to an address is through the allowed name, so an allowed SNI paired with another IP
 * (SNI spoofing) still reaches the allowed name's servers, and an answer that rebinds the name to
 * a private address is refused.
 *
 * Addresses are tried in the resolver's order (A answers first, then AAAA), each with its own
 * connect timeout, at most `maxAttempts` of them.
 */
import { connect } from 'node:net'
import { LiteSocket } from './lite-socket.ts'
import { OriginReader } from './origin-reader.ts'
import type { SocketLayer, StreamSocket } from './stream-socket.ts'
import { classifyAddress, type AddressClass, type ClassifyContext } from './classify-address.ts'
import type { NameResolver, ResolveFailure, ResolveResult } from './resolve.ts'

/**
 * What the dial watches to give up when the client goes away: an `AbortSignal`, or anything with
 * its `aborted` flag and 'abort' listeners (the proxy uses a plain object: an AbortController per
 * connection costs several microseconds).
 */
export interface DialCancel {
  readonly aborted: boolean
  addEventListener(type: 'abort', listener: () => void, options?: { once: boolean }): void
  removeEventListener(type: 'abort', listener: () => void): void
}

export interface DialOptions {
  readonly resolver: NameResolver
  readonly classify: ClassifyContext
  readonly dialTimeoutMs: number
  readonly maxAttempts: number
  /** Aborts resolution and the connect in progress (the client went away). */
  readonly signal?: DialCancel
  /** The origin socket's kind (default `node`: a `net.Socket`). */
  readonly socketLayer?: SocketLayer
}

export type DialFailure = 'DNS_FAILED' | 'DESTINATION_FORBIDDEN' | 'DIAL_FAILED' | 'ABORTED'

export interface RefusedAddress {
  readonly address: string
  readonly cls: AddressClass
}

export type DialResult =
  | {
      readonly ok: true
      readonly socket: StreamSocket
      readonly address: string
      /** Addresses of the name refused by classification (others were tried). */
      readonly refused: readonly RefusedAddress[]
      readonly dnsMs: number
      readonly connectMs: number
    }
  | {
      readonly ok: false
      readonly failure: DialFailure
      readonly detail: string
      readonly dnsFailure?: ResolveFailure
      readonly refused: readonly RefusedAddress[]
      readonly dnsMs: number
      readonly connectMs: number
    }

function elapsedMs(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6
}

function ignoreError(): void {
  // The owner of the socket sees it destroyed; see connectOnce.
}

/** Connects to one address, bounded; resolves with the socket or the error code. */
export function connectOnce(address: string, port: number, timeoutMs: number, signal?: DialCancel, layer: SocketLayer = 'node'): Promise<StreamSocket | string> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve('ABORTED')
      return
    }
    const reader = new OriginReader()
    const socket: Attempting =
      layer === 'lite'
        ? LiteSocket.connect({ host: address, port, noDelay: true, onread: reader.onread })
        : connect({ host: address, port, allowHalfOpen: true, noDelay: true, onread: reader.onread })
    reader.bind(socket)
    new ConnectAttempt(socket, timeoutMs, signal, resolve)
  })
}

/**
 * Where a socket being connected keeps its attempt: a symbol-keyed property, so that its
 * listeners and the timer's callback are shared module functions, not closures made for every dial.
 */
const ATTEMPT = Symbol('connectAttempt')
type Attempting = StreamSocket & { [ATTEMPT]?: ConnectAttempt | undefined }

function onAttemptConnect(this: Attempting): void {
  this[ATTEMPT]?.finish(this)
}

function onAttemptError(this: Attempting, e: Error): void {
  this[ATTEMPT]?.finish('code' in e ? String(e.code) : e.message)
}

function onAttemptTimeout(a: ConnectAttempt): void {
  a.finish('ETIMEDOUT')
}

/** One connection attempt: settles once, on connect, error, timeout or cancel. */
class ConnectAttempt {
  #settled = false
  readonly #socket: Attempting
  readonly #timer: NodeJS.Timeout
  readonly #signal: DialCancel | undefined
  readonly #resolve: (result: StreamSocket | string) => void
  /** The cancel's listener (DialCancel calls it without `this`). */
  readonly #onAbort = (): void => {
    this.finish('ABORTED')
  }

  constructor(socket: Attempting, timeoutMs: number, signal: DialCancel | undefined, resolve: (result: StreamSocket | string) => void) {
    this.#socket = socket
    this.#signal = signal
    this.#resolve = resolve
    socket[ATTEMPT] = this
    this.#timer = setTimeout(onAttemptTimeout, timeoutMs, this)
    // `on`, not `once`: finish() removes them (no wrappers).
    socket.on('connect', onAttemptConnect)
    socket.on('error', onAttemptError)
    signal?.addEventListener('abort', this.#onAbort, { once: true })
  }

  finish(result: StreamSocket | string): void {
    if (this.#settled) return
    this.#settled = true
    const socket = this.#socket
    clearTimeout(this.#timer)
    this.#signal?.removeEventListener('abort', this.#onAbort)
    socket[ATTEMPT] = undefined
    socket.removeListener('connect', onAttemptConnect)
    socket.removeListener('error', onAttemptError)
    if (typeof result === 'string') socket.destroy()
    // A connected origin may reset while the proxy still waits for the client (a CONNECT's
    // ClientHello): without a listener that 'error' would be thrown and end the process. The
    // socket is destroyed by then, and the relay, which adds its own handler, sees it closed.
    else socket.on('error', ignoreError)
    this.#resolve(result)
  }
}

/** The addresses of a name the policy lets the proxy dial, or why there are none. */
export type CheckedAddresses =
  | { readonly ok: true; readonly allowed: readonly string[]; readonly refused: readonly RefusedAddress[]; readonly dnsMs: number }
  | Extract<DialResult, { ok: false }>

/**
 * Resolves `host` (a name in normal form or an IP literal) and keeps the addresses the policy
 * lets the proxy dial, in the resolver's order. The first half of `dialChecked`; the HTTP
 * forwarder looks for a pooled connection to one of them before it connects.
 */
export async function resolveChecked(host: string, port: number, options: Omit<DialOptions, 'dialTimeoutMs' | 'maxAttempts'>): Promise<CheckedAddresses> {
  const t0 = process.hrtime.bigint()
  const resolved = await options.resolver.resolve(host)
  return checkResolved(host, port, resolved, elapsedMs(t0), options)
}

/**
 * `resolveChecked` without a promise when the resolver knows the answer already (an IP literal,
 * `--hosts`, its cache: `NameResolver.known`); undefined when DNS must be asked. The checks are
 * the same.
 */
export function resolveCheckedKnown(host: string, port: number, options: Omit<DialOptions, 'dialTimeoutMs' | 'maxAttempts'>): CheckedAddresses | undefined {
  const t0 = process.hrtime.bigint()
  const resolved = options.resolver.known(host)
  if (resolved === undefined) return undefined
  return checkResolved(host, port, resolved, elapsedMs(t0), options)
}

function checkResolved(host: string, port: number, resolved: ResolveResult, dnsMs: number, options: Omit<DialOptions, 'dialTimeoutMs' | 'maxAttempts'>): CheckedAddresses {
  if (options.signal?.aborted) return { ok: false, failure: 'ABORTED', detail: 'the client went away', refused: [], dnsMs, connectMs: 0 }
  if (!resolved.ok) {
    return { ok: false, failure: 'DNS_FAILED', detail: resolved.detail, dnsFailure: resolved.failure, refused: [], dnsMs, connectMs: 0 }
  }
  const refused: RefusedAddress[] = []
  const allowed: string[] = []
  for (const a of resolved.addresses) {
    const c = classifyAddress(a, port, options.classify)
    if (c.allowed) allowed.push(a)
    else refused.push({ address: a, cls: c.cls })
  }
  if (allowed.length === 0) {
    const classes = [...new Set(refused.map((r) => r.cls))].join(', ')
    return {
      ok: false,
      failure: 'DESTINATION_FORBIDDEN',
      detail: `${host} resolves only to addresses the proxy may not dial (${classes})`,
      refused,
      dnsMs,
      connectMs: 0,
    }
  }
  return { ok: true, allowed, refused, dnsMs }
}

/** Connects to the first of the checked addresses that answers, at most `maxAttempts` of them. */
export async function connectChecked(host: string, port: number, checked: Extract<CheckedAddresses, { ok: true }>, options: DialOptions): Promise<DialResult> {
  const { refused, dnsMs } = checked
  const t1 = process.hrtime.bigint()
  const errors: string[] = []
  for (const address of checked.allowed.slice(0, Math.max(1, options.maxAttempts))) {
    const result = await connectOnce(address, port, options.dialTimeoutMs, options.signal, options.socketLayer)
    if (typeof result !== 'string') return { ok: true, socket: result, address, refused, dnsMs, connectMs: elapsedMs(t1) }
    if (result === 'ABORTED') return { ok: false, failure: 'ABORTED', detail: 'the client went away', refused, dnsMs, connectMs: elapsedMs(t1) }
    errors.push(`${address}: ${result}`)
  }
  return { ok: false, failure: 'DIAL_FAILED', detail: `cannot connect to ${host}:${port} (${errors.join('; ')})`, refused, dnsMs, connectMs: elapsedMs(t1) }
}

/**
 * Resolves `host` (a name in normal form or an IP literal), keeps the addresses the policy lets
 * the proxy dial, and connects to the first that answers.
 * @example await dialChecked('mcr.microsoft.com', 443, options) // { ok: true, socket, address: '20.61.x.y', ... }
 */
export async function dialChecked(host: string, port: number, options: DialOptions): Promise<DialResult> {
  const checked = await resolveChecked(host, port, options)
  if (!checked.ok) return checked
  return connectChecked(host, port, checked, options)
}
