// hotswap-host in a fleet: two hosts (in process, through main) join a real redis-server with
// --fleet/--host-id; `hotswap-host publish` reaches both; the fleet API routes need the token.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { redisMissing, startRedis, type TestRedis } from '@hotswap/state-store/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Host } from './host.js'
import { main, type CliIo } from './main.js'
import { until } from './test-support/host.js'

const missing = redisMissing()
if (missing !== undefined) console.warn(`[hotswap-host] ${missing}`)

describe.skipIf(missing !== undefined)('hotswap-host --fleet', () => {
  let root = ''
  let redis: TestRedis
  let url = ''
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'hotswap-host-fleet-'))
    redis = await startRedis()
    url = redis.url
  })
  afterAll(async () => {
    await redis?.stop()
    await rm(root, { recursive: true, force: true })
  })

  function io(): CliIo & { out: () => string; err: () => string; started: () => Host | undefined; signal: (name: string) => void } {
    let out = ''
    let err = ''
    let host: Host | undefined
    const handlers = new Map<string, () => void>()
    return {
      stdout: (s) => void (out += s),
      stderr: (s) => void (err += s),
      env: {},
      cwd: root,
      color: false,
      onSignal: (signal, handler) => {
        handlers.set(signal, handler)
        return () => handlers.delete(signal)
      },
      onStarted: (h) => (host = h),
      out: () => out,
      err: () => err,
      started: () => host,
      signal: (name) => handlers.get(name)?.(),
    }
  }

  it('joins with --fleet/--host-id, serves what `publish` sends, and shows the fleet on the token-protected API', async () => {
    const plugins = join(root, 'empty')
    await mkdir(plugins)
    const hosts = ['a', 'b'].map((id) => {
      const cli = io()
      const exit = main(['--fleet', url, '--host-id', id, '--port', '0', '--state-dir', join(root, `state-${id}`), '--log-format', 'json', '--log-level', 'silent', plugins], cli)
      return { id, cli, exit }
    })
    await until(() => hosts.every((h) => h.cli.started() !== undefined), 20_000, 'both hosts to start')

    const plugin = join(root, 'svc')
    await mkdir(plugin)
    await writeFile(join(plugin, 'package.json'), JSON.stringify({ name: 'svc', version: '1.0.0', type: 'module', main: 'index.mjs' }))
    await writeFile(join(plugin, 'index.mjs'), `export default { name: 'svc', version: '1.0.0', setup() { return { hello: () => 'fleet' } } }\n`)
    const publisher = io()
    expect(await main(['publish', 'svc', '--fleet', url, '--canary', '1'], publisher), publisher.err()).toBe(0)
    expect(publisher.out()).toMatch(/^published svc 1\.0\.0 \([0-9a-f]{16}\): canary a first/)

    for (const { cli } of hosts) {
      const registry = cli.started()!.pipeline.registry
      await until(() => registry.has('svc'), 20_000, 'svc on every host')
      expect(await registry.get('svc').call('hello')).toBe('fleet')
    }

    const host = hosts[0]!.cli.started()!
    const unauthorised = await fetch(`${host.url}/api/fleet`)
    expect(unauthorised.status).toBe(401)
    const auth = { authorization: `Bearer ${host.token}` }
    const status = (await (await fetch(`${host.url}/api/fleet`, { headers: auth })).json()) as {
      host: { hostId: string; serving: Record<string, { version: string }> }
      fleet: { plugins: { id: string; rollout: { target: { version: string } } }[]; hosts: { hostId: string; alive: boolean }[] }
    }
    expect(status.host).toMatchObject({ hostId: 'a', serving: { svc: { version: '1.0.0' } } })
    expect(status.fleet.plugins[0]?.rollout.target.version).toBe('1.0.0')
    expect(status.fleet.hosts.filter((h) => h.alive).map((h) => h.hostId)).toEqual(['a', 'b'])
    // The version came through each host's pipeline: a reload event of the fleet's plugin folder.
    for (const { id, cli } of hosts) {
      const loads = cli.started()!.journal.reloads('svc').map((e) => e.event)
      expect(loads, `host ${id}`).toEqual([expect.objectContaining({ type: 'reload', action: 'load', outcome: 'success', to: '1.0.0', path: join(root, `state-${id}`, 'fleet', 'plugins', 'svc') })])
    }
    const rolledBack = await fetch(`${host.url}/api/fleet/svc/rollback`, { method: 'POST', headers: auth })
    expect(rolledBack.status).toBe(200)
    expect(((await rolledBack.json()) as { rollout: { phase: string } }).rollout.phase).toBe('rolledBack')
    // Its first version: nothing to go back to, so every host unloads it, through its pipeline.
    for (const { id, cli } of hosts) {
      const started = cli.started()!
      await until(() => !started.pipeline.registry.has('svc'), 20_000, `svc unloaded on ${id}`)
      expect(started.journal.reloads('svc').map((e) => e.event).at(-1), `host ${id}`).toMatchObject({ action: 'unload', outcome: 'success' })
    }
    await until(async () => {
      const view = (await (await fetch(`${host.url}/api/fleet`, { headers: auth })).json()) as { fleet: { events: { type: string; hostId?: string }[] } }
      return view.fleet.events.filter((e) => e.type === 'removed').length === 2
    }, 20_000, 'two removed events')

    for (const h of hosts) h.cli.signal('SIGTERM')
    for (const h of hosts) expect(await h.exit, h.cli.err()).toBe(0)
  }, 90_000)

  it('publish without a plugin folder exits 2 with the usage', async () => {
    const cli = io()
    expect(await main(['publish'], cli)).toBe(2)
    expect(cli.err()).toMatch(/Usage: hotswap-host publish <plugin-dir>/)
  })
})
