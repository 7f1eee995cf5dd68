// Builds TLS ClientHellos byte by byte for parser tests, the corpus and e2e cases that real
// clients cannot produce (several records, 16 KiB+ hellos, duplicate extensions). The layout is
// RFC 8446 §4.1.2; every length is computed, so a case only says what it changes.

export interface HelloSpec {
  /** server_name host_name; undefined: no server_name extension. */
  readonly sni?: string
  readonly alpn?: readonly string[]
  /** Extra extensions, [type, body], appended in order. */
  readonly extensions?: ReadonlyArray<readonly [number, Uint8Array]>
  /** Bytes of a padding extension (RFC 7685, type 21) to add. */
  readonly paddingBytes?: number
  /** Split the handshake message into records of at most this many bytes (default 16384). */
  readonly recordBytes?: number
  /** Omit the extensions block entirely. */
  readonly noExtensions?: boolean
}

const u8 = (n: number): number[] => [n & 0xff]
const u16 = (n: number): number[] => [(n >> 8) & 0xff, n & 0xff]
const u24 = (n: number): number[] => [(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]

function ext(type: number, body: Uint8Array | number[]): number[] {
  return [...u16(type), ...u16(body.length), ...body]
}

export function serverNameBody(name: string): number[] {
  const host = [...Buffer.from(name, 'latin1')]
  const entry = [0, ...u16(host.length), ...host]
  return [...u16(entry.length), ...entry]
}

export function alpnBody(protocols: readonly string[]): number[] {
  const list = protocols.flatMap((p) => [...u8(p.length), ...Buffer.from(p, 'latin1')])
  return [...u16(list.length), ...list]
}

/** The handshake message (type 1, length, body). */
export function clientHelloMessage(spec: HelloSpec): Buffer {
  const body: number[] = [
    ...u16(0x0303),
    ...new Array<number>(32).fill(7), // random
    ...u8(32),
    ...new Array<number>(32).fill(9), // legacy_session_id
    ...u16(4),
    ...u16(0x1301),
    ...u16(0x1302), // cipher suites
    ...u8(1),
    0, // null compression
  ]
  if (!spec.noExtensions) {
    const exts: number[] = []
    if (spec.sni !== undefined) exts.push(...ext(0, serverNameBody(spec.sni)))
    if (spec.alpn) exts.push(...ext(16, alpnBody(spec.alpn)))
    exts.push(...ext(43, [...u8(2), ...u16(0x0304)])) // supported_versions: TLS 1.3
    for (const [type, b] of spec.extensions ?? []) exts.push(...ext(type, [...b]))
    if (spec.paddingBytes) exts.push(...ext(21, new Array<number>(spec.paddingBytes).fill(0)))
    body.push(...u16(exts.length), ...exts)
  }
  return Buffer.from([1, ...u24(body.length), ...body])
}

/** Wraps a handshake message in handshake records of at most `recordBytes` each. */
export function inRecords(message: Uint8Array, recordBytes = 16384): Buffer {
  const out: number[] = []
  for (let i = 0; i < message.length; i += recordBytes) {
    const part = message.subarray(i, Math.min(message.length, i + recordBytes))
    out.push(22, 3, 1, ...u16(part.length), ...part)
  }
  return Buffer.from(out)
}

export function buildClientHello(spec: HelloSpec): Buffer {
  return inRecords(clientHelloMessage(spec), spec.recordBytes ?? 16384)
}
