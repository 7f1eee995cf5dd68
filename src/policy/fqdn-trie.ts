/**
 * @module A reversed-label trie over FQDN patterns, compiled once per policy. A lookup walks the
 * name's labels right to left, one `Map` probe per label, and collects the value lists of every
 * pattern that matches; no regular expression, no backtracking (DESIGN.md §2).
 *
 * At the node for suffix `b.com`:
 * - `exact`     values of pattern `b.com`, collected when the name ends here;
 * - `subdomain` values of `*.b.com`, collected when at least one more label is left;
 * - `tails`     values of `*xb.com`-style patterns, keyed by the tail (`x`... `b` in `*b.com` is
 *               the tail at the node for `com`), collected when the next label ends with the tail.
 *               The tails of a node are a trie of their characters read backwards, so a lookup
 *               walks the label from its end once, whatever the number of tails (a list scanned
 *               with `endsWith` cost one comparison per suffix pattern of the base: thousands at
 *               `com` in a large policy).
 * The root's `any` holds `*`. Leaves have no `children` map (most nodes are leaves).
 */
import type { FqdnPattern } from './fqdn-pattern.ts'

interface Node<T> {
  children: Map<string, Node<T>> | undefined
  exact: T[] | undefined
  subdomain: T[] | undefined
  tails: TailNode<T> | undefined
}

/** A node of the backwards character trie of tails: `values` of the tail that ends here. */
interface TailNode<T> {
  next: Map<number, TailNode<T>> | undefined
  values: T[] | undefined
}

function newNode<T>(): Node<T> {
  return { children: undefined, exact: undefined, subdomain: undefined, tails: undefined }
}

export class FqdnTrie<T> {
  readonly #root: Node<T> = newNode()
  #any: T[] | undefined
  #size = 0

  get size(): number {
    return this.#size
  }

  #nodeFor(base: string): Node<T> {
    let node = this.#root
    if (base === '') return node
    let end = base.length
    while (end > 0) {
      const dot = base.lastIndexOf('.', end - 1)
      const label = base.slice(dot + 1, end)
      const children = (node.children ??= new Map<string, Node<T>>())
      let child = children.get(label)
      if (!child) {
        child = newNode()
        children.set(label, child)
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
        const node = this.#nodeFor(pattern.name)
        ;(node.exact ??= []).push(value)
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
   * Pushes onto `out` every value list whose pattern matches `name` (normal form). Allocation:
   * the label substrings only.
   */
  collect(name: string, out: T[][]): void {
    if (this.#any) out.push(this.#any)
    let node = this.#root
    let end = name.length
    while (end > 0) {
      // The label's start: a plain backwards scan (cheaper here than lastIndexOf, a builtin call).
      let dot = end - 1
      while (dot >= 0 && name.charCodeAt(dot) !== 0x2e) dot--
      const start = dot + 1
      // Labels remain to the left of `node`'s suffix: subdomain patterns match.
      if (node.subdomain) out.push(node.subdomain)
      if (node.tails) collectTails(node.tails, name, start, end, out)
      const child = node.children?.get(name.slice(start, end))
      if (!child) return
      node = child
      end = dot === -1 ? 0 : dot
    }
    if (node.exact) out.push(node.exact)
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
