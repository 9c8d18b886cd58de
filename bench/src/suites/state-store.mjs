// @hotswap/state-store: the cost of durability and the crash soak.
// 1. Save latency p50/p99 for 1 KB and 1 MB snapshots: store.save() on the file adapter beside a
//    plain fs.writeFile without fsync and beside writeFile+fsync+rename+dir fsync done by hand.
// 2. Saves per second when 100 plugins save at once: the store (directory fsyncs grouped)
//    beside the same durable write done per save with its own directory fsync.
// 3. Soak: a child saving in a loop is SIGKILLed 1,000 times at random moments; after each
//    kill every plugin's latest snapshot and history must be whole and no acknowledged save lost.
import { fork } from 'node:child_process'
import { mkdtemp, open, readdir, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createSnapshot, createStateStore, fileAdapter } from '@hotswap/state-store'
import { payloadFor } from '../lib/state-store-payload.mjs'
import { quantile, table } from '../lib/stats.mjs'

const childScript = fileURLToPath(new URL('../lib/state-store-crash-child.mjs', import.meta.url))
const SOAK_KILLS = Number(process.env.STATE_STORE_SOAK_KILLS ?? 1000)
const SOAK_LANES = 4

export async function run({ log }) {
  const root = await mkdtemp(join(tmpdir(), 'bench-state-store-'))
  try {
    const latency = []
    for (const [label, bytes, n] of [['1 KB', 1_000, 400], ['1 MB', 1_000_000, 60]]) latency.push(...(await saveLatency(root, label, bytes, n)))
    log('\nsave latency (ms)')
    table(latency, log)

    const burst = await concurrentSaves(root, 100, 20)
    log('\n100 plugins saving at once (1 KB each)')
    table(burst.rows, log)

    log(`\nsoak: ${SOAK_KILLS} SIGKILLs of a saving child (${SOAK_LANES} in parallel)...`)
    const soak = await soakKills(root, SOAK_KILLS, SOAK_LANES)
    log(
      `soak: ${soak.kills} kills in ${(soak.ms / 1000).toFixed(1)} s, ${soak.killsWhileSaving} while saving, ` +
        `${soak.killsWithTornTemp} with a half-written temp file, ${soak.acknowledged} saves acknowledged; ` +
        `problems: ${soak.problems.length}`,
    )
    for (const problem of soak.problems.slice(0, 10)) log(`  ${problem}`)

    const targets = {
      soakKills: { target: `>= ${SOAK_KILLS}`, actual: soak.kills, pass: soak.kills >= SOAK_KILLS },
      soakUnreadableOrTorn: { target: 0, actual: soak.problems.length, pass: soak.problems.length === 0 },
    }
    return {
      pass: Object.values(targets).every((t) => t.pass),
      targets,
      latency,
      burst: burst.figures,
      soak: { ...soak, problems: soak.problems.slice(0, 50) },
    }
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}

async function saveLatency(root, label, bytes, n) {
  const data = { blob: 'x'.repeat(bytes - 12) }
  const snapshot = createSnapshot({ pluginId: 'bench', pluginVersion: '1.0.0', data })
  const dir = await mkdtemp(join(root, 'latency-'))
  const store = await createStateStore({ adapter: fileAdapter({ dir: join(dir, 'store') }) })
  const plainDir = join(dir, 'plain')
  const byHandDir = join(dir, 'by-hand')
  await Promise.all([plainDir, byHandDir].map((d) => mkdtemp(d).then((made) => rename(made, d)).catch(() => undefined)))
  const dirHandle = await open(byHandDir, 'r')
  // Every contender serialises the snapshot, as a caller saving state would.
  const contenders = {
    'fs.writeFile (no fsync)': (i) => writeFile(join(plainDir, `bench-${i % 11}.json`), JSON.stringify(snapshot)),
    'by hand: temp+fsync+rename+dir fsync': (i) =>
      durableByHand(byHandDir, dirHandle, `bench-${i % 11}.json`, Buffer.from(JSON.stringify(snapshot))),
    'store.save (file adapter)': () => store.save(snapshot),
  }
  const samples = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]))
  for (let i = 0; i < n + 5; i++) {
    // Interleave the contenders so machine noise hits them alike; skip 5 warm-up rounds.
    for (const [name, fn] of Object.entries(contenders)) {
      const start = performance.now()
      await fn(i)
      if (i >= 5) samples[name].push(performance.now() - start)
    }
  }
  await dirHandle.close()
  await store.close()
  const plainP50 = quantile(samples['fs.writeFile (no fsync)'], 0.5)
  return Object.entries(samples).map(([name, s]) => ({
    size: label,
    how: name,
    p50: round(quantile(s, 0.5)),
    p99: round(quantile(s, 0.99)),
    'x plain p50': round(quantile(s, 0.5) / plainP50),
  }))
}

async function durableByHand(dir, dirHandle, name, bytes) {
  const temp = join(dir, `.${name}.tmp`)
  const handle = await open(temp, 'w')
  await handle.writeFile(bytes)
  await handle.datasync()
  await handle.close()
  await rename(temp, join(dir, name))
  await dirHandle.sync()
}

async function concurrentSaves(root, plugins, rounds) {
  const ids = Array.from({ length: plugins }, (_, i) => `plugin-${i}`)
  const data = { blob: 'y'.repeat(1_000) }
  const snapshots = ids.map((pluginId) => createSnapshot({ pluginId, pluginVersion: '1.0.0', data }))
  const dir = await mkdtemp(join(root, 'burst-'))
  const store = await createStateStore({ adapter: fileAdapter({ dir: join(dir, 'store') }) })
  const handDir = join(dir, 'by-hand')
  await mkdtemp(handDir).then((made) => rename(made, handDir))
  const figures = { plugins, rounds }
  const rows = []
  const measure = async (name, saveAll) => {
    await saveAll() // warm-up
    const times = []
    for (let r = 0; r < rounds; r++) {
      const start = performance.now()
      await saveAll()
      times.push(performance.now() - start)
    }
    const total = times.reduce((a, b) => a + b, 0)
    const perSecond = Math.round((plugins * rounds) / (total / 1000))
    figures[name] = { savesPerSecond: perSecond, roundP50Ms: round(quantile(times, 0.5)) }
    rows.push({ how: name, 'saves/s': perSecond, 'burst of 100, p50 ms': round(quantile(times, 0.5)) })
  }
  await measure('store.save, dir fsyncs grouped', () => Promise.all(snapshots.map((s) => store.save(s))))
  const handle = await open(handDir, 'r')
  await measure('by hand, one dir fsync per save', () =>
    Promise.all(ids.map((id, i) => durableByHand(handDir, handle, `${id}.json`, Buffer.from(JSON.stringify(snapshots[i]))))),
  )
  await handle.close()
  await measure('fs.writeFile (no fsync)', () =>
    Promise.all(ids.map((id, i) => writeFile(join(handDir, `${id}.plain`), JSON.stringify(snapshots[i])))),
  )
  await store.close()
  figures.groupedSpeedup = round(figures['store.save, dir fsyncs grouped'].savesPerSecond / figures['by hand, one dir fsync per save'].savesPerSecond)
  return { rows, figures }
}

async function soakKills(root, kills, lanes) {
  let seed = 0x50a4
  const random = () => (seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0) / 2 ** 32
  const start = performance.now()
  const perLane = Math.ceil(kills / lanes)
  const reports = await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => soakLane(await mkdtemp(join(root, `soak-${lane}-`)), perLane, random)),
  )
  const sum = (key) => reports.reduce((a, r) => a + r[key], 0)
  return {
    kills: sum('kills'),
    killsWhileSaving: sum('killsWhileSaving'),
    killsWithTornTemp: sum('killsWithTornTemp'),
    acknowledged: sum('acknowledged'),
    ms: Math.round(performance.now() - start),
    problems: reports.flatMap((r) => r.problems),
  }
}

async function soakLane(dir, kills, random) {
  const plugins = 4
  const maxBody = 48_000
  const ids = Array.from({ length: plugins }, (_, i) => `plugin-${i}`)
  const acked = new Map(ids.map((id) => [id, 0]))
  const report = { kills: 0, killsWhileSaving: 0, killsWithTornTemp: 0, acknowledged: 0, problems: [] }
  for (let kill = 0; kill < kills; kill++) {
    const child = fork(childScript, [dir, String(plugins), String(maxBody)], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] })
    let ackedThisLife = 0
    child.on('message', (m) => {
      if (m.type !== 'acked') return
      ackedThisLife++
      report.acknowledged++
      if (m.seq > acked.get(m.id)) acked.set(m.id, m.seq)
    })
    if (random() < 0.2) await delay(random() * 100)
    else {
      await nextMessage(child, 'acked')
      await delay(random() * 25)
    }
    child.kill('SIGKILL')
    await exited(child)
    report.kills++
    if (ackedThisLife > 0) report.killsWhileSaving++
    if ((await readdir(dir)).some((name) => name.endsWith('.tmp') && !name.startsWith('.lock'))) report.killsWithTornTemp++
    await verify(dir, ids, acked, maxBody, report.problems, kill)
  }
  return report
}

async function verify(dir, ids, acked, maxBody, problems, kill) {
  const corrupt = []
  const store = await createStateStore({
    adapter: fileAdapter({ dir }),
    maxHistory: 3,
    onEvent: (e) => e.type === 'corrupt' && corrupt.push(e.error.message),
  })
  try {
    const leftovers = (await readdir(dir)).filter((name) => name.endsWith('.tmp'))
    if (leftovers.length > 0) problems.push(`kill ${kill}: temp files left after open: ${leftovers.join(', ')}`)
    for (const id of ids) {
      const history = await store.history(id).catch((error) => (problems.push(`kill ${kill}: ${id}: ${error}`), []))
      const floor = acked.get(id)
      if (history.length === 0) {
        if (floor > 0) problems.push(`kill ${kill}: ${id}: nothing stored, save ${floor} was acknowledged`)
        continue
      }
      if (history[0].data.seq < floor) problems.push(`kill ${kill}: ${id}: latest ${history[0].data.seq} < acknowledged ${floor}`)
      for (const [i, s] of history.entries()) {
        if (JSON.stringify(s.data) !== JSON.stringify(payloadFor(id, s.data.seq, maxBody))) problems.push(`kill ${kill}: ${id}: snapshot ${s.data.seq} torn`)
        if (i > 0 && s.data.seq !== history[i - 1].data.seq - 1) problems.push(`kill ${kill}: ${id}: history gap at ${s.data.seq}`)
      }
    }
    for (const message of corrupt) problems.push(`kill ${kill}: ${message}`)
  } finally {
    await store.close()
  }
}

function nextMessage(child, type, timeoutMs = 20_000) {
  return new Promise((resolve, reject) => {
    let stderr = ''
    child.stderr?.on('data', (c) => (stderr += c))
    const timer = setTimeout(() => finish(new Error(`no ${type} from child within ${timeoutMs} ms: ${stderr}`)), timeoutMs)
    const onMessage = (m) => m.type === type && finish(undefined, m)
    const onExit = (code, signal) => finish(new Error(`child exited (${code ?? signal}) before ${type}: ${stderr}`))
    const finish = (error, message) => {
      clearTimeout(timer)
      child.off('message', onMessage)
      child.off('exit', onExit)
      if (error) reject(error)
      else resolve(message)
    }
    child.on('message', onMessage)
    child.on('exit', onExit)
  })
}

function exited(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', resolve))
}

// The random kill moment itself, not a wait for an event.
function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function round(x) {
  return Math.round(x * 1000) / 1000
}
