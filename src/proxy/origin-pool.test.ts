// The origin pool with real loopback connections (made by connectOnce, so with origin readers):
// take returns what put kept, per key, most recent first; the bounds per key and in total; an
// idle connection that the origin closes, writes to, or leaves idle past the bound is dropped at
// once; clear on reload and stop; nothing is kept after stop.
import assert from 'node:assert/strict'
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, before, test } from 'node:test'
import { connectOnce } from '../net/dial-checked.ts'
import type { StreamSocket } from '../net/stream-socket.ts'
import { OriginPool, poolKey } from './origin-pool.ts'
import { ProxyMetrics } from './proxy-metrics.ts'

let server: Server
let port: number
/** The origin's side of each accepted connection, in accept order. */
const accepted: Socket[] = []

before(async () => {
  server = createServer({ allowHalfOpen: true }, (s) => {
    accepted.push(s)
    s.on('error', () => undefined)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as AddressInfo).port
})

after(async () => {
  for (const s of accepted) s.destroy()
  await new Promise((resolve) => server.close(resolve))
})

async function dial(): Promise<StreamSocket> {
  const s = await connectOnce('127.0.0.1', port, 2000)
  if (typeof s === 'string') assert.fail(s)
  return s
}

function pool(limits: Partial<{ maxIdlePerKey: number; maxIdleTotal: number; idleTimeoutMs: number }> = {}): { pool: OriginPool; metrics: ProxyMetrics } {
  const metrics = new ProxyMetrics(false)
  return { pool: new OriginPool({ maxIdlePerKey: 4, maxIdleTotal: 8, idleTimeoutMs: 10_000, ...limits }, metrics), metrics }
}

async function discards(metrics: ProxyMetrics): Promise<string> {
  return (await metrics.registry.getSingleMetricAsString('aks_egress_origin_pool_discarded_total'))
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n')
}

const A = poolKey('127.0.0.1', 80, 'a.example')
const B = poolKey('127.0.0.1', 80, 'b.example')

test('put then take, by key, most recently used first', async () => {
  const { pool: p } = pool()
  const [s1, s2] = [await dial(), await dial()]
  assert.equal(p.put(A, s1), true)
  assert.equal(p.put(A, s2), true)
  assert.equal(p.idle, 2)
  assert.equal(p.take(B), undefined)
  assert.equal(p.take(A), s2)
  assert.equal(p.take(A), s1)
  assert.equal(p.take(A), undefined)
  assert.equal(p.idle, 0)
  s1.destroy()
  s2.destroy()
})

test('bounds: a full key refuses (and closes) the connection; a full pool closes its oldest', async () => {
  const { pool: p, metrics } = pool({ maxIdlePerKey: 1, maxIdleTotal: 2 })
  const [s1, s2, s3, s4] = [await dial(), await dial(), await dial(), await dial()]
  assert.equal(p.put(A, s1), true)
  assert.equal(p.put(A, s2), false)
  assert.equal(s2.destroyed, true)
  assert.equal(p.put(B, s3), true)
  assert.equal(p.put(poolKey('127.0.0.2', 80, 'a.example'), s4), true)
  assert.equal(s1.destroyed, true, 'the oldest went')
  assert.equal(p.idle, 2)
  assert.match(await discards(metrics), /reason="full"} 1\n.*reason="evicted"} 1/)
  p.clear('stop')
})

test('an idle connection is dropped when the origin closes it, writes to it, or at the idle bound', async () => {
  const { pool: p, metrics } = pool({ idleTimeoutMs: 200 })
  const n = accepted.length
  const [fin, chatty, quiet] = [await dial(), await dial(), await dial()]
  await sleep(20)
  p.put(A, fin)
  p.put(A, chatty)
  p.put(B, quiet)
  accepted[n]!.end()
  accepted[n + 1]!.write('HTTP/1.1 200 OK\r\n\r\n')
  // A function: after an assertion TypeScript would take `p.idle` for the asserted constant.
  const idle = (): number => p.idle
  for (let i = 0; i < 100 && idle() > 1; i++) await sleep(5)
  assert.equal(idle(), 1)
  assert.equal(fin.destroyed && chatty.destroyed, true)
  for (let i = 0; i < 100 && idle() > 0; i++) await sleep(10)
  assert.equal(idle(), 0)
  assert.equal(quiet.destroyed, true)
  const text = await discards(metrics)
  assert.match(text, /reason="origin-closed"} 1/)
  assert.match(text, /reason="stray-bytes"} 1/)
  assert.match(text, /reason="idle-timeout"} 1/)
})

test('a taken connection carries none of the pool\'s listeners and no timer', async () => {
  const { pool: p } = pool({ idleTimeoutMs: 100 })
  const s = await dial()
  const counts = (): number[] => ['end', 'close', 'error', 'timeout'].map((e) => s.listenerCount(e))
  const before = counts()
  for (let i = 0; i < 20; i++) {
    p.put(A, s)
    assert.equal(p.take(A), s)
  }
  assert.deepEqual(counts(), before)
  await sleep(200)
  assert.equal(s.destroyed, false, 'the idle bound does not apply once taken')
  s.destroy()
})

test('clear on reload closes every idle connection; after stop nothing is kept', async () => {
  const { pool: p, metrics } = pool()
  const [s1, s2, s3] = [await dial(), await dial(), await dial()]
  p.put(A, s1)
  p.put(B, s2)
  p.clear('reload')
  assert.equal(p.idle, 0)
  assert.equal(s1.destroyed && s2.destroyed, true)
  assert.equal(p.enabled, true)
  p.clear('stop')
  assert.equal(p.enabled, false)
  assert.equal(p.put(A, s3), false)
  assert.equal(s3.destroyed, true)
  assert.match(await discards(metrics), /reason="reload"} 2/)
})
