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

const LIMITS = String.raw`(module
  (import "config" "threshold" (global $t i32))
  (import "config" "scale" (global $s f64))
  (import "hotswap" "config_size" (func $size (result i32)))
  (import "hotswap" "config_read" (func $read (param i32)))
  (import "hotswap" "emit" (func $emit (param i32 i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "over")
  (data (i32.const 16) "{\"n\":1}")
  (func (export "threshold") (result i32) global.get $t)
  (func (export "scaled") (param f64) (result f64) local.get 0 global.get $s f64.mul)
  (func (export "configSize") (result i32) call $size)
  (func (export "configByte") (param i32) (result i32) i32.const 1024 call $read i32.const 1024 local.get 0 i32.add i32.load8_u)
  (func (export "check") (param i32) (result i32)
    local.get 0 global.get $t i32.gt_s
    if i32.const 0 i32.const 4 i32.const 16 i32.const 7 call $emit end
    local.get 0 global.get $t i32.gt_s))`

describe('wasm loader: the plugin contract', () => {
  const c = sandbox(() => createPluginRegistry({ loader: [workerLoader(), wasmLoader()], logger: quiet, config: { limits: { threshold: 10, scale: 2.5 } } }))

  it('config.<key> globals and the whole config as JSON reach the module; an invalid config is CONFIG_INVALID naming the key; emit reaches events$', async () => {
    await put(c.dir, 'limits.wasm', await watToWasm(LIMITS))
    await c.registry.load(`${c.dir}/limits.wasm`)
    const handle = c.registry.get<{ threshold(): number; scaled(x: number): number; configSize(): number; configByte(i: number): number; check(x: number): number }>('limits')
    expect(await handle.api.threshold()).toBe(10)
    expect(await handle.api.scaled(2)).toBe(5)
    const json = JSON.stringify({ threshold: 10, scale: 2.5 })
    expect(await handle.api.configSize()).toBe(json.length)
    expect(String.fromCharCode(await handle.api.configByte(0), await handle.api.configByte(1))).toBe(json.slice(0, 2))
    const events: unknown[] = []
    const sub = handle.events$.subscribe((e) => events.push({ type: e.type, payload: e.payload, id: e.id }))
    expect(await handle.api.check(11)).toBe(1)
    expect(await handle.api.check(3)).toBe(0)
    sub.unsubscribe()
    expect(events).toEqual([{ type: 'over', payload: { n: 1 }, id: 'limits' }])
    const invalid = await rejection(c.registry.configure('limits', { threshold: 1.5 }))
    expect(invalid.code).toBe('CONFIG_INVALID')
    expect((invalid as unknown as { issues: { path: unknown[] }[] }).issues.map((i) => i.path)).toEqual([['threshold'], ['scale']])
    expect(await handle.api.threshold()).toBe(10)
    await c.registry.configure('limits', { threshold: 20, scale: 1 })
    expect(await handle.api.threshold()).toBe(20)
    expect(c.registry.status('limits').reloadCount).toBe(1)
  })

  it('refuses a mutable config global, an unknown host function, hotswap imports without an exported memory, and an aborted signal', async () => {
    await put(c.dir, 'mut.wasm', await watToWasm('(module (import "config" "threshold" (global (mut i32))) (func (export "f") (result i32) i32.const 1))'))
    expect((await rejection(c.registry.load(`${c.dir}/mut.wasm`))).message).toMatch(/config\.threshold \(global, mutable\)/)
    await put(c.dir, 'net.wasm', await watToWasm('(module (import "hotswap" "http_get" (func)) (memory (export "memory") 1))'))
    expect((await rejection(c.registry.load(`${c.dir}/net.wasm`))).message).toMatch(/hotswap\.http_get/)
    await put(c.dir, 'nomem.wasm', await watToWasm('(module (import "hotswap" "config_size" (func (result i32))))'))
    expect((await rejection(c.registry.load(`${c.dir}/nomem.wasm`))).message).toMatch(/export it as "memory"/)
    await put(c.dir, 'counter.wasm', await readFile(fixture('counter.wasm')))
    await c.registry.load(`${c.dir}/counter.wasm`)
    const aborted = await rejection(c.registry.get('counter').withSignal(AbortSignal.abort()).call('increment'))
    expect([aborted.name, aborted.code]).toEqual(['AbortError', 'CALL_ABORTED'])
    expect(await c.registry.get('counter').call('increment')).toBe(1)
  })
})
