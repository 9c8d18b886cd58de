import { basename } from 'node:path'
import { CallTracker } from './call-tracker.js'
import { abortedCall } from './call-aborted.js'
import type { CallOptions } from './call-aborted.js'
import { RegistryError } from './errors.js'
import type { LoadedPlugin, Loader, PrepareOptions, SetupInit } from './loader.js'
import type { PluginArtifact } from './artifact.js'
import { wasm } from './wasm-api.js'
import type { WasmExports, WasmModule } from './wasm-api.js'

/** Export names the wasm loader treats as the state protocol rather than API functions. */
const SAVE = 'hotswap_save_state'
const LOAD = 'hotswap_load_state'

/**
 * The wasm loader: `WebAssembly.compile` + `instantiate` per version, in the host's thread
 * (WebAssembly is memory-safe, but a loop that never ends still blocks the host). Every
 * exported function is an API function (called async, like every loader's); an optional
 * sidecar `name.plugin.json` (`{ "name", "version" }`) names the plugin, else the file name and
 * `0.0.0`. The module may import only `env.abort` (AssemblyScript's), which throws.
 *
 * State: a module that exports `hotswap_save_state(): number` has its state saved on reload and
 * handed to the new version's `hotswap_load_state(n: number)`. A dropped version is freed
 * with its instance and memory.
 *
 * @returns A {@link Loader} for `.wasm` plugins.
 * @example
 * ```ts
 * const registry = createPluginRegistry({ loader: [workerLoader(), wasmLoader()] })
 * await registry.load('./plugins/counter.wasm')
 * await registry.get('counter').call('increment')
 * ```
 */
export function wasmLoader(): Loader {
  return {
    name: 'wasm',
    canLoad: (source) => source.kind === 'wasm',
    async prepare(source: PluginArtifact, options: PrepareOptions): Promise<LoadedPlugin> {
      let module: WasmModule
      try {
        module = await wasm.compile(source.bytes)
      } catch (error) {
        throw new RegistryError('BUILD_FAILED', `${source.path} is not a valid WebAssembly module: ${(error as Error).message}`, { cause: error })
      }
      for (const item of wasm.Module.imports(module)) {
        if (!(item.module === 'env' && item.name === 'abort' && item.kind === 'function')) {
          throw new RegistryError('LOAD_FAILED', `${source.path} imports ${item.module}.${item.name} (${item.kind}); the wasm loader provides only env.abort`)
        }
      }
      const name = source.manifest?.name ?? basename(source.entry, '.wasm')
      const version = source.manifest?.version ?? '0.0.0'
      return new WasmPlugin(module, name, version, source, options)
    },
    close: () => Promise.resolve(),
  }
}

type WasmFunction = (...args: unknown[]) => unknown

class WasmPlugin implements LoadedPlugin {
  readonly name: string
  readonly version: string
  readonly hasSaveState: boolean
  readonly hasMigrateState: boolean = false
  methods: readonly string[] = []
  #module: WasmModule | undefined
  #functions = new Map<string, WasmFunction>()
  #exports: WasmExports | undefined
  #alive = true
  readonly #tracker = new CallTracker()
  readonly #options: PrepareOptions
  readonly #label: string

  constructor(module: WasmModule, name: string, version: string, source: PluginArtifact, options: PrepareOptions) {
    this.#module = module
    this.name = name
    this.version = version
    this.#options = options
    this.#label = `${name}@${version} (wasm, ${source.path})`
    this.hasSaveState = wasm.Module.exports(module).some((e) => e.name === SAVE && e.kind === 'function')
  }

  get inFlight(): number {
    return this.#tracker.size
  }

  get alive(): boolean {
    return this.#alive
  }

  async setup(init: SetupInit, _timeoutMs: number): Promise<void> {
    const module = this.#module
    if (module === undefined) throw new RegistryError('SETUP_FAILED', `${this.#label} was disposed`)
    const label = this.#label
    let instance: { readonly exports: WasmExports }
    try {
      instance = await wasm.instantiate(module, {
        env: {
          abort: (msg: number, file: number, line: number, column: number) => {
            throw new Error(`${label} aborted (message @${msg}, file @${file}, ${line}:${column})`)
          },
        },
      })
    } catch (cause) {
      throw new RegistryError('SETUP_FAILED', `instantiating ${label} failed: ${(cause as Error).message}`, { cause, pluginId: this.name })
    }
    const exports = instance.exports
    if (init.hasState) {
      const load = exports[LOAD]
      if (typeof load !== 'function') {
        throw new RegistryError('STATE_REJECTED', `${label} has no ${LOAD} export to take the state of ${init.previousVersion ?? 'the store'}`, { pluginId: this.name })
      }
      if (typeof init.state !== 'number') {
        throw new RegistryError('STATE_REJECTED', `${label} takes a number as state, got ${JSON.stringify(init.state)}`, { pluginId: this.name })
      }
      try {
        ;(load as WasmFunction)(init.state)
      } catch (cause) {
        throw new RegistryError('STATE_REJECTED', `${LOAD} of ${label} trapped: ${(cause as Error).message}`, { cause, pluginId: this.name })
      }
    }
    for (const [key, value] of Object.entries(exports)) {
      if (typeof value === 'function' && key !== SAVE && key !== LOAD) this.#functions.set(key, value as WasmFunction)
    }
    this.#exports = exports
    this.methods = [...this.#functions.keys()]
  }

  call(method: string, args: readonly unknown[], options?: CallOptions): Promise<unknown> {
    // Wasm functions run to completion synchronously: a signal can only stop a call before it starts.
    if (options?.signal?.aborted === true) return Promise.reject(abortedCall(options.signal, method, this.#label, this.name))
    const fn = this.#functions.get(method)
    if (fn === undefined) {
      return Promise.reject(
        this.#alive
          ? new RegistryError('UNKNOWN_METHOD', `${this.#label} exports no function ${method}; it has ${this.methods.join(', ')}`, { pluginId: this.name })
          : new RegistryError('WORKER_CRASHED', `${this.#label} was disposed`, { pluginId: this.name }),
      )
    }
    return this.#tracker.run(method, (resolve, reject) => {
      try {
        resolve(fn(...args))
      } catch (error) {
        reject(error)
      }
    })
  }

  drain(timeoutMs: number): Promise<number> {
    return this.#tracker.drain(timeoutMs, this.#label, this.name)
  }

  saveState(): Promise<unknown> {
    const save = this.#exports?.[SAVE]
    if (typeof save !== 'function') return Promise.resolve(undefined)
    try {
      const value = (save as WasmFunction)()
      return Promise.resolve(typeof value === 'bigint' ? Number(value) : value)
    } catch (cause) {
      return Promise.reject(new RegistryError('SAVE_STATE_FAILED', `${SAVE} of ${this.#label} trapped: ${(cause as Error).message}`, { cause, pluginId: this.name }))
    }
  }

  dispose(): Promise<void> {
    this.#alive = false
    this.#tracker.rejectAll(new RegistryError('WORKER_CRASHED', `${this.#label} was disposed`, { pluginId: this.name }))
    this.#functions = new Map()
    this.#exports = undefined
    this.#module = undefined
    void this.#options
    return Promise.resolve()
  }

  onExit(): () => void {
    return () => undefined
  }
}
