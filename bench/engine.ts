/**
 * @module The `engine` suite: the compiled policy engine (src/policy/compile-policy.ts) on
 * generated policies of 10, 1,000 and 100,000 FQDN application rules. Each size runs in a
 * child process of its own (bench/engine-child.ts: fresh heap and JIT, `--expose-gc` for clean
 * heap deltas), pinned to one CPU with `taskset` when it is at hand (`BENCH_CPU=N` picks the CPU,
 * `BENCH_CPU=none` turns pinning off). Aims (issue 2 §6): over 1,000,000 decisions per second
 * on one core at 100,000 rules; 100,000 rules compiled in under a second.
 */
import { spawn, spawnSync } from 'node:child_process'
import { cpus } from 'node:os'
import { join } from 'node:path'
import type { ChildResult, Throughput } from './engine-child.ts'
import { FLOW_DESCRIPTIONS, FLOW_KINDS, FLOW_WEIGHTS } from './engine-flows.ts'
import { grouped, round } from './stats.ts'
import type { BenchContext, BenchSuite, SuiteOutput } from './suite.ts'

export const SIZES = [10, 1000, 100000] as const
const QUICK_SIZES = [10, 1000, 20000] as const
const CHILD_TIMEOUT_MS = 10 * 60 * 1000
const AIM_DECISIONS_PER_SECOND = 1_000_000
const AIM_COMPILE_MS = 1000

export interface EngineData {
  readonly method: {
    readonly pinnedCpu: number | null
    readonly batchSize: number
    readonly aims: { readonly decisionsPerSecondAt100k: number; readonly compileMsAt100k: number }
  }
  readonly sizes: readonly ChildResult[]
}

/** The CPU to pin children to: `BENCH_CPU`, else the last CPU when `taskset` exists, else none. */
function pinnedCpu(): number | null {
  const env = process.env['BENCH_CPU']
  if (env === 'none') return null
  if (env !== undefined && /^[0-9]+$/.test(env)) return Number(env)
  const probe = spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' })
  return probe.status === 0 ? cpus().length - 1 : null
}

function runChild(ctx: BenchContext, size: number, cpu: number | null): Promise<ChildResult> {
  const nodeArgs = ['--expose-gc', '--import', 'tsx', join(ctx.root, 'bench', 'engine-child.ts'), String(size), ...(ctx.quick ? ['--quick'] : [])]
  const [command, args] = cpu === null ? [process.execPath, nodeArgs] : ['taskset', ['-c', String(cpu), process.execPath, ...nodeArgs]]
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ctx.root, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d
      for (const line of d.split('\n')) if (line.trim() !== '') ctx.log(line)
    })
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
    }, CHILD_TIMEOUT_MS)
    child.on('error', (e) => {
      clearTimeout(timer)
      reject(e)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (code !== 0) {
        reject(new Error(`engine child for size ${size} failed (${signal ?? `exit ${code}`}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`))
        return
      }
      const last = stdout.trim().split('\n').pop() ?? ''
      try {
        resolve(JSON.parse(last) as ChildResult)
      } catch {
        reject(new Error(`engine child for size ${size} printed no result`))
      }
    })
  })
}

const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1)
const ns = (n: number): string => grouped(n)
const pct = (part: number, whole: number): string => `${((100 * part) / whole).toFixed(1)}%`

function rangeOf(t: Throughput): string {
  const v = t.runs.map((r) => r.perSecond)
  return `${grouped(Math.min(...v))}–${grouped(Math.max(...v))}`
}

function renderMarkdown(data: EngineData, quick: boolean): string {
  const rows = data.sizes
  const big = rows.find((r) => r.size === 100000)
  const lines: string[] = []
  if (quick) lines.push('**Quick run (`--quick`): short runs, numbers not meaningful.**', '')
  lines.push(
    `Children pinned to CPU ${data.method.pinnedCpu ?? '(not pinned)'}; latency from batches of ${data.method.batchSize} decisions. ` +
      'Timed loops decide pre-built flows laid out in memory in the order they are decided (as a data plane decides a flow it has just built) and consume every decision; ' +
      '"flows scattered" times the same uniform mix over the flows as the generator left them, scattered over the heap by its shuffle: the difference is the cost of reading cold flows, not of deciding. ' +
      '"CPU share" is CPU time / wall time of the timed runs: below 1.00 the process waited for a CPU, so the machine was busy and the wall-clock rates are low; ' +
      '"per CPU-second" is the rate over the CPU time actually received.',
    '',
    '### Summary',
    '',
    '| FQDN app rules | net rules | FQDN patterns (exact / `*.` / `*x`) | CIDR blocks | compile median (cold) | engine memory (heap + typed arrays) | decisions/s uniform: median (range) | per CPU-second | CPU share | decisions/s skewed | uniform, flows scattered | p50 / p99 ns per decision |',
    '|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  )
  for (const r of rows) {
    const p = r.policy
    const patterns = (p.appPatterns['exact'] ?? 0) + (p.appPatterns['subdomain'] ?? 0) + (p.appPatterns['suffix'] ?? 0) + p.netPatterns
    lines.push(
      `| ${grouped(p.applicationRules)} | ${grouped(p.networkRules)} | ${grouped(patterns)} (${grouped(p.appPatterns['exact'] ?? 0)} / ${grouped(p.appPatterns['subdomain'] ?? 0)} / ${grouped(p.appPatterns['suffix'] ?? 0)} + ${grouped(p.netPatterns)} network) ` +
        `| ${grouped(p.cidrBlocks)} | ${round(r.compile.medianMs, 1)} ms (${round(r.compile.coldMs, 1)} ms) | ${mib(r.compile.engineHeapBytes)} MiB (${grouped(r.compile.engineHeapBytes / (p.applicationRules + p.networkRules))} B/rule) ` +
        `| **${grouped(r.throughput.medianPerSecond)}** (${rangeOf(r.throughput)}) | ${grouped(r.throughput.medianPerCpuSecond)} | ${r.throughput.medianCpuShare.toFixed(2)} ` +
        `| ${grouped(r.throughputSkewed.medianPerSecond)} | ${grouped(r.throughputScattered.medianPerSecond)} | ${ns(r.latency.median.p50Ns)} / ${ns(r.latency.median.p99Ns)} |`,
    )
  }
  if (big) {
    const dps = big.throughput.medianPerSecond
    const cpuDps = big.throughput.medianPerCpuSecond
    const c = big.compile.medianMs
    lines.push(
      '',
      '### Against the aims (100,000 rules)',
      '',
      '| aim | measured | met |',
      '|---|---|---|',
      `| > ${grouped(AIM_DECISIONS_PER_SECOND)} decisions/s on one core | ${grouped(dps)}/s wall, ${grouped(cpuDps)}/s per CPU-second (uniform); ${grouped(big.throughputSkewed.medianPerSecond)}/s wall (skewed) | ${dps > AIM_DECISIONS_PER_SECOND ? 'yes' : cpuDps > AIM_DECISIONS_PER_SECOND ? 'per CPU-second only' : '**no**'} |`,
      `| compile in < ${grouped(AIM_COMPILE_MS)} ms | median ${round(c, 1)} ms, cold ${round(big.compile.coldMs, 1)} ms | ${c < AIM_COMPILE_MS ? 'yes' : '**no**'} |`,
    )
  }
  lines.push('', '### Latency per flow kind (ns per decision, p50 / p99 of batches of one kind)', '', `| kind | share | ${rows.map((r) => `${grouped(r.size)} rules`).join(' | ')} |`, `|---|---:|${rows.map(() => '---:|').join('')}`)
  for (const kind of FLOW_KINDS) {
    const cells = rows.map((r) => {
      const k = r.latency.byKind[kind]
      return k ? `${ns(k.p50Ns)} / ${ns(k.p99Ns)}` : '–'
    })
    lines.push(`| \`${kind}\` | ${FLOW_WEIGHTS[kind]}% | ${cells.join(' | ')} |`)
  }
  lines.push('', '### Validation and decision mix', '', '| rules | flows checked against the naive evaluator | mismatches | aimed flows whose rule matches | decided by the aimed rule itself | decisions |', '|---:|---:|---:|---:|---:|---|')
  for (const r of rows) {
    const v = r.validation
    const mix = Object.entries(v.decisions)
      .sort((a, b) => b[1] - a[1])
      .map(([code, n]) => `${code} ${pct(n, v.flows)}`)
      .join(', ')
    lines.push(`| ${grouped(r.size)} | ${grouped(v.checked)} of ${grouped(v.flows)} | ${v.mismatches} | ${grouped(v.aimedRuleMatches)} / ${grouped(v.aimed)} | ${pct(v.aimedRuleDecides, v.aimed)} | ${mix} |`)
  }
  lines.push('', '### Runs', '', '| rules | compile runs (ms) | uniform runs (decisions/s) | skewed runs (decisions/s) | uniform, flows scattered (decisions/s) | latency runs p50 / p99 (ns) | policy as JSON: size, load + check |', '|---:|---|---|---|---|---|---|')
  for (const r of rows) {
    lines.push(
      `| ${grouped(r.size)} | ${r.compile.warmMs.map((m) => round(m, 1)).join(' / ')} | ${r.throughput.runs.map((x) => grouped(x.perSecond)).join(' / ')} | ${r.throughputSkewed.runs.map((x) => grouped(x.perSecond)).join(' / ')} | ${r.throughputScattered.runs.map((x) => grouped(x.perSecond)).join(' / ')} ` +
        `| ${r.latency.runs.map((l) => `${ns(l.p50Ns)}/${ns(l.p99Ns)}`).join(', ')} | ${mib(r.load.jsonBytes)} MiB, ${grouped(r.load.loadMs)} ms, ${r.load.warnings} warnings |`,
    )
  }
  lines.push('', `Timer overhead: two back-to-back \`process.hrtime.bigint()\` calls take ${rows.map((r) => `${round(r.latency.timerOverheadNs)} ns`).join(' / ')} (median), i.e. under ${Math.ceil(Math.max(...rows.map((r) => r.latency.timerOverheadNs)) / data.method.batchSize)} ns per decision of a batch; it is included, not subtracted.`)
  lines.push('', '<details><summary>Flow kinds</summary>', '', '| kind | share | what |', '|---|---:|---|')
  for (const kind of FLOW_KINDS) lines.push(`| \`${kind}\` | ${FLOW_WEIGHTS[kind]}% | ${FLOW_DESCRIPTIONS[kind]} |`)
  lines.push('', '</details>')
  return lines.join('\n')
}

export const suite: BenchSuite<EngineData> = {
  name: 'engine',
  title: 'policy engine: compile time, heap, decisions per second and latency at 10, 1,000 and 100,000 rules',
  async run(ctx: BenchContext): Promise<SuiteOutput<EngineData>> {
    const cpu = pinnedCpu()
    ctx.log(cpu === null ? 'children not pinned to a CPU' : `children pinned to CPU ${cpu} (taskset)`)
    const results: ChildResult[] = []
    for (const size of ctx.quick ? QUICK_SIZES : SIZES) results.push(await runChild(ctx, size, cpu))
    const data: EngineData = {
      method: {
        pinnedCpu: cpu,
        batchSize: results[0]?.latency.batchSize ?? 64,
        aims: { decisionsPerSecondAt100k: AIM_DECISIONS_PER_SECOND, compileMsAt100k: AIM_COMPILE_MS },
      },
      sizes: results,
    }
    return { data, markdown: renderMarkdown(data, ctx.quick) }
  },
}
