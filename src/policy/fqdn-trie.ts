/**
 * @module FQDN pattern lookup, compiled once per policy: no regular expression, no backtracking
 * (DESIGN.md §2).
 *
 * - Exact names sit in one `Map` keyed by the whole name: one probe, whatever the depth.
 * - Wildcards sit in a reversed-label trie. A lookup walks the name's labels right to left and
 *   stops at the first label no wildcard continues with, so most names leave the trie after one or
 *   two labels. At the node for suffix `b.com`:
 *   - `subdomain` values of `*.b.com`, collected when at least one more label is left;
 *   - `tails`     values of `*xb.com`-style patterns (`*` then the end of a label, then `.com`),
 *                 as a trie of the tail's characters read backwards, so a lookup walks the label
 *                 from its end once, whatever the number of tails.
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
  tails: TailNode<T> | undefined
}

/** A node of the backwards character trie of tails: `values` of the tail that ends here. */
interface TailNode<T> {
  next: Map<number, TailNode<T>> | undefined
  values: T[] | undefined
}

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
        let t = (node.tails ??= { next: undefined, values: undefined })
        for (let i = pattern.tail.length - 1; i >= 0; i--) {
          const next = (t.next ??= new Map<number, TailNode<T>>())
          const c = pattern.tail.charCodeAt(i)
          let n = next.get(c)
          if (!n) {
            n = { next: undefined, values: undefined }
            next.set(c, n)
          }
          t = n
        }
        ;(t.values ??= []).push(value)
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
function collectTails<T>(root: TailNode<T>, name: string, start: number, end: number, out: T[][]): void {
  let t: TailNode<T> | undefined = root
  for (let i = end - 1; i >= start; i--) {
    t = t.next?.get(name.charCodeAt(i))
    if (!t) return
    if (t.values) out.push(t.values)
  }
}
