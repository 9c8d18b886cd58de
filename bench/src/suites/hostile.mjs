// @hotswap/registry against hostile plugins (issue 13), each beside a well-behaved plugin in the
// same registry: host event-loop lag and RSS growth while a plugin floods stdout; the time
// from a looping call to the plugin serving again after a fixed reload; the longest wait of a
// caller while a new version hangs in setup (gate budget); and runs of the forged-message
// plugins in child processes, so that a host exit is observable.
//
// Knobs (environment): HOSTILE_ROUNDS (default 3, interleaved), HOSTILE_FLOOD_MS (default 4000),
// HOSTILE_FORGED_RUNS (default 100), HOSTILE_CALL_TIMEOUT_MS (default 1000).
import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { createPluginRegistry } from '@hotswap/registry'
import { median, quantile, table } from '../lib/stats.mjs'

const ROUNDS = Number(process.env.HOSTILE_ROUNDS ?? 3)
const FLOOD_MS = Number(process.env.HOSTILE_FLOOD_MS ?? 4000)
const FORGED_RUNS = Number(process.env.HOSTILE_FORGED_RUNS ?? 100)
const CALL_TIMEOUT_MS = Number(process.env.HOSTILE_CALL_TIMEOUT_MS ?? 1000)
const GATE_MS = 1000
const quiet = { debug() {}, info() {}, warn() {}, error() {} }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const round = (x, d = 1) => +x.toFixed(d)
const benchDir = fileURLToPath(new URL('../..', import.meta.url))

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc')

const counter = (version, extra = '') => `let count = 0
export default { name: 'counter', version: '${version}',
  async setup(ctx) { ${extra}; count = ctx.state?.count ?? 0; return { increment: () => ++count, get: () => count, version: () => '${version}', loop() { for (;;) {} } } },
  saveState() { return { count } } }
`
const flooder = `export default { name: 'flooder', version: '1.0.0', setup(ctx) { return {
  flood(ms) { const end = Date.now() + ms; let n = 0; while (Date.now() < end) { console.log('flood line ' + n++ + ' ' + 'x'.repeat(80)) } return n } } } }
`
const FORGED = ['null', "'ready'", "{ log: 'fatal' }", '{ id: 1, ok: false, error: null }']
const forger = (i, message) => `import { parentPort } from 'node:worker_threads'
parentPort.postMessage(${message})
export default { name: 'forger${i}', version: '1.0.0', setup() { parentPort.postMessage(${message}); return { post() { for (let id = 1; id < 9; id++) parentPort.postMessage(${message}); return 1 } } } }
`

export async function run({ log }) {
  const dir = await mkdtemp(join(tmpdir(), 'hotswap-bench-hostile-'))
  try {
    const flood = []
    const wedge = []
    const gate = []
    for (let r = 0; r < ROUNDS; r++) {
      flood.push(await floodRound(dir, r))
      wedge.push(await wedgeRound(dir, r))
      gate.push(await gateRound(dir, r))
      log(`round ${r + 1}/${ROUNDS}: flood lag max ${round(flood[r].floodLagMaxMs)} ms (idle ${round(flood[r].idleLagMaxMs)} ms), RSS +${round(flood[r].rssGrowthMB)} MB, ${flood[r].written} lines written, ${flood[r].passed} logged; looping call -> serving again ${round(wedge[r].loopToServingMs)} ms; longest gate wait ${round(gate[r].maxWaitMs)} ms`)
    }
    const forged = await forgedRuns(dir, log)
    const m = (rows, key) => round(median(rows.map((x) => x[key])))
    const summary = {
      floodLagMaxMs: m(flood, 'floodLagMaxMs'),
      idleLagMaxMs: m(flood, 'idleLagMaxMs'),
      floodLagP99Ms: m(flood, 'floodLagP99Ms'),
      rssGrowthMB: m(flood, 'rssGrowthMB'),
      bystanderCallP99MsDuringFlood: m(flood, 'bystanderP99Ms'),
      bystanderCallP99MsIdle: m(flood, 'bystanderIdleP99Ms'),
      linesWrittenPerRound: m(flood, 'written'),
      linesLoggedPerRound: m(flood, 'passed'),
      loopToServingMs: m(wedge, 'loopToServingMs'),
      timeoutToServingMs: m(wedge, 'timeoutToServingMs'),
      bystanderFailuresDuringWedge: wedge.reduce((a, x) => a + x.bystanderFailures, 0),
      longestGateWaitMs: m(gate, 'maxWaitMs'),
      gateReloadMs: m(gate, 'reloadMs'),
    }
    const targets = {
      floodEventLoopLagMaxMs: { target: `<= 100 (same run, no flood: ${summary.idleLagMaxMs}; p99 under flood ${summary.floodLagP99Ms})`, measured: summary.floodLagMaxMs, pass: summary.floodLagMaxMs <= 100 },
      floodRssGrowthMB: { target: '<= 50', measured: summary.rssGrowthMB, pass: summary.rssGrowthMB <= 50 },
      loopingCallToServingMs: { target: `reported (callTimeoutMs ${CALL_TIMEOUT_MS} + a reload)`, measured: summary.loopToServingMs, pass: summary.bystanderFailuresDuringWedge === 0 },
      longestGateWaitMs: { target: `<= gateTimeoutMs ${GATE_MS} + 50 (the drain of calls in flight and timer wake-up come on top of the budget)`, measured: summary.longestGateWaitMs, pass: summary.longestGateWaitMs <= GATE_MS + 50 },
      forgedMessageHostExits: { target: `0 of ${FORGED_RUNS} runs`, measured: forged.hostExits, pass: forged.hostExits === 0 && forged.ok === FORGED_RUNS },
    }
    log('')
    table(Object.entries(targets).map(([name, t]) => ({ target: name, want: t.target, measured: t.measured, pass: t.pass ? 'yes' : 'NO' })), log)
    return { pass: Object.values(targets).every((t) => t.pass), targets, summary, rounds: { flood, wedge, gate }, forged, note: 'machine shared with other builds and tests while measuring' }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** A bystander calls the counter in a loop; returns the call latencies when stopped. */
function bystander(handle) {
  const latencies = []
  let failures = 0
  let stop = false
  const done = (async () => {
    while (!stop) {
      const t0 = performance.now()
      try {
        await handle.call('increment')
        latencies.push(performance.now() - t0)
      } catch {
        failures++
      }
      await sleep(5)
    }
  })()
  return async () => {
    stop = true
    await done
    return { latencies, failures }
  }
}

async function lagOver(ms, during) {
  const h = monitorEventLoopDelay({ resolution: 5 })
  h.enable()
  await Promise.all([sleep(ms), during?.()])
  h.disable()
  return { max: h.max / 1e6, p99: h.percentile(99) / 1e6 }
}

async function floodRound(dir, r) {
  const sub = join(dir, `flood-${r}`)
  await mkdirp(sub)
  await writeFile(join(sub, 'counter.mjs'), counter('1.0.0'))
  await writeFile(join(sub, 'flooder.mjs'), flooder)
  const registry = createPluginRegistry({ logger: quiet })
  let passed = 0
  let droppedReports = 0
  registry.events$.subscribe((e) => {
    if (e.type === 'log' && e.id === 'flooder') {
      if (/lines of output dropped/.test(e.message)) droppedReports++
      else passed++
    }
  })
  try {
    await registry.load(join(sub, 'counter.mjs'))
    await registry.load(join(sub, 'flooder.mjs'))
    const handle = registry.get('counter')
    await sleep(200)
    const idleBystander = bystander(handle)
    const idle = await lagOver(1000)
    const idleCalls = await idleBystander()
    gc()
    const rss0 = process.memoryUsage().rss
    let peak = rss0
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50)
    const floodBystander = bystander(handle)
    let written = 0
    const flood = await lagOver(FLOOD_MS, async () => {
      written = await registry.get('flooder').call('flood', FLOOD_MS)
    })
    const floodCalls = await floodBystander()
    clearInterval(sampler)
    return {
      idleLagMaxMs: idle.max,
      floodLagMaxMs: flood.max,
      floodLagP99Ms: flood.p99,
      rssGrowthMB: (peak - rss0) / 2 ** 20,
      bystanderIdleP99Ms: quantile(idleCalls.latencies, 0.99),
      bystanderP99Ms: quantile(floodCalls.latencies, 0.99),
      bystanderFailures: floodCalls.failures,
      written,
      passed,
      droppedReports,
    }
  } finally {
    await registry.close()
  }
}

async function wedgeRound(dir, r) {
  const sub = join(dir, `wedge-${r}`)
  await mkdirp(sub)
  await writeFile(join(sub, 'counter.mjs'), counter('1.0.0'))
  await writeFile(join(sub, 'other.mjs'), counter('1.0.0').replace("name: 'counter'", "name: 'other'"))
  const registry = createPluginRegistry({ logger: quiet, callTimeoutMs: CALL_TIMEOUT_MS })
  try {
    await registry.load(join(sub, 'counter.mjs'))
    await registry.load(join(sub, 'other.mjs'))
    const others = bystander(registry.get('other'))
    const handle = registry.get('counter')
    await sleep(100)
    const t0 = performance.now()
    await handle.call('loop').catch(() => undefined)
    const t1 = performance.now()
    await writeFile(join(sub, 'counter.mjs'), counter('1.0.1'))
    await registry.reload('counter')
    await handle.call('version')
    const t2 = performance.now()
    const { failures } = await others()
    return { loopToServingMs: t2 - t0, timeoutToServingMs: t2 - t1, bystanderFailures: failures }
  } finally {
    await registry.close()
  }
}

async function gateRound(dir, r) {
  const sub = join(dir, `gate-${r}`)
  await mkdirp(sub)
  await writeFile(join(sub, 'counter.mjs'), counter('1.0.0'))
  const registry = createPluginRegistry({ logger: quiet, gateTimeoutMs: GATE_MS, setupTimeoutMs: 10_000 })
  try {
    await registry.load(join(sub, 'counter.mjs'))
    const handle = registry.get('counter')
    const waits = []
    let stop = false
    const caller = async () => {
      while (!stop) {
        const t0 = performance.now()
        await handle.call('increment').catch(() => undefined)
        waits.push(performance.now() - t0)
        await sleep(2)
      }
    }
    const callers = [caller(), caller(), caller()]
    await sleep(100)
    await writeFile(join(sub, 'counter.mjs'), counter('1.0.1', 'await new Promise(() => {})'))
    const t0 = performance.now()
    const error = await registry.reload('counter').catch((e) => e)
    const reloadMs = performance.now() - t0
    stop = error?.code !== 'GATE_TIMEOUT'
    if (stop) throw new Error(`expected GATE_TIMEOUT, got ${error?.code ?? 'a resolved reload'}`)
    await sleep(100)
    stop = true
    await Promise.all(callers)
    return { maxWaitMs: Math.max(...waits), reloadMs }
  } finally {
    await registry.close()
  }
}

async function forgedRuns(dir, log) {
  const sub = join(dir, 'forged')
  await mkdirp(sub)
  const paths = []
  for (const [i, message] of FORGED.entries()) {
    const path = join(sub, `forger${i}.mjs`)
    await writeFile(path, forger(i, message))
    paths.push(path)
  }
  await writeFile(join(sub, 'counter.mjs'), counter('1.0.0'))
  const script = `
    import { createPluginRegistry } from '@hotswap/registry'
    console.log('imported')
    const registry = createPluginRegistry({ logger: { debug() {}, info() {}, warn() {}, error() {} } })
    await registry.load(${JSON.stringify(join(sub, 'counter.mjs'))})
    let served = 0
    for (const path of ${JSON.stringify(paths)}) {
      const status = await registry.load(path)
      served += await registry.get(status.id).call('post')
      served += (await registry.get('counter').call('increment')) > 0 ? 1 : 0
    }
    await new Promise((r) => setTimeout(r, 100))
    await registry.close()
    console.log('served ' + served)
  `
  let ok = 0
  let hostExits = 0
  let notStarted = 0
  const failures = []
  const one = () =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: benchDir, stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      child.stdout.on('data', (d) => (out += d))
      child.stderr.on('data', (d) => (out += d))
      child.on('exit', (code) => {
        if (code === 0 && out.includes(`served ${FORGED.length * 2}`)) ok++
        else {
          if (out.includes('imported')) hostExits++
          else notStarted++ // the child could not even import the registry: not a host exit caused by a plugin
          if (failures.length < 3) failures.push({ code, out: out.slice(0, 500) })
        }
        resolve()
      })
    })
  const started = performance.now()
  let next = 0
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < FORGED_RUNS) {
        next++
        await one()
      }
    }),
  )
  log(`forged messages: ${ok}/${FORGED_RUNS} host processes served and exited 0, ${hostExits} exited otherwise, ${notStarted} did not start (${round((performance.now() - started) / 1000)} s)`)
  return { runs: FORGED_RUNS, ok, hostExits, notStarted, failures }
}

async function mkdirp(path) {
  const { mkdir } = await import('node:fs/promises')
  await mkdir(path, { recursive: true })
}
