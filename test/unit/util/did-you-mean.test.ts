import assert from 'node:assert/strict'
import { test } from 'node:test'
import { didYouMean, editDistance } from '../../../src/util/did-you-mean.ts'

test('edit distance counts insertions, deletions, substitutions and adjacent swaps as one', () => {
  assert.equal(editDistance('', ''), 0)
  assert.equal(editDistance('abc', ''), 3)
  assert.equal(editDistance('westeurop', 'westeurope'), 1)
  assert.equal(editDistance('westeurpoe', 'westeurope'), 1)
  assert.equal(editDistance('upd', 'udp'), 1)
  assert.equal(editDistance('kitten', 'sitting'), 3)
})

test('suggestions: closest word, case-insensitive, nothing when far', () => {
  assert.equal(didYouMean('UPD', ['TCP', 'UDP', 'ICMP', 'Any']), 'UDP')
  assert.equal(didYouMean('westeurop', ['westeurope', 'northeurope']), 'westeurope')
  assert.equal(didYouMean('rulez', ['name', 'priority', 'rules']), 'rules')
  assert.equal(didYouMean('xyz', ['westeurope', 'northeurope']), undefined)
  assert.equal(didYouMean('Monitoring', ['monitoring', 'gpu']), 'monitoring')
})
