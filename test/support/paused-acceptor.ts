/**
 * A listener on 127.0.0.1:0 whose accepted sockets come paused and half-open, as the proxy's: a
 * LiteServer (`lite`) or a net.Server (`node`), for tests that run with both socket layers.
 */
import { once, type EventEmitter } from 'node:events'
import { createServer } from 'node:net'
import { LiteServer } from '../../src/net/lite-socket.ts'
import type { SocketLayer } from '../../src/net/stream-socket.ts'

export interface PausedAcceptor {
  /** Emits 'connection' with each accepted socket. */
  readonly server: EventEmitter & { close(): unknown }
  readonly port: number
}

export async function pausedAcceptor(layer: SocketLayer): Promise<PausedAcceptor> {
  if (layer === 'lite') {
    const server = new LiteServer()
    return { server, port: server.listen('127.0.0.1', 0).port }
  }
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no address')
  return { server, port: address.port }
}
