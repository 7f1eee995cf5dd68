/**
 * @module Opening `serve --log FILE` before anything listens: a path that cannot be written is a
 * start-up error with the reason, not a crash after the listeners are up (sonic-boom opened the
 * file asynchronously and emitted an 'error' nobody handled).
 *
 * Missing parent directories are made one by one from the nearest one that exists, not with
 * `mkdir(..., { recursive: true })`: Node's recursive mkdir never ends where mkdir(2) answers
 * ENOENT under a directory that exists (procfs, sysfs: `--log /proc/x/y.log` spun the process at
 * full CPU). The walk is bounded by the path's depth.
 *
 * The file is opened for appending (a restart continues the log; O_APPEND keeps lines whole when a
 * rotation tool copies and truncates), created 0640: decision lines name clients and destinations.
 */
import { mkdirSync, openSync, statSync } from 'node:fs'
import { dirname } from 'node:path'

export type OpenLogFileResult = { readonly ok: true; readonly fd: number } | { readonly ok: false; readonly detail: string }

/** Decision lines name clients and destinations: owner and group only. */
export const LOG_FILE_MODE = 0o640

function reason(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code
    return code !== undefined ? `${code}: ${e.message.replace(/^\w+: /, '').replace(/, \w+ '.*'$/, '')}` : e.message
  }
  return String(e)
}

/** Opens `path` (absolute) for appending, making its missing parent directories. */
export function openLogFile(path: string): OpenLogFileResult {
  const missing: string[] = []
  let dir = dirname(path)
  for (;;) {
    try {
      if (!statSync(dir).isDirectory()) return { ok: false, detail: `${dir} is not a directory` }
      break
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return { ok: false, detail: `${dir}: ${reason(e)}` }
      const parent = dirname(dir)
      if (parent === dir) return { ok: false, detail: `${dir}: ${reason(e)}` }
      missing.push(dir)
      dir = parent
    }
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d, 0o750)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return { ok: false, detail: `cannot make the directory ${d}: ${reason(e)}` }
    }
  }
  // A FIFO or a device (/dev/stderr) is a fair destination; a directory fails here (EISDIR).
  try {
    return { ok: true, fd: openSync(path, 'a', LOG_FILE_MODE) }
  } catch (e) {
    // The caller names the path.
    return { ok: false, detail: reason(e) }
  }
}
