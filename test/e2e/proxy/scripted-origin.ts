// A plain-HTTP origin whose every answer the test writes byte for byte (framing edge cases:
// chunked, close-delimited, HEAD, 204, 304, 1xx, bad framing, dropped connections), on a random
// 127.a.b.c address. It reads requests one at a time per connection (Content-Length or chunked
// bodies, parsed here independently of the proxy's parsers) and records each with the index of
// its connection, so that tests can tell reused origin connections from new ones.
import { createServer, type Socket } from 'node:net'
import { listenOnRandomLoopback } from './harness.ts'

export interface ScriptedRequest {
  /** The origin connection it came on (1, 2, ... in accept order). */
  readonly conn: number
  /** Its number on that connection (1, 2, ...). */
  readonly index: number
  readonly method: string
  readonly target: string
  readonly version: string
  /** Names lower-cased, in order; repeated fields stay repeated. */
  readonly headers: ReadonlyArray<readonly [string, string]>
  readonly body: Buffer
}

/**
 * What the origin does with a request: bytes to write (the connection then waits for the next
 * request), `{ bytes, close: true }` (write, then close), `{ bytes, delayMs }` (write later: a slow
 * origin, so that requests overlap), `{ action: 'drop' }` (close without a byte: an idle
 * connection the origin gave up on) or `{ action: 'hang' }` (never answer).
 */
export type Reply =
  | string
  | Buffer
  | { readonly bytes: string | Buffer; readonly close: true }
  | { readonly bytes: string; readonly delayMs: number }
  | { readonly action: 'drop' | 'hang' }

export interface ScriptedOrigin {
  readonly address: string
  readonly port: number
  readonly requests: ScriptedRequest[]
  /** Connections accepted so far, and how many of them are still open. */
  accepts(): number
  open(): number
  /** Whether origin connection `conn` (ScriptedRequest.conn) is still open. */
  isOpen(conn: number): boolean
  /** Closes every open connection from the origin's side (FIN), as an origin's idle timeout does. */
  closeIdle(): void
  close(): Promise<void>
}

export function header(r: ScriptedRequest, name: string): string[] {
  return r.headers.filter(([n]) => n === name).map(([, v]) => v)
}

/** Splits `buf` into a request head and its body; undefined until complete. Throws on bad framing. */
function takeRequest(buf: Buffer): { head: Omit<ScriptedRequest, 'conn' | 'index' | 'body'>; body: Buffer; used: number } | undefined {
  const end = buf.indexOf('\r\n\r\n')
  if (end < 0) return undefined
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n')
  const [method = '', target = '', version = ''] = (lines[0] ?? '').split(' ')
  const headers = lines.slice(1).map((l): readonly [string, string] => {
    const i = l.indexOf(':')
    return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()]
  })
  let p = end + 4
  const te = headers.find(([n]) => n === 'transfer-encoding')?.[1]
  const cl = headers.find(([n]) => n === 'content-length')?.[1]
  const parts: Buffer[] = []
  if (te === 'chunked') {
    for (;;) {
      const eol = buf.indexOf('\r\n', p)
      if (eol < 0) return undefined
      const size = parseInt(buf.subarray(p, eol).toString('latin1').split(';')[0] ?? '', 16)
      if (!Number.isFinite(size)) throw new Error('origin: bad chunk size')
      if (size === 0) {
        const trailerEnd = buf.indexOf('\r\n\r\n', eol)
        if (buf.subarray(eol, eol + 4).toString() === '\r\n\r\n') p = eol + 4
        else if (trailerEnd < 0) return undefined
        else p = trailerEnd + 4
        break
      }
      if (buf.length < eol + 2 + size + 2) return undefined
      parts.push(buf.subarray(eol + 2, eol + 2 + size))
      p = eol + 2 + size + 2
    }
  } else if (cl !== undefined) {
    const n = Number(cl)
    if (buf.length < p + n) return undefined
    parts.push(buf.subarray(p, p + n))
    p += n
  }
  return { head: { method, target, version, headers }, body: Buffer.concat(parts), used: p }
}

export async function startScriptedOrigin(respond: (r: ScriptedRequest) => Reply, port = 80): Promise<ScriptedOrigin> {
  const sockets = new Set<Socket>()
  const openConns = new Set<number>()
  const requests: ScriptedRequest[] = []
  let accepts = 0
  const server = createServer({ allowHalfOpen: false }, (s) => {
    const conn = ++accepts
    let index = 0
    let buf = Buffer.alloc(0)
    let busy = false
    sockets.add(s)
    openConns.add(conn)
    s.on('close', () => {
      sockets.delete(s)
      openConns.delete(conn)
    })
    s.on('error', () => undefined)
    const serve = (): void => {
      if (busy) return
      let got
      try {
        got = takeRequest(buf)
      } catch {
        s.destroy()
        return
      }
      if (!got) return
      buf = buf.subarray(got.used)
      const r: ScriptedRequest = { conn, index: ++index, ...got.head, body: got.body }
      requests.push(r)
      const reply = respond(r)
      if (typeof reply === 'string' || Buffer.isBuffer(reply)) {
        s.write(reply)
        serve()
      } else if ('delayMs' in reply) {
        busy = true
        setTimeout(() => {
          busy = false
          if (!s.destroyed) s.write(reply.bytes)
          serve()
        }, reply.delayMs)
      } else if ('action' in reply) {
        if (reply.action === 'drop') s.destroy()
        else busy = true
      } else s.end(reply.bytes)
    }
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c])
      serve()
    })
  })
  const address = await listenOnRandomLoopback(server, port)
  return {
    address,
    port,
    requests,
    accepts: () => accepts,
    open: () => sockets.size,
    isOpen: (conn) => openConns.has(conn),
    closeIdle: () => {
      for (const s of sockets) s.end()
    },
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => {
          resolve()
        })
      }),
  }
}
