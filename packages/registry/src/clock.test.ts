import { VirtualTimeScheduler } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { DrainTimeoutError } from './errors.js'
import type { RegistryEvent } from './events.js'
import { inProcessLoader } from './in-process-loader.js'
import { createPluginRegistry } from './registry.js'
import { put, quiet, rejection, sandbox } from './test-support.js'
import { workerLoader } from './worker-loader.js'

const t = sandbox()
const HOUR = 3_600_000

const hanging = (version: string): string =>
  `export default { name: 'slow', version: '${version}', setup() { return { hang: () => new Promise(() => {}), version: () => '${version}' } } }`

/** Resolves once `scheduler` holds a pending action (the timer under test was scheduled), or fails after a generous wall-clock bound. */
async function scheduled(scheduler: VirtualTimeScheduler, what: string): Promise<void> {
  const deadline = Date.now() + 20_000
  while (scheduler.actions.length === 0) {
    if (Date.now() > deadline) throw new Error(`nothing was scheduled for ${what} within 20 s`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

/** Whether `promise` is still pending after the event loop turned a few times. */
async function pending(promise: Promise<unknown>): Promise<boolean> {
  let settled = false
  promise.then(
    () => (settled = true),
    () => (settled = true),
  )
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r))
  return !settled
}

describe('the registry on an injected scheduler', () => {
  it('stamps events and status with scheduler.now()', async () => {
    const scheduler = new VirtualTimeScheduler()
    scheduler.frame = 42_000
    t.registry = createPluginRegistry({ loader: inProcessLoader(), logger: quiet, scheduler })
    const events: RegistryEvent[] = []
    t.registry.events$.subscribe((e) => events.push(e))
    const status = await t.registry.load(await put(t.dir, 'slow.mjs', hanging('1.0.0')))
    expect(status.loadedAt).toBe(42_000)
    expect(events.map((e) => [e.type, e.at])).toEqual([
      ['loading', 42_000],
      ['loaded', 42_000],
    ])
  })

  it.each([
    ['in-process', () => inProcessLoader()],
    ['worker', () => workerLoader({ warmSpare: false })],
  ])('times a call out on the scheduler (%s loader): pending for an hour of wall time, rejected once virtual time passes', async (_name, loader) => {
    const scheduler = new VirtualTimeScheduler()
    t.registry = createPluginRegistry({ loader: loader(), logger: quiet, scheduler, callTimeoutMs: HOUR })
    await t.registry.load(await put(t.dir, 'slow.mjs', hanging('1.0.0')))
    const call = t.registry.get('slow').call('hang')
    await scheduled(scheduler, 'the call timeout')
    expect(await pending(call)).toBe(true)
    scheduler.flush()
    expect((await rejection(call)).code).toBe('CALL_TIMEOUT')
  })

  it('bounds the drain of a reload on the scheduler: the call in flight is cancelled when virtual time passes drainTimeoutMs', async () => {
    const scheduler = new VirtualTimeScheduler()
    t.registry = createPluginRegistry({ loader: inProcessLoader(), logger: quiet, scheduler, callTimeoutMs: Infinity, drainTimeoutMs: HOUR })
    const path = await put(t.dir, 'slow.mjs', hanging('1.0.0'))
    await t.registry.load(path)
    const call = t.registry.get('slow').call('hang')
    await put(t.dir, 'slow.mjs', hanging('1.0.1'))
    const reload = t.registry.reload('slow')
    await scheduled(scheduler, 'the drain bound')
    expect(await pending(reload)).toBe(true)
    scheduler.flush()
    const error = await rejection(call)
    expect(error).toBeInstanceOf(DrainTimeoutError)
    const status = await reload
    expect(status.version).toBe('1.0.1')
    expect(await t.registry.get('slow').call('version')).toBe('1.0.1')
  })
})
