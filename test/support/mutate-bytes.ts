// Byte-level mutations of valid inputs for the property tests of the parsers and of the proxy:
// each edit flips, inserts or deletes one byte, or truncates, at a position taken modulo the length.
import fc from 'fast-check'

export type ByteEdit = readonly [position: number, byte: number, op: 'flip' | 'insert' | 'delete' | 'truncate']

/** `seed` with the edits applied in order (the seed itself is not changed). */
export function mutateBytes(seed: Buffer, edits: readonly ByteEdit[]): Buffer {
  let b = Buffer.from(seed)
  for (const [pos, byte, op] of edits) {
    const i = b.length === 0 ? 0 : pos % b.length
    if (op === 'flip') b[i] = byte
    else if (op === 'insert') b = Buffer.concat([b.subarray(0, i), Buffer.from([byte]), b.subarray(i)])
    else if (op === 'delete') b = Buffer.concat([b.subarray(0, i), b.subarray(i + 1)])
    else b = b.subarray(0, i)
  }
  return b
}

/** Up to `maxLength` edits. */
export function byteEdits(maxLength: number): fc.Arbitrary<ByteEdit[]> {
  return fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('flip' as const, 'insert' as const, 'delete' as const, 'truncate' as const)), { maxLength })
}
