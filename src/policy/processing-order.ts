/**
 * @module The order Azure Firewall processes rules in (azure-facts §2.1, rule-processing.md):
 * "The system always processes application rules after network rules, and processes network
 * rules after DNAT rules regardless of rule collection group or rule collection priority".
 * Within one rule type: groups inherited from a parent policy first (the farthest ancestor
 * first: "parent policy rule collection groups always take precedence ... regardless of
 * priority"), then group priority, then collection priority, lower first; ties keep the order of
 * the policy file (the validator warns about them). Rules of a collection in order.
 */
import type { Policy, RuleCollection, RuleCollectionGroup, RuleCollectionType } from './policy-model.ts'

export interface OrderedCollection<C extends RuleCollection = RuleCollection> {
  readonly group: RuleCollectionGroup
  readonly collection: C
}

type CollectionOf<T extends RuleCollectionType> = Extract<RuleCollection, { type: T }>

function byPriority<T extends { readonly priority: number }>(items: readonly T[]): T[] {
  return items
    .map((item, index) => ({ item, index }))
    .sort((a, b) => a.item.priority - b.item.priority || a.index - b.index)
    .map((x) => x.item)
}

/** Groups in processing order: ancestors' groups first, then by priority. */
export function groupsInOrder(groups: readonly RuleCollectionGroup[]): RuleCollectionGroup[] {
  return groups
    .map((item, index) => ({ item, index, depth: item.inherited?.depth ?? 0 }))
    .sort((a, b) => b.depth - a.depth || a.item.priority - b.item.priority || a.index - b.index)
    .map((x) => x.item)
}

/** The collections of one rule type, in processing order. */
export function collectionsInOrder<T extends RuleCollectionType>(policy: Policy, type: T): Array<OrderedCollection<CollectionOf<T>>> {
  const out: Array<OrderedCollection<CollectionOf<T>>> = []
  for (const group of groupsInOrder(policy.ruleCollectionGroups)) {
    for (const collection of byPriority(group.ruleCollections)) {
      if (collection.type === type) out.push({ group, collection: collection as CollectionOf<T> })
    }
  }
  return out
}
