// Heap per plugin version in the pool: measured per realm (vm.measureMemory), in the status and
// as events, and a leak warning for a version whose heap keeps growing.
import { describe, expect, it } from 'vitest'
import { poolLoader } from './pool-loader.js'
import { createPluginRegistry } from './registry.js'
import type { RegistryEvent } from './events.js'
import { RegistryError } from './errors.js'
import { put, quiet, sandbox } from './test-support.js'

const plugin = (name: string, body: string): string => `
const kept = []
module.exports = { name: ${JSON.stringify(name)}, version: '1.0.0', setup() { return { ${body} } } }
`

describe('pool memory per version', () => {
  const box = sandbox()

  it('reports each version\'s heap in status and memorySampled events, and warns (memoryLeakSuspected) about the one that keeps growing', async () => {
    const pool = poolLoader({ size: 1, memoryIntervalMs: 0, leak: { samples: 4, growthBytes: 6 * 1024 * 1024 } })
    const registry = (box.registry = createPluginRegistry({ loader: pool, logger: quiet }))
    const seen: RegistryEvent[] = []
    registry.events$.subscribe((e) => seen.push(e))
    // 'big' holds ~4 MB once; 'grower' adds ~3 MB at every grow()
    await registry.load(await put(box.dir, 'small.cjs', plugin('small', 'ping() { return 1 },')))
    await registry.load(await put(box.dir, 'big.cjs', plugin('big', `hold() { for (let i = 0; i < 100000; i++) kept.push({ i, s: 'x' + i }); return kept.length },`)))
    await registry.load(await put(box.dir, 'grower.cjs', plugin('grower', `grow() { for (let i = 0; i < 70000; i++) kept.push({ i, s: 'y' + i }); return kept.length },`)))
    expect(registry.status('small').memory).toBeUndefined()
    await registry.get('big').call('hold')
    for (let round = 0; round < 5; round++) {
      await registry.get('grower').call('grow')
      // every other round after the worker idled: the context it made ahead for the next version exists then
      if (round % 2 === 1) await new Promise((resolve) => setTimeout(resolve, 150))
      expect(await pool.sampleMemory()).toBe(0) // every realm matched to its version
    }
    const small = registry.status('small').memory?.heapBytes ?? 0
    const big = registry.status('big').memory?.heapBytes ?? 0
    const grower = registry.status('grower').memory?.heapBytes ?? 0
    console.log(`heap per version: small ${small}, big ${big}, grower ${grower}`)
    expect(small).toBeGreaterThan(0)
    expect(big).toBeGreaterThan(small + 2 * 1024 * 1024)
    expect(grower).toBeGreaterThan(big)
    const sampled = seen.filter((e): e is Extract<RegistryEvent, { type: 'memorySampled' }> => e.type === 'memorySampled')
    expect(sampled.filter((e) => e.id === 'small')).toHaveLength(5)
    expect(sampled.filter((e) => e.id === 'grower').map((e) => e.heapBytes)).toEqual([...sampled.filter((e) => e.id === 'grower').map((e) => e.heapBytes)].sort((a, b) => a - b))
    const leaks = seen.filter((e): e is Extract<RegistryEvent, { type: 'memoryLeakSuspected' }> => e.type === 'memoryLeakSuspected')
    expect(leaks.map((e) => e.id)).toEqual(['grower']) // once, and not for the big but flat one
    expect(leaks[0]).toMatchObject({ version: '1.0.0', samples: 4 })
    expect(leaks[0]?.growthBytes).toBeGreaterThanOrEqual(6 * 1024 * 1024)
    expect(seen.some((e) => e.type === 'log' && e.level === 'warn' && /grower@1\.0\.0 may leak memory/.test(e.message))).toBe(true)
  }, 120_000)

  it('refuses bad memory options', () => {
    expect(() => poolLoader({ memoryIntervalMs: -1 })).toThrow(/memoryIntervalMs must be 0 or a positive number/)
    expect(() => poolLoader({ leak: { samples: 1 } })).toThrow(RegistryError)
    expect(() => poolLoader({ leak: { growthBytes: 0 } })).toThrow(/leak.growthBytes must be a positive number/)
  })
})
