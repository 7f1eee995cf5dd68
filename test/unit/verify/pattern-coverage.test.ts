// Pattern coverage: which names the audit decides for a wildcard entry, and why those suffice.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { matchFqdnPattern, parseFqdnPattern, type FqdnPattern } from '../../../src/policy/fqdn-pattern.ts'
import { coverageSamples, patternCovers, PROBE_LABEL, witness } from '../../../src/verify/pattern-coverage.ts'

function p(text: string): FqdnPattern {
  const r = parseFqdnPattern(text)
  if (!r.ok) throw new Error(text)
  return r.pattern
}

test('patternCovers: outer ⊇ inner', () => {
  const yes: Array<[string, string]> = [
    ['*', '*.hcp.westeurope.azmk8s.io'],
    ['*.azmk8s.io', '*.hcp.westeurope.azmk8s.io'],
    ['*.hcp.westeurope.azmk8s.io', '*.hcp.westeurope.azmk8s.io'],
    ['*azmk8s.io', '*.hcp.westeurope.azmk8s.io'],
    ['*.microsoft.com', 'mcr.microsoft.com'],
    ['*.b.com', '*x.b.com'],
    ['*b.com', '*xb.com'],
  ]
  const no: Array<[string, string]> = [
    ['*.hcp.westeurope.azmk8s.io', '*.azmk8s.io'],
    ['a.hcp.westeurope.azmk8s.io', '*.hcp.westeurope.azmk8s.io'],
    ['*.data.mcr.microsoft.com', 'mcr.microsoft.com'],
    ['*.b.com', '*b.com'],
    ['*.eastus.azmk8s.io', '*.hcp.westeurope.azmk8s.io'],
  ]
  for (const [o, i] of yes) assert.equal(patternCovers(p(o), p(i)), true, `${o} ⊇ ${i}`)
  for (const [o, i] of no) assert.equal(patternCovers(p(o), p(i)), false, `${o} ⊉ ${i}`)
})

test('witness: a name in both, when the rule cuts into the required pattern', () => {
  const req = p('*.data.mcr.microsoft.com')
  assert.equal(witness(req, p('westeurope.data.mcr.microsoft.com')), 'westeurope.data.mcr.microsoft.com')
  assert.equal(witness(req, p('*.eu.data.mcr.microsoft.com')), `${PROBE_LABEL}.eu.data.mcr.microsoft.com`)
  assert.equal(witness(req, p('*west.data.mcr.microsoft.com')), 'west.data.mcr.microsoft.com')
  assert.equal(witness(req, p('*.microsoft.com')), undefined, 'covers: no region of its own')
  assert.equal(witness(req, p('data.mcr.microsoft.com')), undefined, 'the apex is not in *.')
  assert.equal(witness(req, p('*.blob.core.windows.net')), undefined, 'disjoint')
})

test('coverageSamples: generic name first, one witness per narrower pattern, exact entries alone', () => {
  const samples = coverageSamples(p('*.hcp.westeurope.azmk8s.io'), [p('*.azmk8s.io'), p('myaks-1a2b.hcp.westeurope.azmk8s.io'), p('mcr.microsoft.com')])
  assert.deepEqual(samples, [
    { name: `${PROBE_LABEL}.hcp.westeurope.azmk8s.io`, region: 'generic' },
    { name: 'myaks-1a2b.hcp.westeurope.azmk8s.io', region: 'myaks-1a2b.hcp.westeurope.azmk8s.io' },
  ])
  assert.deepEqual(coverageSamples(p('mcr.microsoft.com'), [p('*')]), [{ name: 'mcr.microsoft.com', region: 'generic' }])
})

// Property: for random rule patterns under one domain, every witness is matched by both patterns,
// and the generic name is matched by a rule pattern only when that pattern covers the whole.
test('property: witnesses lie in both patterns; the generic name escapes every non-covering pattern', () => {
  const label = fc.constantFrom('a', 'eu', 'west', 'hcp', 'x1')
  const pattern = fc
    .tuple(fc.constantFrom('exact', 'subdomain', 'suffix', 'any'), fc.array(label, { minLength: 0, maxLength: 2 }))
    .map(([kind, labels]) => {
      const base = [...labels, 'data', 'example', 'com'].join('.')
      return kind === 'exact' ? base : kind === 'subdomain' ? `*.${base}` : kind === 'suffix' ? `*${base}` : '*'
    })
  fc.assert(
    fc.property(pattern, pattern, (reqText, ruleText) => {
      const req = p(reqText)
      const rule = p(ruleText)
      const w = witness(req, rule)
      if (w !== undefined) {
        assert.ok(matchFqdnPattern(req, w) && matchFqdnPattern(rule, w), `${w} in ${reqText} and ${ruleText}`)
      }
      const generic = coverageSamples(req, [rule])[0]?.name
      if (generic !== undefined && req.kind !== 'exact' && matchFqdnPattern(rule, generic)) assert.ok(patternCovers(rule, req), `${ruleText} matches ${generic} so covers ${reqText}`)
    }),
    { numRuns: 2000 },
  )
})
