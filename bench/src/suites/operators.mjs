// coalesceByKey throughput and memory: 1,000,000 values over 10,000 keys through
// @hotswap/operators' coalesceByKey beside the naive `groupBy(key) + mergeMap(g => g.pipe(debounceTime(w)))`.
//
// Clock: the REAL asyncScheduler (Node timers), a fixed 50 ms window. Each round pushes all
// values synchronously through a Subject (so no window ends during the push) and then waits until
// every key has emitted once. Two figures per round:
//   - push values/s: values / time of the synchronous push, i.e. the operator's own per-value cost
//     (key lookup, fold, lazy timer bookkeeping); this is the figure the >= 1,000,000 values/s
//     target applies to;
//   - end-to-end values/s: values / (push + until the last key emitted), which includes the 50 ms
//     window itself and the 10,000 timers firing, so it is bounded by the window and only informative.
// Heap: in a fresh process started with --expose-gc (this suite re-spawns itself when global.gc is
// missing), heapUsed after gc() with the operator subscribed and idle (baseline), then after the
// 10,000 keys went quiet, with the subscription still open (the source never completes), after gc().
// Each contender runs in its own child process so their heaps do not mix.
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { median, table } from '../lib/stats.mjs'

const VALUES = 1_000_000
const KEYS = 10_000
const WINDOW_MS = 50
const ROUNDS = 5
/** Heap growth after the keys went quiet that still counts as "back to baseline" (GC noise). */
const HEAP_TOLERANCE_BYTES = 256 * 1024
const TARGET_VALUES_PER_SEC = 1_000_000

const self = fileURLToPath(import.meta.url)

export async function run({ log }) {
  log(`${VALUES.toLocaleString('en')} values over ${KEYS.toLocaleString('en')} keys, ${WINDOW_MS} ms window, real asyncScheduler, ${ROUNDS} rounds (median)`)
  const contenders = ['coalesceByKey', 'groupBy+debounceTime']
  const results = {}
  for (const name of contenders) results[name] = await child(name)
  table(
    contenders.map((name) => ({
      contender: name,
      'push values/s': Math.round(results[name].pushValuesPerSec),
      'end-to-end values/s': Math.round(results[name].endToEndValuesPerSec),
      'heap baseline MiB': results[name].heapBaselineBytes / 2 ** 20,
      'heap after quiet MiB': results[name].heapAfterQuietBytes / 2 ** 20,
      'heap delta KiB': results[name].heapDeltaBytes / 1024,
      'keys held': results[name].keysHeldAfterQuiet ?? 'n/a',
    })),
    log,
  )
  const ours = results.coalesceByKey
  const targets = {
    valuesPerSec: { target: `>= ${TARGET_VALUES_PER_SEC}`, measured: Math.round(ours.pushValuesPerSec), pass: ours.pushValuesPerSec >= TARGET_VALUES_PER_SEC },
    heapBackToBaseline: {
      target: `heap delta after quiet <= ${HEAP_TOLERANCE_BYTES} bytes and 0 keys held`,
      measured: { heapDeltaBytes: ours.heapDeltaBytes, keysHeld: ours.keysHeldAfterQuiet },
      pass: ours.heapDeltaBytes <= HEAP_TOLERANCE_BYTES && ours.keysHeldAfterQuiet === 0,
    },
  }
  for (const [name, t] of Object.entries(targets)) log(`${name}: ${t.pass ? 'met' : 'MISSED'} (target ${t.target}, measured ${JSON.stringify(t.measured)})`)
  return {
    pass: Object.values(targets).every((t) => t.pass),
    targets,
    setup: { values: VALUES, keys: KEYS, windowMs: WINDOW_MS, rounds: ROUNDS, scheduler: 'asyncScheduler (real timers)', heapToleranceBytes: HEAP_TOLERANCE_BYTES },
    results,
  }
}

/** Runs one contender in a fresh `node --expose-gc` process and returns its JSON result. */
function child(name) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--expose-gc', self, '--child', name], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    proc.stdout.on('data', (chunk) => (out += chunk))
    proc.on('error', reject)
    proc.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${name} child exited with ${code}: ${out}`))
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1)))
      } catch (error) {
        reject(new Error(`${name} child printed no JSON: ${out} (${error.message})`))
      }
    })
  })
}

async function measure(name) {
  if (typeof global.gc !== 'function') throw new Error('run with --expose-gc (the suite spawns children that way)')
  const operators = await import('@hotswap/operators')
  // bench does not depend on rxjs itself: use the very rxjs instance @hotswap/operators uses.
  const rxjsPath = createRequire(import.meta.resolve('@hotswap/operators')).resolve('rxjs')
  const { Subject, groupBy, mergeMap, debounceTime, asyncScheduler } = await import(pathToFileURL(rxjsPath).href)

  const keys = Array.from({ length: KEYS }, (_, i) => `plugins/plugin-${i}/index.mjs`)
  const keyOf = (value) => keys[value % KEYS]
  let keysHeld = 0
  const operator =
    name === 'coalesceByKey'
      ? () => operators.coalesceByKey(keyOf, { windowMs: WINDOW_MS, scheduler: asyncScheduler, onKeyCount: (n) => (keysHeld = n) })
      : () => (source) => source.pipe(groupBy(keyOf), mergeMap((group) => group.pipe(debounceTime(WINDOW_MS, asyncScheduler))))

  // One round: subscribe, push `values` synchronously, wait until every key emitted once.
  const round = async (values) => {
    const subject = new Subject()
    let emitted = 0
    let resolveDone
    const done = new Promise((resolve) => (resolveDone = resolve))
    const subscription = subject.pipe(operator()).subscribe(() => {
      if (++emitted === KEYS) resolveDone(performance.now())
    })
    const start = performance.now()
    for (let i = 0; i < values; i++) subject.next(i)
    const pushed = performance.now()
    const finished = await bounded(done, 30_000, `${name}: not all ${KEYS} keys emitted within 30 s`)
    return { subject, subscription, pushMs: pushed - start, totalMs: finished - start }
  }

  await round(200_000).then((r) => r.subscription.unsubscribe()) // warm-up
  const push = []
  const total = []
  for (let i = 0; i < ROUNDS; i++) {
    const r = await round(VALUES)
    r.subscription.unsubscribe()
    push.push(VALUES / (r.pushMs / 1000))
    total.push(VALUES / (r.totalMs / 1000))
  }

  // Heap: baseline with an idle subscription, then after 10,000 keys went quiet, still subscribed.
  const idle = new Subject()
  const idleSubscription = idle.pipe(operator()).subscribe()
  const baseline = heapAfterGc()
  idleSubscription.unsubscribe()
  const r = await round(VALUES)
  await new Promise((resolve) => setTimeout(resolve, WINDOW_MS * 2)) // let any trailing timer bookkeeping run
  const after = heapAfterGc()
  const keysHeldAfterQuiet = name === 'coalesceByKey' ? keysHeld : undefined
  r.subscription.unsubscribe() // only now: the subscription was alive during the measurement
  r.subject.complete()
  return {
    pushValuesPerSec: median(push),
    endToEndValuesPerSec: median(total),
    pushValuesPerSecRounds: push.map(Math.round),
    heapBaselineBytes: baseline,
    heapAfterQuietBytes: after,
    heapDeltaBytes: after - baseline,
    keysHeldAfterQuiet,
  }
}

function heapAfterGc() {
  for (let i = 0; i < 4; i++) global.gc()
  return process.memoryUsage().heapUsed
}

function bounded(promise, ms, message) {
  let timer
  return Promise.race([promise, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]).finally(() => clearTimeout(timer))
}

if (process.argv[2] === '--child') {
  measure(process.argv[3]).then(
    (result) => {
      process.stdout.write(`${JSON.stringify(result)}\n`)
    },
    (error) => {
      console.error(error)
      process.exit(1)
    },
  )
}
