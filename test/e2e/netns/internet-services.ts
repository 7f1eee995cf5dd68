// The fake internet of the namespace testbed, run inside the `internet` namespace:
//   node --import tsx internet-services.ts CONFIG.json
// - a DNS server answering the catalog names (test/support/fake-dns.ts);
// - an NTP server on UDP 123 answering real NTPv4 client packets (RFC 5905 §7.3) in server mode;
// - TCP services on 9000, 22 and 1688 that greet with "<port> peer=<client address>" and echo, so
//   tests see both that they got through and which address the firewall made them come from;
// - an HTTP service on 80 answering "http peer=<client address> host=<Host>";
// - TLS origins (certificates of a test CA made by the test) on given addresses and ports, each
//   answering "origin=<label> <method> <path> host=<Host> peer=<client address>" and printing a
//   line {"origin":label,"peer":address} per connection (so a test sees which origin was reached).
// Prints "ready" when every socket listens.
import dgram from 'node:dgram'
import { readFileSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import { startFakeDns, type Zone } from '../../support/fake-dns.ts'

interface Config {
  readonly dns: { readonly host: string; readonly zone: Zone }
  readonly tcpPorts: readonly number[]
  /** UDP sockets bind to each address: a reply must come from the address asked (a 0.0.0.0 socket
   * would answer from the link's address and conntrack would not see a reply). */
  readonly udpHosts: readonly string[]
  readonly tls?: {
    readonly certFile: string
    readonly keyFile: string
    readonly origins: ReadonlyArray<{ readonly label: string; readonly host: string; readonly port: number }>
  }
}

const config = JSON.parse(readFileSync(process.argv[2] ?? '/dev/stdin', 'utf8')) as Config
await startFakeDns(config.dns.zone, config.dns.host, 53)

for (const host of config.udpHosts) {
  const ntp = dgram.createSocket('udp4')
  ntp.on('message', (msg, rinfo) => {
    if (msg.length < 48 || (msg[0]! & 0x07) !== 3) return // mode 3 = client
    const out = Buffer.alloc(48)
    out[0] = (0 << 6) | (4 << 3) | 4 // LI 0, version 4, mode 4 (server)
    out[1] = 2 // stratum
    msg.copy(out, 24, 40, 48) // originate timestamp = the client's transmit timestamp
    const seconds = Math.floor(Date.now() / 1000) + 2208988800
    out.writeUInt32BE(seconds >>> 0, 32)
    out.writeUInt32BE(seconds >>> 0, 40)
    ntp.send(out, rinfo.port, rinfo.address)
  })
  await new Promise<void>((resolve) => ntp.bind(123, host, resolve))
}

for (const port of config.tcpPorts) {
  const server = net.createServer((s) => {
    s.on('error', () => undefined)
    s.write(`${port} peer=${s.remoteAddress ?? '?'}\n`)
    s.pipe(s)
  })
  await new Promise<void>((resolve) => server.listen(port, '0.0.0.0', resolve))
}

const web = http.createServer((req, res) => {
  res.end(`http peer=${req.socket.remoteAddress ?? '?'} host=${req.headers.host ?? ''}\n`)
})
await new Promise<void>((resolve) => web.listen(80, '0.0.0.0', resolve))

if (config.tls) {
  const cert = readFileSync(config.tls.certFile)
  const key = readFileSync(config.tls.keyFile)
  for (const o of config.tls.origins) {
    const server = https.createServer({ cert, key }, (req, res) => {
      res.end(`origin=${o.label} ${req.method ?? ''} ${req.url ?? ''} host=${req.headers.host ?? ''} peer=${req.socket.remoteAddress ?? '?'}\n`)
    })
    server.on('connection', (s: net.Socket) => {
      process.stdout.write(`${JSON.stringify({ origin: o.label, port: o.port, peer: s.remoteAddress ?? '?' })}\n`)
    })
    server.on('tlsClientError', () => undefined)
    await new Promise<void>((resolve) => server.listen(o.port, o.host, resolve))
  }
}
process.stdout.write('ready\n')
