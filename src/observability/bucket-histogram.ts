/**
 * @module A Prometheus histogram with at most one label, counted in a typed array per label value
 * and handed to prom-client's registry only when it is scraped.
 *
 * The proxy observes two or three latencies per new connection (handshake, DNS, dial). prom-client's
 * `Histogram.observe` validates the label object, hashes it into a string key and looks the bucket
 * up by a number-keyed property each time (about 2% of the CPU of new connections in a profile);
 * here an observation is a Map lookup by the label value (none without a label), a short scan of
 * the bounds and three increments. The exposition is the same as prom-client's histogram
 * (`_bucket` lines with `le` first, then `_sum` and `_count`; a series without a label is shown
 * from the start, one with a label once observed), which the test compares line by line.
 */
import type { Registry } from 'prom-client'

interface Series {
  /** Observations per bucket (not cumulative); the last slot counts those above every bound. */
  readonly counts: Float64Array
  sum: number
}

export interface BucketHistogramOptions {
  readonly name: string
  readonly help: string
  /** Upper bounds, ascending. */
  readonly buckets: readonly number[]
  /** The one label's name, if any. */
  readonly labelName?: string
  readonly registers: readonly Registry[]
}

/** What prom-client's registry reads from a metric (`Registry.registerMetric`, `get()`). */
interface ExportedValue {
  readonly labels: Record<string, string | number>
  readonly value: number
  readonly metricName: string
}

export class BucketHistogram {
  readonly name: string
  readonly help: string
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  readonly #bounds: Float64Array
  readonly #labelName: string | undefined
  /** By label value ('' without a label), in the order first observed. */
  #series = new Map<string, Series>()

  constructor(options: BucketHistogramOptions) {
    this.name = options.name
    this.help = options.help
    this.#bounds = Float64Array.from(options.buckets)
    this.#labelName = options.labelName
    if (this.#labelName === undefined) this.#series.set('', this.#newSeries())
    for (const r of options.registers) r.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0])
  }

  #newSeries(): Series {
    return { counts: new Float64Array(this.#bounds.length + 1), sum: 0 }
  }

  /**
   * Counts one observation of `value` (seconds); `labelValue` for a histogram with a label. A value
   * that is not finite is dropped (prom-client throws: a metric must never end a connection).
   */
  observe(value: number, labelValue = ''): void {
    if (!Number.isFinite(value)) return
    let s = this.#series.get(labelValue)
    if (s === undefined) {
      s = this.#newSeries()
      this.#series.set(labelValue, s)
    }
    const bounds = this.#bounds
    let i = 0
    while (i < bounds.length && value > bounds[i]!) i++
    s.counts[i]!++
    s.sum += value
  }

  /** The series as prom-client's registry formats them (`Registry.metrics()`). */
  get(): Promise<{ name: string; help: string; type: string; values: ExportedValue[]; aggregator: string }> {
    const values: ExportedValue[] = []
    const bucket = `${this.name}_bucket`
    const label = this.#labelName
    for (const [labelValue, s] of this.#series) {
      const own: Record<string, string> = label === undefined ? {} : { [label]: labelValue }
      let cumulative = 0
      for (let i = 0; i < this.#bounds.length; i++) {
        cumulative += s.counts[i]!
        values.push({ labels: { le: this.#bounds[i]!, ...own }, value: cumulative, metricName: bucket })
      }
      cumulative += s.counts[this.#bounds.length]!
      values.push({ labels: { le: '+Inf', ...own }, value: cumulative, metricName: bucket })
      values.push({ labels: own, value: s.sum, metricName: `${this.name}_sum` })
      values.push({ labels: own, value: cumulative, metricName: `${this.name}_count` })
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator })
  }

  /** Forgets every observation (`Registry.resetMetrics()`). */
  reset(): void {
    this.#series = new Map()
    if (this.#labelName === undefined) this.#series.set('', this.#newSeries())
  }
}
