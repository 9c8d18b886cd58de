import { describe, expect, it } from 'vitest'
import { DrainTimeoutError, RegistryError } from './errors.js'
import type { RegistryEvent } from './events.js'
import { memoryStateStore } from './state-store.js'
import { createPluginRegistry } from './registry.js'
import type { PluginRegistry } from './registry-types.js'
import { counterSource, moduleSource, nextEvent, put, quiet, rejection, sandbox } from './test-support.js'
import { workerLoader } from './worker-loader.js'

type Counter = {
  increment(): number
  get(): number
  version(): string
  slow(ms: number): string
  fail(message: string): never
  previous(): string | null
  breakSave(): void
}

const t = sandbox()

/** Keeps calling increment until stopped; counts successes and failures. */
function callers(registry: PluginRegistry, n: number) {
  const handle = registry.get<Counter>('counter')
  let stop = false
  let ok = 0
  const failures: unknown[] = []
  const loops = Array.from({ length: n }, async () => {
    while (!stop) {
      try {
        await handle.call('increment')
        ok++
      } catch (error) {
        failures.push(error)
      }
    }
  })
  return {
    async stop() {
      stop = true
      await Promise.all(loops)
      return { ok, failures }
    },
  }
}


function counterWithBreakableSave(version: string): string {
  return counterSource('esm', version)
    .replace('let ready = false', 'let ready = false\nlet broken = false')
    .replace("saveState() { return { count } },", "saveState() { if (broken) throw new Error('cannot save'); return { count } },")
    .replace('previous() {', "breakSave() { broken = true },\n      fixSave() { broken = false },\n      previous() {")
}

describe('registry with the worker loader: bad versions keep the old one serving', () => {
  const bad: Array<[string, string, string]> = [
    ['a syntax error', 'export default { name: "counter", version: ', 'BUILD_FAILED'],
    ['a throw in setup (with state)', counterSource('esm', '1.0.1').replace('count = ctx.state?.count ?? 0', "throw new Error('setup broke')"), 'SETUP_FAILED'],
    ['a setup that never resolves', counterSource('esm', '1.0.1').replace('count = ctx.state?.count ?? 0', 'await new Promise(() => {})'), 'SETUP_TIMEOUT'],
    ['a synchronous infinite loop in setup', counterSource('esm', '1.0.1').replace('count = ctx.state?.count ?? 0', 'for (;;) {}'), 'SETUP_TIMEOUT'],
    ['an infinite loop at the top level', `for (;;) {}\n${counterSource('esm', '1.0.1')}`, 'SETUP_TIMEOUT'],
    ['a wrong export shape', 'export default function counter() {}', 'INVALID_PLUGIN'],
    ['a default export without setup', 'export default { name: "counter", version: "1.0.1" }', 'INVALID_PLUGIN'],
    ['a name that does not match', counterSource('esm', '1.0.1').replace("name: 'counter'", "name: 'other'"), 'INVALID_PLUGIN'],
    ['an invalid version', counterSource('esm', 'one'), 'INVALID_PLUGIN'],
    ['a state the new version rejects', counterSource('esm', '1.0.1').replace('count = ctx.state?.count ?? 0', "if (typeof ctx.state?.count !== 'string') ctx.rejectState('count must be a string')"), 'STATE_REJECTED'],
    ['a heap blow-up', counterSource('esm', '1.0.1').replace('count = ctx.state?.count ?? 0', 'const hog = []; for (;;) hog.push(new Array(100000).fill(Math.random()))'), 'WORKER_CRASHED'],
  ]

  it.each(bad)('%s', async (_label, source, code) => {
    t.registry = createPluginRegistry({ setupTimeoutMs: 1500, loadTimeoutMs: 1500, gateTimeoutMs: 5000, logger: quiet, loader: workerLoader({ resourceLimits: { maxOldGenerationSizeMb: 24 } }) })
    const path = await put(t.dir, 'counter.mjs', counterSource('esm', '1.0.0'))
    await t.registry.load(path)
    const handle = t.registry.get<Counter>('counter')
    for (let i = 0; i < 5; i++) await handle.call('increment')
    const failed = nextEvent(t.registry.events$, 'failed')
    const load = callers(t.registry, 3)
    await put(t.dir, 'counter.mjs', source)
    const error = await rejection(t.registry.reload('counter'))
    const { ok, failures } = await load.stop()
    expect(error).toBeInstanceOf(RegistryError)
    expect(error.code).toBe(code)
    expect(failures).toEqual([])
    expect(ok).toBeGreaterThan(0)
    expect(await handle.call('get')).toBe(5 + ok)
    expect(await handle.call('version')).toBe('1.0.0')
    const event = await failed
    expect(event.error.code).toBe(code)
    expect(event.serving).toBe('1.0.0')
    const status = t.registry.status('counter')
    expect(status).toMatchObject({ state: 'Failed', version: '1.0.0', failedReloads: 1, alive: true })
    expect(status.lastError?.code).toBe(code)
    // a fixed version reloads and takes the state over
    await put(t.dir, 'counter.mjs', counterSource('esm', '1.0.2'))
    await t.registry.reload('counter')
    expect(await handle.call('get')).toBe(5 + ok)
    expect(await handle.call('version')).toBe('1.0.2')
    expect(t.registry.status('counter').state).toBe('Running')
  })

  it('a saveState that throws keeps the old version and its state', async () => {
    t.registry = createPluginRegistry({ setupTimeoutMs: 400, logger: quiet })
    const path = await put(t.dir, 'counter.mjs', counterWithBreakableSave('1.0.0'))
    await t.registry.load(path)
    const handle = t.registry.get<Counter & { fixSave(): void }>('counter')
    await handle.call('increment')
    await handle.call('breakSave')
    const load = callers(t.registry, 2)
    await put(t.dir, 'counter.mjs', counterWithBreakableSave('1.0.1'))
    const error = await rejection(t.registry.reload('counter'))
    const { ok, failures } = await load.stop()
    expect(error.code).toBe('SAVE_STATE_FAILED')
    expect(failures).toEqual([])
    expect(await handle.call('get')).toBe(1 + ok)
    expect(await handle.call('version')).toBe('1.0.0')
    await handle.call('fixSave')
    await t.registry.reload('counter')
    expect(await handle.call('version')).toBe('1.0.1')
    expect(await handle.call('get')).toBe(1 + ok)
  })

  it('a throw in setup without a state to take is SETUP_FAILED', async () => {
    t.registry = createPluginRegistry({ logger: quiet })
    const stateless = (v: string, setup: string) => moduleSource('esm', '', `name: 'greeter', version: '${v}', setup() { ${setup}; return { greet: (w) => 'hello ' + w } },`)
    const path = await put(t.dir, 'greeter.mjs', stateless('1.0.0', ''))
    await t.registry.load(path)
    await put(t.dir, 'greeter.mjs', stateless('1.1.0', "throw new Error('nope')"))
    const error = await rejection(t.registry.reload(path))
    expect(error.code).toBe('SETUP_FAILED')
    expect(await t.registry.get('greeter').call('greet', 'bob')).toBe('hello bob')
  })
})

describe('registry with the worker loader', () => {
  it('loses no call and no update: 4 callers, 10,000 increments or more, 50 reloads', async () => {
    t.registry = createPluginRegistry({ logger: quiet })
    const path = await put(t.dir, 'counter.mjs', counterSource('esm', '1.0.0'))
    await t.registry.load(path)
    const handle = t.registry.get<Counter>('counter')
    let reloads = 0
    let reloading = false
    let overlapped = 0 // calls started while the current reload ran
    const overlaps: number[] = [] // per reload
    const seen: number[] = []
    const failures: unknown[] = []
    // each caller makes at least 2,500 calls and keeps calling until the last reload is done
    const caller = async () => {
      for (let i = 0; i < 2500 || reloads < 50; i++) {
        if (reloading) overlapped++
        try {
          seen.push(await handle.call('increment'))
        } catch (error) {
          failures.push(error)
        }
        // spread the calls over the reloads while they run
        if (reloads < 50) await new Promise((r) => setTimeout(r, 1))
      }
    }
    const reloader = async () => {
      for (let v = 1; v <= 50; v++) {
        await put(t.dir, 'counter.mjs', counterSource('esm', `1.0.${v}`))
        overlapped = 0
        reloading = true
        await t.registry!.reload('counter')
        reloading = false
        overlaps.push(overlapped)
        reloads++
      }
    }
    await Promise.all([caller(), caller(), caller(), caller(), reloader()])
    expect(failures).toEqual([])
    expect(reloads).toBe(50)
    // the calls really ran across the reloads: nearly every reload had calls arriving while it
    // ran (a count of calls would depend on how fast a reload is on this machine and Node line)
    expect(overlaps.filter((n) => n > 0).length, `calls started during each reload: ${overlaps.join(' ')}`).toBeGreaterThanOrEqual(45)
    const total = seen.length
    expect(total).toBeGreaterThanOrEqual(10_000)
    expect(await handle.call('get')).toBe(total)
    expect(new Set(seen).size).toBe(total)
    expect(Math.max(...seen)).toBe(total)
    expect(await handle.call('version')).toBe('1.0.50')
    expect(t.registry.status('counter').reloadCount).toBe(50)
  }, 60_000)

  it('drain: a call past drainTimeoutMs gets DrainTimeoutError, a shorter one finishes on the old version', async () => {
    t.registry = createPluginRegistry({ drainTimeoutMs: 300, keepPrevious: false, logger: quiet })
    const path = await put(t.dir, 'counter.mjs', counterSource('esm', '1.0.0'))
    await t.registry.load(path)
    const handle = t.registry.get<Counter>('counter')
    const long = rejection(handle.call('slow', 5000))
    const short = handle.call('slow', 50)
    await new Promise((r) => setImmediate(r))
    expect(t.registry.status('counter').inFlight).toBe(2)
    const reloaded = nextEvent(t.registry.events$, 'reloaded')
    await put(t.dir, 'counter.mjs', counterSource('esm', '1.0.1'))
    await t.registry.reload('counter')
    expect(await short).toBe('1.0.0')
    const error = await long
    expect(error).toBeInstanceOf(DrainTimeoutError)
    expect(error.code).toBe('DRAIN_TIMEOUT')
    const event = await reloaded
    expect(event.cancelledCalls).toBe(1)
    expect(event.phases.drainMs).toBeGreaterThanOrEqual(250)
    expect(await handle.call('slow', 1)).toBe('1.0.1')
  })

  it('a call that throws inside the plugin rejects with that error and leaves the plugin up', async () => {
    t.registry = createPluginRegistry({ logger: quiet })
    await t.registry.load(await put(t.dir, 'counter.mjs', counterSource('esm', '1.0.0')))
    const handle = t.registry.get<Counter>('counter')
    const error = (await rejection(handle.call('fail', 'boom'))) as unknown as Error & { code: string }
    expect(error).toBeInstanceOf(Error)
    expect(error.name).toBe('TypeError')
    expect(error.message).toBe('boom')
    expect(error.code).toBe('E_PLUGIN')
    expect(await handle.api.increment()).toBe(1)
    expect(t.registry.status('counter').state).toBe('Running')
    expect((await rejection(handle.call('nope' as 'get'))).code).toBe('UNKNOWN_METHOD')
  })

  it('a worker crash rejects calls in flight with WORKER_CRASHED, the host survives, reload() recovers the saved state', async () => {
    t.registry = createPluginRegistry({ logger: quiet })
    const crashy = (v: string) => counterSource('esm', v, `dispose() {},`).replace('previous() {', 'crash() { setTimeout(() => { throw new Error("kaboom") }, 5) },\n      previous() {')
    const path = await put(t.dir, 'counter.mjs', crashy('1.0.0'))
    await t.registry.load(path)
    const handle = t.registry.get<Counter & { crash(): void }>('counter')
    await handle.call('increment')
    await put(t.dir, 'counter.mjs', crashy('1.0.1'))
    await t.registry.reload('counter') // the state { count: 1 } is now in the store
    await handle.call('increment')
    const failed = nextEvent(t.registry.events$, 'failed')
    const inFlight = rejection(handle.call('slow', 2000))
    await handle.call('crash')
    const error = await inFlight
    expect(error.code).toBe('WORKER_CRASHED')
    expect((await failed).phase).toBe('runtime')
    expect(t.registry.status('counter')).toMatchObject({ state: 'Failed', alive: false })
    expect((await rejection(handle.call('get'))).code).toBe('WORKER_CRASHED')
    await t.registry.reload('counter')
    expect(await handle.call('get')).toBe(1)
    expect(t.registry.status('counter')).toMatchObject({ state: 'Running', alive: true })
  })

  it('a call past callTimeoutMs rejects with CALL_TIMEOUT and the stuck worker is terminated', async () => {
    t.registry = createPluginRegistry({ callTimeoutMs: 200, logger: quiet })
    const looping = counterSource('esm', '1.0.0').replace('previous() {', 'spin() { for (;;) {} },\n      previous() {')
    await t.registry.load(await put(t.dir, 'counter.mjs', looping))
    const handle = t.registry.get<Counter & { spin(): void }>('counter')
    const error = await rejection(handle.call('spin'))
    expect(error.code).toBe('CALL_TIMEOUT')
    expect(t.registry.status('counter').alive).toBe(false)
  })

  it('rollback switches back to the kept previous version and its state', async () => {
    t.registry = createPluginRegistry({ logger: quiet })
    const path = await put(t.dir, 'counter.mjs', counterSource('esm', '1.0.0'))
    await t.registry.load(path)
    const handle = t.registry.get<Counter>('counter')
    for (let i = 0; i < 3; i++) await handle.call('increment')
    await put(t.dir, 'counter.mjs', counterSource('esm', '1.1.0'))
    await t.registry.reload('counter')
    expect(t.registry.status('counter').previousVersion).toBe('1.0.0')
    expect(await handle.call('previous')).toBe('1.0.0')
    await handle.call('increment')
    const rolled = nextEvent(t.registry.events$, 'rolledBack')
    await t.registry.rollback('counter')
    expect(await rolled).toMatchObject({ from: '1.1.0', to: '1.0.0' })
    expect(await handle.call('version')).toBe('1.0.0')
    expect(await handle.call('get')).toBe(3)
    expect((await rejection(t.registry.rollback('counter'))).code).toBe('NO_PREVIOUS')
  })

  it('migrates the state when the major changes, and refuses it without migrateState', async () => {
    const store = memoryStateStore()
    t.registry = createPluginRegistry({ logger: quiet, stateStore: store })
    const path = await put(t.dir, 'counter.mjs', counterSource('esm', '1.0.0'))
    await t.registry.load(path)
    const handle = t.registry.get<Counter>('counter')
    await handle.call('increment')
    await handle.call('increment')
    await put(t.dir, 'counter.mjs', counterSource('esm', '2.0.0'))
    expect((await rejection(t.registry.reload('counter'))).code).toBe('STATE_REJECTED')
    expect(await handle.call('version')).toBe('1.0.0')
    await put(
      t.dir,
      'counter.mjs',
      counterSource('esm', '2.0.0', `migrateState(data, from) { if (from !== '1.0.0') throw new Error(from); return { count: data.count * 100 } },`),
    )
    await t.registry.reload('counter')
    expect(await handle.call('get')).toBe(200)
    expect(await store.latest('counter')).toMatchObject({ pluginId: 'counter', pluginVersion: '1.0.0', schemaVersion: 1, data: { count: 2 } })
  })

  it('emits typed events and reports status; unload saves the state and load restores it', async () => {
    t.registry = createPluginRegistry({ logger: quiet })
    const events: RegistryEvent[] = []
    t.registry.events$.subscribe((e) => events.push(e))
    const path = await put(t.dir, 'counter.mjs', counterSource('esm', '1.0.0'))
    const loaded = await t.registry.load(path)
    expect(loaded).toMatchObject({ id: 'counter', version: '1.0.0', state: 'Running', path, loader: 'worker', reloadCount: 0, inFlight: 0 })
    expect(loaded.hash).toMatch(/^[0-9a-f]{16}$/)
    expect((await rejection(t.registry.load(path))).code).toBe('ALREADY_LOADED')
    await t.registry.get<Counter>('counter').call('increment')
    await put(t.dir, 'counter.mjs', counterSource('esm', '1.0.1'))
    await t.registry.reload(path)
    const reloaded = events.find((e) => e.type === 'reloaded')
    expect(reloaded).toMatchObject({ type: 'reloaded', id: 'counter', from: '1.0.0', to: '1.0.1', cancelledCalls: 0 })
    if (reloaded?.type === 'reloaded') {
      for (const ms of Object.values(reloaded.phases)) expect(ms).toBeGreaterThanOrEqual(0)
    }
    expect(t.registry.list().map((s) => s.id)).toEqual(['counter'])
    const handle = t.registry.get<Counter>('counter')
    await t.registry.unload('counter')
    expect(t.registry.has('counter')).toBe(false)
    expect((await rejection(handle.call('get'))).code).toBe('NOT_FOUND')
    expect(() => t.registry!.status('counter')).toThrow(/no plugin/)
    await t.registry.load(path)
    expect(await handle.call('get')).toBe(1)
    expect(events.map((e) => e.type).filter((t) => t !== 'log')).toEqual(['loading', 'loaded', 'reloading', 'reloaded', 'unloaded', 'loading', 'loaded'])
    await t.registry.close()
    expect((await rejection(handle.call('get'))).code).toBe('CLOSED')
    expect(() => t.registry!.get('counter')).toThrow(/closed/)
  })

  it('loads a directory plugin (package.json main, relative requires) and reloads it on a change to any file', async () => {
    t.registry = createPluginRegistry({ logger: quiet })
    const { mkdir } = await import('node:fs/promises')
    const pdir = `${t.dir}/greeter`
    await mkdir(`${pdir}/lib`, { recursive: true })
    await put(pdir, 'package.json', JSON.stringify({ name: 'greeter', version: '1.0.0', main: 'lib/main.cjs' }))
    await put(pdir, 'lib/words.cjs', `module.exports = { hello: 'hello' }`)
    await put(pdir, 'lib/main.cjs', `const words = require('./words.cjs')\nmodule.exports = { name: 'greeter', version: '1.0.0', setup() { return { greet: (w) => words.hello + ' ' + w } } }`)
    await t.registry.load(pdir)
    const handle = t.registry.get('greeter')
    expect(await handle.call('greet', 'bob')).toBe('hello bob')
    const before = t.registry.status('greeter').hash
    await put(pdir, 'lib/words.cjs', `module.exports = { hello: 'hi' }`)
    await t.registry.reload(pdir)
    expect(await handle.call('greet', 'bob')).toBe('hi bob')
    expect(t.registry.status('greeter').hash).not.toBe(before)
  })

  it('plugin logs reach events$ and reload() of an unknown path loads it, of an unknown id is NOT_FOUND', async () => {
    t.registry = createPluginRegistry({ logger: quiet })
    const path = await put(t.dir, 'talker.cjs', moduleSource('cjs', '', `name: 'talker', version: '1.0.0', setup(ctx) { ctx.log.info('ready', 42); return {} },`))
    const log = nextEvent(t.registry.events$, 'log')
    await t.registry.reload(path)
    expect(await log).toMatchObject({ level: 'info', message: '[talker@1.0.0] ready 42' })
    expect((await rejection(t.registry.reload('nobody'))).code).toBe('NOT_FOUND')
    expect((await rejection(t.registry.load(`${t.dir}/missing.mjs`))).code).toBe('READ_FAILED')
  })
})

describe('relocate', () => {
  it('moves a plugin to its renamed file without touching the serving version, and later reloads read the new path', async () => {
    const fs = await import('node:fs/promises')
    const path = await import('node:path')
    t.registry = createPluginRegistry({ loader: workerLoader(), logger: quiet })
    const oldPath = await put(t.dir, 'counter.mjs', counterSource('esm', '1.0.0'))
    await t.registry.load(oldPath)
    const counter = t.registry.get<Counter>('counter')
    await counter.call('increment')
    const events: RegistryEvent['type'][] = []
    const sub = t.registry.events$.subscribe((e) => events.push(e.type))
    const newPath = path.join(t.dir, 'renamed.mjs')
    await fs.rename(oldPath, newPath)
    const moved = await t.registry.relocate('counter', newPath)
    expect(moved).toMatchObject({ path: newPath, version: '1.0.0', state: 'Running' })
    expect(events).toEqual([]) // no reload, no unload
    expect(await counter.call('get')).toBe(1)
    await put(t.dir, 'renamed.mjs', counterSource('esm', '1.1.0'))
    expect(await t.registry.reload(newPath)).toMatchObject({ version: '1.1.0', path: newPath })
    expect(await counter.call('get')).toBe(1)
    sub.unsubscribe()

    const otherPath = await put(t.dir, 'other.mjs', counterSource('esm', '1.0.0').replace("name: 'counter'", "name: 'other'"))
    await t.registry.load(otherPath)
    expect((await rejection(t.registry.relocate('counter', otherPath))).code).toBe('ALREADY_LOADED')
    expect((await rejection(t.registry.relocate('nope', newPath))).code).toBe('NOT_FOUND')
  })
})
