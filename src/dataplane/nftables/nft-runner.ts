/**
 * @module Running `nft -f -`: the one way aks-egress changes the kernel's rules. Every change (a
 * whole ruleset, a batch of learned addresses, the cleanup) is one `nft -f` transaction, and the
 * runs are serialised so that a batch of set updates never interleaves with a table replacement.
 */
import { spawn } from 'node:child_process'

export class NftApplyError extends Error {
  readonly code = 'ERR_NFT_APPLY'
  readonly stderr: string
  constructor(message: string, stderr: string) {
    super(`${message}${stderr.length > 0 ? `: ${stderr.trim().split('\n').slice(0, 6).join(' | ')}` : ''}`)
    this.name = 'NftApplyError'
    this.stderr = stderr
  }
}

export interface NftRunner {
  /** Applies one `nft -f` file as one transaction. Rejects with NftApplyError. */
  apply(text: string): Promise<void>
}

/** The most stderr kept from a failing nft run. */
const MAX_STDERR_BYTES = 64 * 1024
/** A run that takes longer is killed: nft applies 10,000 rules in well under a second. */
export const NFT_TIMEOUT_MS = 60_000

/**
 * Runs `nft -f -` (or `[...prefix, 'nft', ...]`, e.g. `ip netns exec NS`), feeding the text on
 * standard input. `check: true` adds `-c` (parse and check against the kernel, change nothing).
 */
export function nftCommand(options: { readonly prefix?: readonly string[]; readonly check?: boolean; readonly nft?: string } = {}): NftRunner {
  const argv = [...(options.prefix ?? []), options.nft ?? 'nft', ...(options.check === true ? ['-c'] : []), '-f', '-']
  return {
    apply(text: string): Promise<void> {
      return new Promise((resolve, reject) => {
        const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'ignore', 'pipe'] })
        let stderr = ''
        const timer = setTimeout(() => child.kill('SIGKILL'), NFT_TIMEOUT_MS)
        child.stderr.setEncoding('utf8')
        child.stderr.on('data', (chunk: string) => {
          if (stderr.length < MAX_STDERR_BYTES) stderr += chunk
        })
        child.on('error', (e) => {
          clearTimeout(timer)
          reject(new NftApplyError(`cannot run ${argv.join(' ')}: ${e.message}`, ''))
        })
        child.on('close', (code, signal) => {
          clearTimeout(timer)
          if (code === 0) resolve()
          else reject(new NftApplyError(`${argv.join(' ')} failed (${signal ?? `exit ${code ?? '?'}`})`, stderr))
        })
        child.stdin.on('error', () => undefined)
        child.stdin.end(text)
      })
    },
  }
}

/** Serialises the runs of a runner: each apply starts when the one before it has ended. */
export class NftQueue implements NftRunner {
  readonly #runner: NftRunner
  #tail: Promise<unknown> = Promise.resolve()

  constructor(runner: NftRunner) {
    this.#runner = runner
  }

  apply(text: string): Promise<void> {
    const run = this.#tail.then(
      () => this.#runner.apply(text),
      () => this.#runner.apply(text),
    )
    this.#tail = run.catch(() => undefined)
    return run
  }

  /** Resolves when every run queued so far has ended. */
  async idle(): Promise<void> {
    await this.#tail
  }
}
