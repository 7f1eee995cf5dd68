// FQDN wildcard semantics (DESIGN.md §2, azure-facts §2.3) as accept/reject tables, each run
// through both the reference matcher and the compiled trie. Every reject list has the empty name.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { compilePolicy } from '../../../src/policy/compile-policy.ts'
import { matchFqdnPattern, parseFqdnPattern } from '../../../src/policy/fqdn-pattern.ts'
import { FqdnTrie } from '../../../src/policy/fqdn-trie.ts'
import { app, coll, group, policy } from './builders.ts'

interface Case {
  readonly pattern: string
  readonly accept: readonly string[]
  readonly reject: readonly string[]
}

const CASES: Record<string, Case> = {
  'an exact name matches itself only': {
    pattern: 'mcr.microsoft.com',
    accept: ['mcr.microsoft.com'],
    reject: ['', 'microsoft.com', 'x.mcr.microsoft.com', 'amcr.microsoft.com', 'mcr.microsoft.co', 'mcr.microsoft.com.evil.example', 'mcr-microsoft.com'],
  },
  '*. matches subdomains of any depth, never the apex': {
    pattern: '*.data.mcr.microsoft.com',
    accept: ['westeurope.data.mcr.microsoft.com', 'a.b.data.mcr.microsoft.com', 'a.b.c.d.e.data.mcr.microsoft.com', '_dmarc.data.mcr.microsoft.com'],
    reject: ['', 'data.mcr.microsoft.com', 'xdata.mcr.microsoft.com', 'data.mcr.microsoft.com.evil.example', 'westeurope.data.mcr.microsoft.co', 'mcr.microsoft.com'],
  },
  'the API server pattern matches cluster FQDNs of its region only': {
    pattern: '*.hcp.westeurope.azmk8s.io',
    accept: ['myaks-dns-1a2b3c4d.hcp.westeurope.azmk8s.io', 'x.y.hcp.westeurope.azmk8s.io'],
    reject: ['', 'hcp.westeurope.azmk8s.io', 'x.hcp.northeurope.azmk8s.io', 'x.tun.westeurope.azmk8s.io', 'x.hcp.westeurope.azmk8s.io.evil.example', 'xhcp.westeurope.azmk8s.io'],
  },
  '*name (suffix) matches the apex and look-alikes, as Azure does': {
    pattern: '*contoso.com',
    accept: ['contoso.com', 'anycontoso.com', 'example.anycontoso.com', 'th3re4lcontoso.com', 'a.b.contoso.com'],
    reject: ['', 'contoso.co', 'contoso.com.evil.example', 'contosoxcom', 'ontoso.com'],
  },
  '* matches every name': {
    pattern: '*',
    accept: ['a', 'mcr.microsoft.com', 'management.azure.com.evil.example', 'xn--bcher-kva.example'],
    reject: [''],
  },
  'an IDN pattern is written and matched in punycode': {
    pattern: '*.xn--bcher-kva.example',
    accept: ['shop.xn--bcher-kva.example'],
    reject: ['', 'xn--bcher-kva.example', 'shop.bücher.example', 'shop.xn--bcher-kva.example.com'],
  },
  'a pattern with a hyphenated tail': {
    pattern: '*-mirror.azureedge.net',
    accept: ['acs-mirror.azureedge.net', 'x.acs-mirror.azureedge.net'],
    reject: ['', 'mirror.azureedge.net', 'acs-mirror.azureedge.net.evil.example'],
  },
}

function trieMatches(pattern: string, name: string): boolean {
  const parsed = parseFqdnPattern(pattern)
  assert.ok(parsed.ok)
  const trie = new FqdnTrie<number>()
  trie.insert(parsed.pattern, 1)
  const out: number[][] = []
  if (name !== '') trie.collect(name, out)
  return out.length > 0
}

describe('FQDN patterns: accept and reject', () => {
  for (const [title, c] of Object.entries(CASES)) {
    test(title, () => {
      const parsed = parseFqdnPattern(c.pattern)
      assert.ok(parsed.ok, `pattern ${c.pattern} parses`)
      for (const name of c.accept) {
        assert.equal(matchFqdnPattern(parsed.pattern, name), true, `reference: ${c.pattern} accepts ${name}`)
        assert.equal(trieMatches(c.pattern, name), true, `trie: ${c.pattern} accepts ${name}`)
      }
      for (const name of c.reject) {
        assert.equal(matchFqdnPattern(parsed.pattern, name), false, `reference: ${c.pattern} rejects ${JSON.stringify(name)}`)
        assert.equal(trieMatches(c.pattern, name), false, `trie: ${c.pattern} rejects ${JSON.stringify(name)}`)
      }
    })
  }
})

describe('the engine compares names case-insensitively, without the trailing dot', () => {
  const engine = compilePolicy(policy([group('g', 100, coll('application', 'c', 100, 'Allow', [app('mcr', ['mcr.microsoft.com', '*.data.mcr.microsoft.com'])]))]))
  const decide = (sni: string): string => engine.decide({ protocol: 'https', sni, destinationPort: 443 }).code
  test('upper case and a trailing dot in the SNI still match', () => {
    assert.equal(decide('MCR.Microsoft.COM'), 'APPLICATION_RULE_ALLOW')
    assert.equal(decide('mcr.microsoft.com.'), 'APPLICATION_RULE_ALLOW')
    assert.equal(decide('WestEurope.Data.MCR.microsoft.com.'), 'APPLICATION_RULE_ALLOW')
  })
  test('the root, an empty name, two trailing dots and Unicode are not valid names', () => {
    assert.equal(decide('.'), 'INVALID_HOST')
    assert.equal(decide(''), 'INVALID_HOST')
    assert.equal(decide('mcr.microsoft.com..'), 'INVALID_HOST')
    assert.equal(decide('mcr.micrösoft.com'), 'INVALID_HOST')
  })
  test('look-alike suffixes are denied by default', () => {
    assert.equal(decide('management.azure.com.evil.example'), 'DEFAULT_DENY')
    assert.equal(decide('mcr.microsoft.com.evil.example'), 'DEFAULT_DENY')
    assert.equal(decide('data.mcr.microsoft.com'), 'DEFAULT_DENY')
  })
})

describe('patterns Azure Firewall rejects are rejected, with the nearest valid form', () => {
  const rejects: Array<[string, string, string | undefined]> = [
    ['www.*.contoso.com', 'wildcard-position', '*.contoso.com'],
    ['www.contoso.*', 'wildcard-position', undefined],
    ['*.contoso.*', 'wildcard-position', undefined],
    ['a*.contoso.com', 'wildcard-position', '*.contoso.com'],
    ['**.contoso.com', 'wildcard-double', '*.contoso.com'],
    ['*.', 'empty', undefined],
    ['*..contoso.com', 'empty-label', undefined],
    ['', 'empty', undefined],
    ['exa mple.com', 'bad-character', undefined],
    ['-x.contoso.com', 'hyphen-edge', undefined],
    [`${'a'.repeat(64)}.com`, 'label-too-long', undefined],
    ['10.0.0.1', 'ip-literal', undefined],
  ]
  for (const [input, problem, suggestion] of rejects) {
    test(JSON.stringify(input), () => {
      const parsed = parseFqdnPattern(input)
      assert.deepEqual(parsed.ok ? 'accepted' : { problem: parsed.problem, suggestion: parsed.suggestion }, { problem, suggestion })
    })
  }
  test('non-normal forms parse, and say their normal form', () => {
    for (const [input, normal] of [
      ['MCR.microsoft.com', 'mcr.microsoft.com'],
      ['mcr.microsoft.com.', 'mcr.microsoft.com'],
      ['*.Bücher.example', '*.xn--bcher-kva.example'],
      ['*Contoso.COM', '*contoso.com'],
    ] as const) {
      const parsed = parseFqdnPattern(input)
      assert.ok(parsed.ok, input)
      assert.equal(parsed.normal, normal)
    }
  })
})
