// HTTP through a plugin's fetch handler, served by the real hotswap-host (apps/host/dist/cli.js)
// at /p/bench/, driven by autocannon at full speed:
//   1. requests/s through the host (in-process, worker and pool plugins) against a bare node:http
//      handler that sends the same response, interleaved rounds, medians;
//   2. the same load while the plugin is reloaded RELOADS times (a new file, then the reload):
//      failed requests, p50/p99 during the reloads against the same load without;
//   3. beside it, the same handler under `pm2 reload` (cluster mode, 2 instances) and under
//      `node --watch`: failed requests, time until the new code answers, state kept.
// Every server runs in its own process; autocannon runs here. BENCH_HTTP_LONG=1 for longer runs.
import { spawn, execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import autocannon from 'autocannon'
import { median, table } from '../lib/stats.mjs'
import { ensurePeers } from '../lib/peers.mjs'

const LONG = process.env.BENCH_HTTP_LONG === '1'
const ROUNDS = LONG ? 5 : 3
const SECONDS = LONG ? 10 : 4
const RELOADS = Number(process.env.BENCH_HTTP_RELOADS ?? 100)
const PEER_RELOADS = LONG ? 10 : 4
const CONNECTIONS = 32
const here = fileURLToPath(new URL('.', import.meta.url))
const CLI = join(here, '..', '..', '..', 'apps', 'host', 'dist', 'cli.js')
/** pm2, installed at bench time into the peers cache outside the repository (lib/peers.mjs). */
const PM2_VERSION = '7.0.4'
let PM2 = 'pm2'
const exec = promisify(execFile)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

const hostPlugin = (marker) => `let count = 0
export default {
  name: 'bench', version: '1.0.${marker}',
  setup(ctx) { if (ctx.state) count = ctx.state.count; return { fetch: () => new Response(JSON.stringify({ marker: ${marker}, count: ++count }), { headers: { 'content-type': 'application/json' } }) } },
  saveState() { return { count } },
}
`
// The bare handler answers what the host's plugin route answers, header for header (the host's
// three security headers, its keep-alive timeout): on 2 cores autocannon is the bottleneck and
// parses every header line, so a shorter response would measure the client, not the path.
const bareServer = (marker) => `let count = 0
const server = require('node:http').createServer((req, res) => {
  res.setHeader('X-Content-Type-Options', 'nosniff'); res.setHeader('Referrer-Policy', 'no-referrer'); res.setHeader('X-Frame-Options', 'DENY')
  res.setHeader('content-type', 'application/json'); res.end(JSON.stringify({ marker: ${marker}, count: ++count }))
})
server.keepAliveTimeout = 72_000
server.listen(Number(process.env.PORT), '127.0.0.1', () => process.send?.('ready'))
`

export async function run({ log }) {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build hotswap-host first (pnpm run build)`)
  const work = await mkdtemp(join(tmpdir(), 'hotswap-bench-http-'))
  const children = []
  try {
    // ------------------------------------------------------------ 1. throughput
    const bare = await startBare(work, children)
    const inproc = await startHost(work, 'in-process', children)
    const worker = await startHost(work, 'worker', children)
    const pool = await startHost(work, 'pool', children)
    const targets = [
      { name: 'bare node:http', url: `${bare.url}/` },
      { name: 'hotswap in-process', url: `${inproc.url}/p/bench/` },
      { name: 'hotswap worker', url: `${worker.url}/p/bench/` },
      { name: 'hotswap pool', url: `${pool.url}/p/bench/` },
    ]
    const rps = Object.fromEntries(targets.map((t) => [t.name, []]))
    for (let round = 0; round < ROUNDS; round++) {
      for (const t of round % 2 === 0 ? targets : [...targets].reverse()) {
        const r = await cannon(t.url, SECONDS)
        rps[t.name].push(r.requests.average)
      }
    }
    const bareRps = median(rps['bare node:http'])
    const throughput = targets.map((t) => ({ server: t.name, 'req/s (median)': Math.round(median(rps[t.name])), 'vs bare': median(rps[t.name]) / bareRps }))
    log(`throughput, ${ROUNDS} interleaved rounds of ${SECONDS} s, ${CONNECTIONS} connections:`)
    table(throughput, log)

    // ------------------------------------------------------------ 2. reloads under load
    const quiet = await cannon(`${inproc.url}/p/bench/`, SECONDS * 2)
    const during = await underLoad(`${inproc.url}/p/bench/`, async () => {
      const started = performance.now()
      for (let i = 1; i <= RELOADS; i++) {
        await writeFile(join(inproc.dir, 'bench.mjs'), hostPlugin(i))
        const res = await post(`${inproc.url}/api/plugins/bench/reload`, inproc.token)
        if (res.status !== 200) throw new Error(`reload ${i} answered ${res.status}: ${res.text}`)
      }
      return performance.now() - started
    })
    const last = JSON.parse((await get(`${inproc.url}/p/bench/`)).text)
    const reloadRow = {
      reloads: RELOADS,
      'reload phase s': during.work / 1000,
      requests: during.result.requests.total,
      failed: failedOf(during.result),
      'p50 quiet ms': quiet.latency.p50,
      'p50 reloads ms': during.result.latency.p50,
      'p99 quiet ms': quiet.latency.p99,
      'p99 reloads ms': during.result.latency.p99,
      'p99 ratio': during.result.latency.p99 / Math.max(quiet.latency.p99, 1),
      'new code answers': last.marker === RELOADS,
      'state kept': last.count > during.result.requests.total * 0.5,
    }
    log(`\nhotswap in-process, ${RELOADS} reloads under full load:`)
    table([reloadRow], log)

    // ------------------------------------------------------------ 3. the peers
    const peers = []
    peers.push(await hotswapPeer(inproc))
    peers.push(await pm2Peer(work, log))
    peers.push(await watchPeer(work, children))
    log(`\nreloading the same handler under load (${PEER_RELOADS} edits each):`)
    table(peers, log)

    const inprocRatio = median(rps['hotswap in-process']) / bareRps
    const targetsMet = {
      'failed requests over the reloads = 0': reloadRow.failed === 0,
      'p99 during reloads <= 2x p99 without': reloadRow['p99 ratio'] <= 2,
      'in-process req/s >= 0.9x bare': inprocRatio >= 0.9,
      'worker req/s >= 0.5x bare': median(rps['hotswap worker']) / bareRps >= 0.5,
      'pool req/s >= 0.5x bare': median(rps['hotswap pool']) / bareRps >= 0.5,
    }
    log('\ntargets:', targetsMet)
    return {
      pass: Object.values(targetsMet).every((v) => v === true),
      // what the machine was doing is the runner's to say (BENCH_NOTE), not a fixed text
      note: `${process.env.BENCH_NOTE ? `${process.env.BENCH_NOTE}; ` : ''}autocannon runs in the bench process, each server in its own`,
      throughput,
      reloads: reloadRow,
      peers,
      targets: targetsMet,
    }
  } finally {
    for (const child of children) child.kill('SIGTERM')
    await exec(PM2, ['kill'], { env: { ...process.env, PM2_HOME: join(work, 'pm2') } }).catch(() => undefined)
    await sleep(500)
    await rm(work, { recursive: true, force: true }).catch(() => undefined)
  }
}

// ---------------------------------------------------------------- servers

async function startBare(work, children) {
  const file = join(work, 'bare.cjs')
  await writeFile(file, bareServer(0))
  const port = await freePort()
  const child = spawn(process.execPath, [file], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
  children.push(child)
  await new Promise((resolve) => child.once('message', resolve))
  return { url: `http://127.0.0.1:${port}` }
}

async function startHost(work, loader, children) {
  const dir = join(work, `plugins-${loader}`)
  const state = join(work, `state-${loader}`)
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, 'bench.mjs'), hostPlugin(0))
  const child = spawn(process.execPath, [CLI, dir, '--port', '0', '--loader', loader, '--state-dir', state, '--log-level', 'warn', '--rate-limit', '100000', '--debounce-ms', '0'], { stdio: ['ignore', 'ignore', 'inherit'] })
  children.push(child)
  const file = join(state, 'host.json')
  const deadline = Date.now() + 30_000
  while (!existsSync(file) || (await get(`${JSON.parse(await readFile(file, 'utf8')).url}/p/bench/`).catch(() => ({ status: 0 }))).status !== 200) {
    if (Date.now() > deadline) throw new Error(`hotswap-host (${loader}) did not start`)
    await sleep(50)
  }
  const { url } = JSON.parse(await readFile(file, 'utf8'))
  const token = (await readFile(join(state, 'api-token'), 'utf8')).trim()
  return { url, token, dir }
}

// ---------------------------------------------------------------- peers

/** Edits then waits until the new marker answers, PEER_RELOADS times, under load. */
async function editLoop(url, edit, nudge) {
  const times = []
  let kept = true
  const load = await underLoad(url, async () => {
    for (let i = 1; i <= PEER_RELOADS; i++) {
      const before = await answer(url)
      const started = performance.now()
      const marker = 1000 + i
      await edit(marker)
      let tries = 0
      let now
      while ((now = await answer(url))?.marker !== marker) {
        if (performance.now() - started > 30_000) throw new Error(`${url}: marker ${marker} never answered`)
        // A reload asked for while another one ran can be absorbed by it: ask again now and then.
        if (nudge !== undefined && performance.now() - started > 2000 * (tries + 1)) {
          tries++
          await nudge()
        }
        await sleep(5)
      }
      times.push(performance.now() - started)
      if (before !== undefined && now.count <= before.count) kept = false
    }
  })
  return { failed: failedOf(load.result), requests: load.result.requests.total, times, kept }
}

async function hotswapPeer(host) {
  const reload = () => post(`${host.url}/api/plugins/bench/reload`, host.token)
  const r = await editLoop(
    `${host.url}/p/bench/`,
    async (marker) => {
      await writeFile(join(host.dir, 'bench.mjs'), hostPlugin(marker))
      await reload()
    },
    reload,
  )
  return peerRow('hotswap (write + reload)', r)
}

async function pm2Peer(work, log) {
  const { dir, missing } = ensurePeers(log, { pm2: PM2_VERSION })
  if (missing.pm2 !== undefined) {
    log(`pm2 row skipped: ${missing.pm2}`)
    return { server: 'pm2 reload (cluster x2)', failed: 'n/a', requests: 'n/a', 'new code answers p50 ms': 'n/a', 'state kept': 'n/a' }
  }
  PM2 = join(dir, 'node_modules', '.bin', 'pm2')
  const env = { ...process.env, PM2_HOME: join(work, 'pm2') }
  const file = join(work, 'pm2-app.cjs')
  await writeFile(file, bareServer(0))
  const port = await freePort()
  try {
    await exec(PM2, ['start', file, '-i', '2', '--name', 'bench', '--no-autorestart'], { env: { ...env, PORT: String(port) } })
  } catch (error) {
    log(`pm2 could not start: ${error.message}`)
    return { server: 'pm2 reload (cluster x2)', failed: 'n/a', requests: 'n/a', 'new code answers p50 ms': 'n/a', 'state kept': 'n/a' }
  }
  const url = `http://127.0.0.1:${port}/`
  const deadline = Date.now() + 30_000
  while ((await answer(url)) === undefined) {
    if (Date.now() > deadline) throw new Error('pm2 app did not answer')
    await sleep(100)
  }
  const r = await editLoop(url, async (marker) => {
    await writeFile(file, bareServer(marker))
    await exec(PM2, ['reload', 'bench'], { env: { ...env, PORT: String(port) } })
  })
  await exec(PM2, ['delete', 'bench'], { env }).catch(() => undefined)
  return peerRow('pm2 reload (cluster x2)', r)
}

async function watchPeer(work, children) {
  const file = join(work, 'watched.cjs')
  await writeFile(file, bareServer(0))
  const port = await freePort()
  const child = spawn(process.execPath, ['--watch', file], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'ignore', 'ipc'] })
  children.push(child)
  await new Promise((resolve) => child.once('message', resolve))
  const r = await editLoop(`http://127.0.0.1:${port}/`, (marker) => writeFile(file, bareServer(marker)))
  child.kill('SIGTERM')
  return peerRow('node --watch', r)
}

function peerRow(server, r) {
  return { server, failed: r.failed, requests: r.requests, 'new code answers p50 ms': median(r.times), 'state kept': r.kept }
}

// ---------------------------------------------------------------- load and requests

function cannon(url, seconds) {
  return autocannon({ url, connections: CONNECTIONS, duration: seconds })
}

/** Runs autocannon for as long as `work()` takes (plus a moment either side). */
async function underLoad(url, work) {
  const instance = autocannon({ url, connections: CONNECTIONS, duration: 600 })
  const done = new Promise((resolve, reject) => {
    instance.on('done', resolve)
    instance.on('error', reject)
  })
  await sleep(300)
  let result
  let spent
  try {
    spent = await work()
  } finally {
    await sleep(300)
    instance.stop()
    result = await done
  }
  return { result, work: spent }
}

function failedOf(result) {
  return result.errors + result.timeouts + result.non2xx
}

async function answer(url) {
  try {
    const res = await get(url)
    return res.status === 200 ? JSON.parse(res.text) : undefined
  } catch {
    return undefined
  }
}

function get(url) {
  return httpCall('GET', url)
}

function post(url, token) {
  return httpCall('POST', url, { authorization: `Bearer ${token}` })
}

function httpCall(method, url, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c) => (text += c))
      res.on('end', () => resolve({ status: res.statusCode, text }))
    })
    req.on('error', reject)
    req.end()
  })
}

async function freePort() {
  const { createServer } = await import('node:net')
  return new Promise((resolve) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}
