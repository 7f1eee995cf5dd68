// Runs the command line from the TypeScript sources, for e2e tests that need `serve` as its own
// process (signals, file descriptors): the same main() as bin/aks-egress.js, without a build.
import { main } from '../../../src/cli/main.ts'

process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, cwd: process.cwd() })
