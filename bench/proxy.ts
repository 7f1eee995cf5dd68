/**
 * @module The proxy benchmark (issue 3, "Benchmark"): in one run on 127.0.0.1, the same workloads
 * against direct (no proxy: the limit), aks-egress (explicit CONNECT, explicit HTTP forward,
 * transparent SNI), squid (CONNECT, forward), haproxy (TCP mode, `req.ssl_sni`), nginx stream
 * (`ssl_preread`) and tinyproxy, following reference/bench-baselines.md §7:
 *
 * - origin: nginx, 1 worker, ECDSA P-256 certificate made at run time, session cache and tickets
 *   off (every new connection is a full handshake), `/ok`, 1 MiB, 1 GiB;
 * - load: `plg` (bench/plg, built at run time) for W1 new connections, W1p the same paced at a
 *   fixed rate, W2 kept-alive requests, W3 4 streams of 1 MiB and W5 plain-HTTP forwarding; curl
 *   for W4, one 1 GiB download, and W6, one 1 GiB upload; every target warmed up with its short
 *   loads before run 1;
 * - targets interleaved run by run (the order rotated each run), medians of 3 runs with every
 *   run's value; errors must be 0 and kept-alive tests must keep their connections (else the
 *   suite fails after printing what it measured);
 * - the proxy's own CPU (utime + stime of its process tree, /proc/PID/stat) around each load, per
 *   1,000 connections, per request or per GiB: on 2 shared cores the steadiest figure;
 * - memory per idle tunnel: the proxy's RSS with N idle TLS connections open through it, minus
 *   before, over N.
 *
 * Environment: BENCH_PROXY_SECONDS (per load, default 10), BENCH_PROXY_RUNS (default 3),
 * BENCH_PROXY_TARGETS (comma-separated target ids, default all but the experiment's `plane-*`), BENCH_PROXY_WORKLOADS,
 * BENCH_PROXY_PACED_RATE (W1p's new connections per second; default: 70% of the slowest target's
 * W1 rate in run 1, or in the warm-up when W1 is not measured, so that W1p stays below every
 * target's maximum), BENCH_PROXY_TRANSFERS
 * (W4 and W6: 1 GiB transfers per run, default 3, quick 1; the run's rate is their median),
 * BENCH_PROXY_NODE_ARGS (extra node flags for aks-egress, e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`),
 * BENCH_PROXY_WARM_SECONDS (each target's warm-up per load before run 1, default 3, quick 0.5; 0
 * for none, so that a profile or a process's counters hold the measured loads only),
 * BENCH_PROXY_FLOOR_BOOKKEEPING=1 (the floor + checks keeps aks-egress's caps, bounds, fields and
 * metrics too: node-floor.ts `--bookkeeping`),
 * BENCH_PROXY_KEEP=1 (keep the temporary directory), BENCH_PROXY_AKS_BASELINE=DIR (another
 * checkout, built: its aks-egress runs too, as the `@base` twin of every aks-egress target chosen,
 * interleaved with the others run by run; an A/B of two builds in one run, where the machine's
 * noise from run to run would swamp an A/B of two runs).
 */
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { execFileSync } from 'node:child_process'
import { grouped, median } from './stats.ts'
import type { BenchContext, BenchSuite, SuiteOutput } from './suite.ts'
import { buildPlane, buildPlg, openIdleTunnels, runCurl, runPlg, type TunnelPath } from './proxy/load.ts'
import {
  BASELINE_OF,
  reconnects,
  TARGETS,
  WORKLOADS,
  type Aim,
  type BaselineComparison,
  type FloorComparison,
  type IdleSample,
  type IdleSummary,
  type ProxyBenchData,
  type Sample,
  type Summary,
  targetInfo,
  type TargetId,
  type TargetInfo,
  type WorkloadId,
} from './proxy/model.ts'
import { NAME, startFreshPeer, startOrigin, startPeers, type Origin, type PeerKind, type Peers } from './proxy/peers.ts'
import { onInterrupt, runCommand, sleep, stopAll, stopService, treeCpu, treeRssKiB, type Service } from './proxy/processes.ts'
import { proxyChartSvg, proxyMarkdown } from './proxy/report.ts'

const GIB = 2 ** 30
const CHART_PATH = 'docs/benchmarks-proxy.svg'

interface Endpoint {
  /** URL plg and curl ask for (path appended). */
  readonly base: string
  readonly proxy?: string
  /** The process whose CPU and memory are counted. */
  readonly service?: Service
}

function endpoints(p: Peers): Partial<Record<TargetId, Endpoint>> {
  const tls = (port: number): string => `https://${NAME}:${port}`
  const origin = tls(p.origin.tlsPort)
  const plain = `http://${NAME}:${p.origin.httpPort}`
  const px = (port: number): string => `http://127.0.0.1:${port}`
  const b = p.aksBase
  return {
    ...(b
      ? {
          'aks-connect@base': { base: origin, proxy: px(b.explicitPort), service: b.service },
          'aks-sni@base': { base: tls(b.sniPort), service: b.service },
          'aks-forward@base': { base: plain, proxy: px(b.explicitPort), service: b.service },
        }
      : {}),
    direct: { base: origin },
    'aks-connect': { base: origin, proxy: px(p.aks.explicitPort), service: p.aks.service },
    'aks-sni': { base: tls(p.aks.sniPort), service: p.aks.service },
    'aks-forward': { base: plain, proxy: px(p.aks.explicitPort), service: p.aks.service },
    'squid-connect': { base: origin, proxy: px(p.squid.port), service: p.squid.service },
    'squid-forward': { base: plain, proxy: px(p.squid.port), service: p.squid.service },
    'haproxy-sni': { base: tls(p.haproxy.port), service: p.haproxy.service },
    'nginx-preread': { base: tls(p.nginxStream.port), service: p.nginxStream.service },
    'tinyproxy-connect': { base: origin, proxy: px(p.tinyproxy.port), service: p.tinyproxy.service },
    'tinyproxy-forward': { base: plain, proxy: px(p.tinyproxy.port), service: p.tinyproxy.service },
    'floor-connect': { base: origin, proxy: px(p.floor.connectPort), service: p.floor.service },
    'floor-sni': { base: tls(p.floor.sniPort), service: p.floor.service },
    'floor-checks-connect': { base: origin, proxy: px(p.floor.checksConnectPort), service: p.floor.service },
    'floor-checks-sni': { base: tls(p.floor.checksSniPort), service: p.floor.service },
    ...(p.plane
      ? {
          'plane-connect': { base: origin, proxy: px(p.plane.connectPort), service: p.plane.service },
          'plane-sni': { base: tls(p.plane.sniPort), service: p.plane.service },
          'plane-checks-connect': { base: origin, proxy: px(p.plane.checksConnectPort), service: p.plane.service },
          'plane-checks-sni': { base: tls(p.plane.checksSniPort), service: p.plane.service },
        }
      : {}),
  }
}

interface Settings {
  readonly runs: number
  readonly seconds: number
  readonly warmupSeconds: number
  /** Each target's warm-up before run 1, per load (BENCH_PROXY_WARM_SECONDS; 0: none, e.g. for a CPU profile of the measured loads alone). */
  readonly warmSeconds: number
  readonly idleTunnels: number
  readonly bulkBytes: number
  /** W4 and W6: transfers of 1 GiB per run (BENCH_PROXY_TRANSFERS), the run's rate their median. */
  readonly transfers: number
  /**
   * W1p's offered rate (BENCH_PROXY_PACED_RATE); undefined: calibrated from the W1 rates of run 1
   * or of the warm-up (pacedRateOf), so that it is below every target's maximum on the machine at hand.
   */
  readonly pacedRate: number | undefined
  readonly targets: ReadonlySet<TargetId>
  readonly workloads: ReadonlySet<WorkloadId>
  readonly nodeArgs: readonly string[]
  /** BENCH_PROXY_AKS_BASELINE: the checkout the `@base` targets run from. */
  readonly baselineRoot: string | undefined
  /** BENCH_PROXY_FLOOR_BOOKKEEPING=1: the floor + checks does aks-egress's bookkeeping too. */
  readonly floorBookkeeping: boolean
}

function settingsFrom(quick: boolean): Settings {
  const env = process.env
  const num = (name: string, fallback: number, zero = false): number => {
    const v = env[name]
    const n = v === undefined || v === '' ? NaN : Number(v)
    return Number.isFinite(n) && (n > 0 || (zero && n === 0)) ? n : fallback
  }
  /** `all` when unset; else the names, each of `all` or of `optIn` (chosen only when named). */
  const list = <T extends string>(name: string, all: readonly T[], optIn: readonly T[] = []): ReadonlySet<T> => {
    const v = env[name]
    if (v === undefined || v === '') return new Set(all)
    const chosen = v.split(',').map((s) => s.trim())
    const bad = chosen.filter((c) => !all.includes(c as T) && !optIn.includes(c as T))
    if (bad.length > 0) throw new Error(`${name}: unknown ${bad.join(', ')} (known: ${[...all, ...optIn].join(', ')})`)
    return new Set(chosen as T[])
  }
  const pacedRate = num('BENCH_PROXY_PACED_RATE', NaN)
  const baselineRoot = env['BENCH_PROXY_AKS_BASELINE'] ? resolve(env['BENCH_PROXY_AKS_BASELINE']) : undefined
  if (baselineRoot !== undefined && !existsSync(join(baselineRoot, 'dist', 'cli'))) {
    throw new Error(`BENCH_PROXY_AKS_BASELINE: ${baselineRoot} has no dist/cli: run \`npm ci && npm run build\` there first`)
  }
  const chosen = list(
    'BENCH_PROXY_TARGETS',
    TARGETS.filter((t) => t.baseline !== true && t.optIn !== true).map((t) => t.id),
    TARGETS.filter((t) => t.optIn === true).map((t) => t.id),
  )
  // Each aks-egress target chosen brings its baseline twin.
  const targets = new Set<TargetId>(chosen)
  if (baselineRoot !== undefined) for (const [id, twin] of Object.entries(BASELINE_OF)) if (chosen.has(id as TargetId)) targets.add(twin)
  return {
    runs: num('BENCH_PROXY_RUNS', quick ? 1 : 3),
    seconds: num('BENCH_PROXY_SECONDS', quick ? 2 : 10),
    warmupSeconds: quick ? 0.5 : 1,
    warmSeconds: num('BENCH_PROXY_WARM_SECONDS', quick ? 0.5 : 3, true),
    // 0: no idle-memory measurement.
    idleTunnels: num('BENCH_PROXY_IDLE_TUNNELS', quick ? 200 : 1000, true),
    bulkBytes: GIB,
    transfers: Math.floor(num('BENCH_PROXY_TRANSFERS', quick ? 1 : 3)),
    // Unset or not a positive number: calibrated (pacedRateOf).
    pacedRate: Number.isNaN(pacedRate) ? undefined : pacedRate,
    // direct is the reference of every ratio: always measured.
    targets: new Set<TargetId>(['direct', ...targets]),
    workloads: list('BENCH_PROXY_WORKLOADS', WORKLOADS.map((w) => w.id)),
    nodeArgs: (env['BENCH_PROXY_NODE_ARGS'] ?? '').split(' ').filter((a) => a.length > 0),
    baselineRoot,
    floorBookkeeping: env['BENCH_PROXY_FLOOR_BOOKKEEPING'] === '1',
  }
}

function rotate<T>(list: readonly T[], by: number): T[] {
  if (list.length === 0) return []
  const k = by % list.length
  return [...list.slice(k), ...list.slice(0, k)]
}

/**
 * The order of one run: rotated by `run`, each `@base` target right beside its twin from this
 * tree (which of the two goes first alternating run by run), so that the pair compared in the A/B
 * meets the same load on the shared machine as nearly as possible.
 */
function runOrder(targets: readonly TargetInfo[], run: number): TargetInfo[] {
  const groups: TargetInfo[][] = []
  for (const t of targets) {
    if (t.baseline) continue
    const twin = t.id in BASELINE_OF ? targets.find((x) => x.id === BASELINE_OF[t.id as keyof typeof BASELINE_OF]) : undefined
    groups.push(twin ? (run % 2 === 0 ? [t, twin] : [twin, t]) : [t])
  }
  return rotate(groups, run).flat()
}

function cpuOf(e: Endpoint): { total: number; sys: number } | null {
  return e.service ? treeCpu(e.service.pid) : null
}

/**
 * The share of the slowest target's W1 rate that W1p offers every target: the first suites'
 * fixed 1,000/s was 0.6–0.8 of the W1 maxima of the machine they ran on (2026-11-30).
 */
const PACED_SHARE = 0.7
/** Without a warm-up to calibrate from (BENCH_PROXY_WARM_SECONDS=0), W1p offers this. */
const PACED_DEFAULT = 1000

/**
 * W1p's offered rate and where it comes from. W1p measures every target's CPU per connection at
 * the same load, which holds only below every target's maximum: at 1,000/s, the fixed rate of
 * the first suites, the proxies of a slower machine (2026-12-01: 790–960/s) ran at their maximum
 * with p50 latencies of 30 ms, and W1p measured W1 again.
 */
function pacedRateOf(s: Settings, w1: ReadonlyMap<TargetId, number>, from: string): { rate: number; basis: string } {
  if (s.pacedRate !== undefined) return { rate: s.pacedRate, basis: 'BENCH_PROXY_PACED_RATE' }
  let slowest: [TargetId, number] | undefined
  for (const [t, rate] of w1) if (slowest === undefined || rate < slowest[1]) slowest = [t, rate]
  if (slowest === undefined) return { rate: PACED_DEFAULT, basis: 'the default: no W1 rate to calibrate from' }
  const rate = Math.max(50, Math.floor((slowest[1] * PACED_SHARE) / 50) * 50)
  return { rate, basis: `${Math.round(PACED_SHARE * 100)}% of the slowest target's W1 rate ${from}, ${slowest[0]} at ${grouped(Math.round(slowest[1]))}/s, rounded down to 50` }
}

/** Runs one workload against one target; CPU sampled around the whole load, settled after. */
async function measure(ctx: BenchContext, s: Settings & { readonly pacedRate: number }, plg: string, run: number, workload: WorkloadId, target: TargetId, e: Endpoint, origin: Origin): Promise<Sample> {
  const cpu0 = cpuOf(e)
  let sample: Omit<Sample, 'cpuS' | 'cpuPerUnit'>
  if (workload === 'single' || workload === 'upload') {
    // One stream's rate swings 2–3 × from one transfer to the next on this machine, for every
    // target: a run is several transfers, its rate their median, its CPU over all of them.
    const rates: number[] = []
    let bytes = 0
    for (let i = 0; i < s.transfers; i++) {
      const r = workload === 'single' ? await runCurl(`${e.base}/1g`, e.proxy, s.bulkBytes) : await runCurl(`${e.base}/upload`, e.proxy, s.bulkBytes, origin.bulkFile)
      rates.push(r.mibS)
      bytes += r.bytes
    }
    sample = { run, workload, target, rate: median(rates), p50Ms: null, p99Ms: null, errors: 0, requests: s.transfers, totalRequests: s.transfers, totalNewConns: s.transfers, totalBytes: bytes }
  } else {
    const path = workload === 'bulk' ? '/1m' : '/ok'
    const workers = workload === 'bulk' ? 4 : 32
    const r = await runPlg(plg, {
      url: `${e.base}${path}`,
      ...(e.proxy !== undefined ? { proxy: e.proxy } : {}),
      workers,
      seconds: s.seconds,
      warmupSeconds: s.warmupSeconds,
      keepAlive: !reconnects(workload),
      label: `${target}/${workload}/${run}`,
      ...(workload === 'paced' ? { rate: s.pacedRate } : {}),
    })
    sample = {
      run,
      workload,
      target,
      rate: workload === 'bulk' ? r.mib_s : r.rps,
      p50Ms: r.p50_ms,
      p99Ms: r.p99_ms,
      errors: r.errors,
      requests: r.requests,
      totalRequests: r.total_requests,
      totalNewConns: r.total_new_conns,
      totalBytes: r.total_bytes,
    }
  }
  // Let the proxy finish closing what the load left (its CPU counts too).
  await sleep(300)
  const cpu1 = cpuOf(e)
  const cpuS = cpu0 === null || cpu1 === null ? null : cpu1.total - cpu0.total
  // The kernel's share of it (system calls, the TCP stack's work on writes to loopback).
  const sysShare = cpu0 === null || cpu1 === null || cpuS === null || cpuS <= 0 ? null : (cpu1.sys - cpu0.sys) / cpuS
  let cpuPerUnit: number | null = null
  if (cpuS !== null) {
    if (reconnects(workload)) cpuPerUnit = (cpuS / Math.max(1, sample.totalNewConns)) * 1000
    else if (workload === 'keepalive' || workload === 'forward') cpuPerUnit = (cpuS / Math.max(1, sample.totalRequests)) * 1e6
    else cpuPerUnit = cpuS / (sample.totalBytes / GIB)
  }
  const unit = workload === 'bulk' || workload === 'single' || workload === 'upload' ? 'MiB/s' : 'req/s'
  ctx.log(
    `run ${run} ${workload.padEnd(9)} ${target.padEnd(17)} ${sample.rate.toFixed(0).padStart(6)} ${unit}` +
      (sample.p50Ms !== null ? `  p50 ${sample.p50Ms.toFixed(2)} p99 ${(sample.p99Ms ?? 0).toFixed(2)} ms` : '') +
      `  new conns ${sample.totalNewConns}` +
      (cpuPerUnit !== null ? `  cpu ${cpuPerUnit.toFixed(3)}` : '') +
      (sysShare !== null ? ` (${(sysShare * 100).toFixed(0)}% sys)` : '') +
      (sample.errors > 0 ? `  ERRORS ${sample.errors}` : ''),
  )
  return { ...sample, cpuS, cpuPerUnit }
}

const IDLE_PEERS: Partial<Record<TargetId, { kind: PeerKind; via: 'connect' | 'tls' }>> = {
  'aks-connect': { kind: 'aks', via: 'connect' },
  'aks-sni': { kind: 'aks', via: 'tls' },
  'aks-connect@base': { kind: 'aks', via: 'connect' },
  'aks-sni@base': { kind: 'aks', via: 'tls' },
  'squid-connect': { kind: 'squid', via: 'connect' },
  'tinyproxy-connect': { kind: 'tinyproxy', via: 'connect' },
  'haproxy-sni': { kind: 'haproxy', via: 'tls' },
  'nginx-preread': { kind: 'nginxStream', via: 'tls' },
}

/**
 * RSS of a fresh instance of the peer after one small warm-up connection, then with N idle TLS
 * tunnels open through it: (after − before) / N. A fresh process each time, so that the heap or
 * memory pools an earlier load left behind do not absorb the tunnels (Node's heap does not shrink
 * back at once).
 */
async function measureIdle(ctx: BenchContext, s: Settings, run: number, target: TargetId, dir: string, origin: Origin): Promise<IdleSample> {
  const spec = IDLE_PEERS[target]!
  const root = targetInfo(target).baseline ? s.baselineRoot! : ctx.root
  const peer = await startFreshPeer(spec.kind, root, dir, origin, s.nodeArgs)
  try {
    const path: TunnelPath = spec.via === 'connect' ? { kind: 'connect', proxyPort: peer.explicitPort!, originPort: origin.tlsPort } : { kind: 'tls', port: peer.sniPort! }
    // One round of a few tunnels first: lazy initialisation (TLS peeking code, pools) is not per tunnel.
    for (const t of await openIdleTunnels(path, 8)) t.destroy()
    await sleep(500)
    const before = treeRssKiB(peer.service.pid)
    const tunnels = await openIdleTunnels(path, s.idleTunnels)
    try {
      await sleep(1000)
      const after = treeRssKiB(peer.service.pid)
      const kibPerTunnel = (after - before) / s.idleTunnels
      ctx.log(`run ${run} idle      ${target.padEnd(17)} ${s.idleTunnels} tunnels: RSS ${before} → ${after} KiB, ${kibPerTunnel.toFixed(1)} KiB per tunnel`)
      return { run, target, tunnels: s.idleTunnels, rssBeforeKiB: before, rssAfterKiB: after, kibPerTunnel }
    } finally {
      for (const t of tunnels) t.destroy()
    }
  } finally {
    await stopService(peer.service)
    // squid refuses to start again until shutdown_lifetime has passed.
    await sleep(1200)
  }
}

function problemsOf(s: Sample, workers: number): string[] {
  const out: string[] = []
  const where = `run ${s.run} ${s.workload} ${s.target}`
  if (s.errors > 0) out.push(`${where}: ${s.errors} errors`)
  if (s.requests === 0) out.push(`${where}: no request completed`)
  if (reconnects(s.workload) && s.totalNewConns !== s.totalRequests) out.push(`${where}: ${s.totalNewConns} new connections for ${s.totalRequests} requests (keep-alive off must reconnect every time)`)
  // Kept-alive loads must keep their connections, or they measure handshakes. In plain-HTTP
  // forwarding (W5) too, for the proxies that keep client connections (aks-egress, squid):
  // tinyproxy closes after each forwarded request (reference/bench-baselines.md §6), which its
  // new-connection count shows; direct's kept-alive rate is W2's.
  const keeps = s.workload === 'keepalive' || s.workload === 'bulk' || (s.workload === 'forward' && (s.target === 'aks-forward' || s.target === 'aks-forward@base' || s.target === 'squid-forward'))
  if (keeps && s.totalNewConns > workers) out.push(`${where}: ${s.totalNewConns} new connections for ${workers} workers (keep-alive did not hold)`)
  return out
}

function summarize(samples: readonly Sample[]): Summary[] {
  const out: Summary[] = []
  for (const w of WORKLOADS) {
    const direct = samples.filter((x) => x.workload === w.id && x.target === 'direct')
    const directRate = direct.length > 0 ? median(direct.map((x) => x.rate)) : NaN
    for (const t of TARGETS) {
      const mine = samples.filter((x) => x.workload === w.id && x.target === t.id)
      if (mine.length === 0) continue
      const added = (pick: (x: Sample) => number | null): number | null => {
        const deltas: number[] = []
        for (const x of mine) {
          const d = direct.find((y) => y.run === x.run)
          const a = pick(x)
          const b = d ? pick(d) : null
          if (a !== null && b !== null) deltas.push(a - b)
        }
        return deltas.length > 0 ? median(deltas) : null
      }
      const lat = (pick: (x: Sample) => number | null): number | null => {
        const v = mine.map(pick).filter((x): x is number => x !== null)
        return v.length > 0 ? median(v) : null
      }
      const cpus = mine.map((x) => x.cpuPerUnit)
      const cpuKnown = cpus.filter((x): x is number => x !== null)
      const rate = median(mine.map((x) => x.rate))
      out.push({
        workload: w.id,
        target: t.id,
        rate,
        rates: mine.map((x) => x.rate),
        pctOfDirect: Number.isFinite(directRate) && directRate > 0 ? (rate / directRate) * 100 : null,
        p50Ms: lat((x) => x.p50Ms),
        p99Ms: lat((x) => x.p99Ms),
        addedP50Ms: t.id === 'direct' ? null : added((x) => x.p50Ms),
        addedP99Ms: t.id === 'direct' ? null : added((x) => x.p99Ms),
        cpuPerUnit: cpuKnown.length > 0 ? median(cpuKnown) : null,
        cpuPerUnits: cpus,
        totalNewConns: median(mine.map((x) => x.totalNewConns)),
        totalRequests: median(mine.map((x) => x.totalRequests)),
        errors: mine.reduce((a, x) => a + x.errors, 0),
      })
    }
  }
  return out
}

/** `subject`'s samples of workload `w` beside `against`'s of the same run, and their CPU-per-unit ratios. */
function sameRunPairs(samples: readonly Sample[], w: WorkloadId, subject: TargetId, against: TargetId): { pairs: (readonly [Sample, Sample])[]; cpuRatios: (number | null)[]; cpuRatio: number | null } {
  const pairs = samples
    .filter((x) => x.workload === w && x.target === subject)
    .flatMap((x) => {
      const b = samples.find((y) => y.workload === w && y.target === against && y.run === x.run)
      return b ? [[x, b] as const] : []
    })
  const cpuRatios = pairs.map(([x, b]) => (x.cpuPerUnit !== null && b.cpuPerUnit !== null && b.cpuPerUnit > 0 ? x.cpuPerUnit / b.cpuPerUnit : null))
  const known = cpuRatios.filter((r): r is number => r !== null)
  return { pairs, cpuRatios, cpuRatio: known.length > 0 ? median(known) : null }
}

/**
 * aks-egress against the Node floor and against the floor with its checks; the floors against
 * haproxy and squid (W1, W1p), run by run.
 */
function compareToFloor(samples: readonly Sample[]): FloorComparison[] {
  const pairs: [TargetId, TargetId][] = [
    ['aks-connect', 'floor-connect'],
    ['aks-sni', 'floor-sni'],
    ['aks-connect', 'floor-checks-connect'],
    ['aks-sni', 'floor-checks-sni'],
    ['floor-checks-connect', 'floor-connect'],
    ['floor-checks-sni', 'floor-sni'],
    ['floor-connect', 'haproxy-sni'],
    ['floor-sni', 'haproxy-sni'],
    ['floor-checks-connect', 'haproxy-sni'],
    ['floor-checks-sni', 'haproxy-sni'],
    ['floor-checks-connect', 'squid-connect'],
    ['floor-checks-sni', 'squid-connect'],
    // The experiment of the floors' sockets in C (opt-in targets).
    ['plane-connect', 'floor-connect'],
    ['plane-sni', 'floor-sni'],
    ['plane-checks-connect', 'floor-checks-connect'],
    ['plane-checks-sni', 'floor-checks-sni'],
    ['aks-connect', 'plane-checks-connect'],
    ['aks-sni', 'plane-checks-sni'],
    ['plane-connect', 'haproxy-sni'],
    ['plane-sni', 'haproxy-sni'],
    ['plane-checks-connect', 'haproxy-sni'],
    ['plane-checks-sni', 'haproxy-sni'],
  ]
  // The floors run the new-connection workloads only (W1, W1p).
  return WORKLOADS.filter((w) => reconnects(w.id)).flatMap(({ id: workload }) =>
    pairs.flatMap(([subject, against]) => {
      const r = sameRunPairs(samples, workload, subject, against)
      return r.pairs.length > 0 ? [{ workload, subject, against, cpuRatios: r.cpuRatios, cpuRatio: r.cpuRatio }] : []
    }),
  )
}

/** Per run, this tree's figure over its baseline twin's in the same run; medians of those ratios. */
function compareToBaseline(samples: readonly Sample[]): BaselineComparison[] {
  const out: BaselineComparison[] = []
  for (const w of WORKLOADS) {
    for (const [target, twin] of Object.entries(BASELINE_OF) as [keyof typeof BASELINE_OF, TargetId][]) {
      const { pairs, cpuRatios, cpuRatio } = sameRunPairs(samples, w.id, target, twin)
      if (pairs.length === 0) continue
      const rateRatios = pairs.map(([x, b]) => x.rate / b.rate)
      out.push({ workload: w.id, target, cpuRatios, cpuRatio, rateRatios, rateRatio: median(rateRatios) })
    }
  }
  return out
}

function summarizeIdle(idle: readonly IdleSample[]): IdleSummary[] {
  const out: IdleSummary[] = []
  for (const t of TARGETS) {
    const mine = idle.filter((x) => x.target === t.id)
    if (mine.length === 0) continue
    out.push({ target: t.id, tunnels: mine[0]!.tunnels, kibPerTunnel: median(mine.map((x) => x.kibPerTunnel)), runs: mine.map((x) => x.kibPerTunnel) })
  }
  return out
}

/** The aims of issue 3, checked for every aks-egress mode against its like-for-like peer. */
function aimsOf(summaries: readonly Summary[], samples: readonly Sample[]): Aim[] {
  const get = (w: WorkloadId, t: TargetId): Summary | undefined => summaries.find((x) => x.workload === w && x.target === t)
  const out: Aim[] = []
  const cpuAim = (aim: string, w: WorkloadId, subject: TargetId, against: TargetId, limit: number): void => {
    const a = get(w, subject)?.cpuPerUnit ?? null
    const b = get(w, against)?.cpuPerUnit ?? null
    const ratio = a !== null && b !== null && b > 0 ? a / b : null
    const runRatios = sameRunPairs(samples, w, subject, against).cpuRatios
    out.push({ aim, subject, against, workload: w, ratio, limit, kind: 'cpu-at-most', met: ratio === null ? null : ratio <= limit, runRatios })
  }
  const rateAim = (w: WorkloadId, subject: TargetId, against: TargetId): void => {
    const a = get(w, subject)?.rate
    const b = get(w, against)?.rate
    const ratio = a !== undefined && b !== undefined && b > 0 ? a / b : null
    const runRatios = sameRunPairs(samples, w, subject, against).pairs.map(([x, y]) => (y.rate > 0 ? x.rate / y.rate : null))
    out.push({ aim: 'rate at least squid\'s', subject, against, workload: w, ratio, limit: 1, kind: 'rate-at-least', met: ratio === null ? null : ratio >= 1, runRatios })
  }
  for (const subject of ['aks-connect', 'aks-sni'] as const) {
    for (const w of ['newconn', 'paced'] as const) {
      cpuAim('CPU per 1,000 new connections ≤ squid\'s', w, subject, 'squid-connect', 1)
      cpuAim('CPU per 1,000 new connections ≤ 1.3 × haproxy\'s', w, subject, 'haproxy-sni', 1.3)
    }
    cpuAim('CPU per GiB ≤ 1.2 × haproxy\'s', 'bulk', subject, 'haproxy-sni', 1.2)
    cpuAim('CPU per GiB ≤ 1.2 × haproxy\'s', 'single', subject, 'haproxy-sni', 1.2)
    cpuAim('CPU per GiB ≤ 1.2 × haproxy\'s', 'upload', subject, 'haproxy-sni', 1.2)
  }
  for (const subject of ['aks-connect', 'aks-sni'] as const) for (const w of ['newconn', 'keepalive', 'bulk', 'single', 'upload'] as const) rateAim(w, subject, 'squid-connect')
  rateAim('forward', 'aks-forward', 'squid-forward')
  return out.filter((a) => get(a.workload as WorkloadId, a.subject) !== undefined && get(a.workload as WorkloadId, a.against) !== undefined)
}

function versions(): Record<string, string> {
  const v = (cmd: string, args: string[], re: RegExp): string => {
    try {
      const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
      return re.exec(out)?.[1] ?? out.split('\n')[0]!.trim()
    } catch (e) {
      // nginx and squid print their version on stderr.
      const err = e as { stderr?: string; stdout?: string }
      const text = `${err.stdout ?? ''}${err.stderr ?? ''}`
      return re.exec(text)?.[1] ?? 'unknown'
    }
  }
  const stderrToo = (cmd: string, args: string[], re: RegExp): string => {
    try {
      const out = execFileSync('sh', ['-c', `${cmd} ${args.join(' ')} 2>&1`], { encoding: 'utf8' })
      return re.exec(out)?.[1] ?? 'unknown'
    } catch {
      return 'unknown'
    }
  }
  return {
    node: process.version,
    squid: v('squid', ['-v'], /Version (\S+)/),
    haproxy: v('haproxy', ['-v'], /version (\S+)/),
    nginx: stderrToo('nginx', ['-v'], /nginx\/(\S+)/),
    tinyproxy: stderrToo('tinyproxy', ['-v'], /tinyproxy (\S+)/),
    openssl: v('openssl', ['version'], /OpenSSL (\S+)/),
    curl: v('curl', ['--version'], /curl (\S+)/),
    go: v('go', ['version'], /go version go(\S+)/),
  }
}

async function run(ctx: BenchContext): Promise<SuiteOutput<ProxyBenchData>> {
  const s = settingsFrom(ctx.quick)
  const dir = mkdtempSync(join(tmpdir(), 'aks-egress-proxybench-'))
  // The origin's and the peers' workers run as nobody/proxy: they must reach their files.
  chmodSync(dir, 0o755)
  const samples: Sample[] = []
  const idle: IdleSample[] = []
  const problems: string[] = []
  const removeDir = (): void => {
    if (process.env['BENCH_PROXY_KEEP'] === '1') ctx.log(`kept ${dir}`)
    else rmSync(dir, { recursive: true, force: true })
  }
  const unregister = onInterrupt(removeDir)
  let paced: { rate: number; basis: string }
  try {
    ctx.log(`${s.runs} run(s) × ${s.seconds} s per load (+${s.warmupSeconds} s warm-up); idle tunnels ${s.idleTunnels}; temp ${dir}`)
    ctx.log('building plg (bench/plg) with GOPROXY=off go build')
    const plg = await buildPlg(ctx.root, dir)
    const origin = await startOrigin(dir, s.bulkBytes)
    let plane: string | undefined
    if ([...s.targets].some((t) => t.startsWith('plane-'))) {
      ctx.log('compiling the Node floors\' C socket plane (bench/proxy/plane/plane.c)')
      plane = await buildPlane(ctx.root, dir)
    }
    const peers = await startPeers(ctx.root, dir, origin, s.nodeArgs, s.baselineRoot, s.floorBookkeeping, plane)
    if (peers.aksBase) ctx.log(`aks-egress@base (${s.baselineRoot}): explicit :${peers.aksBase.explicitPort} sni :${peers.aksBase.sniPort}`)
    ctx.log(`origin https :${origin.tlsPort} http :${origin.httpPort}; aks-egress explicit :${peers.aks.explicitPort} sni :${peers.aks.sniPort}; squid :${peers.squid.port}; tinyproxy :${peers.tinyproxy.port}; haproxy :${peers.haproxy.port}; nginx stream :${peers.nginxStream.port}; node floor connect :${peers.floor.connectPort} sni :${peers.floor.sniPort} checks :${peers.floor.checksConnectPort} :${peers.floor.checksSniPort}${peers.plane ? `; C plane connect :${peers.plane.connectPort} sni :${peers.plane.sniPort} checks :${peers.plane.checksConnectPort} :${peers.plane.checksSniPort}` : ''}`)
    const eps = endpoints(peers)
    const targets = TARGETS.filter((t) => s.targets.has(t.id))
    // Validate before timing: every target answers /ok, and aks-egress refuses what its policy does not allow.
    for (const t of targets) {
      const e = eps[t.id]!
      const w = t.workloads.includes('forward') && !t.workloads.includes('newconn') ? 'forward' : 'newconn'
      const r = await runPlg(plg, { url: `${e.base}/ok`, ...(e.proxy !== undefined ? { proxy: e.proxy } : {}), workers: 2, seconds: 0.5, warmupSeconds: 0, keepAlive: w !== 'newconn', label: 'check' })
      if (r.errors > 0 || r.requests === 0) throw new Error(`${t.id}: the check load failed (${r.errors} errors, ${r.requests} requests)`)
    }
    await checkDenied(peers.aks.explicitPort, peers.origin)
    if (peers.aksBase) await checkDenied(peers.aksBase.explicitPort, peers.origin)
    // Every target is warmed up with the loads it will be measured on, before the first run: a
    // proxy in service has run for days, and the Node targets (aks-egress, the Node floor) start
    // JIT-cold with a small heap. With a warm-up of aks-egress's paths alone, kept-alive for
    // CONNECT (8 tunnels: its per-connection path stayed cold), the first run measured the Node
    // targets 13–30% above their later runs, haproxy 8% and squid not at all (2026-11-30).
    const warmSeconds = s.warmSeconds
    ctx.log(`warming up every target (${warmSeconds} s per load)`)
    // Each W1p target's W1 rate in the warm-up: W1p's offered rate is calibrated from them.
    const warmW1 = new Map<TargetId, number>()
    for (const t of warmSeconds > 0 ? targets : []) {
      const e = eps[t.id]!
      for (const w of t.workloads.filter((x) => x === 'newconn' || x === 'keepalive' || x === 'forward')) {
        const r = await runPlg(plg, { url: `${e.base}/ok`, ...(e.proxy !== undefined ? { proxy: e.proxy } : {}), workers: 32, seconds: warmSeconds, warmupSeconds: 0, keepAlive: w !== 'newconn', label: `warm ${t.id}/${w}` })
        if (w === 'newconn' && t.workloads.includes('paced') && r.errors === 0) warmW1.set(t.id, r.rps)
      }
    }
    // W1 runs before W1p in every run: W1p's rate comes from run 1's W1 when it is measured (the
    // warm-up's first load is JIT-cold and slower), from the warm-up otherwise.
    paced = pacedRateOf(s, warmW1, 'in the warm-up')
    let sm = { ...s, pacedRate: paced.rate }
    for (let r = 1; r <= s.runs; r++) {
      for (const w of WORKLOADS) {
        if (!s.workloads.has(w.id)) continue
        if (w.id === 'paced' && r === 1) {
          const w1 = new Map(samples.filter((x) => x.workload === 'newconn' && x.errors === 0 && targetInfo(x.target).workloads.includes('paced')).map((x) => [x.target, x.rate]))
          if (w1.size > 0) paced = pacedRateOf(s, w1, 'in run 1')
          sm = { ...s, pacedRate: paced.rate }
          ctx.log(`W1p offers ${paced.rate} new connections per second (${paced.basis})`)
        }
        const order = runOrder(targets.filter((t) => t.workloads.includes(w.id)), r - 1)
        for (const t of order) {
          const sample = await measure(ctx, sm, plg, r, w.id, t.id, eps[t.id]!, origin)
          samples.push(sample)
          problems.push(...problemsOf(sample, w.id === 'bulk' ? 4 : 32))
          await sleep(300)
        }
      }
      if (s.idleTunnels > 0) {
        for (const t of runOrder(targets.filter((x) => x.idle), r - 1)) idle.push(await measureIdle(ctx, s, r, t.id, dir, origin))
      }
    }
    for (const svc of [origin.service, peers.aks.service, ...(peers.aksBase ? [peers.aksBase.service] : []), peers.squid.service, peers.tinyproxy.service, peers.haproxy.service, peers.nginxStream.service, peers.floor.service, ...(peers.plane ? [peers.plane.service] : [])]) {
      if (svc.exitCode() !== undefined) problems.push(`${svc.name} exited during the benchmark (${String(svc.exitCode())}): ${svc.output().slice(-500)}`)
    }
  } finally {
    await stopAll()
    unregister()
    removeDir()
  }
  const summaries = summarize(samples)
  const data: ProxyBenchData = {
    ...(s.baselineRoot !== undefined ? { baseline: { dir: s.baselineRoot, commit: gitCommit(s.baselineRoot) }, comparisons: compareToBaseline(samples) } : {}),
    floor: compareToFloor(samples),
    ...(s.floorBookkeeping ? { floorBookkeeping: true } : {}),
    runs: s.runs,
    seconds: s.seconds,
    ...(s.workloads.has('paced') ? { pacedRate: paced.rate, pacedRateBasis: paced.basis } : {}),
    warmupSeconds: s.warmupSeconds,
    idleTunnels: s.idleTunnels,
    bulkBytes: s.bulkBytes,
    loadAverageEnd: loadavg().map((x) => Math.round(x * 100) / 100),
    versions: versions(),
    samples,
    idle,
    summaries,
    idleSummaries: summarizeIdle(idle),
    aims: aimsOf(summaries, samples),
    problems,
  }
  const markdown = proxyMarkdown(data, CHART_PATH)
  if (problems.length > 0) {
    process.stdout.write(`${markdown}\n`)
    throw new Error(`proxy benchmark: ${problems.length} problem(s), results not written:\n${problems.join('\n')}`)
  }
  return { data, markdown, files: { [CHART_PATH]: proxyChartSvg(data) } }
}

function gitCommit(dir: string): string {
  try {
    return execFileSync('git', ['-C', dir, 'rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return 'unknown'
  }
}

/** aks-egress must deny a name its policy does not allow (the bench measures an enforcing proxy). */
async function checkDenied(explicitPort: number, origin: Origin): Promise<void> {
  const out = await runCommand('curl', ['-sk', '-o', '/dev/null', '-w', '%{http_connect}', '--noproxy', '', '-x', `http://127.0.0.1:${explicitPort}`, `https://denied.example:${origin.tlsPort}/ok`], { timeoutMs: 10_000 }).catch((e: unknown) => String(e))
  if (!out.includes('403')) throw new Error(`aks-egress did not deny CONNECT denied.example (${out})`)
}

export const suite: BenchSuite<ProxyBenchData> = {
  name: 'proxy',
  title: 'Egress proxies on loopback: aks-egress against direct, squid, haproxy, nginx stream, tinyproxy',
  run,
}
