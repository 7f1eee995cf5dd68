// A process of the DNS benchmark (bench/l4.ts), so the load generator, the upstream and the proxy
// each have an event loop of their own, as they would in production:
//   node --import tsx bench/l4-dns-child.ts upstream            a fake authoritative server
//   node --import tsx bench/l4-dns-child.ts proxy UPSTREAM_PORT  the DNS proxy in front of it
// Prints "port N" once listening; runs until killed.
import { DnsProxy } from '../src/dns/dns-proxy.ts'
import { startFakeDns } from '../test/support/fake-dns.ts'

const [role, upstreamPort] = process.argv.slice(2)
if (role === 'upstream') {
  const dns = await startFakeDns({ records: { 'cached.bench.test': [{ type: 'A', data: '192.0.2.7', ttl: 3600 }] } })
  process.stdout.write(`port ${dns.port}\n`)
} else {
  const proxy = new DnsProxy({ listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: Number(upstreamPort) }, cacheEntries: 10_000 })
  const { port } = await proxy.start()
  process.stdout.write(`port ${port}\n`)
}
