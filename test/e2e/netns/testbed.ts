// The namespace testbed of the transparent appliance (issue 4): three namespaces with random
// names, linked by veth pairs made inside them, and the processes that run there.
//
//   node  (10.240.0.4/16, 10.240.0.80/16; default route via 10.240.0.1)
//     |  n0 -- f-node
//   firewall  (10.240.0.1/16 toward the nodes; 192.0.2.1/24 "public" toward the internet;
//              forwarding on; runs the appliance)
//     |  f-inet -- i0
//   internet  (192.0.2.2/24; service addresses 203.0.113.0/24 and 198.51.100.53 on lo; no route
//              to 10.240.0.0/16, so only masqueraded flows can be answered)
//
// The firewall runs `aks-egress serve --transparent` (from the sources, as its own process): the
// nftables table, the DNS proxy on 10.240.0.1:53 and the L7 listeners. The internet's TLS origins
// carry certificates of a test CA made at test time (openssl, in the testbed's temp directory).
//
// Addresses are documentation ranges (RFC 5737) and the node subnet of the seed; none of it leaves
// the namespaces. Teardown kills every process the testbed started (by pid) and deletes the
// namespaces, also when a test failed.
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Netns, newGroup, routedTriangle, sweepStaleNamespaces } from './netns.ts'
import { makePki, type Pki } from '../proxy/harness.ts'
import type { Zone } from '../../support/fake-dns.ts'

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const HERE = fileURLToPath(new URL('./', import.meta.url))

export const ADDR = {
  node: '10.240.0.4',
  nodeService: '10.240.0.80',
  fwInside: '10.240.0.1',
  fwPublic: '192.0.2.1',
  internet: '192.0.2.2',
  apiServer: '203.0.113.10',
  hcp: '203.0.113.9',
  ntp: '203.0.113.123',
  kms: '203.0.113.88',
  mcr: '203.0.113.80',
  security: '203.0.113.81',
  denied: '203.0.113.66',
  dns: '198.51.100.53',
} as const

export const ZONE: Zone = {
  records: {
    'ntp.ubuntu.com': [{ type: 'A', data: ADDR.ntp, ttl: 300 }],
    'x.hcp.westeurope.azmk8s.io': [{ type: 'A', data: ADDR.hcp, ttl: 300 }],
    'kms.core.windows.net': [{ type: 'CNAME', data: 'kms.trafficmanager.test', ttl: 300 }],
    'kms.trafficmanager.test': [{ type: 'A', data: ADDR.kms, ttl: 2 }],
    'mcr.microsoft.com': [{ type: 'A', data: ADDR.mcr, ttl: 300 }],
    'security.ubuntu.com': [{ type: 'A', data: ADDR.security, ttl: 300 }],
    'denied.example.test': [{ type: 'A', data: ADDR.denied, ttl: 300 }],
  },
}

export interface Proc {
  readonly child: ChildProcess
  readonly lines: string[]
  waitFor(pred: (line: string) => boolean, timeoutMs?: number): Promise<string>
  exited(): Promise<number | null>
  stderr(): string
}

function track(child: ChildProcess): Proc {
  const lines: string[] = []
  const waiters: Array<() => void> = []
  let rest = ''
  child.stdout?.setEncoding('utf8')
  child.stdout?.on('data', (chunk: string) => {
    rest += chunk
    const parts = rest.split('\n')
    rest = parts.pop() ?? ''
    lines.push(...parts)
    for (const w of waiters.splice(0)) w()
  })
  let stderr = ''
  child.stderr?.setEncoding('utf8')
  child.stderr?.on('data', (chunk: string) => {
    if (stderr.length < 65536) stderr += chunk
  })
  const exit = new Promise<number | null>((resolve) => {
    // 'close': the process has exited and its output has been read to the end.
    child.once('close', (code) => {
      resolve(code)
    })
  })
  return {
    child,
    lines,
    async waitFor(pred, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const hit = lines.find(pred)
        if (hit !== undefined) return hit
        if (child.exitCode !== null) throw new Error(`process exited (${child.exitCode}) before the line; stderr: ${stderr}`)
        const left = deadline - Date.now()
        if (left <= 0) throw new Error(`no such line within ${timeoutMs} ms; stderr: ${stderr}; last lines: ${lines.slice(-5).join(' | ')}`)
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, Math.min(left, 200))
          waiters.push(() => {
            clearTimeout(t)
            resolve()
          })
        })
      }
    },
    exited: () => exit,
    stderr: () => stderr,
  }
}

/** The TLS origins of the internet namespace: label, address, port. */
export const TLS_ORIGINS = [
  { label: 'mcr', host: ADDR.mcr, port: 443 },
  { label: 'mcr-8443', host: ADDR.mcr, port: 8443 },
  { label: 'denied', host: ADDR.denied, port: 443 },
] as const

export class Testbed {
  readonly node: Netns
  readonly fw: Netns
  readonly inet: Netns
  readonly dir: string
  readonly pki: Pki
  /** The internet's services (their stdout: one JSON line per TLS connection). */
  services: Proc | undefined
  readonly #procs: Proc[] = []

  private constructor(node: Netns, fw: Netns, inet: Netns, dir: string, pki: Pki) {
    this.node = node
    this.fw = fw
    this.inet = inet
    this.dir = dir
    this.pki = pki
  }

  static async create(): Promise<Testbed> {
    sweepStaleNamespaces()
    const group = newGroup()
    const made: Netns[] = []
    const dir = mkdtempSync(join(tmpdir(), 'aks-egress-testbed-'))
    let pki: Pki | undefined
    try {
      pki = await makePki(['mcr.microsoft.com', 'denied.example.test'])
      const { node, fw, inet } = routedTriangle(group, ['node', 'fw', 'inet'], { node: [`${ADDR.node}/16`, `${ADDR.nodeService}/16`], fwInside: ADDR.fwInside, fwPublic: ADDR.fwPublic, internet: ADDR.internet }, made)
      for (const a of [ADDR.apiServer, ADDR.hcp, ADDR.ntp, ADDR.kms, ADDR.mcr, ADDR.security, ADDR.denied, ADDR.dns]) inet.exec(['ip', 'addr', 'add', `${a}/32`, 'dev', 'lo'])
      const bed = new Testbed(node, fw, inet, dir, pki)
      writeFileSync(join(dir, 'origin.pem'), pki.cert)
      writeFileSync(join(dir, 'origin.key'), pki.key)
      const config = join(dir, 'internet.json')
      writeFileSync(
        config,
        JSON.stringify({
          dns: { host: ADDR.dns, zone: ZONE },
          tcpPorts: [9000, 22, 1688],
          udpHosts: [ADDR.ntp, ADDR.denied],
          tls: { certFile: join(dir, 'origin.pem'), keyFile: join(dir, 'origin.key'), origins: TLS_ORIGINS },
        }),
      )
      bed.services = bed.spawn(inet, [process.execPath, '--import', 'tsx', join(HERE, 'internet-services.ts'), config])
      await bed.services.waitFor((l) => l === 'ready', 30_000)
      return bed
    } catch (e) {
      for (const ns of made) ns.delete()
      rmSync(dir, { recursive: true, force: true })
      pki?.cleanup()
      throw e
    }
  }

  spawn(ns: Netns, argv: readonly string[]): Proc {
    const p = track(ns.spawn(argv, { cwd: ROOT }))
    this.#procs.push(p)
    return p
  }

  /** The command line of `aks-egress serve --transparent` in `firewall` (from the sources). */
  serveArgv(args: readonly string[]): string[] {
    return [
      process.execPath,
      '--import',
      'tsx',
      join(ROOT, 'test/e2e/proxy/serve-entry.ts'),
      'serve',
      '--transparent',
      '--egress-interface',
      'f-inet',
      '--dns-listen',
      `${ADDR.fwInside}:53`,
      '--dns-upstream',
      ADDR.dns,
      ...args,
    ]
  }

  /** Starts the appliance in `firewall` and waits for its start line. */
  async startFirewall(args: readonly string[]): Promise<Proc> {
    const p = this.spawn(this.fw, this.serveArgv(args))
    await p.waitFor((l) => l.includes('"event":"start"'), 30_000)
    return p
  }

  /** Runs `aks-egress serve ARGS` in `firewall` to its end: exit code and output. */
  async serveOnce(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const p = this.spawn(this.fw, [process.execPath, '--import', 'tsx', join(ROOT, 'test/e2e/proxy/serve-entry.ts'), 'serve', ...args])
    const code = await p.exited()
    return { code, stdout: p.lines.join('\n'), stderr: p.stderr() }
  }

  /** curl in `ns` (the test CA trusted), at most 10 s; never throws. */
  curl(ns: Netns, args: readonly string[]): { status: number; stdout: string; stderr: string } {
    return ns.try(['curl', '-sS', '--max-time', '10', '--cacert', this.pki.caPath, ...args])
  }

  /** GET on the firewall's admin endpoint (127.0.0.1:9901 inside its namespace). */
  admin(path: string): string {
    return this.fw.exec(['curl', '-sS', '--max-time', '5', `http://127.0.0.1:9901${path}`])
  }

  /** Runs a client of clients.mjs in `ns`; returns its JSON result. */
  client(ns: Netns, args: readonly string[]): { ok: boolean; [k: string]: unknown } {
    const r = ns.try([process.execPath, join(HERE, 'clients.mjs'), ...args])
    const last = r.stdout.trim().split('\n').pop() ?? ''
    try {
      return JSON.parse(last) as { ok: boolean }
    } catch {
      return { ok: false, error: `no result: ${r.stdout} ${r.stderr}` }
    }
  }

  /** A client started in the background (held connections). */
  clientBackground(ns: Netns, args: readonly string[]): Proc {
    return this.spawn(ns, [process.execPath, join(HERE, 'clients.mjs'), ...args])
  }

  dig(ns: Netns, server: string, ...args: string[]): string {
    return ns.try(['dig', `@${server}`, '+tries=1', '+time=1', ...args]).stdout
  }

  tables(): string {
    return this.fw.exec(['nft', 'list', 'tables'])
  }

  async destroy(): Promise<void> {
    for (const p of this.#procs) {
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL')
    }
    await Promise.all(this.#procs.map((p) => (p.child.exitCode === null && p.child.signalCode === null ? p.exited() : Promise.resolve(null))))
    for (const ns of [this.node, this.fw, this.inet]) ns.delete()
    rmSync(this.dir, { recursive: true, force: true })
    this.pki.cleanup()
  }
}
