import assert from 'node:assert/strict'
import { test } from 'node:test'
import { checkProxyAuth, parseAuthFile } from './proxy-auth.ts'

const basic = (s: string): string => `Basic ${Buffer.from(s).toString('base64')}`

test('auth file: user:password lines, comments, passwords with colons; bad lines reported', () => {
  const { auth, problems } = parseAuthFile('# users\nnode:s3cret\nci:a:b:c\r\n\nnocolon\n', 'aks-egress')
  assert.deepEqual(problems, [{ line: 5, message: 'expected user:password' }])
  assert.deepEqual([...auth.users.keys()], ['node', 'ci'])
  assert.equal(checkProxyAuth(auth, basic('node:s3cret')), 'ok')
  assert.equal(checkProxyAuth(auth, basic('ci:a:b:c')), 'ok')
  assert.equal(checkProxyAuth(auth, `basic  ${Buffer.from('node:s3cret').toString('base64')}`), 'ok')
  assert.equal(checkProxyAuth(auth, basic('node:wrong')), 'failed')
  assert.equal(checkProxyAuth(auth, basic('nobody:s3cret')), 'failed')
  assert.equal(checkProxyAuth(auth, 'Bearer x'), 'failed')
  assert.equal(checkProxyAuth(auth, basic('no-colon')), 'failed')
  assert.equal(checkProxyAuth(auth, undefined), 'missing')
  assert.deepEqual(parseAuthFile('\n', 'r').problems, [{ line: 1, message: 'the file names no user' }])
})
