import { cp, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildExamples, EXAMPLES_PLUGINS, watToWasm, EXAMPLES_SRC } from '../scripts/build-examples.mjs'
import { startHost, type Host } from './host.js'
import { atomicWrite, makeDirs, nextEntry, testConfig } from './test-support.js'

// The bundled example plugins, built from source into a temp dir and run by a real host.
let host: Host
let dirs: Awaited<ReturnType<typeof makeDirs>>

beforeAll(async () => {
  dirs = await makeDirs('hotswap-examples-')
  for (const name of ['counter.mjs', 'greeter', 'adder.plugin.json']) await cp(join(EXAMPLES_PLUGINS, name), join(dirs.plugins, name), { recursive: true })
  await buildExamples(dirs.plugins)
  host = await startHost(testConfig(dirs, { debounceMs: 20 }), { stdout: () => undefined, color: false })
})
afterAll(async () => {
  await host?.close()
  await dirs?.cleanup()
})

const reloaded = (id: string): Promise<unknown> =>
  nextEntry(host.journal, (e) => e.event.type === 'reload' && e.event.id === id && e.event.action === 'reload', 10_000, `a reload of ${id}`).then((e) => {
    expect(e.data.outcome).toBe('success')
  })

describe('example plugins', () => {
  it('all four load: counter (.mjs), greeter (directory), clock (built from TypeScript), adder (wasm)', () => {
    const plugins = host.pipeline.status().plugins.map((p) => [p.plugin?.id, p.plugin?.loader, p.plugin?.state])
    expect(plugins).toEqual([
      ['adder', 'wasm', 'Running'],
      ['clock', 'worker', 'Running'],
      ['counter', 'worker', 'Running'],
      ['greeter', 'worker', 'Running'],
    ])
  })

  it('the counter keeps its count across a reload to a new version', async () => {
    const counter = host.pipeline.registry.get<{ increment(by?: number): number; get(): { version: string; count: number } }>('counter')
    const before = await counter.call('increment', 1000)
    const source = await readFile(join(dirs.plugins, 'counter.mjs'), 'utf8')
    const done = reloaded('counter')
    await atomicWrite(join(dirs.plugins, 'counter.mjs'), source.replaceAll("'1.0.0'", "'1.1.0'"))
    await done
    const after = await counter.call('get')
    expect(after.version).toBe('1.1.0')
    expect(after.count).toBeGreaterThanOrEqual(before)
  })

  it('the directory plugin reloads when a file other than its entry changes', async () => {
    const greeter = host.pipeline.registry.get<{ greet(who?: string): string; stats(): { greeted: number } }>('greeter')
    expect(await greeter.call('greet', 'bob')).toBe('Hello, bob!')
    const done = reloaded('greeter')
    await atomicWrite(join(dirs.plugins, 'greeter', 'messages.mjs'), "export const greeting = 'Howdy,'\n")
    await done
    expect(await greeter.call('greet', 'bob')).toBe('Howdy, bob!')
    expect((await greeter.call('stats')).greeted).toBe(2)
  })

  it('the TypeScript plugin is a self-contained ESM file that keeps its state across a rebuild', async () => {
    const built = await readFile(join(dirs.plugins, 'clock.mjs'), 'utf8')
    expect(built).not.toMatch(/\bimport\b/)
    const clock = host.pipeline.registry.get<{ now(): string; versions(): number }>('clock')
    expect(new Date(await clock.call('now')).getTime()).toBeGreaterThan(0)
    expect(await clock.call('versions')).toBe(1)
    const done = reloaded('clock')
    await atomicWrite(join(dirs.plugins, 'clock.mjs'), built.replace('version: "1.0.0"', 'version: "1.0.1"'))
    await done
    expect(await clock.call('versions')).toBe(2)
  })

  it('the wasm plugin is built from its WAT and keeps its running total across a reload', async () => {
    const adder = host.pipeline.registry.get<{ add(a: number, b: number): number; accumulate(n: number): number; total(): number }>('adder')
    expect(await adder.call('add', 2, 3)).toBe(5)
    expect(await adder.call('accumulate', 40)).toBe(40)
    const wat = await readFile(join(EXAMPLES_SRC, 'adder.wat'), 'utf8')
    expect(Buffer.from(await readFile(join(dirs.plugins, 'adder.wasm'))).equals(Buffer.from(await watToWasm(wat, 'adder.wat')))).toBe(true)
    const done = reloaded('adder')
    await atomicWrite(join(dirs.plugins, 'adder.plugin.json'), JSON.stringify({ name: 'adder', version: '1.0.1' }))
    await done
    expect(host.pipeline.registry.status('adder').version).toBe('1.0.1')
    expect(await adder.call('accumulate', 2)).toBe(42)
  })
})
