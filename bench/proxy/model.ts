/**
 * @module The data of the proxy benchmark: targets, workloads, one sample per (run, workload,
 * target), and the summaries the report is made of. bench/results/proxy.json holds these.
 */

export type TargetId =
  | 'direct'
  | 'aks-connect'
  | 'aks-sni'
  | 'aks-forward'
  | 'squid-connect'
  | 'squid-forward'
  | 'haproxy-sni'
  | 'nginx-preread'
  | 'tinyproxy-connect'
  | 'tinyproxy-forward'
  | 'floor-connect'
  | 'floor-sni'
  | 'floor-checks-connect'
  | 'floor-checks-sni'
  | 'plane-connect'
  | 'plane-sni'
  | 'plane-checks-connect'
  | 'plane-checks-sni'
  | BaselineTargetId

/** aks-egress built from another checkout (BENCH_PROXY_AKS_BASELINE), measured beside this tree's. */
export type BaselineTargetId = 'aks-connect@base' | 'aks-sni@base' | 'aks-forward@base'

/** This tree's aks-egress targets and their twins run from the baseline checkout. */
export const BASELINE_OF: Readonly<Record<'aks-connect' | 'aks-sni' | 'aks-forward', BaselineTargetId>> = {
  'aks-connect': 'aks-connect@base',
  'aks-sni': 'aks-sni@base',
  'aks-forward': 'aks-forward@base',
}

export type WorkloadId = 'newconn' | 'paced' | 'keepalive' | 'bulk' | 'single' | 'upload' | 'forward'

/** Keep-alive off: every request of the workload is a new connection (W1, W1p). */
export function reconnects(w: WorkloadId): boolean {
  return w === 'newconn' || w === 'paced'
}

export interface WorkloadInfo {
  readonly id: WorkloadId
  readonly title: string
  /** What the rate counts. */
  readonly rateUnit: 'req/s' | 'MiB/s'
  /** What the proxy's CPU is divided by, and how it is shown. */
  readonly cpuUnit: 'CPU s per 1,000 conns' | 'CPU µs per request' | 'CPU s per GiB'
}

export const WORKLOADS: readonly WorkloadInfo[] = [
  { id: 'newconn', title: 'W1 new TLS connections (GET /ok, keep-alive off, 32 workers)', rateUnit: 'req/s', cpuUnit: 'CPU s per 1,000 conns' },
  // W1 at the same offered rate for every target: CPU per connection compared at equal load
  // (at their own maximum rates, a busier process batches more events per wake-up).
  { id: 'paced', title: 'W1p new TLS connections paced at a fixed rate (GET /ok, keep-alive off, 32 workers)', rateUnit: 'req/s', cpuUnit: 'CPU s per 1,000 conns' },
  { id: 'keepalive', title: 'W2 requests over kept-alive connections/tunnels (GET /ok, 32 workers)', rateUnit: 'req/s', cpuUnit: 'CPU µs per request' },
  { id: 'bulk', title: 'W3 bulk, 4 kept-alive streams of GET 1 MiB', rateUnit: 'MiB/s', cpuUnit: 'CPU s per GiB' },
  { id: 'single', title: 'W4 bulk, one 1 GiB download (curl)', rateUnit: 'MiB/s', cpuUnit: 'CPU s per GiB' },
  { id: 'forward', title: 'W5 plain-HTTP forwarding (absolute-form GET /ok, client keep-alive on, 32 workers)', rateUnit: 'req/s', cpuUnit: 'CPU µs per request' },
  // Client → origin: image pushes and log shipping go this way (the other loads are downloads).
  { id: 'upload', title: 'W6 bulk, one 1 GiB upload (curl PUT; the origin discards it)', rateUnit: 'MiB/s', cpuUnit: 'CPU s per GiB' },
]

export interface TargetInfo {
  readonly id: TargetId
  readonly name: string
  readonly mode: string
  readonly workloads: readonly WorkloadId[]
  /** Opens idle tunnels for the memory measurement. */
  readonly idle: boolean
  /** Run from the baseline checkout: measured only when BENCH_PROXY_AKS_BASELINE is set. */
  readonly baseline?: boolean
  /** An experiment: measured only when BENCH_PROXY_TARGETS names it. */
  readonly optIn?: boolean
}

const TLS: readonly WorkloadId[] = ['newconn', 'paced', 'keepalive', 'bulk', 'single', 'upload']

export const TARGETS: readonly TargetInfo[] = [
  { id: 'direct', name: 'direct', mode: 'no proxy: the limit', workloads: [...TLS, 'forward'], idle: false },
  { id: 'aks-connect', name: 'aks-egress', mode: 'explicit CONNECT', workloads: TLS, idle: true },
  { id: 'aks-sni', name: 'aks-egress', mode: 'transparent SNI', workloads: TLS, idle: true },
  { id: 'aks-forward', name: 'aks-egress', mode: 'explicit HTTP forward', workloads: ['forward'], idle: false },
  { id: 'squid-connect', name: 'squid', mode: 'CONNECT', workloads: TLS, idle: true },
  { id: 'squid-forward', name: 'squid', mode: 'HTTP forward', workloads: ['forward'], idle: false },
  { id: 'haproxy-sni', name: 'haproxy', mode: 'TCP, req.ssl_sni', workloads: TLS, idle: true },
  { id: 'nginx-preread', name: 'nginx stream', mode: 'ssl_preread', workloads: TLS, idle: true },
  { id: 'tinyproxy-connect', name: 'tinyproxy', mode: 'CONNECT', workloads: TLS, idle: true },
  { id: 'tinyproxy-forward', name: 'tinyproxy', mode: 'HTTP forward', workloads: ['forward'], idle: false },
  // The least a Node.js proxy spends per connection (bench/proxy/node-floor.ts): new connections only.
  { id: 'floor-connect', name: 'Node floor', mode: 'bare relay on TCP handles, CONNECT', workloads: ['newconn', 'paced'], idle: false },
  { id: 'floor-sni', name: 'Node floor', mode: 'bare relay on TCP handles, TLS port', workloads: ['newconn', 'paced'], idle: false },
  // The same relay doing aks-egress's own checks of a connection, with aks-egress's code: what its structure adds over them.
  { id: 'floor-checks-connect', name: 'Node floor + checks', mode: 'relay on TCP handles with aks-egress\'s checks, CONNECT', workloads: ['newconn', 'paced'], idle: false },
  { id: 'floor-checks-sni', name: 'Node floor + checks', mode: 'relay on TCP handles with aks-egress\'s checks, TLS port', workloads: ['newconn', 'paced'], idle: false },
  // Experiment: the floors' sockets in C (bench/proxy/plane/plane.c), their verdicts in JavaScript.
  { id: 'plane-connect', name: 'C plane', mode: 'sockets and relay in C, CONNECT', workloads: ['newconn', 'paced'], idle: false, optIn: true },
  { id: 'plane-sni', name: 'C plane', mode: 'sockets and relay in C, TLS port', workloads: ['newconn', 'paced'], idle: false, optIn: true },
  { id: 'plane-checks-connect', name: 'C plane + checks', mode: 'sockets and relay in C, aks-egress\'s checks in JavaScript, CONNECT', workloads: ['newconn', 'paced'], idle: false, optIn: true },
  { id: 'plane-checks-sni', name: 'C plane + checks', mode: 'sockets and relay in C, aks-egress\'s checks in JavaScript, TLS port', workloads: ['newconn', 'paced'], idle: false, optIn: true },
  { id: 'aks-connect@base', name: 'aks-egress@base', mode: 'explicit CONNECT', workloads: TLS, idle: true, baseline: true },
  { id: 'aks-sni@base', name: 'aks-egress@base', mode: 'transparent SNI', workloads: TLS, idle: true, baseline: true },
  { id: 'aks-forward@base', name: 'aks-egress@base', mode: 'explicit HTTP forward', workloads: ['forward'], idle: false, baseline: true },
]

export function targetInfo(id: TargetId): TargetInfo {
  return TARGETS.find((t) => t.id === id)!
}

export function workloadInfo(id: WorkloadId): WorkloadInfo {
  return WORKLOADS.find((w) => w.id === id)!
}

/** One measurement of one target in one workload. */
export interface Sample {
  readonly run: number
  readonly workload: WorkloadId
  readonly target: TargetId
  /** req/s or MiB/s over the measured window. */
  readonly rate: number
  /** End-to-end latency (dial, CONNECT, TLS included); null for the curl workload. */
  readonly p50Ms: number | null
  readonly p99Ms: number | null
  readonly errors: number
  /** Requests in the measured window, and everything done while the load ran (CPU is divided by this). */
  readonly requests: number
  readonly totalRequests: number
  readonly totalNewConns: number
  readonly totalBytes: number
  /** Proxy CPU seconds (process tree) while the load ran; null for direct. */
  readonly cpuS: number | null
  /** CPU per unit, in the workload's cpuUnit; null for direct. */
  readonly cpuPerUnit: number | null
}

export interface IdleSample {
  readonly run: number
  readonly target: TargetId
  readonly tunnels: number
  readonly rssBeforeKiB: number
  readonly rssAfterKiB: number
  readonly kibPerTunnel: number
}

/** Medians over runs of one target in one workload. */
export interface Summary {
  readonly workload: WorkloadId
  readonly target: TargetId
  readonly rate: number
  readonly rates: readonly number[]
  readonly pctOfDirect: number | null
  readonly p50Ms: number | null
  readonly p99Ms: number | null
  /** Median over runs of (target − direct of the same run). */
  readonly addedP50Ms: number | null
  readonly addedP99Ms: number | null
  readonly cpuPerUnit: number | null
  readonly cpuPerUnits: readonly (number | null)[]
  readonly totalNewConns: number
  readonly totalRequests: number
  readonly errors: number
}

export interface IdleSummary {
  readonly target: TargetId
  readonly tunnels: number
  readonly kibPerTunnel: number
  readonly runs: readonly number[]
}

export interface Aim {
  readonly aim: string
  readonly subject: TargetId
  readonly against: TargetId
  readonly workload: WorkloadId | 'idle'
  /** subject / against (rate: higher is better; CPU: lower is better). */
  readonly ratio: number | null
  readonly limit: number
  readonly kind: 'cpu-at-most' | 'rate-at-least'
  readonly met: boolean | null
  /**
   * The same ratio within each run (subject and peer measured minutes apart, under the same
   * conditions), null where either figure is missing: how steady the verdict is from run to run.
   */
  readonly runRatios?: readonly (number | null)[]
}

/** An A/B of this tree against the baseline checkout: per run, this tree's figure over the baseline's. */
export interface BaselineComparison {
  readonly workload: WorkloadId
  readonly target: 'aks-connect' | 'aks-sni' | 'aks-forward'
  /** this tree's CPU per unit / the baseline's, per run (null where either is missing). */
  readonly cpuRatios: readonly (number | null)[]
  readonly cpuRatio: number | null
  /** this tree's rate / the baseline's, per run. */
  readonly rateRatios: readonly number[]
  readonly rateRatio: number
}

/**
 * One target's CPU per new connection over another's, run by run (W1, W1p): aks-egress over the
 * Node floor (what aks-egress adds to Node's own cost) and over the floor with its checks (what
 * its structure adds), the floors over haproxy (Node's cost over C's) and squid.
 */
export interface FloorComparison {
  readonly workload: WorkloadId
  readonly subject: TargetId
  readonly against: TargetId
  readonly cpuRatios: readonly (number | null)[]
  readonly cpuRatio: number | null
}

export interface ProxyBenchData {
  /** The baseline checkout (BENCH_PROXY_AKS_BASELINE) and its commit, when one was measured. */
  readonly baseline?: { readonly dir: string; readonly commit: string }
  readonly comparisons?: readonly BaselineComparison[]
  /** W1 and W1p ratios around the Node floors (bench/proxy/node-floor.ts), when they were measured. */
  readonly floor?: readonly FloorComparison[]
  /** The floor + checks kept aks-egress's caps, bounds, fields and metrics too (BENCH_PROXY_FLOOR_BOOKKEEPING). */
  readonly floorBookkeeping?: boolean
  readonly runs: number
  readonly seconds: number
  /** W1p's offered rate, new connections per second over all workers. */
  readonly pacedRate?: number
  /** Where W1p's rate came from: BENCH_PROXY_PACED_RATE, or calibrated from the W1 rates of run 1 (of the warm-up when W1 was not measured). */
  readonly pacedRateBasis?: string
  readonly warmupSeconds: number
  readonly idleTunnels: number
  readonly bulkBytes: number
  readonly loadAverageEnd: readonly number[]
  readonly versions: Readonly<Record<string, string>>
  readonly samples: readonly Sample[]
  readonly idle: readonly IdleSample[]
  readonly summaries: readonly Summary[]
  readonly idleSummaries: readonly IdleSummary[]
  readonly aims: readonly Aim[]
  readonly problems: readonly string[]
}
