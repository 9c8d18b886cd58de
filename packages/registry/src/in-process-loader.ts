import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, relative, sep, isAbsolute } from 'node:path'
import { pathToFileURL } from 'node:url'
import { compileFunction } from 'node:vm'
import { CallTracker } from './call-tracker.js'
import { RegistryError } from './errors.js'
import type { LoadedPlugin, Loader, PrepareOptions, SetupInit } from './loader.js'
import type { PluginContext, PluginDefinition, PluginLog } from './plugin.js'
import type { PluginSource } from './plugin-source.js'
import { StateRejectedError } from './plugin.js'
import { apiMethods } from './remote-error.js'
import { format } from 'node:util'

/** Options of {@link inProcessLoader}. */
export interface InProcessLoaderOptions {
  /**
   * What to do with an ESM plugin (`.mjs`, or `.js` under `"type": "module"`), which Node can
   * never evict: `'import'` (default) imports it at a content-addressed URL and logs a
   * warning that every version stays in memory; `'refuse'` fails the load with `UNSUPPORTED`.
   */
  readonly esm?: 'import' | 'refuse' | undefined
}

/**
 * The in-process loader: lowest call overhead and no isolation, by design. The plugin runs in
 * the host's thread: a plugin that loops, blocks, floods stdout, calls `process.exit`, posts on
 * `parentPort` or leaks takes the host with it, and timeouts only stop waiting (nothing can be
 * terminated). Use it for your own trusted plugins only; the worker loader is the isolated one.
 *
 * CommonJS plugins (`.cjs`, `.js` outside `"type": "module"`, directory plugins) are
 * compiled per version with `vm.compileFunction` in a CommonJS wrapper; relative `require`s
 * inside the plugin's root are compiled per version too, everything else comes from the
 * host's `require`. Nothing of a version is kept once it is disposed: `vm.compileFunction`
 * does not go through V8's compilation cache, so old versions are garbage-collected
 * (measured in `bench/`: RSS plateaus, heap flat over thousands of reloads).
 *
 * ESM plugins cannot be freed: Node's ESM cache has no eviction, so each version imported
 * (at `file.mjs?v=<content hash>`) stays in memory until the process exits. The loader logs a
 * warning the first time it imports such a file, and the versions and bytes it holds at
 * `debug` on each later import; use `.cjs` or the worker loader for plugins that change often.
 * Inside a compiled CJS plugin, dynamic `import()` is not available.
 *
 * @param options - ESM policy.
 * @returns A {@link Loader} for JS plugins; failures surface from `prepare`.
 * @example
 * ```ts
 * const registry = createPluginRegistry({ loader: inProcessLoader() })
 * await registry.load('./plugins/fast.cjs')
 * ```
 */
export function inProcessLoader(options: InProcessLoaderOptions = {}): Loader {
  const esm = options.esm ?? 'import'
  /** ESM versions imported per plugin path, which Node keeps until exit. */
  const retained = new Map<string, { versions: number; bytes: number }>()
  return {
    name: 'in-process',
    canLoad: (source) => source.kind === 'js',
    async prepare(source: PluginSource, prepareOptions: PrepareOptions): Promise<LoadedPlugin> {
      let exported: unknown
      if (source.format === 'esm') {
        if (esm === 'refuse') {
          throw new RegistryError('UNSUPPORTED', `${source.path} is ESM, which the in-process loader cannot free; use .cjs or the worker loader`)
        }
        const kept = (retained.get(source.path) ?? { versions: 0, bytes: 0 })
        kept.versions++
        kept.bytes += source.bytes.byteLength
        retained.set(source.path, kept)
        prepareOptions.log(
          kept.versions === 1
            ? {
                level: 'warn',
                message: `in-process loader: ${source.path} is ESM; Node cannot evict ES modules, so every version of it loaded stays in memory until the process exits (logged once per file; later versions are logged at debug). Use .cjs or the worker loader for plugins that reload often.`,
              }
            : {
                level: 'debug',
                message: `in-process loader: ${kept.versions} versions of the ESM plugin ${source.path} (${kept.bytes} bytes of source) are held in memory`,
              },
        )
        try {
          exported = ((await import(`${pathToFileURL(source.entry).href}?v=${source.hash}`)) as { default?: unknown }).default
        } catch (error) {
          throw new RegistryError('LOAD_FAILED', `${source.path}: ${(error as Error).message}`, { cause: error })
        }
      } else {
        try {
          exported = runCommonJs(Buffer.from(source.bytes).toString('utf8'), source.entry, source.root, new Map())
        } catch (error) {
          throw new RegistryError('LOAD_FAILED', `${source.path}: ${(error as Error).message}`, { cause: error })
        }
        const inner = (exported as { default?: unknown } | undefined)?.default
        if (typeof (exported as { setup?: unknown } | undefined)?.setup !== 'function' && inner !== undefined) exported = inner
      }
      return new InProcessPlugin(checkDefinition(exported, source.path), source, prepareOptions)
    },
    close: () => Promise.resolve(),
  }
}

class InProcessPlugin implements LoadedPlugin {
  readonly name: string
  readonly version: string
  readonly hasSaveState: boolean
  readonly hasMigrateState: boolean
  methods: readonly string[] = []
  #def: PluginDefinition<object> | undefined
  #api: Record<string, unknown> | undefined
  #names = new Set<string>()
  #alive = true
  readonly #controller = new AbortController()
  readonly #tracker = new CallTracker()
  readonly #options: PrepareOptions
  readonly #label: string

  constructor(def: PluginDefinition<object>, source: PluginSource, options: PrepareOptions) {
    this.#def = def
    this.name = def.name
    this.version = def.version
    this.hasSaveState = typeof def.saveState === 'function'
    this.hasMigrateState = typeof def.migrateState === 'function'
    this.#options = options
    this.#label = `${String(def.name)}@${String(def.version)} (in-process, ${source.path})`
  }

  get inFlight(): number {
    return this.#tracker.size
  }

  get alive(): boolean {
    return this.#alive
  }

  async setup(init: SetupInit, timeoutMs: number): Promise<void> {
    const def = this.#def
    if (def === undefined) throw new RegistryError('SETUP_FAILED', `${this.#label} was disposed`)
    let state = init.state
    if (init.migrateFrom !== undefined && init.hasState && def.migrateState !== undefined) {
      try {
        state = (await withTimeout(Promise.resolve(def.migrateState(state ?? null, init.migrateFrom)), timeoutMs, () => this.#timeout('migrateState()', timeoutMs)))
      } catch (cause) {
        if (cause instanceof RegistryError) throw cause
        throw new RegistryError('STATE_REJECTED', `migrateState() of ${this.#label} threw: ${(cause as Error).message}`, { cause, pluginId: this.name })
      }
    }
    const log = this.#log
    const ctx: PluginContext = {
      state: init.hasState ? state : undefined,
      previousVersion: init.previousVersion,
      log,
      signal: this.#controller.signal,
      rejectState: (reason?: string) => {
        throw new StateRejectedError(reason ?? 'the state was rejected')
      },
    }
    let api: unknown
    try {
      api = await withTimeout(Promise.resolve().then(() => def.setup(ctx)), timeoutMs, () => this.#timeout('setup()', timeoutMs))
      if (api === null || (typeof api !== 'object' && typeof api !== 'function')) {
        throw new TypeError(`setup() returned ${api === null ? 'null' : typeof api}, not an API object`)
      }
    } catch (cause) {
      if (cause instanceof RegistryError) throw cause
      const rejected = cause instanceof Error && cause.name === 'StateRejectedError'
      const code = rejected ? 'STATE_REJECTED' : 'SETUP_FAILED'
      const what = rejected ? `rejected the state of ${init.previousVersion ?? 'the store'}` : 'threw'
      throw new RegistryError(code, `setup() of ${this.#label} ${what}: ${(cause as Error).message}`, { cause, pluginId: this.name })
    }
    this.#api = api as Record<string, unknown>
    this.methods = apiMethods(api)
    this.#names = new Set(this.methods)
  }

  call(method: string, args: readonly unknown[]): Promise<unknown> {
    const api = this.#api
    if (api === undefined || !this.#names.has(method)) {
      return Promise.reject(
        api === undefined
          ? new RegistryError('WORKER_CRASHED', `${this.#label} is not running`, { pluginId: this.name })
          : new RegistryError('UNKNOWN_METHOD', `${this.#label} has no method ${method}; it has ${this.methods.join(', ')}`, { pluginId: this.name }),
      )
    }
    const timeoutMs = this.#options.callTimeoutMs
    return this.#tracker.run(method, (resolve, reject) => {
      let timer: NodeJS.Timeout | undefined
      if (timeoutMs !== undefined && Number.isFinite(timeoutMs) && timeoutMs > 0) {
        timer = setTimeout(() => reject(new RegistryError('CALL_TIMEOUT', `call "${method}" on ${this.#label} took longer than ${timeoutMs} ms`, { pluginId: this.name })), timeoutMs)
      }
      try {
        const result = (api[method] as (...a: unknown[]) => unknown)(...args)
        if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
          ;(result as PromiseLike<unknown>).then(
            (value) => {
              clearTimeout(timer)
              resolve(value)
            },
            (error: unknown) => {
              clearTimeout(timer)
              reject(error)
            },
          )
        } else {
          clearTimeout(timer)
          resolve(result)
        }
      } catch (error) {
        clearTimeout(timer)
        reject(error)
      }
    })
  }

  drain(timeoutMs: number): Promise<number> {
    return this.#tracker.drain(timeoutMs, this.#label, this.name)
  }

  async saveState(timeoutMs: number): Promise<unknown> {
    const def = this.#def
    if (def?.saveState === undefined) return undefined
    try {
      return await withTimeout(Promise.resolve().then(() => def.saveState?.()), timeoutMs, () =>
        new RegistryError('SAVE_STATE_FAILED', `saveState() of ${this.#label} did not finish within ${timeoutMs} ms`, { pluginId: this.name }),
      )
    } catch (cause) {
      if (cause instanceof RegistryError) throw cause
      throw new RegistryError('SAVE_STATE_FAILED', `saveState() of ${this.#label} threw: ${(cause as Error).message}`, { cause, pluginId: this.name })
    }
  }

  async dispose(timeoutMs: number): Promise<void> {
    const def = this.#def
    if (def === undefined) return
    this.#alive = false
    this.#controller.abort()
    if (def.dispose !== undefined && this.#api !== undefined) {
      await withTimeout(Promise.resolve().then(() => def.dispose?.()), timeoutMs, () => this.#timeout('dispose()', timeoutMs)).catch((error: unknown) => {
        this.#options.log({ level: 'warn', message: `dispose() of ${this.#label} failed: ${(error as Error).message}` })
      })
    }
    this.#tracker.rejectAll(new RegistryError('WORKER_CRASHED', `${this.#label} was disposed`, { pluginId: this.name }))
    this.#def = undefined
    this.#api = undefined
    this.#names = new Set()
  }

  onExit(): () => void {
    return () => undefined
  }

  get #log(): PluginLog {
    const line = (level: 'debug' | 'info' | 'warn' | 'error') => (...args: unknown[]) =>
      this.#options.log({ level, message: `[${this.name}@${this.version}] ${format(...args)}` })
    return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') }
  }

  #timeout(what: string, timeoutMs: number): RegistryError {
    return new RegistryError('SETUP_TIMEOUT', `${what} of ${this.#label} did not finish within ${timeoutMs} ms (the in-process loader cannot stop it)`, {
      pluginId: this.name,
    })
  }
}

function checkDefinition(value: unknown, path: string): PluginDefinition<object> {
  if (value === null || typeof value !== 'object') {
    throw new RegistryError('INVALID_PLUGIN', `${path}: the default export is ${value === null ? 'null' : typeof value}, not a plugin object with name, version and setup`)
  }
  const def = value as Record<string, unknown>
  if (typeof def.setup !== 'function') throw new RegistryError('INVALID_PLUGIN', `${path}: the default export has no setup() function`)
  for (const key of ['saveState', 'migrateState', 'dispose']) {
    if (def[key] !== undefined && typeof def[key] !== 'function') throw new RegistryError('INVALID_PLUGIN', `${path}: ${key} must be a function`)
  }
  if (typeof def.name !== 'string' || typeof def.version !== 'string') {
    throw new RegistryError('INVALID_PLUGIN', `${path}: the default export needs a string name and version`)
  }
  return value as PluginDefinition<object>
}

const PARAMS = ['exports', 'require', 'module', '__filename', '__dirname']

function runCommonJs(code: string, file: string, root: string, cache: Map<string, { exports: unknown }>): unknown {
  const module = { exports: {} as unknown }
  cache.set(file, module)
  const fn = compileFunction(code.startsWith('#!') ? `//${code}` : code, PARAMS, { filename: file }) as (...args: unknown[]) => void
  fn.call(module.exports, module.exports, versionRequire(file, root, cache), module, file, dirname(file))
  return module.exports
}

function versionRequire(from: string, root: string, cache: Map<string, { exports: unknown }>): NodeJS.Require {
  const host = createRequire(from)
  const own = ((specifier: string): unknown => {
    const resolved = host.resolve(specifier)
    const rel = relative(root, resolved)
    const inside = isAbsolute(resolved) && rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) && !rel.split(sep).includes('node_modules')
    if (!inside) return host(specifier)
    const cached = cache.get(resolved)
    if (cached !== undefined) return cached.exports
    if (resolved.endsWith('.json')) {
      const json = { exports: JSON.parse(readFileSync(resolved, 'utf8')) as unknown }
      cache.set(resolved, json)
      return json.exports
    }
    if (!resolved.endsWith('.js') && !resolved.endsWith('.cjs')) return host(specifier)
    return runCommonJs(readFileSync(resolved, 'utf8'), resolved, root, cache)
  }) as NodeJS.Require
  own.resolve = host.resolve
  own.cache = host.cache
  own.main = host.main
  own.extensions = host.extensions
  return own
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(onTimeout()), timeoutMs)
    }),
  ]).finally(() => clearTimeout(timer))
}
