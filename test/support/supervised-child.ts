// The child of serve-node-flags.test.ts: reports its Node flags and its parent's pid, stops as
// `serve` does (SIGTERM, or the parent gone), writing what stopped it to the file in argv[2].
import { writeFileSync } from 'node:fs'
import { stopWhenParentGoes } from '../../src/cli/serve-node-flags.ts'

const out = process.argv[2]!
process.on('SIGTERM', () => {
  writeFileSync(out, 'SIGTERM')
  process.exit(7)
})
stopWhenParentGoes()
process.stdout.write(`${JSON.stringify({ execArgv: process.execArgv, ppid: process.ppid })}\n`)
setInterval(() => undefined, 1000)
