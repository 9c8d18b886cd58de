import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { createPluginRegistry } from './registry.js'
import { put, quiet, rejection, sandbox, watToWasm } from './test-support.js'
import { wasmLoader } from './wasm-loader.js'
import { workerLoader } from './worker-loader.js'

const fixture = (name: string) => new URL(`./fixtures/wasm/${name}`, import.meta.url)

const t = sandbox(() => createPluginRegistry({ loader: [workerLoader(), wasmLoader()], logger: quiet }))

describe('wasm loader', () => {
  it('the committed counter.wasm is exactly what counter.wat compiles to (node src/fixtures/wasm/build.mjs)', async () => {
    const built = await watToWasm(await readFile(fixture('counter.wat'), 'utf8'), 'counter.wat')
    const committed = new Uint8Array(await readFile(fixture('counter.wasm')))
    expect(Buffer.from(committed).equals(Buffer.from(built))).toBe(true)
  })

  it('loads the committed plugin with its sidecar and exposes its exported functions', async () => {
    const status = await t.registry.load(fileURLToPathCompat(fixture('counter.wasm')))
    expect(status).toMatchObject({ id: 'counter', version: '1.0.0', loader: 'wasm' })
    const handle = t.registry.get<{ add(a: number, b: number): number; increment(): number; hotswap_save_state(): number }>('counter')
    expect(await handle.call('add', 2, 40)).toBe(42)
    expect(await handle.api.increment()).toBe(1)
    expect((await rejection(handle.call('hotswap_save_state'))).code).toBe('UNKNOWN_METHOD')
  })

  it('without a sidecar the file name is the id and the version is 0.0.0', async () => {
    await put(t.dir, 'adder.wasm', await readFile(fixture('counter.wasm')))
    expect(await t.registry.load(`${t.dir}/adder.wasm`)).toMatchObject({ id: 'adder', version: '0.0.0' })
  })

  it('refuses imports it does not provide, and a state the new version cannot take', async () => {
    const importing = await watToWasm('(module (import "env" "now" (func $now (result f64))) (func (export "f") (result f64) call $now))')
    await put(t.dir, 'clock.wasm', importing)
    const error = await rejection(t.registry.load(`${t.dir}/clock.wasm`))
    expect(error.code).toBe('LOAD_FAILED')
    expect(error.message).toMatch(/env\.now/)

    await put(t.dir, 'counter.wasm', await readFile(fixture('counter.wasm')))
    await put(t.dir, 'counter.plugin.json', JSON.stringify({ name: 'counter', version: '1.0.0' }))
    await t.registry.load(`${t.dir}/counter.wasm`)
    await t.registry.get('counter').call('increment')
    const stateless = await watToWasm('(module (func (export "get") (result i32) i32.const 7))')
    await put(t.dir, 'counter.wasm', stateless)
    await put(t.dir, 'counter.plugin.json', JSON.stringify({ name: 'counter', version: '1.0.1' }))
    expect((await rejection(t.registry.reload('counter'))).code).toBe('STATE_REJECTED')
    expect(await t.registry.get('counter').call('get')).toBe(1)
  })
})

function fileURLToPathCompat(url: URL): string {
  return decodeURIComponent(url.pathname)
}
