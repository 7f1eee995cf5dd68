/* global Buffer, setTimeout, clearTimeout */
// Clients run inside the `node` namespace of the testbed (plain JS: started often, no TypeScript
// loader). Each prints one JSON line and exits 0 on success, 1 on failure.
//   node clients.mjs ntp HOST              a real NTPv4 client exchange (RFC 5905), UDP 123
//   node clients.mjs serve HOST PORT       a greeting echo server
//   node clients.mjs tcp HOST PORT [HOLD]  connect, read the greeting, echo a line; HOLD ms: keep
//                                          the connection, then echo again (survives reload/expiry?)
//   node clients.mjs bulk HOST PORT BYTES  connect to an echo service, send BYTES (a pattern) and
//                                          check every byte comes back: many round trips on one flow
//   node clients.mjs https NAME IP PORT CA HOLD
//                                          TLS to IP:PORT with SNI NAME (CA: the test CA's file),
//                                          GET /before, keep the connection HOLD ms, GET /after
import dgram from 'node:dgram'
import { readFileSync } from 'node:fs'
import net from 'node:net'
import tls from 'node:tls'

const [kind, host, portText, holdText] = process.argv.slice(2)
const TIMEOUT_MS = 1500
const done = (ok, fields) => {
  process.stdout.write(`${JSON.stringify({ ok, ...fields })}\n`)
  process.exit(ok ? 0 : 1)
}

if (kind === 'ntp') {
  const s = dgram.createSocket('udp4')
  const req = Buffer.alloc(48)
  req[0] = (0 << 6) | (4 << 3) | 3 // version 4, mode 3 (client)
  req.writeUInt32BE((Math.floor(Date.now() / 1000) + 2208988800) >>> 0, 40)
  req.writeUInt32BE(0x12345678, 44)
  const timer = setTimeout(() => done(false, { error: 'timeout' }), TIMEOUT_MS)
  s.on('message', (msg) => {
    clearTimeout(timer)
    const mode = msg[0] & 7
    const echoed = msg.readUInt32BE(28) === 0x12345678
    done(mode === 4 && echoed, { mode, stratum: msg[1], echoed })
  })
  s.send(req, 123, host)
} else if (kind === 'tcp') {
  const hold = Number(holdText ?? 0)
  const sock = net.connect({ host, port: Number(portText) })
  let buf = ''
  let waiting
  const waitFor = (text, what) =>
    new Promise((resolve) => {
      const timer = setTimeout(() => done(false, { error: `${what} timeout`, got: buf }), TIMEOUT_MS)
      waiting = () => {
        if (buf.includes(text)) {
          clearTimeout(timer)
          waiting = undefined
          resolve()
        }
      }
      waiting()
    })
  sock.setEncoding('utf8')
  sock.on('error', (e) => done(false, { error: e.message }))
  sock.on('data', (d) => {
    buf += d
    waiting?.()
  })
  await waitFor('\n', 'connect')
  const greeting = buf.split('\n')[0]
  sock.write('ping\n')
  await waitFor('ping\n', 'echo')
  if (hold > 0) {
    process.stdout.write(`${JSON.stringify({ holding: true, greeting })}\n`)
    await new Promise((r) => setTimeout(r, hold))
    sock.write('again\n')
    await waitFor('again\n', 'echo after hold')
  }
  done(true, { greeting, ...(hold > 0 ? { held: hold } : {}) })
} else if (kind === 'bulk') {
  const total = Number(holdText)
  const sock = net.connect({ host, port: Number(portText) })
  const timer = setTimeout(() => done(false, { error: 'timeout' }), 10_000)
  const chunks = []
  let got = 0
  let greeting
  sock.on('error', (e) => done(false, { error: e.message }))
  sock.on('data', (d) => {
    chunks.push(d)
    got += d.length
    if (greeting === undefined) {
      const all = Buffer.concat(chunks)
      const nl = all.indexOf(10)
      if (nl < 0) return
      greeting = all.subarray(0, nl).toString()
      chunks.length = 0
      chunks.push(all.subarray(nl + 1))
      got = all.length - nl - 1
      // 64 KiB writes of a pattern the echo must return unchanged.
      for (let sent = 0; sent < total; sent += 65536) {
        const n = Math.min(65536, total - sent)
        const b = Buffer.alloc(n)
        for (let i = 0; i < n; i++) b[i] = (sent + i) % 251
        sock.write(b)
      }
    }
    if (got >= total) {
      clearTimeout(timer)
      const echoed = Buffer.concat(chunks).subarray(0, total)
      let intact = echoed.length === total
      for (let i = 0; intact && i < total; i++) intact = echoed[i] === i % 251
      sock.destroy()
      done(intact, { bytes: echoed.length, peer: greeting.replace(/^\d+ peer=/, '') })
    }
  })
} else if (kind === 'https') {
  // node clients.mjs https NAME IP PORT CA HOLD: one kept-alive TLS connection, two requests.
  const [, name, ip, port, ca, holdMs] = process.argv.slice(2)
  const sock = tls.connect({ host: ip, port: Number(port), servername: name, ca: readFileSync(ca) })
  let buf = ''
  let waiting
  const response = (what) =>
    new Promise((resolve) => {
      const timer = setTimeout(() => done(false, { error: `${what} timeout`, got: buf }), 5000)
      waiting = () => {
        const m = /origin=[^\n]*\n/.exec(buf)
        if (m) {
          clearTimeout(timer)
          waiting = undefined
          buf = buf.slice(m.index + m[0].length)
          resolve(m[0].trim())
        }
      }
      waiting()
    })
  sock.setEncoding('utf8')
  sock.on('error', (e) => done(false, { error: e.message }))
  sock.on('data', (d) => {
    buf += d
    waiting?.()
  })
  const request = (path) => sock.write(`GET ${path} HTTP/1.1\r\nHost: ${name}\r\n\r\n`)
  request('/before')
  const before = await response('before')
  process.stdout.write(`${JSON.stringify({ holding: true, before })}\n`)
  await new Promise((r) => setTimeout(r, Number(holdMs)))
  request('/after')
  const after = await response('after')
  done(true, { before, after })
} else if (kind === 'serve') {
  // node clients.mjs serve HOST PORT: a greeting echo service (the DNAT target in `node`).
  net
    .createServer((c) => {
      c.on('error', () => undefined)
      c.write(`${portText} peer=${c.remoteAddress}\n`)
      c.pipe(c)
    })
    .listen(Number(portText), host, () => process.stdout.write('ready\n'))
} else {
  done(false, { error: `unknown client ${kind}` })
}
