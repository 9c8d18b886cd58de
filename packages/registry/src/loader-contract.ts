import { deepStrictEqual, ok, rejects, strictEqual } from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { contractCases } from './contract-cases.js'
import { RegistryError } from './errors.js'
import type { Loader } from './loader.js'
import { createPluginRegistry } from './registry.js'
import type { PluginRegistry, RegistryLogger } from './registry-types.js'

/** Writes one version of the contract's counter plugin for a loader that does not load JS (for example wasm). */
export interface LoaderContractPlugin {
  /** The file name the plugin is written to, inside the case's directory. */
  readonly file: string
  /**
   * Writes version `version` of a plugin with id `counter` into `dir` and returns its path.
   * With `broken`, writes something that cannot load. The plugin has `increment()` (returns the
   * new count), `get()`, and saves `{ count }` (or its own equivalent) across reloads.
   */
  write(dir: string, version: string, broken: boolean): Promise<string>
  /**
   * Whether the plugin also has the async methods of the JS counter: `slow(ms)` (resolves
   * with its version after `ms`) and `fail(message)` (throws a `TypeError`). Default `false`.
   */
  readonly async?: boolean | undefined
}

/** How {@link loaderContract} gets the loader under test and its plugins. */
export interface LoaderContractOptions {
  /** Returns a new loader; called once per case (the registry closes it). */
  readonly loader: () => Loader
  /** A JS counter plugin written as `'esm'` or `'cjs'` (the contract writes it), or your own writer. */
  readonly plugin: 'esm' | 'cjs' | LoaderContractPlugin
}

/** One case of the loader contract: a name for the test runner and the check itself. */
export interface LoaderContractCase {
  /** What the case checks, to use as the test's name. */
  readonly name: string
  /** Runs the case in a fresh temp directory with a fresh registry; rejects with an `AssertionError` when the loader misbehaves. */
  readonly run: () => Promise<void>
}

/**
 * The behaviour every {@link Loader} must have, as framework-neutral test cases (they use
 * `node:assert`), so a third-party loader is tested as the worker, in-process and wasm
 * loaders are: load and call, move the state on reload, lose no update under concurrent
 * calls and reloads, keep the old version serving when the new one does not load, typed
 * errors for unknown methods and plugin throws, unload, and drain cancellation.
 *
 * @param options - The loader factory and the plugin to load through it.
 * @returns The cases; register each one with your test runner.
 * @example
 * ```ts
 * import { describe, it } from 'vitest'
 * import { loaderContract, workerLoader } from '@hotswap/registry'
 * describe('workerLoader', () => {
 *   for (const c of loaderContract({ loader: () => workerLoader(), plugin: 'esm' })) it(c.name, c.run, 30_000)
 * })
 * ```
 */
export function loaderContract(options: LoaderContractOptions): LoaderContractCase[] {
  const plugin = typeof options.plugin === 'string' ? jsPlugin(options.plugin) : options.plugin
  const isAsync = plugin.async ?? false
  const cases: LoaderContractCase[] = []
  const test = (name: string, body: (registry: PluginRegistry, dir: string) => Promise<void>): void => {
    cases.push({
      name,
      run: async () => {
        const dir = await mkdtemp(join(tmpdir(), 'hotswap-loader-contract-'))
        const registry = createPluginRegistry({ loader: options.loader(), logger: QUIET, drainTimeoutMs: 200, setupTimeoutMs: 2000, loadTimeoutMs: 2000 })
        try {
          await body(registry, dir)
        } finally {
          await registry.close()
          await rm(dir, { recursive: true, force: true })
        }
      },
    })
  }
  type Api = { increment(): number; get(): number; slow(ms: number): string; fail(m: string): never; trap(): void }

  test('loads, calls asynchronously, and reports the loader', async (registry, dir) => {
    const status = await registry.load(await plugin.write(dir, '1.0.0', false))
    strictEqual(status.id, 'counter')
    strictEqual(status.version, '1.0.0')
    strictEqual(status.state, 'Running')
    const handle = registry.get<Api>('counter')
    const pending = handle.call('increment')
    ok(pending instanceof Promise)
    strictEqual(await pending, 1)
    strictEqual(await handle.api.increment(), 2)
    strictEqual(await handle.call('get'), 2)
  })

  test('moves the state into the new version on reload', async (registry, dir) => {
    await registry.load(await plugin.write(dir, '1.0.0', false))
    const handle = registry.get<Api>('counter')
    for (let i = 0; i < 3; i++) await handle.call('increment')
    await plugin.write(dir, '1.0.1', false)
    const status = await registry.reload('counter')
    deepStrictEqual([status.version, status.reloadCount, status.previousVersion], ['1.0.1', 1, '1.0.0'])
    strictEqual(await handle.call('get'), 3)
  })

  test('loses no update: 4 callers, 1,000 increments, 10 reloads', async (registry, dir) => {
    await registry.load(await plugin.write(dir, '1.0.0', false))
    const handle = registry.get<Api>('counter')
    let reloads = 0
    const seen: number[] = []
    const caller = async (): Promise<void> => {
      for (let i = 0; i < 250; i++) {
        seen.push(await handle.call('increment'))
        if (reloads < 10) await new Promise((r) => setTimeout(r, 1))
      }
    }
    const reloader = async (): Promise<void> => {
      for (let v = 1; v <= 10; v++) {
        await plugin.write(dir, `1.0.${v}`, false)
        await registry.reload('counter')
        reloads++
        await new Promise((r) => setTimeout(r, 5))
      }
    }
    await Promise.all([caller(), caller(), caller(), caller(), reloader()])
    strictEqual(reloads, 10)
    strictEqual(await handle.call('get'), 1000)
    strictEqual(new Set(seen).size, 1000)
  })

  test('keeps the old version serving when the new one does not load', async (registry, dir) => {
    await registry.load(await plugin.write(dir, '1.0.0', false))
    const handle = registry.get<Api>('counter')
    await handle.call('increment')
    await plugin.write(dir, '1.0.1', true)
    // Bytes that cannot be built (BUILD_FAILED) or loaded (LOAD_FAILED): either way, the old version serves.
    await rejects(registry.reload('counter'), isCode('BUILD_FAILED', 'LOAD_FAILED'))
    strictEqual(await handle.call('increment'), 2)
    const status = registry.status('counter')
    deepStrictEqual([status.state, status.version], ['Failed', '1.0.0'])
  })

  test('rejects an unknown method with UNKNOWN_METHOD and a plugin error with that error', async (registry, dir) => {
    await registry.load(await plugin.write(dir, '1.0.0', false))
    const handle = registry.get<Api>('counter')
    await rejects(handle.call('missing' as 'get'), isCode('UNKNOWN_METHOD'))
    await rejects(isAsync ? handle.call('fail', 'boom') : handle.call('trap'), (error: unknown) => error instanceof Error && (isAsync ? /^boom$/ : /unreachable/).test(error.message))
    strictEqual(await handle.call('increment'), 1)
  })

  test('unload drops the version; the handle then rejects with NOT_FOUND', async (registry, dir) => {
    await registry.load(await plugin.write(dir, '1.0.0', false))
    const handle = registry.get<Api>('counter')
    await registry.unload('counter')
    strictEqual(registry.has('counter'), false)
    await rejects(handle.call('get'), isCode('NOT_FOUND'))
  })

  if (isAsync) {
    test('cancels calls that outlive the drain with DRAIN_TIMEOUT', async (registry, dir) => {
      await registry.load(await plugin.write(dir, '1.0.0', false))
      const handle = registry.get<Api>('counter')
      const long = handle.call('slow', 3000).then(
        () => undefined,
        (error: unknown) => error,
      )
      const short = handle.call('slow', 20)
      await plugin.write(dir, '1.0.1', false)
      await registry.reload('counter')
      strictEqual(await short, '1.0.0')
      ok(isCode('DRAIN_TIMEOUT')(await long))
      strictEqual(await handle.call('slow', 1), '1.0.1')
    })
  }
  if (typeof options.plugin === 'string') cases.push(...contractCases(options.loader, options.plugin))
  return cases
}

/**
 * The module format of a generated plugin.
 *
 * @internal
 */
export type Format = 'esm' | 'cjs'

/**
 * Source of a plugin module whose default export is the object literal `body`.
 *
 * @internal
 */
export function moduleSource(format: Format, prelude: string, body: string): string {
  return format === 'esm' ? `${prelude}\nexport default {${body}}\n` : `${prelude}\nmodule.exports = {${body}}\n`
}

/**
 * A counter plugin: state `{ count }`; setup yields a tick before it is ready.
 *
 * @internal
 */
export function counterSource(format: Format, version: string, extra = ''): string {
  return moduleSource(
    format,
    `let count = 0\nlet ready = false`,
    `
  name: 'counter',
  version: '${version}',
  async setup(ctx) {
    count = ctx.state?.count ?? 0
    await new Promise((r) => setImmediate(r))
    ready = true
    return {
      async increment() { if (!ready) throw new Error('half-initialised'); const n = ++count; await new Promise((r) => setImmediate(r)); return n },
      get() { return count },
      version() { return '${version}' },
      slow(ms) { return new Promise((r) => setTimeout(() => r('${version}'), ms)) },
      fail(message) { const e = new TypeError(message); e.code = 'E_PLUGIN'; throw e },
      previous() { return ctx.previousVersion ?? null },
    }
  },
  saveState() { return { count } },
  ${extra}`,
  )
}


const QUIET: RegistryLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined }

function isCode(...codes: string[]): (error: unknown) => boolean {
  return (error) => error instanceof RegistryError && codes.includes(error.code)
}

function jsPlugin(format: Format): LoaderContractPlugin {
  const file = format === 'esm' ? 'counter.mjs' : 'counter.cjs'
  return {
    file,
    async: true,
    async write(dir, version, broken) {
      const path = join(dir, file)
      await writeFile(path, broken ? 'module.exports = {' : counterSource(format, version))
      return path
    },
  }
}
