#!/usr/bin/env node
// The aks-egress command. Runs the compiled code in dist/ ("npm run build" makes it).
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const entry = new URL('../dist/cli/main.js', import.meta.url)
if (!existsSync(entry)) {
  process.stderr.write('aks-egress: dist/ is missing; run "npm run build" in the package folder first\n')
  process.exit(2)
}
const args = process.argv.slice(2)
// `serve` runs with V8 flags that take effect only at start: started again with them (src/cli/serve-node-flags.ts).
const { missingServeFlags, runWithNodeFlags } = await import(new URL('../dist/cli/serve-node-flags.js', import.meta.url).href)
const flags = missingServeFlags(args, process.execArgv, process.env)
if (flags.length > 0) {
  process.exitCode = await runWithNodeFlags(flags, fileURLToPath(import.meta.url), args)
} else {
  const { main } = await import(entry.href)
  process.exitCode = await main(args, {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    cwd: process.cwd(),
  })
}
