// Table test of address classification (smokescreen's TestClassifyAddr, plus Azure's wireserver
// and IMDS): every deny class, the edges of each block, the proxy's own listeners, and what
// unsafeAllowPrivateRanges opens and what it never opens.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { classifyAddress, compileAllowedRanges, NO_ALLOWED_RANGES, type AddressClass, type ClassifyContext } from './classify-address.ts'

const ctx: ClassifyContext = {
  allowed: NO_ALLOWED_RANGES,
  listening: [
    { address: '10.0.0.4', port: 3128 },
    { address: '0.0.0.0', port: 443 },
  ],
  localAddresses: ['10.0.0.4', '192.168.7.7'],
}

const CASES: ReadonlyArray<readonly [string, number, AddressClass]> = [
  ['8.8.8.8', 443, 'public'],
  ['20.61.99.1', 443, 'public'],
  ['2606:4700::1111', 443, 'public'],
  ['10.0.0.1', 443, 'private'],
  ['10.255.255.255', 80, 'private'],
  ['172.16.0.1', 443, 'private'],
  ['172.31.255.255', 443, 'private'],
  ['172.32.0.1', 443, 'public'],
  ['172.15.255.255', 443, 'public'],
  ['192.168.1.1', 443, 'private'],
  ['fd00::1', 443, 'private'],
  ['fc00::1', 443, 'private'],
  ['100.64.0.1', 443, 'cgnat'],
  ['100.127.255.254', 443, 'cgnat'],
  ['100.63.255.254', 443, 'public'],
  ['100.128.0.1', 443, 'public'],
  ['127.0.0.1', 8443, 'loopback'],
  ['127.255.255.254', 8443, 'loopback'],
  ['::1', 8443, 'loopback'],
  ['169.254.169.254', 80, 'link-local'],
  ['169.254.0.1', 80, 'link-local'],
  ['fe80::1', 443, 'link-local'],
  ['168.63.129.16', 80, 'azure-wireserver'],
  ['168.63.129.17', 80, 'public'],
  ['224.0.0.1', 443, 'multicast'],
  ['239.255.255.250', 443, 'multicast'],
  ['ff02::2', 443, 'multicast'],
  ['255.255.255.255', 443, 'broadcast'],
  ['0.0.0.0', 8443, 'unspecified'],
  ['::', 443, 'unspecified'],
  ['0.1.2.3', 443, 'reserved'],
  ['192.0.2.1', 443, 'reserved'],
  ['198.51.100.7', 443, 'reserved'],
  ['203.0.113.9', 443, 'reserved'],
  ['198.18.0.1', 443, 'reserved'],
  ['240.0.0.1', 443, 'reserved'],
  ['2001:db8::1', 443, 'reserved'],
  ['::ffff:127.0.0.1', 443, 'ipv4-mapped'],
  ['::ffff:8.8.8.8', 443, 'ipv4-mapped'],
  ['64:ff9b::a00:1', 443, 'nat64'],
  ['64:ff9b:1::1', 443, 'nat64'],
  ['2002:a00:1::1', 443, '6to4'],
  ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 443, 'teredo'],
  ['10.0.0.4', 3128, 'self'],
  ['10.0.0.4', 3129, 'private'],
  ['192.168.7.7', 443, 'self'],
  ['127.0.0.9', 443, 'self'],
  ['not-an-ip', 443, 'reserved'],
]

for (const [address, port, cls] of CASES) {
  test(`${address} port ${port} is ${cls}`, () => {
    assert.deepEqual(classifyAddress(address, port, ctx), { cls, allowed: cls === 'public' })
  })
}

test('unsafeAllowPrivateRanges opens exactly the listed blocks', () => {
  const open: ClassifyContext = { ...ctx, allowed: compileAllowedRanges(['127.0.0.0/8', '10.1.0.0/16', '169.254.169.254']) }
  assert.deepEqual(classifyAddress('127.0.0.1', 8443, open), { cls: 'loopback', allowed: true })
  assert.deepEqual(classifyAddress('10.1.2.3', 443, open), { cls: 'private', allowed: true })
  assert.deepEqual(classifyAddress('10.2.0.1', 443, open), { cls: 'private', allowed: false })
  assert.deepEqual(classifyAddress('169.254.169.254', 80, open), { cls: 'link-local', allowed: true })
  assert.deepEqual(classifyAddress('100.64.0.1', 443, open), { cls: 'cgnat', allowed: false })
})

test('self, unspecified and IPv4-mapped addresses are never opened', () => {
  const open: ClassifyContext = { ...ctx, allowed: compileAllowedRanges(['*']) }
  assert.deepEqual(classifyAddress('10.0.0.4', 3128, open), { cls: 'self', allowed: false })
  assert.deepEqual(classifyAddress('0.0.0.0', 8443, open), { cls: 'unspecified', allowed: false })
  assert.deepEqual(classifyAddress('::ffff:10.0.0.9', 443, open), { cls: 'ipv4-mapped', allowed: false })
  assert.deepEqual(classifyAddress('fd00::9', 443, open), { cls: 'private', allowed: true })
})
