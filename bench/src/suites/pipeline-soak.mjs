// Memory soak: the same real edit (temp file + rename over the plugin, then a call that checks
// the new version answers with the state carried over) repeated through
//   - the bare registry (buildArtifact + reload): the peer, what the loader itself costs;
//   - the pipeline, changes fed through its `changes` option (no watcher batching);
//   - the pipeline on its real @parcel/watcher;
//   - the real hotswap-host (watcher, pipeline, file state store, journal, metrics, HTTP API).
// Each run is a fresh process with --expose-gc (bench/src/lib/pipeline-soak.mjs and
// host-soak.mjs); memory is sampled after full GCs, 8 times after the warm-up and 8 times at the
// end, and growth compares the minima. Rounds interleave the contenders; medians are reported.
//
// Default (short): 300 reloads after a 100-reload warm-up, 2 rounds, in-process loader.
// `--long`: the 10,000 reloads after a 1,000-reload warm-up (RSS of the in-process
// loader climbs to a plateau over the first ~900 reloads, in the bare registry as much as in the
// pipeline: the allocator's high-water mark for compiled code, not a structure that grows), one
// round. `--worker`: the worker loader instead (the default loader of the pipeline and host).
// BENCH_SOAK_RELOADS / BENCH_SOAK_WARMUP / BENCH_SOAK_ROUNDS override the counts;
// BENCH_SOAK_ONLY=registry,fed,watcher,host picks contenders.
// Targets: heap growth after GC < 1 MB (flat) and RSS growth beyond the bare registry's < 10 MB
// for the pipeline and the host; with 10,000 reloads or more also the absolute RSS growth
// < 10 MB (a short run is still inside the in-process loader's climb to its plateau).
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { median, table } from '../lib/stats.mjs'

const lib = (name) => fileURLToPath(new URL(`../lib/${name}`, import.meta.url))

export async function run({ log, flags = [] }) {
  const long = flags.includes('--long')
  const loader = flags.includes('--worker') ? 'worker' : 'in-process'
  const reloads = Number(process.env.BENCH_SOAK_RELOADS ?? (long ? 10_000 : 300))
  const warmup = Number(process.env.BENCH_SOAK_WARMUP ?? (long ? 1000 : 100))
  const rounds = Number(process.env.BENCH_SOAK_ROUNDS ?? (long ? 1 : 2))
  const contenders = [
    { key: 'registry', name: `bare registry (${loader})`, script: 'pipeline-soak.mjs', args: [loader, 'registry'] },
    { key: 'fed', name: `pipeline, changes fed (${loader})`, script: 'pipeline-soak.mjs', args: [loader, 'fed'] },
    { key: 'watcher', name: `pipeline on @parcel/watcher (${loader})`, script: 'pipeline-soak.mjs', args: [loader, 'watcher'] },
    { key: 'host', name: `hotswap-host (${loader})`, script: 'host-soak.mjs', args: [loader] },
  ].filter((c) => process.env.BENCH_SOAK_ONLY === undefined || process.env.BENCH_SOAK_ONLY.split(',').includes(c.key))
  log(`${reloads} reloads after ${warmup} warm-up, ${rounds} round(s), each contender in a fresh process; the machine may be shared (medians of interleaved rounds)`)
  const runs = Object.fromEntries(contenders.map((c) => [c.key, []]))
  for (let round = 1; round <= rounds; round++) {
    for (const c of contenders) {
      log(`round ${round}: ${c.name}...`)
      const result = await child(lib(c.script), [...c.args, String(reloads), String(warmup)])
      log(`  ${result.msPerReload} ms/reload, RSS ${result.rssGrowthMB >= 0 ? '+' : ''}${result.rssGrowthMB} MB, heap ${result.heapGrowthMB >= 0 ? '+' : ''}${result.heapGrowthMB} MB`)
      runs[c.key].push(result)
    }
  }
  const med = (xs, f) => +median(xs.map(f)).toFixed(2)
  const rows = contenders.map((c) => ({
    contender: c.name,
    reloads,
    msPerReload: med(runs[c.key], (r) => r.msPerReload),
    rssGrowthMB: med(runs[c.key], (r) => r.rssGrowthMB),
    heapGrowthMB: med(runs[c.key], (r) => r.heapGrowthMB),
    heapAfterMB: med(runs[c.key], (r) => r.heapAfterMB),
  }))
  table(rows, log)
  const byKey = Object.fromEntries(contenders.map((c, i) => [c.key, rows[i]]))
  const targets = {}
  for (const key of ['fed', 'watcher', 'host']) {
    const row = byKey[key]
    if (row === undefined) continue
    if (reloads >= 10_000) targets[`${key}RssGrowthMB`] = { target: `< 10 MB over ${reloads} reloads`, measured: row.rssGrowthMB, pass: row.rssGrowthMB < 10 }
    targets[`${key}HeapGrowthMB`] = { target: '< 1 MB after GC (flat)', measured: row.heapGrowthMB, pass: row.heapGrowthMB < 1 }
    if (byKey.registry !== undefined) {
      const over = +(row.rssGrowthMB - byKey.registry.rssGrowthMB).toFixed(2)
      targets[`${key}OverBareRegistryMB`] = { target: "RSS growth minus the bare registry's < 10 MB", measured: over, pass: over < 10 }
    }
  }
  log('')
  table(Object.entries(targets).map(([name, t]) => ({ target: name, want: t.target, measured: t.measured, met: t.pass ? 'yes' : 'NO' })), log)
  if (reloads < 10_000) log(`(the issue's figure is 10,000 reloads: pnpm bench -- pipeline-soak --long)`)
  return { pass: Object.values(targets).every((t) => t.pass), loader, reloads, warmup, rounds, rows, runs, targets }
}

function child(script, args) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--expose-gc', script, ...args], { maxBuffer: 1 << 24 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${script} ${args.join(' ')} failed: ${error.message}\n${stderr}`))
      else resolve(JSON.parse(stdout.trim().split('\n').pop()))
    })
  })
}
