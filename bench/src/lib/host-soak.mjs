// One memory soak of the real hotswap host (apps/host/dist, built) in its own process:
// `node --expose-gc host-soak.mjs <loader> <reloads> [warmup]`, loader = in-process | worker.
// The host runs as `hotswap-host` would (watcher, pipeline, file state store, event journal,
// metrics, HTTP server, JSON log lines to a sink). Each step is a real edit (temp file + rename
// over the plugin, as editors save) picked up by the host's watcher; the step ends when the new
// version answers a call through the HTTP call API (`POST /api/plugins/soak/call`), which also
// reads back the state carried across the reload. Every 50 steps `GET /api/reloads` and
// `GET /metrics` are read too, as a dashboard would. Prints one JSON line.
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { growthReport, soakLoop, soakPlugin } from './soak.mjs'

const HOST = fileURLToPath(new URL('../../../apps/host/dist/index.js', import.meta.url))
if (!existsSync(HOST)) throw new Error(`${HOST} is missing: build hotswap-host first (pnpm run build)`)
const { resolveConfig, startHost } = await import(pathToFileURL(HOST).href)

const [loaderArg, countArg, warmupArg] = process.argv.slice(2)
const count = Number(countArg)
const warmup = Number(warmupArg ?? 100)
const dir = await mkdtemp(join(tmpdir(), 'hotswap-host-soak-'))
const plugins = join(dir, 'plugins')
await mkdir(plugins)
const file = join(plugins, 'soak.mjs')
const source = soakPlugin
await writeFile(file, source(0))
const config = resolveConfig({
  flags: { dirs: [plugins], port: '0', stateDir: join(dir, 'state'), loader: loaderArg, debounceMs: '0', logFormat: 'json', logLevel: 'info' },
  env: {},
  cwd: dir,
})
let logBytes = 0
const host = await startHost(config, { stdout: (text) => (logBytes += text.length) })
await host.pipeline.ready
const auth = { authorization: `Bearer ${host.token}`, 'content-type': 'application/json' }

async function call() {
  const response = await fetch(`${host.url}/api/plugins/soak/call`, { method: 'POST', headers: auth, body: JSON.stringify({ method: 'v', args: [] }) })
  if (!response.ok) throw new Error(`call failed: ${response.status} ${await response.text()}`)
  const body = await response.json()
  return body.result ?? body.value ?? body
}

function served(n) {
  return new Promise((resolve) => {
    const off = host.journal.subscribe((entry) => {
      const e = entry.event
      if (e.type === 'reload' && (e.to === `1.0.${n}` || e.outcome === 'failed')) {
        off()
        resolve(e)
      }
    })
  })
}

let expectedCount = 0
async function step(n) {
  const tmp = `${file}.tmp`
  await writeFile(tmp, source(n))
  const done = served(n)
  await rename(tmp, file)
  const result = await done
  if (result.outcome !== 'success') throw new Error(`edit ${n} failed: ${result.error?.message}`)
  const answer = await call()
  expectedCount++
  if (answer.n !== n) throw new Error(`edit ${n}: served ${JSON.stringify(answer)}`)
  if (answer.count !== expectedCount) throw new Error(`edit ${n}: state not carried (count ${answer.count}, expected ${expectedCount})`)
  if (n % 50 === 0) {
    for (const path of ['/api/reloads', '/metrics']) {
      const response = await fetch(`${host.url}${path}`, { headers: auth })
      if (!response.ok) throw new Error(`GET ${path}: ${response.status}`)
      await response.arrayBuffer()
    }
  }
}

const soak = await soakLoop(step, { warmup, count })
const { samples } = soak
const reloadsCounted = host.pipeline.status().totals.reloads
const journalReloads = host.journal.reloads().length
await host.close()
await rm(dir, { recursive: true, force: true })
const MB = 1048576
console.log(
  JSON.stringify({
    loader: loaderArg,
    source: 'host',
    reloads: count,
    warmup,
    ...growthReport(soak, count),
    reloadsCounted,
    journalReloads,
    logMB: +(logBytes / MB).toFixed(1),
    samples,
  }),
)
