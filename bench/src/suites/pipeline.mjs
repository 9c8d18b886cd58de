// From a save to the first call answered by the new version, through the whole pipeline
// (watcher → route → group → settle → decide → artifact → registry), per loader, with debounce 0
// and the default window. Saves are atomic (temp file + rename, as editors and bundlers save:
// complete by definition, no settle wait); one row saves in place (writeFile), which pays the
// settle window (settleMs, default 100 ms) by design;
// beside the same edit under `node --watch` restarting an equivalent minimal HTTP host: time until
// it answers again, calls that failed while it restarted, and whether the state survived.
// Edits are a second apart (BENCH_GAP_MS): @parcel/watcher reports a change that follows a quiet
// half second at once, and batches faster ones for ~50 ms. BENCH_EDITS (default 200 for the
// target configuration, a quarter of it for the others) sets the count.
// Memory: BENCH_PIPELINE_SOAK reloads (default 500; the soak is 10000) through the
// pipeline and, as the peer, the same steps on the bare registry, each in a fresh process with
// --expose-gc: RSS and heap growth after full GCs, and what the pipeline adds.
import { spawn } from 'node:child_process'
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'node:http'
import { createReloadPipeline } from '@hotswap/pipeline'
import { inProcessLoader, workerLoader } from '@hotswap/registry'
import { median, quantile, table } from '../lib/stats.mjs'

const EDITS = Number(process.env.BENCH_EDITS ?? 200)
const GAP_MS = Number(process.env.BENCH_GAP_MS ?? 1000)
const WATCH_EDITS = Math.min(EDITS, 20)
const SOAK = Number(process.env.BENCH_PIPELINE_SOAK ?? 500)

// ~100 KB would swamp a node --watch restart with parse time; the plugin is small on both sides.
function plugin(marker) {
  return `let count = 0
export default {
  name: 'bench', version: '1.0.${marker}',
  setup(ctx) { if (ctx.state) count = ctx.state.count; return { v: () => ({ marker: ${marker}, count: ++count }) } },
  saveState() { return { count } },
}
`
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/**
 * Edits the plugin `edits` times, `gapMs` apart, and after each write calls `ask()` until it
 * answers with the new marker: the latency is from the write to that answer. Every failed call
 * and every answer whose count went backwards (state lost) is counted. `pause()` runs between
 * calls (an in-process call resolves as a microtask, so it must yield to let the watcher run).
 */
const inPlace = (file, text) => writeFile(file, text)
async function atomic(file, text) {
  await writeFile(`${file}.tmp`, text)
  await rename(`${file}.tmp`, file)
}

async function measureEdits(label, file, edits, gapMs, ask, pause, save = inPlace) {
  const latencies = []
  let failedCalls = 0
  let calls = 0
  let lastCount = 0
  let stateLost = 0
  for (let n = 1; n <= edits; n++) {
    await sleep(gapMs)
    const t0 = performance.now()
    await save(file, plugin(n))
    for (;;) {
      let answer
      try {
        calls++
        answer = await ask()
      } catch {
        failedCalls++
        await pause()
        continue
      }
      if (answer.count <= lastCount) stateLost++
      lastCount = answer.count
      if (answer.marker === n) {
        latencies.push(performance.now() - t0)
        break
      }
      if (performance.now() - t0 > 10_000) throw new Error(`${label}: edit ${n} not served after 10 s`)
      await pause()
    }
  }
  return { p50Ms: median(latencies), p99Ms: quantile(latencies, 0.99), calls, failedCalls, stateLost }
}

async function runPipeline(label, loader, debounce, edits = EDITS, save = atomic) {
  const dir = await mkdtemp(join(tmpdir(), 'hotswap-bench-pipeline-'))
  const plugins = join(dir, 'plugins')
  await (await import('node:fs/promises')).mkdir(plugins)
  const file = join(plugins, 'bench.mjs')
  await writeFile(file, plugin(0))
  const pipeline = createReloadPipeline({ dirs: [plugins], loader, reconcileIntervalMs: 0, ...(debounce === undefined ? {} : { debounce }) })
  await pipeline.ready
  const handle = pipeline.registry.get('bench')
  const figures = await measureEdits(label, file, edits, GAP_MS, () => handle.call('v'), () => new Promise((r) => setImmediate(r)), save)
  await pipeline.close()
  await rm(dir, { recursive: true, force: true })
  return { contender: label, edits, ...figures }
}

async function runNodeWatch() {
  const dir = await mkdtemp(join(tmpdir(), 'hotswap-bench-watch-'))
  const file = join(dir, 'bench.mjs')
  await writeFile(file, plugin(0))
  const host = join(dir, 'host.mjs')
  // The equivalent minimal host: imports the plugin, keeps its state in memory, answers over HTTP.
  await writeFile(
    host,
    `import http from 'node:http'
import plugin from './bench.mjs'
const api = await plugin.setup({})
http.createServer((req, res) => { res.end(JSON.stringify(api.v())) }).listen(0, '127.0.0.1', function () { console.log('PORT ' + this.address().port) })
`,
  )
  const child = spawn(process.execPath, ['--watch', '--no-warnings', host], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
  let port
  const ports = []
  child.stdout.on('data', (d) => {
    for (const m of String(d).matchAll(/PORT (\d+)/g)) {
      port = Number(m[1])
      ports.push(port)
    }
  })
  const get = () =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
        let body = ''
        res.on('data', (c) => (body += c))
        res.on('end', () => resolve(JSON.parse(body)))
      })
      req.on('error', reject)
      req.setTimeout(2000, () => req.destroy(new Error('timeout')))
      req.end()
    })
  while (port === undefined) await sleep(10)
  const figures = await measureEdits('node --watch', file, WATCH_EDITS, Math.max(GAP_MS, 500), get, () => sleep(1))
  child.kill('SIGTERM')
  await new Promise((r) => child.once('exit', r))
  await rm(dir, { recursive: true, force: true })
  return { contender: 'node --watch restart (HTTP host)', edits: WATCH_EDITS, ...figures }
}

const round = (x) => +x.toFixed(2)

export async function run({ log }) {
  const rows = []
  rows.push(await runPipeline('hotswap worker, debounce 0', workerLoader(), 0))
  const fewer = Math.max(10, Math.round(EDITS / 4))
  rows.push(await runPipeline('hotswap worker, default debounce', workerLoader(), undefined, fewer))
  rows.push(await runPipeline('hotswap in-process, debounce 0', inProcessLoader(), 0, fewer))
  rows.push(await runPipeline('hotswap in-process, default debounce', inProcessLoader(), undefined, fewer))
  rows.push(await runPipeline('hotswap worker, debounce 0, saved in place (settle 100 ms)', workerLoader(), 0, fewer, inPlace))
  rows.push(await runNodeWatch())
  table(rows, log)
  const memory = await soaks(log)
  const ours = rows[0]
  const watch = rows[rows.length - 1]
  const hotswap = rows.slice(0, -1)
  const failed = hotswap.reduce((n, r) => n + r.failedCalls, 0)
  const lost = hotswap.reduce((n, r) => n + r.stateLost, 0)
  const targets = {
    workerDebounce0P50Ms: { target: '<= 15', measured: round(ours.p50Ms), pass: ours.p50Ms <= 15 },
    fasterThanNodeWatch: { target: `p50 < node --watch p50 (${round(watch.p50Ms)} ms)`, measured: round(ours.p50Ms), pass: ours.p50Ms < watch.p50Ms },
    hotswapFailedCalls: { target: '0', measured: failed, pass: failed === 0 },
    hotswapStateLost: { target: '0', measured: lost, pass: lost === 0 },
    ...memory.targets,
  }
  log('')
  table(Object.entries(targets).map(([name, t]) => ({ target: name, want: t.target, measured: t.measured, met: t.pass ? 'yes' : 'NO' })), log)
  log(`node --watch for comparison: ${watch.failedCalls} failed calls, state lost ${watch.stateLost} times over ${watch.edits} edits`)
  return { pass: Object.values(targets).every((t) => t.pass), edits: EDITS, gapMs: GAP_MS, rows, memory: memory.rows, targets }
}

/** The pipeline soak and its bare-registry peer (in-process: fast enough for 10,000), fresh processes. */
async function soaks(log) {
  const script = fileURLToPath(new URL('../lib/pipeline-soak.mjs', import.meta.url))
  const once = (source) =>
    new Promise((resolve, reject) => {
      log(`soak: ${source}, ${SOAK} reloads (in-process) in a fresh process...`)
      execFile(process.execPath, ['--expose-gc', script, 'in-process', source, String(SOAK), '100'], { maxBuffer: 1 << 24 }, (error, stdout) => {
        if (error) reject(error)
        else resolve(JSON.parse(stdout.trim().split('\n').pop()))
      })
    })
  // interleaved: registry, pipeline, registry, pipeline; medians of the two rounds
  const runs = { registry: [], fed: [] }
  for (let round = 0; round < 2; round++) for (const source of ['registry', 'fed']) runs[source].push(await once(source))
  const med = (xs, f) => median(xs.map(f))
  const rows = Object.entries(runs).map(([source, rs]) => ({
    contender: source === 'fed' ? 'pipeline (changes fed, in-process)' : 'bare registry (buildArtifact + reload, in-process)',
    reloads: SOAK,
    msPerReload: round(med(rs, (r) => r.msPerReload)),
    rssGrowthMB: round(med(rs, (r) => r.rssGrowthMB)),
    heapGrowthMB: round(med(rs, (r) => r.heapGrowthMB)),
  }))
  table(rows, log)
  const [bare, piped] = rows
  const own = round(piped.rssGrowthMB - bare.rssGrowthMB)
  // The budget is the issue's, for 10,000 reloads (BENCH_PIPELINE_SOAK=10000); a shorter run that
  // already exceeds it would exceed it over 10,000 too, and RSS after GC is too noisy to scale down.
  const budget = 10
  return {
    rows,
    targets: {
      pipelineOwnRssGrowthMB: { target: `< ${budget} MB (pipeline minus bare registry; ${SOAK} reloads)`, measured: own, pass: own < budget },
      pipelineHeapFlatMB: { target: '< 1 MB heap growth after GC', measured: piped.heapGrowthMB, pass: piped.heapGrowthMB < 1 },
      rssGrowthMB: { target: `< ${budget} MB (absolute, registry included; ${SOAK} reloads)`, measured: piped.rssGrowthMB, pass: piped.rssGrowthMB < budget },
    },
  }
}
