// Losing a pool worker: a tenant stuck in a loop, one that blows the heap, one that crashes it.
// Its co-tenants are restored on a healthy worker from their last snapshot without anyone
// asking; their calls that never reached them run there, those that did fail with WORKER_LOST;
// the tenant to blame stays Failed.
import { execFileSync } from 'node:child_process'
import { closeSync, constants, openSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { firstValueFrom } from 'rxjs'
import { filter, take, timeout, toArray } from 'rxjs/operators'
import { poolLoader } from './pool-loader.js'
import type { PoolLoaderOptions } from './pool-loader.js'
import { createPluginRegistry } from './registry.js'
import type { PluginRegistry, RegistryOptions } from './registry-types.js'
import { memoryStateStore } from './state-store.js'
import type { RegistryEvent } from './events.js'
import { WorkerLostError } from './worker-lost.js'
import { abandonedThreads } from './worker-end.js'
import { put, quiet, rejection, sandbox, until } from './test-support.js'

const counter = (name: string, extra = ''): string => `
let count = 0
module.exports = { name: ${JSON.stringify(name)}, version: '1.0.0',
  saveState() { return { count } },
  setup(ctx) { count = ctx.state ? ctx.state.count : 0; return { increment() { return ++count }, get() { return count },
    hang() { return new Promise((resolve) => setTimeout(resolve, 600000)) }, ${extra} } } }
`

type Restored = Extract<RegistryEvent, { type: 'restored' }>

/** Resolves with `n` events of `type` about `ids`, or rejects after `ms`. */
function events<T extends RegistryEvent['type']>(registry: PluginRegistry, type: T, ids: readonly string[], n: number, ms = 60_000): Promise<Extract<RegistryEvent, { type: T }>[]> {
  return firstValueFrom(
    registry.events$.pipe(
      filter((e): e is Extract<RegistryEvent, { type: T }> => e.type === type && ids.includes((e as { id?: string }).id ?? '')),
      take(n),
      toArray(),
      timeout(ms),
    ),
  )
}

describe('pool worker loss', () => {
  const box = sandbox()

  /** 20 counters at 1 saved (a reload stores the snapshot), then at 2 in memory only, and the culprit. */
  async function setUp(options: PoolLoaderOptions, culprit: string, callTimeoutMs = 1000, more: RegistryOptions = {}): Promise<{ registry: PluginRegistry; ids: string[] }> {
    const registry = (box.registry = createPluginRegistry({ loader: poolLoader({ size: 1, dropTimeoutMs: 300, memoryIntervalMs: 0, ...options }), logger: quiet, callTimeoutMs, ...more }))
    const ids = Array.from({ length: 20 }, (_, i) => `t${i}`)
    for (const id of ids) await registry.load(await put(box.dir, `${id}.cjs`, counter(id)))
    await registry.load(await put(box.dir, 'culprit.cjs', culprit))
    for (const id of ids) await registry.get(id).call('increment')
    for (const id of ids) await registry.reload(id)
    for (const id of ids) expect(await registry.get(id).call('increment')).toBe(2)
    return { registry, ids }
  }

  async function expectRestored(registry: PluginRegistry, ids: readonly string[], restored: Promise<Restored[]>): Promise<Restored[]> {
    const done = await restored
    expect(new Set(done.map((e) => e.id))).toEqual(new Set(ids))
    for (const id of ids) expect(registry.status(id)).toMatchObject({ state: 'Running', alive: true, loader: 'pool' })
    // restored from the last snapshot (1): the increment after it was in memory only
    expect(await Promise.all(ids.map((id) => registry.get(id).call('get')))).toEqual(ids.map(() => 1))
    return done
  }

  it('a looping plugin among 20 co-tenants: they serve again on their own, calls that never reached them are retried, one that had reached fails with WORKER_LOST', async () => {
    const { registry, ids } = await setUp({}, counter('spin', 'spin(flag) { Atomics.store(new Int32Array(flag), 0, 1); for (;;) {} },'))
    const restored = events(registry, 'restored', ids, 20)
    const lostState = events(registry, 'stateLost', ids, 20)
    const reached = rejection(registry.get('t0').call('hang'))
    await new Promise((resolve) => setTimeout(resolve, 50)) // t0's hang is running in the worker before the loop starts
    const flag = new Int32Array(new SharedArrayBuffer(4))
    const stuck = rejection(registry.get('spin').call('spin', flag.buffer))
    for (let i = 0; i < 3000 && Atomics.load(flag, 0) === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    expect(Atomics.load(flag, 0)).toBe(1) // the worker's thread is in the loop now
    // sent while the worker is stuck: they never reach the plugins; each runs once on the restored version
    const queued = ids.map((id) => registry.get(id).call('increment'))
    expect((await stuck).code).toBe('CALL_TIMEOUT')
    const lost = await reached
    expect(lost).toBeInstanceOf(WorkerLostError)
    expect(lost).toMatchObject({ code: 'WORKER_LOST', reached: true })
    expect(lost.message).toMatch(/spin@1\.0\.0 was stuck/)
    expect(await Promise.all(queued)).toEqual(ids.map(() => 2))
    const done = await restored
    expect(new Set(done.map((e) => e.id))).toEqual(new Set(ids))
    expect((await lostState).map((e) => e.restoredFrom?.version)).toEqual(ids.map(() => '1.0.0'))
    expect(await Promise.all(ids.map((id) => registry.get(id).call('get')))).toEqual(ids.map(() => 2))
    expect(registry.status('spin').state).toBe('Failed')
    expect(registry.status('spin').lastError?.code).toBe('WORKER_CRASHED')
    console.log(`co-tenants of a stuck plugin served again ${Math.max(...done.map((e) => e.durationMs)).toFixed(0)} ms after the loss (callTimeoutMs 1000, dropTimeoutMs 300 before it)`)
    await registry.reload('spin')
    expect(registry.status('spin').state).toBe('Running')
  }, 120_000)

  it('a plugin that blows the heap of its worker (resourceLimits): the others are restored, it stays Failed', async () => {
    const grow = counter('hog', 'hog() { const all = []; for (;;) all.push(new Array(1000000).fill(Math.random())) },')
    // a call timeout far above the time the heap takes to fill, so that the heap limit ends the worker
    const { registry, ids } = await setUp({ resourceLimits: { maxOldGenerationSizeMb: 96 } }, grow, 30_000)
    const restored = events(registry, 'restored', ids, 20)
    const error = await rejection(registry.get('hog').call('hog'))
    expect(error.code).toBe('WORKER_CRASHED')
    expect(error).not.toBeInstanceOf(WorkerLostError)
    const done = await expectRestored(registry, ids, restored)
    expect(done[0]?.reason).toMatch(/hog@1\.0\.0 ended the worker/)
    expect(registry.status('hog').state).toBe('Failed')
  }, 120_000)

  it('a plugin blocked in a system call (reading a FIFO no one writes), which terminate() cannot end: its thread is abandoned, the co-tenants are restored, close() ends', async () => {
    const fifo = join(box.dir, 'fifo')
    execFileSync('mkfifo', [fifo])
    const { registry, ids } = await setUp({}, counter('blocker', `block() { return require('node:fs').readFileSync(${JSON.stringify(fifo)}, 'utf8') },`), 500)
    const restored = events(registry, 'restored', ids, 20)
    const abandonedBefore = abandonedThreads()
    const blocked = await rejection(registry.get('blocker').call('block'))
    expect(blocked.code).toBe('CALL_TIMEOUT')
    await restored
    expect(abandonedThreads()).toBe(abandonedBefore + 1)
    expect(await Promise.all(ids.map((id) => registry.get(id).call('get')))).toEqual(ids.map(() => 1))
    expect(registry.status('blocker')).toMatchObject({ state: 'Failed', lastError: { message: expect.stringMatching(/did not end within 2000 ms of being terminated/) } })
    await registry.close()
    // let the left-behind thread go, so that this test process can exit: a writer ends its read
    const fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK)
    writeSync(fd, 'x')
    closeSync(fd)
  }, 120_000)

  it('with checkpointMs, co-tenants come back with the state of their last checkpoint, not of their last reload', async () => {
    const store = memoryStateStore()
    const crash = counter('crash', `exit() { setTimeout(() => process.exit(7), 5); return 'bye' },`)
    const { registry, ids } = await setUp({}, crash, 1000, { stateStore: store, checkpointMs: 50 })
    for (const id of ids) expect(await registry.get(id).call('increment')).toBe(3)
    const checkpointed = async (): Promise<boolean> => (await Promise.all(ids.map((id) => store.latest(id)))).every((s) => (s?.data as { count: number } | undefined)?.count === 3)
    await until(checkpointed, 6000)
    expect((await store.latest('t0'))?.metadata).toMatchObject({ reason: 'checkpoint' })
    const restored = events(registry, 'restored', ids, 20)
    const lostState = events(registry, 'stateLost', ids, 20)
    expect(await registry.get('crash').call('exit')).toBe('bye')
    await restored
    // each restored from its checkpoint (3), not from the snapshot of its reload (1)
    expect(await Promise.all(ids.map((id) => registry.get(id).call('get')))).toEqual(ids.map(() => 3))
    for (const e of await lostState) expect(e.restoredFrom?.version).toBe('1.0.0')
  }, 120_000)

  it('a plugin that crashes its worker (process.exit, a throw in a timer): the others are restored, it stays Failed', async () => {
    const crash = counter('crash', `exit() { setTimeout(() => process.exit(7), 5); return 'bye' }, boom() { setTimeout(() => { throw new Error('boom in a timer') }, 5); return 'soon' },`)
    const { registry, ids } = await setUp({}, crash)
    for (const [method, why] of [
      ['exit', /crash@1\.0\.0 ended the worker \(exit code 7\)/],
      ['boom', /crash@1\.0\.0 ended the worker \(exit code 1: boom in a timer\)/],
    ] as const) {
      const restored = events(registry, 'restored', ids, 20)
      const failed = events(registry, 'failed', ['crash'], 1)
      expect(await registry.get('crash').call(method)).toBeTypeOf('string')
      expect((await failed)[0]?.error.code).toBe('WORKER_CRASHED')
      const done = await expectRestored(registry, ids, restored)
      expect(done[0]?.reason).toMatch(why)
      expect(registry.status('crash').state).toBe('Failed')
      await registry.reload('crash') // triggered again: it serves until its next crash
      for (const id of ids) await registry.get(id).call('increment') // at 2 again, snapshot still 1
    }
  }, 180_000)
})
