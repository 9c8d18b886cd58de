// Periodic checkpoints (`checkpointMs`): the serving version's state is stored when it changed,
// in the plugin's turn of operations, and the stored state is what a lost version starts from.
import { describe, expect, it } from 'vitest'
import { inProcessLoader } from './in-process-loader.js'
import { createPluginRegistry } from './registry.js'
import { memoryStateStore } from './state-store.js'
import type { PluginStateSnapshot, RegistryStateStore } from './state-store.js'
import { counterSource, put, quiet, sandbox, until } from './test-support.js'
import { workerLoader } from './worker-loader.js'

const t = sandbox()
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** A memory store that records every snapshot it is given. */
function recordingStore(): RegistryStateStore & { readonly saved: PluginStateSnapshot[] } {
  const inner = memoryStateStore()
  const saved: PluginStateSnapshot[] = []
  return { saved, save: (s) => (saved.push(s), inner.save(s)), latest: (id) => inner.latest(id) }
}

describe('checkpoints', () => {
  it('store the state when it changed since the last checkpoint, and nothing more', async () => {
    const store = recordingStore()
    t.registry = createPluginRegistry({ loader: inProcessLoader(), logger: quiet, stateStore: store, checkpointMs: 20 })
    await t.registry.load(await put(t.dir, 'counter.cjs', counterSource('cjs', '1.0.0')))
    await put(t.dir, 'quiet.cjs', `module.exports = { name: 'stateless', version: '1.0.0', setup() { return { ping: () => 'pong' } } }`)
    await t.registry.load(`${t.dir}/quiet.cjs`)
    const checkpoints = (): PluginStateSnapshot[] => store.saved.filter((s) => s.metadata.reason === 'checkpoint')
    await until(() => checkpoints().length === 1) // the first one: nothing was stored yet
    await sleep(200) // 10 intervals, the state unchanged
    expect(checkpoints().map((s) => s.data)).toEqual([{ count: 0 }])
    await t.registry.get('counter').call('increment')
    await t.registry.get('counter').call('increment')
    const count = (s: PluginStateSnapshot | undefined): unknown => (s?.data as { count?: number } | undefined)?.count
    await until(() => count(checkpoints().at(-1)) === 2) // a checkpoint may have come between the two
    expect(checkpoints().at(-1)).toMatchObject({ pluginId: 'counter', pluginVersion: '1.0.0', data: { count: 2 } })
    const counts = checkpoints().map(count)
    expect(counts.filter((c, i) => c === counts[i - 1])).toEqual([]) // each one stored a change
    // a plugin without saveState() is never asked
    expect(store.saved.some((s) => s.pluginId === 'stateless')).toBe(false)
    // a reload moves the state as always; the new version's first checkpoint stores it once more
    const before = checkpoints().length
    await t.registry.reload('counter')
    await until(() => checkpoints().length === before + 1)
    expect(store.saved.slice(-2).map((s) => s.metadata.reason)).toEqual(['reload', 'checkpoint'])
    await t.registry.close()
    const saved = store.saved.length
    await sleep(100)
    expect(store.saved.length).toBe(saved) // closing stopped them (unload saves are not checkpoints)
  })

  it('off by default: state is stored on reloads and unloads only', async () => {
    const store = recordingStore()
    t.registry = createPluginRegistry({ loader: inProcessLoader(), logger: quiet, stateStore: store })
    await t.registry.load(await put(t.dir, 'counter.cjs', counterSource('cjs', '1.0.0')))
    await t.registry.get('counter').call('increment')
    await sleep(100)
    expect(store.saved).toEqual([])
  })

  it('a worker that crashes starts again from its last checkpoint', async () => {
    const store = recordingStore()
    t.registry = createPluginRegistry({ loader: workerLoader(), logger: quiet, stateStore: store, checkpointMs: 20 })
    const source = `let count = 0
module.exports = { name: 'counter', version: '1.0.0', saveState() { return { count } },
  setup(ctx) { count = ctx.state ? ctx.state.count : 0
    return { increment() { return ++count }, get() { return count }, crash() { setTimeout(() => process.exit(3), 5); return 'bye' } } } }`
    await t.registry.load(await put(t.dir, 'counter.cjs', source))
    const counter = t.registry.get('counter')
    for (let i = 0; i < 5; i++) await counter.call('increment')
    await until(() => store.saved.at(-1)?.data !== undefined && (store.saved.at(-1)?.data as { count: number }).count === 5)
    await counter.call('crash')
    await until(() => !t.registry!.status('counter').alive)
    await t.registry.reload('counter')
    expect(await counter.call('get')).toBe(5)
  })

  it('refuses a negative interval with a typed error', () => {
    expect(() => createPluginRegistry({ checkpointMs: -1 })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringMatching(/checkpointMs/) }))
  })
})
