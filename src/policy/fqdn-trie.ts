/**
 * @module FQDN pattern lookup, compiled once per policy: no regular expression, no backtracking
 * (DESIGN.md §2). A generic map from patterns to values of any type, filled one pattern at a time:
 * the DNS proxy's name policy and the nftables FQDN sets use it. The engine's `decide()` uses
 * the int32 hash index of fqdn-index.ts instead, built for throughput at 100,000 rules.
 *
 * - Exact names sit in one `Map` keyed by the whole name: one probe, whatever the depth.
 * - Wildcards sit in a reversed-label trie. A lookup walks the name's labels right to left and
 *   stops at the first label no wildcard continues with, so most names leave the trie after one or
 *   two labels. At the node for suffix `b.com`:
 *   - `subdomain` values of `*.b.com`, collected when at least one more label is left;
 *   - `tails`     values of `*xb.com`-style patterns (`*` then the end of a label, then `.com`),
 *                 hashed by the tail read backwards, so a lookup hashes the label from its end
 *                 once, probing at most as many times as the node's longest tail has characters,
 *                 whatever the number of tails.
 *   Children are keyed by a 31-bit hash of the label, computed from the name's characters in
 *   place (no substring per label), and confirmed by comparing the label.
 * - `*` is kept apart (`any`).
 */
import type { FqdnPattern } from './fqdn-pattern.ts'

interface Node<T> {
  /** The label this node stands for (its parent's key), for confirming a hash hit. */
  readonly label: string
  /** Another child of the same parent whose label has the same hash. */
  sibling: Node<T> | undefined
  children: Map<number, Node<T>> | undefined
  subdomain: T[] | undefined
  tails: Tails<T> | undefined
}

/**
 * The tails of one node (pattern `*ab.c.com` has tail `ab` at the node for `c.com`), in one map
 * keyed by a hash of the tail read backwards, so a lookup hashes the label from its end,
 * one character at a time, and probes once per character up to the longest tail of the node.
 */
interface Tails<T> {
  readonly byHash: Map<number, TailEntry<T>>
  maxLength: number
}

interface TailEntry<T> {
  readonly tail: string
  readonly values: T[]
  /** Another tail of the node with the same hash. */
  sibling: TailEntry<T> | undefined
}

/** FNV-1a over the characters of `s[start, end)` read from the end: the tail hash, step by step. */
function tailHashStep(h: number, c: number): number {
  return Math.imul(h ^ c, 0x01000193)
}
const TAIL_HASH_SEED = 0x811c9dc5

function newNode<T>(label: string): Node<T> {
  return { label, sibling: undefined, children: undefined, subdomain: undefined, tails: undefined }
}

/** FNV-1a over UTF-16 code units of `s[start, end)`, kept to 31 bits (a small integer for V8). */
function labelHash(s: string, start: number, end: number): number {
  let h = 0x811c9dc5
  for (let i = start; i < end; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
  return h & 0x7fffffff
}

export class FqdnTrie<T> {
  readonly #root: Node<T> = newNode('')
  readonly #exact = new Map<string, T[]>()
  #any: T[] | undefined
  #size = 0

  get size(): number {
    return this.#size
  }

  #nodeFor(base: string): Node<T> {
    let node = this.#root
    let end = base.length
    while (end > 0) {
      const dot = base.lastIndexOf('.', end - 1)
      const start = dot + 1
      const children = (node.children ??= new Map<number, Node<T>>())
      const h = labelHash(base, start, end)
      const label = base.slice(start, end)
      let child = children.get(h)
      while (child && child.label !== label) child = child.sibling
      if (!child) {
        child = newNode(label)
        child.sibling = children.get(h)
        children.set(h, child)
      }
      node = child
      end = dot === -1 ? 0 : dot
    }
    return node
  }

  insert(pattern: FqdnPattern, value: T): void {
    this.#size++
    switch (pattern.kind) {
      case 'any':
        ;(this.#any ??= []).push(value)
        return
      case 'exact': {
        const list = this.#exact.get(pattern.name)
        if (list) list.push(value)
        else this.#exact.set(pattern.name, [value])
        return
      }
      case 'subdomain': {
        const node = this.#nodeFor(pattern.base)
        ;(node.subdomain ??= []).push(value)
        return
      }
      case 'suffix': {
        const node = this.#nodeFor(pattern.base)
        const tails: Tails<T> = (node.tails ??= { byHash: new Map<number, TailEntry<T>>(), maxLength: 0 })
        let h = TAIL_HASH_SEED
        for (let i = pattern.tail.length - 1; i >= 0; i--) h = tailHashStep(h, pattern.tail.charCodeAt(i))
        const key = h & 0x7fffffff
        let entry: TailEntry<T> | undefined = tails.byHash.get(key)
        while (entry && entry.tail !== pattern.tail) entry = entry.sibling
        if (entry) entry.values.push(value)
        else {
          tails.byHash.set(key, { tail: pattern.tail, values: [value], sibling: tails.byHash.get(key) })
          tails.maxLength = Math.max(tails.maxLength, pattern.tail.length)
        }
        return
      }
    }
  }

  /** Pushes the values of `*` only: what matches a name that is an IP literal. */
  collectAny(out: T[][]): void {
    if (this.#any) out.push(this.#any)
  }

  /**
   * Pushes onto `out` every value list whose pattern matches `name` (normal form). Allocates
   * nothing.
   */
  collect(name: string, out: T[][]): void {
    if (this.#any) out.push(this.#any)
    const exact = this.#exact.get(name)
    if (exact) out.push(exact)
    let node = this.#root
    let end = name.length
    while (end > 0) {
      // The label's start: a plain backwards scan.
      let dot = end - 1
      while (dot >= 0 && name.charCodeAt(dot) !== 0x2e) dot--
      const start = dot + 1
      // Labels remain to the left of `node`'s suffix: subdomain patterns match.
      if (node.subdomain) out.push(node.subdomain)
      if (node.tails) collectTails(node.tails, name, start, end, out)
      const children = node.children
      if (!children) return
      let child = children.get(labelHash(name, start, end))
      while (child && !(child.label.length === end - start && name.startsWith(child.label, start))) child = child.sibling
      if (!child) return
      node = child
      end = dot === -1 ? 0 : dot
    }
  }
}

/** Pushes the values of every tail that `name[start, end)` (one label) ends with. */
function collectTails<T>(tails: Tails<T>, name: string, start: number, end: number, out: T[][]): void {
  const stop = Math.max(start, end - tails.maxLength)
  let h = TAIL_HASH_SEED
  for (let i = end - 1; i >= stop; i--) {
    h = tailHashStep(h, name.charCodeAt(i))
    let entry = tails.byHash.get(h & 0x7fffffff)
    while (entry) {
      const len = entry.tail.length
      if (len === end - i && name.startsWith(entry.tail, i)) {
        out.push(entry.values)
        break
      }
      entry = entry.sibling
    }
  }
}
