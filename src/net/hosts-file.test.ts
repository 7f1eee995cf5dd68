import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseHostsFile } from './hosts-file.ts'

test('hosts file: names in normal form, several lines and addresses per name, comments', () => {
  const parsed = parseHostsFile('# test\n127.0.0.2 MCR.microsoft.com. westeurope.data.mcr.microsoft.com\n\n::1\tmcr.microsoft.com # v6\n127.0.0.2 mcr.microsoft.com\n')
  assert.deepEqual(parsed.problems, [])
  assert.deepEqual([...parsed.table], [
    ['mcr.microsoft.com', ['127.0.0.2', '::1']],
    ['westeurope.data.mcr.microsoft.com', ['127.0.0.2']],
  ])
})

test('hosts file: every bad line is reported with its number', () => {
  const parsed = parseHostsFile('127.0.0.300 a.example\n10.0.0.1\n10.0.0.2 bad..name ok.example\n')
  assert.deepEqual(parsed.problems, [
    { line: 1, message: '"127.0.0.300" is not an IPv4 or IPv6 address' },
    { line: 2, message: 'address 10.0.0.1 has no name' },
    { line: 3, message: '"bad..name" is not a valid host name' },
  ])
  assert.deepEqual([...parsed.table], [['ok.example', ['10.0.0.2']]])
})
