/**
 * @module The decision log (pino, one JSON object per line): a `decision` line per connection (per
 * request on a kept-alive plain-HTTP connection) and a `close` line when it ends, as smokescreen's CANONICAL-PROXY-DECISION and -CN-CLOSE do; plus
 * `serve` events (startup, reload, drain). docs/logging.md maps the fields to Azure Firewall's
 * AZFWApplicationRule columns.
 */
import { closeSync } from 'node:fs'
import { pino, type DestinationStream, type Logger } from 'pino'
import sonicBoom from 'sonic-boom'
import { dnsLogLine, type DnsQueryLog } from '../dns/dns-log.ts'
import { LOG_FILE_MODE, openLogFile } from './open-log-file.ts'
import type { OutcomeCode } from './outcome.ts'

/** The fields of a decision line (docs/logging.md). */
export interface DecisionRecord {
  readonly conn: number
  /** `explicit`, `tls:PORT` or `http:PORT` (the original port of a transparent listener). */
  readonly listener: string
  /** True on the explicit proxy (Azure: IsExplicitProxyRequest). */
  readonly explicit: boolean
  readonly srcIp: string
  readonly srcPort: number
  /** `https`, `http`, `tcp` (a CONNECT no application rule can match), or `unknown` before the first bytes. */
  readonly protocol: 'https' | 'http' | 'tcp' | 'unknown'
  /** The name or address asked for: the CONNECT host, the Host or the SNI. */
  readonly host: string | null
  readonly port: number | null
  /** The ClientHello's server_name; null when absent, undefined when no ClientHello was read. */
  readonly sni?: string | null
  readonly alpn?: readonly string[]
  /** HTTP: the method and the target URL. */
  readonly method?: string
  readonly url?: string
  readonly action: 'allow' | 'deny'
  readonly rule: string | null
  readonly code: OutcomeCode
  readonly reason: string
  readonly wouldDeny: boolean
  /** The address dialled (`ip:port`), when one was. */
  readonly upstream?: string
  /** Plain HTTP: the request's number on its client connection (1, 2, ... with keep-alive). */
  readonly request?: number
  /** Plain HTTP: the origin connection was reused from the pool (no new connect). */
  readonly reused?: boolean
  readonly handshakeMs?: number
  readonly dnsMs?: number
  readonly connectMs?: number
}

/**
 * Why a connection ended (the close line's `end`): `closed` both sides closed (plain HTTP: the
 * client did, or the proxy after a last response or a denial); `idle` nothing moved for
 * `--idle-timeout-ms` (a tunnel), or no next request came within `--keep-alive-idle-timeout-ms`
 * (plain HTTP); `error` a socket error on either side; `stop` still open at the drain bound of a
 * stop, and closed by it.
 */
export type CloseEnd = 'closed' | 'idle' | 'error' | 'stop'

export interface CloseRecord {
  readonly conn: number
  /** Bytes sent to the origin (client → origin, the replayed ClientHello or request head included). */
  readonly bytesUp: number
  /** Bytes received from the origin. */
  readonly bytesDown: number
  readonly durationMs: number
  readonly end: CloseEnd
  /** Plain HTTP: requests read on the connection. */
  readonly requests?: number
}

export interface ConnectionLog {
  readonly logger: Logger
  decision(record: DecisionRecord): void
  close(record: CloseRecord): void
  /** A DNS query line (the appliance's DNS proxy), written as dns/dns-log.ts `dnsLogLine` serialises it. */
  dns(record: DnsQueryLog): void
  /**
   * Writes what is buffered, waiting at most `boundMs`: a destination that fails (a full disk) or
   * does not read (a stalled pipe) cannot hold up a stop. sonic-boom's own `flushSync` retries a
   * failing write forever (4.2: every error but EAGAIN/EBUSY, every 100 ms).
   */
  flush(boundMs?: number): Promise<void>
  /**
   * A `file` destination: opens its path again and writes the next lines there (logrotate's
   * `create` mode: the file was renamed, `serve` is sent SIGHUP). Lines already written stay in
   * the old file, and so does a write in flight (with the lines batched into it); then the old
   * descriptor is closed and the next batch goes to the new file: no line lost, doubled or
   * reordered. Nothing happens for standard output or a stream. When the path
   * cannot be opened, nothing changes and the lines go on to the old file.
   */
  reopen(): { readonly ok: true } | { readonly ok: false; readonly detail: string }
  /** Writes to the destination that failed, since start (their bytes are kept and written again). */
  readonly writeErrors: number
  /** Lines dropped because LOG_MAX_BUFFERED_BYTES were waiting already. */
  readonly droppedLines: number
}

/**
 * Where the lines go. `file`: a descriptor opened for appending (open-log-file.ts: `serve` opens
 * it before anything listens), `path` for messages.
 */
export type LogDestination =
  | { readonly kind: 'stdout' }
  | { readonly kind: 'file'; readonly fd: number; readonly path: string }
  | { readonly kind: 'stream'; readonly stream: DestinationStream }

/**
 * Told when writing the log fails (a full disk, an I/O error), once until a write succeeds again:
 * the proxy goes on enforcing the policy while lines wait (LOG_MAX_BUFFERED_BYTES) or are dropped,
 * so it must be said.
 */
export type LogWriteErrorHandler = (error: Error, destination: string) => void

/**
 * Lines are gathered up to this many bytes before a write(2) (sonic-boom `minLength`), and written
 * about this long after the first of them came: under load one write per few dozen lines instead
 * of one per line, each a trip through libuv's thread pool (the DNS proxy writes a line per
 * query); at rest a line waits about LOG_FLUSH_MS, and nothing is written when nothing was logged. A stop writes what is left (`flush()`, bounded by LOG_FLUSH_BOUND_MS); a crash
 * (SIGKILL) loses at most the last LOG_BUFFER_BYTES (or what waits for a failing destination).
 */
export const LOG_BUFFER_BYTES = 4096
export const LOG_FLUSH_MS = 100
/**
 * While writes fail (a full disk), lines wait in memory up to this many bytes and are written when
 * the destination accepts them again; lines beyond it are dropped (and counted), not held without
 * bound.
 */
export const LOG_MAX_BUFFERED_BYTES = 16 * 1024 * 1024
/** How long a stop waits for the log to be written (`flush()`). */
export const LOG_FLUSH_BOUND_MS = 2000

const round = (ms: number | undefined): number | undefined => (ms === undefined ? undefined : Math.round(ms * 1000) / 1000)

export function createConnectionLog(destination: LogDestination, level = 'info', onWriteError?: LogWriteErrorHandler): ConnectionLog {
  let stream: DestinationStream
  let flush: (boundMs: number) => Promise<void> = () => Promise.resolve()
  let reopen: ConnectionLog['reopen'] = () => ({ ok: true })
  let writeErrors = 0
  let droppedLines = 0
  if (destination.kind === 'stream') {
    stream = destination.stream
  } else {
    // Not pino.destination(): it registers exit hooks that flush with no bound (sonic-boom's
    // flushSync retries a failing write forever, and a 'beforeExit' flush that fails starts the
    // loop again), so a full disk would keep a stopped proxy from exiting. flush() below is bounded.
    // An 'error' without a listener would be thrown, and end the proxy. sonic-boom keeps the failed batch and writes it again at the next flush
    // (flushLater below goes on every LOG_FLUSH_MS while bytes wait).
    const name = destination.kind === 'stdout' ? 'standard output' : destination.path
    let failing = false
    // Not sonic-boom's `periodicFlush`: that flushes every LOG_FLUSH_MS even with nothing buffered,
    // and each flush is a write(2) of nothing through libuv's thread pool (ten a second, at rest
    // too). A flush is armed by the first line after the buffer was empty, and re-armed until
    // every byte handed over was written (sonic-boom's 'write' event counts them).
    let pendingBytes = 0
    let armed = false
    const boom = new sonicBoom.SonicBoom({
      fd: destination.kind === 'stdout' ? 1 : destination.fd,
      sync: false,
      minLength: LOG_BUFFER_BYTES,
      maxLength: LOG_MAX_BUFFERED_BYTES,
      // For reopen(): the mode a new file is made with, as openLogFile's.
      mode: LOG_FILE_MODE,
    })
    boom.on('error', (e: Error) => {
      writeErrors++
      if (failing) return
      failing = true
      onWriteError?.(e, name)
    })
    boom.on('write', (n: number) => {
      pendingBytes -= n
      failing = false
    })
    boom.on('drop', (line: string) => {
      droppedLines++
      pendingBytes -= Buffer.byteLength(line)
    })
    const flushLater = (): void => {
      armed = false
      if (pendingBytes <= 0) return
      try {
        boom.flush()
      } catch {
        return
      }
      armed = true
      setTimeout(flushLater, LOG_FLUSH_MS).unref()
    }
    stream = {
      write(line: string): void {
        pendingBytes += Buffer.byteLength(line)
        boom.write(line)
        if (!armed) {
          armed = true
          setTimeout(flushLater, LOG_FLUSH_MS).unref()
        }
      },
    }
    if (destination.kind === 'file') {
      const path = destination.path
      // sonic-boom reopens only a file it opened itself (it keeps the path in `file` then); this one
      // was opened by openLogFile, synchronously, so that a start fails with a clear message. Its
      // reopen() (4.2.1, pinned) waits for a write in flight, opens the path again, and closes the
      // old descriptor once the new one is open: lines not yet written go to the new file, none is
      // lost or written twice, and a failing open leaves the old descriptor in use.
      ;(boom as unknown as { file: string }).file = path
      reopen = () => {
        // Checked here, synchronously (directories made, the mode right), so that a path that
        // cannot be opened is said now and not as a write error later.
        const check = openLogFile(path)
        if (!check.ok) return { ok: false, detail: check.detail }
        closeSync(check.fd)
        boom.reopen()
        return { ok: true }
      }
    }
    flush = (boundMs) =>
      new Promise<void>((resolve) => {
        if (pendingBytes <= 0) {
          resolve()
          return
        }
        // Not unref'd: the process waits for the log, but no longer than the bound.
        let finished = false
        const finish = (): void => {
          if (finished) return
          finished = true
          clearTimeout(timer)
          resolve()
        }
        const timer = setTimeout(finish, boundMs)
        // sonic-boom's flush(cb) calls back at its next 'drain': after one write of at most 16 KiB
        // (its maxWrite), with up to minLength bytes left behind. So again until every byte handed
        // over was written ('write' events count them), or the bound; a write error ends it (a
        // failing destination would otherwise be tried in a tight loop until the bound).
        const round = (): void => {
          if (finished) return
          if (pendingBytes <= 0) {
            finish()
            return
          }
          try {
            // Called back once written (after an fsync, whose error, on a pipe, does not matter) or on an error.
            boom.flush((e) => {
              if (e && (e as NodeJS.ErrnoException).code !== 'EINVAL') finish()
              else round()
            })
          } catch {
            finish()
          }
        }
        round()
      })
  }
  const logger = pino(
    {
      level,
      base: null,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    stream,
  )
  return {
    logger,
    decision(r) {
      logger.info(
        {
          event: 'decision',
          ...r,
          handshakeMs: round(r.handshakeMs),
          dnsMs: round(r.dnsMs),
          connectMs: round(r.connectMs),
        },
        r.action === 'allow' ? (r.wouldDeny ? 'would deny' : 'allow') : 'deny',
      )
    },
    close(r) {
      logger.info({ event: 'close', ...r, durationMs: round(r.durationMs) }, 'close')
    },
    dns(r) {
      // The same envelope as the logger's own lines (base null, ISO time, the level's label), into
      // the same stream, so lines keep their order; at the logger's level only.
      if (logger.isLevelEnabled('info')) stream.write(dnsLogLine(r, new Date().toISOString()))
    },
    flush(boundMs = LOG_FLUSH_BOUND_MS) {
      return flush(boundMs)
    },
    reopen() {
      return reopen()
    },
    get writeErrors() {
      return writeErrors
    },
    get droppedLines() {
      return droppedLines
    },
  }
}
