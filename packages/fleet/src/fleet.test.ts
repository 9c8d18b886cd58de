// End to end: a real redis-server (AOF, so a restart keeps the fleet), hosts as separate
// processes with a real registry, steady traffic into the plugin on every host.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { buildFleetArtifact, encodeFleetArtifact } from './artifact.js'
import { connectFleet } from './fleet.js'
import type { Fleet, PublishOptions } from './fleet.js'
import { removeTempDirs, startHost, tempDir, waitFor, writePlugin } from './test-support/hosts.js'
import type { TestHost } from './test-support/hosts.js'
import { redisMissing, startRedis } from '@hotswap/state-store/testing'
import type { TestRedis } from '@hotswap/state-store/testing'

const missing = redisMissing()
if (missing !== undefined) console.warn(`[fleet] ${missing}`)

describe.skipIf(missing !== undefined)('a fleet of three host processes on one redis-server', () => {
  let redis: TestRedis
  let fleet: Fleet
  let hosts: TestHost[] = []
  let root = ''
  let namespace = ''
  let counter = 0

  beforeAll(async () => {
    redis = await startRedis({ persist: true })
  })
  afterEach(async () => {
    await Promise.all(hosts.map((h) => h.kill()))
    hosts = []
    await fleet?.close()
  })
  afterAll(async () => {
    await redis?.stop()
    await removeTempDirs()
  })

  async function setup(): Promise<void> {
    root = await tempDir()
    namespace = `t${process.pid}-${++counter}`
    fleet = await connectFleet({ url: redis.url, namespace })
    hosts = await Promise.all(['a', 'b', 'c'].map((id) => startHost(id, redis.url, namespace, root)))
    await waitFor('three live hosts', async () => (await fleet.status()).hosts.filter((h) => h.alive).length === 3)
  }

  async function publish(version: string, options: PublishOptions = {}, behaviour: Parameters<typeof writePlugin>[2] = {}): Promise<string> {
    const artifact = await buildFleetArtifact(await writePlugin(root, version, behaviour))
    await fleet.publish(artifact, { windowMs: 800, minCalls: 5, ...options })
    return artifact.hash
  }

  const phase = async (hash: string): Promise<string | undefined> => {
    const rollout = (await fleet.status({ events: 0 })).plugins.find((p) => p.id === 'svc')?.rollout
    return rollout?.target.hash === hash ? rollout.phase : undefined
  }

  async function servedEverywhere(version: string, on: readonly TestHost[] = hosts): Promise<void> {
    await waitFor(`${version} served by ${on.map((h) => h.id).join(', ')}`, async () => {
      for (const host of on) if ((await host.stats()).seen.at(-1) !== version) return false
      return true
    })
  }

  async function firstVersion(): Promise<string> {
    const hash = await publish('1.0.1')
    await waitFor('1.0.1 done', async () => (await phase(hash)) === 'done')
    await servedEverywhere('1.0.1')
    return hash
  }

  it('20 versions published one after another: every host serves each, in order, with no failed call', async () => {
    await setup()
    const versions = Array.from({ length: 20 }, (_, i) => `1.0.${i + 1}`)
    for (const version of versions) {
      const hash = await publish(version)
      await waitFor(`${version} done`, async () => (await phase(hash)) === 'done')
      await servedEverywhere(version)
    }
    for (const host of hosts) {
      const stats = await host.stats()
      expect(stats.seen, `host ${host.id}`).toEqual(versions)
      expect(stats.unexpected, `host ${host.id}`).toEqual([])
      expect(stats.intended).toBe(0)
    }
    const events = (await fleet.status({ events: 500 })).events.filter((e) => e.id === 'svc')
    expect(events.filter((e) => e.type === 'published')).toHaveLength(20)
    expect(events.filter((e) => e.type === 'completed')).toHaveLength(20)
    expect(events.filter((e) => e.type === 'applied')).toHaveLength(60)
  }, 120_000)

  it('canary 1: a version failing its health gate never reaches the other hosts and the canary rolls back', async () => {
    await setup()
    await firstVersion()
    const bad = await publish('1.0.2', { canary: ['a'] }, { fails: true })
    await waitFor('1.0.2 rolled back', async () => (await phase(bad)) === 'rolledBack')
    await servedEverywhere('1.0.1')
    const [a, b, c] = await Promise.all(hosts.map((h) => h.stats()))
    expect(a?.seen).toEqual(['1.0.1', '1.0.2', '1.0.1'])
    expect(b?.seen).toEqual(['1.0.1'])
    expect(c?.seen).toEqual(['1.0.1'])
    for (const stats of [a, b, c]) expect(stats?.unexpected).toEqual([])
    const status = await fleet.status()
    expect(status.plugins[0]?.rollout).toMatchObject({ phase: 'rolledBack', reason: expect.stringMatching(/error rate/) })
    // The canary's errors can pass the gate's threshold in the same report that first shows it
    // serving, so `canaryServing` may or may not come before `rolledBack`; what must hold is that
    // the bad version was published, applied on a, rolled back, and never promoted.
    const ofBad = status.events.filter((e) => e.hash === bad).map((e) => e.type)
    expect(ofBad.filter((t) => t !== 'canaryServing').slice(0, 3)).toEqual(['published', 'applied', 'rolledBack'])
    expect(ofBad).not.toContain('promoted')
  }, 60_000)

  it('a failing first version (nothing to go back to) is removed from the canary, never reaches the others, and the next version serves everywhere', async () => {
    await setup()
    const bad = await publish('1.0.1', { canary: ['a'] }, { fails: true })
    await waitFor('1.0.1 rolled back', async () => (await phase(bad)) === 'rolledBack')
    await waitFor('the canary removed it', async () => !(await hosts[0]!.stats()).loaded)
    const [a, b, c] = await Promise.all(hosts.map((h) => h.stats()))
    expect(a?.seen).toEqual(['1.0.1'])
    expect(a?.intended).toBeGreaterThanOrEqual(5)
    for (const stats of [b, c]) expect(stats).toMatchObject({ seen: [], loaded: false })
    for (const stats of [a, b, c]) expect(stats?.status.serving.svc).toBeUndefined()
    const events = (await fleet.status({ events: 200 })).events.filter((e) => e.id === 'svc')
    expect(events.filter((e) => e.type === 'removed').map((e) => e.hostId)).toEqual(['a'])
    expect(events.find((e) => e.type === 'removed')?.reason).toMatch(/first published version .*no earlier version/)

    const good = await publish('1.0.2')
    await waitFor('1.0.2 done', async () => (await phase(good)) === 'done')
    await servedEverywhere('1.0.2')
    for (const host of hosts) expect((await host.stats()).unexpected).toEqual([])
  }, 60_000)

  it('a version that starts failing after promotion is rolled back on every host', async () => {
    await setup()
    await firstVersion()
    const flag = join(root, 'fail-now')
    const later = await publish('1.0.2', {}, { failFlag: flag })
    await waitFor('1.0.2 done', async () => (await phase(later)) === 'done')
    await servedEverywhere('1.0.2')
    await writeFile(flag, 'x')
    await waitFor('1.0.2 rolled back', async () => (await phase(later)) === 'rolledBack')
    await servedEverywhere('1.0.1')
    for (const host of hosts) {
      const stats = await host.stats()
      expect(stats.seen).toEqual(['1.0.1', '1.0.2', '1.0.1'])
      expect(stats.unexpected).toEqual([])
    }
  }, 60_000)

  it('kill -9 of one host mid-rollout: the others finish it and the host catches up on restart', async () => {
    await setup()
    await firstVersion()
    const next = await publish('1.0.2')
    await hosts[2]!.kill('SIGKILL')
    await waitFor('1.0.2 done without c', async () => (await phase(next)) === 'done')
    await servedEverywhere('1.0.2', hosts.slice(0, 2))
    expect((await fleet.status()).hosts.find((h) => h.hostId === 'c')?.alive).toBe(false)
    hosts[2] = await startHost('c', redis.url, namespace, root)
    await servedEverywhere('1.0.2', [hosts[2]])
    expect((await hosts[2].stats()).seen).toEqual(['1.0.2'])
  }, 60_000)

  it('Redis restarting mid-rollout costs no host and serves no wrong version; the rollout resumes', async () => {
    await setup()
    await firstVersion()
    const next = await publish('1.0.2', { canary: ['a'], windowMs: 1500 })
    await servedEverywhere('1.0.2', [hosts[0]!])
    await redis.stop(true)
    try {
      // While Redis is down every host notices, and keeps serving (and answering) what it had.
      const during = await waitFor('every host disconnected', async () => {
        const all = await Promise.all(hosts.map((h) => h.stats()))
        return all.every((s) => !s.status.connected) && all
      })
      expect(during.map((s) => s.seen.at(-1))).toEqual(['1.0.2', '1.0.1', '1.0.1'])
      const calls = during.map((s) => s.calls)
      await waitFor('calls go on while Redis is down', async () => (await Promise.all(hosts.map((h) => h.stats()))).every((s, i) => s.calls > calls[i]! + 10))
    } finally {
      redis = await startRedis({ port: redis.port, dir: redis.dir, persist: true })
    }
    await waitFor('1.0.2 done after the restart', async () => (await phase(next)) === 'done', 30_000)
    await servedEverywhere('1.0.2')
    for (const host of hosts) {
      expect(host.child.exitCode).toBeNull()
      const stats = await host.stats()
      expect(stats.seen).toEqual(['1.0.1', '1.0.2'])
      expect(stats.unexpected).toEqual([])
    }
  }, 90_000)

  it('an artifact whose bytes do not match its hash is refused by publish and by every host', async () => {
    await setup()
    await firstVersion()
    const artifact = await buildFleetArtifact(await writePlugin(root, '1.0.2'))
    const tampered = { ...artifact, files: { ...artifact.files, 'index.mjs': new TextEncoder().encode('export default { evil: true }') } }
    await expect(fleet.publish(tampered)).rejects.toMatchObject({ code: 'HASH_MISMATCH' })
    // Damage in storage: the record under the artifact's hash holds other bytes.
    const raw = new Redis(redis.url)
    await raw.set(`hotswap:fleet:${namespace}:artifact:svc:${artifact.hash}`, encodeFleetArtifact(tampered))
    raw.disconnect()
    await fleet.publish(artifact, { windowMs: 800, minCalls: 5 })
    await waitFor('1.0.2 rolled back', async () => (await phase(artifact.hash)) === 'rolledBack')
    await waitFor('every host refused it', async () => {
      const refused = (await fleet.status({ events: 200 })).events.filter((e) => e.type === 'artifactRefused' && e.hash === artifact.hash)
      return new Set(refused.map((e) => e.hostId)).size === 3
    })
    for (const host of hosts) {
      const stats = await host.stats()
      expect(stats.seen).toEqual(['1.0.1'])
      expect(stats.status.rejected.svc?.[artifact.hash]).toMatch(/hash/)
    }
  }, 60_000)
})
