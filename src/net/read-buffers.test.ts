// ReadBuffers: which buffer each read goes into, when a chunk is a view, and when an own buffer
// may go back to the pool (only once the view read into it last is settled).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { readBufferPool, ReadBuffers } from './read-buffers.ts'

/** Writes `n` bytes of `fill` into the buffer the next read goes into, as the kernel would, and takes the chunk. */
function read(b: ReadBuffers, n: number, fill: number): Buffer {
  const buf = b.next
  buf.fill(fill, 0, n)
  return b.chunkOf(buf, n)
}

/** Empties the process-wide pool (other tests of this file may have left buffers in it). */
function drainPool(): void {
  const takers: ReadBuffers[] = []
  while (readBufferPool().pooled > 0) {
    const t = new ReadBuffers()
    read(t, 16 * 1024, 0)
    takers.push(t)
  }
}

test('small reads are copies of the shared buffer, not views', () => {
  const b = new ReadBuffers()
  const shared = b.next
  const c = read(b, 100, 1)
  assert.equal(b.borrowed, false)
  assert.equal(b.next, shared)
  assert.notEqual(c.buffer, shared.buffer)
  read(b, 200, 2)
  assert.deepEqual([...new Set(c)], [1], 'a copy is not overwritten by the next read')
})

test('a read that fills the shared buffer starts a burst: its bytes open an own buffer, the next reads go there without copies', () => {
  drainPool()
  const b = new ReadBuffers()
  const shared = b.next
  const first = read(b, 16 * 1024, 7)
  assert.equal(b.borrowed, true)
  assert.notEqual(b.next, shared)
  assert.equal(b.next.length, 64 * 1024)
  assert.equal(first.buffer, b.next.buffer, 'the first chunk is a view of the own buffer')
  assert.deepEqual([...new Set(first)], [7])
  const own = b.next
  const second = read(b, 64 * 1024, 8)
  assert.equal(b.borrowed, true)
  assert.equal(second.buffer, own.buffer)
  assert.equal(b.next, own, 'a full read keeps the own buffer')
  read(b, 8 * 1024, 9)
  assert.equal(b.next, own, 'a read of 4 KiB or more keeps it')
})

test('a small read ends the burst; the own buffer is pooled only once its last view is settled, then reused', () => {
  drainPool()
  const a = new ReadBuffers()
  read(a, 16 * 1024, 1)
  const own = a.next
  const last = read(a, 100, 2)
  assert.equal(a.borrowed, true)
  assert.equal(last.buffer, own.buffer)
  assert.notEqual(a.next, own, 'the next read goes to the shared buffer')
  assert.equal(readBufferPool().pooled, 0, 'not pooled while the view may be in a pending write')
  // Another socket's burst meanwhile gets a buffer of its own, not the one the view is in.
  const b = new ReadBuffers()
  read(b, 16 * 1024, 3)
  assert.notEqual(b.next, own)
  assert.deepEqual([...new Set(last)], [2], 'the unsettled view is untouched')
  a.settled()
  assert.equal(readBufferPool().pooled, 1)
  a.settled()
  assert.equal(readBufferPool().pooled, 1, 'settled twice pools once')
  const c = new ReadBuffers()
  const before = readBufferPool().reused
  const first = read(c, 16 * 1024, 4)
  assert.equal(c.next, own, 'the next burst takes the pooled buffer')
  assert.equal(readBufferPool().reused, before + 1)
  assert.equal(first.length, 16 * 1024)
  assert.deepEqual([...new Set(first)], [4], 'the chunk is this read\'s bytes only, not the old ones after them')
  assert.equal(readBufferPool().pooled, 0)
})

test('a read settles the view before it: the socket reads again only once that write is done', () => {
  drainPool()
  const a = new ReadBuffers()
  read(a, 16 * 1024, 1)
  read(a, 10, 2)
  assert.equal(readBufferPool().pooled, 0)
  read(a, 10, 3)
  assert.equal(readBufferPool().pooled, 1)
})

test('the pool is bounded: idle tunnels leave at most 16 buffers behind', () => {
  drainPool()
  const many = Array.from({ length: 40 }, () => new ReadBuffers())
  for (const b of many) read(b, 16 * 1024, 1)
  for (const b of many) {
    read(b, 1, 2)
    b.settled()
  }
  assert.equal(readBufferPool().pooled, 16)
  drainPool()
})
