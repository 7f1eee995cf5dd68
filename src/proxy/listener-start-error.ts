/**
 * @module A listener `serve` could not open at start: which option named it, the address, and why
 * (the bind or listen error, whose `code` is kept), so that the message says which of several
 * listeners failed and the command can suggest a fix for the common causes.
 */
import { formatHostPort } from './authority.ts'

export class ListenerStartError extends Error {
  /** The system error code of the failure (EADDRINUSE, EACCES, EADDRNOTAVAIL, ...), when there is one. */
  readonly code: string | undefined

  constructor(
    /** The option that named the listener, e.g. `--listen`. */
    readonly option: string,
    readonly host: string,
    readonly port: number,
    cause: unknown,
    /**
     * What a fix changes, when the listener's address does not come from `option` itself (a
     * transparent listener: `--transparent-port-offset` and `--transparent-address`).
     */
    readonly changes?: { readonly port: string; readonly address: string },
  ) {
    const detail = cause instanceof Error ? cause.message : String(cause)
    super(`${option} ${formatHostPort(host, port)}: ${detail}`, { cause })
    this.name = 'ListenerStartError'
    const code = cause instanceof Error ? (cause as NodeJS.ErrnoException).code : undefined
    this.code = typeof code === 'string' ? code : undefined
  }

  /** What to do about it, for the causes that have a usual fix. */
  fix(): string | undefined {
    const c = this.changes
    if (c) {
      switch (this.code) {
        case 'EADDRINUSE':
          return `another process listens on ${formatHostPort(this.host, this.port)}: stop it, or give ${c.port} another offset ("ephemeral" picks free ports)`
        case 'EACCES':
          return `ports below 1024 need root or CAP_NET_BIND_SERVICE: run as root, or give ${c.port} an offset that puts the listeners above 1023`
        case 'EADDRNOTAVAIL':
          return `${this.host} is not an address of this host: give ${c.address} one of its addresses (ip -brief address), 0.0.0.0 or ::`
        default:
          return undefined
      }
    }
    switch (this.code) {
      case 'EADDRINUSE':
        return `another process listens on ${formatHostPort(this.host, this.port)}: stop it, or give ${this.option} another port (port 0 picks a free one)`
      case 'EACCES':
        return `ports below 1024 need root or CAP_NET_BIND_SERVICE: run as root, or give ${this.option} a port above 1023`
      case 'EADDRNOTAVAIL':
        return `${this.host} is not an address of this host: give ${this.option} one of its addresses (ip -brief address), 0.0.0.0 or ::`
      default:
        return undefined
    }
  }
}
