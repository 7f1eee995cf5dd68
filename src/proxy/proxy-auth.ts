/**
 * @module Optional Basic authentication of the explicit proxy (RFC 9110 §11.7.2
 * Proxy-Authorization, RFC 7617 Basic). Credentials come from a file of `user:password` lines
 * (never from the command line, where `ps` shows them); they are kept as SHA-256 digests and
 * compared in constant time. AKS httpProxyConfig itself does not support proxy credentials
 * (azure-facts §3.3); this is for other clients of the same appliance.
 */
import { createHash, timingSafeEqual } from 'node:crypto'

export interface ProxyAuth {
  readonly realm: string
  /** user → SHA-256 of the password. */
  readonly users: ReadonlyMap<string, Buffer>
}

export interface AuthFileProblem {
  readonly line: number
  readonly message: string
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest()
}

export function parseAuthFile(text: string, realm: string): { auth: ProxyAuth; problems: AuthFileProblem[] } {
  const users = new Map<string, Buffer>()
  const problems: AuthFileProblem[] = []
  text.split('\n').forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
    if (line.trim() === '' || line.trimStart().startsWith('#')) return
    const colon = line.indexOf(':')
    if (colon <= 0) {
      problems.push({ line: i + 1, message: 'expected user:password' })
      return
    }
    users.set(line.slice(0, colon), digest(line.slice(colon + 1)))
  })
  if (users.size === 0 && problems.length === 0) problems.push({ line: 1, message: 'the file names no user' })
  return { auth: { realm, users }, problems }
}

export type AuthResult = 'ok' | 'missing' | 'failed'

/** Checks a Proxy-Authorization value. */
export function checkProxyAuth(auth: ProxyAuth, header: string | undefined): AuthResult {
  if (header === undefined) return 'missing'
  const space = header.indexOf(' ')
  if (space < 0 || header.slice(0, space).toLowerCase() !== 'basic') return 'failed'
  const decoded = Buffer.from(header.slice(space + 1).trim(), 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon <= 0) return 'failed'
  const expected = auth.users.get(decoded.slice(0, colon))
  const given = digest(decoded.slice(colon + 1))
  // Compare even for an unknown user, so that timing does not tell which users exist.
  const ok = timingSafeEqual(expected ?? digest('\u0000unknown'), given)
  return ok && expected !== undefined ? 'ok' : 'failed'
}
