// A process of the DNS benchmark (bench/l4-dns.ts), so the load generator, the upstream and the
// proxy each have their own event loop (and namespace), as they would in production:
//   node --import tsx bench/l4-dns-child.ts upstream HOST PORT DELAY_MS
//       a fake authoritative server; DELAY_MS > 0 holds each answer that long (the stand-in for
//       `tc netem delay` on kernels without sch_netem)
//   node --import tsx bench/l4-dns-child.ts proxy HOST PORT UPSTREAM_HOST UPSTREAM_PORT [--no-log]
//       the DNS proxy in front of it, logging every query as `serve` does (pino, info level, the
//       AZFWDnsQuery line) to /dev/null (--no-log: not at all), with its counters
// Prints "port N" once listening; runs until killed (SIGTERM: a normal exit, so --cpu-prof writes).
import { DnsProxy } from '../src/dns/dns-proxy.ts'
import { createConnectionLog } from '../src/proxy/connection-log.ts'
import { openLogFile } from '../src/proxy/open-log-file.ts'
import { startFakeDns } from '../test/support/fake-dns.ts'

const [role = '', host = '127.0.0.1', port = '0', a = '', b = '', flag = ''] = process.argv.slice(2)
if (role === 'upstream') {
  const delayMs = Number(a || '0')
  const dns = await startFakeDns({ records: { 'cached.bench.test': [{ type: 'A', data: '192.0.2.7', ttl: 3600 }] }, ...(delayMs > 0 ? { delayMs } : {}) }, host, Number(port))
  process.stdout.write(`port ${dns.port}\n`)
} else if (role === 'proxy') {
  // serve's log (proxy/connection-log.ts), to /dev/null.
  const opened = openLogFile('/dev/null')
  if (!opened.ok) throw new Error(opened.detail)
  const log = createConnectionLog({ kind: 'file', fd: opened.fd, path: '/dev/null' }, 'info')
  const proxy = new DnsProxy({
    listen: { host, port: Number(port) },
    upstream: { host: a, port: Number(b) },
    cacheEntries: 10_000,
    ...(flag === '--no-log' ? {} : { log: (r) => {
      log.dns(r)
    } }),
  })
  const bound = await proxy.start()
  process.stdout.write(`port ${bound.port}\n`)
} else {
  process.stderr.write('usage: l4-dns-child.ts upstream HOST PORT DELAY_MS | proxy HOST PORT UPSTREAM_HOST UPSTREAM_PORT\n')
  process.exit(2)
}
// A normal exit on SIGTERM, so that `--cpu-prof` writes its profile.
process.on('SIGTERM', () => process.exit(0))
