// The default policy of a profile (what `policy init` writes) allows exactly what the catalog
// requires for that profile: every endpoint of the profile is allowed, on its own ports only, and
// what the catalog does not list is denied.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { CLOUDS, type Cloud } from '../../../src/catalog/catalog-types.ts'
import { listEditions, loadEdition } from '../../../src/catalog/load-catalog.ts'
import { checkProfile, resolveEndpoints, type ResolvedEndpoint } from '../../../src/catalog/profile.ts'
import { engineFor } from '../../../src/config/load-policy.ts'
import { buildDefaultPolicy, networkDestination } from '../../../src/policy/default-policy.ts'
import type { Flow } from '../../../src/policy/flow.ts'

const LOCATION: Record<Cloud, string> = { public: 'westeurope', china: 'chinaeast2', usgov: 'usgovvirginia' }
const API = '20.50.60.70'
const NODE = '10.240.0.4'

/** A name a wildcard pattern matches (a representative subdomain), or the name itself. */
function probeName(target: string): string {
  if (target.startsWith('*.')) return `aks-egress-probe.${target.slice(2)}`
  if (target.startsWith('*')) return `probe${target.slice(1)}`
  return target
}

/** Flows that exercise an endpoint on each of its protocols. */
function flowsOf(e: ResolvedEndpoint): Flow[] {
  const out: Flow[] = []
  for (const p of e.entry.protocols) {
    const [scheme, portText] = p.split(':') as ['http' | 'https' | 'tcp' | 'udp', string]
    const port = Number(portText)
    if (scheme === 'http' || scheme === 'https') {
      out.push({ protocol: scheme, host: probeName(e.target), destinationPort: port, sourceIp: NODE })
      continue
    }
    const dest = networkDestination(e)
    if (!dest) continue
    if (dest.kind === 'address') out.push({ protocol: scheme, destinationIp: dest.target, destinationPort: port, sourceIp: NODE })
    else if (dest.kind === 'fqdn') out.push({ protocol: scheme, host: probeName(dest.target), destinationPort: port, sourceIp: NODE })
    else if (dest.kind === 'service-tag') out.push({ protocol: scheme, destinationIp: '20.1.2.3', destinationTags: [dest.target], destinationPort: port, sourceIp: NODE })
  }
  return out
}

for (const edition of listEditions()) {
  for (const cloud of CLOUDS) {
    describe(`default policy of ${edition} ${cloud} with every add-on`, () => {
      const features = loadEdition(edition).features.map((f) => f.name)
      const checked = checkProfile(
        { cloud, location: LOCATION[cloud], catalog: edition, features, apiServerIp: API, dnsServerIp: '10.0.0.10', nodeCidrs: ['10.240.0.0/16'], devSpacesFqdn: 'azds-1234.westeurope.azds.io' },
        { label: (f) => f },
      )
      assert.ok(checked.profile, JSON.stringify(checked.diagnostics))
      const profile = checked.profile
      const endpoints = resolveEndpoints(profile)
      const def = buildDefaultPolicy(profile, endpoints)
      const engine = engineFor(def.policy)

      test('with every parameter given, no endpoint is left out', () => {
        assert.deepEqual(def.omitted.map((e) => e.entry.id), [])
      })

      test('every endpoint is allowed on each of its protocols and ports', () => {
        let flows = 0
        for (const e of endpoints) {
          for (const flow of flowsOf(e)) {
            flows++
            const d = engine.decide(flow)
            assert.equal(d.action, 'allow', `${e.entry.id} ${JSON.stringify(flow)}: ${d.reason}`)
          }
        }
        assert.ok(flows >= endpoints.length, `${flows} flows for ${endpoints.length} endpoints`)
      })

      test('what the catalog does not list is denied', () => {
        const denied: Flow[] = [
          { protocol: 'https', host: 'example.com', destinationPort: 443, sourceIp: NODE },
          { protocol: 'https', host: 'management.azure.com.evil.example', destinationPort: 443, sourceIp: NODE },
          { protocol: 'http', host: 'mcr.microsoft.com', destinationPort: 80, sourceIp: NODE },
          { protocol: 'https', host: 'mcr.microsoft.com', destinationPort: 8443, sourceIp: NODE },
          { protocol: 'tcp', destinationIp: '203.0.113.10', destinationPort: 443, sourceIp: NODE },
          { protocol: 'udp', destinationIp: '203.0.113.10', destinationPort: 53, sourceIp: NODE },
          { protocol: 'https', destinationIp: '203.0.113.10', sni: null, destinationPort: 443, sourceIp: NODE },
        ]
        for (const flow of denied) assert.equal(engine.decide(flow).action, 'deny', JSON.stringify(flow))
      })

      test('sources outside the node subnet are denied', () => {
        const mcr = endpoints.find((e) => e.target === 'mcr.microsoft.com')
        assert.ok(mcr)
        assert.equal(engine.decide({ protocol: 'https', host: 'mcr.microsoft.com', destinationPort: 443, sourceIp: '10.99.0.1' }).action, 'deny')
      })

      test('the apex of a wildcard entry is not allowed unless the catalog lists it', () => {
        const listed = new Set(endpoints.map((e) => e.target))
        for (const e of endpoints) {
          if (!e.target.startsWith('*.') || e.entry.kind !== 'fqdn') continue
          const apex = e.target.slice(2)
          if (listed.has(apex) || [...listed].some((t) => t.startsWith('*.') && apex.endsWith(t.slice(1)))) continue
          for (const p of e.entry.protocols.filter((x) => x.startsWith('http'))) {
            const [scheme, port] = p.split(':') as ['http' | 'https', string]
            assert.equal(engine.decide({ protocol: scheme, host: apex, destinationPort: Number(port), sourceIp: NODE }).action, 'deny', `${apex} ${p}`)
          }
        }
      })
    })
  }
}

describe('parameters the profile lacks', () => {
  test('entries that need them are left out and reported, not dropped', () => {
    const checked = checkProfile({ cloud: 'public', catalog: '2026-06' }, { label: (f) => f })
    assert.ok(checked.profile)
    const endpoints = resolveEndpoints(checked.profile)
    const def = buildDefaultPolicy(checked.profile, endpoints)
    const omitted = def.omitted.map((e) => `${e.entry.id}:${e.missing.join('+')}`).sort()
    assert.deepEqual(omitted, [
      'public.hcp:location',
      'public.network.api-server:api-server-ip',
      'public.network.dns:dns-server-ip',
      'public.network.tunnel-tcp-9000:location',
      'public.network.tunnel-udp-1194:location',
    ])
  })
  test('the tunnel goes to the API server IP when it is given, else to the API server FQDN', () => {
    const withIp = checkProfile({ catalog: '2026-06', location: 'westeurope', apiServerIp: API }, { label: (f) => f }).profile
    const withoutIp = checkProfile({ catalog: '2026-06', location: 'westeurope' }, { label: (f) => f }).profile
    assert.ok(withIp && withoutIp)
    const tunnel = (p: typeof withIp): unknown => networkDestination(resolveEndpoints(p).find((e) => e.entry.id === 'public.network.tunnel-tcp-9000')!)
    assert.deepEqual(tunnel(withIp), { kind: 'address', target: API })
    assert.deepEqual(tunnel(withoutIp), { kind: 'fqdn', target: '*.hcp.westeurope.azmk8s.io' })
  })
})
