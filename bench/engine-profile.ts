/**
 * @module A profiling driver for the engine (not a suite): builds the benchmark policy and flow
 * mix of one size, then compiles it `COMPILES` times and decides flows for `SECONDS`, so that a
 * CPU profile shows where time goes:
 *
 *   npm run build && node --cpu-prof --cpu-prof-dir=.tmp/prof --import tsx bench/engine-profile.ts 100000 [SECONDS] [COMPILES]
 *
 * Open the .cpuprofile in Chrome DevTools (Performance) or any speedscope-like viewer.
 */
import type * as CompilePolicy from '../src/policy/compile-policy.ts'
import { generateFlows, inDecisionOrder } from './engine-flows.ts'
import { generatePolicy } from './engine-policy.ts'

const size = Number(process.argv[2] ?? 100000)
const seconds = Number(process.argv[3] ?? 5)
const compiles = Number(process.argv[4] ?? 3)
const { compilePolicy } = (await import(new URL('../dist/policy/compile-policy.js', import.meta.url).href)) as typeof CompilePolicy
const gen = generatePolicy(size)
let engine = compilePolicy(gen.policy)
for (let i = 1; i < compiles; i++) engine = compilePolicy(gen.policy)
// Laid out in decision order, as the suite times them (see inDecisionOrder).
const flows = inDecisionOrder(generateFlows(gen, 1 << 16).map((f) => f.flow))
const t0 = performance.now()
const c0 = process.cpuUsage()
let n = 0
let sink = 0
while (performance.now() - t0 < seconds * 1000) {
  for (const f of flows) sink += engine.decide(f).code.length
  n += flows.length
}
const ms = performance.now() - t0
const c = process.cpuUsage(c0)
const cpuMs = (c.user + c.system) / 1000
const rate = (per: number): string => Math.round((n / per) * 1000).toLocaleString('en-US')
process.stderr.write(`size ${size}: ${rate(ms)} decisions/s wall, ${rate(cpuMs)} per CPU-second, over ${(ms / 1000).toFixed(1)} s (checksum ${sink})\n`)
