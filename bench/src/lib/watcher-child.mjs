// One measurement of one file watcher, run in a fresh process so that start-up time and RSS
// are comparable. Usage: node watcher-child.mjs '<json job>'; prints one JSON line.
//   job = { task: 'startup', contender, dir }
//       | { task: 'latency', contender, dir, files, writes, gapMs, gapFrom: 'write' | 'event', offsetMs }
// contender: 'hotswap' (@hotswap/watcher), 'parcel' (bare @parcel/watcher), 'chokidar' (chokidar 4).
import { createRequire } from 'node:module'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'

const job = JSON.parse(process.argv[2])
const { watch } = await import('@hotswap/watcher')
// The very @parcel/watcher that @hotswap/watcher uses.
const parcel = createRequire(import.meta.resolve('@hotswap/watcher'))('@parcel/watcher')
const chokidar = await import('chokidar')

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** Starts a contender on `dir`; resolves with a stop function once it is ready. `onChange(path)` per change. */
async function start(contender, dir, onChange) {
  if (contender === 'parcel') {
    const sub = await parcel.subscribe(dir, (err, events) => {
      if (err) throw err
      for (const e of events) onChange(e.path)
    })
    return () => sub.unsubscribe()
  }
  if (contender === 'hotswap') {
    let ready
    const isReady = new Promise((r) => (ready = r))
    let failed
    const sub = watch(dir, { onReady: ready }).subscribe({ next: (c) => onChange(c.path), error: (e) => (failed = e) })
    await Promise.race([isReady, sleep(120_000)])
    if (failed) throw failed
    return async () => sub.unsubscribe()
  }
  if (contender === 'chokidar') {
    const w = chokidar.watch(dir, { ignoreInitial: true })
    w.on('change', onChange).on('add', onChange).on('unlink', onChange)
    await new Promise((resolve, reject) => w.on('ready', resolve).on('error', reject))
    return () => w.close()
  }
  throw new Error(`unknown contender ${contender}`)
}

if (job.task === 'startup') {
  await sleep(50)
  const rss0 = process.memoryUsage().rss
  const t0 = performance.now()
  const stop = await start(job.contender, job.dir, () => {})
  const startMs = performance.now() - t0
  const rssReady = process.memoryUsage().rss
  // What keeps running after "ready" (our background identity fill), and the memory once settled.
  const elu0 = performance.eventLoopUtilization()
  await sleep(500)
  const elu = performance.eventLoopUtilization(elu0)
  const rssSettled = process.memoryUsage().rss
  await stop()
  console.log(JSON.stringify({ startMs, rssReadyMiB: (rssReady - rss0) / 2 ** 20, rssMiB: (rssSettled - rss0) / 2 ** 20, busyAfterReadyMs: elu.active }))
  process.exit(0)
}

if (job.task === 'latency') {
  const files = Array.from({ length: job.files }, (_, i) => join(job.dir, `hot-${i}.js`))
  for (const f of files) writeFileSync(f, 'export default 0\n')
  let waiting // { path, t0, resolve }
  const stop = await start(job.contender, job.dir, (path) => {
    if (waiting !== undefined && path === waiting.path) {
      const w = waiting
      waiting = undefined
      w.resolve(performance.now() - w.t0)
    }
  })
  await sleep(700 + job.offsetMs)
  const samples = []
  let lost = 0
  for (let i = 0; i < job.writes; i++) {
    const path = files[i % files.length]
    const seen = new Promise((resolve) => (waiting = { path, t0: 0, resolve }))
    waiting.t0 = performance.now()
    writeFileSync(path, `export default ${i + 1}\n`)
    const latency = await Promise.race([seen, sleep(3000).then(() => undefined)])
    if (latency === undefined) {
      lost++
      waiting = undefined
    } else {
      samples.push(latency)
    }
    // Churn: the gap counts from the write, like a steady writer. Quiet: from the event, so
    // that the backend's next flush is immediate (> 500 ms since its last one) for everyone.
    await sleep(job.gapFrom === 'event' ? job.gapMs : Math.max(0, job.gapMs - (latency ?? 0)))
  }
  await stop()
  console.log(JSON.stringify({ samples, lost }))
  process.exit(0)
}
