/**
 * @module Experiment (bench only): the Node floor's four listeners with their sockets in C
 * (bench/proxy/plane/plane.c) and their verdicts in JavaScript. `node-floor.ts --plane FILE`
 * runs these instead of its relays on TCP handles: the same ports, the same checks (with
 * aks-egress's own parsers, policy and resolver), so that the suite's floor targets measure what
 * a Node.js proxy would spend per new connection if only the first bytes and the verdict were
 * JavaScript's. Not product code. With `bookkeeping`, the checked listeners keep what aks-egress
 * keeps for a connection (bench/proxy/floor-book.ts) too, from its first bytes (the plane calls
 * JavaScript first then, where node-floor.ts starts it at the accept); the relay's idle bound is not fed by
 * the relay's reads (they happen in C), which the benchmark's short connections do not reach.
 */
import { canonicalHost } from '../../src/policy/fqdn.ts'
import { parseClientHello } from '../../src/proxy/client-hello.ts'
import { parseHttpHead } from '../../src/proxy/http-head.ts'
import { DEFAULT_LIMITS } from '../../src/proxy/serve-defaults.ts'
import { Book } from './floor-book.ts'
import { checkedAddress, type Checks } from './floor-checks.ts'

export interface Plane {
  listen(port: number, onData: (id: number, data: Buffer, listener: number) => void, onConnected: (id: number, status: number) => void, onClosed: (id: number, up: number, down: number) => void): number
  connect(id: number, address: string, port: number): void
  write(id: number, side: 0 | 1, data: Uint8Array): void
  relay(id: number): void
  close(id: number): void
  /** The client's address. */
  peer(id: number): string
}

const ESTABLISHED = Buffer.from('HTTP/1.1 200 Connection established\r\n\r\n', 'latin1')

/** A connection's state until the relay: what its next bytes are, what to write after the connect. */
interface Pending {
  seen: Buffer | undefined
  /** 0 CONNECT head, 1 ClientHello (after the 200 or on a TLS port), 2 relaying or waiting. */
  phase: number
  name: string | undefined
  port: number
  hello: Buffer | undefined
  book: Book | undefined
}

export function runPlane(file: string, ports: { connect: number; sni: number; checksConnect?: number; checksSni?: number }, originPort: number, checks: Checks | undefined, bookkeeping: boolean): void {
  const m = { exports: {} as Plane }
  process.dlopen(m, file)
  const plane = m.exports
  const conns: (Pending | undefined)[] = []
  const kinds: string[] = []
  /** Bytes to and from the origin of the connection whose close is being booked. */
  const closedBytes: [number, number] = [0, 0]

  function check(p: Pending, name: string, port: number): string | undefined {
    return checks ? checkedAddress(checks, p.book?.source ?? '127.0.0.1', name, port, p.book) : undefined
  }

  function opened(id: number, p: Pending, label: string): boolean {
    const book = Book.open(plane.peer(id), label, {
      closeAll: () => {
        plane.close(id)
      },
      bytes: () => closedBytes,
    })
    if (book === undefined) {
      plane.close(id)
      return false
    }
    p.book = book
    return true
  }

  function onData(id: number, data: Buffer, listener: number): void {
    let p = conns[id]
    if (p === undefined) {
      p = { seen: undefined, phase: kinds[listener] === 'connect' || kinds[listener] === 'checks-connect' ? 0 : 1, name: undefined, port: originPort, hello: undefined, book: undefined }
      conns[id] = p
      if (bookkeeping && kinds[listener] === 'checks-connect' && !opened(id, p, 'explicit')) return
      if (bookkeeping && kinds[listener] === 'checks-sni' && !opened(id, p, `tls:${String(originPort)}`)) return
    }
    if (p.phase === 2) {
      // Bytes while the verdict's connect or write is under way: the benchmark's clients wait for
      // the proxy's answer (the 200, the server's flight), so the floor does not keep them.
      plane.close(id)
      return
    }
    const seen = p.seen ? Buffer.concat([p.seen, data]) : data
    p.seen = seen
    const kind = kinds[listener]
    if (kind === 'connect') {
      if (seen.indexOf('\r\n\r\n') === -1) {
        if (seen.length > 8192) plane.close(id)
        return
      }
      p.seen = undefined
      p.phase = 2
      plane.connect(id, '127.0.0.1', originPort)
    } else if (kind === 'sni') {
      p.seen = undefined
      p.hello = seen
      p.phase = 2
      plane.connect(id, '127.0.0.1', originPort)
    } else if (kind === 'checks-connect' && p.phase === 0) {
      const r = parseHttpHead(seen, DEFAULT_LIMITS.maxHeaderBytes)
      if (r.kind === 'needMore') return
      p.seen = undefined
      const target = r.kind === 'ok' && r.head.method === 'CONNECT' ? r.head.targetAuthority : undefined
      const name = target ? canonicalHost(target.host) : undefined
      const port = target?.port
      if (target?.port !== undefined) p.book?.handshake('https', target.host, target.port, undefined, undefined)
      const address = name !== undefined && port !== undefined ? check(p, name, port) : undefined
      if (address === undefined || port === undefined) {
        plane.close(id)
        return
      }
      p.name = name
      p.port = port
      p.phase = 2
      plane.connect(id, address, port)
    } else if (p.phase === 1) {
      const max = DEFAULT_LIMITS.maxClientHelloBytes
      const h = parseClientHello(seen, max)
      if (h.kind === 'needMore') {
        if (seen.length > max) plane.close(id)
        return
      }
      p.seen = undefined
      const name = h.kind === 'sni' ? canonicalHost(h.sni) : undefined
      if (kind === 'checks-connect') {
        // After the 200: the ClientHello's name must be the CONNECT host's.
        if (name === undefined || name !== p.name || h.kind !== 'sni') {
          plane.close(id)
          return
        }
        p.book?.handshake('https', p.name, p.port, h.sni, h.alpn)
        plane.write(id, 1, seen)
        p.phase = 2
        plane.relay(id)
        return
      }
      if (h.kind === 'sni') p.book?.handshake('https', h.sni, originPort, h.sni, h.alpn)
      const address = name === undefined ? undefined : check(p, name, originPort)
      if (address === undefined) {
        plane.close(id)
        return
      }
      p.hello = seen
      p.phase = 2
      plane.connect(id, address, originPort)
    }
  }

  function onConnected(id: number, status: number): void {
    const p = conns[id]
    if (p === undefined) return
    if (status < 0) {
      plane.close(id)
      return
    }
    p.book?.connected()
    if (p.hello) {
      plane.write(id, 1, p.hello)
      if (p.book === undefined) conns[id] = undefined
      plane.relay(id)
      return
    }
    plane.write(id, 0, ESTABLISHED)
    if (p.name !== undefined) {
      // The checked CONNECT reads the ClientHello in JavaScript before the relay.
      p.phase = 1
      return
    }
    conns[id] = undefined
    plane.relay(id)
  }

  let closed = 0
  function onClosed(id: number, toOrigin: number, fromOrigin: number): void {
    const book = conns[id]?.book
    conns[id] = undefined
    closed++
    if (book) {
      closedBytes[0] = toOrigin
      closedBytes[1] = fromOrigin
      book.sideClosed(true)
    }
  }

  const add = (port: number | undefined, kind: string): void => {
    if (port === undefined) return
    kinds[plane.listen(port, onData, onConnected, onClosed)] = kind
  }
  add(ports.connect, 'connect')
  add(ports.sni, 'sni')
  add(ports.checksConnect, 'checks-connect')
  add(ports.checksSni, 'checks-sni')
  process.on('SIGTERM', () => {
    process.stderr.write(`plane-floor: ${String(closed)} connections closed\n`)
    process.exit(0)
  })
}
