// The hotswap side of the edit-to-serving suite: an HTTP host whose routes call the plugins
// of one directory through the reload pipeline (worker loader, debounce 0), in its own process.
// argv: <plugins dir> [worker|in-process]. Prints `SETTLE n` (the pipeline's settle window), `PORT n`, `TS yes|no <why>`, and one line per pipeline reload
// (`EV {json}`) and per watcher change (`FC {json}`) with epoch times (timeOrigin + now).
import http from 'node:http'
import { DEFAULT_SETTLE_MS, createReloadPipeline } from '@hotswap/pipeline'
import { inProcessLoader, workerLoader } from '@hotswap/registry'
import { watch } from '@hotswap/watcher'

const dir = process.argv[2]
const loader = process.argv[3] === 'in-process' ? inProcessLoader() : workerLoader()
// BENCH_SETTLE_MS unset: the pipeline's default window.
const settle = process.env.BENCH_SETTLE_MS === undefined ? {} : { settleMs: Number(process.env.BENCH_SETTLE_MS) }
const now = () => performance.timeOrigin + performance.now()
// A second watcher on the same directory: when the change was heard (write -> event).
watch(dir, { include: ['.mjs', '.ts'] }).subscribe((c) => console.log(`FC ${JSON.stringify({ t: now(), path: c.path, kind: c.kind, atomic: c.atomic === true })}`))
const pipeline = createReloadPipeline({ dirs: [dir], loader, debounce: 0, reconcileIntervalMs: 0, ...settle })
pipeline.events$.subscribe((e) => {
  if (e.type === 'reload') console.log(`EV ${JSON.stringify({ t: now(), id: e.id, outcome: e.outcome, timings: e.timings, atomic: e.changes.some((c) => c.atomic === true) })}`)
})
await pipeline.ready
console.log(`SETTLE ${settle.settleMs ?? DEFAULT_SETTLE_MS}`)
const ids = { js: 'counter', ts: 'clock' }
const handleOf = (id) => {
  try {
    return pipeline.registry.get(id)
  } catch {
    return undefined
  }
}
const ts = handleOf('clock')
console.log(ts === undefined ? `TS no the registry on this branch did not load plugins/clock.ts` : 'TS yes')
const server = http.createServer((req, res) => {
  const handle = handleOf(ids[req.url.slice(1)] ?? '')
  if (handle === undefined) {
    res.statusCode = 404
    res.end('{}')
    return
  }
  handle.call('get').then(
    (r) => res.end(JSON.stringify(r)),
    (error) => {
      res.statusCode = 500
      res.end(JSON.stringify({ error: String(error) }))
    },
  )
})
server.keepAliveTimeout = 60_000
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => console.log(`PORT ${server.address().port}`))
process.on('SIGTERM', () => {
  server.close()
  server.closeAllConnections()
  void pipeline.close().then(() => process.exit(0))
})
