// The compiled engine (indexes: FQDN hash index, CIDR index, tag map, port prefilter) against the
// naive reference evaluator, on random policies and flows (fast-check). Names, addresses and ports
// come from small universes so that random flows hit random rules often; the test asserts that both
// allows and denies of every kind occurred and that the indexes held the rules, so it cannot pass
// vacuously. It runs twice: with full hashes, and with 2-bit hashes, where nearly every name shares
// its hash with others, so that every hit of the FQDN index goes through the comparison of
// characters (a collision must cost time, never change a decision).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { compilePolicy } from '../../../src/policy/compile-policy.ts'
import type { Flow } from '../../../src/policy/flow.ts'
import type { ApplicationRule, NatRule, NetworkProtocol, NetworkRule, Policy, RuleCollection } from '../../../src/policy/policy-model.ts'
import { API_VERSION, DEFAULT_SETTINGS } from '../../../src/policy/policy-model.ts'
import { referenceDecide } from './reference-evaluator.ts'

const LABELS = ['a', 'b', 'mcr', 'data', 'microsoft', 'com', 'io', 'x-y', '_s'] as const
const label = fc.constantFrom(...LABELS)
const name = fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => ls.join('.'))
const pattern = fc.oneof(
  { weight: 5, arbitrary: name },
  { weight: 4, arbitrary: name.map((n) => `*.${n}`) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom('a', 'b', 'rosoft', 'om', 'cr'), fc.option(name, { nil: undefined })).map(([t, n]) => (n === undefined ? `*${t}` : `*${t}.${n}`)) },
  { weight: 1, arbitrary: fc.constant('*') },
)
const v4 = fc.tuple(fc.constantFrom(10, 20), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })).map((p) => p.join('.'))
// Flows draw from smaller universes than rules, so that they hit rules often.
const flowName = fc.oneof(fc.array(fc.constantFrom('a', 'mcr', 'data', 'microsoft', 'com', 'io'), { minLength: 1, maxLength: 3 }).map((ls) => ls.join('.')), fc.constantFrom('mcr.microsoft.com', 'x.data.mcr.microsoft.com', 'a.io'))
const flowV4 = fc.tuple(fc.constantFrom(10, 20), fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 1 })).map((p) => p.join('.'))
const block = fc.oneof(
  v4,
  fc.constantFrom('10.0.0.0/8', '10.1.0.0/16', '20.0.0.0/14', '20.1.2.0/24', '0.0.0.0/0', '10.0.1.0-10.0.2.3', '2001:db8::/32', '2001:db8::1', '*'),
)
const tagName = fc.constantFrom('AzureCloud', 'AzureCloud.westeurope', 'AzureMonitor')
const port = fc.constantFrom(22, 53, 80, 123, 443, 1433, 8080, 9000)
const ports = fc.array(fc.oneof(port.map(String), fc.constantFrom('1-100', '400-500', '*')), { minLength: 1, maxLength: 3 })
const sources = fc.oneof({ weight: 3, arbitrary: fc.constant([] as string[]) }, { weight: 1, arbitrary: fc.array(block, { minLength: 1, maxLength: 2 }) })

const appRule = fc.record({
  sourceAddresses: sources,
  protocols: fc.array(fc.tuple(fc.constantFrom('Http', 'Https', 'Mssql'), port), { minLength: 1, maxLength: 3 }).map((xs) => xs.map(([type, p]) => ({ type: type as 'Http', port: p }))),
  targetFqdns: fc.array(pattern, { minLength: 0, maxLength: 3 }),
  useTag: fc.boolean(),
})
const netRule = fc.record({
  sourceAddresses: sources,
  ipProtocols: fc.array(fc.constantFrom<NetworkProtocol>('TCP', 'UDP', 'ICMP', 'Any'), { minLength: 1, maxLength: 2 }),
  destinationAddresses: fc.array(fc.oneof(block, tagName), { maxLength: 2 }),
  destinationIpGroups: fc.array(fc.constant('grp'), { maxLength: 1 }),
  destinationFqdns: fc.array(pattern, { maxLength: 2 }),
  destinationPorts: ports,
})
const natRule = fc.record({ destinationAddress: flowV4, destinationPort: port, translatedPort: port, ipProtocols: fc.constantFrom<Array<'TCP' | 'UDP'>>(['TCP'], ['UDP'], ['TCP', 'UDP']) })

const collection = fc.oneof(
  fc.record({ type: fc.constant('application' as const), priority: fc.integer({ min: 100, max: 400 }), allow: fc.boolean(), rules: fc.array(appRule, { minLength: 1, maxLength: 4 }) }),
  fc.record({ type: fc.constant('network' as const), priority: fc.integer({ min: 100, max: 400 }), allow: fc.boolean(), rules: fc.array(netRule, { minLength: 1, maxLength: 4 }) }),
  fc.record({ type: fc.constant('dnat' as const), priority: fc.integer({ min: 100, max: 400 }), allow: fc.constant(true), rules: fc.array(natRule, { minLength: 1, maxLength: 2 }) }),
)
const TAG_NAMES = ['mcr.microsoft.com', '*.data.mcr.microsoft.com', 'a.io']

const policyArb = fc
  .record({ groups: fc.array(fc.record({ priority: fc.integer({ min: 100, max: 400 }), collections: fc.array(collection, { minLength: 1, maxLength: 3 }) }), { minLength: 1, maxLength: 3 }), report: fc.boolean() })
  .map(({ groups, report }): Policy => {
    let n = 0
    return {
      apiVersion: API_VERSION,
      name: 'random',
      settings: { ...DEFAULT_SETTINGS, mode: report ? 'report' : 'enforce' },
      ipGroups: { grp: ['20.1.0.0/16', '10.0.0.1'] },
      ruleCollectionGroups: groups.map((g, gi) => ({
        name: `g${gi}`,
        priority: g.priority,
        ruleCollections: g.collections.map((c, ci): RuleCollection => {
          const cname = `c${gi}-${ci}`
          if (c.type === 'application') {
            const rules: ApplicationRule[] = c.rules.map((r) => ({
              name: `r${n++}`,
              sourceAddresses: r.sourceAddresses,
              sourceIpGroups: [],
              protocols: r.protocols,
              targetFqdns: r.targetFqdns,
              fqdnTags: r.useTag || r.targetFqdns.length === 0 ? ['AzureKubernetesService'] : [],
            }))
            return { type: 'application', name: cname, priority: c.priority, action: c.allow ? 'Allow' : 'Deny', rules }
          }
          if (c.type === 'network') {
            const rules: NetworkRule[] = c.rules.map((r) => ({ name: `r${n++}`, sourceIpGroups: [], ...r, destinationAddresses: r.destinationAddresses.length + r.destinationFqdns.length + r.destinationIpGroups.length === 0 ? ['*'] : r.destinationAddresses }))
            return { type: 'network', name: cname, priority: c.priority, action: c.allow ? 'Allow' : 'Deny', rules }
          }
          const rules: NatRule[] = c.rules.map((r) => ({ name: `r${n++}`, sourceAddresses: [], sourceIpGroups: [], translatedAddress: '10.240.0.9', ...r }))
          return { type: 'dnat', name: cname, priority: c.priority, action: 'DNAT', rules }
        }),
      })),
    }
  })

// Mostly the rules' ports; sometimes the edges of the port space and values no packet carries
// (the prefilter and the protocol keys must treat them as the reference does).
const flowPort = fc.oneof({ weight: 12, arbitrary: port }, fc.constantFrom(0, 1, 100, 65535, -1, 65536, 66979, 443.5))

const flowArb = fc
  .record({
    protocol: fc.constantFrom('http', 'https', 'mssql', 'tcp', 'udp', 'icmp'),
    port: flowPort,
    host: fc.option(fc.oneof({ weight: 6, arbitrary: flowName }, flowName.map((n) => n.toUpperCase()), flowName.map((n) => `${n}.`), fc.constant('bad..name')), { nil: undefined, freq: 4 }),
    sni: fc.option(fc.oneof({ weight: 4, arbitrary: flowName }, fc.constant(null)), { nil: undefined }),
    ip: fc.option(fc.oneof({ weight: 6, arbitrary: flowV4 }, fc.constant('2001:db8::5')), { nil: undefined }),
    src: fc.option(fc.oneof({ weight: 6, arbitrary: flowV4 }, fc.constant('not-an-ip')), { nil: undefined }),
    tags: fc.option(fc.array(tagName, { maxLength: 2 }), { nil: undefined }),
  })
  .map(({ protocol, port: p, host, sni, ip, src, tags }): Flow => ({
    protocol,
    destinationPort: p,
    ...(host === undefined ? {} : { host }),
    ...(sni === undefined || (protocol !== 'https' && protocol !== 'mssql') ? {} : { sni }),
    ...(ip === undefined ? {} : { destinationIp: ip }),
    ...(src === undefined ? {} : { sourceIp: src }),
    ...(tags === undefined ? {} : { destinationTags: tags }),
  }))

for (const [hashBits, mergeBudget] of [[undefined, undefined], [2, undefined], [undefined, 0]] as const) {
  const variant = [hashBits === undefined ? '' : ` (${hashBits}-bit name hashes)`, mergeBudget === undefined ? '' : ' (no merge of wildcard rules into exact names)'].join('')
  test(`the compiled engine decides exactly as the reference evaluator${variant}`, () => {
    const codes = new Map<string, number>()
    let indexed = 0
    fc.assert(
      fc.property(policyArb, fc.array(flowArb, { minLength: 20, maxLength: 20 }), (policy, flows) => {
        const tags = { AzureKubernetesService: TAG_NAMES }
        const engine = compilePolicy(policy, { fqdnTags: tags, ...(hashBits === undefined ? {} : { hashBits }), ...(mergeBudget === undefined ? {} : { mergeBudget }) })
        indexed += engine.stats.fqdnPatterns + engine.stats.cidrBlocks
        for (const flow of flows) {
          const got = engine.decide(flow)
          const want = referenceDecide(policy, flow, tags)
          assert.deepEqual(got, want, JSON.stringify(flow))
          const key = `${got.action}:${got.code}`
          codes.set(key, (codes.get(key) ?? 0) + 1)
        }
      }),
      { numRuns: 400, seed: 20261129 },
    )
    // The run exercised the indexes and every kind of outcome, so agreement means something.
    assert.ok(indexed > 1000, `indexes held ${indexed} patterns and blocks`)
    for (const key of ['allow:APPLICATION_RULE_ALLOW', 'deny:APPLICATION_RULE_DENY', 'allow:NETWORK_RULE_ALLOW', 'deny:NETWORK_RULE_DENY', 'allow:DNAT_RULE', 'deny:DEFAULT_DENY', 'deny:SNI_MISSING', 'deny:INVALID_HOST']) {
      assert.ok((codes.get(key) ?? 0) >= 5, `outcome ${key} seen ${codes.get(key) ?? 0} times: ${JSON.stringify([...codes])}`)
    }
  })
}
