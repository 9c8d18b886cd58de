// One memory soak of the pipeline in its own process:
// `node --expose-gc pipeline-soak.mjs <loader> <source> <reloads> [warmup]`, loader = in-process |
// worker, source = watcher | fed | registry. Each step is a real edit (written to a temp file and renamed
// over the plugin, as editors save), seen by the watcher (or, `fed`, announced to the pipeline's
// `changes` option, to leave the watcher's batching out), planned, decided, built and reloaded
// by the pipeline; the step ends when the new version answers. `registry` does the same steps on
// the bare registry (buildArtifact + reload), the peer that tells what the pipeline itself adds.
// Prints one JSON line.
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Subject } from 'rxjs'
import { createReloadPipeline } from '@hotswap/pipeline'
import { buildArtifact, createPluginRegistry, inProcessLoader, workerLoader } from '@hotswap/registry'
import { growthReport, soakLoop, soakPlugin } from './soak.mjs'

const [loaderArg, sourceArg, countArg, warmupArg] = process.argv.slice(2)
const count = Number(countArg)
const warmup = Number(warmupArg ?? 100)
const quiet = { debug() {}, info() {}, warn() {}, error() {} }
const dir = await mkdtemp(join(tmpdir(), 'hotswap-pipeline-soak-'))
const plugins = join(dir, 'plugins')
await mkdir(plugins)
const file = join(plugins, 'soak.mjs')
const source = soakPlugin
await writeFile(file, source(0))
const loader = loaderArg === 'worker' ? workerLoader() : inProcessLoader()
const bare = sourceArg === 'registry'
const fed = sourceArg === 'fed' ? new Subject() : undefined
const options = { logger: quiet, keepPrevious: false }
const pipeline = bare ? undefined : createReloadPipeline({ dirs: [plugins], loader, ...(fed !== undefined ? { changes: fed } : {}), debounce: 0, reconcileIntervalMs: 0, logger: quiet, registryOptions: options })
const registry = pipeline?.registry ?? createPluginRegistry({ loader, ...options })
if (pipeline !== undefined) await pipeline.ready
else await registry.load(await buildArtifact(file))
const handle = registry.get('soak')

function served(n) {
  return new Promise((resolve) => {
    const sub = pipeline.events$.subscribe((e) => {
      if (e.type === 'reload' && (e.to === `1.0.${n}` || e.outcome === 'failed')) {
        sub.unsubscribe()
        resolve(e)
      }
    })
  })
}

async function step(n) {
  const tmp = `${file}.tmp`
  await writeFile(tmp, source(n))
  const done = pipeline === undefined ? undefined : served(n)
  await rename(tmp, file)
  fed?.next({ kind: 'modified', path: file, root: plugins })
  const result = done === undefined ? await registry.reload('soak', await buildArtifact(file)).then(() => ({ outcome: 'success' })) : await done
  if (result.outcome !== 'success') throw new Error(`edit ${n} failed: ${result.error?.message}`)
  const answer = await handle.call('v')
  if (answer.n !== n) throw new Error(`edit ${n}: served ${answer.n}`)
}

const soak = await soakLoop(step, { warmup, count })
const { samples } = soak
const reloadsCounted = pipeline?.status().totals.reloads
await (pipeline ?? registry).close()
await rm(dir, { recursive: true, force: true })
console.log(
  JSON.stringify({
    loader: loaderArg,
    source: sourceArg,
    reloads: count,
    warmup,
    ...growthReport(soak, count),
    reloadsCounted,
    samples,
  }),
)
