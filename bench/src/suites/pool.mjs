// @hotswap/registry pool loader beside the worker and in-process loaders, for many small
// plugins: RSS with all loaded, time to load all, reload p50 of one plugin, call round trip
// p50 (the artifacts are built first and timed apart); plus reloads of one pool plugin (RSS
// growth) and the automatic restore of the co-tenants of a looping plugin. Each configuration runs in a child process of its own (RSS is per process).
//
// Knobs (environment): POOL_COUNTS (default "10,100,1000"), POOL_WORKER_MAX (default 100: a
// worker per plugin costs ~8.6 MB), POOL_SOAK (default 2000 reloads; `--long`: 10000, the
// issue's soak; POOL_SOAK_WARM_UP, default at least 1000 reloads before its baseline, until V8's new space stops growing), POOL_ROUNDS (default 1; `--long`: 3 interleaved rounds, medians).
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run$ = promisify(execFile)
const child = fileURLToPath(new URL('../lib/pool-child.mjs', import.meta.url))
const counts = (process.env.POOL_COUNTS ?? '10,100,1000').split(',').map(Number)
const workerMax = Number(process.env.POOL_WORKER_MAX ?? 100)
const soak = Number(process.env.POOL_SOAK ?? 2000)

async function inChild(args) {
  const { stdout } = await run$(process.execPath, ['--expose-gc', child, ...args], { maxBuffer: 1 << 24, timeout: 20 * 60_000 })
  return JSON.parse(stdout.trim().split('\n').pop())
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

export async function run({ log, flags = [] }) {
  const long = flags.includes('--long')
  const rounds = Number(process.env.POOL_ROUNDS ?? (long ? 3 : 1))
  const soakReloads = long && process.env.POOL_SOAK === undefined ? 10_000 : soak
  const samples = new Map()
  // rounds interleave the loaders (pool, worker, in-process side by side each round); medians per row
  for (let round = 0; round < rounds; round++) {
    for (const n of counts) {
      for (const loader of ['pool', 'worker', 'in-process']) {
        if (loader === 'worker' && n > workerMax) continue
        const r = await inChild(['load', loader, String(n)])
        const key = `${loader}:${n}`
        samples.set(key, [...(samples.get(key) ?? []), r])
        log(`round ${round + 1}/${rounds} ${loader.padEnd(10)} n=${String(n).padStart(4)}  rss ${r.rssMB} MB  build all ${r.buildAllMs} ms  load all ${r.loadAllMs} ms  reload p50 ${r.reloadP50Ms} ms  call p50 ${r.callP50Us} µs`)
      }
    }
  }
  const rows = [...samples.values()].map((rs) => ({
    loader: rs[0].loader,
    n: rs[0].n,
    rounds: rs.length,
    ...Object.fromEntries(['rssMB', 'buildAllMs', 'loadAllMs', 'reloadP50Ms', 'callP50Us'].map((k) => [k, median(rs.map((r) => r[k]))])),
  }))
  const s = await inChild(['soak', 'pool', String(soakReloads)])
  log(`pool soak: ${s.reloads} reloads after ${s.warmUpReloads} to warm up, RSS growth ${s.rssGrowthMB} MB, trend ${s.rssTrendMB} MB (the warm-up itself: ${s.warmUpGrowthMB} MB, V8 sizing the young generation once); RSS every 1,000 reloads: ${s.rssSamplesMB.join(', ')} MB`)
  const rec = await inChild(['recover', 'pool', '20'])
  log(`pool recovery: looping call rejected after ${rec.timeoutMs} ms (callTimeoutMs 500 + drop bound); its 20 co-tenants lost their worker at ${rec.lossMs} ms and all served again ${rec.servedAgainAfterLossMs} ms later, restored on their own (slowest restore ${rec.restoreMaxMs} ms)`)
  const at = (loader, n) => rows.find((r) => r.loader === loader && r.n === n)
  const big = at('pool', Math.max(...counts))
  const workerRef = at('worker', Math.min(workerMax, Math.max(...counts.filter((c) => c <= workerMax))))
  const targets = {}
  if (big !== undefined && big.n === 1000) {
    targets.pool1000RssMB = { target: '<= 500', measured: big.rssMB, pass: big.rssMB <= 500 }
    targets.pool1000LoadAllMs = { target: '<= 3000', measured: big.loadAllMs, pass: big.loadAllMs <= 3000 }
    targets.pool1000CallP50Us = { target: '< 50', measured: big.callP50Us, pass: big.callP50Us < 50 }
    if (workerRef !== undefined) targets.pool1000ReloadP50VsWorkerMs = { target: `<= worker's (${workerRef.reloadP50Ms} ms at n=${workerRef.n}, warm spare)`, measured: big.reloadP50Ms, pass: big.reloadP50Ms <= workerRef.reloadP50Ms }
  }
  targets.poolSoakRssGrowthMB = { target: `< 10 over ${s.reloads} reloads`, measured: s.rssGrowthMB, pass: s.rssGrowthMB < 10 }
  targets.coTenantServedAgainAfterLossMs = { target: '<= 2000 (bound stated: 20 co-tenants serve again within 2 s of their worker\'s loss)', measured: rec.servedAgainAfterLossMs, pass: rec.servedAgainAfterLossMs <= 2000 }
  return { ...(process.env.BENCH_NOTE ? { note: process.env.BENCH_NOTE } : {}), rows, soak: s, recovery: rec, targets, pass: Object.values(targets).every((t) => t.pass) }
}
