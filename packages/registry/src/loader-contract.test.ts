// The contract every loader passes (where it applies): run against the worker loader (ESM and
// CJS plugins), the in-process loader (CJS and ESM) and the wasm loader.
import { readFile } from 'node:fs/promises'
import { beforeAll, describe, expect, it } from 'vitest'
import { inProcessLoader } from './in-process-loader.js'
import type { Loader } from './loader.js'
import { createPluginRegistry } from './registry.js'
import { counterSource, put, quiet, rejection, sandbox, watToWasm } from './test-support.js'
import { wasmLoader } from './wasm-loader.js'
import { workerLoader } from './worker-loader.js'

let wasmBytes: Uint8Array
beforeAll(async () => {
  wasmBytes = await watToWasm(await readFile(new URL('./fixtures/wasm/counter.wat', import.meta.url), 'utf8'), 'counter.wat')
})

interface Fixture {
  readonly label: string
  readonly loader: () => Loader
  readonly file: string
  write(dir: string, version: string, broken?: boolean): Promise<string>
  readonly async: boolean
}

const js = (label: string, loader: () => Loader, format: 'esm' | 'cjs'): Fixture => ({
  label,
  loader,
  file: format === 'esm' ? 'counter.mjs' : 'counter.cjs',
  write: (dir, version, broken) => put(dir, format === 'esm' ? 'counter.mjs' : 'counter.cjs', broken ? 'module.exports = {' : counterSource(format, version)),
  async: true,
})

const fixtures: Fixture[] = [
  js('worker, ESM plugin', () => workerLoader(), 'esm'),
  js('worker, CJS plugin', () => workerLoader(), 'cjs'),
  js('in-process, CJS plugin', () => inProcessLoader(), 'cjs'),
  js('in-process, ESM plugin', () => inProcessLoader(), 'esm'),
  {
    label: 'wasm',
    loader: () => wasmLoader(),
    file: 'counter.wasm',
    async write(dir, version, broken) {
      await put(dir, 'counter.plugin.json', JSON.stringify({ name: 'counter', version }))
      return put(dir, 'counter.wasm', broken ? new Uint8Array([0, 97, 115, 109, 9, 9]) : wasmBytes)
    },
    async: false,
  },
]

type Counter = { increment(): number; get(): number; slow(ms: number): string; fail(m: string): never; trap(): void }

describe.each(fixtures)('loader contract: $label', (fixture) => {
  const t = sandbox(() => createPluginRegistry({ loader: fixture.loader(), logger: quiet, drainTimeoutMs: 200, setupTimeoutMs: 2000 }))

  it('loads, calls asynchronously, and reports the loader', async () => {
    const status = await t.registry.load(await fixture.write(t.dir, '1.0.0'))
    expect(status).toMatchObject({ id: 'counter', version: '1.0.0', state: 'Running' })
    const handle = t.registry.get<Counter>('counter')
    const pending = handle.call('increment')
    expect(pending).toBeInstanceOf(Promise)
    expect(await pending).toBe(1)
    expect(await handle.api.increment()).toBe(2)
    expect(await handle.call('get')).toBe(2)
  })

  it('moves the state into the new version on reload', async () => {
    await t.registry.load(await fixture.write(t.dir, '1.0.0'))
    const handle = t.registry.get<Counter>('counter')
    for (let i = 0; i < 3; i++) await handle.call('increment')
    await fixture.write(t.dir, '1.0.1')
    const status = await t.registry.reload('counter')
    expect(status).toMatchObject({ version: '1.0.1', reloadCount: 1, previousVersion: '1.0.0' })
    expect(await handle.call('get')).toBe(3)
  })

  it('loses no update: 4 callers, 1,000 increments, 10 reloads', async () => {
    await t.registry.load(await fixture.write(t.dir, '1.0.0'))
    const handle = t.registry.get<Counter>('counter')
    let reloads = 0
    const seen: number[] = []
    const caller = async () => {
      for (let i = 0; i < 250; i++) {
        seen.push(await handle.call('increment'))
        if (reloads < 10) await new Promise((r) => setTimeout(r, 1))
      }
    }
    const reloader = async () => {
      for (let v = 1; v <= 10; v++) {
        await fixture.write(t.dir, `1.0.${v}`)
        await t.registry.reload('counter')
        reloads++
        await new Promise((r) => setTimeout(r, 5))
      }
    }
    await Promise.all([caller(), caller(), caller(), caller(), reloader()])
    expect(reloads).toBe(10)
    expect(await handle.call('get')).toBe(1000)
    expect(new Set(seen).size).toBe(1000)
  })

  it('keeps the old version serving when the new one does not load', async () => {
    await t.registry.load(await fixture.write(t.dir, '1.0.0'))
    const handle = t.registry.get<Counter>('counter')
    await handle.call('increment')
    await fixture.write(t.dir, '1.0.1', true)
    expect((await rejection(t.registry.reload('counter'))).code).toBe('BUILD_FAILED')
    expect(await handle.call('increment')).toBe(2)
    expect(t.registry.status('counter')).toMatchObject({ state: 'Failed', version: '1.0.0' })
  })

  it('rejects an unknown method with UNKNOWN_METHOD and a plugin error with that error', async () => {
    await t.registry.load(await fixture.write(t.dir, '1.0.0'))
    const handle = t.registry.get<Counter>('counter')
    expect((await rejection(handle.call('missing' as 'get'))).code).toBe('UNKNOWN_METHOD')
    const error = await rejection(fixture.async ? handle.call('fail', 'boom') : handle.call('trap'))
    expect(error).toBeInstanceOf(Error)
    expect(error.message).toMatch(fixture.async ? /^boom$/ : /unreachable/)
    expect(await handle.call('increment')).toBe(1)
  })

  it('unload drops the version; the handle then rejects with NOT_FOUND', async () => {
    await t.registry.load(await fixture.write(t.dir, '1.0.0'))
    const handle = t.registry.get<Counter>('counter')
    await t.registry.unload('counter')
    expect(t.registry.has('counter')).toBe(false)
    expect((await rejection(handle.call('get'))).code).toBe('NOT_FOUND')
  })

  it.runIf(fixture.async)('cancels calls that outlive the drain with DRAIN_TIMEOUT', async () => {
    await t.registry.load(await fixture.write(t.dir, '1.0.0'))
    const handle = t.registry.get<Counter>('counter')
    const long = rejection(handle.call('slow', 3000))
    const short = handle.call('slow', 20)
    await fixture.write(t.dir, '1.0.1')
    await t.registry.reload('counter')
    expect(await short).toBe('1.0.0')
    expect((await long).code).toBe('DRAIN_TIMEOUT')
    expect(await handle.call('slow', 1)).toBe('1.0.1')
  })
})
