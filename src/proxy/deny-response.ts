/**
 * @module What a denied client receives. HTTP clients (the explicit proxy before a tunnel is open,
 * the transparent HTTP listeners) get a status, the reason code in `X-Aks-Egress-Reason`, the rule
 * in `X-Aks-Egress-Rule`, and the reason in the body in Azure Firewall's wording ("Action: Deny.
 * Reason: ..."). TLS clients, once a tunnel is open or on a transparent TLS listener, get a fatal
 * `access_denied` alert (RFC 8446 §6.2), which TLS libraries report as such.
 */
import type { OutcomeCode, Verdict } from './outcome.ts'

/** TLSPlaintext{alert(21), 0x0303, length 2} Alert{fatal(2), access_denied(49)}. */
export const TLS_ALERT_ACCESS_DENIED: Buffer = Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x31])

export const REASON_HEADER = 'X-Aks-Egress-Reason'
export const RULE_HEADER = 'X-Aks-Egress-Rule'

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  403: 'Forbidden',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
}

/** The status of a denial with this code. */
export function statusFor(code: OutcomeCode): number {
  switch (code) {
    case 'BAD_REQUEST':
    case 'HOST_MISMATCH':
    case 'UNSUPPORTED_REQUEST':
    case 'CLIENT_HELLO_MALFORMED':
    case 'NOT_TLS':
      return 400
    case 'HEADER_TOO_LARGE':
      return 431
    case 'HANDSHAKE_TIMEOUT':
      return 408
    case 'AUTH_REQUIRED':
    case 'AUTH_FAILED':
      return 407
    case 'DNS_FAILED':
    case 'DIAL_FAILED':
    case 'BAD_RESPONSE':
      return 502
    case 'RESPONSE_TIMEOUT':
      return 504
    case 'TOO_MANY_FROM_SOURCE':
      return 429
    case 'TOO_MANY_CONNECTIONS':
      return 503
    default:
      return 403
  }
}

/** A complete HTTP/1.1 response that closes the connection. */
export function httpDenyResponse(verdict: Verdict, status: number = statusFor(verdict.code), extraHeaders: readonly string[] = []): string {
  const body = `Action: Deny. Reason: ${verdict.reason}.${verdict.rule ? ` Rule: ${verdict.rule}.` : ''}\n`
  const reason = STATUS_TEXT[status] ?? 'Error'
  return (
    `HTTP/1.1 ${status} ${reason}\r\n` +
    `${REASON_HEADER}: ${verdict.code}\r\n` +
    (verdict.rule ? `${RULE_HEADER}: ${verdict.rule}\r\n` : '') +
    extraHeaders.map((h) => `${h}\r\n`).join('') +
    'Content-Type: text/plain; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'Connection: close\r\n\r\n' +
    body
  )
}
