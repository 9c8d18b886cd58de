// The pool loader beyond the loader contract: realms that do not see each other's pollution,
// per-plugin isolation, hundreds of plugins, and reloads that free memory (a stuck co-tenant:
// pool-recovery.test.ts).
import { mkdir } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { RegistryError } from './errors.js'
import { isolationLoaders } from './isolation-loader.js'
import { poolLoader } from './pool-loader.js'
import { createPluginRegistry } from './registry.js'
import { put, quiet, rejection, sandbox } from './test-support.js'

const counter = (name: string, version: string, extra = ''): string => `
let count = 0
module.exports = { name: ${JSON.stringify(name)}, version: ${JSON.stringify(version)},
  saveState() { return { count } },
  setup(ctx) { count = ctx.state ? ctx.state.count : 0; return { increment() { return ++count }, get() { return count }, ${extra} } } }
`

describe('pool loader', () => {
  const box = sandbox()

  it('keeps Object.prototype and globalThis pollution inside the realm that made it', async () => {
    const pool = poolLoader({ size: 1 })
    const registry = (box.registry = createPluginRegistry({ loader: pool, logger: quiet }))
    await registry.load(await put(box.dir, 'dirty.cjs', counter('dirty', '1.0.0', `pollute() {
      Object.prototype.polluted = 'yes'; globalThis.leaked = 1; Array.prototype.map = function () { return 'broken' }; JSON.stringify = () => 'broken'
      return [({}).polluted, typeof leaked, [1].map((x) => x)] },`)))
    await registry.load(await put(box.dir, 'clean.cjs', counter('clean', '1.0.0', `look() { return [({}).polluted === undefined, typeof globalThis.leaked, [1].map((x) => x + 1), JSON.stringify({ a: 1 })] },`)))
    expect(pool.workers).toEqual([2])
    expect(await registry.get('dirty').call('pollute')).toEqual(['yes', 'number', 'broken'])
    expect(await registry.get('clean').call('look')).toEqual([true, 'undefined', [2], '{"a":1}'])
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('chooses the worker or the pool per plugin (isolation)', async () => {
    const registry = (box.registry = createPluginRegistry({ loader: isolationLoaders({ default: 'shared', plugins: { solo: 'dedicated' } }), logger: quiet }))
    expect((await registry.load(await put(box.dir, 'solo.cjs', counter('solo', '1.0.0')))).loader).toBe('worker')
    expect((await registry.load(await put(box.dir, 'many.cjs', counter('many', '1.0.0')))).loader).toBe('pool')
    expect(await registry.get('solo').call('increment')).toBe(1)
    expect(await registry.get('many').call('increment')).toBe(1)
    expect(() => isolationLoaders({ plugins: { x: 'both' as 'shared' } })).toThrow(/plugins\["x"\] must be 'dedicated' or 'shared'/)
    expect(() => poolLoader({ size: 0 })).toThrow(RegistryError)
  })

  it('takes the isolation a plugin asks for in its package.json (hotswap.isolation) unless the host names it', async () => {
    const dirPlugin = async (name: string, hotswap: unknown): Promise<string> => {
      await mkdir(`${box.dir}/${name}`, { recursive: true })
      await put(box.dir, `${name}/package.json`, JSON.stringify({ name, version: '1.0.0', main: 'index.cjs', ...(hotswap === undefined ? {} : { hotswap }) }))
      await put(box.dir, `${name}/index.cjs`, counter(name, '1.0.0'))
      return `${box.dir}/${name}`
    }
    const registry = (box.registry = createPluginRegistry({ loader: isolationLoaders({ default: 'shared', plugins: { overruled: 'shared' } }), logger: quiet }))
    expect((await registry.load(await dirPlugin('alone', { isolation: 'dedicated' }))).loader).toBe('worker')
    expect((await registry.load(await dirPlugin('overruled', { isolation: 'dedicated' }))).loader).toBe('pool')
    expect((await registry.load(await dirPlugin('plain', undefined))).loader).toBe('pool')
    const bad = await rejection(registry.load(await dirPlugin('bad', { isolation: 'thread' })))
    expect(bad.code).toBe('BUILD_FAILED')
    expect(bad.message).toMatch(/"hotswap.isolation" must be "dedicated" \(a worker of its own\) or "shared"/)
    const strict = (box.registry = createPluginRegistry({ loader: isolationLoaders({ default: 'shared', manifest: false }), logger: quiet }))
    await registry.close()
    expect((await strict.load(`${box.dir}/alone`)).loader).toBe('pool')
    expect(() => isolationLoaders({ manifest: 'yes' as unknown as boolean })).toThrow(/manifest must be a boolean/)
  })

  it('loads, calls, reloads and unloads 300 plugins', async () => {
    const pool = poolLoader({ size: 2 })
    const registry = (box.registry = createPluginRegistry({ loader: pool, logger: quiet }))
    const ids = Array.from({ length: 300 }, (_, i) => `p${i}`)
    const paths = await Promise.all(ids.map((id) => put(box.dir, `${id}.cjs`, counter(id, '1.0.0'))))
    await Promise.all(paths.map((path) => registry.load(path))) // all at once: placement counts the versions on their way
    expect(pool.workers).toEqual([150, 150])
    expect(await Promise.all(ids.map((id) => registry.get(id).call('increment')))).toEqual(ids.map(() => 1))
    for (const id of ids) await put(box.dir, `${id}.cjs`, counter(id, '1.0.1'))
    for (const id of ids) expect((await registry.reload(id)).version).toBe('1.0.1')
    expect(await Promise.all(ids.map((id) => registry.get(id).call('increment')))).toEqual(ids.map(() => 2))
    for (const id of ids) await registry.unload(id)
    expect(registry.list()).toEqual([])
    expect(pool.workers.reduce((a, b) => a + b, 0)).toBe(0)
  }, 180_000)

  it('10,000 reloads of one plugin free their realms (the worker heap stays flat)', async () => {
    const pool = poolLoader({ size: 1 })
    const registry = (box.registry = createPluginRegistry({ loader: pool, logger: quiet }))
    const path = await put(box.dir, 'churn.cjs', counter('churn', '1.0.0', 'big: new Array(20000).fill(1).map(String),'))
    await registry.load(path)
    const reload = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) await registry.reload('churn')
    }
    await reload(200)
    await new Promise((r) => setTimeout(r, 200))
    const [before] = await pool.measure()
    await reload(9800)
    await new Promise((r) => setTimeout(r, 200))
    const [after] = await pool.measure()
    expect(after?.versions).toBeLessThanOrEqual(2) // the replaced version may still be disposing
    expect(await registry.get('churn').call('get')).toBe(0)
    console.log(`pool heap after 200 reloads ${before?.heapUsedBytes}, after 10,000 ${after?.heapUsedBytes}`)
    // a realm kept alive costs > 200 kB (here > 500 kB with its array): 9,800 leaked would be > 1.9 GB
    expect((after?.heapUsedBytes ?? 0) - (before?.heapUsedBytes ?? 0)).toBeLessThan(30 * 1024 * 1024)
  }, 600_000)
})
