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
import { connect, type Socket } from 'node:net'
import { OriginReader } from './origin-reader.ts'
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
}

export type DialFailure = 'DNS_FAILED' | 'DESTINATION_FORBIDDEN' | 'DIAL_FAILED' | 'ABORTED'

export interface RefusedAddress {
  readonly address: string
  readonly cls: AddressClass
}

export type DialResult =
  | {
      readonly ok: true
      readonly socket: Socket
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
export function connectOnce(address: string, port: number, timeoutMs: number, signal?: DialCancel): Promise<Socket | string> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve('ABORTED')
      return
    }
    const reader = new OriginReader()
    const socket = connect({ host: address, port, allowHalfOpen: true, noDelay: true, onread: reader.onread })
    reader.bind(socket)
    let settled = false
    const finish = (result: Socket | string): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      socket.removeListener('connect', onConnect)
      socket.removeListener('error', onError)
      if (typeof result === 'string') socket.destroy()
      // A connected origin may reset while the proxy still waits for the client (a CONNECT's
      // ClientHello): without a listener that 'error' would be thrown and end the process. The
      // socket is destroyed by then, and the relay, which adds its own handler, sees it closed.
      else socket.on('error', ignoreError)
      resolve(result)
    }
    const onConnect = (): void => {
      finish(socket)
    }
    const onError = (e: Error): void => {
      finish('code' in e ? String(e.code) : e.message)
    }
    const onAbort = (): void => {
      finish('ABORTED')
    }
    const timer = setTimeout(() => {
      finish('ETIMEDOUT')
    }, timeoutMs)
    socket.once('connect', onConnect)
    socket.once('error', onError)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
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
    const result = await connectOnce(address, port, options.dialTimeoutMs, options.signal)
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
