// One configuration of the pool suite (bench/src/suites/pool.mjs), in a process of its own;
// prints one JSON line. `recover` uses one pool worker, so every co-tenant shares the looping one's. Usage: node pool-child.mjs load|soak|recover <loader> <n>
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import v8 from 'node:v8'
import { join } from 'node:path'
import { buildArtifact, createPluginRegistry, inProcessLoader, poolLoader, workerLoader } from '@hotswap/registry'

const [mode, loaderName, nText] = process.argv.slice(2)
const n = Number(nText)
/** Reloads before the soak's baseline (see the soak below). */
const WARM_UP = Number(process.env.POOL_SOAK_WARM_UP ?? 1000)
const quiet = { debug() {}, info() {}, warn() {}, error() {} }
const round = (x, d = 2) => +x.toFixed(d)
const p50 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const rssMB = () => round(process.memoryUsage().rss / 2 ** 20, 1)
const loaders = { pool: () => poolLoader(mode === 'recover' ? { size: 1 } : {}), worker: () => workerLoader(), 'in-process': () => inProcessLoader() }
const source = (id, v, extra = '') => `let count = 0
module.exports = { name: ${JSON.stringify(id)}, version: '1.0.${v}', saveState() { return { count } },
  setup(ctx) { count = ctx.state ? ctx.state.count : 0; return { inc() { return ++count }, ${extra} } } }
`
const dir = await mkdtemp(join(tmpdir(), 'hotswap-bench-pool-'))
// a generous gate: on a loaded machine a state move can pass the 1 s default, which would end the run
const registry = createPluginRegistry({ loader: loaders[loaderName](), logger: quiet, callTimeoutMs: mode === 'recover' ? 500 : undefined, gateTimeoutMs: 10_000 })
const settle = async () => {
  for (let i = 0; i < 3; i++) {
    globalThis.gc?.()
    await new Promise((r) => setTimeout(r, 100))
  }
}
let out
try {
  if (mode === 'load') {
    const paths = []
    for (let i = 0; i < n; i++) {
      const path = join(dir, `p${i}.cjs`)
      await writeFile(path, source(`p${i}`, 0))
      paths.push(path)
    }
    // the artifacts are built first (as the pipeline does, once per change) and timed apart:
    // load-all is the loader's cost (pool and in-process: every plugin loaded at once)
    const tb = performance.now()
    const artifacts = []
    for (let i = 0; i < n; i += 8) artifacts.push(...(await Promise.all(paths.slice(i, i + 8).map((p) => buildArtifact(p)))))
    const buildAllMs = round(performance.now() - tb, 0)
    const t0 = performance.now()
    // the worker loader boots a Worker per plugin: 8 at a time (all at once, its boots pass the load timeout)
    const batch = loaderName === 'worker' ? 8 : n
    for (let i = 0; i < n; i += batch) await Promise.all(artifacts.slice(i, i + batch).map((a) => registry.load(a)))
    const loadAllMs = round(performance.now() - t0, 0)
    artifacts.length = 0
    await settle()
    const rss = rssMB()
    const h = registry.get('p0')
    for (let i = 0; i < 200; i++) await h.call('inc')
    const calls = []
    for (let i = 0; i < 2000; i++) {
      const t = performance.now()
      await h.call('inc')
      calls.push((performance.now() - t) * 1000)
    }
    const reloads = []
    for (let i = 0; i < 30; i++) {
      const t = performance.now()
      await registry.reload('p0')
      reloads.push(performance.now() - t)
      // time for the worker loader's next spare to boot (and warm its web globals): the issue
      // compares against the worker loader "with a warm spare"; edits come seconds apart anyway
      await new Promise((r) => setTimeout(r, 300))
    }
    out = { loader: loaderName, n, rssMB: rss, buildAllMs, loadAllMs, reloadP50Ms: round(p50(reloads)), callP50Us: round(p50(calls), 1) }
  } else if (mode === 'soak') {
    const path = join(dir, 'soak.cjs')
    await writeFile(path, source('soak', 0))
    await registry.load(path)
    // Warm-up: V8 grows the host's young generation to its maximum over the first 1,000-2,000 reloads
    // (realms and their messages outlive scavenges) and keeps it; that one-time growth (~20 MB, a
    // plateau, reported apart as warmUpGrowthMB) is not what the soak looks for: memory that keeps
    // growing with every reload.
    // The warm-up ends once V8 has stopped sizing the new space: at least WARM_UP reloads, and the
    // new space the same size over the last 1,000 (it can take 1,000-2,000 reloads to reach its
    // maximum; a fixed warm-up sometimes left that step inside the soak). At most 5 × WARM_UP.
    const newSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0
    const start = process.memoryUsage().rss
    let warmUp = 0
    for (let same = 0, last = -1; warmUp < WARM_UP || (same < 4 && warmUp < 5 * WARM_UP); warmUp += 250) {
      for (let i = 0; i < 250; i++) await registry.reload('soak')
      const size = newSpace()
      same = size === last ? same + 1 : 0
      last = size
    }
    await settle()
    const before = process.memoryUsage().rss
    // RSS every 1,000 reloads: the trend (Theil-Sen slope) tells a leak (steady growth) from a step
    const samples = [[0, before]]
    for (let i = 1; i <= n; i++) {
      await registry.reload('soak')
      if (i % 1000 === 0 && i < n) {
        await settle()
        samples.push([i, process.memoryUsage().rss])
      }
    }
    await settle()
    const after = process.memoryUsage().rss
    samples.push([n, after])
    const slopes = []
    for (let i = 0; i < samples.length; i++) for (let j = i + 1; j < samples.length; j++) slopes.push((samples[j][1] - samples[i][1]) / (samples[j][0] - samples[i][0]))
    const trend = p50(slopes) * n // samples hold at least [0, before] and [n, after]
    out = {
      loader: loaderName,
      reloads: n,
      warmUpReloads: warmUp,
      warmUpGrowthMB: round((before - start) / 2 ** 20, 1),
      rssGrowthMB: round((after - before) / 2 ** 20, 1),
      rssTrendMB: round(trend / 2 ** 20, 1),
      rssSamplesMB: samples.map(([, rss]) => round(rss / 2 ** 20, 1)),
    }
  } else {
    const ids = Array.from({ length: n }, (_, i) => `t${i}`)
    for (const id of ids) {
      await writeFile(join(dir, `${id}.cjs`), source(id, 0))
      await registry.load(join(dir, `${id}.cjs`))
    }
    await writeFile(join(dir, 'spin.cjs'), source('spin', 0, 'spin() { for (;;) {} },'))
    await registry.load(join(dir, 'spin.cjs'))
    // nobody reloads anything: the co-tenants are restored by the registry on their own
    let restored = 0
    let lossAt = 0
    const restoredMs = []
    const allRestored = new Promise((resolve) => {
      registry.events$.subscribe((e) => {
        if (e.type === 'failed' && ids.includes(e.id) && lossAt === 0) lossAt = performance.now()
        if (e.type === 'restored' && ids.includes(e.id)) {
          restoredMs.push(e.durationMs)
          if (++restored === n) resolve()
        }
      })
    })
    const t0 = performance.now()
    const stuck = registry.get('spin').call('spin').catch(() => performance.now())
    await new Promise((r) => setTimeout(r, 20))
    const queued = Promise.all(ids.map((id) => registry.get(id).call('inc'))) // wait on the stuck thread, then retried
    const timeoutAt = await stuck
    await allRestored
    await queued
    const servedAt = performance.now()
    out = { loader: loaderName, coTenants: n, timeoutMs: round(timeoutAt - t0, 0), lossMs: round(lossAt - t0, 0), restoreMaxMs: round(Math.max(...restoredMs), 0), servedAgainAfterLossMs: round(servedAt - lossAt, 0), recoveredMs: round(servedAt - t0, 0) }
  }
} finally {
  await registry.close()
  await rm(dir, { recursive: true, force: true })
}
console.log(JSON.stringify(out))
process.exit(0)
