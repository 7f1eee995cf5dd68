#!/usr/bin/env node
// Runs the test suites with node:test (TypeScript through tsx). Node 20's `--test` does not expand
// globs, so this script finds the files.
//
//   node scripts/run-tests.mjs            every suite
//   node scripts/run-tests.mjs unit       unit and property tests (src/**/*.test.ts, test/unit/**,
//                                         test/conformance/**)
//   node scripts/run-tests.mjs e2e        tests with real sockets and processes (test/e2e/**)
//   node scripts/run-tests.mjs FILE...    the given files
//
// The proxy's end-to-end tests (test/e2e/proxy/) run a second time with the other socket layer,
// `net.Socket` (AKS_EGRESS_SOCKET_LAYER=node; the default is LiteSocket, docs/serve.md), so that
// the fallback `serve` takes on a Node without the TCP handle API stays tested. Setting
// AKS_EGRESS_SOCKET_LAYER yourself runs one pass with that layer.
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { availableParallelism } from 'node:os'

const root = new URL('..', import.meta.url).pathname

function find(dir, out = []) {
  let names
  try {
    names = readdirSync(dir)
  } catch {
    return out
  }
  for (const name of names.sort()) {
    if (name === 'node_modules' || name.startsWith('.')) continue
    const p = join(dir, name)
    if (statSync(p).isDirectory()) find(p, out)
    else if (name.endsWith('.test.ts')) out.push(relative(root, p))
  }
  return out
}

const suites = {
  unit: () => [...find(join(root, 'src')), ...find(join(root, 'test/unit')), ...find(join(root, 'test/conformance'))],
  e2e: () => find(join(root, 'test/e2e')),
}
const args = process.argv.slice(2)
let files
if (args.length === 0) files = [...suites.unit(), ...suites.e2e()]
else if (args.every((a) => a in suites)) files = args.flatMap((a) => suites[a]())
else files = args

if (files.length === 0) {
  console.error('run-tests: no test files found')
  process.exit(2)
}
function run(list, env) {
  return spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', `--test-concurrency=${Math.max(2, availableParallelism())}`, '--test-reporter=spec', ...list],
    { stdio: 'inherit', cwd: root, env },
  ).status ?? 1
}

let status = run(files, process.env)
const proxyE2e = files.filter((f) => f.startsWith('test/e2e/proxy/'))
if (proxyE2e.length > 0 && process.env.AKS_EGRESS_SOCKET_LAYER === undefined) {
  console.log(`\nrun-tests: ${proxyE2e.length} proxy end-to-end file(s) again with the net.Socket layer (AKS_EGRESS_SOCKET_LAYER=node)`)
  const second = run(proxyE2e, { ...process.env, AKS_EGRESS_SOCKET_LAYER: 'node' })
  if (status === 0) status = second
}
process.exit(status)
