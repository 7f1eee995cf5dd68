/**
 * @module The admin endpoint (`serve --admin`, default 127.0.0.1:9901): `/metrics` (Prometheus
 * text), `/healthz` (the process serves), `/readyz` (listeners open and not draining),
 * `/listeners` (JSON: every listener and, for transparent ones, the original port it serves).
 * Keep it on loopback or a management network: it tells the policy's ports and rule names.
 */
import { createServer, type Server } from 'node:http'
import type { ListenerInfo } from './proxy-server.ts'
import type { ProxyMetrics } from './proxy-metrics.ts'

export interface AdminSource {
  readonly metrics: ProxyMetrics
  readonly ready: boolean
  readonly listeners: ListenerInfo[]
}

export class AdminServer {
  readonly #source: AdminSource
  readonly #server: Server
  #address: { host: string; port: number } | undefined

  constructor(source: AdminSource) {
    this.#source = source
    this.#server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0]
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { Allow: 'GET, HEAD' }).end()
        return
      }
      switch (path) {
        case '/metrics':
          this.#source.metrics.registry.metrics().then(
            (text) => {
              res.writeHead(200, { 'Content-Type': this.#source.metrics.registry.contentType }).end(text)
            },
            (e: unknown) => {
              res.writeHead(500, { 'Content-Type': 'text/plain' }).end(String(e))
            },
          )
          return
        case '/healthz':
          res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok\n')
          return
        case '/readyz': {
          const ready = this.#source.ready
          res.writeHead(ready ? 200 : 503, { 'Content-Type': 'text/plain' }).end(ready ? 'ready\n' : 'not ready\n')
          return
        }
        case '/listeners':
          res.writeHead(200, { 'Content-Type': 'application/json' }).end(`${JSON.stringify(this.#source.listeners)}\n`)
          return
        default:
          res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n')
      }
    })
    this.#server.keepAliveTimeout = 5000
    this.#server.headersTimeout = 10_000
    this.#server.requestTimeout = 10_000
  }

  get address(): { host: string; port: number } | undefined {
    return this.#address
  }

  start(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject)
      this.#server.listen({ host, port, exclusive: true }, () => {
        this.#server.removeListener('error', reject)
        const a = this.#server.address()
        if (a && typeof a !== 'string') this.#address = { host: a.address, port: a.port }
        resolve()
      })
    })
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.#server.listening) {
        resolve()
        return
      }
      this.#server.close(() => {
        resolve()
      })
      this.#server.closeAllConnections()
    })
  }
}
