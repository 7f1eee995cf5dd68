// `serve` option handling: help, and bad usage refused with exit 2 and a message naming the
// option, before anything listens.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { test } from 'node:test'
import { main } from '../../../src/cli/main.ts'
import { parseListenOption } from '../../../src/cli/commands/serve.ts'

async function cli(args: string[], cwd = process.cwd()): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  const code = await main(args, { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) }, stdin: Readable.from([]), cwd })
  return { code, stdout, stderr }
}

test('serve --help lists every option with its default', async () => {
  const r = await cli(['serve', '--help'])
  assert.equal(r.code, 0)
  for (const o of ['--listen ADDR:PORT', '--admin ADDR:PORT', '--transparent ', '--hosts FILE', '--dns-upstream ADDR[:PORT]', '--proxy-auth-file FILE', '--max-client-hello-bytes N', '--drain-timeout-ms N']) {
    assert.ok(r.stdout.includes(o), o)
  }
  assert.match(r.stdout, /--handshake-timeout-ms N +Accept to a complete request head or ClientHello \(default 10000\)/)
  assert.match(r.stdout, /--keep-alive-idle-timeout-ms N +Plain HTTP: a client connection idle this long between requests is closed \(default 60000\)/)
  assert.match(r.stdout, /--max-requests-per-connection N +Plain HTTP: requests on one client connection \(1: no keep-alive\) \(default 10000\)/)
  assert.match(r.stdout, /--origin-pool-max-idle N +Plain HTTP: idle origin connections in all \(0: no pool\) \(default 1024\)/)
  assert.match(r.stdout, /--socket-layer lite\|node +Sockets of the data plane: lite \(default/)
  for (const o of ['--max-response-header-bytes N', '--origin-idle-timeout-ms N', '--origin-pool-max-idle-per-key N']) assert.ok(r.stdout.includes(o), o)
})

test('bad usage exits 2 with the option named', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aks-egress-serve-cli-'))
  try {
    writeFileSync(join(dir, 'hosts'), '127.0.0.2 mcr.microsoft.com\n300.0.0.1 bad.example\n')
    const cases: Array<[string[], RegExp]> = [
      [['serve', '--listen', 'nonsense'], /--listen "nonsense" is not ADDR:PORT/],
      [['serve', '--max-connections', '0'], /--max-connections must be at least 1/],
      [['serve', '--idle-timeout-ms', '5s'], /--idle-timeout-ms "5s" is not a whole number/],
      [['serve', '--max-requests-per-connection', '0'], /--max-requests-per-connection must be at least 1/],
      [['serve', '--origin-pool-max-idle=-1'], /--origin-pool-max-idle "-1" is not a whole number/],
      [['serve', '--hosts', 'hosts'], /--hosts .*hosts:2: "300\.0\.0\.1" is not an IPv4 or IPv6 address/],
      [['serve', '--dns-upstream', 'dns.example'], /--dns-upstream "dns\.example" is not ADDR\[:PORT\]/],
      [['serve', '--listen', 'none'], /Nothing to serve/],
      [['serve', '--transparent-port-offset', 'x'], /--transparent-port-offset "x" is not a whole number/],
      [['serve', '--policy', 'p.yaml', '--cloud', 'public'], /Give either --policy FILE or PROFILE options, not both/],
      [['serve', '--socket-layer', 'uv'], /--socket-layer "uv" is not lite or node/],
      [['serve', '--transparent-port-offset', '100'], /--transparent-port-offset goes with --transparent/],
      [['serve', '--transparent-address', '127.0.0.1'], /--transparent-address goes with --transparent/],
      [['serve', '--listen', '127.0.0.1:3999', '--admin', '127.0.0.1:3999'], /--admin 127\.0\.0\.1:3999 is the --listen address too/],
      [['serve', '--listen', '0.0.0.0:3999', '--admin', '127.0.0.1:3999'], /--admin 127\.0\.0\.1:3999 is the --listen address too/],
      [['serve', '--log-level', 'trace'], /--log-level "trace" is not info, warn, error or debug/],
      [['serve', '--max-header-bytes', '10'], /--max-header-bytes must be at least 1024/],
      [['serve', '--max-response-header-bytes', '100'], /--max-response-header-bytes must be at least 1024/],
      [['serve', '--max-client-hello-bytes', '1000'], /--max-client-hello-bytes must be at least 4096/],
    ]
    for (const [args, message] of cases) {
      const r = await cli(args, dir)
      assert.equal(r.code, 2, args.join(' '))
      assert.match(r.stderr, message, args.join(' '))
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a --log FILE that cannot be opened: exit 1 with the path and the reason, at once (a directory under procfs did spin)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aks-egress-serve-cli-'))
  try {
    writeFileSync(join(dir, 'p.yaml'), 'apiVersion: aks-egress/v1\nname: log\nruleCollectionGroups: []\n')
    writeFileSync(join(dir, 'plain'), '')
    const cases: Array<[string, RegExp]> = [
      ['plain/proxy.log', /error: --log plain\/proxy\.log: .*plain is not a directory/],
      ['.', /error: --log \.: EISDIR: illegal operation on a directory$/m],
      ['/proc/aks-egress-nope.log', /error: --log \/proc\/aks-egress-nope\.log: ENOENT: no such file or directory$/m],
      ['/proc/aks-egress-nope/proxy.log', /error: --log \/proc\/aks-egress-nope\/proxy\.log: cannot make the directory \/proc\/aks-egress-nope: ENOENT/],
    ]
    for (const [path, message] of cases) {
      const t0 = Date.now()
      const r = await cli(['serve', '--policy', 'p.yaml', '--listen', '127.0.0.1:0', '--admin', 'none', '--no-watch', '--log', path], dir)
      assert.equal(r.code, 1, `${path}: ${r.stderr}`)
      assert.match(r.stderr, message, path)
      assert.match(r.stderr, /fix: give --log a file this process can write/)
      assert.ok(Date.now() - t0 < 5000, path)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('listen addresses: IPv4, IPv6 in brackets, port 0, none', () => {
  assert.deepEqual(parseListenOption('127.0.0.1:3128', 'listen'), { host: '127.0.0.1', port: 3128 })
  assert.deepEqual(parseListenOption('[::1]:0', 'listen'), { host: '::1', port: 0 })
  assert.equal(parseListenOption('none', 'listen'), null)
  assert.throws(() => parseListenOption('127.0.0.1', 'listen'), /is not ADDR:PORT: no port/)
  assert.throws(() => parseListenOption('[::1]', 'listen'), /is not ADDR:PORT: no port/)
  assert.throws(() => parseListenOption('127.0.0.1:99999', 'listen'), /port 99999 is out of range \(0-65535\)/)
  assert.throws(() => parseListenOption('[::1]:65536', 'admin'), /--admin "\[::1\]:65536" is not ADDR:PORT: port 65536 is out of range/)
})

test('a listen address in use: exit 1 with the address and the reason, with either socket layer', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aks-egress-serve-cli-'))
  const holder = createServer()
  try {
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
    const port = (holder.address() as AddressInfo).port
    writeFileSync(join(dir, 'p.yaml'), 'apiVersion: aks-egress/v1\nname: busy\nruleCollectionGroups: []\n')
    for (const layer of ['lite', 'node']) {
      const log = join(dir, `${layer}.log`)
      const r = await cli(['serve', '--policy', 'p.yaml', '--listen', `127.0.0.1:${port}`, '--admin', 'none', '--no-watch', '--log-level', 'error', '--log', log, '--socket-layer', layer], dir)
      assert.equal(r.code, 1, `${layer}: ${r.stderr}`)
      assert.match(r.stderr, new RegExp(`error: --listen 127\\.0\\.0\\.1:${port}: listen EADDRINUSE: address already in use 127\\.0\\.0\\.1:${port}`), layer)
      assert.match(r.stderr, new RegExp(`fix: another process listens on 127\\.0\\.0\\.1:${port}: stop it, or give --listen another port`), layer)
      // Reported once, as the start's failure: not also as an error of a running listener.
      assert.doesNotMatch(r.stdout + r.stderr + readFileSync(log, 'utf8'), /listener-error/, layer)
    }
    // The admin listener's failure names --admin (the explicit listener opened first is closed again).
    const r = await cli(['serve', '--policy', 'p.yaml', '--listen', '127.0.0.1:0', '--admin', `127.0.0.1:${port}`, '--no-watch', '--log-level', 'error', '--log', join(dir, 'admin.log')], dir)
    assert.equal(r.code, 1, r.stderr)
    assert.match(r.stderr, new RegExp(`error: --admin 127\\.0\\.0\\.1:${port}: listen EADDRINUSE`))
    assert.match(r.stderr, /fix: another process listens on .*give --admin another port/)
  } finally {
    await new Promise((resolve) => holder.close(resolve))
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a transparent listener whose port is in use: exit 1, naming the listener, with the offset to change', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aks-egress-serve-cli-'))
  const holder = createServer()
  try {
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
    const held = (holder.address() as AddressInfo).port
    writeFileSync(
      join(dir, 'p.yaml'),
      `apiVersion: aks-egress/v1
name: busy-transparent
ruleCollectionGroups:
  - name: g
    priority: 200
    ruleCollections:
      - name: app
        type: application
        priority: 100
        action: Allow
        rules:
          - name: mcr
            sourceAddresses: ["*"]
            protocols: [Https:443]
            targetFqdns: [mcr.microsoft.com]
`,
    )
    const r = await cli(['serve', '--policy', 'p.yaml', '--listen', '127.0.0.1:0', '--admin', 'none', '--no-watch', '--log-level', 'error', '--log', join(dir, 't.log'),
      '--transparent', '--no-nftables', '--transparent-address', '127.0.0.1', '--transparent-port-offset', String(held - 443)], dir)
    assert.equal(r.code, 1, r.stderr)
    assert.match(r.stderr, new RegExp(`^error: the transparent listener tls:443 127\\.0\\.0\\.1:${held}: listen EADDRINUSE`, 'm'))
    assert.match(r.stderr, new RegExp(`fix: another process listens on 127\\.0\\.0\\.1:${held}: stop it, or give --transparent-port-offset another offset`))
  } finally {
    await new Promise((resolve) => holder.close(resolve))
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a listen address that is not this host\'s: exit 1, naming the option, with a fix', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aks-egress-serve-cli-'))
  try {
    writeFileSync(join(dir, 'p.yaml'), 'apiVersion: aks-egress/v1\nname: none\nruleCollectionGroups: []\n')
    // 192.0.2.1 (TEST-NET-1, RFC 5737) is on no interface here: bind() fails at once, nothing is sent.
    const r = await cli(['serve', '--policy', 'p.yaml', '--listen', '192.0.2.1:3128', '--admin', 'none', '--no-watch', '--log-level', 'error', '--log', join(dir, 'x.log')], dir)
    assert.equal(r.code, 1, r.stderr)
    assert.match(r.stderr, /error: --listen 192\.0\.2\.1:3128: listen EADDRNOTAVAIL/)
    assert.match(r.stderr, /fix: 192\.0\.2\.1 is not an address of this host: give --listen one of its addresses/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
