// The plugin artifact (@hotswap/registry buildArtifact): what the artifact step itself costs
// (read + hash + transform) for 1 KB, 100 KB and 1 MB plugins in JS and TS, beside the floor of
// reading and hashing the same bytes and beside a per-file transform (what a module-hooks
// loader pays per module); and the in-process soak: RSS over reloads of a 100 KB ESM plugin,
// now compiled per version from the artifact instead of Node's ESM cache (target < 10 MB over
// 10,000 reloads; beside it, a short run of the old way, re-importing the ESM file).
//
// Default run: 2,000 soak reloads (a few minutes). ARTIFACT_SOAK=10000 for the full target.
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { fnv1a64Hex } from '@hotswap/change-detector'
import { buildArtifact } from '@hotswap/registry'
import { transform } from 'esbuild'
import { median, quantile, table } from '../lib/stats.mjs'

const run$ = promisify(execFile)
const SOAK = Number(process.env.ARTIFACT_SOAK ?? 2000)
const OLD_WAY = Number(process.env.ARTIFACT_SOAK_OLD ?? 300)
const ROUNDS = Number(process.env.ARTIFACT_ROUNDS ?? 30)
const TARGET_MB = 10

const SIZES = [
  ['1 KB', 1024],
  ['100 KB', 100 * 1024],
  ['1 MB', 1024 * 1024],
]

/** A plugin of about `bytes` bytes: an entry and a helper module (half each), JS or TS. */
function pluginFiles(lang, bytes, version) {
  const ts = lang === 'ts'
  const fn = (k) => (ts ? `export function f${k}(a: number, b: number): number { return a * ${k} + b - ${k % 7} }\n` : `export function f${k}(a, b) { return a * ${k} + b - ${k % 7} }\n`)
  let helper = ''
  for (let k = 0; helper.length < bytes / 2; k++) helper += fn(k)
  let entry = ts ? "import { f0 } from './helper.js'\ninterface State { count: number }\nlet count: number = 0\n" : "import { f0 } from './helper.js'\nlet count = 0\n"
  for (let k = 0; entry.length < bytes / 2; k++) entry += ts ? `const c${k}: number = f0(${k}, 1)\n` : `const c${k} = f0(${k}, 1)\n`
  entry += `export default { name: 'p', version: '${version}', setup(ctx${ts ? ': { state?: State }' : ''}) { count = ctx.state?.count ?? 0; return { inc: () => ++count } } }\n`
  return { entry, helper }
}

export async function run({ log }) {
  const dir = await mkdtemp(join(tmpdir(), 'hotswap-artifact-bench-'))
  try {
    const cost = await artifactCost(dir, log)
    const soak = await soaks(log)
    const soakPass = soak.artifact.rssGrowthMB < TARGET_MB
    log(
      `\nin-process ESM soak: ${soak.artifact.reloads} reloads, RSS growth ${soak.artifact.rssGrowthMB} MB (target < ${TARGET_MB} MB over 10,000${SOAK < 10_000 ? '; this run is shorter, ARTIFACT_SOAK=10000 for the full one' : ''}); ` +
        `the old ESM re-import grew ${soak.oldWay.kibPerReload} KiB per reload`,
    )
    return { pass: soakPass, artifactCost: cost, soak, targets: { soakRssGrowthMB: `< ${TARGET_MB} over 10,000 reloads` } }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

async function artifactCost(dir, log) {
  const cases = []
  for (const [label, bytes] of SIZES) {
    for (const lang of ['js', 'ts']) {
      const caseDir = join(dir, `${lang}-${bytes}`)
      await mkdir(caseDir, { recursive: true })
      const { entry, helper } = pluginFiles(lang, bytes, '1.0.0')
      const entryPath = join(caseDir, `plugin.${lang}`)
      await writeFile(entryPath, entry)
      await writeFile(join(caseDir, `helper.${lang}`), helper)
      cases.push({ label, lang, bytes: entry.length + helper.length, entryPath, helperPath: join(caseDir, `helper.${lang}`), build: [], floor: [], perFile: [] })
    }
  }
  // Warm-up (esbuild's service starts on the first build).
  for (const c of cases) await buildArtifact(c.entryPath)
  // Interleaved rounds: every case, every method, once per round.
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of cases) {
      if (c.bytes > 512 * 1024 && round % 3 !== 0) continue // the 1 MB cases: a third of the rounds
      let t = performance.now()
      await buildArtifact(c.entryPath)
      c.build.push(performance.now() - t)
      t = performance.now()
      for (const file of [c.entryPath, c.helperPath]) fnv1a64Hex(await readFile(file))
      c.floor.push(performance.now() - t)
      t = performance.now()
      for (const file of [c.entryPath, c.helperPath]) {
        const bytes = await readFile(file)
        fnv1a64Hex(bytes)
        await transform(bytes, { loader: c.lang, format: 'esm', sourcemap: 'inline', sourcefile: file })
      }
      c.perFile.push(performance.now() - t)
    }
  }
  const rows = cases.map((c) => ({
    plugin: `${c.label} ${c.lang.toUpperCase()}`,
    bytes: c.bytes,
    rounds: c.build.length,
    artifactP50Ms: +median(c.build).toFixed(2),
    artifactP99Ms: +quantile(c.build, 0.99).toFixed(2),
    readHashP50Ms: +median(c.floor).toFixed(2),
    perFileTransformP50Ms: +median(c.perFile).toFixed(2),
  }))
  log('artifact step (buildArtifact: read + FNV-1a 64 + esbuild bundle with source map), two files per plugin, interleaved rounds, medians:')
  table(rows, log)
  log('readHash = read + hash only (the floor); perFileTransform = read + hash + esbuild.transform per file (what a module-hooks loader would pay, before Node loads each module)')
  return rows
}

async function soaks(log) {
  const script = fileURLToPath(new URL('../lib/registry-soak.mjs', import.meta.url))
  const one = async (mode, n, warmup) => {
    log(`soak: ${mode}, ${n} reloads of a ~100 KB ESM plugin in-process, in a fresh process...`)
    const args = ['--expose-gc', '--max-semi-space-size=2', script, mode, String(n), String(warmup)]
    const { stdout } = await run$(process.execPath, args, { maxBuffer: 1 << 20, timeout: 60 * 60_000 })
    return JSON.parse(stdout.trim().split('\n').pop())
  }
  const artifact = await one('in-process-esm', SOAK, 200)
  const oldWay = await one('esm-reimport', OLD_WAY, 20)
  table(
    [artifact, oldWay].map(({ samples: _s, ...r }) => r),
    log,
  )
  return { artifact, oldWay }
}
