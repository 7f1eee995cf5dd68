// The DNS workload of the L4 suite (bench/l4.ts): queries per second and latency of the DNS
// proxy against the upstream it forwards to, across network namespaces, as the nodes see them.
//
//   node (10.240.0.4)  --veth--  firewall (10.240.0.1: the DNS proxy)  --veth--  internet
//                                                                       (198.51.100.53: the upstream)
//
// - upstream direct: the node asks the upstream itself (forwarded by `firewall`, no table: the
//   table is not what is measured here), the limit the proxy is compared with;
// - proxy cached: the node asks the proxy for one name over and over (answered from the cache);
// - proxy uncached: a new name every query (the proxy forwards each to the upstream).
// Both with the upstream link as it is (zero added delay: the upstream is a fake authoritative
// server answering from memory one veth hop away, the cheapest resolver there can be) and with a
// delay added to every upstream answer, the round trip to a real resolver (Azure DNS,
// 168.63.129.16, is a network hop from the VM, in the platform). The delay is `tc qdisc add dev
// i0 root netem delay D` on the upstream's link when the kernel has sch_netem; without it (this
// machine's kernel: CONFIG_NET_SCH_NETEM unset) the upstream holds each answer D ms on a timer
// (test/support/fake-dns.ts `delayMs`), which adds the same D to the round trip of every upstream
// query; the result records which one was used.
//
// The load generator is bench/dnsload (Go, closed loop, 32 queries in flight, one socket each),
// built at run time: a Node one spent more CPU per query than the proxy it measured, on the same
// 2 cores. The proxy logs every query (pino, as `serve`) to /dev/null. Runs are interleaved
// (run 1 of each kind, then run 2, ...) and medians reported.
import { execFileSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { newGroup, routedTriangle, type Netns } from '../test/e2e/netns/netns.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

export interface DnsLoad {
  readonly qps: number
  readonly p50Ms: number
  readonly p99Ms: number
}

export interface DnsCondition {
  /** Milliseconds added to every upstream answer (0: the link as it is). */
  readonly delayMs: number
  readonly direct: DnsLoad
  readonly cached: DnsLoad
  readonly uncached: DnsLoad
  readonly cachedQpsRatio: number
  readonly uncachedQpsRatio: number
  /** p50 of the proxy minus p50 of the upstream asked directly (negative: faster). */
  readonly addedLatencyCachedMs: number
  readonly addedLatencyUncachedMs: number
  /** Queries without an answer in all runs (the load generator's 2 s timeout). */
  readonly lost: number
}

export interface DnsBenchResult {
  readonly queries: number
  readonly concurrency: number
  /** How the delay was added: `netem` on the upstream's link, or the upstream's own timer. */
  readonly delayMethod: 'netem' | 'upstream-timer'
  readonly conditions: readonly DnsCondition[]
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/** Builds bench/dnsload into `dir` (GOPROXY=off: the standard library only). */
function buildDnsload(dir: string): string {
  const src = join(dir, 'dnsload-src')
  mkdirSync(src, { recursive: true })
  for (const f of ['go.mod', 'main.go']) copyFileSync(join(ROOT, 'bench', 'dnsload', f), join(src, f))
  const bin = join(dir, 'dnsload')
  execFileSync('go', ['build', '-o', bin, '.'], { cwd: src, env: { ...process.env, GOPROXY: 'off', GOFLAGS: '-mod=mod', CGO_ENABLED: '0' }, stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 })
  return bin
}

/** Resolves with the port a child of l4-dns-child.ts prints; rejects if it exits first. */
function childPort(child: ChildProcess, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => {
      reject(new Error(`${what}: no port within 30 s`))
    }, 30_000)
    child.stdout?.setEncoding('utf8')
    child.stdout?.on('data', (d: string) => {
      out += d
      const m = /port (\d+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(Number(m[1]))
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${what} exited ${String(code)}`))
    })
  })
}

const NODE = '10.240.0.4'
const FW_INSIDE = '10.240.0.1'
const UPSTREAM = '198.51.100.53'

export async function benchDns(runs: number, total: number, delayMs: number): Promise<DnsBenchResult> {
  const concurrency = 32
  const group = newGroup()
  const made: Netns[] = []
  const procs: ChildProcess[] = []
  const dir = mkdtempSync(join(tmpdir(), 'aks-egress-bench-dns-'))
  const stop = async (p: ChildProcess): Promise<void> => {
    if (p.exitCode !== null || p.signalCode !== null) return
    const exited = new Promise((resolve) => p.once('exit', resolve))
    p.kill('SIGTERM')
    await exited
  }
  try {
    const dnsload = buildDnsload(dir)
    const { node, fw, inet } = routedTriangle(group, ['dnode', 'dfw', 'dinet'], { node: [`${NODE}/16`], fwInside: FW_INSIDE, fwPublic: '192.0.2.1', internet: '192.0.2.2' }, made)
    inet.exec(['ip', 'addr', 'add', `${UPSTREAM}/32`, 'dev', 'lo'])
    inet.exec(['ip', 'route', 'add', '10.240.0.0/16', 'via', '192.0.2.1'])
    const tsx = [process.execPath, '--import', 'tsx', join(ROOT, 'bench/l4-dns-child.ts')]
    const spawnChild = async (ns: Netns, args: readonly string[]): Promise<ChildProcess> => {
      const child = ns.spawn([...tsx, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
      procs.push(child)
      await childPort(child, args[0] ?? '')
      return child
    }
    const load = (server: string, names: string[]): DnsLoad & { lost: number } => {
      const out = node.exec([dnsload, '-server', `${server}:53`, '-n', String(total), '-c', String(concurrency), ...names])
      const j = JSON.parse(out) as { qps: number; p50Ms: number; p99Ms: number; lost: number }
      return { qps: Math.round(j.qps), p50Ms: j.p50Ms, p99Ms: j.p99Ms, lost: j.lost }
    }
    let delayMethod: DnsBenchResult['delayMethod'] = 'netem'
    const conditions: DnsCondition[] = []
    for (const delay of [0, delayMs]) {
      let upstreamDelay = 0
      if (delay > 0) {
        const netem = inet.try(['tc', 'qdisc', 'add', 'dev', 'i0', 'root', 'netem', 'delay', `${delay}ms`])
        if (netem.status !== 0) {
          delayMethod = 'upstream-timer'
          upstreamDelay = delay
        }
      }
      const upstream = await spawnChild(inet, ['upstream', UPSTREAM, '53', String(upstreamDelay)])
      const proxy = await spawnChild(fw, ['proxy', FW_INSIDE, '53', UPSTREAM, '53'])
      // Warm-up: the JIT of both processes; the cached name into the cache.
      load(UPSTREAM, ['-prefix', `w${delay}-`])
      load(FW_INSIDE, ['-prefix', `v${delay}-`])
      load(FW_INSIDE, ['-name', 'cached.bench.test'])
      const all: Record<'direct' | 'cached' | 'uncached', Array<DnsLoad & { lost: number }>> = { direct: [], cached: [], uncached: [] }
      for (let r = 0; r < runs; r++) {
        all.direct.push(load(UPSTREAM, ['-prefix', `u${delay}-${r}-`]))
        all.cached.push(load(FW_INSIDE, ['-name', 'cached.bench.test']))
        all.uncached.push(load(FW_INSIDE, ['-prefix', `p${delay}-${r}-`]))
      }
      await stop(proxy)
      await stop(upstream)
      inet.try(['tc', 'qdisc', 'del', 'dev', 'i0', 'root'])
      const pick = (list: ReadonlyArray<DnsLoad>): DnsLoad => ({ qps: median(list.map((x) => x.qps)), p50Ms: median(list.map((x) => x.p50Ms)), p99Ms: median(list.map((x) => x.p99Ms)) })
      const direct = pick(all.direct)
      const cached = pick(all.cached)
      const uncached = pick(all.uncached)
      conditions.push({
        delayMs: delay,
        direct,
        cached,
        uncached,
        cachedQpsRatio: Number((cached.qps / direct.qps).toFixed(3)),
        uncachedQpsRatio: Number((uncached.qps / direct.qps).toFixed(3)),
        addedLatencyCachedMs: Number((cached.p50Ms - direct.p50Ms).toFixed(3)),
        addedLatencyUncachedMs: Number((uncached.p50Ms - direct.p50Ms).toFixed(3)),
        lost: [...all.direct, ...all.cached, ...all.uncached].reduce((n, x) => n + x.lost, 0),
      })
    }
    return { queries: total, concurrency, delayMethod, conditions }
  } finally {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL')
    for (const ns of made) ns.delete()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The DNS rows of the suite's table. */
export function dnsMarkdown(d: DnsBenchResult): string[] {
  const rows: string[] = [
    `| upstream link | what the node asks | queries/s | ratio to direct | p50 / p99 latency, ms | p50 vs direct |`,
    '|---|---|---|---|---|---|',
  ]
  for (const c of d.conditions) {
    const link = c.delayMs === 0 ? 'as it is (no added delay)' : `+${c.delayMs} ms per upstream answer (${d.delayMethod === 'netem' ? 'netem' : 'upstream timer'})`
    const signed = (x: number): string => `${x >= 0 ? '+' : ''}${x} ms`
    rows.push(`| ${link} | upstream direct | ${c.direct.qps} | 1 | ${c.direct.p50Ms} / ${c.direct.p99Ms} | |`)
    rows.push(`| ${link} | proxy, cached | ${c.cached.qps} | **${c.cachedQpsRatio}** | ${c.cached.p50Ms} / ${c.cached.p99Ms} | ${signed(c.addedLatencyCachedMs)} |`)
    rows.push(`| ${link} | proxy, uncached (a new name per query) | ${c.uncached.qps} | **${c.uncachedQpsRatio}** | ${c.uncached.p50Ms} / ${c.uncached.p99Ms} | ${signed(c.addedLatencyUncachedMs)} |`)
  }
  return rows
}
