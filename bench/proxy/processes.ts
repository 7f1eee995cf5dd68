/**
 * @module The processes of the proxy benchmark: every server it starts (origin, peers, aks-egress)
 * is registered here and stopped by its PID when the suite ends, fails or is interrupted
 * (SIGINT/SIGTERM); and the accounting read from /proc: CPU seconds and resident memory of a
 * process and all its descendants (nginx's master and worker; tinyproxy's and Node's threads are
 * in the process's own counters), as reference/bench-baselines.md Appendix E does.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { connect, createServer } from 'node:net'

const CLOCK_TICKS_PER_SECOND = 100 // sysconf(_SC_CLK_TCK) on Linux (USER_HZ)
const OUTPUT_KEEP_BYTES = 16 * 1024

export interface Service {
  readonly name: string
  readonly pid: number
  readonly child: ChildProcess
  /** The last bytes the process wrote to stdout and stderr. */
  output(): string
  /** Resolves when the process has exited. */
  readonly exited: Promise<number | null>
  exitCode(): number | null | undefined
}

const running = new Set<Service>()
const cleanups = new Set<() => void>()
let handlersInstalled = false

/** Runs `fn` when the bench is interrupted (after the processes are stopped); returns the unregister. */
export function onInterrupt(fn: () => void): () => void {
  cleanups.add(fn)
  return () => cleanups.delete(fn)
}

function installSignalHandlers(): void {
  if (handlersInstalled) return
  handlersInstalled = true
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      process.stderr.write(`[proxy] ${sig}: stopping ${running.size} benchmark process(es)\n`)
      void stopAll().finally(() => {
        for (const fn of cleanups) fn()
        process.exit(130)
      })
    })
  }
  process.once('exit', () => {
    // Last resort (an uncaught error): nothing the bench started may outlive it.
    for (const s of running) s.child.kill('SIGKILL')
  })
}

/** Starts a process that runs until it is stopped; its output is kept (bounded) for error messages. */
export function startService(name: string, command: string, args: readonly string[], options: SpawnOptions = {}): Service {
  installSignalHandlers()
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options })
  let out = ''
  const keep = (chunk: Buffer): void => {
    out += chunk.toString('utf8')
    if (out.length > OUTPUT_KEEP_BYTES) out = out.slice(-OUTPUT_KEEP_BYTES)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  let code: number | null | undefined
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (c) => {
      code = c
      resolve(c)
    })
    child.once('error', (e) => {
      keep(Buffer.from(`spawn error: ${e.message}\n`))
      code = null
      resolve(null)
    })
  })
  if (child.pid === undefined) throw new Error(`cannot start ${name} (${command})`)
  const service: Service = { name, pid: child.pid, child, output: () => out, exited, exitCode: () => code }
  running.add(service)
  void exited.then(() => running.delete(service))
  return service
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
export async function stopService(s: Service, graceMs = 3000): Promise<void> {
  if (s.exitCode() !== undefined) return
  s.child.kill('SIGTERM')
  const timer = setTimeout(() => s.child.kill('SIGKILL'), graceMs)
  await s.exited
  clearTimeout(timer)
  running.delete(s)
}

export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((s) => stopService(s)))
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** A port free on 127.0.0.1 now (the OS picks it; a peer listens on it right after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const a = server.address()
      const port = a !== null && typeof a !== 'string' ? a.port : 0
      server.close(() => {
        resolve(port)
      })
    })
  })
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port })
    s.once('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.once('error', () => {
      resolve(false)
    })
  })
}

/** Waits until something accepts on 127.0.0.1:port; throws with the service's output otherwise. */
export async function waitForPort(service: Service, port: number, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    if (service.exitCode() !== undefined) throw new Error(`${service.name} exited (${String(service.exitCode())}):\n${service.output()}`)
    if (await canConnect(port)) return
    await sleep(50)
  }
  throw new Error(`${service.name} does not accept on 127.0.0.1:${port} after ${timeoutMs} ms:\n${service.output()}`)
}

interface ProcStat {
  readonly ppid: number
  /** utime + stime + cutime + cstime, in clock ticks. */
  readonly ticks: number
  /** stime + cstime: the kernel's part of `ticks`. */
  readonly sysTicks: number
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name is in parentheses and may contain spaces: fields start after the last ')'.
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ')
    // f[0] = state (field 3); ppid = field 4; utime, stime, cutime, cstime = fields 14-17.
    return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]), sysTicks: Number(f[12]) + Number(f[14]) }
  } catch {
    return undefined
  }
}

/** The PID and all its live descendants. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>()
  for (const name of readdirSync('/proc')) {
    const p = Number(name)
    if (!Number.isInteger(p)) continue
    const st = readStat(p)
    if (!st) continue
    const list = children.get(st.ppid)
    if (list) list.push(p)
    else children.set(st.ppid, [p])
  }
  const out: number[] = []
  const queue = [pid]
  while (queue.length > 0) {
    const p = queue.pop()!
    out.push(p)
    for (const c of children.get(p) ?? []) queue.push(c)
  }
  return out
}

/** CPU seconds (user + system, reaped children included) of the process and its descendants. */
/** CPU seconds (user + system, and system alone) of the process and its descendants. */
export function treeCpu(pid: number): { total: number; sys: number } {
  let ticks = 0
  let sysTicks = 0
  for (const p of processTree(pid)) {
    const st = readStat(p)
    ticks += st?.ticks ?? 0
    sysTicks += st?.sysTicks ?? 0
  }
  return { total: ticks / CLOCK_TICKS_PER_SECOND, sys: sysTicks / CLOCK_TICKS_PER_SECOND }
}

function rssKiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) : 0
  } catch {
    return 0
  }
}

/** Resident memory (KiB) of the process and its descendants. */
export function treeRssKiB(pid: number): number {
  let kib = 0
  for (const p of processTree(pid)) kib += rssKiB(p)
  return kib
}

/** Runs a command to completion, collecting stdout; rejects on a non-zero exit or a timeout. */
export function runCommand(command: string, args: readonly string[], options: SpawnOptions & { timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options })
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (c: Buffer) => (stdout += c.toString('utf8')))
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString('utf8')
      if (stderr.length > OUTPUT_KEEP_BYTES) stderr = stderr.slice(-OUTPUT_KEEP_BYTES)
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000)
    child.once('error', (e) => {
      clearTimeout(timer)
      reject(e)
    })
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      if (code === 0) resolve(stdout)
      else reject(new Error(`${command} ${args.join(' ')} exited ${String(code ?? signal)}:\n${stderr}${stdout}`))
    })
  })
}
