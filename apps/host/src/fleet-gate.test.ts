// The fleet's health gate sees the host's real calls: three hotswap-host processes on one real
// redis-server, HTTP traffic into each host's plugin route (/p/<id>/), versions published with
// `hotswap-host publish`. A version whose route fails on the canary never reaches the other
// hosts; one that starts answering 500 after promotion is rolled back everywhere; calls through
// the call API and `hotswap-host call` count too.
import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { redisMissing, startRedis, type TestRedis } from '@hotswap/state-store/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bundleCli, routeTraffic, startFleetHost, waitFor, writeRoutePlugin, type FleetHostProcess, type RouteTraffic } from './test-support/fleet.js'

const missing = redisMissing()
if (missing !== undefined) console.warn(`[hotswap-host] ${missing}`)

interface FleetView {
  host: { hostId: string; serving: Record<string, { version: string; hash: string }> }
  fleet: {
    plugins: { id: string; rollout: { phase: string; target: { hash: string; version: string }; reason?: string } }[]
    hosts: { hostId: string; alive: boolean; report?: { plugins: Record<string, { hash?: string; calls: number; errors: number }> } }[]
    events: { type: string; id: string; hash?: string; hostId?: string; reason?: string }[]
  }
}

describe.skipIf(missing !== undefined)('a fleet of three hotswap-host processes: the health gate sees route and API calls', () => {
  let root = ''
  let cli = ''
  let redis: TestRedis
  let hosts: FleetHostProcess[] = []

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'hotswap-host-fleet-gate-'))
    cli = await bundleCli('fleet-gate-cli')
    redis = await startRedis()
    hosts = await Promise.all(['a', 'b', 'c'].map((id) => startFleetHost(cli, id, redis.url, root)))
    await waitFor('three live hosts', async () => (await view(hosts[0]!)).fleet.hosts.filter((h) => h.alive).length === 3)
  }, 120_000)
  afterAll(async () => {
    await Promise.all(hosts.map((h) => h.stop()))
    await redis?.stop()
    await rm(root, { recursive: true, force: true })
  })

  async function view(host: FleetHostProcess, events = 200): Promise<FleetView> {
    const response = await fetch(`${host.url}/api/fleet?events=${events}`, { headers: { authorization: `Bearer ${host.token}` } })
    if (!response.ok) throw new Error(`GET /api/fleet: ${response.status} ${await response.text()}`)
    return (await response.json()) as FleetView
  }

  async function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
    const child = spawn(process.execPath, [cli, ...args], { cwd: root, env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s))
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s))
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
    return { code, out, err }
  }

  async function publish(dir: string, ...flags: string[]): Promise<string> {
    const result = await run(['publish', dir, '--fleet', redis.url, ...flags])
    expect(result.code, result.err).toBe(0)
    return /\(([0-9a-f]{16})\)/.exec(result.out)![1]!
  }

  const phase = async (id: string, hash: string): Promise<string | undefined> => {
    const rollout = (await view(hosts[0]!, 0)).fleet.plugins.find((p) => p.id === id)?.rollout
    return rollout?.target.hash === hash ? rollout.phase : undefined
  }

  const serving = async (id: string): Promise<(string | undefined)[]> => Promise.all(hosts.map(async (h) => (await view(h, 0)).host.serving[id]?.version))

  async function firstVersion(id: string, windowMs: number): Promise<void> {
    const hash = await publish(await writeRoutePlugin(root, id, '1.0.1'), '--window-ms', String(windowMs))
    await waitFor(`${id} 1.0.1 done`, async () => (await phase(id, hash)) === 'done')
    // Asked through the fleet API, not the route: no call of the plugin is made here.
    await waitFor(`${id} 1.0.1 served by every host`, async () => (await serving(id)).every((v) => v === '1.0.1'))
  }

  async function stopAll(traffic: RouteTraffic[]): Promise<void> {
    await Promise.all(traffic.map((t) => t.stop()))
  }

  it('calls through POST /api/plugins/:id/call and `hotswap-host call` are counted for the version they reached', async () => {
    await firstVersion('counted', 30_000)
    const a = hosts[0]!
    for (let i = 0; i < 12; i++) {
      const response = await fetch(`${a.url}/api/plugins/counted/call`, { method: 'POST', headers: { authorization: `Bearer ${a.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ method: 'work', args: [] }) })
      expect(await response.json()).toEqual({ result: '1.0.1' })
    }
    const byCli = await run(['call', 'counted', 'work', '--state-dir', join(root, 'state-a')])
    expect(byCli.code, byCli.err).toBe(0)
    expect(byCli.out.trim()).toBe('"1.0.1"')
    const report = await waitFor('host a to report 13 calls of counted 1.0.1', async () => {
      const counts = (await view(a, 0)).fleet.hosts.find((h) => h.hostId === 'a')?.report?.plugins.counted
      return counts !== undefined && counts.calls >= 13 && counts
    })
    expect(report).toMatchObject({ calls: 13, errors: 0 })
  }, 120_000)

  it('canary 1: a version whose route fails never reaches hosts b and c, and host a rolls back', async () => {
    await firstVersion('gate', 2_000)
    const traffic = hosts.map((h) => routeTraffic(h, 'gate'))
    try {
      const bad = await publish(await writeRoutePlugin(root, 'gate', '1.0.2', { throws: true }), '--canary', '1', '--window-ms', '1500')
      await waitFor('1.0.2 rolled back', async () => (await phase('gate', bad)) === 'rolledBack')
      await waitFor('every host serves 1.0.1 again', async () => (await serving('gate')).every((v) => v === '1.0.1'))
      await waitFor('host a answers 1.0.1 again', () => traffic[0]!.seen.at(-1) === '1.0.1')
      const status = await view(hosts[0]!)
      const rollout = status.fleet.plugins.find((p) => p.id === 'gate')!.rollout
      expect(rollout.reason).toMatch(/error rate/)
      expect(status.fleet.events.some((e) => e.id === 'gate' && e.type === 'promoted' && e.hash === bad)).toBe(false)
      expect(status.fleet.events.filter((e) => e.id === 'gate' && e.type === 'applied' && e.hash === bad).map((e) => e.hostId)).toEqual(['a'])
    } finally {
      await stopAll(traffic)
    }
    const [a, b, c] = traffic
    expect(a!.seen).toEqual(['1.0.1', '1.0.2', '1.0.1'])
    expect(a!.counts.intended).toBeGreaterThan(0)
    expect(b!.seen).toEqual(['1.0.1'])
    expect(c!.seen).toEqual(['1.0.1'])
    for (const t of traffic) expect(t.unexpected).toEqual([])
  }, 120_000)

  it('a version that starts answering 500 after promotion is rolled back on every host', async () => {
    const flag = join(root, 'late-fail-now')
    const traffic = hosts.map((h) => routeTraffic(h, 'gate'))
    try {
      const later = await publish(await writeRoutePlugin(root, 'gate', '1.0.3', { fail500Flag: flag }), '--window-ms', '1500')
      await waitFor('1.0.3 done', async () => (await phase('gate', later)) === 'done')
      await waitFor('every route answers 1.0.3', () => traffic.every((t) => t.seen.at(-1) === '1.0.3'))
      await writeFile(flag, 'x')
      await waitFor('1.0.3 rolled back', async () => (await phase('gate', later)) === 'rolledBack')
      await waitFor('every route answers 1.0.1 again', () => traffic.every((t) => t.seen.at(-1) === '1.0.1'))
      const rollout = (await view(hosts[0]!, 0)).fleet.plugins.find((p) => p.id === 'gate')!.rollout
      expect(rollout.reason).toMatch(/error rate/)
    } finally {
      await stopAll(traffic)
    }
    for (const t of traffic) {
      expect(t.seen).toEqual(['1.0.1', '1.0.3', '1.0.1'])
      expect(t.counts.intended).toBeGreaterThan(0)
      expect(t.unexpected).toEqual([])
    }
  }, 120_000)
})
