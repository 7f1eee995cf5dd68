// Starts test/support/supervised-child.ts as bin/aks-egress.js starts `serve` (serve-node-flags.ts).
import { runWithNodeFlags, SERVE_NODE_FLAGS } from '../../src/cli/serve-node-flags.ts'

process.exitCode = await runWithNodeFlags(SERVE_NODE_FLAGS, new URL('./supervised-child.ts', import.meta.url).pathname, process.argv.slice(2))
