// The shared idle sweep: an entry with no activity is timed out once the bound has passed (not
// before, at most 1/IDLE_SWEEP_TICKS of it late), activity postpones it, removed entries are never
// called, and the timer runs while entries are watched, stopping at the first sweep that finds
// none (not at once: entries come and go with nearly every connection at low load).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { IDLE_SWEEP_TICKS, IdleEntry, IdleSweep, idleSweep } from './idle-sweep.ts'

class Probe extends IdleEntry {
  idleAt: number | undefined
  calls = 0
  onIdle(): void {
    this.calls++
    this.idleAt = performance.now()
  }
}

async function until(check: () => boolean, limitMs: number): Promise<void> {
  const end = performance.now() + limitMs
  while (!check() && performance.now() < end) await sleep(5)
}

test('an idle entry is timed out after the bound, at most one sweep interval late', async () => {
  const sweep = new IdleSweep(200)
  assert.equal(sweep.intervalMs, Math.ceil(200 / IDLE_SWEEP_TICKS))
  const e = new Probe()
  const t0 = performance.now()
  sweep.add(e)
  await until(() => e.calls > 0, 2000)
  assert.equal(e.calls, 1)
  const after = e.idleAt! - t0
  // Timers may fire a little early or late by the event loop's clock granularity.
  assert.ok(after >= 200 - 5, `timed out after ${after.toFixed(0)} ms`)
  assert.ok(after < 200 + sweep.intervalMs + 150, `timed out after ${after.toFixed(0)} ms`)
  assert.equal(sweep.size, 0)
  // Stopped at the next sweep, which finds it empty.
  await until(() => !sweep.running, sweep.intervalMs * 3 + 150)
  assert.equal(sweep.running, false)
})

test('activity postpones the timeout; it comes a bound after the last activity', async () => {
  const sweep = new IdleSweep(120)
  const e = new Probe()
  sweep.add(e)
  let last = performance.now()
  for (let i = 0; i < 10; i++) {
    await sleep(40)
    e.active = true
    last = performance.now()
  }
  assert.equal(e.calls, 0, 'timed out although active every 40 ms')
  await until(() => e.calls > 0, 2000)
  const after = e.idleAt! - last
  assert.ok(after >= 120 - 5 && after < 120 + sweep.intervalMs + 150, `timed out ${after.toFixed(0)} ms after the last activity`)
})

test('removed entries are never called; the timer stops at the first sweep after the last one went', async () => {
  const sweep = new IdleSweep(60)
  const entries = Array.from({ length: 50 }, () => new Probe())
  for (const e of entries) sweep.add(e)
  sweep.add(entries[0]!) // a second add does nothing
  assert.equal(sweep.size, 50)
  assert.equal(sweep.running, true)
  // Remove every other one, from the head, the middle and the tail of the list.
  for (let i = 0; i < 50; i += 2) sweep.remove(entries[i]!)
  sweep.remove(entries[0]!) // a second remove does nothing
  assert.equal(sweep.size, 25)
  await until(() => sweep.size === 0, 2000)
  for (let i = 0; i < 50; i++) assert.equal(entries[i]!.calls, i % 2 === 0 ? 0 : 1, `entry ${i}`)
  await until(() => !sweep.running, sweep.intervalMs * 3 + 150)
  assert.equal(sweep.running, false)
  // Watched again after a timeout: counts from the new add. An entry that comes and goes leaves
  // the timer set (no timer made and cleared per entry) until the next sweep finds the list empty.
  const e = entries[1]!
  sweep.add(e)
  assert.equal(sweep.running, true)
  sweep.remove(e)
  sweep.add(e)
  sweep.remove(e)
  assert.equal(sweep.running, true)
  await until(() => !sweep.running, sweep.intervalMs * 3 + 150)
  assert.equal(sweep.running, false)
  assert.equal(e.calls, 1, 'a removed entry is not timed out')
})

test('one sweep per bound, shared by every caller', () => {
  assert.equal(idleSweep(1234), idleSweep(1234))
  assert.notEqual(idleSweep(1234), idleSweep(4321))
})
