/**
 * @module Reads a client's first bytes until a parser can decide (a complete ClientHello or
 * request head), within a time bound, without losing any: the bytes are kept for replay to the
 * origin. The buffer grows by doubling; the parsers stop it at their own byte bound.
 *
 * Most request heads and ClientHellos arrive in one read: the socket's chunk (a fresh Buffer of
 * its own, which Node never reuses) is then parsed and kept as it is. A buffer is allocated and
 * the bytes copied only when a second piece comes (or for `initial`, which belongs to the caller):
 * per new connection that was a 4 KiB allocation and a copy per read.
 */
import type { Socket } from 'node:net'

const EMPTY = Buffer.alloc(0)

export type ReadInitialResult<T> =
  | { readonly kind: 'done'; readonly value: T; readonly data: Buffer }
  | { readonly kind: 'timeout'; readonly data: Buffer }
  | { readonly kind: 'closed'; readonly data: Buffer }

/**
 * `step(data, scanned)` returns a value when it can decide, undefined to wait for more;
 * `scanned` is the length `step` saw last time (parsers resume there).
 * `firstByteTimeoutMs` (a kept-alive connection between requests): how long to wait for the first
 * byte when there is none yet; `timeoutMs` then bounds the rest from that byte on.
 * The socket is left paused, with no listener of this module.
 */
export function readInitial<T>(
  socket: Socket,
  initial: Uint8Array | undefined,
  timeoutMs: number,
  step: (data: Buffer, scanned: number) => T | undefined,
  firstByteTimeoutMs?: number,
): Promise<ReadInitialResult<T>> {
  return new Promise((resolve) => {
    /** The bytes so far: a socket's chunk as it came, or a prefix of `buf`. */
    let data: Buffer = EMPTY
    /** The copy that pieces are gathered in, once there are two. */
    let buf: Buffer | undefined
    /** `data` is a prefix of `buf` (else a chunk as it came, or nothing). */
    let gathered = false
    let length = 0
    let scanned = 0
    let settled = false
    const append = (chunk: Uint8Array, own: boolean): void => {
      if (length === 0 && own) {
        data = chunk as Buffer
        length = chunk.length
        return
      }
      if (buf === undefined || !gathered || length + chunk.length > buf.length) {
        const next = Buffer.allocUnsafe(Math.max(4096, (buf?.length ?? 0) * 2, length + chunk.length))
        data.copy(next, 0, 0, length)
        buf = next
        gathered = true
      }
      buf.set(chunk, length)
      length += chunk.length
      data = buf.subarray(0, length)
    }
    const finish = (result: ReadInitialResult<T>): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.pause()
      socket.removeListener('data', onData)
      socket.removeListener('end', onEnd)
      socket.removeListener('close', onEnd)
      resolve(result)
    }
    const attempt = (): boolean => {
      const value = step(data, scanned)
      scanned = length
      if (value === undefined) return false
      finish({ kind: 'done', value, data })
      return true
    }
    const onData = (chunk: Buffer): void => {
      if (length === 0 && waitingFirstByte) {
        waitingFirstByte = false
        clearTimeout(timer)
        timer = setTimeout(onTimeout, timeoutMs)
      }
      append(chunk, true)
      attempt()
    }
    const onEnd = (): void => {
      finish({ kind: 'closed', data })
    }
    const onTimeout = (): void => {
      finish({ kind: 'timeout', data })
    }
    const empty = !initial || initial.length === 0
    let waitingFirstByte = empty && firstByteTimeoutMs !== undefined
    let timer = setTimeout(onTimeout, waitingFirstByte ? firstByteTimeoutMs : timeoutMs)
    if (initial && initial.length > 0) {
      append(initial, false)
      if (attempt()) return
    }
    if (socket.destroyed || socket.readableEnded) {
      onEnd()
      return
    }
    socket.on('data', onData)
    socket.once('end', onEnd)
    socket.once('close', onEnd)
    socket.resume()
  })
}
