import { basename } from 'node:path'
import { CallTracker } from './call-tracker.js'
import { abortedCall } from './call-aborted.js'
import type { CallOptions } from './call-aborted.js'
import { RegistryError } from './errors.js'
import type { LoadedPlugin, Loader, PrepareOptions, SetupInit } from './loader.js'
import type { PluginArtifact } from './artifact.js'
import { wasm } from './wasm-api.js'
import type { WasmExports, WasmModule } from './wasm-api.js'
import { readWasmImports } from './wasm-imports.js'
import type { WasmValueType } from './wasm-imports.js'
import type { ConfigCheck, ConfigIssue, PluginContractInfo } from './contract.js'
import type { JsonValue } from '@hotswap/state-store'

/** Export names the wasm loader treats as the state protocol rather than API functions. */
const SAVE = 'hotswap_save_state'
const LOAD = 'hotswap_load_state'

/**
 * The wasm loader: `WebAssembly.compile` + `instantiate` per version, in the host's thread
 * (WebAssembly is memory-safe, but a loop that never ends still blocks the host). Every
 * exported function is an API function (called async, like every loader's); an optional
 * sidecar `name.plugin.json` (`{ "name", "version" }`) names the plugin, else the file name and
 * `0.0.0`. The module may import `env.abort` (AssemblyScript's), which throws, and the plugin
 * contract below.
 *
 * Contract: the plugin's config (`createPluginRegistry({ config })`, `registry.configure`)
 * reaches the module two ways. Each immutable number global it imports as `config.<key>`
 * (`(import "config" "limit" (global i32))`) is that key of the config; such imports are the
 * module's config schema: a config without a number of the right type (i32/i64 integers,
 * f32/f64 finite) at each key fails with `CONFIG_INVALID` naming the key, and the old version
 * keeps serving. The whole config as UTF-8 JSON: `hotswap.config_size(): i32` gives its length
 * and `hotswap.config_read(at: i32)` writes it into the exported `memory` at `at`. Events:
 * `hotswap.emit(typeAt, typeLength, payloadAt, payloadLength)` publishes an event (type text,
 * JSON payload, length 0 for none, both read from `memory`) to `handle.events$`. Calls with a
 * signal are refused when it is already aborted (a wasm function runs to completion). Host
 * services, dependencies, streams and web handlers are for JS plugins only.
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
      const globals = new Map<string, WasmValueType>()
      for (const item of readWasmImports(source.bytes)) {
        if (item.module === 'config' && item.kind === 'global' && item.type !== undefined && item.mutable !== true) {
          globals.set(item.name, item.type)
          continue
        }
        if (item.kind === 'function' && ((item.module === 'env' && item.name === 'abort') || (item.module === 'hotswap' && HOST_FUNCTIONS.has(item.name)))) continue
        throw new RegistryError(
          'LOAD_FAILED',
          `${source.path} imports ${item.module}.${item.name} (${item.kind}${item.mutable === true ? ', mutable' : ''}); the wasm loader provides env.abort, immutable number globals config.<key> (from the plugin's config), and the functions hotswap.config_size, hotswap.config_read, hotswap.emit`,
        )
      }
      const usesHost = wasm.Module.imports(module).some((item) => item.module === 'hotswap')
      if (usesHost && !wasm.Module.exports(module).some((e) => e.name === 'memory' && e.kind === 'memory')) {
        throw new RegistryError('LOAD_FAILED', `${source.path} imports hotswap functions, which read and write its memory: export it as "memory"`)
      }
      const name = source.manifest?.name ?? basename(source.entry, '.wasm')
      const version = source.manifest?.version ?? '0.0.0'
      return new WasmPlugin(module, name, version, source, options, globals)
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
  readonly #tracker: CallTracker
  readonly #options: PrepareOptions
  readonly #label: string

  readonly contract: PluginContractInfo
  readonly #globals: ReadonlyMap<string, WasmValueType>

  constructor(module: WasmModule, name: string, version: string, source: PluginArtifact, options: PrepareOptions, globals: ReadonlyMap<string, WasmValueType>) {
    this.#module = module
    this.#globals = globals
    this.contract = { uses: [], dependsOn: {}, hasConfigSchema: globals.size > 0 }
    this.name = name
    this.version = version
    this.#options = options
    this.#tracker = new CallTracker(options.scheduler)
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
    let instance: { readonly exports: WasmExports } | undefined
    const config = init.host?.config
    const json = new TextEncoder().encode(JSON.stringify(config ?? null))
    const memory = (): Uint8Array => new Uint8Array((instance?.exports.memory as { buffer: ArrayBuffer }).buffer)
    const host = init.host
    const configGlobals: Record<string, number | bigint> = {}
    for (const [key, type] of this.#globals) {
      const value = (config as Record<string, unknown> | null | undefined)?.[key]
      configGlobals[key] = type === 'i64' ? BigInt(value as number) : (value as number)
    }
    try {
      instance = await wasm.instantiate(module, {
        env: {
          abort: (msg: number, file: number, line: number, column: number) => {
            throw new Error(`${label} aborted (message @${msg}, file @${file}, ${line}:${column})`)
          },
        },
        config: configGlobals,
        hotswap: {
          config_size: () => json.byteLength,
          config_read: (at: number) => memory().set(json, at),
          emit: (typeAt: number, typeLength: number, payloadAt: number, payloadLength: number) => {
            const bytes = memory()
            const type = new TextDecoder().decode(bytes.subarray(typeAt, typeAt + typeLength))
            const text = new TextDecoder().decode(bytes.subarray(payloadAt, payloadAt + payloadLength))
            if (type.length === 0) throw new TypeError(`${label}: hotswap.emit needs a non-empty event type`)
            host?.emit(type, payloadLength === 0 ? null : (JSON.parse(text) as JsonValue))
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

  /** Checks that every `config.<key>` global the module imports has a number of its type in the config. */
  validateConfig(value: unknown): Promise<ConfigCheck> {
    const issues: ConfigIssue[] = []
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      issues.push({ path: [], message: `expected an object with ${[...this.#globals.keys()].join(', ')} (the config globals ${this.#label} imports)` })
      return Promise.resolve({ ok: false, issues })
    }
    for (const [key, type] of this.#globals) {
      const problem = numberProblem((value as Record<string, unknown>)[key], type)
      if (problem !== undefined) issues.push({ path: [key], message: `${problem} (imported as config.${key}: ${type})` })
    }
    return Promise.resolve(issues.length === 0 ? { ok: true, value } : { ok: false, issues })
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

/** The host functions a module may import from `hotswap`. */
const HOST_FUNCTIONS: ReadonlySet<string> = new Set(['config_size', 'config_read', 'emit'])

function numberProblem(value: unknown, type: WasmValueType): string | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value)) return `expected a finite number, got ${value === undefined ? 'nothing' : JSON.stringify(value)}`
  if (type === 'i32' && !(Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 32)) return `expected a 32-bit integer, got ${value}`
  if (type === 'i64' && !Number.isSafeInteger(value)) return `expected a safe integer, got ${value}`
  return undefined
}
