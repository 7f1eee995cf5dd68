/**
 * @module Writing a policy as commented YAML (what `aks-egress policy init` prints): the profile,
 * the settings, and each rule with the catalog entry it implements as a comment. Entries left out
 * for want of a parameter are written as commented-out rules that say what to give.
 */
import { Document, isSeq, isScalar, visit, type Node } from 'yaml'
import type { ResolvedEndpoint } from '../catalog/profile.ts'
import type { DefaultPolicy } from '../policy/default-policy.ts'
import type { Policy } from '../policy/policy-model.ts'

const FLAGS: Record<string, string> = {
  location: '--location',
  'api-server-ip': '--api-server',
  'dns-server-ip': '--dns-server',
  'dev-spaces-fqdn': '--dev-spaces-fqdn',
}

/** The policy as the plain object written to YAML (keys in the documented order). */
export function policyToPlain(policy: Policy): Record<string, unknown> {
  const p = policy.profile
  const omitEmpty = <T>(key: string, list: readonly T[]): Record<string, T[]> => (list.length > 0 ? { [key]: [...list] } : {})
  return {
    apiVersion: policy.apiVersion,
    name: policy.name,
    ...(p
      ? {
          profile: {
            cloud: p.cloud,
            ...(p.location === undefined ? {} : { location: p.location }),
            catalog: p.catalog,
            features: [...p.features],
            recommended: p.recommended,
            ...(p.apiServerIp === undefined ? {} : { apiServerIp: p.apiServerIp }),
            ...omitEmpty('nodeCidrs', p.nodeCidrs),
            ...(p.dnsServerIp === undefined ? {} : { dnsServerIp: p.dnsServerIp }),
            ...(p.devSpacesFqdn === undefined ? {} : { devSpacesFqdn: p.devSpacesFqdn }),
          },
        }
      : {}),
    settings: {
      mode: policy.settings.mode,
      dnsPolicy: policy.settings.dnsPolicy,
      unsafeAllowPrivateRanges: [...policy.settings.unsafeAllowPrivateRanges],
    },
    ...(Object.keys(policy.ipGroups).length > 0 ? { ipGroups: Object.fromEntries(Object.entries(policy.ipGroups).map(([k, v]) => [k, [...v]])) } : {}),
    ruleCollectionGroups: policy.ruleCollectionGroups.map((g) => ({
      name: g.name,
      priority: g.priority,
      ruleCollections: g.ruleCollections.map((c) => ({
        name: c.name,
        type: c.type,
        priority: c.priority,
        action: c.action,
        rules: c.rules.map((r) => {
          const base = {
            name: r.name,
            ...(r.description === undefined ? {} : { description: r.description }),
            ...omitEmpty('sourceAddresses', r.sourceAddresses),
            ...omitEmpty('sourceIpGroups', r.sourceIpGroups),
          }
          if (c.type === 'application' && 'protocols' in r) {
            return { ...base, protocols: r.protocols.map((x) => `${x.type}:${x.port}`), ...omitEmpty('targetFqdns', r.targetFqdns), ...omitEmpty('fqdnTags', r.fqdnTags) }
          }
          if (c.type === 'network' && 'destinationPorts' in r) {
            return {
              ...base,
              ipProtocols: [...r.ipProtocols],
              ...omitEmpty('destinationAddresses', r.destinationAddresses),
              ...omitEmpty('destinationIpGroups', r.destinationIpGroups),
              ...omitEmpty('destinationFqdns', r.destinationFqdns),
              destinationPorts: [...r.destinationPorts],
            }
          }
          if ('translatedPort' in r) {
            return {
              ...base,
              ipProtocols: [...r.ipProtocols],
              destinationAddress: r.destinationAddress,
              destinationPort: r.destinationPort,
              ...(r.translatedAddress === undefined ? {} : { translatedAddress: r.translatedAddress }),
              ...(r.translatedFqdn === undefined ? {} : { translatedFqdn: r.translatedFqdn }),
              translatedPort: r.translatedPort,
            }
          }
          return base
        }),
      })),
    })),
  }
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim()
}

function wrapComment(text: string, width = 96): string {
  const out: string[] = []
  let line = ''
  for (const word of oneLine(text).split(' ')) {
    if (line.length + word.length + 1 > width && line !== '') {
      out.push(line)
      line = word
    } else line = line === '' ? word : `${line} ${word}`
  }
  if (line !== '') out.push(line)
  return out.map((l) => ` ${l}`).join('\n')
}

/** What a rule implements, as a comment above it. */
function originComment(e: ResolvedEndpoint): string {
  const parts = [`${e.entry.id}: ${oneLine(e.entry.purpose)}`]
  if (e.entry.condition) parts.push(`Needed ${e.entry.condition}.`)
  if (e.target !== e.entry.target || e.missing.length > 0) parts.push(`Catalog target: ${e.entry.target} (${e.entry.protocols.join(', ')}).`)
  return wrapComment(parts.join(' '))
}

function omittedComment(e: ResolvedEndpoint): string {
  const flags = e.missing.map((m) => FLAGS[m] ?? m).join(' and ')
  return wrapComment(
    `Left out: ${e.entry.id} (${e.entry.target} ${e.entry.protocols.join(', ')}) needs ${e.missing.map((m) => `<${m}>`).join(' and ')}${e.entry.condition ? `, ${e.entry.condition}` : ''}. Run policy init again with ${flags}, or add the rule by hand. ${oneLine(e.entry.purpose)}`,
  )
}

export interface WriteOptions {
  /** The command line that produced the policy, for the header. */
  readonly command?: string
}

/** The default policy of a profile as commented YAML. */
export function writeDefaultPolicy(def: DefaultPolicy, options: WriteOptions = {}): string {
  const { policy } = def
  const doc = new Document(policyToPlain(policy))
  const p = policy.profile
  const header = [
    ` aks-egress policy for the egress of AKS nodes: cloud ${p?.cloud ?? '?'}, region ${p?.location ?? '(not given)'}, catalog ${p?.catalog ?? '?'}${p && p.features.length > 0 ? `, add-ons ${p.features.join(', ')}` : ''}.`,
    ...(options.command ? [` Written by: ${options.command}`] : []),
    '',
    ' As written, it allows exactly what the catalog requires for this profile and denies the rest.',
    ' Azure Firewall semantics: DNAT rules first, then network rules, then application rules,',
    ' whatever the priorities; lower priorities first; the first match decides; no match is deny.',
    ' Check it:   aks-egress policy validate FILE',
    ' Try flows:  aks-egress explain --policy FILE https://mcr.microsoft.com',
    ' Schema:     aks-egress policy schema (for editor completion)',
  ]
  doc.commentBefore = header.join('\n')

  // Comments on the rules: the catalog entry each implements.
  policy.ruleCollectionGroups.forEach((g, gi) => {
    g.ruleCollections.forEach((c, ci) => {
      c.rules.forEach((r, ri) => {
        const origin = def.origins.get(`${g.name}/${c.name}/${r.name}`)
        const node = doc.getIn(['ruleCollectionGroups', gi, 'ruleCollections', ci, 'rules', ri], true) as Node | undefined
        if (origin && node) node.commentBefore = originComment(origin)
      })
    })
  })
  const settings = doc.getIn(['settings'], true) as Node | undefined
  if (settings) {
    settings.commentBefore =
      ' mode: enforce | report (allow everything, log what enforce would deny).\n dnsPolicy: allow-all | allowed-only (the DNS proxy refuses names no rule allows).\n unsafeAllowPrivateRanges: private blocks the firewall may dial (none by default).'
  }
  if (def.omitted.length > 0) doc.comment = ['', ...def.omitted.map(omittedComment)].join('\n')

  // Short lists of scalars read best on one line.
  visit(doc, {
    Seq(_, node) {
      if (isSeq(node) && node.items.length <= 6 && node.items.every((i) => isScalar(i))) node.flow = true
    },
  })
  return doc.toString({ lineWidth: 0, indentSeq: true, flowCollectionPadding: false })
}
