/**
 * @module Where the rule at an ordinal (its processing position among the rules of its type) comes
 * from: its group, collection and name, and its collection's action. The engine needs them only
 * for the decision a rule gives, built on the rule's first match, so nothing is kept per rule:
 * the collections in processing order and the ordinal each starts at, searched on demand.
 */
import type { RuleCollection, RuleCollectionGroup, RuleRef } from './policy-model.ts'

export class RuleOrigins {
  readonly #type: 'network' | 'application'
  readonly #groups: RuleCollectionGroup[] = []
  readonly #collections: RuleCollection[] = []
  readonly #starts: number[] = []

  constructor(type: 'network' | 'application') {
    this.#type = type
  }

  /** The rules of `collection` take the ordinals from `start` on, in order. */
  add(group: RuleCollectionGroup, collection: RuleCollection, start: number): void {
    this.#groups.push(group)
    this.#collections.push(collection)
    this.#starts.push(start)
  }

  /** The index of the collection holding `ordinal` (the last one starting at or before it). */
  #find(ordinal: number): number {
    let lo = 0
    let hi = this.#starts.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1
      if (this.#starts[mid]! <= ordinal) lo = mid
      else hi = mid - 1
    }
    return lo
  }

  /** The rule at `ordinal`, and whether its collection allows. */
  of(ordinal: number): { ref: RuleRef; allow: boolean } {
    const k = this.#find(ordinal)
    const group = this.#groups[k]!
    const collection = this.#collections[k]!
    const rule = collection.rules[ordinal - this.#starts[k]!]!
    return { ref: { group: group.name, collection: collection.name, rule: rule.name, type: this.#type }, allow: collection.action === 'Allow' }
  }
}
