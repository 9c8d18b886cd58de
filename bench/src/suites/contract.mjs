// The plugin contract of @hotswap/registry (issue 16) on the worker loader: a host service
// called from a worker plugin (round trip timed inside the plugin) beside a host -> plugin call
// (timed in the host), a plugin -> plugin call (worker to worker through the host), and a
// stream from a worker plugin (items/s, MB/s) beside a bare MessagePort stream (one
// postMessage per item, no credit) in the same run. Then, on the worker and in-process loaders:
// a cancellation round trip (abort -> the caller's AbortError, abort -> the plugin's ctx.signal)
// and what a signal costs a plain call, and a fetch(Request) round trip (a small GET, and a
// 1 MB POST echoed back) beside the same handler called directly in the host ("bare node").
// Rounds are interleaved; medians reported.
//
// Knobs (environment): CONTRACT_ROUNDS (default 5), CONTRACT_CALLS (default 2000 per round),
// CONTRACT_ITEMS (default 200000 per stream round), CONTRACT_ITEM_BYTES (default 100),
// CONTRACT_CANCELS (default 200 per round), CONTRACT_FETCHES (default 500 per round),
// CONTRACT_BODY_MB (default 1, the echoed POST body), CONTRACT_BODIES (default 20 per round).
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MessageChannel, Worker } from 'node:worker_threads'
import { createPluginRegistry, inProcessLoader } from '@hotswap/registry'
import { median, quantile, table } from '../lib/stats.mjs'

const ROUNDS = Number(process.env.CONTRACT_ROUNDS ?? 5)
const CALLS = Number(process.env.CONTRACT_CALLS ?? 2000)
const ITEMS = Number(process.env.CONTRACT_ITEMS ?? 200_000)
const ITEM_BYTES = Number(process.env.CONTRACT_ITEM_BYTES ?? 100)
const CANCELS = Number(process.env.CONTRACT_CANCELS ?? 200)
const FETCHES = Number(process.env.CONTRACT_FETCHES ?? 500)
const BODY_MB = Number(process.env.CONTRACT_BODY_MB ?? 1)
const BODIES = Number(process.env.CONTRACT_BODIES ?? 20)
const quiet = { debug() {}, info() {}, warn() {}, error() {} }
const round = (x, d = 1) => +x.toFixed(d)

const target = `export default { name: 'target', version: '1.0.0', uses: ['echo'], setup(ctx) { return {
  ping: (x) => x,
  async serviceLoop(n) { const out = []; for (let i = 0; i < n; i++) { const t0 = performance.now(); await ctx.services.echo(i); out.push(performance.now() - t0) } return out },
  async *items(n, size) { const item = 'x'.repeat(size); for (let i = 0; i < n; i++) yield item },
} } }
`
const caller = `export default { name: 'caller', version: '1.0.0', dependsOn: { target: '^1.0.0' }, setup(ctx) { const t = ctx.plugins.get('target'); return {
  async pluginLoop(n) { const out = []; for (let i = 0; i < n; i++) { const t0 = performance.now(); await t.call('ping', i); out.push(performance.now() - t0) } return out },
} } }
`
// The web handler and the cancellation probe, the same code in every loader and called bare.
const handler = `async (request) => {
  if (request.method === 'POST') return new Response(request.body, { headers: { 'content-type': 'application/octet-stream' } })
  return new Response('hello ' + new URL(request.url).pathname, { headers: { 'content-type': 'text/plain' } })
}`
const web = `let abortedAt = 0
const handler = ${handler}
export default { name: 'web', version: '1.0.0', setup(ctx) { return {
  fetch: handler,
  ping: (x) => x,
  hang() { const signal = ctx.signal; return new Promise((resolve) => signal.addEventListener('abort', () => { abortedAt = performance.timeOrigin + performance.now(); resolve('stopped') })) },
  abortedAt: () => abortedAt,
} } }
`
const bare = `const { workerData } = require('node:worker_threads')
const port = workerData.port
const item = 'x'.repeat(workerData.size)
for (let i = 0; i < workerData.n; i++) port.postMessage(item)
port.postMessage(null)
`

export async function run({ log }) {
  const dir = await mkdtemp(join(tmpdir(), 'hotswap-bench-contract-'))
  const registry = createPluginRegistry({ logger: quiet, services: { echo: (x) => x } })
  try {
    await writeFile(join(dir, 'target.mjs'), target)
    await writeFile(join(dir, 'caller.mjs'), caller)
    await registry.reloadMany([join(dir, 'caller.mjs'), join(dir, 'target.mjs')])
    const t = registry.get('target')
    const c = registry.get('caller')
    // warm up
    for (let i = 0; i < 200; i++) await t.call('ping', i)
    await t.call('serviceLoop', 200)
    await c.call('pluginLoop', 200)
    const rounds = []
    for (let r = 0; r < ROUNDS; r++) {
      const host = []
      for (let i = 0; i < CALLS; i++) {
        const t0 = performance.now()
        await t.call('ping', i)
        host.push(performance.now() - t0)
      }
      const service = await t.call('serviceLoop', CALLS)
      const plugin = await c.call('pluginLoop', CALLS)
      const stream = await pluginStream(t)
      const port = await bareStream()
      const row = {
        round: r + 1,
        hostCallP50Us: round(quantile(host, 0.5) * 1000),
        hostCallP99Us: round(quantile(host, 0.99) * 1000),
        serviceCallP50Us: round(quantile(service, 0.5) * 1000),
        serviceCallP99Us: round(quantile(service, 0.99) * 1000),
        pluginCallP50Us: round(quantile(plugin, 0.5) * 1000),
        pluginCallP99Us: round(quantile(plugin, 0.99) * 1000),
        streamItemsPerS: Math.round(stream.itemsPerS),
        streamMBPerS: round(stream.mbPerS),
        bareItemsPerS: Math.round(port.itemsPerS),
        bareMBPerS: round(port.mbPerS),
      }
      rounds.push(row)
      log(`round ${r + 1}/${ROUNDS}: host call p50 ${row.hostCallP50Us} us, service call p50 ${row.serviceCallP50Us} us, plugin -> plugin p50 ${row.pluginCallP50Us} us, stream ${row.streamItemsPerS} items/s (${row.streamMBPerS} MB/s), bare port ${row.bareItemsPerS} items/s`)
    }
    const calls = await callRounds(dir, log)
    const m = (key) => median(rounds.map((x) => x[key]))
    const summary = {
      hostCallP50Us: m('hostCallP50Us'),
      hostCallP99Us: m('hostCallP99Us'),
      serviceCallP50Us: m('serviceCallP50Us'),
      serviceCallP99Us: m('serviceCallP99Us'),
      pluginCallP50Us: m('pluginCallP50Us'),
      pluginCallP99Us: m('pluginCallP99Us'),
      streamItemsPerS: m('streamItemsPerS'),
      streamMBPerS: m('streamMBPerS'),
      bareItemsPerS: m('bareItemsPerS'),
      bareMBPerS: m('bareMBPerS'),
    }
    const serviceRatio = round(summary.serviceCallP50Us / summary.hostCallP50Us, 2)
    const serviceRatioP99 = round(summary.serviceCallP99Us / summary.hostCallP99Us, 2)
    const targets = {
      serviceCallP50VsHostCall: { target: '<= 2x a host -> plugin call (p50)', measured: serviceRatio, pass: serviceRatio <= 2 },
      serviceCallP99VsHostCall: { target: '<= 2x a host -> plugin call (p99)', measured: serviceRatioP99, pass: serviceRatioP99 <= 2 },
      pluginToPluginP50Us: { target: 'reported (worker -> host -> worker: two hops)', measured: summary.pluginCallP50Us, pass: true },
      pluginToPluginVsHostCall: { target: 'reported (two hops: about 2x)', measured: round(summary.pluginCallP50Us / summary.hostCallP50Us, 2), pass: true },
      streamVsBarePort: { target: 'reported (items/s of a plugin stream / a bare MessagePort, one message per item)', measured: round(summary.streamItemsPerS / summary.bareItemsPerS, 2), pass: true },
    }
    Object.assign(targets, calls.targets)
    table(Object.entries(targets).map(([name, x]) => ({ target: name, want: x.target, measured: x.measured, pass: x.pass ? 'yes' : 'NO' })), log)
    return {
      pass: Object.values(targets).every((x) => x.pass),
      targets,
      summary: { ...summary, ...calls.summary },
      rounds,
      callRounds: calls.rounds,
      params: { ROUNDS, CALLS, ITEMS, ITEM_BYTES, CANCELS, FETCHES, BODY_MB, BODIES },
      note: 'machine shared with other builds and tests while measuring',
    }
  } finally {
    await registry.close()
    await rm(dir, { recursive: true, force: true })
  }
}

async function pluginStream(handle) {
  const t0 = performance.now()
  let n = 0
  for await (const _ of await handle.call('items', ITEMS, ITEM_BYTES)) n++
  const s = (performance.now() - t0) / 1000
  if (n !== ITEMS) throw new Error(`the plugin stream gave ${n} of ${ITEMS} items`)
  return { itemsPerS: n / s, mbPerS: (n * ITEM_BYTES) / 1e6 / s }
}

async function bareStream() {
  const { port1, port2 } = new MessageChannel()
  const t0 = performance.now()
  const worker = new Worker(bare, { eval: true, workerData: { port: port2, n: ITEMS, size: ITEM_BYTES }, transferList: [port2] })
  let n = 0
  await new Promise((resolve) => {
    port1.on('message', (m) => {
      if (m === null) resolve()
      else n++
    })
  })
  const s = (performance.now() - t0) / 1000
  port1.close()
  await worker.terminate()
  return { itemsPerS: n / s, mbPerS: (n * ITEM_BYTES) / 1e6 / s }
}

/** Cancellation and fetch rounds on the worker and in-process loaders, interleaved, beside the bare handler. */
async function callRounds(dir, log) {
  await writeFile(join(dir, 'web.mjs'), web)
  const worker = createPluginRegistry({ logger: quiet })
  const inProcess = createPluginRegistry({ logger: quiet, loader: inProcessLoader() })
  try {
    await worker.load(join(dir, 'web.mjs'))
    await inProcess.load(join(dir, 'web.mjs'))
    const loaders = { worker: worker.get('web'), inProcess: inProcess.get('web') }
    const bareHandler = (0, eval)(handler)
    const body = new Uint8Array(BODY_MB * 1024 * 1024).fill(7)
    for (const h of Object.values(loaders)) {
      for (let i = 0; i < 100; i++) await (await h.call('fetch', new Request('http://plugin.local/warm'))).text()
      await cancelRound(h, 20)
      await signalledCalls(h, 200)
    }
    const rounds = []
    for (let r = 0; r < ROUNDS; r++) {
      const row = { round: r + 1 }
      for (const [name, h] of Object.entries(loaders)) {
        const cancel = await cancelRound(h, CANCELS)
        row[`${name}AbortToCallerP50Us`] = round(quantile(cancel.caller, 0.5) * 1000)
        row[`${name}AbortToPluginP50Us`] = round(quantile(cancel.plugin, 0.5) * 1000)
        const cost = await signalledCalls(h, CALLS)
        row[`${name}PlainCallP50Us`] = round(quantile(cost.plain, 0.5) * 1000)
        row[`${name}SignalledCallP50Us`] = round(quantile(cost.signalled, 0.5) * 1000)
        row[`${name}FetchP50Us`] = round(quantile(await fetchRound((req) => h.call('fetch', req), FETCHES), 0.5) * 1000)
        row[`${name}EchoMBPerS`] = round(await echoRound((req) => h.call('fetch', req), body))
      }
      row.bareFetchP50Us = round(quantile(await fetchRound(bareHandler, FETCHES), 0.5) * 1000)
      row.bareEchoMBPerS = round(await echoRound(bareHandler, body))
      rounds.push(row)
      log(
        `calls round ${r + 1}/${ROUNDS}: abort -> caller ${row.workerAbortToCallerP50Us} us (worker) / ${row.inProcessAbortToCallerP50Us} us (in-process), abort -> plugin ${row.workerAbortToPluginP50Us} / ${row.inProcessAbortToPluginP50Us} us; fetch GET p50 ${row.workerFetchP50Us} / ${row.inProcessFetchP50Us} / bare ${row.bareFetchP50Us} us; ${BODY_MB} MB echo ${row.workerEchoMBPerS} / ${row.inProcessEchoMBPerS} / bare ${row.bareEchoMBPerS} MB/s`,
      )
    }
    const summary = {}
    for (const key of Object.keys(rounds[0]).filter((k) => k !== 'round')) summary[key] = median(rounds.map((x) => x[key]))
    const ratio = (a, b) => round(summary[a] / summary[b], 2)
    const targets = {
      abortToCallerWorkerUs: { target: 'reported (abort() to the caller\'s AbortError, worker)', measured: summary.workerAbortToCallerP50Us, pass: true },
      abortToPluginWorkerUs: { target: 'reported (abort() to the plugin\'s ctx.signal abort event, worker)', measured: summary.workerAbortToPluginP50Us, pass: true },
      signalledVsPlainCallWorker: { target: 'reported (p50 of a call with a signal / without, worker)', measured: ratio('workerSignalledCallP50Us', 'workerPlainCallP50Us'), pass: true },
      signalledVsPlainCallInProcess: { target: 'reported (p50 of a call with a signal / without, in-process)', measured: ratio('inProcessSignalledCallP50Us', 'inProcessPlainCallP50Us'), pass: true },
      fetchWorkerVsBare: { target: 'reported (GET round trip p50, worker / bare handler)', measured: ratio('workerFetchP50Us', 'bareFetchP50Us'), pass: true },
      fetchInProcessVsBare: { target: 'reported (GET round trip p50, in-process / bare handler)', measured: ratio('inProcessFetchP50Us', 'bareFetchP50Us'), pass: true },
      echoWorkerVsBare: { target: `reported (${BODY_MB} MB POST echoed, MB/s, worker / bare handler)`, measured: ratio('workerEchoMBPerS', 'bareEchoMBPerS'), pass: true },
      echoInProcessVsBare: { target: `reported (${BODY_MB} MB POST echoed, MB/s, in-process / bare handler)`, measured: ratio('inProcessEchoMBPerS', 'bareEchoMBPerS'), pass: true },
    }
    return { summary, rounds, targets }
  } finally {
    await worker.close()
    await inProcess.close()
  }
}

async function cancelRound(handle, n) {
  const caller = []
  const plugin = []
  for (let i = 0; i < n; i++) {
    const controller = new AbortController()
    const pending = handle.withSignal(controller.signal).call('hang').catch((e) => e)
    await handle.call('ping', i) // the hang call has reached the plugin (same channel, in order)
    const t0 = performance.timeOrigin + performance.now()
    controller.abort()
    const error = await pending
    const t1 = performance.timeOrigin + performance.now()
    if (error?.name !== 'AbortError') throw new Error(`an aborted call settled with ${String(error)}`)
    let seen = 0
    for (let k = 0; k < 1000 && seen < t0; k++) seen = await handle.call('abortedAt')
    caller.push(t1 - t0)
    plugin.push(seen - t0)
  }
  return { caller, plugin }
}

async function signalledCalls(handle, n) {
  const plain = []
  const signalled = []
  const calls = handle.withSignal(new AbortController().signal)
  for (let i = 0; i < n; i++) {
    let t0 = performance.now()
    await handle.call('ping', i)
    plain.push(performance.now() - t0)
    t0 = performance.now()
    await calls.call('ping', i)
    signalled.push(performance.now() - t0)
  }
  return { plain, signalled }
}

async function fetchRound(fetchFn, n) {
  const times = []
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    const response = await fetchFn(new Request('http://plugin.local/p' + (i % 10)))
    await response.text()
    times.push(performance.now() - t0)
  }
  return times
}

async function echoRound(fetchFn, body) {
  let bytes = 0
  const t0 = performance.now()
  for (let i = 0; i < BODIES; i++) {
    const chunks = []
    for (let at = 0; at < body.byteLength; at += 65536) chunks.push(body.subarray(at, at + 65536))
    let k = 0
    const stream = new ReadableStream({ pull(c) { if (k < chunks.length) c.enqueue(chunks[k++]); else c.close() } }, { highWaterMark: 0 })
    const response = await fetchFn(new Request('http://plugin.local/echo', { method: 'POST', body: stream, duplex: 'half' }))
    for await (const chunk of response.body) bytes += chunk.byteLength
  }
  if (bytes !== BODIES * body.byteLength) throw new Error(`echoed ${bytes} bytes of ${BODIES * body.byteLength}`)
  return bytes / 1e6 / ((performance.now() - t0) / 1000)
}
