/**
 * @module The machine a benchmark ran on, recorded with its results: numbers are meaningful only
 * next to the CPU, the core count, the Node version and how busy the machine was.
 */
import { execFileSync } from 'node:child_process'
import { availableParallelism, cpus, freemem, loadavg, platform, release, totalmem } from 'node:os'

export interface MachineInfo {
  readonly cpuModel: string
  readonly logicalCpus: number
  readonly availableParallelism: number
  readonly memoryGiB: number
  readonly freeMemoryGiB: number
  readonly os: string
  readonly node: string
  readonly v8: string
  /** 1, 5 and 15 minute load averages when the run started: a rough measure of noise. */
  readonly loadAverage: readonly number[]
  readonly date: string
  /** `git describe --always --dirty` of the tree measured, when git is at hand. */
  readonly commit: string | null
}

function gitCommit(root: string): string | null {
  try {
    return execFileSync('git', ['describe', '--always', '--dirty', '--abbrev=12'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return null
  }
}

const round2 = (n: number): number => Math.round(n * 100) / 100

export function machineInfo(root: string): MachineInfo {
  const list = cpus()
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    logicalCpus: list.length,
    availableParallelism: availableParallelism(),
    memoryGiB: round2(totalmem() / 2 ** 30),
    freeMemoryGiB: round2(freemem() / 2 ** 30),
    os: `${platform()} ${release()}`,
    node: process.version,
    v8: process.versions.v8,
    loadAverage: loadavg().map(round2),
    date: new Date().toISOString(),
    commit: gitCommit(root),
  }
}

export function formatMachine(m: MachineInfo): string {
  return (
    `${m.cpuModel}, ${m.logicalCpus} logical CPUs, ${m.memoryGiB} GiB; ${m.os}; Node ${m.node} (V8 ${m.v8}); ` +
    `load average ${m.loadAverage.join(' / ')} at start; ${m.date}; tree ${m.commit ?? 'unknown'}`
  )
}
