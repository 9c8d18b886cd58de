// One RSS soak in its own process: `node --expose-gc registry-soak.mjs <mode> <reloads>`,
// mode = worker | in-process | in-process-esm | wasm | esm-reimport. Prints one JSON line.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { getHeapSpaceStatistics } from 'node:v8'
import { createPluginRegistry, inProcessLoader, wasmLoader, workerLoader } from '@hotswap/registry'
import { writeBigPlugin, writeBigWasm } from './registry-fixtures.mjs'

const [mode, countArg, warmupArg] = process.argv.slice(2)
const count = Number(countArg)
const warmup = Number(warmupArg ?? 50)
const quiet = { debug() {}, info() {}, warn() {}, error() {} }
const dir = await mkdtemp(join(tmpdir(), 'hotswap-soak-'))

async function memory() {
  globalThis.gc()
  await new Promise((r) => setImmediate(r))
  globalThis.gc()
  const m = process.memoryUsage()
  const newSpace = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.physical_space_size ?? 0
  return { rss: m.rss, heapUsed: m.heapUsed, newSpace }
}

let step
let close = async () => {}
if (mode === 'esm-reimport') {
  const path = await writeBigPlugin(dir, 'esm', '1.0.0')
  const href = pathToFileURL(path).href
  const held = { mod: undefined }
  step = async (i) => {
    held.mod = await import(`${href}?v=${i}`)
    held.mod.default.setup({})
  }
} else {
  const loader = mode === 'worker' ? workerLoader() : mode === 'wasm' ? wasmLoader() : inProcessLoader()
  // in-process-esm: the ESM source through the artifact (one CJS bundle compiled per version).
  const write = mode === 'wasm' ? (v) => writeBigWasm(dir, v) : (v) => writeBigPlugin(dir, mode === 'worker' || mode === 'in-process-esm' ? 'esm' : 'cjs', v)
  const registry = createPluginRegistry({ loader, logger: quiet, keepPrevious: false })
  await registry.load(await write('1.0.0'))
  const handle = registry.get('big')
  step = async (i) => {
    await write(`1.0.${i}`)
    await registry.reload('big')
    await handle.call('increment')
  }
  close = () => registry.close()
}

// Memory is sampled after full GCs at 8 reloads right after the warm-up and at the last 8;
// growth compares the minima, so a transient (a spare worker booting at the moment of one
// sample) does not count, while a leak raises every sample.
let i = 1
for (; i <= warmup; i++) await step(i)
const first = []
for (let k = 0; k < 8; k++, i++) {
  await step(i)
  first.push(await memory())
}
const started = performance.now()
const samples = []
for (let n = 0; n < count - 16; n++, i++) {
  await step(i)
  if ((n + 1) % Math.max(1, Math.floor(count / 10)) === 0) samples.push({ reloads: n + 9, rssMB: +(process.memoryUsage().rss / 1048576).toFixed(1) })
}
const ms = performance.now() - started
const last = []
for (let k = 0; k < 8; k++, i++) {
  await step(i)
  last.push(await memory())
}
const minOf = (xs, f) => Math.min(...xs.map(f))
const before = { rss: minOf(first, (m) => m.rss), heapUsed: minOf(first, (m) => m.heapUsed), newSpace: minOf(first, (m) => m.newSpace) }
const after = { rss: minOf(last, (m) => m.rss), heapUsed: minOf(last, (m) => m.heapUsed), newSpace: minOf(last, (m) => m.newSpace) }
await close()
await rm(dir, { recursive: true, force: true })
const MB = 1048576
console.log(
  JSON.stringify({
    mode,
    reloads: count,
    warmup,
    msPerReload: +(ms / (count - 16)).toFixed(3),
    rssGrowthMB: +((after.rss - before.rss) / MB).toFixed(2),
    newSpaceGrowthMB: +((after.newSpace - before.newSpace) / MB).toFixed(2),
    rssGrowthWithoutNewSpaceMB: +((after.rss - before.rss - Math.max(0, after.newSpace - before.newSpace)) / MB).toFixed(2),
    heapUsedGrowthMB: +((after.heapUsed - before.heapUsed) / MB).toFixed(2),
    kibPerReload: +((after.rss - before.rss) / 1024 / count).toFixed(2),
    samples,
  }),
)
process.exit(0)
