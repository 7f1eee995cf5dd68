/**
 * @module The shape every benchmark suite has, so that `bench/run.ts` can run any of them by
 * name and record them the same way. A suite is a module `bench/<name>.ts` whose `suite` export
 * is a `BenchSuite`; the runner registers it in `SUITES` (bench/run.ts).
 *
 * A suite returns data (written as JSON to `bench/results/<name>.json`, committed so numbers are
 * reviewable) and the Markdown of its results (spliced into docs/benchmarks.md between its own
 * markers, so suites are re-run independently without clobbering each other).
 */
import type { MachineInfo } from './machine.ts'

export interface BenchContext {
  /** Repository root (absolute path). */
  readonly root: string
  /** Short runs for a smoke test of the harness: numbers are not meaningful. */
  readonly quick: boolean
  /** Progress lines, to stderr; never part of the results. */
  readonly log: (line: string) => void
}

export interface SuiteOutput<T = unknown> {
  /** JSON-serialisable raw results. */
  readonly data: T
  /** The suite's results section (Markdown, without the suite heading). */
  readonly markdown: string
  /** Other files to write with the results (a chart): path relative to the repository root → content. */
  readonly files?: Readonly<Record<string, string>>
}

export interface BenchSuite<T = unknown> {
  /** `[a-z0-9-]+`: the command-line name, the results file name and the doc marker name. */
  readonly name: string
  /** One line: what the suite measures. */
  readonly title: string
  run(ctx: BenchContext): Promise<SuiteOutput<T>>
}

/** What `bench/results/<name>.json` holds. */
export interface SuiteRecord<T = unknown> {
  readonly suite: string
  readonly title: string
  readonly quick: boolean
  readonly machine: MachineInfo
  readonly startedAt: string
  readonly durationS: number
  readonly data: T
}
