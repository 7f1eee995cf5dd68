// Golden files of the nftables compiler: the exact text `nft -f` receives, reviewed as a diff.
// UPDATE_GOLDEN=1 rewrites them (then read the diff before committing).
import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { test } from 'node:test'
import { compileNftables } from '../../../src/dataplane/nftables/compile-nftables.ts'
import { FIXTURES, GOLDEN_CASES } from './nftables-cases.ts'

for (const c of GOLDEN_CASES) {
  test(`nftables golden: ${c.name}`, () => {
    const text = compileNftables(c.policy(), c.options).text
    const file = `${FIXTURES}${c.name}.expected.nft`
    if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(file, text)
    assert.equal(text, readFileSync(file, 'utf8'))
  })
}
