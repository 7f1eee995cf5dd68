/**
 * @module `host[:port]` as HTTP writes it (RFC 9110 §4.2.3 authority, without userinfo): the Host
 * header, the CONNECT target, the authority of an absolute URI. Strict and linear: a reg-name of
 * letters, digits, `-`, `.` and `_` (no percent-encoding), an IPv4 literal, or an IPv6 literal in
 * brackets (no zone); a port of 1–5 digits in 1–65535. Userinfo (`user@host`) is refused: a
 * classic way to make a filter and an origin read different hosts (RFC 9110 §4.2.4).
 */
import { parseIpv6 } from '../policy/ip-address.ts'

export interface Authority {
  /** The host without brackets: a name as written (not yet normalised) or an IP literal. */
  readonly host: string
  /** True when `host` is an IPv6 literal (written in brackets). */
  readonly isIpv6: boolean
  /** The port, or undefined when none was written. */
  readonly port: number | undefined
}

function isRegNameChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x5f
  )
}

/** Parses a port of 1–5 digits in 1–65535; -1 otherwise. */
export function parsePort(s: string, start = 0, end = s.length): number {
  const len = end - start
  if (len < 1 || len > 5) return -1
  let n = 0
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x30 || c > 0x39) return -1
    n = n * 10 + (c - 0x30)
  }
  return n >= 1 && n <= 65535 ? n : -1
}

/**
 * Parses `host[:port]`; undefined when it is not a valid authority.
 * @example parseAuthority('[::1]:8443') // { host: '::1', isIpv6: true, port: 8443 }
 */
export function parseAuthority(s: string): Authority | undefined {
  if (s.length === 0 || s.length > 300) return undefined
  let hostEnd: number
  let host: string
  let isIpv6 = false
  if (s.charCodeAt(0) === 0x5b) {
    const close = s.indexOf(']')
    if (close < 0) return undefined
    host = s.slice(1, close)
    if (parseIpv6(host) === undefined) return undefined
    isIpv6 = true
    hostEnd = close + 1
    if (hostEnd !== s.length && s.charCodeAt(hostEnd) !== 0x3a) return undefined
  } else {
    hostEnd = 0
    while (hostEnd < s.length && s.charCodeAt(hostEnd) !== 0x3a) {
      if (!isRegNameChar(s.charCodeAt(hostEnd))) return undefined
      hostEnd++
    }
    if (hostEnd === 0) return undefined
    host = s.slice(0, hostEnd)
  }
  if (hostEnd === s.length) return { host, isIpv6, port: undefined }
  const port = parsePort(s, hostEnd + 1)
  if (port < 0) return undefined
  return { host, isIpv6, port }
}

/** `s` quoted for a message, cut after 80 characters (it came from the network). */
export function quoteCut(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s)
}

/**
 * Why `s` is not an authority, for a 400's reason: the value (cut) and, when it is only the port
 * that is wrong, that. Only for text `parseAuthority` refused.
 */
export function authorityProblem(s: string): string {
  const shown = quoteCut(s)
  const colon = s.lastIndexOf(':')
  const hostPart = colon > 0 ? s.slice(0, colon) : s
  if (colon > 0 && parseAuthority(hostPart) !== undefined && parsePort(s, colon + 1) < 0) return `${shown}: the port must be 1-65535`
  return `${shown} is not host[:port]`
}

/** `host:port` with brackets around IPv6, for logs, headers and CONNECT lines. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}
