// The plugin contract of @hotswap/registry (issue 16) on the worker loader: a host service
// called from a worker plugin (round trip timed inside the plugin) beside a host -> plugin call
// (timed in the host), a plugin -> plugin call (worker to worker through the host), and a
// stream from a worker plugin (items/s, MB/s) beside a bare MessagePort stream (one
// postMessage per item, no credit) in the same run. Rounds are interleaved; medians reported.
//
// Knobs (environment): CONTRACT_ROUNDS (default 5), CONTRACT_CALLS (default 2000 per round),
// CONTRACT_ITEMS (default 200000 per stream round), CONTRACT_ITEM_BYTES (default 100).
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MessageChannel, Worker } from 'node:worker_threads'
import { createPluginRegistry } from '@hotswap/registry'
import { median, quantile, table } from '../lib/stats.mjs'

const ROUNDS = Number(process.env.CONTRACT_ROUNDS ?? 5)
const CALLS = Number(process.env.CONTRACT_CALLS ?? 2000)
const ITEMS = Number(process.env.CONTRACT_ITEMS ?? 200_000)
const ITEM_BYTES = Number(process.env.CONTRACT_ITEM_BYTES ?? 100)
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
    table(Object.entries(targets).map(([name, x]) => ({ target: name, want: x.target, measured: x.measured, pass: x.pass ? 'yes' : 'NO' })), log)
    return { pass: Object.values(targets).every((x) => x.pass), targets, summary, rounds, params: { ROUNDS, CALLS, ITEMS, ITEM_BYTES }, note: 'machine shared with other builds and tests while measuring' }
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
