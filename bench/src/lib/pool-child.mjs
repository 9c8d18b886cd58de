// One configuration of the pool suite (bench/src/suites/pool.mjs), in a process of its own;
// prints one JSON line. `recover` uses one pool worker, so every co-tenant shares the looping one's. Usage: node pool-child.mjs load|soak|recover <loader> <n>
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPluginRegistry, inProcessLoader, poolLoader, workerLoader } from '@hotswap/registry'

const [mode, loaderName, nText] = process.argv.slice(2)
const n = Number(nText)
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
const registry = createPluginRegistry({ loader: loaders[loaderName](), logger: quiet, callTimeoutMs: mode === 'recover' ? 500 : undefined })
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
    const t0 = performance.now()
    for (let i = 0; i < n; i += 8) await Promise.all(paths.slice(i, i + 8).map((p) => registry.load(p)))
    const loadAllMs = round(performance.now() - t0, 0)
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
      await new Promise((r) => setTimeout(r, 50))
    }
    out = { loader: loaderName, n, rssMB: rss, loadAllMs, reloadP50Ms: round(p50(reloads)), callP50Us: round(p50(calls), 1) }
  } else if (mode === 'soak') {
    const path = join(dir, 'soak.cjs')
    await writeFile(path, source('soak', 0))
    await registry.load(path)
    for (let i = 0; i < 200; i++) await registry.reload('soak')
    await settle()
    const before = process.memoryUsage().rss
    for (let i = 0; i < n; i++) await registry.reload('soak')
    await settle()
    out = { loader: loaderName, reloads: n, rssGrowthMB: round((process.memoryUsage().rss - before) / 2 ** 20, 1) }
  } else {
    const ids = Array.from({ length: n }, (_, i) => `t${i}`)
    for (const id of ids) {
      await writeFile(join(dir, `${id}.cjs`), source(id, 0))
      await registry.load(join(dir, `${id}.cjs`))
    }
    await writeFile(join(dir, 'spin.cjs'), source('spin', 0, 'spin() { for (;;) {} },'))
    await registry.load(join(dir, 'spin.cjs'))
    let failed = 0
    let allFailedAt = 0
    const allFailed = new Promise((resolve) => {
      registry.events$.subscribe((e) => {
        if (e.type === 'failed' && ids.includes(e.id) && ++failed === n) { allFailedAt = performance.now(); resolve() }
      })
    })
    const t0 = performance.now()
    await registry.get('spin').call('spin').catch(() => undefined)
    const timeoutMs = round(performance.now() - t0, 0)
    await allFailed
    for (const id of ids) await registry.reload(id)
    await Promise.all(ids.map((id) => registry.get(id).call('inc')))
    out = { loader: loaderName, coTenants: n, timeoutMs, allFailedMs: round(allFailedAt - t0, 0), recoveredMs: round(performance.now() - t0, 0) }
  }
} finally {
  await registry.close()
  await rm(dir, { recursive: true, force: true })
}
console.log(JSON.stringify(out))
process.exit(0)
