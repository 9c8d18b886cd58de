// One RSS soak in its own process: `node --expose-gc registry-soak.mjs <mode> <reloads>`,
// mode = worker | in-process | in-process-esm | wasm | esm-reimport. Prints one JSON line.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { createPluginRegistry, inProcessLoader, wasmLoader, workerLoader } from '@hotswap/registry'
import { writeBigPlugin, writeBigWasm } from './registry-fixtures.mjs'
import { soakLoop } from './soak.mjs'

const [mode, countArg, warmupArg] = process.argv.slice(2)
const count = Number(countArg)
const warmup = Number(warmupArg ?? 50)
const quiet = { debug() {}, info() {}, warn() {}, error() {} }
const dir = await mkdtemp(join(tmpdir(), 'hotswap-soak-'))

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

const { first, last, samples, ms } = await soakLoop(step, { warmup, count })
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
