import { mkdir } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import type { RegistryError } from './errors.js'
import type { RegistryEvent } from './events.js'
import { inProcessLoader } from './in-process-loader.js'
import { createPluginRegistry } from './registry.js'
import { counterSource, moduleSource, put, quiet, rejection, sandbox } from './test-support.js'
import { workerLoader } from './worker-loader.js'

const t = sandbox()

describe('in-process loader', () => {
  it('runs an ESM plugin from its artifact per version, with no warning that it stays in memory', async () => {
    t.registry = createPluginRegistry({ loader: inProcessLoader(), logger: quiet })
    const events: RegistryEvent[] = []
    t.registry.events$.subscribe((e) => events.push(e))
    const status = await t.registry.load(await put(t.dir, 'counter.mjs', counterSource('esm', '1.0.0')))
    const handle = t.registry.get('counter')
    await handle.call('increment')
    await put(t.dir, 'counter.mjs', counterSource('esm', '1.0.1'))
    const after = await t.registry.reload('counter')
    expect(after.hash).not.toBe(status.hash)
    expect(await handle.call('version')).toBe('1.0.1')
    expect(await handle.call('get')).toBe(1)
    expect(events.filter((e) => e.type === 'log' && e.level === 'warn')).toEqual([])
  })

  it('compiles every file of a CJS directory plugin per version (no stale relative require)', async () => {
    t.registry = createPluginRegistry({ loader: inProcessLoader(), logger: quiet })
    const pdir = `${t.dir}/greeter`
    await mkdir(`${pdir}/lib`, { recursive: true })
    await put(pdir, 'package.json', JSON.stringify({ name: 'greeter', version: '1.0.0', main: 'lib/main.js' }))
    await put(pdir, 'lib/words.js', `module.exports = { hello: 'hello' }`)
    await put(pdir, 'lib/data.json', `{ "mark": "!" }`)
    const main = (v: string) =>
      `const words = require('./words')\nconst { mark } = require('./data.json')\nconst path = require('node:path')\nmodule.exports = { name: 'greeter', version: '${v}', setup() { return { greet: (w) => words.hello + ' ' + w + mark, base: () => path.basename(__filename) } } }`
    await put(pdir, 'lib/main.js', main('1.0.0'))
    await t.registry.load(pdir)
    const handle = t.registry.get('greeter')
    expect(await handle.call('greet', 'bob')).toBe('hello bob!')
    expect(await handle.call('base')).toBe('main.js')
    await put(pdir, 'lib/words.js', `module.exports = { hello: 'hi' }`)
    await put(pdir, 'lib/data.json', `{ "mark": "?" }`)
    await put(pdir, 'lib/main.js', main('1.0.1'))
    await t.registry.reload('greeter')
    expect(await handle.call('greet', 'bob')).toBe('hi bob?')
  })

  it('aborts ctx.signal and runs dispose when a version is dropped', async () => {
    t.registry = createPluginRegistry({ loader: inProcessLoader(), logger: quiet, keepPrevious: false })
    const g = globalThis as { __disposed?: string[] }
    g.__disposed = []
    const source = (v: string) =>
      moduleSource(
        'cjs',
        'let signal',
        `name: 'tidy', version: '${v}', setup(ctx) { signal = ctx.signal; return { ping: () => 'pong' } }, dispose() { globalThis.__disposed.push('${v}:' + signal.aborted) },`,
      )
    const path = await put(t.dir, 'tidy.cjs', source('1.0.0'))
    await t.registry.load(path)
    await put(t.dir, 'tidy.cjs', source('1.0.1'))
    await t.registry.reload('tidy')
    await t.registry.unload('tidy')
    expect(g.__disposed).toEqual(['1.0.0:true', '1.0.1:true'])
    delete g.__disposed
  })

  it('a setup that throws is SETUP_FAILED and a slow setup is SETUP_TIMEOUT', async () => {
    t.registry = createPluginRegistry({ loader: inProcessLoader(), logger: quiet, setupTimeoutMs: 100 })
    await put(t.dir, 'a.cjs', moduleSource('cjs', '', `name: 'a', version: '1.0.0', setup() { throw new Error('no') },`))
    await put(t.dir, 'b.cjs', moduleSource('cjs', '', `name: 'b', version: '1.0.0', setup() { return new Promise(() => {}) },`))
    expect(((await t.registry.load(`${t.dir}/a.cjs`).catch((e: unknown) => e)) as RegistryError).code).toBe('SETUP_FAILED')
    expect(((await t.registry.load(`${t.dir}/b.cjs`).catch((e: unknown) => e)) as RegistryError).code).toBe('SETUP_TIMEOUT')
    expect(t.registry.list()).toEqual([])
  })
})

describe.each([
  ['in-process', () => inProcessLoader()],
  ['worker', () => workerLoader()],
])('setup() failures, %s loader', (_label, loader) => {
  it.each([
    ['throws', 'SETUP_FAILED', "throw new Error('setup broke')", /threw: setup broke/],
    ['calls ctx.rejectState()', 'STATE_REJECTED', "ctx.rejectState('count must be a string')", /rejected the state of 1\.0\.0: count must be a string/],
    ['throws a StateRejectedError', 'STATE_REJECTED', "const e = new Error('old shape'); e.name = 'StateRejectedError'; throw e", /rejected the state of 1\.0\.0: old shape/],
  ])('a setup that %s with a state to take is %s, and the old version keeps serving', async (_what, code, statement, message) => {
    t.registry = createPluginRegistry({ loader: loader(), logger: quiet })
    await t.registry.load(await put(t.dir, 'counter.cjs', counterSource('cjs', '1.0.0')))
    await t.registry.get('counter').call('increment')
    await put(t.dir, 'counter.cjs', counterSource('cjs', '1.0.1').replace('count = ctx.state?.count ?? 0', statement))
    const error = await rejection(t.registry.reload('counter'))
    expect(error.code).toBe(code)
    expect(error.message).toMatch(message)
    expect(await t.registry.get('counter').call('get')).toBe(1)
  })
})
