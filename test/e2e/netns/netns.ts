// Network namespaces for tests: unique random names, made and deleted by the test itself.
//
// Names are `aeg<pid>x<random>-<role>`: tests of other engineers run in parallel on the same
// machine, so nothing here uses a fixed name, and nothing touches the root namespace's nftables,
// routes or links (every command runs inside a namespace; veth pairs are created inside one and
// moved to another). `sweepStaleNamespaces()` deletes only namespaces of this prefix whose creating
// process is gone (a test killed before its teardown).
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readdirSync } from 'node:fs'

export const NETNS_PREFIX = 'aeg'

export function canUseNetns(): { ok: true } | { ok: false; reason: string } {
  if (process.platform !== 'linux') return { ok: false, reason: 'network namespaces need Linux' }
  if (process.getuid?.() !== 0) return { ok: false, reason: 'network namespaces need root (CI runs as root)' }
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' })
    execFileSync('nft', ['--version'], { stdio: 'ignore' })
  } catch {
    return { ok: false, reason: 'iproute2 and nftables are needed (apt-get install iproute2 nftables)' }
  }
  return { ok: true }
}

function run(argv: readonly string[], input?: string): string {
  return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], ...(input === undefined ? {} : { input }), timeout: 30_000 })
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Deletes namespaces of our prefix whose creating process no longer runs. */
export function sweepStaleNamespaces(): string[] {
  let names: string[]
  try {
    names = readdirSync('/run/netns')
  } catch {
    return []
  }
  const swept: string[] = []
  for (const name of names) {
    const m = new RegExp(`^${NETNS_PREFIX}(\\d+)x[0-9a-f]+-`).exec(name)
    if (!m) continue
    if (pidAlive(Number(m[1]))) continue
    try {
      run(['ip', 'netns', 'del', name])
      swept.push(name)
    } catch {
      // Gone already.
    }
  }
  return swept
}

export class Netns {
  readonly name: string
  #deleted = false

  private constructor(name: string) {
    this.name = name
  }

  static create(group: string, role: string): Netns {
    const ns = new Netns(`${NETNS_PREFIX}${process.pid}x${group}-${role}`)
    run(['ip', 'netns', 'add', ns.name])
    ns.exec(['ip', 'link', 'set', 'lo', 'up'])
    return ns
  }

  /** Runs a command inside the namespace; returns its standard output; throws on failure. */
  exec(argv: readonly string[], input?: string): string {
    return run(['ip', 'netns', 'exec', this.name, ...argv], input)
  }

  /** Like exec, but returns the exit status and output instead of throwing. */
  try(argv: readonly string[], input?: string): { status: number; stdout: string; stderr: string } {
    try {
      return { status: 0, stdout: this.exec(argv, input), stderr: '' }
    } catch (e) {
      const err = e as { status?: number | null; stdout?: string; stderr?: string }
      return { status: err.status ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' }
    }
  }

  /** Starts a long-running process inside the namespace. */
  spawn(argv: readonly string[], options: SpawnOptions = {}): ChildProcess {
    return spawn('ip', ['netns', 'exec', this.name, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], ...options })
  }

  delete(): void {
    if (this.#deleted) return
    this.#deleted = true
    try {
      run(['ip', 'netns', 'del', this.name])
    } catch {
      // Already gone.
    }
  }
}

/** A short random group id, shared by the namespaces of one test. */
export function newGroup(): string {
  return randomBytes(3).toString('hex')
}

/**
 * Links two namespaces with a veth pair: created inside `a` (never in the root namespace), one
 * end moved to `b`. Addresses are `CIDR` strings (`10.240.0.1/16`), several per end allowed.
 */
export function link(a: Netns, aIf: string, aAddrs: readonly string[], b: Netns, bIf: string, bAddrs: readonly string[]): void {
  a.exec(['ip', 'link', 'add', aIf, 'type', 'veth', 'peer', 'name', bIf])
  a.exec(['ip', 'link', 'set', bIf, 'netns', b.name])
  for (const addr of aAddrs) a.exec(['ip', 'addr', 'add', addr, 'dev', aIf, ...(addr.includes(':') ? ['nodad'] : [])])
  for (const addr of bAddrs) b.exec(['ip', 'addr', 'add', addr, 'dev', bIf, ...(addr.includes(':') ? ['nodad'] : [])])
  a.exec(['ip', 'link', 'set', aIf, 'up'])
  b.exec(['ip', 'link', 'set', bIf, 'up'])
}

/** The addresses of a `routedTriangle`: the node side is a /16, the transit link a /24. */
export interface TriangleAddresses {
  /** The node's addresses, as CIDRs in the node subnet (`10.240.0.4/16`). */
  readonly node: readonly string[]
  /** The firewall's inside address (the node's default gateway), without prefix. */
  readonly fwInside: string
  /** The firewall's outside address on the transit /24, and the internet side's (its gateway). */
  readonly fwPublic: string
  readonly internet: string
}

/**
 * The appliance topology of the tests and benchmarks: `node` —(n0 | f-node)— `fw` —(f-inet | i0)—
 * `inet`, the node's default route via the firewall, the firewall's via `inet`, forwarding on in
 * the firewall. Each namespace goes into `made` as soon as it exists, so that the caller's
 * teardown removes it whatever fails next. Roles are prefixes of the namespaces' names.
 */
export function routedTriangle(group: string, roles: readonly [string, string, string], a: TriangleAddresses, made: Netns[]): { node: Netns; fw: Netns; inet: Netns } {
  const node = Netns.create(group, roles[0])
  made.push(node)
  const fw = Netns.create(group, roles[1])
  made.push(fw)
  const inet = Netns.create(group, roles[2])
  made.push(inet)
  link(node, 'n0', a.node, fw, 'f-node', [`${a.fwInside}/16`])
  link(fw, 'f-inet', [`${a.fwPublic}/24`], inet, 'i0', [`${a.internet}/24`])
  node.exec(['ip', 'route', 'add', 'default', 'via', a.fwInside])
  fw.exec(['ip', 'route', 'add', 'default', 'via', a.internet])
  fw.exec(['sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward'])
  return { node, fw, inet }
}
