// The real binary (bin/aks-egress.js on dist/, built by `npm test` before the suites run): the
// command-line contract of DESIGN.md §8: options, output shapes, exit codes.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'

const BIN = new URL('../../bin/aks-egress.js', import.meta.url).pathname
const dir = mkdtempSync(join(tmpdir(), 'aks-egress-cli-'))
after(() => {
  rmSync(dir, { recursive: true, force: true })
})

function run(args: string[], input?: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { input: input ?? '', encoding: 'utf8', cwd: dir, timeout: 30_000 })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe('endpoints', () => {
  test('--output json is an array of {target, protocols, category, purpose, cloud}', () => {
    const r = run(['endpoints', '--cloud', 'public', '--location', 'westeurope', '--catalog', '2019-11', '--output', 'json'])
    assert.equal(r.code, 0, r.stderr)
    const list = JSON.parse(r.stdout) as Array<Record<string, unknown>>
    const hcp = list.find((e) => e['target'] === '*.hcp.westeurope.azmk8s.io')
    assert.ok(hcp)
    assert.deepEqual(
      { target: hcp['target'], protocols: hcp['protocols'], category: hcp['category'], cloud: hcp['cloud'] },
      { target: '*.hcp.westeurope.azmk8s.io', protocols: ['https:443', 'tcp:22', 'tcp:9000'], category: 'required', cloud: 'public' },
    )
    assert.equal(typeof hcp['purpose'], 'string')
    for (const e of list) assert.ok(['required', 'recommended'].includes(String(e['category'])), String(e['target']))
    // Parameters not given are reported on stderr, and the entry is kept with its placeholder.
    assert.ok(list.some((e) => e['target'] === '<api-server-ip>'))
    assert.match(r.stderr, /warning PARAMETER_MISSING: Endpoint network\.api-server/)
  })

  test('add-ons are selected with --features and named as the category', () => {
    const r = run(['endpoints', '--catalog', '2019-11', '--location', 'westeurope', '--features', 'windows,gpu', '--no-recommended', '-o', 'json'])
    assert.equal(r.code, 0, r.stderr)
    const list = JSON.parse(r.stdout) as Array<{ target: string; protocols: string[]; category: string }>
    assert.deepEqual(list.find((e) => e.target === 'kms.core.windows.net'), { ...list.find((e) => e.target === 'kms.core.windows.net'), protocols: ['tcp:1688'], category: 'windows' })
    assert.ok(list.some((e) => e.category === 'gpu'))
    assert.ok(!list.some((e) => e.category === 'recommended'))
  })

  test('csv, markdown, yaml and table outputs', () => {
    const csv = run(['endpoints', '--catalog', '2019-11', '--location', 'westeurope', '-o', 'csv']).stdout
    assert.equal(csv.split('\r\n')[0], 'target,protocols,category,purpose,cloud,id')
    assert.ok(csv.includes('ntp.ubuntu.com,udp:123,required,'))
    const md = run(['endpoints', '--catalog', '2019-11', '--location', 'westeurope', '-o', 'markdown']).stdout
    assert.ok(md.startsWith('| FQDN / address | Ports | Category | Purpose |\n|---|---|---|---|\n'))
    const yaml = run(['endpoints', '--catalog', '2019-11', '--location', 'westeurope', '-o', 'yaml']).stdout
    assert.ok(yaml.includes('- target: mcr.microsoft.com\n'))
    const table = run(['endpoints', '--catalog', '2019-11', '--location', 'westeurope']).stdout
    assert.match(table, /^TARGET +PORTS +CATEGORY +PURPOSE\n/)
    assert.match(table, /\nntp\.ubuntu\.com +udp:123 +required +This address is required for NTP/)
  })

  test('a region typo exits 2 with a suggestion', () => {
    const r = run(['endpoints', '--location', 'westeurop'])
    assert.equal(r.code, 2)
    assert.equal(r.stdout, '')
    assert.equal(r.stderr, 'error REGION_UNKNOWN: Region "westeurop" of --location is not a public region\n  fix: did you mean "westeurope"?\n\n1 error, 0 warnings\n')
  })

  test('a region of another cloud says which cloud', () => {
    const r = run(['endpoints', '--location', 'chinaeast2'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /"chinaeast2" is a region of the china cloud: use --cloud china/)
  })

  test('--help lists each edition\'s feature names', () => {
    const r = run(['endpoints', '--help'])
    assert.equal(r.code, 0)
    assert.match(r.stdout, /2019-11\n +add-ons: +gpu, monitoring, dev-spaces, azure-policy, windows\n +recommended: ubuntu-updates/)
    assert.match(r.stdout, /2026-06 \(latest\)\n +add-ons: +.*workload-identity/)
  })
})

describe('explain', () => {
  test('--output json prints one object per flow, and exit 1 when one is denied', () => {
    const r = run(['explain', '--catalog', '2019-11', '--location', 'westeurope', '--api-server', '20.50.60.70', '--output', 'json', 'https://mcr.microsoft.com', 'https://example.com', 'udp://ntp.ubuntu.com:123'])
    assert.equal(r.code, 1, r.stderr)
    const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
    assert.deepEqual(lines, [
      { flow: 'https://mcr.microsoft.com:443', action: 'allow', rule: 'aks-required/aks-required-application/public.mcr', code: 'APPLICATION_RULE_ALLOW', reason: 'Allowed by application rule aks-required/aks-required-application/public.mcr' },
      { flow: 'https://example.com:443', action: 'deny', rule: null, code: 'DEFAULT_DENY', reason: 'No rule matched. Proceeding with default action' },
      { flow: 'udp://ntp.ubuntu.com:123', action: 'allow', rule: 'aks-required/aks-required-network/public.ntp', code: 'NETWORK_RULE_ALLOW', reason: 'Allowed by network rule aks-required/aks-required-network/public.ntp' },
    ])
  })

  test('exit 0 when every flow is allowed; flows from stdin as URLs and JSON lines', () => {
    const input = '# comment\nhttps://MCR.microsoft.com\n\n{"flow":"https://20.1.2.3","sni":"mcr.microsoft.com","from":"10.240.0.4"}\n{"flow":"tcp://20.50.60.70:9000"}\n'
    const r = run(['explain', '--catalog', '2019-11', '--location', 'westeurope', '--api-server', '20.50.60.70', '--flows', '-', '-o', 'json'], input)
    assert.equal(r.code, 0, r.stderr)
    const flows = r.stdout.trimEnd().split('\n').map((l) => (JSON.parse(l) as { flow: string; action: string }).flow)
    assert.deepEqual(flows, ['https://mcr.microsoft.com:443', 'https://20.1.2.3:443', 'tcp://20.50.60.70:9000'])
  })

  test('HTTPS to an IP address has no SNI and is denied with Azure\'s reason', () => {
    const r = run(['explain', '--catalog', '2019-11', '--location', 'westeurope', 'https://20.1.2.3', '-o', 'json'])
    assert.equal(r.code, 1)
    assert.equal((JSON.parse(r.stdout) as { reason: string }).reason, 'SNI TLS extension was missing')
  })

  test('a bad flow exits 2 and names where it is', () => {
    const r = run(['explain', '--location', 'westeurope', 'mcr.microsoft.com'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /error FLOW_INVALID: argument 1: Flow "mcr\.microsoft\.com" has no scheme\n {2}fix: write "https:\/\/mcr\.microsoft\.com"/)
  })

  test('with a policy file; and a table', () => {
    const file = join(dir, 'p.yaml')
    const init = run(['policy', 'init', '--catalog', '2019-11', '--location', 'westeurope', '--node-cidr', '10.240.0.0/16', '--out', file])
    assert.equal(init.code, 0, init.stderr)
    const r = run(['explain', '--policy', file, '--from', '10.240.0.4', 'https://westeurope.data.mcr.microsoft.com', 'http://security.ubuntu.com'])
    assert.equal(r.code, 1)
    const lines = r.stdout.split('\n')
    assert.match(lines[0] ?? '', /^FLOW +ACTION +CODE +RULE OR REASON$/)
    assert.match(lines[1] ?? '', /^https:\/\/westeurope\.data\.mcr\.microsoft\.com:443 +deny +DEFAULT_DENY +No rule matched\. Proceeding with default action$/)
    assert.match(lines[2] ?? '', /^http:\/\/security\.ubuntu\.com:80 +allow +APPLICATION_RULE_ALLOW +aks-recommended\/aks-recommended-application\/ubuntu-updates\.security$/)
    const outside = run(['explain', '--policy', file, '--from', '192.168.1.1', 'https://mcr.microsoft.com', '-o', 'json'])
    assert.equal(outside.code, 1)
  })

  test('--policy and profile options together are bad usage', () => {
    const r = run(['explain', '--policy', 'x.yaml', '--location', 'westeurope', 'https://mcr.microsoft.com'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /^error USAGE: Give either --policy FILE or PROFILE options, not both/)
  })
})

describe('policy', () => {
  test('init writes a policy that validates, and refuses to overwrite', () => {
    const file = join(dir, 'init.yaml')
    const first = run(['policy', 'init', '--cloud', 'usgov', '--location', 'usgovvirginia', '--catalog', '2019-11', '--features', 'monitoring', '--out', file])
    assert.equal(first.code, 0, first.stderr)
    assert.match(readFileSync(file, 'utf8'), /^# aks-egress policy for the egress of AKS nodes: cloud usgov, region usgovvirginia, catalog 2019-11, add-ons monitoring\./)
    const v = run(['policy', 'validate', file])
    assert.equal(v.code, 0, v.stderr)
    assert.match(v.stdout, /init\.yaml: valid \(3 groups, \d+ rules\)\n$/)
    const again = run(['policy', 'init', '--out', file])
    assert.equal(again.code, 2)
    assert.match(again.stderr, /exists/)
  })

  test('validate reports every problem and exits 1', () => {
    const file = join(dir, 'bad.yaml')
    writeFileSync(file, 'apiVersion: aks-egress/v1\nruleCollectionGroups:\n  - name: g\n    priority: 50\n    ruleCollections: []\n    extra: 1\n')
    const r = run(['policy', 'validate', 'bad.yaml'])
    assert.equal(r.code, 1)
    assert.equal(
      r.stderr,
      [
        'bad.yaml:4:15 - error PRIORITY_RANGE: ruleCollectionGroups[0].priority is 50; it must be between 100 and 65000',
        '  4 |     priority: 50',
        '    |               ^^',
        '  fix: use a value from 100 to 65000',
        '',
        'bad.yaml:6:5 - error UNKNOWN_KEY: Unknown key "extra" in ruleCollectionGroups[0]',
        '  6 |     extra: 1',
        '    |     ^^^^^',
        '  fix: the keys here are: name, priority, ruleCollections',
        '',
        '2 errors, 0 warnings',
        '',
      ].join('\n'),
    )
  })

  test('validate of a missing file exits 2', () => {
    const r = run(['policy', 'validate', 'nope.yaml'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /error FILE_UNREADABLE: Cannot read policy file "nope\.yaml": ENOENT/)
  })

  test('schema prints a JSON Schema', () => {
    const r = run(['policy', 'schema'])
    assert.equal(r.code, 0)
    const schema = JSON.parse(r.stdout) as { $schema: string; required: string[] }
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema')
    assert.deepEqual(schema.required, ['apiVersion', 'ruleCollectionGroups'])
  })
})

describe('the command line itself', () => {
  test('an unknown command suggests the closest one', () => {
    const r = run(['endpoint'])
    assert.equal(r.code, 2)
    assert.equal(r.stderr, 'error USAGE: Unknown command "endpoint"\n  fix: did you mean "endpoints"?\n')
  })
  test('an unknown option suggests the closest one', () => {
    const r = run(['endpoints', '--locaton', 'westeurope'])
    assert.equal(r.code, 2)
    assert.equal(r.stderr, 'error USAGE: Unknown option --locaton\n  fix: did you mean --location?\n')
  })
  test('--version prints the package version', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
    assert.equal(run(['--version']).stdout, `${pkg.version}\n`)
  })
  test('no command prints the help and exits 2', () => {
    const r = run([])
    assert.equal(r.code, 2)
    assert.match(r.stdout, /^aks-egress \d+\.\d+\.\d+: lock down the egress/)
  })
})
