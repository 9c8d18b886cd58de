import { describe, expect, it } from 'vitest'
import { mkdir, rename, unlink, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createReloadPipeline, Policy, type ReloadPipeline, type ReloadPipelineOptions, type ReloadResult } from './index.js'
import { atomicWrite, collect, counterPlugin, isReload, nextEvent, until, usePipeline } from './test-support/harness.js'

type CounterApi = { inc(): number; get(): { version: string; count: number } }
const fixture = usePipeline()

const start = (extra: Partial<ReloadPipelineOptions> = {}): ReloadPipeline => fixture.start(extra)

describe('createReloadPipeline', () => {
  it('loads what exists, reloads an edit with its state kept, and ignores touch and same-bytes rewrites', async () => {
    const file = join(fixture.dirs.plugins, 'counter.mjs')
    await writeFile(file, counterPlugin('counter', '1.0.0'))
    const p = start()
    await p.ready
    const counter = p.registry.get<CounterApi>('counter')
    for (let i = 0; i < 3; i++) await counter.call('inc')
    const log = collect(p.events$)

    const reloaded = nextEvent(p.events$, (e) => isReload(e) && e.action === 'reload')
    await writeFile(file, counterPlugin('counter', '1.1.0'))
    const result = (await reloaded) as ReloadResult
    expect(result).toMatchObject({ outcome: 'success', id: 'counter', from: '1.0.0', to: '1.1.0', cause: 'change' })
    expect(result.hashBefore).not.toBe(result.hashAfter)
    expect(result.changes.length).toBeGreaterThan(0)
    expect(await counter.call('get')).toEqual({ version: '1.1.0', count: 3 })

    // touch and an identical rewrite: skipped as unchanged, never reloaded
    const skipped = nextEvent(p.events$, (e) => e.type === 'skipped' && e.reason === 'unchanged')
    const t = Date.now() / 1000 + 3
    await utimes(file, t, t)
    await skipped
    const skipped2 = nextEvent(p.events$, (e) => e.type === 'skipped' && e.reason === 'unchanged')
    await writeFile(file, counterPlugin('counter', '1.1.0'))
    await skipped2
    expect(log.events.filter((e) => isReload(e) && e.action === 'reload')).toHaveLength(1)
    log.stop()
  })

  it('loads a new file and unloads a deleted one', async () => {
    const p = start()
    await p.ready
    const loaded = nextEvent(p.events$, (e) => isReload(e) && e.action === 'load')
    await writeFile(join(fixture.dirs.plugins, 'fresh.mjs'), counterPlugin('fresh', '0.1.0'))
    expect(await loaded).toMatchObject({ outcome: 'success', id: 'fresh' })
    expect(p.registry.has('fresh')).toBe(true)
    const unloaded = nextEvent(p.events$, (e) => isReload(e) && e.action === 'unload')
    await unlink(join(fixture.dirs.plugins, 'fresh.mjs'))
    expect(await unloaded).toMatchObject({ outcome: 'success', id: 'fresh' })
    expect(p.registry.has('fresh')).toBe(false)
  })

  it('keeps the old version serving through a broken edit, and a fix reloads it', async () => {
    const file = join(fixture.dirs.plugins, 'counter.mjs')
    await writeFile(file, counterPlugin('counter', '1.0.0'))
    const p = start({ retry: { maxRetries: 1, backoff: { strategy: 'linear', initialMs: 20, incrementMs: 0 } } })
    await p.ready
    const counter = p.registry.get<CounterApi>('counter')
    await counter.call('inc')
    const failed = nextEvent(p.events$, (e) => isReload(e) && e.outcome === 'failed')
    await writeFile(file, 'export default { name: "counter", version: "1.0.1", setup() { throw new Error("boom") } }')
    const failure = (await failed) as ReloadResult
    // a setup() that throws on these bytes is deterministic (the registry's failureKind): reported once, not retried
    expect(failure).toMatchObject({ attempts: 1, deterministic: true })
    expect(failure.error?.message).toMatch(/boom/)
    expect(await counter.call('get')).toEqual({ version: '1.0.0', count: 1 })
    const status = p.status().plugins.find((x) => x.path === file)!
    expect(status.lastError?.message).toMatch(/boom/)

    const fixed = nextEvent(p.events$, (e) => isReload(e) && e.outcome === 'success')
    await writeFile(file, counterPlugin('counter', '1.0.2'))
    expect(await fixed).toMatchObject({ to: '1.0.2' })
    expect(await counter.call('get')).toEqual({ version: '1.0.2', count: 1 })
  })

  it('reloads an atomic save exactly once', async () => {
    const file = join(fixture.dirs.plugins, 'counter.mjs')
    await writeFile(file, counterPlugin('counter', '1.0.0'))
    const p = start()
    await p.ready
    const log = collect(p.events$)
    const reloaded = nextEvent(p.events$, (e) => isReload(e) && e.action === 'reload')
    await atomicWrite(file, counterPlugin('counter', '1.5.0'))
    expect(await reloaded).toMatchObject({ outcome: 'success', to: '1.5.0', attempts: 1 })
    await new Promise((r) => setTimeout(r, 300))
    expect(log.events.filter(isReload).map((e) => `${e.action}:${e.outcome}`)).toEqual(['reload:success'])
    log.stop()
  })

  it('loads a directory plugin moved in as a prepared tree and reloads it on a deep edit', async () => {
    const p = start()
    await p.ready
    const outside = join(fixture.dirs.root, 'prepared')
    await mkdir(join(outside, 'lib', 'deep'), { recursive: true })
    await writeFile(join(outside, 'package.json'), JSON.stringify({ name: 'dirplug', version: '1.0.0', main: 'index.mjs', type: 'module' }))
    await writeFile(join(outside, 'lib', 'deep', 'value.mjs'), 'export const value = 1\n')
    await writeFile(
      join(outside, 'index.mjs'),
      `import { value } from './lib/deep/value.mjs'\nexport default { name: 'dirplug', version: '1.0.0', setup() { return { value: () => value } } }\n`,
    )
    const loaded = nextEvent(p.events$, (e) => isReload(e) && e.action === 'load' && e.outcome === 'success')
    await rename(outside, join(fixture.dirs.plugins, 'dirplug'))
    expect(await loaded).toMatchObject({ id: 'dirplug' })
    expect(await p.registry.get<{ value(): number }>('dirplug').call('value')).toBe(1)
    const reloaded = nextEvent(p.events$, (e) => isReload(e) && e.action === 'reload' && e.outcome === 'success')
    await writeFile(join(fixture.dirs.plugins, 'dirplug', 'lib', 'deep', 'value.mjs'), 'export const value = 2\n')
    await reloaded
    expect(await p.registry.get<{ value(): number }>('dirplug').call('value')).toBe(2)
  })

  it('holds changes under OnSignal until trigger(), and under Disabled shows them as pending', async () => {
    const file = join(fixture.dirs.plugins, 'counter.mjs')
    await writeFile(file, counterPlugin('counter', '1.0.0'))
    const p = start({ policy: Policy.OnSignal })
    await p.ready
    const pending = nextEvent(p.events$, (e) => e.type === 'pending')
    await writeFile(file, counterPlugin('counter', '1.1.0'))
    await pending
    expect(p.status().plugins[0]!.pending?.length).toBeGreaterThan(0)
    expect((await p.registry.get<CounterApi>('counter').call('get')).version).toBe('1.0.0')
    await p.trigger()
    expect((await p.registry.get<CounterApi>('counter').call('get')).version).toBe('1.1.0')

    p.setPolicy(Policy.Disabled)
    const pending2 = nextEvent(p.events$, (e) => e.type === 'pending')
    await writeFile(file, counterPlugin('counter', '1.2.0'))
    await pending2
    expect((await p.registry.get<CounterApi>('counter').call('get')).version).toBe('1.1.0')
    const applied = nextEvent(p.events$, (e) => isReload(e) && e.outcome === 'success')
    p.setPolicy(Policy.OnChange)
    expect(await applied).toMatchObject({ to: '1.2.0', cause: 'enable' })
  })

  it('applies pending changes on a schedule under Scheduled', async () => {
    const file = join(fixture.dirs.plugins, 'counter.mjs')
    await writeFile(file, counterPlugin('counter', '1.0.0'))
    const p = start({ policy: Policy.Scheduled(300) })
    await p.ready
    const applied = nextEvent(p.events$, (e) => isReload(e) && e.outcome === 'success')
    await writeFile(file, counterPlugin('counter', '1.1.0'))
    expect(await applied).toMatchObject({ cause: 'schedule', to: '1.1.0' })
  })

  it('disable() notes changes as pending and enable() applies them', async () => {
    const file = join(fixture.dirs.plugins, 'counter.mjs')
    await writeFile(file, counterPlugin('counter', '1.0.0'))
    const p = start()
    await p.ready
    p.disable()
    const pending = nextEvent(p.events$, (e) => e.type === 'pending')
    await writeFile(file, counterPlugin('counter', '1.1.0'))
    expect(await pending).toMatchObject({ enabled: false })
    const applied = nextEvent(p.events$, (e) => isReload(e) && e.outcome === 'success')
    p.enable()
    expect(await applied).toMatchObject({ to: '1.1.0' })
    expect(p.status().enabled).toBe(true)
  })

  it('retries a transient failure, stops at an open breaker, and lets the next change through', async () => {
    const file = join(fixture.dirs.plugins, 'counter.mjs')
    await writeFile(file, counterPlugin('counter', '1.0.0'))
    const p = start({
      retry: { maxRetries: 5, backoff: { strategy: 'linear', initialMs: 10, incrementMs: 0 } },
      breaker: { failureThreshold: 2, resetAfterMs: 60_000 },
      registryOptions: { setupTimeoutMs: 300 },
    })
    await p.ready
    const failed = nextEvent(p.events$, (e) => isReload(e) && e.outcome === 'failed')
    // a setup() that never ends: SETUP_TIMEOUT, transient, so it is retried
    await writeFile(file, 'export default { name: "counter", version: "1.9.9", setup() { return new Promise(() => {}) } }')
    const failure = (await failed) as ReloadResult
    expect(failure).toMatchObject({ deterministic: false })
    expect(failure.attempts).toBe(2) // the breaker opened after two failures and refused the rest
    await until(() => p.status().plugins[0]!.breaker === 'open', 2000, 'breaker open')
    const fixed = nextEvent(p.events$, (e) => isReload(e) && e.outcome === 'success')
    await writeFile(file, counterPlugin('counter', '1.0.1'))
    expect(await fixed).toMatchObject({ to: '1.0.1' })
  })

  it('restores persisted state after a restart and leaves no handle open on close', async () => {
    const file = join(fixture.dirs.plugins, 'counter.mjs')
    await writeFile(file, counterPlugin('counter', '1.0.0'))
    const p = start()
    await p.ready
    for (let i = 0; i < 5; i++) await p.registry.get<CounterApi>('counter').call('inc')
    await p.close()
    const again = start()
    await again.ready
    expect(await again.registry.get<CounterApi>('counter').call('get')).toEqual({ version: '1.0.0', count: 5 })
  })

  it('keeps a renamed plugin serving with its state: no unload/load flap, and edits to the new name reload it', async () => {
    const file = join(fixture.dirs.plugins, 'counter.mjs')
    await writeFile(file, counterPlugin('counter', '1.0.0'))
    const p = start()
    await p.ready
    const counter = p.registry.get<CounterApi>('counter')
    await counter.call('inc')
    await counter.call('inc')
    const log = collect(p.events$)
    const renamedTo = join(fixture.dirs.plugins, 'counter-renamed.mjs')
    const renamed = nextEvent(p.events$, (e) => e.type === 'renamed')
    await rename(file, renamedTo)
    expect(await renamed).toMatchObject({ id: 'counter', from: file, to: renamedTo })
    await new Promise((r) => setTimeout(r, 300))
    expect(log.events.filter(isReload)).toEqual([])
    expect(p.registry.status('counter').path).toBe(renamedTo)
    expect(await counter.call('get')).toEqual({ version: '1.0.0', count: 2 })
    const reloaded = nextEvent(p.events$, (e) => isReload(e) && e.outcome === 'success')
    await writeFile(renamedTo, counterPlugin('counter', '1.0.1'))
    expect(await reloaded).toMatchObject({ path: renamedTo, action: 'reload', to: '1.0.1' })
    expect(await counter.call('get')).toEqual({ version: '1.0.1', count: 2 })
    log.stop()
  })

  it('rejects bad options with typed errors', () => {
    expect(() => createReloadPipeline({ dirs: [] })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
    expect(() => createReloadPipeline({ dirs: ['x'], concurrency: 0 })).toThrow(/concurrency/)
    expect(() => createReloadPipeline({ dirs: ['x'], policy: { kind: 'Sometimes' } as never })).toThrow(/unknown reload policy/)
  })
})
