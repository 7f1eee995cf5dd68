// A small authoritative DNS server for tests (UDP and TCP), built on dns-packet: the "upstream"
// of the DNS proxy tests and the internet's resolver in the namespace testbed.
//
// Zone: name → records. Unknown names get NXDOMAIN with an SOA (negative TTL 60). Names listed in
// `truncate` answer over UDP with TC set and no records (the real answer only over TCP); names in
// `silent` are never answered (timeouts). Run as a process:
//   node --import tsx test/support/fake-dns.ts HOST PORT ZONE.json
import dgram from 'node:dgram'
import { readFileSync } from 'node:fs'
import net from 'node:net'
import dnsPacket from 'dns-packet'
import type { Answer, Question } from 'dns-packet'

export interface ZoneRecord {
  readonly type: 'A' | 'AAAA' | 'CNAME' | 'TXT'
  readonly data: string
  readonly ttl?: number
}

export interface Zone {
  readonly records: Readonly<Record<string, readonly ZoneRecord[]>>
  readonly truncate?: readonly string[]
  readonly silent?: readonly string[]
  /** Milliseconds to wait before answering. */
  readonly delayMs?: number
}

function norm(name: string): string {
  return (name.endsWith('.') ? name.slice(0, -1) : name).toLowerCase()
}

export function answerFor(zone: Zone, query: Buffer, overTcp: boolean): Buffer | undefined {
  let packet
  try {
    packet = dnsPacket.decode(query)
  } catch {
    return undefined
  }
  const q: Question | undefined = packet.questions?.[0]
  if (!q) return undefined
  const name = norm(q.name)
  if (zone.silent?.includes(name)) return undefined
  const answers: Answer[] = []
  let cur = name
  for (let i = 0; i < 8; i++) {
    const recs = zone.records[cur] ?? []
    const cname = recs.find((r) => r.type === 'CNAME')
    if (cname && q.type !== 'CNAME') {
      answers.push({ type: 'CNAME', name: cur, ttl: cname.ttl ?? 300, data: cname.data })
      cur = norm(cname.data)
      continue
    }
    for (const r of recs) {
      if (r.type === q.type) answers.push({ type: r.type, name: cur, ttl: r.ttl ?? 300, data: r.data })
    }
    break
  }
  const known = zone.records[name] !== undefined
  const truncated = !overTcp && zone.truncate?.includes(name) === true
  const flags = 0x0400 | (packet.flags ?? 0 & 0x0100) | (truncated ? 0x0200 : 0) | (known ? 0 : 3)
  return dnsPacket.encode({
    type: 'response',
    id: packet.id ?? 0,
    flags,
    questions: [q],
    answers: truncated ? [] : answers,
    authorities: known && answers.length > 0 ? [] : [{ type: 'SOA', name: 'test', ttl: 60, data: { mname: 'ns.test', rname: 'hostmaster.test', serial: 1, refresh: 60, retry: 60, expire: 60, minimum: 60 } }],
    additionals: [],
  })
}

export interface FakeDns {
  readonly port: number
  readonly queries: { udp: number; tcp: number }
  close(): Promise<void>
}

export async function startFakeDns(zone: Zone, host = '127.0.0.1', port = 0): Promise<FakeDns> {
  const queries = { udp: 0, tcp: 0 }
  const later = (fn: () => void): void => {
    if (zone.delayMs) setTimeout(fn, zone.delayMs)
    else fn()
  }
  // UDP and TCP on one port: with port 0 the UDP port is free for UDP only, and the same TCP
  // port may be taken (another process's ephemeral port): try again with a new one.
  let udp: dgram.Socket
  let tcp: net.Server
  let bound = 0
  const sockets = new Set<net.Socket>()
  for (let attempt = 0; ; attempt++) {
    udp = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4')
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject)
      udp.bind(port, host, () => {
        udp.off('error', reject)
        resolve()
      })
    })
    bound = udp.address().port
    tcp = net.createServer((s) => {
      serveTcp(s)
    })
    const ok = await new Promise<boolean>((resolve) => {
      tcp.once('error', () => {
        resolve(false)
      })
      tcp.listen(bound, host, () => {
        resolve(true)
      })
    })
    if (ok) break
    udp.close()
    if (port !== 0 || attempt >= 20) throw new Error(`fake DNS: cannot listen on TCP ${host}:${bound}`)
  }
  udp.on('message', (msg, rinfo) => {
    queries.udp++
    const out = answerFor(zone, msg, false)
    if (out) later(() => { udp.send(out, rinfo.port, rinfo.address); })
  })
  function serveTcp(s: net.Socket): void {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
    s.on('error', () => undefined)
    let buf = Buffer.alloc(0)
    s.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk])
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const len = buf.readUInt16BE(0)
        const msg = buf.subarray(2, 2 + len)
        buf = buf.subarray(2 + len)
        queries.tcp++
        const out = answerFor(zone, msg, true)
        if (out) {
          const l = Buffer.alloc(2)
          l.writeUInt16BE(out.length)
          later(() => s.write(Buffer.concat([l, out])))
        }
      }
    })
  }
  return {
    port: bound,
    queries,
    close: async () => {
      udp.close()
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => tcp.close(() => { resolve(); }))
    },
  }
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, ''))) {
  const [host = '127.0.0.1', port = '53', zoneFile] = process.argv.slice(2)
  const zone = JSON.parse(readFileSync(zoneFile ?? '/dev/stdin', 'utf8')) as Zone
  const dns = await startFakeDns(zone, host, Number(port))
  process.stdout.write(`listening ${host}:${dns.port}\n`)
}
