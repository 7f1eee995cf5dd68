// A raw HTTP/1.x client for keep-alive tests: one TCP connection, requests written byte for byte,
// responses read one at a time with their framing parsed here (independently of the proxy's
// parsers), and the connection's close observed, so that a test can assert exactly what came back
// on the one connection and whether it stayed open.
import { once } from 'node:events'
import { connect, type Socket } from 'node:net'

export interface RawResponse {
  readonly status: number
  readonly statusLine: string
  /** Names lower-cased, in order. */
  readonly headers: ReadonlyArray<readonly [string, string]>
  readonly body: Buffer
  /** The head and body as received. */
  readonly raw: string
}

export function responseHeader(r: RawResponse, name: string): string | undefined {
  return r.headers.find(([n]) => n === name)?.[1]
}

export class RawHttpClient {
  readonly socket: Socket
  #buf = Buffer.alloc(0)
  #ended = false
  #closed = false
  #waiter: (() => void) | undefined

  private constructor(socket: Socket) {
    this.socket = socket
    socket.on('data', (c: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, c])
      this.#wake()
    })
    socket.on('end', () => {
      this.#ended = true
      this.#wake()
    })
    socket.on('close', () => {
      this.#closed = true
      this.#ended = true
      this.#wake()
    })
    socket.on('error', () => undefined)
  }

  static async open(port: number, host = '127.0.0.1'): Promise<RawHttpClient> {
    const s = connect({ host, port, allowHalfOpen: true })
    const c = new RawHttpClient(s)
    await once(s, 'connect')
    return c
  }

  get ended(): boolean {
    return this.#ended
  }

  /** Bytes received and not yet taken by `response()`. */
  get buffered(): Buffer {
    return this.#buf
  }

  #wake(): void {
    const w = this.#waiter
    this.#waiter = undefined
    w?.()
  }

  async #more(deadline: number): Promise<void> {
    if (this.#ended) throw new Error(`connection ended; unread: ${JSON.stringify(this.#buf.toString('latin1'))}`)
    const left = deadline - Date.now()
    if (left <= 0) throw new Error(`no complete response in time; got ${JSON.stringify(this.#buf.toString('latin1'))}`)
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, left)
      this.#waiter = () => {
        clearTimeout(t)
        resolve()
      }
    })
  }

  send(data: string | Buffer): void {
    this.socket.write(data)
  }

  /**
   * The next response on the connection. `method`: the request's (HEAD has no body);
   * `closeDelimited` bodies end when the proxy closes.
   */
  async response(method = 'GET', timeoutMs = 5000): Promise<RawResponse> {
    const deadline = Date.now() + timeoutMs
    let end: number
    while ((end = this.#buf.indexOf('\r\n\r\n')) < 0) await this.#more(deadline)
    const headText = this.#buf.subarray(0, end).toString('latin1')
    const lines = headText.split('\r\n')
    const statusLine = lines[0] ?? ''
    const status = Number(statusLine.slice(9, 12))
    const headers = lines.slice(1).map((l): readonly [string, string] => {
      const i = l.indexOf(':')
      return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()]
    })
    const get = (n: string): string | undefined => headers.find(([k]) => k === n)?.[1]
    let p = end + 4
    let body: Buffer
    if (method === 'HEAD' || status < 200 || status === 204 || status === 304) {
      body = Buffer.alloc(0)
    } else if (get('transfer-encoding')?.toLowerCase() === 'chunked') {
      const parts: Buffer[] = []
      for (;;) {
        let eol: number
        while ((eol = this.#buf.indexOf('\r\n', p)) < 0) await this.#more(deadline)
        const size = parseInt(this.#buf.subarray(p, eol).toString('latin1'), 16)
        if (!Number.isFinite(size)) throw new Error('bad chunk size in the response')
        if (size === 0) {
          let te: number
          while ((te = this.#buf.indexOf('\r\n\r\n', eol)) < 0 && this.#buf.subarray(eol, eol + 4).toString() !== '\r\n\r\n') await this.#more(deadline)
          p = this.#buf.subarray(eol, eol + 4).toString() === '\r\n\r\n' ? eol + 4 : te + 4
          break
        }
        while (this.#buf.length < eol + 2 + size + 2) await this.#more(deadline)
        parts.push(this.#buf.subarray(eol + 2, eol + 2 + size))
        p = eol + 2 + size + 2
      }
      body = Buffer.concat(parts)
    } else if (get('content-length') !== undefined) {
      const n = Number(get('content-length'))
      while (this.#buf.length < p + n) await this.#more(deadline)
      body = this.#buf.subarray(p, p + n)
      p += n
    } else {
      while (!this.#ended && Date.now() < deadline) await this.#more(deadline).catch(() => undefined)
      if (!this.#ended) throw new Error('a close-delimited response did not end in time')
      body = this.#buf.subarray(p)
      p = this.#buf.length
    }
    const raw = this.#buf.subarray(0, p).toString('latin1')
    this.#buf = this.#buf.subarray(p)
    return { status, statusLine, headers, body: Buffer.from(body), raw }
  }

  /** Resolves true when the proxy closes (FIN or close) within `timeoutMs`, false otherwise. */
  async closedWithin(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs
    while (!this.#ended && Date.now() < deadline) await this.#more(deadline).catch(() => undefined)
    return this.#ended
  }

  get destroyed(): boolean {
    return this.#closed
  }

  close(): void {
    this.socket.destroy()
  }
}
