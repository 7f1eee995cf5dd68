// Property tests (fast-check) of persistent plain-HTTP forwarding through a real proxy on
// loopback: random and mutated request streams from clients, random and mutated responses from
// an origin. Whatever the bytes: no exception escapes (the proxy runs in this process: one would
// fail the run), every connection ends or answers within a bound (no hang), nothing reaches an
// origin the policy denies, every request an origin receives is well framed, and after a mutated
// response the next response on the same client connection is exactly the next request's (no
// response desync) or the connection is closed.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { connect } from 'node:net'
import { after, before, test } from 'node:test'
import fc from 'fast-check'
import { startProxy, type ProxyHandle } from './harness.ts'
import { startScriptedOrigin, type Reply, type ScriptedOrigin, type ScriptedRequest } from './scripted-origin.ts'
import { byteEdits, mutateBytes } from '../../support/mutate-bytes.ts'

const POLICY = `apiVersion: aks-egress/v1
name: e2e-keep-alive-property
settings:
  unsafeAllowPrivateRanges: ["127.0.0.0/8"]
ruleCollectionGroups:
  - name: aks
    priority: 200
    ruleCollections:
      - name: app
        type: application
        priority: 200
        action: Allow
        rules:
          - name: ubuntu
            sourceAddresses: ["*"]
            protocols: [Http:80]
            targetFqdns: [archive.ubuntu.com, ports.ubuntu.com]
`

/** The mutated response the `mut` origin sends next, and whether it closes after it. */
let nextResponse: { bytes: Buffer; close: boolean } = { bytes: Buffer.alloc(0), close: false }

function echo(r: ScriptedRequest): Reply {
  const body = `ECHO ${r.method} ${r.target} ${r.body.length}`
  return `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${r.method === 'HEAD' ? '' : body}`
}

function mutResponder(r: ScriptedRequest): Reply {
  if (r.target.startsWith('/mark-')) {
    const body = r.target.slice(1).toUpperCase()
    return `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`
  }
  return nextResponse.close ? { bytes: nextResponse.bytes, close: true } : nextResponse.bytes
}

let archive: ScriptedOrigin
let mut: ScriptedOrigin
let evil: ScriptedOrigin
let proxy: ProxyHandle

before(async () => {
  archive = await startScriptedOrigin(echo)
  mut = await startScriptedOrigin(mutResponder)
  evil = await startScriptedOrigin(echo)
  proxy = await startProxy({
    policy: POLICY,
    hosts: { 'archive.ubuntu.com': archive.address, 'ports.ubuntu.com': mut.address, 'evil.example.com': evil.address },
    limits: { handshakeTimeoutMs: 400, idleTimeoutMs: 300, keepAliveIdleTimeoutMs: 400 },
  })
})

after(async () => {
  await proxy.close()
  await Promise.all([archive.close(), mut.close(), evil.close()])
})

const edits = byteEdits(6)

const REQUESTS = [
  'GET http://archive.ubuntu.com/a HTTP/1.1\r\nHost: archive.ubuntu.com\r\n\r\n',
  'POST http://archive.ubuntu.com/b HTTP/1.1\r\nHost: archive.ubuntu.com\r\nContent-Length: 5\r\n\r\nhello',
  'POST http://archive.ubuntu.com/c HTTP/1.1\r\nHost: archive.ubuntu.com\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n0\r\nT: 1\r\n\r\n',
  'GET http://evil.example.com/d HTTP/1.1\r\nHost: evil.example.com\r\n\r\n',
  'HEAD http://archive.ubuntu.com/e HTTP/1.1\r\nHost: archive.ubuntu.com\r\n\r\n',
  'GET http://archive.ubuntu.com/f HTTP/1.0\r\nHost: archive.ubuntu.com\r\nConnection: keep-alive\r\n\r\n',
  'PUT http://archive.ubuntu.com/g HTTP/1.1\r\nHost: archive.ubuntu.com\r\nContent-Length: 0\r\nExpect: 100-continue\r\n\r\n',
].map((s) => Buffer.from(s, 'latin1'))

/** Sends `parts` (then a half-close) and collects the reply until the proxy closes; rejects after `boundMs`. */
async function exchangeRaw(port: number, parts: readonly Buffer[], boundMs: number): Promise<Buffer> {
  const s = connect({ host: '127.0.0.1', port, allowHalfOpen: true })
  s.on('error', () => undefined)
  const chunks: Buffer[] = []
  s.on('data', (c: Buffer) => chunks.push(c))
  const closed = once(s, 'close')
  await once(s, 'connect')
  for (const p of parts) {
    s.write(p)
    await new Promise((resolve) => setImmediate(resolve))
  }
  s.end()
  const timer = setTimeout(() => s.destroy(new Error('bound')), boundMs)
  await closed
  clearTimeout(timer)
  if (s.errored) throw new Error(`the connection did not end within ${boundMs} ms; got ${JSON.stringify(Buffer.concat(chunks).toString('latin1').slice(0, 300))}`)
  return Buffer.concat(chunks)
}

test('random and mutated request streams: bounded, never to a denied origin, always well framed upstream', async () => {
  let badFraming = false
  const archiveBefore = archive.requests.length
  await fc.assert(
    fc.asyncProperty(fc.array(fc.constantFrom(...REQUESTS), { minLength: 1, maxLength: 4 }), edits, fc.array(fc.nat(), { maxLength: 2 }), async (seeds, e, cuts) => {
      const bytes = mutateBytes(Buffer.concat(seeds), e)
      const points = [...new Set(cuts.map((c) => (bytes.length === 0 ? 0 : c % bytes.length)))].sort((a, b) => a - b)
      const parts: Buffer[] = []
      let at = 0
      for (const p of [...points, bytes.length]) {
        parts.push(bytes.subarray(at, p))
        at = p
      }
      const before = archive.requests.length
      const reply = await exchangeRaw(proxy.explicitPort, parts, 4000)
      if (reply.length > 0) assert.equal(reply.subarray(0, 9).toString('latin1'), 'HTTP/1.1 ', JSON.stringify(reply.toString('latin1').slice(0, 200)))
      assert.equal(evil.accepts(), 0)
      const seen = archive.requests.slice(before)
      for (const r of seen) {
        const host = r.headers.filter(([n]) => n === 'host')
        assert.equal(host.length, 1)
        assert.equal(host[0]![1].toLowerCase(), 'archive.ubuntu.com')
        if (r.headers.filter(([n]) => n === 'content-length' || n === 'transfer-encoding').length > 1) badFraming = true
      }
      // Every echo the client got answers a request the origin received.
      const echoes = reply.toString('latin1').split('ECHO ').length - 1
      assert.ok(echoes <= seen.length, `${echoes} echoes for ${seen.length} requests`)
    }),
    { numRuns: 250 },
  )
  assert.equal(badFraming, false)
  assert.ok(archive.requests.length > archiveBefore, 'some requests were forwarded')
})

const RESPONSES = [
  'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello',
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n5\r\nhello\r\n6;e=1\r\n world\r\n0\r\nX-T: t\r\n\r\n',
  'HTTP/1.1 204 No Content\r\n\r\n',
  'HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n',
  'HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
  'HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nold',
  'HTTP/1.1 200 OK\r\n\r\nclose-delimited',
].map((s) => Buffer.from(s, 'latin1'))

/** Reads from the connection until `done(data)` or the close, within `boundMs`; returns the data and whether it closed. */
function readUntil(s: ReturnType<typeof connect>, got: Buffer[], done: (data: Buffer) => boolean, boundMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (s.closed || s.readableEnded) finish(true)
      else if (done(Buffer.concat(got))) finish(false)
    }
    const finish = (closed: boolean): void => {
      clearTimeout(timer)
      s.removeListener('data', check)
      s.removeListener('end', check)
      s.removeListener('close', check)
      resolve(closed)
    }
    const timer = setTimeout(() => {
      finish(s.closed || s.readableEnded)
    }, boundMs)
    s.on('data', check)
    s.on('end', check)
    s.on('close', check)
    check()
  })
}

test('random and mutated responses: the next response on the connection is exactly the next request\'s, or the connection closes', async () => {
  let n = 0
  let inStep = 0
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...RESPONSES), edits, fc.boolean(), async (seed, e, close) => {
      nextResponse = { bytes: mutateBytes(seed, e), close }
      proxy.server.dropIdleOrigins()
      const mark = `mark-${++n}-${Math.random().toString(36).slice(2, 8)}`
      const s = connect({ host: '127.0.0.1', port: proxy.explicitPort })
      s.on('error', () => undefined)
      const got: Buffer[] = []
      s.on('data', (c: Buffer) => got.push(c))
      await once(s, 'connect')
      try {
        s.write('GET http://ports.ubuntu.com/mut HTTP/1.1\r\nHost: ports.ubuntu.com\r\n\r\n')
        // Whatever comes back for the mutated response: the first byte or the close within the
        // bound, then bytes until 60 ms of quiet (a complete response leaves the connection open).
        const length = (): number => got.reduce((a, c) => a + c.length, 0)
        let closed = await readUntil(s, got, (d) => d.length > 0, 1500)
        while (!closed) {
          const before = length()
          closed = await readUntil(s, got, (d) => d.length > before, 60)
          if (length() === before) break
        }
        if (closed) return
        const first = Buffer.concat(got).length
        s.write(`GET http://ports.ubuntu.com/${mark} HTTP/1.1\r\nHost: ports.ubuntu.com\r\n\r\n`)
        const expected = `HTTP/1.1 200 OK\r\nContent-Length: ${mark.length}\r\nConnection: keep-alive\r\n\r\n${mark.toUpperCase()}`
        let ended = await readUntil(s, got, (d) => d.length >= first + expected.length, 2500)
        let second = Buffer.concat(got).subarray(first).toString('latin1')
        if (second !== expected && !ended) {
          // Not the second response: the proxy must be ending the connection; wait for that.
          ended = await readUntil(s, got, () => false, 2000)
          second = Buffer.concat(got).subarray(first).toString('latin1')
        }
        // Either the bytes after the first response are exactly the second's, or the proxy ended the
        // connection without answering it (the first exchange failed late: a 504 after a lone 1xx,
        // a body that never completed).
        const marker = mark.toUpperCase()
        if (second !== expected) {
          assert.ok(!second.includes(marker) && ended, `after ${JSON.stringify(nextResponse.bytes.toString('latin1'))}: ${JSON.stringify(second)}`)
          return
        }
        assert.ok(!Buffer.concat(got).subarray(0, first).toString('latin1').includes(marker))
        inStep++
      } finally {
        s.destroy()
      }
    }),
    { numRuns: 150 },
  )
  assert.ok(inStep > 10, `only ${inStep} runs reached the second response`)
})
