// A child firewall policy under a parent (base) policy: Azure processes "parent policy rule
// collection groups ... first, regardless of priority" (azure-facts §2.1). The audit composes the
// two from one file and decides with the parent's groups first.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { compilePolicy } from '../../../src/policy/compile-policy.ts'
import { groupsInOrder } from '../../../src/policy/processing-order.ts'
import type { Policy, RuleCollectionGroup } from '../../../src/policy/policy-model.ts'
import { app, coll, group, policy } from '../policy/builders.ts'
import { referenceDecide } from '../policy/reference-evaluator.ts'
import { FIXTURES, runCli } from '../../helpers/run-cli.ts'

interface AuditJson {
  firewall: { kind: string; name: string; inheritsFrom: string[] }
  endpoints: Array<{ id: string; protocol: string; status: string; decisions: Array<{ rule: string | null }> }>
  fix: { notes: string[] } | null
  diagnostics: Array<{ code: string; message: string; severity?: string }>
}

async function audit(args: string[]): Promise<{ code: number; json: AuditJson; stderr: string }> {
  const r = await runCli(['audit', ...args, '--output', 'json'])
  return { code: r.code, json: JSON.parse(r.stdout) as AuditJson, stderr: r.stderr }
}

const inherit = (g: RuleCollectionGroup, policyName: string, depth: number): RuleCollectionGroup => ({ ...g, inherited: { policy: policyName, depth } })

test('groups of ancestors come first, the farthest first, whatever their priority; then by priority', () => {
  const own = group('own', 100)
  const parent = inherit(group('parent', 65000), 'p', 1)
  const grand = inherit(group('grand', 64000), 'g', 2)
  const own2 = group('own2', 50)
  assert.deepEqual(
    groupsInOrder([own, parent, own2, grand]).map((g) => g.name),
    ['grand', 'parent', 'own2', 'own'],
  )
})

test('the engine and the reference evaluator both let a parent deny at priority 65000 beat a child allow at 100', () => {
  const child = group('child', 100, coll('application', 'allow', 100, 'Allow', [app('pkgs', ['packages.microsoft.com'])]))
  const parentDeny = group('parent', 65000, coll('application', 'deny', 100, 'Deny', [app('no-pkgs', ['packages.microsoft.com'])]))
  const flow = { protocol: 'https', host: 'packages.microsoft.com', destinationPort: 443 } as const
  const flat: Policy = policy([child, parentDeny])
  assert.equal(compilePolicy(flat).decide(flow).action, 'allow', 'without inheritance, priority decides')
  const composed: Policy = policy([child, inherit(parentDeny, 'org', 1)])
  const d = compilePolicy(composed).decide(flow)
  assert.equal(d.action, 'deny')
  assert.equal(d.rulePath, 'parent/deny/no-pkgs')
  assert.deepEqual(d, referenceDecide(composed, flow))
})

test('ARM template with a parent and a child policy: the child is audited, the parent deny blocks first', async () => {
  const { code, json, stderr } = await audit(['audit/inherited-policy-template.json', '--location', 'westeurope'])
  assert.equal(code, 1, stderr)
  assert.equal(json.firewall.name, 'aks-egress-fwpolicy')
  assert.deepEqual(json.firewall.inheritsFrom, ['org-base'])
  const pkgs = json.endpoints.find((e) => e.id === 'public.packages' && e.protocol === 'https:443')
  assert.equal(pkgs?.status, 'blocked')
  assert.equal(pkgs.decisions[0]?.rule, 'org-base:OrgGuardrails/no-package-feeds/microsoft-packages')
  // No rule added to the child can precede a parent's group: the fix says where it must go.
  assert.ok(json.fix?.notes.some((n) => /is in the parent policy org-base, which Azure processes before every rule collection group of aks-egress-fwpolicy/.test(n) && /add the fix to org-base/.test(n)))
  // Everything else the child allows is still allowed.
  assert.equal(json.endpoints.filter((e) => e.status === 'blocked').length, 1)
})

test('the table says the policy inherits, and which parent rule decided', async () => {
  const r = await runCli(['audit', 'audit/inherited-policy-template.json', '--location', 'westeurope'])
  assert.equal(r.code, 1)
  assert.match(r.stdout, /firewall policy "aks-egress-fwpolicy", inheriting from "org-base" \(processed first\), \d+ rules\)/)
  assert.match(r.stdout, /^BLOCKED {6}packages\.microsoft\.com {6}https:443 {2}required {5}denied by org-base:OrgGuardrails\/no-package-feeds\/microsoft-packages$/m)
})

test('--firewall picks the parent alone', async () => {
  const { code, json } = await audit(['audit/inherited-policy-template.json', '--location', 'westeurope', '--firewall', 'org-base'])
  assert.equal(json.firewall.name, 'org-base')
  assert.deepEqual(json.firewall.inheritsFrom, [])
  assert.equal(code, 1, 'the parent alone allows nothing the cluster needs')
})

test('a child whose parent is not in the file: audited alone, with a warning that says what is missing', async () => {
  const doc = JSON.parse(readFileSync(join(FIXTURES, 'audit/inherited-policy-template.json'), 'utf8')) as { resources: Array<{ name: string }> }
  doc.resources = doc.resources.filter((r) => !r.name.startsWith('org-base'))
  const dir = mkdtempSync(join(tmpdir(), 'aks-egress-audit-'))
  try {
    const file = join(dir, 'child-only.json')
    writeFileSync(file, JSON.stringify(doc, null, 2))
    const { code, json } = await audit([file, '--location', 'westeurope'])
    assert.equal(code, 0)
    const w = json.diagnostics.find((d) => d.code === 'IMPORT_UNSUPPORTED')
    assert.match(w?.message ?? '', /inherits from parent policy "org-base", which this file does not hold; Azure processes the parent's rules first, and the audit cannot see them/)
    assert.equal(json.endpoints.find((e) => e.id === 'public.packages')?.status, 'allowed')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('Terraform: base_policy_id composes the parent, whose UDP 1194 deny at priority 65000 precedes the child allow', async () => {
  const { code, json } = await audit(['audit/inherited.tf', '--location', 'westeurope'])
  assert.equal(code, 1)
  assert.deepEqual(json.firewall.inheritsFrom, ['org-base'])
  const udp = json.endpoints.find((e) => e.id === 'public.network.tunnel-udp-1194')
  assert.equal(udp?.status, 'blocked')
  assert.equal(udp.decisions[0]?.rule, 'org-base:org-guardrails/no-udp-vpn/deny-1194')
  const tcp = json.endpoints.find((e) => e.protocol === 'tcp:9000')
  assert.equal(tcp?.status, 'allowed')
})
