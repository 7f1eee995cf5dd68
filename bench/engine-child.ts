/**
 * @module One size of the engine benchmark, in a process of its own so that sizes do not share
 * a heap or JIT state: `node --expose-gc --import tsx bench/engine-child.ts SIZE [--quick]`,
 * started by bench/engine.ts. Progress goes to stderr, the result as one JSON line to stdout.
 *
 * The engine measured is the built one (`dist/`, what ships; `npm run bench` builds first);
 * types come from the source.
 *
 * Order: generate the policy; compile once cold (heap delta measured around it with forced
 * GCs); compile again several times (warm, median); generate flows; validate the engine against
 * the naive evaluator; then time decisions (throughput, batch latency, latency per flow kind)
 * over pre-built flows laid out in decision order, every decision consumed (a checksum);
 * last, load the policy as JSON text through the policy checker (validity and load time).
 */
import type * as CompilePolicy from '../src/policy/compile-policy.ts'
import type * as LoadPolicy from '../src/config/load-policy.ts'
import type * as WritePolicy from '../src/config/write-policy.ts'
import type { Flow } from '../src/policy/flow.ts'
import { generateFlows, inDecisionOrder, zipfDraws, FLOW_KINDS, type BenchFlow, type FlowKind } from './engine-flows.ts'
import { generatePolicy } from './engine-policy.ts'
import { ReferenceEvaluator } from './engine-reference.ts'
import { median, quantile } from './stats.ts'

type Engine = CompilePolicy.Engine

export interface LatencyStats {
  /** Nanoseconds per decision (a batch's time divided by its size), by percentile of batches. */
  readonly p50Ns: number
  readonly p90Ns: number
  readonly p99Ns: number
  readonly p999Ns: number
  readonly maxNs: number
  readonly batches: number
}

export interface ThroughputRun {
  readonly decisions: number
  readonly wallMs: number
  readonly cpuMs: number
  readonly perSecond: number
  readonly perCpuSecond: number
}

export interface Throughput {
  readonly runs: readonly ThroughputRun[]
  readonly medianPerSecond: number
  readonly medianPerCpuSecond: number
  /** Median of the runs' CPU time / wall time: below 1, the process waited for a CPU (a busy machine). */
  readonly medianCpuShare: number
}

export interface ChildResult {
  readonly size: number
  readonly seed: number
  readonly quick: boolean
  readonly execArgv: readonly string[]
  readonly policy: {
    readonly applicationRules: number
    readonly networkRules: number
    readonly collections: number
    readonly groups: number
    readonly appPatterns: Readonly<Record<string, number>>
    readonly netPatterns: number
    readonly cidrBlocks: number
    readonly engineStats: CompilePolicy.EngineStats
    readonly generateMs: number
    readonly policyHeapBytes: number
  }
  readonly compile: {
    readonly coldMs: number
    readonly warmMs: readonly number[]
    readonly medianMs: number
    /**
     * Memory retained by the compiled engine (policy object excluded): heap plus typed-array
     * backing stores (`heapUsed + arrayBuffers`, which `heapUsed` alone leaves out) after − before,
     * each after forced GCs.
     */
    readonly engineHeapBytes: number
  }
  readonly validation: {
    readonly flows: number
    readonly checked: number
    readonly mismatches: number
    readonly aimed: number
    readonly aimedRuleMatches: number
    readonly aimedRuleDecides: number
    readonly decisions: Readonly<Record<string, number>>
    readonly kinds: Readonly<Record<string, number>>
  }
  readonly warmupMs: number
  /** Uniform: the flow mix in shuffled order (every rule equally likely: the cache-cold worst case). */
  readonly throughput: Throughput
  /** Skewed: the same flows drawn by a Zipf law (s = 1), as real traffic repeats a few names. */
  readonly throughputSkewed: Throughput
  /**
   * Uniform, over the flows as generated: scattered over the heap by the shuffle instead of laid
   * out in decision order (`inDecisionOrder`), for comparison: the cost of reading cold flows.
   */
  readonly throughputScattered: Throughput
  readonly latency: {
    readonly batchSize: number
    /** Median of two back-to-back `hrtime.bigint()` calls: included in every batch. */
    readonly timerOverheadNs: number
    readonly runs: readonly LatencyStats[]
    /** Median over runs of each percentile. */
    readonly median: LatencyStats
    readonly byKind: Readonly<Partial<Record<FlowKind, { readonly flows: number; readonly p50Ns: number; readonly p99Ns: number }>>>
  }
  readonly load: {
    readonly jsonBytes: number
    readonly loadMs: number
    readonly errors: number
    readonly warnings: number
    readonly sameDecisions: boolean
  }
}

const BATCH = 64
const VALIDATION_BUDGET = 3e8 // rule × flow comparisons of the naive evaluator

function fail(message: string): never {
  process.stderr.write(`engine-child: ${message}\n`)
  process.exit(1)
}

const gc = globalThis.gc ?? fail('run with --expose-gc')

/** Heap and typed-array memory in use after forced GCs (the engine keeps its indexes in typed arrays). */
function heapUsed(): number {
  gc()
  gc()
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}

function msSince(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6
}

function log(line: string): void {
  process.stderr.write(`${line}\n`)
}

/** Decides `n` flows from `flows` starting at `start` (wrapping with `mask`); returns a checksum so the work cannot be dropped. */
function decideLoop(engine: Engine, flows: readonly Flow[], mask: number, start: number, n: number): number {
  let sink = 0
  for (let i = 0; i < n; i++) sink += engine.decide(flows[(start + i) & mask]!).code.length
  return sink
}

/** Per-decision time of `batches` batches of BATCH decisions each. */
function batchLatencies(engine: Engine, flows: readonly Flow[], mask: number, batches: number): { samples: Float64Array; sink: number } {
  const samples = new Float64Array(batches)
  let sink = 0
  let idx = 0
  for (let b = 0; b < batches; b++) {
    const t0 = process.hrtime.bigint()
    for (let k = 0; k < BATCH; k++) sink += engine.decide(flows[idx++ & mask]!).code.length
    const t1 = process.hrtime.bigint()
    samples[b] = Number(t1 - t0) / BATCH
  }
  return { samples, sink }
}

function stats(samples: Float64Array): LatencyStats {
  const list = Array.from(samples)
  return {
    p50Ns: quantile(list, 0.5),
    p90Ns: quantile(list, 0.9),
    p99Ns: quantile(list, 0.99),
    p999Ns: quantile(list, 0.999),
    maxNs: quantile(list, 1),
    batches: list.length,
  }
}

/** A power-of-two-long copy of `list`, cycled, so that index masking replaces a modulo. */
function cycled<T>(list: readonly T[], length: number): T[] {
  const out: T[] = []
  for (let i = 0; i < length; i++) out.push(list[i % list.length]!)
  return out
}

async function main(): Promise<void> {
  const size = Number(process.argv[2])
  if (!Number.isInteger(size) || size < 1) fail('usage: engine-child.ts SIZE [--quick]')
  const quick = process.argv.includes('--quick')
  const dist = new URL('../dist/', import.meta.url)
  const importDist = async <T>(path: string): Promise<T> => {
    try {
      return (await import(new URL(path, dist).href)) as T
    } catch (e) {
      return fail(`cannot load dist/${path} (${String(e)}); run "npm run build" first`)
    }
  }
  const { compilePolicy } = await importDist<typeof CompilePolicy>('policy/compile-policy.js')

  const runs = quick ? 3 : 7
  const flowCount = quick ? 1 << 13 : 1 << 16

  // 1. Policy.
  log(`size ${size}: generating the policy`)
  const h0 = heapUsed()
  let t = process.hrtime.bigint()
  const gen = generatePolicy(size)
  const generateMs = msSince(t)
  const policyHeapBytes = heapUsed() - h0
  const { policy } = gen

  // 2. Cold compile, with the heap it retains.
  const h1 = heapUsed()
  t = process.hrtime.bigint()
  let engine: Engine = compilePolicy(policy)
  const coldMs = msSince(t)
  const engineHeapBytes = heapUsed() - h1
  log(`size ${size}: cold compile ${coldMs.toFixed(1)} ms, engine memory ${(engineHeapBytes / 2 ** 20).toFixed(1)} MiB (heap + typed arrays)`)

  // 3. Warm compiles (the previous engine is garbage before each timed compile).
  const warmMs: number[] = []
  for (let i = 0; i < (quick ? 2 : 5); i++) {
    heapUsed()
    t = process.hrtime.bigint()
    engine = compilePolicy(policy)
    warmMs.push(msSince(t))
  }
  log(`size ${size}: warm compile median ${median(warmMs).toFixed(1)} ms (${warmMs.map((m) => m.toFixed(0)).join(' / ')})`)

  // 4. Flows and validation against the naive evaluator. The timed loops decide pre-built flows
  // laid out in the order they are decided (see inDecisionOrder), and consume every decision.
  const benchFlows: BenchFlow[] = generateFlows(gen, flowCount)
  const scattered = benchFlows.map((f) => f.flow)
  const flows = inDecisionOrder(scattered)
  const mask = flowCount - 1
  const reference = new ReferenceEvaluator(policy)
  const stride = Math.max(1, Math.ceil((reference.ruleCount * flowCount) / VALIDATION_BUDGET))
  const decisions: Record<string, number> = {}
  const kinds: Record<string, number> = {}
  let checked = 0
  let mismatches = 0
  let aimed = 0
  let aimedRuleMatches = 0
  let aimedRuleDecides = 0
  for (const [i, bf] of benchFlows.entries()) {
    const d = engine.decide(bf.flow)
    decisions[d.code] = (decisions[d.code] ?? 0) + 1
    kinds[bf.kind] = (kinds[bf.kind] ?? 0) + 1
    if (i % stride !== 0) continue
    checked++
    const ref = reference.decide(bf.flow)
    if (d.action !== ref.action || d.code !== ref.code || d.rulePath !== ref.rulePath) {
      mismatches++
      if (mismatches <= 5) log(`MISMATCH ${bf.kind} ${JSON.stringify(bf.flow)}: engine ${d.code} ${d.rulePath ?? '-'}, reference ${ref.code} ${ref.rulePath ?? '-'}`)
    }
    if (bf.intended !== null) {
      aimed++
      // The rule the flow was aimed at must match it, so some rule (it, or one before it) decides.
      if (reference.ruleMatches(bf.intended, bf.flow) && d.rule !== null) aimedRuleMatches++
      else if (aimed - aimedRuleMatches <= 5) log(`AIMED RULE DOES NOT MATCH ${bf.kind} ${JSON.stringify(bf.flow)} → ${bf.intended}; engine ${d.code}`)
      if (d.rulePath === bf.intended) aimedRuleDecides++
    }
  }
  log(`size ${size}: validated ${checked} of ${flowCount} flows (every ${stride}): ${mismatches} mismatches; ${aimedRuleMatches}/${aimed} aimed rules match`)
  if (mismatches > 0) fail(`the engine disagrees with the naive evaluator on ${mismatches} flows: not measuring a broken engine`)
  if (aimedRuleMatches !== aimed) fail(`${aimed - aimedRuleMatches} flows do not match the rule they were aimed at: the flow generator is wrong`)

  // 5. Throughput: warm-up, calibrate, then timed runs of the uniform and the skewed order,
  // interleaved so that a busy spell on the machine hits both alike.
  const skewed = inDecisionOrder(zipfDraws(scattered, flowCount, gen.seed))
  let sink = 0
  const warmupMs = quick ? 200 : 1500
  t = process.hrtime.bigint()
  let warmed = 0
  while (msSince(t) < warmupMs) {
    sink += decideLoop(engine, flows, mask, warmed, flowCount)
    sink += decideLoop(engine, skewed, mask, warmed, flowCount)
    warmed += 2 * flowCount
  }
  const perMs = warmed / msSince(t)
  const perRun = Math.max(flowCount, Math.round((perMs * (quick ? 100 : 700)) / flowCount) * flowCount)
  const timedRun = (list: readonly Flow[], start: number): ThroughputRun => {
    heapUsed()
    const c0 = process.cpuUsage()
    const w0 = process.hrtime.bigint()
    sink += decideLoop(engine, list, mask, start, perRun)
    const wallMs = msSince(w0)
    const c = process.cpuUsage(c0)
    const cpuMs = (c.user + c.system) / 1000
    return { decisions: perRun, wallMs, cpuMs, perSecond: (perRun / wallMs) * 1000, perCpuSecond: (perRun / cpuMs) * 1000 }
  }
  const uniformRuns: ThroughputRun[] = []
  const skewedRuns: ThroughputRun[] = []
  const scatteredRuns: ThroughputRun[] = []
  sink += decideLoop(engine, scattered, mask, 0, flowCount)
  for (let i = 0; i < runs; i++) {
    uniformRuns.push(timedRun(flows, i * 7919))
    skewedRuns.push(timedRun(skewed, i * 7919))
    scatteredRuns.push(timedRun(scattered, i * 7919))
  }
  const summary = (list: readonly ThroughputRun[]): Throughput => ({
    runs: list,
    medianPerSecond: median(list.map((x) => x.perSecond)),
    medianPerCpuSecond: median(list.map((x) => x.perCpuSecond)),
    medianCpuShare: median(list.map((x) => x.cpuMs / x.wallMs)),
  })
  const throughput = summary(uniformRuns)
  const throughputSkewed = summary(skewedRuns)
  const throughputScattered = summary(scatteredRuns)
  log(`size ${size}: ${Math.round(throughput.medianPerSecond).toLocaleString('en-US')} decisions/s uniform, ${Math.round(throughputSkewed.medianPerSecond).toLocaleString('en-US')} skewed, ${Math.round(throughputScattered.medianPerSecond).toLocaleString('en-US')} uniform over scattered flows (medians of ${runs} runs of ${perRun}; CPU share ${throughput.medianCpuShare.toFixed(2)})`)

  // 6. Latency of batches over the mix, then per kind.
  const timer: number[] = []
  for (let i = 0; i < 10001; i++) {
    const a = process.hrtime.bigint()
    const b = process.hrtime.bigint()
    timer.push(Number(b - a))
  }
  const latencyRuns: LatencyStats[] = []
  for (let i = 0; i < (quick ? 2 : 5); i++) {
    heapUsed()
    const { samples, sink: s } = batchLatencies(engine, flows, mask, quick ? 1 << 11 : 1 << 14)
    sink += s
    latencyRuns.push(stats(samples))
  }
  const med = (k: keyof LatencyStats): number => median(latencyRuns.map((l) => l[k]))
  const latencyMedian: LatencyStats = { p50Ns: med('p50Ns'), p90Ns: med('p90Ns'), p99Ns: med('p99Ns'), p999Ns: med('p999Ns'), maxNs: med('maxNs'), batches: med('batches') }
  const byKind: Partial<Record<FlowKind, { flows: number; p50Ns: number; p99Ns: number }>> = {}
  for (const kind of FLOW_KINDS) {
    const list = benchFlows.filter((f) => f.kind === kind).map((f) => f.flow)
    if (list.length === 0) continue
    const arr = inDecisionOrder(cycled(list, 4096))
    heapUsed()
    const { samples, sink: s } = batchLatencies(engine, arr, 4095, quick ? 1 << 8 : 1 << 11)
    sink += s
    const st = stats(samples)
    byKind[kind] = { flows: list.length, p50Ns: st.p50Ns, p99Ns: st.p99Ns }
  }
  log(`size ${size}: batch latency p50 ${latencyMedian.p50Ns.toFixed(0)} ns, p99 ${latencyMedian.p99Ns.toFixed(0)} ns per decision`)

  // 7. Load the policy as a user would (JSON text through the checker): it must be valid.
  const { loadPolicyText, engineFor } = await importDist<typeof LoadPolicy>('config/load-policy.js')
  const { policyToPlain } = await importDist<typeof WritePolicy>('config/write-policy.js')
  const text = JSON.stringify(policyToPlain(policy))
  heapUsed()
  t = process.hrtime.bigint()
  const loaded = loadPolicyText(text, 'bench-policy.json')
  const loadMs = msSince(t)
  const errors = loaded.diagnostics.filter((d) => d.severity === 'error')
  for (const d of errors.slice(0, 5)) log(`POLICY ERROR ${d.code}: ${d.message}`)
  let sameDecisions = false
  if (loaded.policy) {
    const again = engineFor(loaded.policy)
    sameDecisions = flows.slice(0, 2000).every((f) => again.decide(f).rulePath === engine.decide(f).rulePath)
  }
  if (errors.length > 0 || !sameDecisions) fail('the generated policy does not load as the same valid policy')
  log(`size ${size}: loaded as JSON (${(text.length / 2 ** 20).toFixed(1)} MiB) in ${loadMs.toFixed(0)} ms, ${loaded.diagnostics.length - errors.length} warnings`)

  const appPatterns: Record<string, number> = {}
  for (const p of gen.appPatterns) appPatterns[p.kind] = (appPatterns[p.kind] ?? 0) + 1
  const result: ChildResult = {
    size,
    seed: gen.seed,
    quick,
    execArgv: process.execArgv,
    policy: {
      applicationRules: gen.appRules,
      networkRules: gen.netRules,
      collections: policy.ruleCollectionGroups.reduce((n, g) => n + g.ruleCollections.length, 0),
      groups: policy.ruleCollectionGroups.length,
      appPatterns,
      netPatterns: gen.netPatterns.length,
      cidrBlocks: gen.blocks.length,
      engineStats: engine.stats,
      generateMs,
      policyHeapBytes,
    },
    compile: { coldMs, warmMs, medianMs: median(warmMs), engineHeapBytes },
    validation: { flows: flowCount, checked, mismatches, aimed, aimedRuleMatches, aimedRuleDecides, decisions, kinds },
    warmupMs,
    throughput,
    throughputSkewed,
    throughputScattered,
    latency: { batchSize: BATCH, timerOverheadNs: median(timer), runs: latencyRuns, median: latencyMedian, byKind },
    load: { jsonBytes: text.length, loadMs, errors: errors.length, warnings: loaded.diagnostics.length - errors.length, sameDecisions },
  }
  // The checksum keeps every decision observable; printing it costs nothing.
  log(`size ${size}: checksum ${sink}`)
  process.stdout.write(`${JSON.stringify(result)}\n`)
}

await main()
