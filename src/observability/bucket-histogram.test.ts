import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Histogram, Registry } from 'prom-client'
import { BucketHistogram } from './bucket-histogram.ts'

const BUCKETS = [0.001, 0.01, 0.1, 1]
const VALUES = [0, 0.0005, 0.001, 0.002, 0.01, 0.05, 0.5, 1, 3, 1e9]

/** The same observations through prom-client's Histogram and through BucketHistogram: the same text. */
async function both(labelName: string | undefined, observe: (o: (value: number, label?: string) => void) => void): Promise<[string, string]> {
  const theirs = new Registry()
  const reference = new Histogram({ name: 'h_seconds', help: 'a latency', buckets: BUCKETS, ...(labelName ? { labelNames: [labelName] } : {}), registers: [theirs] })
  const ours = new Registry()
  const h = new BucketHistogram({ name: 'h_seconds', help: 'a latency', buckets: BUCKETS, ...(labelName ? { labelName } : {}), registers: [ours] })
  observe((value, label) => {
    if (labelName !== undefined) reference.observe({ [labelName]: label ?? '' }, value)
    else reference.observe(value)
    h.observe(value, label)
  })
  return [await ours.metrics(), await theirs.metrics()]
}

test('without a label: the exposition is prom-client histogram\'s, before and after observations', async () => {
  const [emptyOurs, emptyTheirs] = await both(undefined, () => {})
  assert.equal(emptyOurs, emptyTheirs)
  const [ours, theirs] = await both(undefined, (o) => {
    for (const v of VALUES) o(v)
  })
  assert.equal(ours, theirs)
  assert.match(ours, /^h_seconds_bucket\{le="\+Inf"\} 10$/m)
})

test('with a label: one series per value, in the order first seen, as prom-client shows them', async () => {
  const [emptyOurs, emptyTheirs] = await both('listener', () => {})
  assert.equal(emptyOurs, emptyTheirs)
  const [ours, theirs] = await both('listener', (o) => {
    for (const v of VALUES) o(v, 'explicit')
    o(0.02, 'tls:443')
    o(0.2, 'explicit')
  })
  assert.equal(ours, theirs)
  assert.match(ours, /^h_seconds_bucket\{le="0.1",listener="tls:443"\} 1$/m)
  assert.match(ours, /^h_seconds_count\{listener="explicit"\} 11$/m)
})

test('values that are not finite are dropped; reset forgets everything', async () => {
  const r = new Registry()
  const h = new BucketHistogram({ name: 'h_seconds', help: 'a latency', buckets: BUCKETS, registers: [r] })
  h.observe(Number.NaN)
  h.observe(Number.POSITIVE_INFINITY)
  h.observe(0.5)
  assert.match(await r.metrics(), /^h_seconds_count 1$/m)
  r.resetMetrics()
  assert.match(await r.metrics(), /^h_seconds_count 0$/m)
})
