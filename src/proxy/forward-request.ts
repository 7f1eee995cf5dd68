/**
 * @module One plain-HTTP request from decision to response (the explicit proxy's absolute-form
 * requests, the transparent HTTP listeners): decide it by its host under the policy in force when
 * its head was read, take an idle origin connection to a checked address from the pool or dial
 * one, run the exchange (forward-http.ts), and hand the origin connection back to the pool when
 * it is clean.
 *
 * A request refused before any origin (denied by the policy, unresolvable, a bad form) gets its
 * status and the client connection closes, even when its framing would let the next request be
 * found: its body, if any, was never read, and a client that was refused has nothing more to send
 * that the proxy wants (the safe choice; squid keeps such connections open).
 *
 * Pool hygiene: an origin connection goes back only if the policy it was checked under is still
 * in force (a reload clears the pool, and a connection whose request was decided before the reload
 * must not refill it) and the proxy is not draining.
 */
import type { StreamSocket } from '../net/stream-socket.ts'
import { formatHostPort } from './authority.ts'
import type { ClientConnection, HttpOrigin } from './client-connection.ts'
import { httpDenyResponse } from './deny-response.ts'
import { flowFor } from './flow-for.ts'
import { exchange, type ExchangeResult } from './forward-http.ts'
import { clientAllowsKeepAlive, originRequestHead } from './hop-by-hop.ts'
import type { HttpRequestHead } from './http-head.ts'
import { CLIENT_GONE_WHILE_CONNECTING, deny, failedAfter, verdictOf, type Verdict } from './outcome.ts'

const EMPTY = Buffer.alloc(0)

/** The client can still be written to (a function: the socket's state changes across awaits). */
function isOpen(socket: StreamSocket): boolean {
  return !socket.destroyed && !socket.writableEnded
}

/** Refuses a request before any origin: its status, then the connection closes. Returns null (done). */
export function refuse(conn: ClientConnection, verdict: Verdict, status?: number): null {
  conn.denyHttp(verdict, status)
  return null
}

/** The Host value sent to the origin: the name, an IPv6 literal in brackets, `:port` unless 80. */
function hostValue(host: string, port: number): string {
  if (port !== 80) return formatHostPort(host, port)
  return host.includes(':') ? `[${host}]` : host
}

/**
 * Decides a plain-HTTP request for `host:port`, forwards it and relays the response. Resolves with
 * the bytes read after the request when the client connection stays open, null when it is done.
 */
export async function decideAndForward(conn: ClientConnection, head: HttpRequestHead, rest: Buffer, host: string, port: number): Promise<Buffer | null> {
  const planned = flowFor(conn, host, port, 'http')
  if (!planned) return refuse(conn, deny('INVALID_HOST', `Host "${host}" is not a valid host name`))
  const state = conn.state
  const verdict = verdictOf(state.engine.decide(planned.flow))
  if (verdict.action === 'deny') return refuse(conn, verdict)
  const authority = hostValue(host, port)
  const dialed = await conn.dialHttp(planned.dialHost, port, authority)
  if (!dialed.ok) return refuse(conn, failedAfter(verdict, dialed.verdict))
  let origin: HttpOrigin = dialed.origin
  if (conn.socket.destroyed) {
    origin.socket.destroy()
    conn.decide(failedAfter(verdict, CLIENT_GONE_WHILE_CONNECTING))
    return null
  }
  conn.decide(verdict)
  const rt = conn.rt
  const limits = rt.limits
  const requestHead = originRequestHead(head, authority, rt.pool.enabled && !rt.draining())
  const clientKeepAlive = clientAllowsKeepAlive(head) && conn.requests < limits.maxRequestsPerConnection && !rt.draining()
  const run = (o: HttpOrigin): Promise<ExchangeResult> =>
    exchange({ client: conn.socket, origin: o.socket, request: head, requestHead, body: rest, reused: o.reused, clientKeepAlive, limits })
  rt.metrics.tunnelOpened()
  let result: ExchangeResult
  try {
    result = await run(origin)
    if (result.outcome === 'retry') {
      // A pooled connection the origin had closed while idle: once more on a new one (idempotent, no body).
      rt.metrics.originRetries.inc()
      conn.forwarded(result.bytesUp, result.bytesDown, false)
      const again = await conn.dialHttp(planned.dialHost, port, authority, true)
      if (!again.ok) {
        rt.metrics.forwardedRequests.inc({ listener: conn.listener, outcome: 'bad-response' })
        if (isOpen(conn.socket)) conn.socket.end(httpDenyResponse(again.verdict))
        conn.endHttp()
        return null
      }
      origin = again.origin
      result = await run(origin)
    }
  } finally {
    rt.metrics.tunnelClosed()
  }
  conn.forwarded(result.bytesUp, result.bytesDown, true)
  rt.metrics.forwardedRequests.inc({ listener: conn.listener, outcome: result.outcome })
  if (result.detail !== undefined && result.outcome !== 'complete' && result.outcome !== 'client-closed' && rt.log.logger.isLevelEnabled('warn')) {
    rt.log.logger.warn({ event: 'forward-error', conn: conn.id, request: conn.requests, host, port, outcome: result.outcome, detail: result.detail }, 'forward error')
  }
  // The close line's `end`: no response in time is the idle bound; a response or request that could not be relayed, an error.
  if (result.outcome === 'timeout') conn.endedBy('idle')
  else if (result.outcome !== 'complete' && result.outcome !== 'client-closed') conn.endedBy('error')
  if (result.keepOrigin) {
    // Checked under the policy in force, and the proxy still serving: else the connection goes.
    if (state === rt.policy() && !rt.draining()) rt.pool.put(origin.key, origin.socket)
    else origin.socket.destroy()
  }
  if (result.keepClient && !rt.draining() && isOpen(conn.socket)) return result.pending ?? EMPTY
  conn.endHttp()
  return null
}
