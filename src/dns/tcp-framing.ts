/**
 * @module DNS over TCP framing (RFC 1035 §4.2.2, RFC 7766 §8): each message is preceded by its
 * length as two bytes. The reader keeps at most `maxBufferedBytes` of an incomplete frame, so a
 * peer cannot make it hold more than one maximum message; a zero length is a framing error.
 */

export class FrameReader {
  readonly #max: number
  #buf: Buffer = Buffer.alloc(0)

  constructor(maxBufferedBytes: number) {
    this.#max = maxBufferedBytes
  }

  /** The bytes held for an incomplete frame. */
  get buffered(): number {
    return this.#buf.length
  }

  /** Adds bytes; returns the complete frames, or undefined on a framing error (close the connection). */
  push(chunk: Buffer): Buffer[] | undefined {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk])
    const frames: Buffer[] = []
    while (this.#buf.length >= 2) {
      const len = this.#buf.readUInt16BE(0)
      if (len === 0) return undefined
      if (this.#buf.length < 2 + len) break
      frames.push(this.#buf.subarray(2, 2 + len))
      this.#buf = this.#buf.subarray(2 + len)
    }
    if (this.#buf.length > this.#max) return undefined
    // Do not keep a large chunk alive for a few trailing bytes.
    if (this.#buf.length > 0 && this.#buf.byteOffset > 0) this.#buf = Buffer.from(this.#buf)
    return frames
  }
}

/** Prefixes a message with its two-byte length. */
export function frame(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(message.length + 2)
  out.writeUInt16BE(message.length, 0)
  message.copy(out, 2)
  return out
}
