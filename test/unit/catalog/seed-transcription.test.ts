/**
 * The `2019-11` catalog edition against the seed document it transcribes (DESIGN.md §1): every row of
 * every table of the seed has its entries, with the row's English cells verbatim under `seed`, and
 * every entry that claims a `seed` comes from a row. The seed is parsed here from its text, not read
 * from the catalog, so a row lost or invented in `catalog/2019-11.yaml` fails this test.
 *
 * The seed is a Japanese rendering of the page with the English interleaved: a table row is the
 * Japanese FQDN cell immediately followed by the English one, a space, the Japanese port cell
 * (`HTTPS: 443、TCP: 22`) immediately followed by the English one (`HTTPS:443, TCP:22`), a space and
 * the purposes.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { loadEdition } from '../../../src/catalog/load-catalog.ts'
import { CLOUDS, type CatalogEntry, type Category, type Cloud } from '../../../src/catalog/catalog-types.ts'

const SEED_FILE = '000_029e1b972eb9d2d2.txt'
/** The shared seed beside the repository (`../shared/seed/`), present in the lead's workspace. */
const SHARED_SEED = new URL(`../../../../shared/seed/${SEED_FILE}`, import.meta.url)
/** The committed copy, for fresh clones (CI) where `../shared` does not exist. */
const FIXTURE_SEED = new URL(`../../fixtures/seed/${SEED_FILE}`, import.meta.url)

/** Rows in the seed's tables: 11 + 9 + 11 required (Global, China, Government), 1 recommended,
 * 3 GPU, 5 Azure Monitor, 4 Dev Spaces, 4 Azure Policy, 3 Windows. */
const EXPECTED_ROWS = 51
/** FQDNs in those rows (the recommended row has 3, the Windows rows 4 + 3 + 1). */
const EXPECTED_FQDNS = 58

const ALL_CLOUDS: readonly Cloud[] = CLOUDS

function seedPath(): URL {
  return existsSync(SHARED_SEED) ? SHARED_SEED : FIXTURE_SEED
}

function readSeed(): string {
  return readFileSync(seedPath(), 'utf8')
}

/** Where a table sits in the seed: which entries its rows must have. */
interface TableContext {
  readonly category: Category
  readonly feature?: string
  readonly clouds: readonly Cloud[]
  readonly section: string
}

interface SeedRow {
  /** 1-based line number in the seed. */
  readonly line: number
  readonly text: string
  readonly context: TableContext
  /** The English FQDN cell, verbatim. */
  readonly fqdnCell: string
  readonly fqdns: readonly string[]
  /** The English port cell, verbatim. */
  readonly portCell: string
  /** The port cell lower-cased, one `protocol:port` per item. */
  readonly protocols: readonly string[]
}

const REQUIRED_HEADING = 'Required ports and addresses for AKS clusters'

/** English headings (and one prose line standing in for a heading the rendering lost). */
const SECTIONS: readonly { readonly marker: string; readonly context: Omit<TableContext, 'clouds'> | 'per-cloud' }[] = [
  { marker: REQUIRED_HEADING, context: 'per-cloud' },
  {
    marker: 'The following FQDN / application rules are recommended for AKS clusters to function correctly:',
    context: { category: 'recommended', feature: 'ubuntu-updates', section: 'Optional recommended addresses and ports for AKS clusters' },
  },
  {
    marker: 'Required addresses and ports for GPU enabled AKS clusters',
    context: { category: 'addon', feature: 'gpu', section: 'Required addresses and ports for GPU enabled AKS clusters' },
  },
  {
    marker: 'Required addresses and ports with Azure Monitor for containers enabled',
    context: { category: 'addon', feature: 'monitoring', section: 'Required addresses and ports with Azure Monitor for containers enabled' },
  },
  {
    marker: 'Required addresses and ports with Azure Dev Spaces enabled',
    context: { category: 'addon', feature: 'dev-spaces', section: 'Required addresses and ports with Azure Dev Spaces enabled' },
  },
  {
    marker: 'Required addresses and ports for AKS clusters with Azure Policy (in public preview) enabled',
    context: {
      category: 'addon',
      feature: 'azure-policy',
      section: 'Required addresses and ports for AKS clusters with Azure Policy (in public preview) enabled',
    },
  },
  {
    marker: 'Required by Windows Server based nodes (in public preview) enabled',
    context: { category: 'addon', feature: 'windows', section: 'Required by Windows Server based nodes (in public preview) enabled' },
  },
]

/** The cloud bullets above the required tables: `  • Azure GlobalAzure Global` (Japanese, English). */
const CLOUD_BULLETS: readonly { readonly name: string; readonly cloud: Cloud }[] = [
  { name: 'Azure Global', cloud: 'public' },
  { name: 'Azure China', cloud: 'china' },
  { name: 'Azure Government', cloud: 'usgov' },
]

const TABLE_HEADER = 'FQDNFQDN PortPort 用途Use'
/** Japanese FQDN+English FQDN, Japanese ports (`HTTPS: 443、TCP: 22`), English ports, purposes. */
const ROW = /^(\S.*?) ([A-Z]+: ?\d+(?:、[A-Z]+: ?\d+)*)([A-Z]+:\d+(?:, [A-Z]+:\d+)*) (.+)$/

/** Splits `<Japanese cell><English cell>`: the Japanese cell is the English one with `、` for `, `. */
function splitFqdnCells(cells: string, where: string): string {
  const splits: string[] = []
  for (let k = 1; k < cells.length; k++) {
    const english = cells.slice(k)
    if (cells.slice(0, k) === english.replaceAll(', ', '、')) splits.push(english)
  }
  assert.equal(splits.length, 1, `${where}: cannot tell the Japanese FQDN cell from the English one in "${cells}"`)
  return splits[0]!
}

function parseSeed(text: string): SeedRow[] {
  const lines = text.split('\n')
  const rows: SeedRow[] = []
  let section: (typeof SECTIONS)[number] | undefined
  let cloud: Cloud | undefined
  let table: TableContext | undefined
  lines.forEach((raw, index) => {
    const line = raw.replace(/\r$/, '')
    const where = `seed line ${index + 1}`
    if (table) {
      if (line.trim() === '' || line.trimStart().startsWith('•')) {
        table = undefined
      } else {
        const m = ROW.exec(line)
        assert.ok(m, `${where}: a line inside a table that is not a row: ${line}`)
        const [, cells = '', japanesePorts = '', portCell = ''] = m
        assert.equal(
          japanesePorts.replaceAll(': ', ':').replaceAll('、', ', '),
          portCell,
          `${where}: the Japanese and English port cells disagree`,
        )
        const fqdnCell = splitFqdnCells(cells, where)
        rows.push({
          line: index + 1,
          text: line,
          context: table,
          fqdnCell,
          fqdns: fqdnCell.split(', '),
          portCell,
          protocols: portCell.split(', ').map((p) => p.toLowerCase()),
        })
        return
      }
    }
    const heading = SECTIONS.find((s) => line.endsWith(s.marker))
    if (heading) {
      section = heading
      cloud = undefined
      return
    }
    const bullet = CLOUD_BULLETS.find((b) => line.trim() === `• ${b.name}${b.name}`)
    if (bullet) {
      assert.equal(section?.context, 'per-cloud', `${where}: a cloud bullet outside the required section`)
      cloud = bullet.cloud
      return
    }
    if (line === TABLE_HEADER) {
      assert.ok(section, `${where}: a table before any known heading`)
      if (section.context === 'per-cloud') {
        assert.ok(cloud, `${where}: a required table without a cloud bullet`)
        const name = CLOUD_BULLETS.find((b) => b.cloud === cloud)?.name ?? cloud
        table = { category: 'required', clouds: [cloud], section: `${REQUIRED_HEADING} / ${name}` }
      } else {
        table = { ...section.context, clouds: ALL_CLOUDS }
      }
    }
  })
  return rows
}

/** Counted without the parser: English port cells (`HTTPS:443`, no space) appear only in table rows. */
function countRowsIndependently(text: string): number {
  return text.split('\n').filter((line) => /(?:HTTPS?|TCP|UDP):\d+/.test(line)).length
}

function sameClouds(a: readonly Cloud[], b: readonly Cloud[]): boolean {
  return a.length === b.length && a.every((c) => b.includes(c))
}

/** The English sentences of a purpose; each must appear in the row (the Japanese sits between them). */
function sentences(purpose: string): string[] {
  return purpose.split(/(?<=\.) (?=\S)/)
}

test('the seed is found, and the committed copy is byte-identical to the shared one', (t) => {
  assert.ok(existsSync(FIXTURE_SEED), `missing committed copy ${fileURLToPath(FIXTURE_SEED)}`)
  if (!existsSync(SHARED_SEED)) {
    t.diagnostic(`no shared seed at ${fileURLToPath(SHARED_SEED)}; using the committed copy`)
    return
  }
  const shared = readFileSync(SHARED_SEED)
  const fixture = readFileSync(FIXTURE_SEED)
  assert.ok(shared.equals(fixture), 'test/fixtures/seed differs from ../shared/seed: recopy it')
})

test('the parser finds every table row of the seed', () => {
  const text = readSeed()
  const rows = parseSeed(text)
  assert.equal(rows.length, countRowsIndependently(text), 'rows parsed vs. lines with an English port cell')
  assert.equal(rows.length, EXPECTED_ROWS)
  assert.equal(rows.reduce((n, r) => n + r.fqdns.length, 0), EXPECTED_FQDNS)
  const perTable = new Map<string, number>()
  for (const r of rows) {
    const key = `${r.context.category}/${r.context.feature ?? r.context.clouds.join(',')}`
    perTable.set(key, (perTable.get(key) ?? 0) + 1)
  }
  assert.deepEqual(Object.fromEntries(perTable), {
    'required/public': 11,
    'required/china': 9,
    'required/usgov': 11,
    'recommended/ubuntu-updates': 1,
    'addon/gpu': 3,
    'addon/monitoring': 5,
    'addon/dev-spaces': 4,
    'addon/azure-policy': 4,
    'addon/windows': 3,
  })
})

test('every FQDN of every seed row has its 2019-11 entry, with the row verbatim', () => {
  const rows = parseSeed(readSeed())
  const edition = loadEdition('2019-11')
  const matched = new Set<string>()
  for (const row of rows) {
    const where = `seed line ${row.line} (${row.fqdnCell})`
    const { context } = row
    const candidates = edition.entries.filter(
      (e) =>
        e.seed?.target === row.fqdnCell &&
        e.seed.ports === row.portCell &&
        e.category === context.category &&
        e.feature === context.feature &&
        sameClouds(e.clouds, context.clouds),
    )
    assert.equal(candidates.length, row.fqdns.length, `${where}: one entry per FQDN, found ${candidates.map((e) => e.id).join(', ')}`)
    const corrected = candidates.filter((e) => !row.fqdns.includes(e.target))
    for (const fqdn of row.fqdns) {
      const exact = candidates.filter((e) => e.target === fqdn)
      let entry: CatalogEntry
      if (exact.length === 1) {
        entry = exact[0]!
      } else {
        assert.equal(exact.length, 0, `${where}: ${fqdn} has ${exact.length} entries`)
        // The entry records another target than the seed's: it must say so, quoting the seed.
        const fixes = corrected.filter((e) => e.note?.includes(fqdn))
        assert.equal(fixes.length, 1, `${where}: no entry for ${fqdn}, and no corrected entry whose note quotes it`)
        entry = fixes[0]!
      }
      assert.ok(!matched.has(entry.id), `${where}: entry ${entry.id} stands for two FQDNs`)
      matched.add(entry.id)
      assert.equal(entry.section, context.section, `${entry.id}: section`)
      assert.equal(entry.kind, 'fqdn', `${entry.id}: a table row names hosts`)
      if (JSON.stringify(entry.protocols) !== JSON.stringify(row.protocols)) {
        assert.ok(entry.note, `${entry.id}: protocols ${entry.protocols.join(', ')} differ from the seed's "${row.portCell}" without a note`)
        assert.ok(entry.note.includes(row.portCell), `${entry.id}: the note must quote the seed's "${row.portCell}"`)
      }
      for (const sentence of sentences(entry.purpose)) {
        assert.ok(row.text.includes(sentence), `${entry.id}: purpose sentence not in the seed row: "${sentence}"`)
      }
    }
  }
  assert.equal(matched.size, EXPECTED_FQDNS)
  // The reverse: no entry claims a seed row that the seed does not have.
  const claiming = edition.entries.filter((e) => e.seed !== undefined).map((e) => e.id)
  assert.deepEqual(
    claiming.filter((id) => !matched.has(id)),
    [],
    'entries with a `seed` field that match no row of the seed',
  )
})

test('the seed corrections are recorded as the intended value with a note', () => {
  const byId = new Map(loadEdition('2019-11').entries.map((e) => [e.id, e]))
  const gatekeeper = byId.get('azure-policy.gatekeeper')
  assert.equal(gatekeeper?.target, '*.gk.<location>.azmk8s.io')
  assert.match(gatekeeper.note ?? '', /\*\.gk\.\.azmk8s\.io/)
  const dataplane = byId.get('dev-spaces.dataplane')
  assert.equal(dataplane?.target, '<dev-spaces-fqdn>')
  assert.match(dataplane.note ?? '', /azds-<guid>\.<location>\.azds\.io/)
  for (const id of ['dev-spaces.gcr', 'dev-spaces.googleapis-storage']) {
    assert.deepEqual(byId.get(id)?.protocols, ['https:443'], id)
    assert.match(byId.get(id)?.note ?? '', /HTTP:443/, id)
  }
  assert.equal(byId.get('windows.mp-microsoft')?.target, 'mp.microsoft.com')
  assert.equal(byId.get('monitoring.microsoftonline')?.target, '*.microsoftonline.com')
})

test("the seed's prose network rules are entries without a seed row", () => {
  const text = readSeed()
  for (const phrase of [
    'TCP port 443',
    'TCP [IPAddrOfYourAPIServer]:443 is required if you have an app that needs to talk to the API server.',
    'TCP port 9000 and TCP port 22 for the tunnel front pod to communicate with the tunnel end on the API server.',
    'UDP port 53 for DNS is also required if you have pods directly accessing the API server.',
  ]) {
    assert.ok(text.includes(phrase), `the seed no longer says "${phrase}"`)
  }
  const prose = loadEdition('2019-11').entries.filter((e) => e.seed === undefined)
  for (const e of prose) {
    assert.equal(e.kind, 'address', `${e.id}: a prose network rule names an address`)
    assert.equal(e.category, 'required', e.id)
  }
  const coverage = (target: string, protocols: readonly string[]): Cloud[] =>
    prose
      .filter((e) => e.target === target && JSON.stringify(e.protocols) === JSON.stringify(protocols))
      .flatMap((e) => e.clouds)
      .sort()
  const everyCloud = [...ALL_CLOUDS].sort()
  assert.deepEqual(coverage('<api-server-ip>', ['tcp:443']), everyCloud)
  assert.deepEqual(coverage('<api-server-ip>', ['tcp:9000', 'tcp:22']), everyCloud)
  assert.deepEqual(coverage('<dns-server-ip>', ['udp:53']), everyCloud)
  const apiServer = prose.find((e) => e.protocols.includes('tcp:443'))
  assert.ok(apiServer?.condition, 'the API server rule is conditional')
  assert.match(apiServer.note ?? '', /TCP port 443/)
  assert.ok(prose.find((e) => e.protocols.includes('udp:53'))?.condition, 'the DNS rule is conditional')
  assert.equal(prose.length, 5)
})
