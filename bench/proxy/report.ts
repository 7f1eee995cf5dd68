/**
 * @module The proxy benchmark's section of docs/benchmarks.md (tables of medians, every run's
 * value, ratios to direct, squid and haproxy, the aims of issue 3) and its chart (an SVG written
 * to docs/ beside it, plus a text chart in the section itself).
 */
import { grouped } from '../stats.ts'
import { reconnects, targetInfo, WORKLOADS, type Aim, type ProxyBenchData, type Summary, type TargetId, type WorkloadId, type WorkloadInfo } from './model.ts'

function fmtRate(w: WorkloadInfo, v: number): string {
  return w.rateUnit === 'MiB/s' ? v.toFixed(0) : grouped(v)
}

function fmtCpu(w: WorkloadInfo, v: number | null): string {
  if (v === null) return '–'
  if (w.cpuUnit === 'CPU s per 1,000 conns') return v.toFixed(3)
  if (w.cpuUnit === 'CPU µs per request') return v.toFixed(1)
  return v.toFixed(2)
}

function fmtMs(v: number | null): string {
  return v === null ? '–' : v.toFixed(2)
}

function fmtAdded(v: number | null): string {
  if (v === null) return '–'
  return `${v >= 0 ? '+' : ''}${v.toFixed(2)}`
}

function ratio(a: number | null | undefined, b: number | null | undefined): string {
  if (a === null || a === undefined || b === null || b === undefined || b <= 0) return '–'
  return `${(a / b).toFixed(2)}×`
}

function label(t: TargetId): string {
  const i = targetInfo(t)
  return `${i.name} (${i.mode})`
}

function squidOf(w: WorkloadId): TargetId {
  return w === 'forward' ? 'squid-forward' : 'squid-connect'
}

/** The A/B of this tree against the baseline checkout: per-run ratios, medians of them. */
function baselineRows(d: ProxyBenchData): string[] {
  const b = d.baseline
  if (!b || !d.comparisons || d.comparisons.length === 0) return []
  const fmt = (v: number | null): string => (v === null ? '–' : v.toFixed(2))
  const out = [
    '### This tree against the baseline (A/B in the same runs)',
    '',
    `Baseline: \`${b.dir}\` at ${b.commit.slice(0, 12)}, its aks-egress run beside this tree's (the \`@base\` targets). ` +
      'Each ratio is this tree\'s figure over the baseline\'s **in the same run**; below 1.00 this tree uses less CPU per unit.',
    '',
    '| workload | aks-egress mode | CPU per unit, this tree / base (median) | per run | rate, this tree / base (median) | per run |',
    '|---|---|---:|---|---:|---|',
  ]
  for (const c of d.comparisons) {
    const w = WORKLOADS.find((x) => x.id === c.workload)!
    out.push(`| ${w.title.split(' ')[0]!} ${c.workload} | ${targetInfo(c.target).mode} | **${fmt(c.cpuRatio)}** | ${c.cpuRatios.map(fmt).join(' / ')} | ${fmt(c.rateRatio)} | ${c.rateRatios.map(fmt).join(' / ')} |`)
  }
  out.push('')
  return out
}

/** W1 and W1p around the Node floors: what aks-egress adds to Node's own cost and to its own checks, and Node's cost over haproxy's and squid's. */
function floorRows(d: ProxyBenchData): string[] {
  const rows = d.floor ?? []
  if (rows.length === 0) return []
  const fmt = (v: number | null): string => (v === null ? '–' : v.toFixed(2))
  const out = [
    '### Against the Node floors',
    '',
    'The Node floor (bench/proxy/node-floor.ts) relays on Node\'s TCP handles and does nothing else: no policy, no name ' +
      'resolution or address checks, no ClientHello parsing, no timers, bounds, logs or metrics. It is the least a proxy ' +
      'written in Node.js spends per new connection. The floor **with checks** is the same relay doing, with aks-egress\'s own ' +
      'code and its policy and `--hosts` files, what aks-egress checks on every connection: the source address, the CONNECT head ' +
      '(parsed), the ClientHello (parsed; its name against the CONNECT host), the policy\'s decision, the name resolved and each address ' +
      (d.floorBookkeeping
        ? 'classified; in this run it also kept aks-egress\'s caps, bounds (in coarse sweeps), decision fields and metrics (`--bookkeeping`), but wrote no log lines. '
        : 'classified; still no timers, bounds, logs or metrics. ') +
      (rows.some((c) => c.subject.startsWith('plane-'))
        ? 'The **C plane** targets (an experiment, bench/proxy/plane/plane.c) are the same floors with their sockets in C on Node\'s event loop: the accept, every read and write, the connect and the relay; JavaScript sees only a connection\'s first bytes (and a CONNECT\'s ClientHello) and gives the verdict. '
        : '') +
      'CPU per new connection, the first target over the second **in the same run**:',
    '',
    '| workload | ratio of CPU per new connection | median | per run |',
    '|---|---|---:|---|',
  ]
  for (const c of rows) out.push(`| ${c.workload === 'paced' ? 'W1p' : 'W1'} | ${shortName(c.subject)} / ${shortName(c.against)} | **${fmt(c.cpuRatio)}** | ${c.cpuRatios.map(fmt).join(' / ')} |`)
  out.push('')
  return out
}

function aimRows(aims: readonly Aim[]): string[] {
  const out = ['| aim | aks-egress mode | workload | measured ratio | limit | met | same-run ratios | met in runs |', '|---|---|---|---:|---:|---|---|---:|']
  for (const a of aims) {
    const subject = targetInfo(a.subject).mode
    const w = a.workload === 'idle' ? 'idle' : a.workload
    const met = a.met === null ? '–' : a.met ? 'yes' : '**no**'
    const limit = a.kind === 'cpu-at-most' ? `≤ ${a.limit.toFixed(1)}` : `≥ ${a.limit.toFixed(1)}`
    const runs = a.runRatios ?? []
    const known = runs.filter((r): r is number => r !== null)
    const metRuns = known.filter((r) => (a.kind === 'cpu-at-most' ? r <= a.limit : r >= a.limit)).length
    const perRun = runs.length === 0 ? '–' : runs.map((r) => (r === null ? '–' : r.toFixed(2))).join(' / ')
    out.push(`| ${a.aim} | ${subject} | ${w} | ${a.ratio === null ? '–' : a.ratio.toFixed(2)} | ${limit} | ${met} | ${perRun} | ${known.length === 0 ? '–' : `${metRuns} of ${known.length}`} |`)
  }
  return out
}

function workloadTable(w: WorkloadInfo, rows: readonly Summary[]): string[] {
  const get = (t: TargetId): Summary | undefined => rows.find((r) => r.target === t)
  const squid = get(squidOf(w.id))
  const haproxy = get('haproxy-sni')
  const hasLatency = rows.some((r) => r.p50Ms !== null)
  const head = [
    'target', `${w.rateUnit} median`, '% of direct', 'runs',
    ...(hasLatency ? ['p50 / p99 ms', 'added p50 / p99 ms vs direct'] : []),
    `proxy ${w.cpuUnit}`, 'CPU runs', 'rate vs squid', 'CPU vs squid', ...(w.id === 'forward' ? [] : ['CPU vs haproxy']),
    ...(w.id === 'forward' || reconnects(w.id) ? ['new conns (all)'] : []),
  ]
  const out = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`]
  for (const r of rows) {
    const aks = r.target.startsWith('aks-')
    const name = aks ? `**${label(r.target)}**` : label(r.target)
    const cells = [
      name,
      `**${fmtRate(w, r.rate)}**`,
      r.pctOfDirect === null ? '–' : `${r.pctOfDirect.toFixed(0)}%`,
      r.rates.map((x) => fmtRate(w, x)).join(' / '),
      ...(hasLatency ? [`${fmtMs(r.p50Ms)} / ${fmtMs(r.p99Ms)}`, r.target === 'direct' ? '–' : `${fmtAdded(r.addedP50Ms)} / ${fmtAdded(r.addedP99Ms)}`] : []),
      r.cpuPerUnit === null ? '–' : `**${fmtCpu(w, r.cpuPerUnit)}**`,
      r.cpuPerUnits.every((x) => x === null) ? '–' : r.cpuPerUnits.map((x) => fmtCpu(w, x)).join(' / '),
      r.target === 'direct' ? '–' : ratio(r.rate, squid?.rate),
      ratio(r.cpuPerUnit, squid?.cpuPerUnit),
      ...(w.id === 'forward' ? [] : [ratio(r.cpuPerUnit, haproxy?.cpuPerUnit)]),
      ...(w.id === 'forward' || reconnects(w.id) ? [grouped(r.totalNewConns)] : []),
    ]
    out.push(`| ${cells.join(' | ')} |`)
  }
  return out
}

/** A text bar chart: one bar per target, scaled to the largest value. */
function textBars(title: string, entries: readonly { name: string; value: number; text: string }[], width = 40): string[] {
  const max = Math.max(...entries.map((e) => e.value), 1e-9)
  const pad = Math.max(...entries.map((e) => e.name.length))
  const out = [title]
  for (const e of entries) {
    const n = Math.max(0, Math.round((e.value / max) * width))
    out.push(`  ${e.name.padEnd(pad)} ${'█'.repeat(n)}${' '.repeat(width - n)} ${e.text}`)
  }
  return out
}

function shortName(t: TargetId): string {
  const names: Record<TargetId, string> = {
    direct: 'direct',
    'aks-connect': 'aks-egress CONNECT',
    'aks-sni': 'aks-egress SNI',
    'aks-forward': 'aks-egress forward',
    'squid-connect': 'squid CONNECT',
    'squid-forward': 'squid forward',
    'haproxy-sni': 'haproxy SNI',
    'nginx-preread': 'nginx ssl_preread',
    'tinyproxy-connect': 'tinyproxy CONNECT',
    'tinyproxy-forward': 'tinyproxy forward',
    'floor-connect': 'Node floor CONNECT',
    'floor-sni': 'Node floor SNI',
    'floor-checks-connect': 'Node floor + checks CONNECT',
    'floor-checks-sni': 'Node floor + checks SNI',
    'plane-connect': 'C plane CONNECT',
    'plane-sni': 'C plane SNI',
    'plane-checks-connect': 'C plane + checks CONNECT',
    'plane-checks-sni': 'C plane + checks SNI',
    'aks-connect@base': 'aks-egress@base CONNECT',
    'aks-sni@base': 'aks-egress@base SNI',
    'aks-forward@base': 'aks-egress@base forward',
  }
  return names[t]
}

export function proxyMarkdown(d: ProxyBenchData, chartPath: string): string {
  const out: string[] = []
  out.push(
    `${d.runs} run(s) of every load, ${d.seconds} s each after ${d.warmupSeconds} s of warm-up, targets interleaved run by run ` +
      `(the order rotated each run); medians, then every run's value. Load average at the end: ${d.loadAverageEnd.join(' / ')}. ` +
      `Errors: ${d.samples.reduce((a, s) => a + s.errors, 0)}. The load generator (plg, curl), the origin (nginx) and the proxy share the machine's cores, so ` +
      'rates are bounded by TLS at the two ends; **the proxy\'s CPU per unit of work is the steady figure** (utime + stime of its ' +
      'process tree from /proc, sampled around each load and divided by all the connections, requests or GiB it carried).',
  )
  out.push('')
  out.push(`Versions: ${Object.entries(d.versions).map(([k, v]) => `${k} ${v}`).join(', ')}.`)
  out.push('')
  out.push(...baselineRows(d))
  out.push('### Against the aims of issue 3')
  out.push('')
  out.push('The measured ratio is of the two targets\' medians over all runs; the same-run ratios pair each run\'s figures (the two targets measured minutes apart under the same conditions), and "met in runs" counts the runs whose own ratio meets the limit: how steady the verdict is.')
  out.push('')
  out.push(...aimRows(d.aims))
  out.push('')
  out.push(...floorRows(d))
  out.push(`![Rates as % of direct and proxy CPU per unit, by workload](${chartPath.replace(/^docs\//, '')})`)
  out.push('')
  for (const w of WORKLOADS) {
    const rows = d.summaries.filter((s) => s.workload === w.id)
    if (rows.length === 0) continue
    out.push(`### ${w.title}`)
    out.push('')
    if (w.id === 'paced' && d.pacedRate !== undefined) {
      const basis = d.pacedRateBasis !== undefined && d.pacedRateBasis !== '' ? ` (${d.pacedRateBasis})` : ''
      out.push(`Offered: ${grouped(d.pacedRate)} new connections per second for every target${basis}; its W1 rate is its maximum: each proxy's CPU per connection at the same load. A rate below the offered one means the target could not keep up.`)
      // Below 95% of the offered rate, a target ran at its maximum: its W1p figures are not at the same load.
      const behind = rows.filter((x) => x.rate < d.pacedRate! * 0.95)
      if (behind.length > 0) out.push(`**Not at the same load:** ${behind.map((x) => `${x.target} (${grouped(Math.round(x.rate))}/s)`).join(', ')} kept below 95% of the offered rate; set \`BENCH_PROXY_PACED_RATE\` lower.`)
      out.push('')
    }
    out.push(...workloadTable(w, rows))
    out.push('')
  }
  if (d.idleSummaries.length > 0) {
    out.push(`### Memory per idle tunnel (${grouped(d.idleTunnels)} TLS connections open through the proxy, handshake done, then idle)`)
    out.push('')
    out.push('| target | KiB per idle tunnel (median) | runs | vs squid | vs haproxy |')
    out.push('|---|---:|---|---:|---:|')
    const squid = d.idleSummaries.find((x) => x.target === 'squid-connect')
    const haproxy = d.idleSummaries.find((x) => x.target === 'haproxy-sni')
    for (const s of d.idleSummaries) {
      out.push(`| ${s.target.startsWith('aks-') ? `**${label(s.target)}**` : label(s.target)} | **${s.kibPerTunnel.toFixed(1)}** | ${s.runs.map((x) => x.toFixed(1)).join(' / ')} | ${ratio(s.kibPerTunnel, squid?.kibPerTunnel)} | ${ratio(s.kibPerTunnel, haproxy?.kibPerTunnel)} |`)
    }
    out.push('')
    out.push('RSS of the proxy\'s process tree with the tunnels open minus just before, over the count: what each open tunnel costs the proxy (buffers, per-connection state); a garbage-collected heap may not have returned to its floor between runs, which shows as spread.')
    out.push('')
  }
  out.push('### At a glance')
  out.push('')
  out.push('```')
  for (const w of WORKLOADS) {
    const rows = d.summaries.filter((s) => s.workload === w.id && s.cpuPerUnit !== null)
    if (rows.length === 0) continue
    out.push(...textBars(`${w.title.split(' ')[0]!} proxy ${w.cpuUnit} (shorter is better)`, rows.map((r) => ({ name: shortName(r.target), value: r.cpuPerUnit!, text: fmtCpu(w, r.cpuPerUnit) }))))
    out.push('')
  }
  for (const w of WORKLOADS) {
    const rows = d.summaries.filter((s) => s.workload === w.id && s.pctOfDirect !== null)
    if (rows.length === 0) continue
    out.push(...textBars(`${w.title.split(' ')[0]!} ${w.rateUnit}, % of direct (longer is better)`, rows.map((r) => ({ name: shortName(r.target), value: r.pctOfDirect!, text: `${fmtRate(w, r.rate)} (${r.pctOfDirect!.toFixed(0)}%)` }))))
    out.push('')
  }
  out.push('```')
  return out.join('\n')
}

const COLORS: Record<string, string> = { direct: '#9e9e9e', aks: '#1565c0', squid: '#ef6c00', haproxy: '#2e7d32', nginx: '#6a1b9a', tinyproxy: '#795548', floor: '#90caf9' }

function colorOf(t: TargetId): string {
  if (t === 'direct') return COLORS['direct']!
  if (t.startsWith('aks-')) return COLORS['aks']!
  if (t.startsWith('squid')) return COLORS['squid']!
  if (t.startsWith('haproxy')) return COLORS['haproxy']!
  if (t.startsWith('nginx')) return COLORS['nginx']!
  if (t.startsWith('floor')) return COLORS['floor']!
  return COLORS['tinyproxy']!
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/** Two columns of horizontal bars per workload: rate as % of direct, and the proxy's CPU per unit. */
export function proxyChartSvg(d: ProxyBenchData): string {
  const width = 1100
  const labelW = 150
  const colW = 300
  const gap = 130
  const rowH = 15
  const parts: string[] = []
  let y = 46
  parts.push(`<text x="12" y="22" font-size="15" font-weight="bold">aks-egress proxy benchmark: medians of ${d.runs} run(s) on loopback</text>`)
  parts.push(`<text x="${labelW}" y="40" font-size="12" fill="#333">rate, % of direct (longer is better)</text>`)
  parts.push(`<text x="${labelW + colW + gap}" y="40" font-size="12" fill="#333">proxy CPU per unit of work (shorter is better)</text>`)
  for (const w of WORKLOADS) {
    const rows = d.summaries.filter((s) => s.workload === w.id)
    if (rows.length === 0) continue
    y += 8
    parts.push(`<text x="12" y="${y + 11}" font-size="12" font-weight="bold">${esc(w.title)}</text>`)
    y += 16
    const maxPct = Math.max(100, ...rows.map((r) => r.pctOfDirect ?? 0))
    const maxCpu = Math.max(1e-9, ...rows.map((r) => r.cpuPerUnit ?? 0))
    for (const r of rows) {
      const c = colorOf(r.target)
      parts.push(`<text x="${labelW - 6}" y="${y + 11}" font-size="11" text-anchor="end">${esc(shortName(r.target))}</text>`)
      const pw = ((r.pctOfDirect ?? 0) / maxPct) * colW
      parts.push(`<rect x="${labelW}" y="${y + 2}" width="${pw.toFixed(1)}" height="${rowH - 4}" fill="${c}"/>`)
      parts.push(`<text x="${(labelW + pw + 4).toFixed(1)}" y="${y + 11}" font-size="10">${esc(`${fmtRate(w, r.rate)} ${w.rateUnit} (${(r.pctOfDirect ?? 0).toFixed(0)}%)`)}</text>`)
      const x2 = labelW + colW + gap
      if (r.cpuPerUnit !== null) {
        const cw = (r.cpuPerUnit / maxCpu) * colW
        parts.push(`<rect x="${x2}" y="${y + 2}" width="${cw.toFixed(1)}" height="${rowH - 4}" fill="${c}"/>`)
        parts.push(`<text x="${(x2 + cw + 4).toFixed(1)}" y="${y + 11}" font-size="10">${esc(`${fmtCpu(w, r.cpuPerUnit)} ${w.cpuUnit.replace('CPU ', '')}`)}</text>`)
      } else {
        parts.push(`<text x="${x2}" y="${y + 11}" font-size="10" fill="#777">no proxy</text>`)
      }
      y += rowH
    }
  }
  y += 12
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="${width}" height="${y}" fill="#ffffff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n')
}

