/* eslint-disable @typescript-eslint/no-unsafe-return -- JSON responses are checked by the assertions */
// The defects a new user found (issue 18), each checked on a real host.
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { createServer as createNetServer, type AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createStateStore, fileAdapter } from '@hotswap/state-store'
import { startHost, type Host } from './host.js'
import { send, atomicWrite, counterSource, makeDirs, nextEntry, testConfig, until } from './test-support/host.js'
import { main, type CliIo } from './main.js'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined)
})

async function setup(prefix: string): Promise<Awaited<ReturnType<typeof makeDirs>>> {
  const dirs = await makeDirs(prefix)
  cleanups.push(dirs.cleanup)
  return dirs
}

async function start(dirs: Awaited<ReturnType<typeof makeDirs>>, over: Parameters<typeof testConfig>[1] = {}): Promise<{ host: Host; out: () => string }> {
  let text = ''
  const host = await startHost(testConfig(dirs, { debounceMs: 20, maxRetries: 0, ...over }), { stdout: (s) => void (text += s), color: false })
  cleanups.push(() => host.close())
  return { host, out: () => text }
}

const plugins = async (host: Host): Promise<{ id?: string; label: string; state: string; alive: boolean; version?: string; lastError?: unknown; failedReloads: number }[]> =>
  (await send(host.url, { path: '/api/plugins', token: host.token })).json.plugins

describe('issue 18 defects', () => {
  it('1: a plugin whose first load failed is no longer listed once its file is deleted', async () => {
    const dirs = await setup('hotswap-d1-')
    await writeFile(join(dirs.plugins, 'broken.mjs'), 'export default {{ nope')
    const { host } = await start(dirs)
    expect((await plugins(host)).map((p) => [p.label, p.state])).toEqual([['broken.mjs', 'Failed']])
    await rm(join(dirs.plugins, 'broken.mjs'))
    await until(async () => (await plugins(host)).length === 0, 10_000, 'the deleted plugin to leave the list')
    const metrics = await send(host.url, { path: '/metrics', token: host.token })
    expect(metrics.text).not.toMatch(/hotswap_plugins\{state="Failed"\} [1-9]/)
  })

  it('2: plugin log lines written during the initial load reach the terminal view', async () => {
    const dirs = await setup('hotswap-d2-')
    await writeFile(join(dirs.plugins, 'talker.mjs'), `export default { name: 'talker', version: '1.0.0', setup(ctx) { ctx.log.info('hello from setup'); return {} } }`)
    const { out } = await start(dirs)
    expect(out()).toContain('[talker@1.0.0] hello from setup')
    expect(out().indexOf('hello from setup')).toBeLessThan(out().indexOf('dashboard  http'))
  })

  it('3: a failure clears when fixed, and the row counts what the header counts', async () => {
    const dirs = await setup('hotswap-d3-')
    const file = join(dirs.plugins, 'counter.mjs')
    await writeFile(file, counterSource('1.0.0'))
    const { host } = await start(dirs)
    const failed = nextEntry(host.journal, (e) => e.event.type === 'reload' && e.event.outcome === 'failed', 10_000, 'the failed reload')
    await atomicWrite(file, 'export default {{ broken')
    await failed
    let [row] = await plugins(host)
    expect(row).toMatchObject({ alive: true, version: '1.0.0', lastError: expect.any(Object), failedReloads: 1 })
    expect((await send(host.url, { path: '/api/status', token: host.token })).json.failedReloads).toBe(1)
    const fixed = nextEntry(host.journal, (e) => e.event.type === 'reload' && e.event.outcome === 'success', 10_000, 'the fixed reload')
    await atomicWrite(file, counterSource('1.1.0'))
    await fixed
    ;[row] = await plugins(host)
    expect(row!.state).toBe('Running')
    expect(row!.lastError).toBeUndefined()
  })

  it('3: a failed reload names the version it attempted (in the journal, the API and the terminal)', async () => {
    const dirs = await setup('hotswap-d3v-')
    const file = join(dirs.plugins, 'counter.mjs')
    await writeFile(file, counterSource('1.0.0'))
    const { host, out } = await start(dirs)
    const failed = nextEntry(host.journal, (e) => e.event.type === 'reload' && e.event.outcome === 'failed', 10_000, 'the failed reload')
    await atomicWrite(file, counterSource('1.1.0').replace('setup(ctx) {', "setup(ctx) { throw new Error('setup broke')"))
    const entry = await failed
    expect(entry.data).toMatchObject({ from: '1.0.0', attempted: '1.1.0', outcome: 'failed' })
    const api = (await send(host.url, { path: '/api/reloads', token: host.token })).json.reloads as { outcome: string; attempted?: string }[]
    expect(api.filter((r) => r.outcome === 'failed').map((r) => r.attempted)).toEqual(['1.1.0'])
    expect(out()).toMatch(/✗ reload +counter 1\.0\.0 → 1\.1\.0 .*setup broke.*1\.0\.0 keeps serving/)
    // A syntax error never names a version: attempted is null, and the line does not invent one.
    const broken = nextEntry(host.journal, (e) => e.event.type === 'reload' && e.event.outcome === 'failed', 10_000, 'the second failed reload')
    await atomicWrite(file, 'export default {{ broken')
    expect((await broken).data).toMatchObject({ from: '1.0.0', attempted: null })
  })

  it('4: a manual reload with nothing changed keeps the way back (rollback returns to the version before)', async () => {
    const dirs = await setup('hotswap-d4-')
    const file = join(dirs.plugins, 'counter.mjs')
    await writeFile(file, counterSource('1.0.0'))
    const { host } = await start(dirs)
    const reloaded = nextEntry(host.journal, (e) => e.event.type === 'reload' && e.event.action === 'reload' && e.event.outcome === 'success', 10_000, 'the 1.1.0 reload')
    await atomicWrite(file, counterSource('1.1.0'))
    await reloaded
    const post = (path: string): ReturnType<typeof send> => send(host.url, { method: 'POST', path, token: host.token })
    expect((await post('/api/plugins/counter/reload')).status).toBe(200)
    const back = await post('/api/plugins/counter/rollback')
    expect(back.status).toBe(200)
    expect(back.json.plugin.version).toBe('1.0.0')
    expect(await host.pipeline.registry.get('counter').call('get')).toMatchObject({ version: '1.0.0' })
  })

  it('5: with the port taken no plugin is loaded (no setup() runs) before the host fails', async () => {
    const dirs = await setup('hotswap-d5-')
    const marker = join(dirs.root, 'setup-ran')
    await writeFile(join(dirs.plugins, 'marker.mjs'), `import { writeFileSync } from 'node:fs'\nexport default { name: 'marker', version: '1.0.0', setup() { writeFileSync(${JSON.stringify(marker)}, 'x'); return {} } }`)
    const blocker = createNetServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    cleanups.push(() => new Promise((resolve) => blocker.close(() => resolve())))
    let out = ''
    await expect(startHost(testConfig(dirs, { port: (blocker.address() as AddressInfo).port }), { stdout: (s) => void (out += s), color: false })).rejects.toMatchObject({ code: 'LISTEN_FAILED' })
    expect(existsSync(marker)).toBe(false)
    expect(out).not.toContain('ready')
  })

  it('7: a snapshot of a newer format is refused out loud and never overwritten', async () => {
    const dirs = await setup('hotswap-d7-')
    await writeFile(join(dirs.plugins, 'counter.mjs'), counterSource('1.0.0'))
    const first = await start(dirs)
    await first.host.pipeline.registry.get('counter').call('inc')
    await first.host.close()
    // Rewrite the newest snapshot as an intact file of a future format 3.
    const files = (await listFiles(join(dirs.state, 'state'))).filter((f) => f.includes('counter'))
    const newest = (await Promise.all(files.map(async (f) => ({ f, t: (await stat(f)).mtimeMs })))).sort((a, b) => b.t - a.t)[0]!.f
    const text = await readFile(newest, 'utf8')
    const body = text.slice(text.indexOf('\n') + 1)
    const prefix = `hotswap-state 3 ${Buffer.byteLength(body)}`
    const future = `${prefix} ${createHash('sha256').update(`${prefix}\n`).update(body).digest('hex')}\n${body}`
    await writeFile(newest, future)
    const second = await start(dirs)
    expect(second.out()).toMatch(/state of counter refused: .*format 3/)
    expect(await second.host.pipeline.registry.get('counter').call('get')).toMatchObject({ count: 0 })
    await second.host.pipeline.registry.get('counter').call('inc')
    await second.host.close()
    expect(second.out()).toContain('state of counter not saved')
    expect(await readFile(newest, 'utf8')).toBe(future)
    // both said as journal events (the event stream and the dashboard show them)
    const said = second.host.journal.since(0).filter((e) => e.name.startsWith('state'))
    expect(said.map((e) => [e.name, e.data.id])).toEqual([
      ['stateRefused', 'counter'],
      ['stateNotSaved', 'counter'],
    ])
    expect(said[0]!.data.message).toMatch(/format 3/)
  })

  // The pipeline rescans every 60 s: each bound below is far shorter, so these fail without the follower.
  it('9: an edit to the target of a symlinked plugin reloads it at once', async () => {
    const dirs = await setup('hotswap-d9a-')
    const elsewhere = join(dirs.root, 'src')
    await mkdir(elsewhere)
    await writeFile(join(elsewhere, 'counter.mjs'), counterSource('1.0.0'))
    await symlink(join(elsewhere, 'counter.mjs'), join(dirs.plugins, 'counter.mjs'))
    const { host } = await start(dirs)
    expect(host.pipeline.registry.status('counter').version).toBe('1.0.0')
    await host.pipeline.registry.get('counter').call('inc')
    const reloaded = nextEntry(host.journal, (e) => e.event.type === 'reload' && e.event.action === 'reload' && e.event.outcome === 'success', 10_000, 'a reload after the target changed')
    await atomicWrite(join(elsewhere, 'counter.mjs'), counterSource('1.1.0'))
    await reloaded
    expect(await host.pipeline.registry.get('counter').call('get')).toEqual({ version: '1.1.0', count: 1 })
    // A symlink added later is followed too.
    await writeFile(join(elsewhere, 'echo.mjs'), `export default { name: 'echo', version: '1.0.0', setup() { return { v: () => 1 } } }`)
    const loaded = nextEntry(host.journal, (e) => e.event.type === 'reload' && e.event.id === 'echo' && e.event.outcome === 'success', 10_000, 'the new symlinked plugin')
    await symlink(join(elsewhere, 'echo.mjs'), join(dirs.plugins, 'echo.mjs'))
    await loaded
    // The follower reads the new link after that load, asynchronously: save until it is seen (bounded).
    let n = 0
    await until(
      async () => {
        n++
        const again = nextEntry(host.journal, (e) => e.event.type === 'reload' && e.event.id === 'echo' && e.event.action === 'reload', 1000, 'a reload of echo')
        await atomicWrite(join(elsewhere, 'echo.mjs'), `export default { name: 'echo', version: '1.0.${n}', setup() { return { v: () => ${n} } } }`)
        return again.then(() => true, () => false)
      },
      10_000,
      'a reload of echo after its target changed',
    )
    expect(await host.pipeline.registry.get('echo').call('v')).toBe(n)
  })

  it('9: a repointed watched-directory symlink is followed: the new target serves, and edits in it reload', async () => {
    const dirs = await setup('hotswap-d9b-')
    const v1 = join(dirs.root, 'v1')
    const v2 = join(dirs.root, 'v2')
    await mkdir(v1)
    await mkdir(v2)
    await writeFile(join(v1, 'counter.mjs'), counterSource('1.0.0'))
    await writeFile(join(v2, 'counter.mjs'), counterSource('1.1.0'))
    const link = join(dirs.root, 'current')
    await symlink(v1, link)
    const { host } = await start(dirs, { dirs: [link] })
    expect(host.pipeline.registry.status('counter').version).toBe('1.0.0')
    const toV2 = nextEntry(host.journal, (e) => e.event.type === 'reload' && e.event.outcome === 'success' && e.event.to === '1.1.0', 10_000, 'the reload to the new target')
    // Repoint the way deploy tools do: a new link renamed over the old one.
    await symlink(v2, `${link}.tmp`)
    await rename(`${link}.tmp`, link)
    await toV2
    const edited = nextEntry(host.journal, (e) => e.event.type === 'reload' && e.event.outcome === 'success' && e.event.to === '1.1.1', 10_000, 'the reload after an edit in the new target')
    await atomicWrite(join(v2, 'counter.mjs'), counterSource('1.1.1'))
    await edited
    expect(await host.pipeline.registry.get('counter').call('get')).toMatchObject({ version: '1.1.1' })
  })

  it('10: SIGTERM while plugins are still loading is a clean stop that saves state', async () => {
    const dirs = await setup('hotswap-d10-')
    await writeFile(join(dirs.plugins, 'counter.mjs'), counterSource('1.0.0'))
    await writeFile(join(dirs.plugins, 'slow.mjs'), `export default { name: 'slow', version: '1.0.0', async setup() { await new Promise((r) => setTimeout(r, 6000)); return {} } }`)
    const handlers = new Map<string, () => void>()
    let out = ''
    const io: CliIo = {
      stdout: (s) => void (out += s),
      stderr: (s) => void (out += s),
      env: {},
      cwd: dirs.root,
      color: false,
      onSignal: (signal, handler) => {
        handlers.set(signal, handler)
        return () => handlers.delete(signal)
      },
    }
    const exit = main([dirs.plugins, '--port', '0', '--state-dir', dirs.state], io)
    // The server answers (503 STARTING) while slow.mjs is still in setup().
    await until(() => existsSync(join(dirs.state, 'host.json')), 10_000, 'the server to listen')
    const { url } = JSON.parse(await readFile(join(dirs.state, 'host.json'), 'utf8')) as { url: string }
    const token = (await readFile(join(dirs.state, 'api-token'), 'utf8')).trim()
    // The API answers while slow.mjs is still in setup(): wait for counter to be serving.
    await until(async () => {
      const res = await send(url, { path: '/api/plugins', token })
      return res.status === 200 && (res.json.plugins as { id?: string; state: string }[]).some((p) => p.id === 'counter' && p.state === 'Running')
    }, 20_000, 'counter to load')
    expect(out).not.toContain('dashboard  http') // not started yet: slow is loading
    expect(handlers.has('SIGTERM')).toBe(true)
    handlers.get('SIGTERM')!()
    expect(await exit).toBe(0)
    expect(out).toContain('stopped')
    const store = await createStateStore({ adapter: fileAdapter({ dir: join(dirs.state, 'state') }) })
    try {
      expect(await store.latest('counter')).toMatchObject({ pluginId: 'counter' })
    } finally {
      await store.close()
    }
    expect(existsSync(join(dirs.state, 'host.json'))).toBe(false)
  })

  it('11: --log-level warn prints no load lines, a .ts plugin loads from source, unknown HOTSWAP_* variables are said out loud', async () => {
    const dirs = await setup('hotswap-d11-')
    await writeFile(join(dirs.plugins, 'counter.mjs'), counterSource('1.0.0'))
    await writeFile(join(dirs.plugins, 'typed.ts'), `export default { name: 'typed', version: '1.0.0', setup() { return {} } }`)
    const { host: first, out } = await start(dirs, { logLevel: 'warn' })
    expect(out()).not.toMatch(/✓ load/)
    expect((await plugins(first)).find((p) => p.id === 'typed')).toMatchObject({ state: 'Running', alive: true })
    let err = ''
    const code = await main(['--help'], { stdout: () => undefined, stderr: (s) => void (err += s), env: { HOTSWAP_PROT: '80' }, cwd: dirs.root })
    expect(code).toBe(0)
    // --help exits before the environment is read; a real start warns:
    const handlers = new Map<string, () => void>()
    let host: Host | undefined
    const exit = main([dirs.plugins, '--port', '0', '--state-dir', join(dirs.root, 'state2')], {
      stdout: () => undefined,
      stderr: (s) => void (err += s),
      env: { HOTSWAP_PROT: '80' },
      cwd: dirs.root,
      color: false,
      onSignal: (signal, handler) => {
        handlers.set(signal, handler)
        return () => handlers.delete(signal)
      },
      onStarted: (h) => (host = h),
    })
    await until(() => host !== undefined, 10_000, 'the host to start')
    handlers.get('SIGTERM')!()
    expect(await exit).toBe(0)
    expect(err).toContain('unknown environment variable HOTSWAP_PROT (did you mean HOTSWAP_PORT?) is ignored')
  })
})

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...(await listFiles(path)))
    else out.push(path)
  }
  return out
}
