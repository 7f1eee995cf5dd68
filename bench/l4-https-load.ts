// The HTTPS load generator of the l4 suite (bench/l4.ts), run inside the `node` namespace:
//   node --import tsx bench/l4-https-load.ts IP PORT SERVERNAME CA_FILE TOTAL CONCURRENCY
// Opens TOTAL new TLS connections (no session resumption: a full handshake each), CONCURRENCY at a
// time, each sending one GET and reading the small response to the end; prints one JSON line:
// {"ok":N,"failed":N,"seconds":S,"p50Ms":X,"p99Ms":Y}.
import { readFileSync } from 'node:fs'
import { connect } from 'node:tls'

const [ip = '', portText = '443', servername = '', caFile = '', totalText = '1000', concurrencyText = '16'] = process.argv.slice(2)
const ca = readFileSync(caFile)
const total = Number(totalText)
const concurrency = Number(concurrencyText)

function once(): Promise<number | undefined> {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint()
    let got = 0
    const s = connect({ host: ip, port: Number(portText), servername, ca })
    const timer = setTimeout(() => {
      s.destroy()
      resolve(undefined)
    }, 10_000)
    s.on('secureConnect', () => {
      s.end(`GET / HTTP/1.1\r\nHost: ${servername}\r\nConnection: close\r\n\r\n`)
    })
    s.on('data', (c: Buffer) => (got += c.length))
    s.on('error', () => undefined)
    s.on('close', () => {
      clearTimeout(timer)
      resolve(got > 0 ? Number(process.hrtime.bigint() - t0) / 1e6 : undefined)
    })
  })
}

const latencies: number[] = []
let failed = 0
let next = 0
const started = process.hrtime.bigint()
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < total) {
      next++
      const ms = await once()
      if (ms === undefined) failed++
      else latencies.push(ms)
    }
  }),
)
const seconds = Number(process.hrtime.bigint() - started) / 1e9
latencies.sort((a, b) => a - b)
const pick = (q: number): number => Number((latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))] ?? 0).toFixed(3))
process.stdout.write(`${JSON.stringify({ ok: latencies.length, failed, seconds: Number(seconds.toFixed(3)), p50Ms: pick(0.5), p99Ms: pick(0.99) })}\n`)
