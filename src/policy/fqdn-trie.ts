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
 * The root's `any` holds `*`.
 */
import type { FqdnPattern } from './fqdn-pattern.ts'

interface Node<T> {
  readonly children: Map<string, Node<T>>
  exact: T[] | undefined
  subdomain: T[] | undefined
  tails: Array<{ readonly tail: string; readonly values: T[] }> | undefined
}

function newNode<T>(): Node<T> {
  return { children: new Map(), exact: undefined, subdomain: undefined, tails: undefined }
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
      let child = node.children.get(label)
      if (!child) {
        child = newNode()
        node.children.set(label, child)
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
        const tails = (node.tails ??= [])
        let entry = tails.find((t) => t.tail === pattern.tail)
        if (!entry) {
          entry = { tail: pattern.tail, values: [] }
          tails.push(entry)
        }
        entry.values.push(value)
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
      const dot = name.lastIndexOf('.', end - 1)
      const start = dot + 1
      // Labels remain to the left of `node`'s suffix: subdomain patterns match.
      if (node.subdomain) out.push(node.subdomain)
      const label = name.slice(start, end)
      if (node.tails) {
        for (const t of node.tails) if (label.endsWith(t.tail)) out.push(t.values)
      }
      const child = node.children.get(label)
      if (!child) return
      node = child
      end = dot === -1 ? 0 : dot
    }
    if (node.exact) out.push(node.exact)
  }
}
