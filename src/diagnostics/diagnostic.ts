/**
 * @module Diagnostics: problems in user input, as data (style-anchors §8.3). Never thrown;
 * collected, so one run reports every problem. A byte span is the truth; line and column are
 * derived when rendering.
 */
import { DIAGNOSTIC_CODES, type DiagnosticCode } from './codes.ts'

export type Severity = 'error' | 'warning'

export interface Span {
  readonly start: number
  readonly end: number
}

export interface Diagnostic {
  readonly code: DiagnosticCode
  readonly severity: Severity
  /** What is wrong, in the active voice, values quoted, no final period. */
  readonly message: string
  /** The file it is in; absent for command-line input. */
  readonly file?: string
  readonly span?: Span
  /** Where in the document: `['ruleCollectionGroups', 0, 'name']`. */
  readonly path?: readonly (string | number)[]
  /** The fix: what to write instead, or what to do. */
  readonly fix?: string
}

export interface DiagnosticInit {
  readonly message: string
  readonly file?: string | undefined
  readonly span?: Span | undefined
  readonly path?: readonly (string | number)[] | undefined
  readonly fix?: string | undefined
  readonly severity?: Severity | undefined
}

/** Builds a diagnostic; the severity defaults to the code's registered one. */
export function diagnostic(code: DiagnosticCode, init: DiagnosticInit): Diagnostic {
  return {
    code,
    severity: init.severity ?? DIAGNOSTIC_CODES[code].severity,
    message: init.message,
    ...(init.file === undefined ? {} : { file: init.file }),
    ...(init.span === undefined ? {} : { span: init.span }),
    ...(init.path === undefined ? {} : { path: init.path }),
    ...(init.fix === undefined ? {} : { fix: init.fix }),
  }
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error')
}
