// registry.onCall: every call through a handle reports how it ended, with the version that served it.
import { describe, expect, it } from 'vitest'
import { inProcessLoader } from './in-process-loader.js'
import { createPluginRegistry } from './registry.js'
import type { CallSettled } from './registry-types.js'
import { moduleSource, put, quiet, rejection, sandbox } from './test-support.js'
import { workerLoader } from './worker-loader.js'

const plugin = (version: string): string =>
  moduleSource('esm', '', `name: 'calc', version: '${version}', setup() { return { half(n) { if (n % 2) throw new Error('odd ' + n); return n / 2 } } }`)

describe.each([
  ['in-process', () => inProcessLoader()],
  ['worker', () => workerLoader()],
])('registry.onCall (%s loader)', (_name, loader) => {
  const box = sandbox(() => createPluginRegistry({ loader: loader(), logger: quiet }))

  it('reports each settled call with its id, method, version and hash; the caller still gets its value or error', async () => {
    const registry = box.registry
    const path = await put(box.dir, 'calc.mjs', plugin('1.0.0'))
    const first = await registry.load(path)
    const seen: CallSettled[] = []
    const off = registry.onCall((call) => seen.push(call))
    const calc = registry.get('calc')
    expect(await calc.call('half', 4)).toBe(2)
    expect((await rejection(calc.call('half', 3))).message).toMatch(/odd 3/)
    expect(seen.map(({ id, method, version, hash, ok }) => ({ id, method, version, hash, ok }))).toEqual([
      { id: 'calc', method: 'half', version: '1.0.0', hash: first.hash, ok: true },
      { id: 'calc', method: 'half', version: '1.0.0', hash: first.hash, ok: false },
    ])
    expect(seen[0]?.value).toBe(2)
    expect((seen[1]?.error as Error).message).toMatch(/odd 3/)

    await put(box.dir, 'calc.mjs', plugin('1.1.0'))
    const second = await registry.reload('calc')
    expect(second.hash).not.toBe(first.hash)
    await calc.call('half', 8)
    expect(seen.at(-1)).toMatchObject({ version: '1.1.0', hash: second.hash, ok: true })

    off()
    await calc.call('half', 2)
    expect(seen).toHaveLength(3)
  })

  it('a listener that throws is logged, not the caller\'s failure; an unknown method counts as a failed call', async () => {
    const registry = box.registry
    await registry.load(await put(box.dir, 'calc.mjs', plugin('1.0.0')))
    const seen: boolean[] = []
    registry.onCall(() => {
      throw new Error('listener bug')
    })
    registry.onCall((call) => seen.push(call.ok))
    expect(await registry.get('calc').call('half', 6)).toBe(3)
    await rejection(registry.get('calc').call('nope'))
    expect(seen).toEqual([true, false])
  })
})
