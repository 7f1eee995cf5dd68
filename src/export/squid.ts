/**
 * @module `aks-egress export squid`: a squid.conf fragment for an explicit HTTP proxy (the AKS
 * `httpProxyConfig`): application rules as `http_access` lines (HTTP by `dstdomain`, HTTPS by the
 * CONNECT host), then `ssl_bump peek` at step 1 and `splice` only where the TLS SNI is allowed
 * too, so a CONNECT to an allowed name cannot carry another name in its ClientHello
 * (peers.md §4; gh-aw-firewall's domain-fronting fix). TLS is never decrypted.
 *
 * Name semantics, kept exact: Squid's `.example.com` also matches the apex, ours does not
 * (`*.example.com` is subdomains only, Azure's), so subdomain and suffix patterns become anchored
 * regular expressions (`dstdom_regex`, `ssl::server_name_regex`); exact names stay exact.
 * Processing order is Squid's: first matching `http_access` line; lines follow the policy's
 * application rules in Azure's processing order. Network and DNAT rules are not HTTP: they are
 * outside what a proxy carries (warnings). `Mssql` is not proxied (error).
 */
import type { Diagnostic } from '../diagnostics/diagnostic.ts'
import type { Policy } from '../policy/policy-model.ts'
import { headerLines, unsupported, type Exporter, type ExportOptions, type ExportResult } from './exporter.ts'
import { classifyAddress, expandIpGroups, fqdnTagNames, patternOf, rulesInProcessingOrder } from './policy-walk.ts'

const TARGET = 'squid'
const P = 'aks_egress'

function regexOf(pattern: string): string | undefined {
  const p = patternOf(pattern)
  const esc = (s: string): string => s.replace(/[.\\^$|?*+()[\]{}]/g, '\\$&')
  if (p.kind === 'subdomain') return `\\.${esc(p.base)}$`
  if (p.kind === 'suffix') return `${esc(p.base === '' ? p.tail : `${p.tail}.${p.base}`)}$`
  return undefined
}

export function exportSquid(policy: Policy, options: ExportOptions): ExportResult {
  const diagnostics: Diagnostic[] = []
  const acls: string[] = []
  const access: string[] = []
  const bump: string[] = []
  if (policy.settings.mode === 'report') {
    diagnostics.push(unsupported({ target: TARGET, construct: 'mode: report', outcome: 'Squid has no report mode: the exported rules enforce', severity: 'warning' }))
  }
  if (policy.settings.dnsPolicy === 'allowed-only') {
    diagnostics.push(unsupported({ target: TARGET, construct: 'dnsPolicy: allowed-only', outcome: 'not expressed: a proxy does not answer DNS queries', severity: 'warning' }))
  }
  let n = 0
  for (const w of rulesInProcessingOrder(policy)) {
    if (w.type !== 'application') {
      diagnostics.push(
        unsupported({
          target: TARGET,
          rule: w.path,
          construct: `${w.type === 'dnat' ? 'DNAT' : 'network'} rule (not HTTP: a proxy never sees this traffic)`,
          outcome: 'not in the fragment: enforce it at L3/L4 (Azure Firewall, NSG, nftables)',
          severity: 'warning',
        }),
      )
      continue
    }
    const r = w.rule
    n++
    const id = `${P}_r${n}`
    const allow = w.action === 'Allow' ? 'allow' : 'deny'
    const lines: string[] = [`# ${w.path} (${w.action})`]
    // Names: exact ones, regexes for wildcards, or any.
    const names: string[] = [...r.targetFqdns]
    for (const tag of r.fqdnTags) {
      const expanded = fqdnTagNames(policy, tag)
      names.push(...expanded)
      diagnostics.push(
        unsupported({
          target: TARGET,
          rule: w.path,
          construct: `FQDN tag ${tag} (an Azure Firewall tag)`,
          outcome: `expanded to the ${expanded.length} names of catalog ${policy.profile?.catalog ?? '?'} for the profile (Microsoft updates the tag, this list is fixed at export)`,
          severity: 'warning',
        }),
      )
    }
    const any = names.includes('*')
    const exact = [...new Set(names.filter((x) => patternOf(x).kind === 'exact'))]
    const regexes = [...new Set(names.map(regexOf).filter((x): x is string => x !== undefined))]
    const src = [...r.sourceAddresses, ...expandIpGroups(policy, r.sourceIpGroups)]
    const srcAcl = src.includes('*') || src.length === 0 ? '' : ` ${id}_src`
    if (srcAcl) lines.push(`acl ${id}_src src ${src.flatMap((s) => { const a = classifyAddress(s); return a.kind === 'block' ? a.cidrs : [s] }).join(' ')}`)
    const http = r.protocols.filter((p) => p.type === 'Http').map((p) => p.port)
    const https = r.protocols.filter((p) => p.type === 'Https').map((p) => p.port)
    const mssql = r.protocols.filter((p) => p.type === 'Mssql').map((p) => p.port)
    if (mssql.length > 0) {
      diagnostics.push(unsupported({ target: TARGET, rule: w.path, construct: `Mssql:${mssql.join(',')} (TDS, not HTTP)`, outcome: 'left out: Squid does not proxy SQL', severity: 'error', fix: 'allow it with a network rule at L4' }))
    }
    const hostAcls: string[] = []
    const sniAcls: string[] = []
    if (!any) {
      if (exact.length > 0) {
        if (http.length > 0) lines.push(`acl ${id}_host dstdomain -n ${exact.join(' ')}`)
        if (https.length > 0) lines.push(`acl ${id}_sni ssl::server_name ${exact.join(' ')}`)
        hostAcls.push(`${id}_host`)
        sniAcls.push(`${id}_sni`)
      }
      if (regexes.length > 0) {
        if (http.length > 0) lines.push(`acl ${id}_host_re dstdom_regex -n -i ${regexes.join(' ')}`)
        if (https.length > 0) lines.push(`acl ${id}_sni_re ssl::server_name_regex -i ${regexes.join(' ')}`)
        hostAcls.push(`${id}_host_re`)
        sniAcls.push(`${id}_sni_re`)
      }
    }
    const emitted = http.length + https.length > 0 && (any || hostAcls.length > 0)
    if (http.length > 0 && emitted) {
      lines.push(`acl ${id}_http_ports port ${http.join(' ')}`)
      for (const h of any ? [''] : hostAcls) access.push(`http_access ${allow} !${P}_connect ${id}_http_ports${srcAcl}${h ? ` ${h}` : ''}`)
    }
    if (https.length > 0 && emitted) {
      lines.push(`acl ${id}_https_ports port ${https.join(' ')}`)
      for (const h of any ? [''] : sniAcls) {
        access.push(`http_access ${allow} ${P}_connect ${id}_https_ports${srcAcl}${h ? ` ${h}` : ''}`)
        bump.push(`ssl_bump ${w.action === 'Allow' ? 'splice' : 'terminate'} ${id}_https_ports${srcAcl}${h ? ` ${h}` : ''}`)
      }
    }
    if (emitted) acls.push(...lines, '')
  }
  const header = headerLines(TARGET, policy, options, diagnostics)
  const text = [
    ...header.map((l) => `# ${l}`),
    '#',
    '# For an explicit proxy (AKS httpProxyConfig). Include it in squid.conf before any other',
    '# http_access line, with an ssl-bump port (peek and splice never decrypt; Squid still needs a',
    '# certificate to start the TLS machinery):',
    '#   http_port 3128 ssl-bump tls-cert=/etc/squid/bump.pem generate-host-certificates=off',
    '#   include /etc/squid/aks-egress.conf',
    '# HTTP is matched on the Host (dstdomain -n: never a reverse lookup), HTTPS on the CONNECT host',
    '# and then on the TLS SNI; `*.example.com` never matches example.com itself.',
    '',
    `acl ${P}_connect method CONNECT`,
    `acl ${P}_step1 at_step SslBump1`,
    '',
    ...acls,
    ...access,
    `http_access deny all`,
    '',
    `ssl_bump peek ${P}_step1`,
    ...bump,
    'ssl_bump terminate all',
    '',
  ].join('\n')
  return { text, diagnostics }
}

export const squidExporter: Exporter = {
  name: TARGET,
  description: 'squid.conf fragment: HTTP Host and TLS SNI allowlists (ssl_bump peek/splice), ports',
  extension: 'conf',
  uses: ['source'],
  export: exportSquid,
}
