/**
 * @module Reads a client's first bytes until a parser can decide (a complete ClientHello or
 * request head), within a time bound, without losing any: the bytes are kept for replay to the
 * origin. The buffer grows by doubling; the parsers stop it at their own byte bound.
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
    // Allocated when a second read is needed: the usual head or ClientHello comes in one read,
    // which is then parsed where it lies (no 4 KiB buffer and copy per request on kept-alive
    // connections).
    let buf: Buffer = initial && initial.length > 0 ? Buffer.allocUnsafe(Math.max(4096, initial.length)) : EMPTY
    let length = 0
    let scanned = 0
    let settled = false
    const append = (chunk: Uint8Array): void => {
      if (length + chunk.length > buf.length) {
        const next = Buffer.allocUnsafe(Math.max(buf.length * 2, length + chunk.length, 4096))
        buf.copy(next, 0, 0, length)
        buf = next
      }
      buf.set(chunk, length)
      length += chunk.length
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
      const data = buf.subarray(0, length)
      const value = step(data, scanned)
      scanned = length
      if (value === undefined) return false
      finish({ kind: 'done', value, data })
      return true
    }
    const onData = (chunk: Buffer): void => {
      if (length === 0) {
        if (waitingFirstByte) {
          waitingFirstByte = false
          clearTimeout(timer)
          timer = setTimeout(onTimeout, timeoutMs)
        }
        // The first read: decided on it alone, it is the data (it is the socket's own Buffer).
        const value = step(chunk, 0)
        if (value !== undefined) {
          finish({ kind: 'done', value, data: chunk })
          return
        }
        scanned = chunk.length
      }
      append(chunk)
      attempt()
    }
    const onEnd = (): void => {
      finish({ kind: 'closed', data: buf.subarray(0, length) })
    }
    const onTimeout = (): void => {
      finish({ kind: 'timeout', data: buf.subarray(0, length) })
    }
    const empty = !initial || initial.length === 0
    let waitingFirstByte = empty && firstByteTimeoutMs !== undefined
    let timer = setTimeout(onTimeout, waitingFirstByte ? firstByteTimeoutMs : timeoutMs)
    if (initial && initial.length > 0) {
      append(initial)
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
