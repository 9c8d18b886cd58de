// What a hostile or careless plugin can do to the host through the worker loader (issue 13):
// each case fails on a registry without the private channel, the limits and the budgets.
import { readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { filter, firstValueFrom, timeout, toArray, takeUntil, timer } from 'rxjs'
import { describe, expect, it } from 'vitest'
import type { LogEvent, RegistryEvent } from './events.js'
import { createPluginRegistry } from './registry.js'
import { counterSource, moduleSource, nextEvent, put, quiet, rejection, sandbox } from './test-support.js'
import { workerLoader } from './worker-loader.js'

type Counter = { increment(): number; get(): number; version(): string }

const t = sandbox()

/** The counter plugin with a `loop()` method that never returns. */
function looping(version: string): string {
  return counterSource('esm', version).replace('get() { return count },', 'get() { return count },\n      loop() { for (;;) {} },')
}

const FORGED = ['null', "'ready'", "{ log: 'fatal' }", '{ id: 1, ok: false, error: null }', '{ id: 2, ok: true, value: 1 }']

function forger(message: string): string {
  return moduleSource(
    'esm',
    `import { parentPort } from 'node:worker_threads'\nparentPort.postMessage(${message})`,
    `name: 'forger', version: '1.0.0',
     setup() { parentPort.postMessage(${message}); return { post() { for (let id = 1; id < 20; id++) parentPort.postMessage(${message}); return 'posted' }, ping: () => 'pong' } },`,
  )
}

describe('messages a plugin posts on parentPort', () => {
  it.each(FORGED)('%s: the host survives, the message is ignored with a warning, the plugin keeps serving', async (message) => {
    t.registry = createPluginRegistry({ logger: quiet })
    const logs: LogEvent[] = []
    t.registry.events$.pipe(filter((e): e is LogEvent => e.type === 'log')).subscribe((e) => logs.push(e))
    const warned = firstValueFrom(t.registry.events$.pipe(filter((e): e is LogEvent => e.type === 'log' && /posted a message on parentPort/.test(e.message)), timeout(10_000)))
    await t.registry.load(await put(t.dir, 'forger.mjs', forger(message)))
    const handle = t.registry.get<{ post(): string; ping(): string }>('forger')
    expect(await handle.call('post')).toBe('posted')
    expect(await handle.call('ping')).toBe('pong')
    expect(t.registry.status('forger')).toMatchObject({ state: 'Running', alive: true })
    expect((await warned).message).toMatch(/\(worker\) posted a message on parentPort; the host ignores it/)
    await handle.call('post')
    expect(logs.filter((l) => /posted a message on parentPort/.test(l.message))).toHaveLength(1)
  })

  it('plugin code finds no protocol port: not in workerData, not through handles, async resources, the inspector or a patched prototype', async () => {
    t.registry = createPluginRegistry({ logger: quiet })
    const source = moduleSource(
      'esm',
      `import wt from 'node:worker_threads'
import ah from 'node:async_hooks'
import inspector from 'node:inspector'
let captured = 0
const post = wt.MessagePort.prototype.postMessage
wt.MessagePort.prototype.postMessage = function (...a) { if (this !== wt.parentPort) captured++; return post.apply(this, a) }
const found = []
const seen = new Set()
function walk(o, path, depth) {
  if (o === null || (typeof o !== 'object' && typeof o !== 'function') || seen.has(o) || depth > 5) return
  seen.add(o)
  if (o instanceof wt.MessagePort && o !== wt.parentPort) found.push(path)
  // a getter read on the wrong receiver may answer with a rejected promise (web streams' closed): not ours to crash on
  for (const k of Reflect.ownKeys(o)) { let v; try { v = o[k] } catch { continue } if (v instanceof Promise) v.catch(() => {}); walk(v, path + '.' + String(k), depth + 1) }
}`,
      `name: 'probe', version: '1.0.0',
       setup() { return {
         probe() {
           walk(process, 'process', 0); walk(globalThis, 'globalThis', 0); walk(wt, 'worker_threads', 0)
           let inspectorRefused = false
           try { new inspector.Session().connect() } catch { inspectorRefused = true }
           const ear = ah.executionAsyncResource()
           return new Promise((resolve) => process.stdout.write('x\\n', () => resolve({
             workerData: Object.keys(wt.workerData ?? {}),
             activeHandles: typeof process._getActiveHandles,
             earIsPort: ear instanceof wt.MessagePort || ah.executionAsyncResource() instanceof wt.MessagePort,
             inspectorRefused,
             captured,
             found,
           })))
         },
       } },`,
    )
    await t.registry.load(await put(t.dir, 'probe.mjs', source))
    expect(await t.registry.get('probe').call('probe')).toEqual({
      workerData: [],
      activeHandles: 'undefined',
      earIsPort: false,
      inspectorRefused: true,
      captured: 0,
      found: [],
    })
  })
})

describe('a call that never returns', () => {
  it('times out, terminates the worker, and the next reload starts from the last stored snapshot and says what was lost', async () => {
    t.registry = createPluginRegistry({ logger: quiet, callTimeoutMs: 500 })
    const path = await put(t.dir, 'counter.mjs', looping('1.0.0'))
    await t.registry.load(path)
    const handle = t.registry.get<Counter & { loop(): never }>('counter')
    for (let i = 0; i < 3; i++) await handle.call('increment')
    await put(t.dir, 'counter.mjs', looping('1.0.1'))
    await t.registry.reload('counter') // the store now holds { count: 3 } from 1.0.0
    for (let i = 0; i < 2; i++) await handle.call('increment') // 5 in memory, never saved
    const stuck = rejection(handle.call('loop'))
    const other = rejection(t.registry.get('counter').call('slow', 60_000))
    expect((await stuck).code).toBe('CALL_TIMEOUT')
    expect((await other).code).toBe('WORKER_CRASHED')
    expect((await rejection(handle.call('get'))).code).toBe('WORKER_CRASHED')
    expect(t.registry.status('counter')).toMatchObject({ alive: false, state: 'Failed' })
    const lost = nextEvent(t.registry.events$, 'stateLost')
    const warned = firstValueFrom(t.registry.events$.pipe(filter((e): e is LogEvent => e.type === 'log' && /state of 1\.0\.1 since its last saved snapshot is lost/.test(e.message)), timeout(10_000)))
    await put(t.dir, 'counter.mjs', counterSource('esm', '1.0.2'))
    await t.registry.reload('counter')
    expect(await handle.call('get')).toBe(3)
    expect(await handle.call('version')).toBe('1.0.2')
    expect(await lost).toMatchObject({ id: 'counter', version: '1.0.1', restoredFrom: { version: '1.0.0' } })
    expect((await lost).reason).toMatch(/timed out/)
    expect((await warned).message).toMatch(/1\.0\.2 starts from the snapshot of 1\.0\.0/)
  })

  it('close() with a call looping in a plugin ends within the drain, saveState and dispose limits', async () => {
    t.registry = createPluginRegistry({ logger: quiet, callTimeoutMs: Infinity, drainTimeoutMs: 200, saveStateTimeoutMs: 300, disposeTimeoutMs: 300 })
    await t.registry.load(await put(t.dir, 'counter.mjs', looping('1.0.0')))
    const stuck = rejection(t.registry.get('counter').call('loop'))
    await new Promise((r) => setTimeout(r, 50))
    const closed = t.registry.close()
    const outcome = await Promise.race([closed.then(() => 'closed'), new Promise((r) => setTimeout(() => r('still closing after 8 s'), 8000))])
    expect(outcome).toBe('closed')
    expect((await stuck).code).toBe('DRAIN_TIMEOUT')
  })
})

describe('output floods', () => {
  it('a plugin printing in a tight loop gets a bounded share of the log, the rest counted as dropped; another plugin keeps serving', async () => {
    t.registry = createPluginRegistry({ logger: quiet, loader: workerLoader({ output: { linesPerSecond: 50 } }) })
    const events: RegistryEvent[] = []
    t.registry.events$.subscribe((e) => events.push(e))
    const flooder = moduleSource('esm', '', `name: 'flooder', version: '1.0.0', setup(ctx) { return { flood(ms) { const end = Date.now() + ms; let n = 0; while (Date.now() < end) { console.log('line ' + n++); if (n % 3 === 0) console.error('err ' + n); if (n % 5 === 0) ctx.log.info('log ' + n) } return n } } },`)
    await t.registry.load(await put(t.dir, 'flooder.mjs', flooder))
    await t.registry.load(await put(t.dir, 'counter.mjs', counterSource('esm', '1.0.0')))
    const flood = t.registry.get<{ flood(ms: number): number }>('flooder').call('flood', 1500)
    const counter = t.registry.get<Counter>('counter')
    for (let i = 1; i <= 20; i++) expect(await counter.call('increment')).toBe(i)
    const written = await flood
    const dropped = firstValueFrom(t.registry.events$.pipe(filter((e): e is LogEvent => e.type === 'log' && /lines of output dropped/.test(e.message)), timeout(5000)))
    expect((await dropped).message).toMatch(/^\[flooder@1\.0\.0\] \d+ lines of output dropped \(over 50 lines\/s/)
    const passed = events.filter((e) => e.type === 'log' && e.id === 'flooder' && /\] (line|err|log) \d+$/.test(e.message))
    expect(written).toBeGreaterThan(10_000)
    expect(passed.length).toBeGreaterThan(0)
    expect(passed.length).toBeLessThanOrEqual(50 * 4)
  })
})

describe('a new version that hangs in setup', () => {
  it('holds callers for at most gateTimeoutMs: the old version resumes with its state and the reload fails with GATE_TIMEOUT', async () => {
    t.registry = createPluginRegistry({ logger: quiet, gateTimeoutMs: 300, setupTimeoutMs: 20_000 })
    const path = await put(t.dir, 'counter.mjs', counterSource('esm', '1.0.0'))
    await t.registry.load(path)
    const handle = t.registry.get<Counter>('counter')
    for (let i = 0; i < 3; i++) await handle.call('increment')
    await put(t.dir, 'counter.mjs', counterSource('esm', '1.0.1').replace('count = ctx.state?.count ?? 0', 'await new Promise(() => {})'))
    const reload = rejection(t.registry.reload('counter'))
    await new Promise((r) => setTimeout(r, 20))
    const waiting = handle.call('increment')
    const error = await reload
    expect(error.code).toBe('GATE_TIMEOUT')
    expect(error.message).toMatch(/1\.0\.0 resumed with its state/)
    expect(await waiting).toBe(4)
    expect(await handle.call('version')).toBe('1.0.0')
    expect(t.registry.status('counter')).toMatchObject({ version: '1.0.0', alive: true, state: 'Failed' })
  })
})

describe('also wrong before', () => {
  it.each([
    ['con', /reserved device name/],
    ['aux', /reserved device name/],
    ['com1.x', /reserved device name/],
    ['a.', /must not end with "\."/],
  ])('refuses the id %s at load with the reason', async (name, reason) => {
    t.registry = createPluginRegistry({ logger: quiet })
    const error = await rejection(t.registry.load(await put(t.dir, 'p.mjs', counterSource('esm', '1.0.0').replace("name: 'counter'", `name: '${name}'`))))
    expect(error.code).toBe('INVALID_PLUGIN')
    expect(error.message).toMatch(reason)
  })

  it('a value that cannot cross the worker boundary is NOT_CLONEABLE naming the method and the path; a class instance arrives as a plain object', async () => {
    t.registry = createPluginRegistry({ logger: quiet })
    const source = moduleSource('esm', 'class Point { constructor(x) { this.x = x } norm() { return this.x } }', `name: 'clone', version: '1.0.0', setup() { return {
      echo: (v) => v,
      giveFn: () => ({ ok: 1, nested: { cb: () => 1 } }),
      point: () => new Point(3),
      isPlain: (v) => Object.getPrototypeOf(v) === Object.prototype && typeof v.norm === 'undefined',
    } },`)
    await t.registry.load(await put(t.dir, 'clone.mjs', source))
    const handle = t.registry.get('clone')
    const args = await rejection(handle.call('echo', { user: { name: 'bob', callback: () => 1 } }))
    expect(args.code).toBe('NOT_CLONEABLE')
    expect(args.message).toMatch(/call "echo" .*args\[0\]\.user\.callback is a function/)
    const result = await rejection(handle.call('giveFn'))
    expect(result.code).toBe('NOT_CLONEABLE')
    expect(result.message).toMatch(/call "giveFn" .*the result\.nested\.cb is a function/)
    expect(await handle.call('point')).toEqual({ x: 3 })
    class Local {
      constructor(readonly y: number) {}
      m(): number {
        return this.y
      }
    }
    expect(await handle.call('isPlain', new Local(2))).toBe(true)
    expect(await handle.call('echo', 'still fine')).toBe('still fine')
  })

  it("a hung dispose() of a replaced version does not delay the next reload: it runs in the background, bounded, then the worker is terminated", async () => {
    t.registry = createPluginRegistry({ logger: quiet, disposeTimeoutMs: 6000, keepPrevious: false })
    const path = await put(t.dir, 'counter.mjs', counterSource('esm', '1.0.0', 'dispose() { for (;;) {} },'))
    await t.registry.load(path)
    const logs: string[] = []
    t.registry.events$.pipe(filter((e): e is LogEvent => e.type === 'log')).subscribe((e) => logs.push(e.message))
    await put(t.dir, 'counter.mjs', counterSource('esm', '1.0.1'))
    await t.registry.reload('counter') // disposes 1.0.0 in the background; it loops
    await put(t.dir, 'counter.mjs', counterSource('esm', '1.0.2'))
    await t.registry.reload('counter')
    expect(await t.registry.get<Counter>('counter').call('version')).toBe('1.0.2')
    expect(logs.some((m) => /dispose\(\) of counter@1\.0\.0/.test(m))).toBe(false)
    const done = await firstValueFrom(t.registry.events$.pipe(filter((e): e is LogEvent => e.type === 'log' && /dispose\(\) of counter@1\.0\.0/.test(e.message)), timeout(15_000)))
    expect(done.message).toMatch(/did not finish within 6000 ms; the worker was terminated/)
  }, 30_000)

  it('leaves no hotswap-warm-* directory in the temp dir', async () => {
    const before = readdirSync(tmpdir()).filter((n) => n.startsWith('hotswap-warm-')).length
    t.registry = createPluginRegistry({ logger: quiet })
    await t.registry.load(await put(t.dir, 'counter.mjs', counterSource('esm', '1.0.0')))
    await put(t.dir, 'counter.mjs', counterSource('esm', '1.0.1'))
    await t.registry.reload('counter')
    await new Promise((r) => setTimeout(r, 100)) // let the warm spare boot
    expect(readdirSync(tmpdir()).filter((n) => n.startsWith('hotswap-warm-')).length).toBe(before)
  })

  it('events$ keeps its order (sanity for the cases above)', async () => {
    t.registry = createPluginRegistry({ logger: quiet })
    const all = firstValueFrom(t.registry.events$.pipe(takeUntil(timer(3000)), toArray()))
    await t.registry.load(await put(t.dir, 'counter.mjs', counterSource('esm', '1.0.0')))
    await t.registry.close()
    expect((await all).map((e) => e.type).filter((x) => x !== 'log')).toEqual(['loading', 'loaded', 'unloaded'])
  })
})
