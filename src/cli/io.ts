/**
 * @module The command line's I/O, passed in so that commands run the same in-process (tests)
 * and as the real binary.
 */
import type { Readable } from 'node:stream'
import type { Diagnostic } from '../diagnostics/diagnostic.ts'
import type { SourceText } from '../diagnostics/render-diagnostic.ts'

export interface Io {
  readonly stdout: { write(text: string): unknown; readonly isTTY?: boolean; readonly columns?: number }
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean }
  readonly stdin: Readable
  /** The working directory paths are relative to. */
  readonly cwd: string
}

/** Exit codes (DESIGN.md §8). */
export const EXIT_OK = 0
/** The command ran and found a problem: a denied flow, a failing endpoint, a blocking rule. */
export const EXIT_PROBLEM = 1
/** Bad usage or bad input. */
export const EXIT_USAGE = 2

/** Thrown by argument parsing for bad usage; main prints it and exits 2. */
export class UsageError extends Error {
  readonly code = 'ERR_USAGE'
  readonly fix: string | undefined
  constructor(message: string, fix?: string) {
    super(message)
    this.name = 'UsageError'
    this.fix = fix
  }
}

/** Thrown for bad input found as diagnostics (a bad profile, a bad flow); main renders them and exits 2. */
export class InputError extends Error {
  readonly code = 'ERR_INPUT'
  readonly diagnostics: readonly Diagnostic[]
  readonly sources: ReadonlyMap<string, SourceText> | undefined
  constructor(diagnostics: readonly Diagnostic[], sources?: ReadonlyMap<string, SourceText>) {
    super(diagnostics.map((d) => d.message).join('; '))
    this.name = 'InputError'
    this.diagnostics = diagnostics
    this.sources = sources
  }
}
