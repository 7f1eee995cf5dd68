// The L4 and DNS benchmark suite of the transparent appliance (issue 4), for `npm run bench`.
//
//   runL4Bench(options) -> L4BenchResult   (structured; the bench runner of branch `bench` plugs it in)
//   npm run bench -- l4 [--quick]            through bench/run.ts (results, docs/benchmarks.md)
//
// Workloads (root only: network namespaces it creates and deletes itself, and loopback):
// - tcp: iperf3 (1 stream) from `node` through `firewall` to `internet`, with the aks-egress table
//   as serve applies it (the flowtable on both interfaces when the kernel can make one) versus
//   plain forwarding (no table; a return route instead of masquerade): the limit. Each pair back
//   to back, the order alternating; and, with perf installed, the share of the transfer's CPU
//   spent in netfilter through the ruleset (the steady figure: throughput on this shared machine
//   varies by ±20% run to run).
// - dns (bench/l4-dns.ts): queries per second and latency of the DNS proxy versus the upstream
//   asked directly, cached (one name over and over) and uncached (a new name each query), across
//   the namespaces, with no added delay and with 1 ms added to every upstream answer.
// - apply: time to compile and `nft -f` a policy of 10,000 network rules into a fresh namespace,
//   and to replace it (reload); time to learn 10,000 addresses into a set.
// - https: new HTTPS connections per second from `node` to a TLS origin in `internet` (a full
//   handshake, one small GET each), through the appliance (`aks-egress serve --transparent` from
//   dist/, in `firewall`: the table redirects 443 to the TLS listener, which reads the SNI,
//   decides, resolves the name and dials) versus plain forwarding to the origin (the limit); and
//   the appliance's CPU seconds per 1,000 connections (/proc/PID/stat). The load generator is
//   bench/l4-https-load.ts. The loopback comparison with Squid, HAProxy and nginx is bench/proxy.ts.
// Runs are interleaved (run 1 of each variant, then run 2, ...) and medians reported, as
// reference/bench-baselines.md §7 advises on this noisy 2-core machine.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import dnsPacket from 'dns-packet'
import { policyToPlain } from '../src/config/write-policy.ts'
import { compileNftables } from '../src/dataplane/nftables/compile-nftables.ts'
import { FqdnSetIndex } from '../src/dataplane/nftables/fqdn-sets.ts'
import { nftCommand } from '../src/dataplane/nftables/nft-runner.ts'
import { FqdnLearner } from '../src/dns/learner.ts'
import { parseFqdnPattern } from '../src/policy/fqdn-pattern.ts'
import type { NetworkRule, Policy } from '../src/policy/policy-model.ts'
import { defaultPolicy2019 } from '../test/unit/dataplane/nftables-cases.ts'
import { Netns, newGroup, routedTriangle, sweepStaleNamespaces, type TriangleAddresses } from '../test/e2e/netns/netns.ts'
import { makePki, type Pki } from '../test/e2e/proxy/harness.ts'
import { kernelHasFlowtable } from '../test/support/nft-check.ts'
import { benchDns, dnsMarkdown, type DnsBenchResult } from './l4-dns.ts'
import type { BenchSuite } from './suite.ts'

export interface L4BenchOptions {
  readonly runs?: number
  /** DNS runs of each kind per condition; default 5. */
  readonly dnsRuns?: number
  /** iperf3 pairs (plain, ruleset); default 6. */
  readonly tcpRuns?: number
  readonly seconds?: number
  readonly dnsQueries?: number
  /** Milliseconds added to every upstream DNS answer in the second DNS condition (default 1). */
  readonly dnsDelayMs?: number
  readonly rules?: number
  readonly httpsConnections?: number
}

export interface Series {
  readonly median: number
  readonly runs: readonly number[]
}

export interface L4BenchResult {
  readonly tcp: {
    readonly plainGbps: Series
    readonly rulesetGbps: Series
    /** Ratio of the medians. */
    readonly ratio: number
    /** Median of each run's ratio (plain and ruleset measured back to back, the order alternating). */
    readonly pairedRatio: Series
    /** The ruleset had the flowtable (the kernel can make one), as serve would apply it. */
    readonly flowtable: boolean
    /** CPU of iperf3 through the ruleset (perf): % in netfilter (conntrack, NAT, hooks, rules), % in rule evaluation. */
    readonly cpu?: { readonly netfilterPct: number; readonly ruleEvalPct: number }
  }
  readonly dns: DnsBenchResult
  readonly apply: {
    readonly rules: number
    readonly compileMs: Series
    readonly applyMs: Series
    readonly reloadMs: Series
    readonly learnAddresses: number
    readonly learnMs: Series
  }
  readonly https: {
    readonly connections: number
    readonly concurrency: number
    readonly directCps: Series
    readonly transparentCps: Series
    readonly ratio: number
    readonly direct: { readonly p50Ms: number; readonly p99Ms: number }
    readonly transparent: { readonly p50Ms: number; readonly p99Ms: number }
    readonly cpuSecondsPer1000: Series
    readonly failed: number
  }
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

function series(values: readonly number[]): Series {
  return { median: Number(median(values).toFixed(3)), runs: values.map((v) => Number(v.toFixed(3))) }
}

// ---- TCP through the firewall ---------------------------------------------------------------

function iperfPolicy(): Policy {
  const base = defaultPolicy2019()
  const rule: NetworkRule = {
    name: 'iperf',
    sourceAddresses: ['10.240.0.0/16'],
    sourceIpGroups: [],
    ipProtocols: ['TCP'],
    destinationAddresses: ['203.0.113.10'],
    destinationIpGroups: [],
    destinationFqdns: [],
    destinationPorts: ['5201'],
  }
  return { ...base, ruleCollectionGroups: [...base.ruleCollectionGroups, { name: 'bench', priority: 60000, ruleCollections: [{ type: 'network', name: 'bench', priority: 100, action: 'Allow', rules: [rule] }] }] }
}

function iperfOnce(node: Netns, seconds: number): number {
  const out = node.exec(['iperf3', '-c', '203.0.113.10', '-t', String(seconds), '-J'])
  const j = JSON.parse(out) as { end: { sum_received: { bits_per_second: number } } }
  return j.end.sum_received.bits_per_second / 1e9
}

/** Kernel symbols of netfilter's per-packet work: conntrack, NAT, the hooks and nftables' rule evaluation. */
const NETFILTER_SYMBOL = /^(nf_|nft_|__nf|ipv4_conntrack|ipv6_conntrack|hash_conntrack|inet_proto_csum)/
const RULE_EVAL_SYMBOL = /^(nft_do_chain|nft_do_chain_inet|nft_meta_get_eval|nft_ct_get_eval|nft_cmp_eval|nft_lookup_eval|nft_payload_eval|nft_immediate_eval|nft_counter_eval)/

/** The namespaces' addresses of the TCP and HTTPS loads (the node subnet as the tests' testbed). */
const BENCH_TRIANGLE: TriangleAddresses = { node: ['10.240.0.4/16'], fwInside: '10.240.0.1', fwPublic: '192.0.2.1', internet: '192.0.2.2' }

/**
 * Where the CPU of one iperf3 run through the ruleset goes (`perf record -a`, read-only sampling
 * of the whole machine for the run; samples of the iperf3 processes only, which include the
 * forwarding done in softirq on their CPUs): the percentage in netfilter symbols and, of those,
 * in the rule evaluation. undefined without perf. The steady figure beside the noisy throughput.
 */
async function netfilterShare(node: Netns, seconds: number, dir: string): Promise<{ readonly netfilterPct: number; readonly ruleEvalPct: number } | undefined> {
  try {
    execFileSync('perf', ['--version'], { stdio: 'ignore' })
  } catch {
    return undefined
  }
  const data = join(dir, 'perf.data')
  const iperf = node.spawn(['iperf3', '-c', '203.0.113.10', '-t', String(seconds + 2)], { stdio: 'ignore' })
  const done = new Promise((resolve) => iperf.once('exit', resolve))
  try {
    await new Promise((r) => setTimeout(r, 1000))
    execFileSync('perf', ['record', '-a', '-q', '-o', data, '--', 'sleep', String(seconds)], { stdio: 'ignore', timeout: (seconds + 30) * 1000 })
    await done
    const report = execFileSync('perf', ['report', '-i', data, '--comms', 'iperf3', '--no-children', '--sort', 'sym', '-g', 'none', '--stdio'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'] })
    let total = 0
    let nf = 0
    let rules = 0
    for (const line of report.split('\n')) {
      const m = /^\s*([\d.]+)%\s+\[k\]\s+(\S+)/.exec(line) ?? /^\s*([\d.]+)%\s+\[.\]\s+(\S+)/.exec(line)
      if (!m) continue
      const pct = Number(m[1])
      total += pct
      if (line.includes('[k]') && NETFILTER_SYMBOL.test(m[2]!)) nf += pct
      if (line.includes('[k]') && RULE_EVAL_SYMBOL.test(m[2]!)) rules += pct
    }
    if (total === 0) return undefined
    return { netfilterPct: Number(((100 * nf) / total).toFixed(2)), ruleEvalPct: Number(((100 * rules) / total).toFixed(2)) }
  } finally {
    if (iperf.exitCode === null && iperf.signalCode === null) iperf.kill('SIGKILL')
    rmSync(data, { force: true })
  }
}

export async function benchTcp(runs: number, seconds: number): Promise<L4BenchResult['tcp']> {
  const group = newGroup()
  const made: Netns[] = []
  let server: ReturnType<typeof spawn> | undefined
  try {
    const { node, fw, inet } = routedTriangle(group, ['bnode', 'bfw', 'binet'], BENCH_TRIANGLE, made)
    inet.exec(['ip', 'addr', 'add', '203.0.113.10/32', 'dev', 'lo'])
    server = inet.spawn(['iperf3', '-s', '-B', '203.0.113.10'], { stdio: 'ignore' })
    await new Promise((r) => setTimeout(r, 500))
    // The table serve would apply here: with the flowtable on both interfaces when the kernel can
    // make one (FLOWTABLE_UNSUPPORTED fallback otherwise).
    const flowtable = kernelHasFlowtable((argv, input) => fw.try(argv, input))
    const ruleset = compileNftables(iperfPolicy(), { egressInterface: 'f-inet', ingressInterfaces: ['f-node'], flowtable }).text
    const plain: number[] = []
    const withRules: number[] = []
    const pairs: number[] = []
    const measurePlain = (): number => {
      // Plain forwarding: no table; the internet routes the node subnet back to the firewall.
      inet.exec(['ip', 'route', 'replace', '10.240.0.0/16', 'via', '192.0.2.1'])
      fw.exec(['nft', '-f', '-'], 'table inet aks_egress\ndelete table inet aks_egress\n')
      return iperfOnce(node, seconds)
    }
    const measureRuleset = (): number => {
      // Only masqueraded flows can be answered now (no route back to the node subnet).
      inet.try(['ip', 'route', 'del', '10.240.0.0/16'])
      fw.exec(['nft', '-f', '-'], ruleset)
      return iperfOnce(node, seconds)
    }
    for (let i = 0; i < runs; i++) {
      // Back to back, the order alternating: a load burst of the shared machine hits both sides.
      let p: number
      let r: number
      if (i % 2 === 0) {
        p = measurePlain()
        r = measureRuleset()
      } else {
        r = measureRuleset()
        p = measurePlain()
      }
      plain.push(p)
      withRules.push(r)
      pairs.push(r / p)
    }
    const p = series(plain)
    const r = series(withRules)
    const dir = mkdtempSync(join(tmpdir(), 'aks-egress-bench-perf-'))
    let cpu: Awaited<ReturnType<typeof netfilterShare>>
    try {
      inet.try(['ip', 'route', 'del', '10.240.0.0/16'])
      fw.exec(['nft', '-f', '-'], ruleset)
      cpu = await netfilterShare(node, seconds, dir)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
    return { plainGbps: p, rulesetGbps: r, ratio: Number((r.median / p.median).toFixed(3)), pairedRatio: series(pairs), flowtable, ...(cpu ? { cpu } : {}) }
  } finally {
    server?.kill('SIGKILL')
    for (const ns of made) ns.delete()
  }
}

// ---- applying rules and learning addresses --------------------------------------------------

function bigPolicy(rules: number): Policy {
  const base = defaultPolicy2019()
  const list: NetworkRule[] = []
  for (let i = 0; i < rules; i++) {
    const a = (i >> 8) & 255
    const b = i & 255
    list.push({
      name: `r${i}`,
      sourceAddresses: ['10.240.0.0/16'],
      sourceIpGroups: [],
      ipProtocols: [i % 3 === 0 ? 'UDP' : 'TCP'],
      destinationAddresses: [`198.18.${a}.${b}`, `198.19.${a}.0/24`],
      destinationIpGroups: [],
      destinationFqdns: i % 10 === 0 ? [`n${i}.bench.test`] : [],
      destinationPorts: [String(1000 + (i % 5000)), '443'],
    })
  }
  return { ...base, ruleCollectionGroups: [{ name: 'big', priority: 100, ruleCollections: [{ type: 'network', name: 'big', priority: 100, action: 'Allow', rules: list }] }, ...base.ruleCollectionGroups] }
}

async function benchApply(runs: number, rules: number): Promise<L4BenchResult['apply']> {
  const policy = bigPolicy(rules)
  const compileMs: number[] = []
  const applyMs: number[] = []
  const reloadMs: number[] = []
  const learnMs: number[] = []
  const learnAddresses = 10_000
  for (let r = 0; r < runs; r++) {
    // A fresh namespace has no eth0 to hook a flowtable on: the rules' load time is measured.
    const ns = Netns.create(newGroup(), 'bapply')
    try {
      let t = performance.now()
      const text = compileNftables(policy, { egressInterface: 'eth0', flowtable: false }).text
      compileMs.push(performance.now() - t)
      const runner = nftCommand({ prefix: ['ip', 'netns', 'exec', ns.name] })
      t = performance.now()
      await runner.apply(text)
      applyMs.push(performance.now() - t)
      t = performance.now()
      await runner.apply(text)
      reloadMs.push(performance.now() - t)
      // Learning: 10,000 addresses of 10,000 names into one set, batched as the proxy does.
      const index = new FqdnSetIndex()
      const parsed = parseFqdnPattern('*.bench.test')
      if (!parsed.ok) throw new Error(parsed.detail)
      index.add(0, 'bench', [{ text: '*.bench.test', pattern: parsed.pattern }])
      const small = compileNftables(
        { ...policy, ruleCollectionGroups: [{ name: 'l', priority: 100, ruleCollections: [{ type: 'network', name: 'l', priority: 100, action: 'Allow', rules: [{ ...policy.ruleCollectionGroups[0]!.ruleCollections[0]!.rules[0] as NetworkRule, destinationFqdns: ['*.bench.test'] }] }] }] },
        { egressInterface: 'eth0', flowtable: false },
      )
      await runner.apply(small.text)
      const learner = new FqdnLearner(small.sets, runner, undefined, { maxPerSet: 20_000 })
      t = performance.now()
      const waits: Array<Promise<number>> = []
      for (let i = 0; i < learnAddresses; i++) {
        const name = `h${i}.bench.test`
        waits.push(Promise.resolve(learner.learn(name, { answers: [{ type: 'A', name, ttl: 300, data: `100.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}` }] } as unknown as dnsPacket.DecodedPacket)))
      }
      await Promise.all(waits)
      learnMs.push(performance.now() - t)
      const count = (ns.exec(['nft', 'list', 'set', 'inet', 'aks_egress', small.sets.all()[0]!.v4]).match(/timeout/g) ?? []).length
      if (count < learnAddresses) throw new Error(`only ${count} elements learned`)
    } finally {
      ns.delete()
    }
  }
  return { rules, compileMs: series(compileMs), applyMs: series(applyMs), reloadMs: series(reloadMs), learnAddresses, learnMs: series(learnMs) }
}

// ---- new HTTPS connections through the transparent L7 path ---------------------------------

const ROOT = fileURLToPath(new URL('..', import.meta.url))

interface HttpsRun {
  readonly ok: number
  readonly failed: number
  readonly seconds: number
  readonly p50Ms: number
  readonly p99Ms: number
}

/** User + system CPU seconds of a process so far (/proc/PID/stat, fields 14 and 15). */
function cpuSeconds(pid: number, ticksPerSecond: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond
}

/** Resolves with the first line of `stream` that `pred` accepts; rejects when the process exits first. */
function lineOf(child: ChildProcess, stream: 'stdout' | 'stderr', pred: (line: string) => boolean, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = ''
    const s = child[stream]
    if (!s) {
      reject(new Error(`no ${stream}`))
      return
    }
    const timer = setTimeout(() => {
      reject(new Error(`no such line within ${timeoutMs} ms: ${buf.slice(-500)}`))
    }, timeoutMs)
    s.setEncoding('utf8')
    s.on('data', (d: string) => {
      buf += d
      const hit = buf.split('\n').find(pred)
      if (hit !== undefined) {
        clearTimeout(timer)
        resolve(hit)
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`exited ${String(code)} before the line: ${buf.slice(-500)}`))
    })
  })
}

export async function benchHttps(runs: number, total: number, concurrency: number): Promise<L4BenchResult['https']> {
  const bin = join(ROOT, 'bin/aks-egress.js')
  if (!existsSync(join(ROOT, 'dist/cli/main.js'))) throw new Error('the https workload runs dist/: npm run build first (npm run bench does)')
  const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())
  const group = newGroup()
  const made: Netns[] = []
  const procs: ChildProcess[] = []
  const dir = mkdtempSync(join(tmpdir(), 'aks-egress-bench-https-'))
  let pki: Pki | undefined
  try {
    const { node, fw, inet } = routedTriangle(group, ['hnode', 'hfw', 'hinet'], BENCH_TRIANGLE, made)
    for (const a of ['203.0.113.80', '198.51.100.53']) inet.exec(['ip', 'addr', 'add', `${a}/32`, 'dev', 'lo'])
    pki = await makePki(['mcr.microsoft.com'])
    writeFileSync(join(dir, 'origin.pem'), pki.cert)
    writeFileSync(join(dir, 'origin.key'), pki.key)
    const config = join(dir, 'internet.json')
    writeFileSync(
      config,
      JSON.stringify({
        dns: { host: '198.51.100.53', zone: { records: { 'mcr.microsoft.com': [{ type: 'A', data: '203.0.113.80', ttl: 3600 }] } } },
        tcpPorts: [],
        udpHosts: [],
        tls: { certFile: join(dir, 'origin.pem'), keyFile: join(dir, 'origin.key'), origins: [{ label: 'mcr', host: '203.0.113.80', port: 443 }] },
      }),
    )
    const services = inet.spawn([process.execPath, '--import', 'tsx', join(ROOT, 'test/e2e/netns/internet-services.ts'), config], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
    procs.push(services)
    await lineOf(services, 'stdout', (l) => l === 'ready')
    services.stdout?.resume() // one line per connection: read and dropped
    // The 2019-11 default policy: mcr.microsoft.com is an Https:443 application rule. The origin
    // is on a documentation address, which the L7 proxy refuses unless the policy opens it.
    const base = defaultPolicy2019([])
    const policyFile = join(dir, 'policy.json')
    writeFileSync(policyFile, JSON.stringify(policyToPlain({ ...base, settings: { ...base.settings, unsafeAllowPrivateRanges: ['203.0.113.0/24'] } })))
    const load = (n: number): HttpsRun => {
      const out = node.exec([process.execPath, '--import', 'tsx', join(ROOT, 'bench/l4-https-load.ts'), '203.0.113.80', '443', 'mcr.microsoft.com', pki!.caPath, String(n), String(concurrency)])
      return JSON.parse(out.trim().split('\n').pop() ?? '{}') as HttpsRun
    }
    const direct: HttpsRun[] = []
    const transparent: HttpsRun[] = []
    const cpu: number[] = []
    for (let r = 0; r < runs; r++) {
      // The limit: plain forwarding, no table, no proxy; the internet routes the node subnet back.
      inet.exec(['ip', 'route', 'replace', '10.240.0.0/16', 'via', '192.0.2.1'])
      load(Math.min(500, total))
      direct.push(load(total))
      inet.exec(['ip', 'route', 'del', '10.240.0.0/16'])
      // The appliance: the table redirects 443 to the TLS listener. Decision logging is off
      // (--log-level warn), as in the proxy suite.
      const serve = fw.spawn(
        [process.execPath, bin, 'serve', '--transparent', '--policy', policyFile, '--egress-interface', 'f-inet', '--dns-listen', '10.240.0.1:53', '--dns-upstream', '198.51.100.53', '--admin', 'none', '--log-level', 'warn', '--no-watch'],
        { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
      )
      procs.push(serve)
      await lineOf(serve, 'stderr', (l) => l.startsWith('aks-egress serve: '))
      load(Math.min(500, total))
      const before = cpuSeconds(serve.pid!, ticks)
      const run = load(total)
      cpu.push(((cpuSeconds(serve.pid!, ticks) - before) * 1000) / Math.max(1, run.ok))
      transparent.push(run)
      const exited = new Promise((resolve) => serve.once('exit', resolve))
      serve.kill('SIGTERM')
      await exited
    }
    const cps = (list: readonly HttpsRun[]): Series => series(list.map((x) => x.ok / x.seconds))
    const d = cps(direct)
    const t = cps(transparent)
    return {
      connections: total,
      concurrency,
      directCps: d,
      transparentCps: t,
      ratio: Number((t.median / d.median).toFixed(3)),
      direct: { p50Ms: median(direct.map((x) => x.p50Ms)), p99Ms: median(direct.map((x) => x.p99Ms)) },
      transparent: { p50Ms: median(transparent.map((x) => x.p50Ms)), p99Ms: median(transparent.map((x) => x.p99Ms)) },
      cpuSecondsPer1000: series(cpu),
      failed: [...direct, ...transparent].reduce((n, x) => n + x.failed, 0),
    }
  } finally {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL')
    for (const ns of made) ns.delete()
    rmSync(dir, { recursive: true, force: true })
    pki?.cleanup()
  }
}

export async function runL4Bench(options: L4BenchOptions = {}): Promise<L4BenchResult> {
  if (process.getuid?.() !== 0) throw new Error('the L4 benchmark needs root (network namespaces)')
  execFileSync('iperf3', ['--version'], { stdio: 'ignore' })
  sweepStaleNamespaces()
  const runs = options.runs ?? 3
  const tcp = await benchTcp(options.tcpRuns ?? 6, options.seconds ?? 5)
  const dns = await benchDns(options.dnsRuns ?? 5, options.dnsQueries ?? 20_000, options.dnsDelayMs ?? 1)
  const apply = await benchApply(runs, options.rules ?? 10_000)
  const https = await benchHttps(runs, options.httpsConnections ?? 3000, 16)
  return { tcp, dns, apply, https }
}

export function formatL4Bench(r: L4BenchResult): string {
  return [
    `L4 TCP (iperf3, 1 stream): plain forwarding ${r.tcp.plainGbps.median} Gbit/s, with the ruleset${r.tcp.flowtable ? ' (flowtable)' : ' (no flowtable)'} ${r.tcp.rulesetGbps.median} Gbit/s, ratio ${r.tcp.ratio}, paired ${r.tcp.pairedRatio.median}`,
    ...r.dns.conditions.map(
      (c) =>
        `DNS +${c.delayMs} ms: direct ${c.direct.qps} q/s p50 ${c.direct.p50Ms} ms; cached ${c.cached.qps} q/s p50 ${c.cached.p50Ms} ms (x${c.cachedQpsRatio}); uncached ${c.uncached.qps} q/s p50 ${c.uncached.p50Ms} ms (x${c.uncachedQpsRatio})`,
    ),
    `${r.apply.rules} rules: compile ${r.apply.compileMs.median} ms, nft -f ${r.apply.applyMs.median} ms, reload ${r.apply.reloadMs.median} ms; learn ${r.apply.learnAddresses} addresses ${r.apply.learnMs.median} ms`,
    `HTTPS new connections/s: transparent L7 ${r.https.transparentCps.median}, plain forwarding ${r.https.directCps.median} (x${r.https.ratio}); ${r.https.cpuSecondsPer1000.median} CPU s per 1,000`,
  ].join('\n')
}

/** The suite for bench/run.ts: `npm run bench -- l4` (root: it makes network namespaces). */
export const suite: BenchSuite<L4BenchResult> = {
  name: 'l4',
  title: 'Transparent appliance: L4 throughput through nftables, DNS proxy, applying rules and learning addresses',
  async run(ctx) {
    ctx.log('iperf3 through the firewall namespace, DNS across the namespaces, nft -f in a fresh namespace')
    const data = await runL4Bench(ctx.quick ? { runs: 1, tcpRuns: 2, dnsRuns: 1, seconds: 2, dnsQueries: 3000, httpsConnections: 300 } : {})
    return { data, markdown: markdownOf(data) }
  },
}

function markdownOf(r: L4BenchResult): string {
  const runs = (s: Series): string => s.runs.join(' / ')
  return [
    '| workload | aks-egress | limit (same run) | ratio | runs (aks-egress) |',
    '|---|---|---|---|---|',
    `| L4 TCP, iperf3 1 stream, Gbit/s (${r.tcp.flowtable ? 'with the flowtable' : 'no flowtable: the kernel has none'}) | ${r.tcp.rulesetGbps.median} | ${r.tcp.plainGbps.median} (plain forwarding) | **${r.tcp.ratio}** | ${runs(r.tcp.rulesetGbps)} |`,
    `| L4 TCP, each run's ratio (plain and ruleset back to back, order alternating) | | | **${r.tcp.pairedRatio.median}** (median) | ${runs(r.tcp.pairedRatio)} |`,
    ...(r.tcp.cpu
      ? [`| L4 TCP through the ruleset: CPU of the transfer in netfilter (conntrack, NAT, hooks, rules) / of which rule evaluation, % (perf) | ${r.tcp.cpu.netfilterPct} / ${r.tcp.cpu.ruleEvalPct} | | | |`]
      : []),
    `| compile ${r.apply.rules} network rules, ms | ${r.apply.compileMs.median} | | | ${runs(r.apply.compileMs)} |`,
    `| nft -f of that ruleset (new table), ms | ${r.apply.applyMs.median} | | | ${runs(r.apply.applyMs)} |`,
    `| replace it (reload, one transaction), ms | ${r.apply.reloadMs.median} | | | ${runs(r.apply.reloadMs)} |`,
    `| learn ${r.apply.learnAddresses} addresses into a set (batched nft -f), ms | ${r.apply.learnMs.median} | | | ${runs(r.apply.learnMs)} |`,
    `| new HTTPS connections/s through the transparent L7 path (${r.https.connections}, ${r.https.concurrency} at a time) | ${r.https.transparentCps.median} | ${r.https.directCps.median} (plain forwarding to the origin) | **${r.https.ratio}** | ${runs(r.https.transparentCps)} |`,
    `| HTTPS connection latency p50 / p99, ms | ${r.https.transparent.p50Ms} / ${r.https.transparent.p99Ms} | ${r.https.direct.p50Ms} / ${r.https.direct.p99Ms} | | |`,
    `| aks-egress CPU seconds per 1,000 new HTTPS connections | ${r.https.cpuSecondsPer1000.median} | | | ${runs(r.https.cpuSecondsPer1000)} |`,
    '',
    `DNS, from \`node\` across namespaces (${r.dns.queries} queries a run, ${r.dns.concurrency} in flight, bench/dnsload; the proxy in \`firewall\`, logging every query as serve does; the upstream in \`internet\`). ${r.dns.conditions.reduce((n, c) => n + c.lost, 0)} queries lost in all runs.`,
    '',
    ...dnsMarkdown(r.dns),
    '',
    'Reading it: the L4 path is the kernel\'s (conntrack, the aks-egress table, masquerade) against',
    'forwarding with no table at all; established flows match the first rule of the forward chain, so',
    'the rule count does not touch bulk throughput. DNS: with no added delay the upstream is a fake',
    'authoritative server answering from memory one veth hop beyond the firewall, the cheapest resolver',
    'there can be, and "direct" pays one hop more than "cached" but no proxy. With the added delay the',
    'upstream stands for a real resolver a network round trip away (Azure DNS from the VM). Uncached',
    'queries pay a fresh socket per upstream query (a random source port each, RFC 5452), both',
    'decodes and the round trip. The load generator, the proxy and the upstream share the 2 cores.',
    '',
    'HTTPS: every connection is a full TLS 1.3 handshake and one small GET, from `node` to an origin in',
    '`internet`. Through the appliance the table redirects it to the TLS listener, which reads the',
    'ClientHello, decides by SNI, resolves the name (cached after the first) and opens its own',
    'connection to the origin, then splices: two TCP connections and a user-space relay per client',
    'connection, against one forwarded connection in the limit. The TLS handshake itself is end to end',
    '(the appliance never terminates TLS) and its cost is the client\'s and the origin\'s, on the same',
    `2 cores as the appliance. ${r.https.failed} connections failed in all runs. Decision logging was off (--log-level warn), as in`,
    'the proxy suite (bench/proxy.ts).',
  ].join('\n')
}
