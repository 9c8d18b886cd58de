// @hotswap/registry: handle call overhead, worker round trip, reload time by phase per loader
// for a ~100 KB plugin, and RSS over many reloads per loader beside ESM cache-busting re-imports.
//
// Knobs (environment): REGISTRY_SOAK_WORKER (default 2000 reloads; the soak is 10000,
// about 8 min here), REGISTRY_SOAK_OTHER (default 10000, in-process and wasm),
// REGISTRY_SOAK_ESM (default 1000 re-imports; each leaks, so keep it modest).
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Worker } from 'node:worker_threads'
import { createPluginRegistry, inProcessLoader, wasmLoader, workerLoader } from '@hotswap/registry'
import { median, quantile, table } from '../lib/stats.mjs'
import { writeBigPlugin, writeBigWasm } from '../lib/registry-fixtures.mjs'

const run$ = promisify(execFile)
const SEMI_SPACE_MB = 2
const quiet = { debug() {}, info() {}, warn() {}, error() {} }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const round = (x, d = 2) => +x.toFixed(d)

export async function run({ log }) {
  const dir = await mkdtemp(join(tmpdir(), 'hotswap-bench-registry-'))
  try {
    const overhead = await handleOverhead(dir, log)
    const roundTrip = await workerRoundTrip(dir, log)
    const reload = await reloadTimes(dir, log)
    const soak = await soaks(log)
    const targets = {
      inProcessHandleOverheadUs: { target: '< 1', measured: overhead.overheadVsSyncUs, pass: overhead.overheadVsSyncUs < 1 },
      workerRoundTripP50Us: { target: '< 50', measured: roundTrip.p50Us, pass: roundTrip.p50Us < 50 },
      workerReloadP50Ms: { target: '< 10 (warm spare, edits 300 ms apart, median of 3 rounds)', measured: reload.worker.totalP50Ms, pass: reload.worker.totalP50Ms < 10 },
    }
    for (const s of soak.filter((s) => s.mode !== 'esm-reimport')) {
      targets[`rssGrowth_${s.mode}_MB`] = {
        target: `< 10 over ${s.reloads} reloads (young generation capped at ${SEMI_SPACE_MB} MB semi-spaces)`,
        measured: s.rssGrowthMB,
        pass: s.rssGrowthMB < 10,
      }
    }
    const pass = Object.values(targets).every((t) => t.pass)
    log('')
    table(
      Object.entries(targets).map(([name, t]) => ({ target: name, want: t.target, measured: t.measured, pass: t.pass ? 'yes' : 'NO' })),
      log,
    )
    return { pass, targets, overhead, roundTrip, reload, soak }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

async function handleOverhead(dir, log) {
  const path = join(dir, 'adder.cjs')
  await writeFile(path, `module.exports = { name: 'adder', version: '1.0.0', setup() { return { add: (a, b) => a + b } } }\n`)
  const registry = createPluginRegistry({ loader: inProcessLoader(), logger: quiet })
  await registry.load(path)
  const handle = registry.get('adder')
  const add = (a, b) => a + b
  const N = 200_000
  const direct = []
  const awaited = []
  const viaHandle = []
  let sink = 0
  for (let round = 0; round < 7; round++) {
    let t = performance.now()
    for (let i = 0; i < N; i++) sink += add(i, 1)
    direct.push(((performance.now() - t) * 1000) / N)
    t = performance.now()
    for (let i = 0; i < N; i++) sink += await add(i, 1)
    awaited.push(((performance.now() - t) * 1000) / N)
    t = performance.now()
    for (let i = 0; i < N; i++) sink += await handle.call('add', i, 1)
    viaHandle.push(((performance.now() - t) * 1000) / N)
  }
  await registry.close()
  if (sink === 0) log('unreachable')
  const result = {
    callsPerRound: N,
    directSyncUs: round(median(direct), 4),
    directAwaitedUs: round(median(awaited), 4),
    handleUs: round(median(viaHandle), 4),
    overheadVsSyncUs: round(median(viaHandle) - median(direct), 4),
    overheadVsAwaitedUs: round(median(viaHandle) - median(awaited), 4),
  }
  log('in-process handle call (median of 7 rounds of 200,000 sequential awaited calls):')
  table([result], log)
  return result
}

async function workerRoundTrip(dir, log) {
  const path = join(dir, 'adder.mjs')
  await writeFile(path, `export default { name: 'adder', version: '1.0.0', setup() { return { add: (a, b) => a + b } } }\n`)
  const registry = createPluginRegistry({ logger: quiet })
  await registry.load(path)
  const handle = registry.get('adder')
  for (let i = 0; i < 2000; i++) await handle.call('add', i, 1)
  const samples = []
  for (let i = 0; i < 20_000; i++) {
    const t = performance.now()
    await handle.call('add', i, 1)
    samples.push((performance.now() - t) * 1000)
  }
  // pipelined: 64 calls in flight
  const total = 64_000
  let t = performance.now()
  for (let b = 0; b < total / 64; b++) await Promise.all(Array.from({ length: 64 }, (_, i) => handle.call('add', i, b)))
  const pipelined = total / ((performance.now() - t) / 1000)
  await registry.close()

  // the bare floor in the same run: a plain postMessage ping-pong with a worker
  const bare = new Worker(`require('node:worker_threads').parentPort.on('message', (m) => require('node:worker_threads').parentPort.postMessage(m))`, { eval: true })
  const once = () => new Promise((r) => bare.once('message', r))
  for (let i = 0; i < 2000; i++) {
    bare.postMessage(i)
    await once()
  }
  const bareSamples = []
  for (let i = 0; i < 20_000; i++) {
    t = performance.now()
    bare.postMessage(i)
    await once()
    bareSamples.push((performance.now() - t) * 1000)
  }
  await bare.terminate()
  const result = {
    p50Us: round(quantile(samples, 0.5), 1),
    p99Us: round(quantile(samples, 0.99), 1),
    pipelined64CallsPerS: Math.round(pipelined),
    barePostMessageP50Us: round(quantile(bareSamples, 0.5), 1),
    barePostMessageP99Us: round(quantile(bareSamples, 0.99), 1),
  }
  log('\nworker round trip through a handle (20,000 sequential calls) beside a bare postMessage ping-pong:')
  table([result], log)
  return result
}

async function reloadTimes(dir, log) {
  const setups = {
    worker: { loader: () => workerLoader(), write: (d, v) => writeBigPlugin(d, 'esm', v), n: 40, pauseMs: 300, rounds: 3 },
    'worker, no spare (cold Worker start)': { loader: () => workerLoader({ warmSpare: false }), write: (d, v) => writeBigPlugin(d, 'esm', v), n: 20, pauseMs: 300 },
    'worker (back-to-back, spare still booting)': { loader: () => workerLoader(), write: (d, v) => writeBigPlugin(d, 'esm', v), n: 30, pauseMs: 0 },
    'in-process': { loader: () => inProcessLoader(), write: (d, v) => writeBigPlugin(d, 'cjs', v), n: 100, pauseMs: 20 },
    wasm: { loader: () => wasmLoader(), write: (d, v) => writeBigWasm(d, v), n: 100, pauseMs: 20 },
  }
  const out = {}
  const rows = []
  for (const [name, s] of Object.entries(setups)) {
    // The machine's speed drifts (a shared VM): a loader measured in several rounds, each in a
    // fresh registry, reports the median of the round medians, with every round kept.
    const rounds = []
    for (let r = 0; r < (s.rounds ?? 1); r++) rounds.push(await reloadRound(dir, name, s))
    const pick = (key) => median(rounds.map((r) => r[key]))
    const row = {
      loader: name,
      reloads: s.n * rounds.length,
      totalP50Ms: pick('totalP50Ms'),
      totalP99Ms: pick('totalP99Ms'),
      prepareP50Ms: pick('prepareP50Ms'),
      drainP50Ms: pick('drainP50Ms'),
      stateP50Ms: pick('stateP50Ms'),
      switchP50Ms: pick('switchP50Ms'),
      ...(rounds.length > 1 ? { roundP50sMs: rounds.map((r) => r.totalP50Ms) } : {}),
    }
    out[name] = row
    rows.push(row)
  }
  const cold = out['worker, no spare (cold Worker start)'].totalP50Ms
  out.worker.shareOfColdStart = round(out.worker.totalP50Ms / cold, 3)
  log('\nreload of a ~100 KB plugin (reload() wall time; phases from the reloaded events), state kept:')
  table(rows.map(({ roundP50sMs: _r, ...row }) => row), log)
  log(`worker reload p50 per round: ${out.worker.roundP50sMs.join(', ')} ms; ${out.worker.shareOfColdStart} of a reload that starts a cold Worker`)
  return out
}

/** One registry, `s.n` reloads of the ~100 KB plugin `s.pauseMs` apart: p50/p99 and the phase medians. */
async function reloadRound(dir, name, s) {
  const sub = await mkdtemp(join(dir, 'reload-'))
  const registry = createPluginRegistry({ loader: s.loader(), logger: quiet, keepPrevious: false })
  const phases = []
  registry.events$.subscribe((e) => {
    if (e.type === 'reloaded') phases.push(e.phases)
  })
  await registry.load(await s.write(sub, '1.0.0'))
  const handle = registry.get('big')
  for (let i = 0; i < 5; i++) await handle.call('increment')
  const totals = []
  for (let v = 1; v <= s.n; v++) {
    if (s.pauseMs > 0) await sleep(s.pauseMs)
    await s.write(sub, `1.0.${v}`)
    const t = performance.now()
    await registry.reload('big')
    totals.push(performance.now() - t)
  }
  const count = await handle.call('get')
  await registry.close()
  if (count !== 5) throw new Error(`${name}: the state did not survive the reloads (count ${count})`)
  const p = (key) => round(median(phases.map((x) => x[key])), 3)
  return {
    totalP50Ms: round(median(totals), 2),
    totalP99Ms: round(quantile(totals, 0.99), 2),
    prepareP50Ms: p('prepareMs'),
    drainP50Ms: p('drainMs'),
    stateP50Ms: p('stateMs'),
    switchP50Ms: p('switchMs'),
  }
}

async function soaks(log) {
  const script = fileURLToPath(new URL('../lib/registry-soak.mjs', import.meta.url))
  const worker = Number(process.env.REGISTRY_SOAK_WORKER ?? 10_000)
  const other = Number(process.env.REGISTRY_SOAK_OTHER ?? 10_000)
  const esm = Number(process.env.REGISTRY_SOAK_ESM ?? 1000)
  // The worker soak warms up for 1,000 reloads: RSS settles over the first ~1,000 worker
  // starts and stops (measured: +18 MB from reload 58 to 10,000, but +0.5 MB from 1,000 to
  // 11,000, with RSS sampled every 1,000 reloads flat in both runs).
  const plan = [
    ['worker', worker, 1000],
    ['in-process', other, 200],
    ['wasm', other, 200],
    ['esm-reimport', esm, 20],
  ]
  const results = []
  for (const [mode, n, warmup] of plan) {
    log(`soak: ${mode}, ${n} reloads of a ~100 KB plugin in a fresh process...`)
    // --max-semi-space-size caps V8's young generation, which V8 otherwise grows with the
    // allocation rate (tens of MB, bounded): with it capped, RSS growth shows what is retained.
    const args = ['--expose-gc', `--max-semi-space-size=${SEMI_SPACE_MB}`, script, mode, String(n), String(warmup)]
    const { stdout } = await run$(process.execPath, args, { maxBuffer: 1 << 20, timeout: 20 * 60_000 })
    const result = JSON.parse(stdout.trim().split('\n').pop())
    results.push(result)
  }
  log(`\nRSS over reloads (each in its own process, --max-semi-space-size=${SEMI_SPACE_MB}, after warm-up; growth measured after full GCs):`)
  table(
    results.map(({ samples: _s, ...r }) => r),
    log,
  )
  return results
}
