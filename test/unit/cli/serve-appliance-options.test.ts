// `serve --transparent` (the appliance) option handling: help, and bad usage refused with exit 2
// and a message naming the option, before anything listens or any table is applied.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { serviceTcpPorts } from '../../../src/cli/commands/serve-appliance.ts'
import { flowtableProbe, probeFlowtable } from '../../../src/dataplane/nftables/flowtable.ts'
import { NftApplyError } from '../../../src/dataplane/nftables/nft-runner.ts'
import { runCli } from '../../helpers/run-cli.ts'

test('serve --help lists the appliance options and --cleanup', async () => {
  const r = await runCli(['serve', '--help'])
  assert.equal(r.code, 0)
  for (const o of ['--egress-interface IF', '--ingress-interface IF', '--flowtable', '--no-flowtable', '--nft PATH', '--dns-listen ADDR:PORT', '--ssh-from CIDR', '--learn-grace SECONDS', '--no-nftables', '--cleanup', '--transparent-port-offset N|ephemeral']) {
    assert.ok(r.stdout.includes(o), o)
  }
  assert.match(r.stdout, /^ {7}aks-egress serve --cleanup$/m)
  assert.match(r.stdout, /--transparent-port-offset N\|ephemeral +The listener of original port P listens on P\+N \(default 15000;/)
})

test('appliance options: bad usage exits 2 with the option named', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['serve', '--transparent'], /--transparent applies the nftables table inet aks_egress to this machine and needs --egress-interface IF\n {2}fix: .*--no-nftables/],
    [['serve', '--transparent', '--egress-interface', 'eth0; drop'], /--egress-interface "eth0; drop" is not an interface name/],
    [['serve', '--transparent', '--egress-interface', 'eth0', '--transparent-address', '127.0.0.1'], /--transparent-address 127\.0\.0\.1: nftables "redirect" delivers to the address of the interface a flow arrives on/],
    [['serve', '--transparent', '--egress-interface', 'eth0', '--dns-listen', 'dns.example:53'], /--dns-listen "dns\.example:53" is not ADDR\[:PORT\]/],
    [['serve', '--transparent', '--egress-interface', 'eth0', '--dns-upstream', '168.63.129.16', '--dns-upstream', '10.0.0.10'], /--transparent takes one --dns-upstream/],
    [['serve', '--transparent', '--egress-interface', 'eth0', '--ssh-from', '10.0.0.0/33'], /--ssh-from "10\.0\.0\.0\/33" is not an address, a CIDR, \* or none/],
    [['serve', '--transparent', '--egress-interface', 'eth0', '--learn-grace', '1m'], /--learn-grace "1m" is not whole seconds, 0-86400/],
    [['serve', '--transparent', '--egress-interface', 'eth0', '--learn-grace', '90000'], /--learn-grace "90000" is not whole seconds/],
    [['serve', '--egress-interface', 'eth0'], /--egress-interface goes with --transparent/],
    [['serve', '--no-nftables'], /--no-nftables goes with --transparent/],
    [['serve', '--transparent', '--egress-interface', 'eth0', '--ingress-interface', 'eth1 x'], /--ingress-interface "eth1 x" is not an interface name/],
    [['serve', '--transparent', '--egress-interface', 'eth0', '--flowtable', '--no-flowtable'], /--flowtable and --no-flowtable contradict each other/],
    [['serve', '--no-flowtable'], /--no-flowtable goes with --transparent/],
    [['serve', '--transparent', '--no-nftables', '--ingress-interface', 'eth1'], /--ingress-interface has no effect with --no-nftables/],
    [['serve', '--transparent', '--no-nftables', '--dns-listen', '10.0.1.4:53'], /--dns-listen has no effect with --no-nftables/],
  ]
  for (const [args, message] of cases) {
    const r = await runCli(args)
    assert.equal(r.code, 2, args.join(' '))
    assert.match(r.stderr, message, args.join(' '))
  }
})

test('the nodes may reach the explicit proxy and the admin endpoint only where they are not bound to loopback', () => {
  assert.deepEqual(
    serviceTcpPorts([
      { kind: 'explicit', address: '10.0.1.4', port: 3128 },
      { kind: 'tls', address: '0.0.0.0', port: 15443 },
      { kind: 'admin', address: '127.0.0.1', port: 9901 },
    ]),
    [3128],
  )
  assert.deepEqual(serviceTcpPorts([{ kind: 'explicit', address: '127.0.0.1', port: 3128 }, { kind: 'admin', address: '0.0.0.0', port: 9901 }]), [9901])
})

test('the flowtable probe: the kernel asked without devices, then on the devices; each refusal says which', async () => {
  const KERNEL = '/dev/stdin:2:12-13: Error: Could not process rule: No such file or directory'
  const runner = (refuse: (text: string) => boolean): { seen: string[]; apply(text: string): Promise<void> } => {
    const seen: string[] = []
    return {
      seen,
      apply(text) {
        seen.push(text)
        return refuse(text) ? Promise.reject(new NftApplyError('nft -c -f - failed (exit 1)', KERNEL)) : Promise.resolve()
      },
    }
  }
  const ok = runner(() => false)
  assert.deepEqual(await probeFlowtable(ok, ['eth1', 'eth0']), { ok: true })
  assert.deepEqual(ok.seen, [flowtableProbe(undefined), flowtableProbe(['eth1', 'eth0'])])
  assert.match(ok.seen[1]!, /^table inet aks_egress_probe \{\n\tflowtable ft \{ hook ingress priority filter; devices = \{ "eth1", "eth0" \}; \}\n\}\n$/)
  const noKernel = await probeFlowtable(runner(() => true), ['eth0'])
  assert.equal(noKernel.ok ? '' : noKernel.reason, 'kernel')
  const noDevice = await probeFlowtable(runner((t) => t.includes('devices')), ['eth9'])
  assert.equal(noDevice.ok ? '' : noDevice.reason, 'devices')
})
