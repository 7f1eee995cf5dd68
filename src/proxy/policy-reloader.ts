/**
 * @module Hot reload of the policy file (SIGHUP, and changes to the file, debounced). A new
 * policy is read and checked exactly as at startup; one with an error is refused, its
 * diagnostics logged (rendered to stderr, and as data in the JSON log) and the old policy stays in
 * force. Open tunnels keep the policy they were opened under; a request read after the reload
 * (the next one on a kept-alive connection too) is decided under the new one.
 *
 * The file's directory is watched, not the file: editors and ConfigMap updates replace the file
 * (rename or symlink swap), which a watch on the old inode would never see.
 *
 * On SIGHUP the files read beside the policy (`--hosts`, `--proxy-auth-file`: `CompanionFiles`)
 * are read again too, and put in force with the policy: one with a problem refuses the reload
 * as an invalid policy does, and nothing changes. A change of the policy file alone (the watch)
 * reads only the policy.
 *
 * What the new policy is put into is a `ReloadTarget`: the proxy server alone, or the appliance
 * (dataplane/appliance.ts), which also replaces its nftables table. A target that cannot put the
 * policy in force rejects with nothing changed; the reload is then refused like an invalid policy.
 */
import { watch, type FSWatcher } from 'node:fs'
import { basename, dirname } from 'node:path'
import { loadPolicyFile } from '../config/load-policy.ts'
import { hasErrors } from '../diagnostics/diagnostic.ts'
import { renderDiagnostics } from '../diagnostics/render-diagnostic.ts'
import type { ConnectionLog } from './connection-log.ts'
import { buildPolicyState, type PolicyState } from './policy-state.ts'
import type { ListenerInfo } from './proxy-server.ts'

/** What a reload puts the new policy into (ProxyServer, or the appliance). */
export interface ReloadTarget {
  /** Puts `state` in force; resolves with warnings. Rejects with nothing changed. */
  reload(state: PolicyState): Promise<readonly string[]>
  /** Counts a reload put in force without a new policy (SIGHUP's files alone; `reload` counts its own). */
  reloadApplied(): void
  /** Counts a refused reload. */
  reloadRejected(): void
  readonly listeners: readonly ListenerInfo[]
}

/**
 * Files `serve` reads beside the policy, read again on SIGHUP. `load()` reads and checks them and
 * changes nothing; `apply()` puts what it read in force.
 */
export interface CompanionFiles {
  load(): CompanionLoad
}

export type CompanionLoad =
  /** `apply()` puts them in force and returns how to put back the ones it replaced. */
  | { readonly ok: true; readonly summary: Readonly<Record<string, unknown>>; apply(): () => void }
  | { readonly ok: false; readonly error: string }

export interface ReloaderOptions {
  readonly server: ReloadTarget
  /**
   * The policy file: its absolute path, and how diagnostics name it. null: `serve` runs a
   * profile's default policy, which stays; SIGHUP reads only the companion files.
   */
  readonly file: { readonly path: string; readonly label: string } | null
  readonly log: ConnectionLog
  readonly stderr: { write(text: string): unknown }
  readonly debounceMs: number
  /** Read again on SIGHUP, with the policy. */
  readonly companions?: CompanionFiles
}

export type ReloadOutcome = { readonly result: 'ok'; readonly warnings: readonly string[] } | { readonly result: 'rejected'; readonly errors: number }

export class PolicyReloader {
  readonly #o: ReloaderOptions
  #watcher: FSWatcher | undefined
  #timer: NodeJS.Timeout | undefined
  /** Reloads run one at a time; a request during one runs once after it. */
  #running: Promise<ReloadOutcome> | undefined
  /** The trigger of the reload to run after the one in progress; SIGHUP wins (it also reads the companion files). */
  #again: string | undefined

  constructor(options: ReloaderOptions) {
    this.#o = options
  }

  /** Starts watching the file's directory (nothing to watch without a policy file). */
  watch(): void {
    const file = this.#o.file
    if (!file) return
    const name = basename(file.path)
    try {
      this.#watcher = watch(dirname(file.path), { persistent: false }, (_event, changed) => {
        if (changed !== null && changed !== name && !changed.startsWith('..')) return
        clearTimeout(this.#timer)
        this.#timer = setTimeout(() => {
          this.#timer = undefined
          void this.reload('file-change')
        }, this.#o.debounceMs)
      })
      this.#watcher.on('error', (e) => {
        this.#o.log.logger.warn({ event: 'watch-error', error: e.message }, 'policy file watch failed; SIGHUP still reloads')
      })
    } catch (e) {
      this.#o.log.logger.warn({ event: 'watch-error', error: e instanceof Error ? e.message : String(e) }, 'cannot watch the policy file; SIGHUP still reloads')
    }
  }

  /** Reloads now (serialised with any reload in progress). Never rejects. */
  async reload(trigger: string): Promise<ReloadOutcome> {
    if (this.#running) {
      if (this.#again !== 'SIGHUP') this.#again = trigger
      return this.#running
    }
    this.#running = this.#reloadOnce(trigger)
    try {
      return await this.#running
    } finally {
      this.#running = undefined
      const again = this.#again
      if (again !== undefined) {
        this.#again = undefined
        void this.reload(again)
      }
    }
  }

  async #reloadOnce(trigger: string): Promise<ReloadOutcome> {
    const { server, file, log, stderr } = this.#o
    const companions = trigger === 'SIGHUP' ? this.#o.companions?.load() : undefined
    if (companions && !companions.ok) {
      stderr.write(`aks-egress serve: reload (${trigger}) refused, the policy and files in force stay: ${companions.error}\n`)
      return this.#refused(trigger, { error: companions.error }, 1, 'reload refused; the old policy and files stay')
    }
    if (!file) {
      const note = 'no policy file; the profile default policy stays'
      if (!companions) {
        log.logger.info({ event: 'reload', trigger, result: 'ok', note }, 'nothing to reload')
        return { result: 'ok', warnings: [] }
      }
      companions.apply()
      server.reloadApplied()
      log.logger.info({ event: 'reload', trigger, result: 'ok', note, ...companions.summary }, 'files reloaded')
      return { result: 'ok', warnings: [] }
    }
    const { path, label } = file
    const loaded = loadPolicyFile(path, label)
    const sources = loaded.source ? new Map([[label, loaded.source]]) : undefined
    const diagnostics = loaded.diagnostics.map((d) => {
      const pos = d.span && loaded.source ? loaded.source.position(d.span.start) : undefined
      return { code: d.code, severity: d.severity, message: d.message, ...(pos ? { line: pos.line, column: pos.column } : {}) }
    })
    if (hasErrors(loaded.diagnostics) || !loaded.policy) {
      const errors = loaded.diagnostics.filter((d) => d.severity === 'error').length
      stderr.write(`aks-egress serve: reload (${trigger}) refused, the policy in force stays:\n${renderDiagnostics(loaded.diagnostics, sources)}\n`)
      return this.#refused(trigger, { file: label, diagnostics }, errors)
    }
    let state
    try {
      state = buildPolicyState(loaded.policy, label)
    } catch (e) {
      return this.#failed(trigger, label, e)
    }
    // In force before the new policy: its reload resolves names (the appliance's DNAT targets) by
    // the new --hosts; put back if the reload is refused.
    const restore = companions?.apply()
    let warnings: readonly string[]
    try {
      warnings = await server.reload(state)
    } catch (e) {
      restore?.()
      return this.#failed(trigger, label, e)
    }
    // As at start: said on stderr too, not only in the log line.
    for (const w of warnings) stderr.write(`warning: ${w}\n`)
    const s = state.engine.stats
    log.logger.info(
      {
        event: 'reload',
        trigger,
        result: 'ok',
        file: label,
        ...(companions ? companions.summary : {}),
        policyName: state.policy.name,
        mode: state.policy.settings.mode,
        rules: { network: s.networkRules, application: s.applicationRules, dnat: s.dnatRules },
        listeners: server.listeners,
        warnings,
        diagnostics,
      },
      'policy reloaded',
    )
    return { result: 'ok', warnings }
  }

  /** A reload that threw (a compile gap, a target that refused): said on stderr, then refused. */
  #failed(trigger: string, label: string, e: unknown): ReloadOutcome {
    const message = e instanceof Error ? e.message : String(e)
    this.#o.stderr.write(`aks-egress serve: reload (${trigger}) refused, the policy in force stays: ${message}\n`)
    return this.#refused(trigger, { file: label, error: message }, 1)
  }

  /** Counts and logs a refused reload (stderr is the caller's: the text differs). */
  #refused(trigger: string, fields: Readonly<Record<string, unknown>>, errors: number, msg = 'policy reload refused; the old policy stays'): ReloadOutcome {
    this.#o.server.reloadRejected()
    this.#o.log.logger.error({ event: 'reload', trigger, result: 'rejected', ...fields }, msg)
    return { result: 'rejected', errors }
  }

  close(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#watcher?.close()
    this.#watcher = undefined
  }
}
