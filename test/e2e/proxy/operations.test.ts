// `aks-egress serve` as its own process: startup summary, admin endpoint, hot reload (file
// change and SIGHUP, valid and invalid) with open tunnels, SIGTERM drain, 1,000 concurrent
// tunnels and the process's file descriptors afterwards, and the profile's default policy.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { connect as tlsConnect, type TLSSocket } from 'node:tls'
import { after, before, describe, test } from 'node:test'
import { adminGet, connectTunnel, hostsText, makePki, startHttpOrigin, startHttpsOrigin, startRawOrigin, startServeChild, type Origin, type Pki, type ServeChild } from './harness.ts'
import { RawHttpClient, responseHeader } from './raw-http-client.ts'

let pki: Pki
let mcr: Origin
let echo: Awaited<ReturnType<typeof startRawOrigin>>
let ubuntu: Origin
let dir: string
const children: ServeChild[] = []

function policy(appRules: string): string {
  return `apiVersion: aks-egress/v1
name: e2e-operations
settings:
  unsafeAllowPrivateRanges: ["127.0.0.0/8"]
ruleCollectionGroups:
  - name: aks
    priority: 200
    ruleCollections:
      - name: net
        type: network
        priority: 100
        action: Allow
        rules:
          - name: tunnel
            sourceAddresses: ["*"]
            ipProtocols: [TCP]
            destinationFqdns: ["*.hcp.westeurope.azmk8s.io"]
            destinationPorts: ["9000"]
      - name: app
        type: application
        priority: 200
        action: Allow
        rules:
${appRules}`
}

const MCR_RULE = `          - name: mcr
            sourceAddresses: ["*"]
            protocols: [Https:443]
            targetFqdns: [mcr.microsoft.com]
`
const UBUNTU_RULE = `          - name: ubuntu
            sourceAddresses: ["*"]
            protocols: [Http:80]
            targetFqdns: [security.ubuntu.com]
`
const DATA_8443_RULE = `          - name: mcr-data-8443
            sourceAddresses: ["*"]
            protocols: [Https:8443]
            targetFqdns: ["*.data.mcr.microsoft.com"]
`

/** Replaces a file the way editors and ConfigMap updates do: write aside, rename over. */
function replaceFile(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text)
  renameSync(`${path}.tmp`, path)
}

async function serve(name: string, extra: readonly string[] = [], policyText = policy(MCR_RULE)): Promise<{ child: ServeChild; policyPath: string }> {
  const policyPath = join(dir, `${name}.yaml`)
  writeFileSync(policyPath, policyText)
  const child = await startServeChild([
    '--policy',
    policyPath,
    '--listen',
    '127.0.0.1:0',
    '--admin',
    '127.0.0.1:0',
    '--hosts',
    join(dir, 'hosts'),
    '--dns-upstream',
    '127.0.0.1:9',
    ...extra,
  ])
  children.push(child)
  return { child, policyPath }
}

/** A CONNECT to the echo origin through `port`, one round trip, closed. */
async function echoThroughTunnel(port: number): Promise<void> {
  const t = await connectTunnel(port, 'echo.hcp.westeurope.azmk8s.io:9000')
  assert.equal(t.status, 200)
  t.socket.write('ping')
  const [reply] = (await once(t.socket, 'data')) as [Buffer]
  assert.equal(reply.toString(), 'ping')
  t.socket.destroy()
}

async function httpsOverTunnel(port: number): Promise<TLSSocket> {
  const t = await connectTunnel(port, 'mcr.microsoft.com:443')
  assert.equal(t.status, 200)
  const tls = tlsConnect({ socket: t.socket, servername: 'mcr.microsoft.com', ca: pki.ca })
  await once(tls, 'secureConnect')
  return tls
}

async function get(tls: TLSSocket, path: string): Promise<string> {
  tls.write(`GET ${path} HTTP/1.1\r\nHost: mcr.microsoft.com\r\n\r\n`)
  const [chunk] = (await once(tls, 'data')) as [Buffer]
  return chunk.toString()
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'aks-egress-ops-'))
  pki = await makePki(['mcr.microsoft.com'])
  mcr = await startHttpsOrigin(pki, 'mcr')
  echo = await startRawOrigin('echo', 9000, 'echo')
  ubuntu = await startHttpOrigin('ubuntu')
  writeFileSync(join(dir, 'hosts'), hostsText({ 'mcr.microsoft.com': mcr.address, 'echo.hcp.westeurope.azmk8s.io': echo.address, 'security.ubuntu.com': ubuntu.address }))
})

after(async () => {
  for (const c of children) await c.kill()
  await Promise.all([mcr.close(), echo.close(), ubuntu.close()])
  pki.cleanup()
  rmSync(dir, { recursive: true, force: true })
})

describe('admin and startup', () => {
  test('--socket-layer: LiteSocket by default, net.Socket on request; the start line names it, and both relay a tunnel', async () => {
    for (const [extra, layer] of [[[], 'lite'], [['--socket-layer', 'node'], 'node']] as const) {
      const { child } = await serve(`sockets-${layer}`, extra)
      const start = await child.log.waitFor((l) => l['event'] === 'start')
      assert.equal(start['sockets'], layer)
      assert.equal(start['policyName'], 'e2e-operations', "the policy's name (Azure's Policy column)")
      await echoThroughTunnel(child.explicitPort)
      await child.kill()
    }
  })

  test('relayed bytes are counted while a tunnel is open, and once: at its close the counter equals its close line', async () => {
    const { child } = await serve('live-bytes')
    const bytes = async (): Promise<[number, number]> => {
      const body = (await adminGet(child.adminPort, '/metrics')).body
      const of = (d: string): number => Number(new RegExp(`^aks_egress_relayed_bytes_total\\{direction="${d}"\\} (\\d+)$`, 'm').exec(body)?.[1] ?? 0)
      return [of('up'), of('down')]
    }
    const t = await connectTunnel(child.explicitPort, 'echo.hcp.westeurope.azmk8s.io:9000')
    let echoed = 0
    t.socket.on('data', (c: Buffer) => (echoed += c.length))
    t.socket.write(Buffer.alloc(1000, 0x61))
    while (echoed < 1000) await sleep(10)
    const [upOpen, downOpen] = await bytes()
    assert.ok(upOpen >= 1000 && downOpen >= 1000, `counted while open: ${upOpen} up, ${downOpen} down`)
    t.socket.write(Buffer.alloc(500, 0x62))
    while (echoed < 1500) await sleep(10)
    assert.deepEqual(await bytes(), [upOpen + 500, downOpen + 500], 'the next scrape adds what moved since')
    t.socket.end()
    const d = await child.log.waitFor((l) => l['event'] === 'decision')
    const close = await child.log.waitFor((l) => l['event'] === 'close' && l['conn'] === d['conn'])
    assert.deepEqual(await bytes(), [close['bytesUp'], close['bytesDown']], 'at the close, the totals of the close line: nothing counted twice')
    t.socket.destroy()
  })

  test('a network rule to a service tag: a warning at start that it cannot match here', async () => {
    const text = policy(MCR_RULE).replace(
      `            destinationPorts: ["9000"]
`,
      `            destinationPorts: ["9000"]
          - name: tagged
            sourceAddresses: ["*"]
            ipProtocols: [TCP]
            destinationAddresses: [AzureCloud.westeurope]
            destinationPorts: ["443"]
`,
    )
    const { child } = await serve('service-tag', [], text)
    assert.match(child.stderr(), /^warning: network rules name the service tag AzureCloud\.westeurope: the proxy has no address ranges for service tags, so those destinations never match here; use CIDRs or IP groups \(a profile's default policy: `aks-egress policy init` writes it to a file to edit\)$/m)
  })

  test('--log FILE: missing directories are made, the file is 0640 and appended to across restarts', { timeout: 60_000 }, async () => {
    const logPath = join(dir, 'logs', 'nested', 'proxy.log')
    for (const round of [1, 2]) {
      const { child } = await serve(`log-file-${round}`, ['--log', logPath])
      const t = await connectTunnel(child.explicitPort, 'echo.hcp.westeurope.azmk8s.io:9000')
      assert.equal(t.status, 200)
      t.socket.destroy()
      child.child.kill('SIGTERM')
      assert.equal(await child.exited, 0)
      assert.equal(child.stderr().includes('warning: cannot write the log'), false)
    }
    assert.equal(statSync(logPath).mode & 0o777, 0o640)
    const events = readFileSync(logPath, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { event: string }).event)
    assert.deepEqual(events.filter((e) => e === 'start' || e === 'stop'), ['start', 'stop', 'start', 'stop'])
    assert.equal(events.filter((e) => e === 'decision').length, 2)
  })

  test('--log FILE and SIGHUP (logrotate create): the lines before stay in the renamed file, the next go to a new file at the path', { timeout: 30_000 }, async () => {
    const logPath = join(dir, 'rotate', 'proxy.log')
    const { child } = await serve('log-rotate', ['--log', logPath, '--no-watch'])
    const events = (path: string): string[] => {
      try {
        return readFileSync(path, 'utf8').trim().split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as { event: string }).event)
      } catch {
        return []
      }
    }
    await echoThroughTunnel(child.explicitPort)
    // Written (about LOG_FLUSH_MS after it came), as the lines of an hour are when logrotate runs.
    const written = Date.now() + 5000
    while (!events(logPath).includes('close') && Date.now() < written) await sleep(20)
    renameSync(logPath, `${logPath}.1`)
    child.child.kill('SIGHUP')
    const until = Date.now() + 10_000
    while (!events(logPath).includes('reload') && Date.now() < until) await sleep(50)
    await echoThroughTunnel(child.explicitPort)
    child.child.kill('SIGTERM')
    assert.equal(await child.exited, 0)
    const before = events(`${logPath}.1`)
    const after = events(logPath)
    assert.deepEqual(before, ['start', 'decision', 'close'])
    // The second tunnel's close line may come before or after the drain line (SIGTERM follows its end at once).
    assert.deepEqual(after.filter((e) => e !== 'close'), ['log-reopened', 'reload', 'decision', 'drain', 'stop'])
    assert.equal(after.filter((e) => e === 'close').length, 1)
    assert.equal(statSync(logPath).mode & 0o777, 0o640)
  })

  test('--log /dev/full: the writes fail, the proxy goes on relaying, says so once, counts them, and SIGTERM still exits 0', { timeout: 30_000 }, async () => {
    const { child } = await serve('log-full', ['--log', '/dev/full'])
    for (let i = 0; i < 3; i++) {
      await echoThroughTunnel(child.explicitPort)
      // The batch is written LOG_FLUSH_MS after its first line: each round's fails.
      await sleep(300)
    }
    assert.match(child.stderr(), /warning: cannot write the log to \/dev\/full \(ENOSPC: no space left on device, write\); the proxy goes on/)
    assert.equal(child.stderr().match(/warning: cannot write the log/g)?.length, 1)
    const metrics = (await adminGet(child.adminPort, '/metrics')).body
    const errors = /^aks_egress_log_write_errors_total (\d+)$/m.exec(metrics)
    assert.ok(errors && Number(errors[1]) >= 2, `aks_egress_log_write_errors_total: ${errors?.[1] ?? 'missing'}`)
    assert.match(metrics, /^aks_egress_log_dropped_lines_total 0$/m)
    // The stop writes what is left within its bound; a failing destination does not hold it up.
    const t0 = Date.now()
    child.child.kill('SIGTERM')
    assert.equal(await child.exited, 0)
    assert.ok(Date.now() - t0 < 10_000)
  })

  test('one-line summary; /healthz, /readyz, /metrics, /listeners', async () => {
    const { child } = await serve('admin', ['--transparent', '--no-nftables', '--transparent-address', '127.0.0.1', '--transparent-port-offset', 'ephemeral'])
    assert.match(
      child.summary,
      /^aks-egress serve: explicit 127\.0\.0\.1:\d+, tls:443 127\.0\.0\.1:\d+, admin 127\.0\.0\.1:\d+; policy \S+admin\.yaml \(enforce\): 1 network, 1 application, 0 DNAT rules; hosts \S+ \(3 names\), dns 127\.0\.0\.1:9$/,
    )
    assert.deepEqual(await adminGet(child.adminPort, '/healthz'), { status: 200, body: 'ok\n' })
    assert.deepEqual(await adminGet(child.adminPort, '/readyz'), { status: 200, body: 'ready\n' })
    const t = await connectTunnel(child.explicitPort, 'echo.hcp.westeurope.azmk8s.io:9000')
    t.socket.write('x')
    await once(t.socket, 'data')
    const denied = await connectTunnel(child.explicitPort, 'evil.example.com:443')
    denied.socket.destroy()
    let metrics = (await adminGet(child.adminPort, '/metrics')).body
    for (let i = 0; i < 40 && !/^aks_egress_connections_open\{listener="explicit"\} 1$/m.test(metrics); i++) {
      await sleep(50) // the proxy sees the denied client's close a moment later
      metrics = (await adminGet(child.adminPort, '/metrics')).body
    }
    assert.match(metrics, /^aks_egress_decisions_total\{listener="explicit",action="allow",code="NETWORK_RULE_ALLOW",rule="aks\/net\/tunnel"\} 1$/m)
    assert.match(metrics, /^aks_egress_decisions_total\{listener="explicit",action="deny",code="DEFAULT_DENY",rule=""\} 1$/m)
    assert.match(metrics, /^aks_egress_tunnels_open 1$/m)
    assert.match(metrics, /^aks_egress_connections_open\{listener="explicit"\} 1$/m)
    assert.match(metrics, /^aks_egress_policy_rules\{type="application"\} 1$/m)
    assert.match(metrics, /^aks_egress_dial_seconds_count\{result="ok"\} 1$/m)
    assert.match(metrics, /^aks_egress_handshake_seconds_bucket\{le="\+Inf",listener="explicit"\} 2$/m)
    assert.match(metrics, /^aks_egress_process_cpu_seconds_total /m)
    // Before any reload, both results are there at 0 (an alert on their increase sees the first one).
    assert.match(metrics, /^aks_egress_policy_reloads_total\{result="ok"\} 0$/m)
    assert.match(metrics, /^aks_egress_policy_reloads_total\{result="rejected"\} 0$/m)
    t.socket.destroy()
    const listeners = JSON.parse((await adminGet(child.adminPort, '/listeners')).body) as Array<{ kind: string; originalPort?: number }>
    assert.deepEqual(listeners.map((l) => `${l.kind}${l.originalPort === undefined ? '' : `:${l.originalPort}`}`), ['explicit', 'tls:443', 'admin'])
  })
})

describe('reload', () => {
  test('a changed policy file applies to new connections; open tunnels keep running; listeners follow the ports', async () => {
    const { child, policyPath } = await serve('reload', ['--transparent', '--no-nftables', '--transparent-address', '127.0.0.1', '--transparent-port-offset', 'ephemeral'])
    const open = await httpsOverTunnel(child.explicitPort)
    assert.match(await get(open, '/before'), /origin=mcr GET \/before/)
    replaceFile(policyPath, policy(DATA_8443_RULE))
    const reload = await child.log.waitFor((l) => l['event'] === 'reload' && l['result'] === 'ok')
    assert.equal(reload['trigger'], 'file-change')
    assert.equal(reload['policyName'], 'e2e-operations')
    const denied = await connectTunnel(child.explicitPort, 'mcr.microsoft.com:443')
    assert.equal(denied.status, 403)
    denied.socket.destroy()
    assert.match(await get(open, '/after'), /origin=mcr GET \/after/, 'the tunnel opened under the old policy still works')
    open.destroy()
    const listeners = JSON.parse((await adminGet(child.adminPort, '/listeners')).body) as Array<{ kind: string; originalPort?: number }>
    assert.deepEqual(listeners.filter((l) => l.kind === 'tls').map((l) => l.originalPort), [8443])
  })

  test('an invalid policy is refused with its diagnostics; the old one stays in force', async () => {
    const { child, policyPath } = await serve('invalid', ['--no-watch'])
    replaceFile(policyPath, policy(MCR_RULE).replace('priority: 200\n    ruleCollections', 'priority: 5\n    ruleCollections'))
    child.child.kill('SIGHUP')
    const r = await child.log.waitFor((l) => l['event'] === 'reload').catch((e: unknown) => {
      throw new Error(`${String(e)} exit=${String(child.child.exitCode)} signal=${String(child.child.signalCode)} stderr=${child.stderr()}`)
    })
    assert.equal(r['result'], 'rejected')
    assert.equal(r['trigger'], 'SIGHUP')
    assert.deepEqual(r['diagnostics'], [
      { code: 'PRIORITY_RANGE', severity: 'error', message: 'ruleCollectionGroups[0].priority is 5; it must be between 100 and 65000', line: 7, column: 15 },
    ])
    assert.match(child.stderr(), /reload \(SIGHUP\) refused, the policy in force stays:\n\S+invalid\.yaml:7:15 - error PRIORITY_RANGE/)
    const t = await httpsOverTunnel(child.explicitPort)
    assert.match(await get(t, '/still'), /origin=mcr GET \/still/)
    t.destroy()
    assert.match((await adminGet(child.adminPort, '/metrics')).body, /^aks_egress_policy_reloads_total\{result="rejected"\} 1$/m)
  })

  test('SIGHUP reads --hosts and --proxy-auth-file again: a new name resolves, a rotated password applies; a broken file refuses the reload and the old ones stay', async () => {
    const hostsPath = join(dir, 'hup-hosts')
    const authPath = join(dir, 'hup-auth')
    const policyPath = join(dir, 'hup.yaml')
    writeFileSync(hostsPath, hostsText({ 'echo.hcp.westeurope.azmk8s.io': echo.address }))
    writeFileSync(authPath, 'alice:one\n')
    writeFileSync(policyPath, policy(MCR_RULE))
    const child = await startServeChild([
      '--policy', policyPath, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--no-watch',
      '--hosts', hostsPath, '--dns-upstream', '127.0.0.1:9', '--proxy-auth-file', authPath,
    ])
    children.push(child)
    const as = (user: string, password: string): string => `Proxy-Authorization: Basic ${Buffer.from(`${user}:${password}`).toString('base64')}\r\n`
    const tunnel = async (authority: string, user: string, password: string): Promise<string> => {
      const t = await connectTunnel(child.explicitPort, authority, as(user, password))
      t.socket.destroy()
      return `${t.status} ${/X-Aks-Egress-Reason: (\S+)/i.exec(t.head)?.[1] ?? ''}`.trim()
    }
    assert.equal(await tunnel('echo.hcp.westeurope.azmk8s.io:9000', 'alice', 'one'), '200')
    assert.match(await tunnel('mcr.microsoft.com:443', 'alice', 'one'), /^50\d DNS_FAILED$/, 'not in the hosts file yet')

    writeFileSync(hostsPath, hostsText({ 'echo.hcp.westeurope.azmk8s.io': echo.address, 'mcr.microsoft.com': mcr.address }))
    writeFileSync(authPath, 'alice:two\nbob:three\n')
    child.child.kill('SIGHUP')
    const ok = await child.log.waitFor((l) => l['event'] === 'reload' && l['result'] === 'ok')
    assert.equal(ok['trigger'], 'SIGHUP')
    assert.deepEqual(ok['hosts'], { file: hostsPath, names: 2 })
    assert.deepEqual(ok['auth'], { file: authPath, users: 2 })
    assert.equal(await tunnel('echo.hcp.westeurope.azmk8s.io:9000', 'alice', 'one'), '407 AUTH_FAILED', 'the old password no longer works')
    assert.equal(await tunnel('echo.hcp.westeurope.azmk8s.io:9000', 'alice', 'two'), '200')
    assert.equal(await tunnel('mcr.microsoft.com:443', 'bob', 'three'), '200', 'the new hosts entry is used')

    writeFileSync(authPath, 'carol\n')
    child.child.kill('SIGHUP')
    const refused = await child.log.waitFor((l) => l['event'] === 'reload' && l['result'] === 'rejected')
    assert.equal(refused['error'], `--proxy-auth-file ${authPath}:1: expected user:password`)
    assert.match(child.stderr(), /reload \(SIGHUP\) refused, the policy and files in force stay: --proxy-auth-file \S+:1: expected user:password/)
    assert.equal(await tunnel('echo.hcp.westeurope.azmk8s.io:9000', 'alice', 'two'), '200', 'the users in force stay')
    assert.match((await adminGet(child.adminPort, '/metrics')).body, /^aks_egress_policy_reloads_total\{result="rejected"\} 1$/m)
  })
})

describe('drain and scale', () => {
  test('SIGTERM: stop accepting, not ready, open tunnels finish, exit 0', async () => {
    const { child } = await serve('drain', ['--drain-timeout-ms', '20000'])
    const t = await connectTunnel(child.explicitPort, 'echo.hcp.westeurope.azmk8s.io:9000')
    child.child.kill('SIGTERM')
    await child.log.waitFor((l) => l['event'] === 'drain')
    assert.equal((await adminGet(child.adminPort, '/readyz')).status, 503)
    const refused = connect({ host: '127.0.0.1', port: child.explicitPort })
    const [err] = (await once(refused, 'error')) as [NodeJS.ErrnoException]
    assert.equal(err.code, 'ECONNREFUSED')
    t.socket.write('still-open')
    const [echoed] = (await once(t.socket, 'data')) as [Buffer]
    assert.equal(echoed.toString(), 'still-open')
    const t0 = Date.now()
    t.socket.end()
    assert.equal(await child.exited, 0)
    assert.ok(Date.now() - t0 < 5000)
    assert.equal((await child.log.waitFor((l) => l['event'] === 'stop'))['closedAfterDrain'], 0)
  })

  test('SIGTERM: connections still open at the drain bound are closed, with their close lines, exit 0', async () => {
    const { child } = await serve('drain-bound', ['--drain-timeout-ms', '300'])
    const t = await connectTunnel(child.explicitPort, 'echo.hcp.westeurope.azmk8s.io:9000')
    t.socket.write('ping')
    await once(t.socket, 'data')
    t.socket.resume()
    const closed = once(t.socket, 'close')
    child.child.kill('SIGTERM')
    assert.equal(await child.exited, 0)
    await closed
    const stop = await child.log.waitFor((l) => l['event'] === 'stop')
    assert.equal(stop['closedAfterDrain'], 1)
    // The tunnel cut at the bound is logged like any other: its bytes and duration, before the stop line.
    const decision = await child.log.waitFor((l) => l['event'] === 'decision' && l['host'] === 'echo.hcp.westeurope.azmk8s.io')
    const lines = child.log.lines
    const close = lines.findIndex((l) => l['event'] === 'close' && l['conn'] === decision['conn'])
    assert.ok(close !== -1, 'a close line for the tunnel closed at the drain bound')
    assert.ok(close < lines.indexOf(stop), 'written before the stop line')
    assert.equal(lines[close]!['bytesUp'], 4)
    assert.equal(lines[close]!['bytesDown'], 4)
    assert.equal(lines[close]!['end'], 'stop')
  })

  test('1,000 concurrent tunnels, then the process is back to its file descriptors', async () => {
    const { child } = await serve('scale')
    await sleep(200)
    const fdsBefore = child.fdCount()
    const tunnels: Array<Awaited<ReturnType<typeof connectTunnel>>> = []
    for (let batch = 0; batch < 10; batch++) {
      tunnels.push(...(await Promise.all(Array.from({ length: 100 }, () => connectTunnel(child.explicitPort, 'echo.hcp.westeurope.azmk8s.io:9000')))))
    }
    assert.equal(tunnels.filter((t) => t.status === 200).length, 1000)
    const metrics = (await adminGet(child.adminPort, '/metrics')).body
    assert.match(metrics, /^aks_egress_tunnels_open 1000$/m)
    const echoes = await Promise.all(
      tunnels.map(async (t, i) => {
        t.socket.write(`t${i}`)
        const [c] = (await once(t.socket, 'data')) as [Buffer]
        return c.toString() === `t${i}`
      }),
    )
    assert.equal(echoes.filter(Boolean).length, 1000)
    assert.ok(child.fdCount() >= fdsBefore + 2000, `${child.fdCount()} fds with 1,000 tunnels open`)
    for (const t of tunnels) t.socket.destroy()
    let fds = child.fdCount()
    for (let i = 0; i < 100 && fds > fdsBefore; i++) {
      await sleep(50)
      fds = child.fdCount()
    }
    assert.equal(fds, fdsBefore)
    assert.match((await adminGet(child.adminPort, '/metrics')).body, /^aks_egress_tunnels_open 0$/m)
  })
})

describe('plain-HTTP keep-alive options', () => {
  const get = (path: string): string => `GET http://security.ubuntu.com${path} HTTP/1.1\r\nHost: security.ubuntu.com\r\n\r\n`

  test('--max-requests-per-connection, --keep-alive-idle-timeout-ms and --origin-idle-timeout-ms reach the proxy; SIGTERM closes idle kept-alive clients at once', async () => {
    const { child } = await serve('keep-alive', ['--max-requests-per-connection', '2', '--keep-alive-idle-timeout-ms', '300', '--origin-idle-timeout-ms', '200'], policy(MCR_RULE + UBUNTU_RULE))
    const capped = await RawHttpClient.open(child.explicitPort)
    capped.send(get('/1'))
    assert.equal(responseHeader(await capped.response(), 'connection'), 'keep-alive')
    capped.send(get('/2'))
    const last = await capped.response()
    assert.equal(last.body.toString(), 'origin=ubuntu GET /2 host=security.ubuntu.com body=')
    assert.equal(responseHeader(last, 'connection'), 'close')
    assert.ok(await capped.closedWithin(2000))
    const idle = await RawHttpClient.open(child.explicitPort)
    idle.send(get('/3'))
    await idle.response()
    const t0 = Date.now()
    assert.ok(await idle.closedWithin(3000))
    assert.ok(Date.now() - t0 < 2500, `idle client closed after ${Date.now() - t0} ms`)
    let metrics = (await adminGet(child.adminPort, '/metrics')).body
    for (let i = 0; i < 40 && !/^aks_egress_origin_pool_discarded_total\{reason="idle-timeout"\} 1$/m.test(metrics); i++) {
      await sleep(50)
      metrics = (await adminGet(child.adminPort, '/metrics')).body
    }
    assert.match(metrics, /^aks_egress_origin_pool_discarded_total\{reason="idle-timeout"\} 1$/m)
    assert.match(metrics, /^aks_egress_origin_pool_idle 0$/m)
    assert.match(metrics, /^aks_egress_origin_pool_hits_total 2$/m)
    // A kept-alive client between requests holds no drain: SIGTERM ends at once (drain bound 30 s).
    const waiting = await RawHttpClient.open(child.explicitPort)
    waiting.send(get('/4'))
    await waiting.response()
    const t1 = Date.now()
    child.child.kill('SIGTERM')
    assert.equal(await child.exited, 0)
    assert.ok(Date.now() - t1 < 5000, `stopped after ${Date.now() - t1} ms`)
    assert.ok(await waiting.closedWithin(1000))
    assert.equal((await child.log.waitFor((l) => l['event'] === 'stop'))['closedAfterDrain'], 0)
  })
})

describe('profile', () => {
  test('serve --cloud public --location westeurope: the default policy, which refuses loopback origins', async () => {
    const child = await startServeChild(['--cloud', 'public', '--location', 'westeurope', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--hosts', join(dir, 'hosts'), '--dns-upstream', '127.0.0.1:9'])
    children.push(child)
    assert.match(child.summary, /policy the default policy of public\/westeurope \(catalog 2026-06\) \(enforce\): \d+ network, \d+ application, 0 DNAT rules/)
    const mcrTunnel = await connectTunnel(child.explicitPort, 'mcr.microsoft.com:443')
    assert.equal(mcrTunnel.status, 403)
    assert.match(mcrTunnel.head, /X-Aks-Egress-Reason: DESTINATION_FORBIDDEN/)
    mcrTunnel.socket.destroy()
    const evil = await connectTunnel(child.explicitPort, 'evil.example.com:443')
    assert.match(evil.head, /X-Aks-Egress-Reason: DEFAULT_DENY/)
    evil.socket.destroy()
  })
})
