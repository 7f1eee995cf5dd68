#!/usr/bin/env node
// The aks-egress command. Runs the compiled code in dist/ ("npm run build" makes it).
import { existsSync } from 'node:fs'

const entry = new URL('../dist/cli/main.js', import.meta.url)
if (!existsSync(entry)) {
  process.stderr.write('aks-egress: dist/ is missing; run "npm run build" in the package folder first\n')
  process.exit(2)
}
const { main } = await import(entry.href)
const code = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  cwd: process.cwd(),
})
process.exitCode = code
