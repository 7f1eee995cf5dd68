/**
 * The diagnostic fixtures of test/fixtures/diagnostics (see its README.md): finding them and
 * running them. Shared by the test (fixtures.test.ts), which compares, and by
 * scripts/accept-diagnostics.ts (`npm run golden:accept`), which rewrites the expected files.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { main } from '../../../src/cli/main.ts'
import type { Io } from '../../../src/cli/io.ts'
import { loadPolicyText } from '../../../src/config/load-policy.ts'
import { renderDiagnostics } from '../../../src/diagnostics/render-diagnostic.ts'

export const FIXTURE_DIR = fileURLToPath(new URL('../../fixtures/diagnostics/', import.meta.url))

/** The name policy fixtures are loaded under, so that the rendered text does not depend on the fixture's file name. */
export const POLICY_NAME = 'policy.yaml'

export interface Fixture {
  /** The file name without its input extension: `REGION_UNKNOWN.cli`. */
  readonly name: string
  /** The code it is named after: the part of the name before the first dot. */
  readonly code: string
  readonly kind: 'policy' | 'cli'
  /** The input file, relative to FIXTURE_DIR. */
  readonly input: string
}

export interface FixtureOutput {
  /** The rendered diagnostics (policy fixtures) or the CLI's standard error. */
  readonly text: string
  /** The CLI's exit code; undefined for policy fixtures. */
  readonly exitCode?: number
  /** The codes in the output, in order. */
  readonly codes: readonly string[]
}

/** Every fixture, sorted by name. */
export function listFixtures(): Fixture[] {
  const out: Fixture[] = []
  for (const file of readdirSync(FIXTURE_DIR).sort()) {
    const kind = file.endsWith('.yaml') ? 'policy' : file.endsWith('.args') ? 'cli' : undefined
    if (kind === undefined) continue
    const name = file.slice(0, file.lastIndexOf('.'))
    out.push({ name, code: name.split('.')[0] ?? name, kind, input: file })
  }
  return out
}

export function expectedTextPath(f: Fixture): string {
  return `${FIXTURE_DIR}${f.name}.expected.txt`
}

export function expectedExitPath(f: Fixture): string {
  return `${FIXTURE_DIR}${f.name}.exit`
}

/** The arguments of an args file: one per line; the last line break ends the last argument. */
export function readArgs(text: string): string[] {
  const body = text.endsWith('\n') ? text.slice(0, -1) : text
  return body === '' ? [] : body.split('\n')
}

const CODE_IN_TEXT = /^(?:\S+ - )?(?:error|warning) ([A-Z][A-Z0-9_]*):/gm

/** The codes rendered in a text, in order (the head line of each diagnostic). */
export function codesIn(text: string): string[] {
  return [...text.matchAll(CODE_IN_TEXT)].map((m) => m[1] ?? '')
}

/** Runs a fixture: no file is written, no network is used. */
export async function runFixture(f: Fixture): Promise<FixtureOutput> {
  const input = readFileSync(`${FIXTURE_DIR}${f.input}`, 'utf8')
  if (f.kind === 'policy') {
    const loaded = loadPolicyText(input, POLICY_NAME)
    const sources = new Map(loaded.source ? [[POLICY_NAME, loaded.source]] : [])
    return { text: `${renderDiagnostics(loaded.diagnostics, sources)}\n`, codes: loaded.diagnostics.map((d) => d.code) }
  }
  let stderr = ''
  const io: Io = {
    // Standard output is the command's result (a table, a policy), not a diagnostic.
    stdout: { write: () => true },
    stderr: { write: (t: string) => (stderr += t) },
    stdin: Readable.from([]),
    cwd: FIXTURE_DIR,
  }
  const exitCode = await main(readArgs(input), io)
  return { text: stderr, exitCode, codes: codesIn(stderr) }
}
