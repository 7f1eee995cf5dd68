/**
 * @module `serve` runs with a larger young generation than Node's default: V8 flags that only take
 * effect when the process starts, so the `aks-egress` binary starts `serve` again as a child with
 * them when they are not given already (bin/aks-egress.js; docs/serve.md, "Operations").
 *
 * Why: every new connection allocates two sockets with their stream states, listeners and
 * closures that live for the connection's few milliseconds; with hundreds of connections in
 * flight, Node's default semi-space (at most 16 MiB) fills quickly, and each scavenge copies the
 * live ones (on helper threads too, whose CPU counts as much). A 32 MiB semi-space measured about
 * 20% less proxy CPU per new connection, as much as 64 MiB (docs/benchmarks.md); the young
 * generation may then take up to 64 MiB (two semi-spaces) more memory under load.
 *
 * The parent stays as a thin supervisor: it forwards SIGTERM, SIGINT and SIGHUP, and leaves with
 * the child's exit code (or its signal). The child stops (draining, as on SIGTERM) when the parent
 * goes away, through the IPC channel closing, so that a killed parent never leaves a proxy behind
 * holding the ports. Setting AKS_EGRESS_NO_REEXEC runs `serve` in the process as it is.
 */
import { spawn } from 'node:child_process'
import { constants } from 'node:os'

/** The V8 flags `serve` runs with. */
export const SERVE_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=32']

/** In the environment: run `serve` in this process (set in the child, so it does not start again). */
export const NO_REEXEC_ENV = 'AKS_EGRESS_NO_REEXEC'

const FORWARDED: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP']

/** `--max_semi_space_size=8` and `--max-semi-space-size 8` name the same flag. */
function flagName(arg: string): string {
  return arg.split('=')[0]!.replace(/_/g, '-')
}

/**
 * The flags of SERVE_NODE_FLAGS this process was not started with, when `args` (the command line
 * after the script) runs `serve`; none for other commands, or when NO_REEXEC_ENV is set.
 */
export function missingServeFlags(args: readonly string[], execArgv: readonly string[], env: NodeJS.ProcessEnv): string[] {
  if (args[0] !== 'serve' || env[NO_REEXEC_ENV] !== undefined) return []
  const given = new Set([...execArgv, ...(env['NODE_OPTIONS'] ?? '').split(/\s+/)].map(flagName))
  return SERVE_NODE_FLAGS.filter((f) => !given.has(flagName(f)))
}

/**
 * Runs `script args` again in a child Node with `flags` before this process's own, forwarding
 * signals; resolves with the exit code to leave with (a child ended by a signal: 128 + its number).
 */
export function runWithNodeFlags(flags: readonly string[], script: string, args: readonly string[]): Promise<number> {
  const child = spawn(process.execPath, [...flags, ...process.execArgv, script, ...args], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, [NO_REEXEC_ENV]: '1' },
  })
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal)
  }
  for (const s of FORWARDED) process.on(s, forward)
  return new Promise((resolve) => {
    const done = (code: number): void => {
      for (const s of FORWARDED) process.removeListener(s, forward)
      resolve(code)
    }
    child.once('error', () => {
      done(1)
    })
    child.once('exit', (code, signal) => {
      done(code ?? (signal ? 128 + constants.signals[signal] : 1))
    })
  })
}

/**
 * In the child: stops it when the parent is gone (its IPC channel closed), by the same path as a
 * SIGTERM; the channel does not keep the process alive. Nothing without a channel.
 */
export function stopWhenParentGoes(): void {
  if (process.env[NO_REEXEC_ENV] === undefined || !process.channel) return
  process.channel.unref()
  process.once('disconnect', () => {
    process.kill(process.pid, 'SIGTERM')
  })
}
