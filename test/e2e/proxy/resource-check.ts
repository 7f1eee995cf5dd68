// Leak checks for tests that run the proxy in their own process: the active handles and timers
// (process.getActiveResourcesInfo, which lists the timers that keep the process alive: the
// idle sweeps' unref'd interval is not among them) before the test's connections, and after they
// all closed.
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'

export type ResourceBaseline = Readonly<Record<string, number>>

function counts(): Record<string, number> {
  const c: Record<string, number> = {}
  for (const r of process.getActiveResourcesInfo()) c[r] = (c[r] ?? 0) + 1
  return c
}

/** The resources in use now, after a short settle (call before the test opens its connections). */
export async function resourceBaseline(): Promise<ResourceBaseline> {
  await sleep(100)
  return counts()
}

/**
 * Asserts that every TCP socket and server the test's connections used has closed (waiting up to
 * 2 s for the last closes) and that no timer is left.
 */
export async function assertResourcesBack(before: ResourceBaseline): Promise<void> {
  let after = counts()
  for (let i = 0; i < 40 && (after['TCPSocketWrap'] ?? 0) > (before['TCPSocketWrap'] ?? 0); i++) {
    await sleep(50)
    after = counts()
  }
  const detail = JSON.stringify({ before, after })
  assert.equal(after['TCPSocketWrap'] ?? 0, before['TCPSocketWrap'] ?? 0, detail)
  assert.equal(after['TCPServerWrap'] ?? 0, before['TCPServerWrap'] ?? 0, detail)
  assert.ok((after['Timeout'] ?? 0) <= (before['Timeout'] ?? 0), detail)
}
