// Pool worker retirement (poolLoader retireAfter): a worker that has hosted its share of
// versions takes no more and ends with its last one, so that the memory its dropped realms
// left behind goes with its thread. Real workers, real reloads.
import { describe, expect, it } from 'vitest'
import { RegistryError } from './errors.js'
import { poolLoader } from './pool-loader.js'
import type { PoolLoader } from './pool-loader.js'
import { createPluginRegistry } from './registry.js'
import { put, quiet, sandbox } from './test-support.js'

const counter = (name: string, version: string): string => `
const { threadId } = require('node:worker_threads')
let count = 0
module.exports = { name: ${JSON.stringify(name)}, version: ${JSON.stringify(version)},
  saveState() { return { count } },
  setup(ctx) { count = ctx.state ? ctx.state.count : 0; return { increment() { return ++count }, get() { return count }, thread() { return threadId } } } }
`

/** Waits (bounded by a count of event-loop turns, not by a time) until the pool runs `n` workers. */
async function workersBecome(pool: PoolLoader, n: number): Promise<void> {
  for (let i = 0; i < 500 && pool.workers.length !== n; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  expect(pool.workers.length).toBe(n)
}

describe('pool worker retirement', () => {
  const box = sandbox()

  it('moves reloads to a fresh worker after retireAfter versions, ends the old one with its last version, and loses no call or state', async () => {
    const pool = poolLoader({ size: 1, retireAfter: 4, memoryIntervalMs: 0 })
    const registry = (box.registry = createPluginRegistry({ loader: pool, logger: quiet }))
    const hot = await put(box.dir, 'hot.cjs', counter('hot', '1.0.0'))
    await registry.load(hot)
    await registry.load(await put(box.dir, 'still.cjs', counter('still', '1.0.0')))
    expect(await registry.get('still').call('increment')).toBe(1)
    const stillThread = await registry.get('still').call('thread')
    const threads: unknown[] = [await registry.get('hot').call('thread')]
    // calls run all along, while the versions are replaced and the workers retired under them
    let calls = 0
    let running = true
    const caller = (async () => {
      while (running) {
        await registry.get('hot').call('increment')
        calls++
      }
    })()
    for (let v = 1; v <= 10; v++) {
      await put(box.dir, 'hot.cjs', counter('hot', `1.0.${v}`))
      await registry.reload('hot')
      threads.push(await registry.get('hot').call('thread'))
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    running = false
    await caller
    // each thread hosted at most 4 versions: the first (with 'still') 3 of hot's, then 4, then the rest
    const perThread = new Map<unknown, number>()
    for (const t of threads) perThread.set(t, (perThread.get(t) ?? 0) + 1)
    expect([...perThread.values()]).toEqual([3, 4, 4])
    expect(threads[0]).toBe(stillThread)
    expect(new Set(threads).size).toBe(3)
    // state carried across every reload and worker change: no increment lost
    expect(calls).toBeGreaterThan(0)
    expect(await registry.get('hot').call('get')).toBe(calls)
    expect(registry.status('hot')).toMatchObject({ state: 'Running', version: '1.0.10', loader: 'pool' })
    // the middle worker ended with its last version; the first stays for 'still', never reloaded, untouched
    await workersBecome(pool, 2)
    expect(await registry.get('still').call('increment')).toBe(2)
    expect(await registry.get('still').call('thread')).toBe(stillThread)
    await registry.unload('still')
    await workersBecome(pool, 1)
    expect(await registry.get('hot').call('get')).toBe(calls)
  }, 120_000)

  it('never retires with Infinity, and refuses a retireAfter that is not a positive integer', async () => {
    const pool = poolLoader({ size: 1, retireAfter: Infinity, memoryIntervalMs: 0 })
    const registry = (box.registry = createPluginRegistry({ loader: pool, logger: quiet }))
    await registry.load(await put(box.dir, 'p.cjs', counter('p', '1.0.0')))
    const first = await registry.get('p').call('thread')
    for (let v = 1; v <= 6; v++) {
      await put(box.dir, 'p.cjs', counter('p', `1.0.${v}`))
      await registry.reload('p')
    }
    expect(await registry.get('p').call('thread')).toBe(first)
    for (const bad of [0, -1, 2.5, Number.NaN]) {
      expect(() => poolLoader({ retireAfter: bad })).toThrow(RegistryError)
    }
    expect(() => poolLoader({ retireAfter: 0 })).toThrow(/retireAfter must be a positive integer or Infinity/)
  }, 60_000)
})
