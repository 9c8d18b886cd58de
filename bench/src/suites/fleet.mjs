// @hotswap/fleet on one machine: three hotswap-host processes (--fleet, FLEET_LOADER default worker,
// steady calls; each version through the host's pipeline) on a real redis-server started for the run.
// 1. publish -> serving on every host: from publish() to the moment the last of the three
//    hosts' calls return the new version (canary 0); p50/p99 over FLEET_VERSIONS versions.
// 2. bad version -> rolled back everywhere: a promoted version starts failing (a flag file);
//    from that moment to the last host's calls returning the previous version; FLEET_BAD rounds.
// 3. Redis adapter save beside the file adapter (1 KB snapshots), interleaved rounds.
// Targets (ARCHITECTURE.md budgets): publish p50 <= 1 s; rollback <= 5 s after errors start.
import { fork, spawnSync } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildFleetArtifact, connectFleet } from '@hotswap/fleet'
import { createSnapshot, createStateStore, fileAdapter } from '@hotswap/state-store'
import { redisAdapter } from '@hotswap/state-store/redis'
import { startRedis } from '@hotswap/state-store/testing'
import { quantile, table } from '../lib/stats.mjs'

const childScript = fileURLToPath(new URL('../lib/fleet-host-child.mjs', import.meta.url))
const VERSIONS = Number(process.env.FLEET_VERSIONS ?? 20)
const BAD_ROUNDS = Number(process.env.FLEET_BAD ?? 3)
const SAVE_ROUNDS = Number(process.env.FLEET_SAVE_ROUNDS ?? 5)
const LOADER = process.env.FLEET_LOADER ?? 'worker'

export async function run({ log }) {
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    log('redis-server not found (apt-get install -y redis-server): fleet suite skipped')
    return { pass: false, skipped: 'redis-server not found' }
  }
  const root = await mkdtemp(join(tmpdir(), 'bench-fleet-'))
  const redis = await startRedis()
  const hosts = []
  let fleet
  try {
    fleet = await connectFleet({ url: redis.url })
    for (const id of ['a', 'b', 'c']) hosts.push(await startHost(id, redis.url, root))
    await until(async () => (await fleet.status()).hosts.filter((h) => h.alive).length === 3, 20_000, 'three hosts')

    let n = 0
    const publish = async (behaviour) => {
      const version = `1.0.${++n}`
      const artifact = await buildFleetArtifact(await writePlugin(root, version, behaviour))
      const start = Date.now()
      await fleet.publish(artifact, { windowMs: 1000, minCalls: 10 })
      return { version, hash: artifact.hash, start }
    }
    const servedAll = (version) => until(() => hosts.every((h) => h.current === version) && Math.max(...hosts.map((h) => h.at)), 20_000, `${version} on all hosts`)
    const phase = async (hash) => {
      const rollout = (await fleet.status({ events: 0 })).plugins.find((p) => p.id === 'svc')?.rollout
      return rollout?.target.hash === hash ? rollout.phase : undefined
    }

    const first = await publish()
    await servedAll(first.version)
    await until(async () => (await phase(first.hash)) === 'done', 20_000, 'first done')
    const publishMs = []
    for (let i = 0; i < VERSIONS; i++) {
      const p = await publish()
      const at = await servedAll(p.version)
      publishMs.push(at - p.start)
      await until(async () => (await phase(p.hash)) === 'done', 20_000, `${p.version} done`)
    }
    log(`\npublish -> serving on all 3 hosts, ${VERSIONS} versions (ms): p50 ${quantile(publishMs, 0.5)}, p99 ${quantile(publishMs, 0.99)}`)
    // Where the time goes, from the fleet's own events: publish -> each host's apply finished.
    const events = (await fleet.status({ events: 1000 })).events
    const appliedMs = []
    for (const published of events.filter((e) => e.type === 'published')) {
      const applied = events.filter((e) => e.type === 'applied' && e.hash === published.hash && e.at >= published.at)
      if (applied.length >= 3) appliedMs.push(Math.max(...applied.map((e) => e.at)) - published.at)
    }
    log(`publish -> applied (pipeline reload done) on all 3 hosts (ms): p50 ${quantile(appliedMs, 0.5)}, p99 ${quantile(appliedMs, 0.99)}`)

    const rollbackMs = []
    for (let i = 0; i < BAD_ROUNDS; i++) {
      const good = await publish()
      await servedAll(good.version)
      await until(async () => (await phase(good.hash)) === 'done', 20_000, 'good done')
      const flag = join(root, `fail-${i}`)
      const bad = await publish({ failFlag: flag })
      await servedAll(bad.version)
      await until(async () => (await phase(bad.hash)) === 'done', 20_000, 'bad promoted')
      const failingFrom = Date.now()
      await writeFile(flag, 'x')
      const at = await servedAll(good.version)
      rollbackMs.push(at - failingFrom)
    }
    log(`bad version -> rolled back on all 3 hosts, ${BAD_ROUNDS} rounds (ms): ${rollbackMs.join(', ')}`)
    const unexpected = (await Promise.all(hosts.map((h) => h.stats()))).reduce((a, s) => a + s.unexpected, 0)

    const saves = await saveLatency(root, redis.url)
    log('\nstate-store save, 1 KB (ms)')
    table(saves, log)

    const targets = {
      publishToServingP50Ms: { target: '<= 1000', actual: quantile(publishMs, 0.5), pass: quantile(publishMs, 0.5) <= 1000 },
      rollbackEverywhereMaxMs: { target: '<= 5000', actual: Math.max(...rollbackMs), pass: Math.max(...rollbackMs) <= 5000 },
      unexpectedFailedCalls: { target: 0, actual: unexpected, pass: unexpected === 0 },
    }
    return {
      pass: Object.values(targets).every((t) => t.pass),
      targets,
      publishToAppliedMs: { p50: quantile(appliedMs, 0.5), p99: quantile(appliedMs, 0.99) },
      publishToServingMs: { p50: quantile(publishMs, 0.5), p99: quantile(publishMs, 0.99), samples: publishMs },
      rollbackEverywhereMs: rollbackMs,
      saveLatency: saves,
      hosts: `3 hotswap-host processes, --loader ${LOADER}`,
      note: 'machine shared with other builds and tests while measured',
    }
  } finally {
    await Promise.all(hosts.map((h) => h.stop()))
    await fleet?.close()
    await redis.stop()
    await rm(root, { recursive: true, force: true })
  }
}

async function saveLatency(root, url) {
  const snapshot = createSnapshot({ pluginId: 'bench', pluginVersion: '1.0.0', data: { blob: 'x'.repeat(1000 - 12) } })
  const stores = {
    redis: await createStateStore({ adapter: redisAdapter({ url, prefix: 'bench:state:' }) }),
    file: await createStateStore({ adapter: fileAdapter({ dir: join(root, 'state') }) }),
  }
  const times = { redis: [], file: [] }
  try {
    for (let round = 0; round < SAVE_ROUNDS; round++) {
      for (const name of round % 2 === 0 ? ['redis', 'file'] : ['file', 'redis']) {
        for (let i = 0; i < 100; i++) {
          const start = performance.now()
          await stores[name].save(snapshot)
          times[name].push(performance.now() - start)
        }
      }
    }
  } finally {
    await stores.redis.close()
    await stores.file.close()
  }
  return Object.entries(times).map(([adapter, t]) => ({ adapter, saves: t.length, p50: quantile(t, 0.5), p99: quantile(t, 0.99) }))
}

async function writePlugin(root, version, behaviour = {}) {
  const dir = join(root, 'plugins', version)
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'svc', version, type: 'module', main: 'index.mjs' }))
  const fail = behaviour.failFlag === undefined ? 'false' : `existsSync(${JSON.stringify(behaviour.failFlag)})`
  await writeFile(
    join(dir, 'index.mjs'),
    `import { existsSync } from 'node:fs'\nexport default { name: 'svc', version: '${version}', setup() { return { work() {\n` +
      `  if (${fail}) throw new Error('intended failure of ${version}')\n  return '${version}'\n} } } }\n`,
  )
  return dir
}

async function startHost(id, url, root) {
  const child = fork(childScript, [], { env: { ...process.env, FLEET_REDIS: url, FLEET_HOST: id, FLEET_DIR: join(root, 'hosts', id), FLEET_LOADER: LOADER }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const host = { id, current: undefined, at: 0, child }
  await new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`host ${id} exited with ${code}`)))
    child.on('message', (m) => {
      if (m.type === 'ready') resolve()
      if (m.type === 'seen') Object.assign(host, { current: m.version, at: m.at })
    })
  })
  host.stats = () => new Promise((resolve) => {
    const on = (m) => m.type === 'stats' && (child.off('message', on), resolve(m))
    child.on('message', on)
    child.send('stats')
  })
  host.stop = async () => {
    if (child.exitCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    await exited
  }
  return host
}

async function until(check, ms, what) {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`fleet bench: timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
