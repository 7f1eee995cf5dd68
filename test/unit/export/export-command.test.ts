// `aks-egress export`, in process: usage, target options, output to stdout or a file, diagnostics
// on stderr, exit codes (DESIGN.md §8).
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { test } from 'node:test'
import { main } from '../../../src/cli/main.ts'
import { EXPORTERS } from '../../../src/export/registry.ts'

async function run(args: string[], cwd = process.cwd()): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  const code = await main(args, {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    stdin: Readable.from([]),
    cwd,
  })
  return { code, stdout, stderr }
}

const PROFILE = ['--location', 'westeurope', '--node-cidr', '10.240.0.0/16']
const CASES = new URL('../../conformance/cases/', import.meta.url).pathname

test('export --help lists every target and the options', async () => {
  const r = await run(['export', '--help'])
  assert.equal(r.code, 0)
  for (const e of EXPORTERS) assert.match(r.stdout, new RegExp(`^  ${e.name} +${e.description.slice(0, 20).replace(/[()]/g, '.')}`, 'm'))
  assert.match(r.stdout, /--firewall-private-ip IP/)
})

test('export without a target, or with an unknown one, is a usage error with a suggestion', async () => {
  const none = await run(['export', ...PROFILE])
  assert.equal(none.code, 2)
  assert.match(none.stderr, /export needs a TARGET/)
  const typo = await run(['export', 'terraform2', ...PROFILE])
  assert.equal(typo.code, 2)
  assert.match(typo.stderr, /Unknown export target "terraform2"\n {2}fix: did you mean "terraform"\?/)
})

test('an option the target does not read is a usage error', async () => {
  const r = await run(['export', 'azure-cli', '--namespace', 'apps', ...PROFILE])
  assert.equal(r.code, 2)
  assert.match(r.stderr, /--namespace is not an option of target azure-cli/)
  const bad = await run(['export', 'azure-cli', '--firewall-private-ip', '10.0.1', ...PROFILE])
  assert.equal(bad.code, 2)
  assert.match(bad.stderr, /--firewall-private-ip "10.0.1" is not an IP address/)
})

test('the README command prints a runnable script; the wildcard tunnel rule is a warning with its substitute', async () => {
  const r = await run(['export', 'azure-cli', '--cloud', 'public', ...PROFILE, '--firewall-private-ip', '10.0.1.4', '--resource-group', 'aks-rg', '--firewall-name', 'aks-fw'])
  assert.equal(r.code, 0)
  assert.ok(r.stdout.startsWith('#!/usr/bin/env bash\n'))
  assert.match(r.stdout, /^FW_PRIVATE_IP="\$\{FW_PRIVATE_IP:-10\.0\.1\.4\}"$/m)
  assert.match(r.stdout, /--address-prefix 0\.0\.0\.0\/0 --next-hop-type VirtualAppliance --next-hop-ip-address "\$FW_PRIVATE_IP"/)
  assert.match(r.stdout, /--address-prefix "\$FW_PUBLIC_IP\/32" --next-hop-type Internet/)
  assert.match(r.stdout, /--enable-dns-proxy true/)
  assert.match(r.stderr, /warning UNSUPPORTED_BY_TARGET: azure-cli: rule aks-required\/aks-required-network\/public\.network\.tunnel-tcp-9000: wildcard FQDN "\*\.hcp\.westeurope\.azmk8s\.io" in a network rule \(Azure takes exact names only\); expressed as the service tag AzureCloud\.westeurope/)
})

test('with the API server IP, the tunnel rules go to that IP, not to AzureCloud', async () => {
  const r = await run(['export', 'terraform', ...PROFILE, '--api-server', '20.50.1.2'])
  assert.equal(r.code, 0)
  assert.doesNotMatch(r.stdout, /AzureCloud/)
  assert.match(r.stdout, /destination_addresses = \["20\.50\.1\.2"\]/)
})

test('--service-ip adds the DNAT rule; --service-port needs it', async () => {
  const r = await run(['export', 'arm', ...PROFILE, '--service-ip', '10.240.4.4', '--service-port', '443'])
  assert.equal(r.code, 0)
  assert.match(r.stdout, /"translatedAddress": "\[parameters\('serviceIp'\)\]"/)
  assert.match(r.stdout, /"destinationPorts": \[\n\s+"443"\n\s+\]/)
  const alone = await run(['export', 'arm', ...PROFILE, '--service-port', '443'])
  assert.equal(alone.code, 2)
  assert.match(alone.stderr, /--service-port needs --service-ip/)
})

test('--out writes the file (a script executable); a rule left out exits 1 and still writes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aks-egress-export-'))
  try {
    const ok = await run(['export', 'azure-cli', ...PROFILE, '--out', 'fw.sh'], dir)
    assert.equal(ok.code, 0)
    assert.equal(ok.stdout, '')
    assert.equal(statSync(join(dir, 'fw.sh')).mode & 0o111, 0o111)
    const partial = await run(['export', 'cilium', '--policy', join(CASES, 'constructs.yaml'), '--out', 'cnp.yaml'], dir)
    assert.equal(partial.code, 1)
    assert.match(partial.stderr, /error UNSUPPORTED_BY_TARGET: cilium: rule guard\/guard-application-deny\/no-pastebin: deny by name/)
    assert.match(readFileSync(join(dir, 'cnp.yaml'), 'utf8'), /# 1 error\(s\), \d+ warning\(s\) on export/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('export nftables: the flowtable on the egress and --ingress-interface devices; --no-flowtable prints the table without it; other targets refuse both', async () => {
  const on = await run(['export', 'nftables', ...PROFILE, '--egress-interface', 'eth1', '--ingress-interface', 'eth0'])
  assert.equal(on.code, 0, on.stderr)
  assert.match(on.stdout, /^\tflowtable ft \{ hook ingress priority filter; devices = \{ "eth0", "eth1" \}; \}$/m)
  assert.match(on.stdout, /^\t\tct state established meta l4proto \{ tcp, udp \} flow add @ft comment "[^"]+"\n\t\tct state established,related accept$/m)
  const off = await run(['export', 'nftables', ...PROFILE, '--egress-interface', 'eth1', '--no-flowtable'])
  assert.equal(off.code, 0, off.stderr)
  assert.doesNotMatch(off.stdout, /flowtable|flow add/)
  for (const flag of [['--no-flowtable'], ['--ingress-interface', 'eth0']]) {
    const r = await run(['export', 'arm', ...PROFILE, ...flag])
    assert.equal(r.code, 2)
    assert.match(r.stderr, new RegExp(`${flag[0]!} is not an option of target arm`))
  }
  const bad = await run(['export', 'nftables', ...PROFILE, '--ingress-interface', 'eth0;x'])
  assert.equal(bad.code, 2)
  assert.match(bad.stderr, /--ingress-interface "eth0;x" is not an interface name/)
})
