// Runs the command line in-process with captured output, as the binary would run it.
import { Readable } from 'node:stream'
import { main } from '../../src/cli/main.ts'
import type { Io } from '../../src/cli/io.ts'

export interface CliResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

export const FIXTURES = new URL('../fixtures/', import.meta.url).pathname

export async function runCli(argv: readonly string[], options: { cwd?: string; stdin?: string; isTTY?: boolean } = {}): Promise<CliResult> {
  let stdout = ''
  let stderr = ''
  const io: Io = {
    stdout: { write: (t: string) => (stdout += t), isTTY: options.isTTY ?? false, columns: 200 },
    stderr: { write: (t: string) => (stderr += t), isTTY: options.isTTY ?? false },
    stdin: Readable.from(options.stdin === undefined ? [] : [options.stdin]),
    cwd: options.cwd ?? FIXTURES,
  }
  const code = await main(argv, io)
  return { code, stdout, stderr }
}
