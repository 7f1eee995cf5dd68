/**
 * @module Static name overrides for the proxy's resolver (`serve --hosts FILE`), in /etc/hosts
 * format: `ADDRESS NAME [NAME...]`, `#` to the end of a line is a comment. A name on several lines
 * gets every address, in file order. Names are compared in normal form (lower case, no trailing
 * dot). The addresses are still classified before any dial: an override cannot open a private
 * range the policy does not.
 */
import { canonicalHost } from '../policy/fqdn.ts'
import { parseRawAddress } from './classify-address.ts'

export const MAX_HOSTS_FILE_BYTES = 4 * 1024 * 1024

export type HostsTable = ReadonlyMap<string, readonly string[]>

export interface HostsProblem {
  readonly line: number
  readonly message: string
}

export interface ParsedHosts {
  readonly table: HostsTable
  readonly problems: readonly HostsProblem[]
}

function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\r'
}

/**
 * Parses hosts-file text; every bad line is reported.
 * @example parseHostsFile('127.0.0.2 mcr.microsoft.com\n').table.get('mcr.microsoft.com') // ['127.0.0.2']
 */
export function parseHostsFile(text: string): ParsedHosts {
  const table = new Map<string, string[]>()
  const problems: HostsProblem[] = []
  const lines = text.split('\n')
  lines.forEach((raw, index) => {
    const hash = raw.indexOf('#')
    const line = hash >= 0 ? raw.slice(0, hash) : raw
    const fields: string[] = []
    let start = -1
    for (let i = 0; i <= line.length; i++) {
      const c = i === line.length ? ' ' : line[i]!
      if (isSpace(c)) {
        if (start >= 0) fields.push(line.slice(start, i))
        start = -1
      } else if (start < 0) {
        start = i
      }
    }
    if (fields.length === 0) return
    const [address, ...names] = fields
    if (address === undefined || !parseRawAddress(address)) {
      problems.push({ line: index + 1, message: `"${address ?? ''}" is not an IPv4 or IPv6 address` })
      return
    }
    if (names.length === 0) {
      problems.push({ line: index + 1, message: `address ${address} has no name` })
      return
    }
    for (const n of names) {
      const name = canonicalHost(n)
      if (name === undefined) {
        problems.push({ line: index + 1, message: `"${n}" is not a valid host name` })
        continue
      }
      const list = table.get(name)
      if (list) {
        if (!list.includes(address)) list.push(address)
      } else {
        table.set(name, [address])
      }
    }
  })
  return { table, problems }
}
