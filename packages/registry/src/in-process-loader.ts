import { asyncScheduler, type SchedulerLike } from 'rxjs'
import { CallTracker } from './call-tracker.js'
import { within } from './clock.js'
import { Deadlines } from './deadlines.js'
import type { PluginArtifact } from './artifact.js'
import { runArtifact, withMappedStack } from './artifact-run.js'
import { locateInArtifact } from './code-frame.js'
import { RegistryError } from './errors.js'
import type { LoadedPlugin, Loader, PrepareOptions, SetupInit } from './loader.js'
import type { PluginContext, PluginDefinition, PluginLog } from './plugin.js'
import { StateRejectedError } from './plugin.js'
import { apiMethods } from './remote-error.js'
import { checkConfig, readContract } from './contract.js'
import type { ConfigCheck, PluginContractInfo } from './contract.js'
import { localContext } from './plugin-context.js'
import { isAsyncIterable } from './streams.js'
import { abortableResponse, trackedStream } from './stream-local.js'
import { format } from 'node:util'
import { AsyncLocalStorage } from 'node:async_hooks'
import { abortedCall, whenAborted } from './call-aborted.js'
import type { CallOptions } from './call-aborted.js'

/** The call a signalled in-process call runs in: `ctx.signal` of `owner`, read inside it, is `signal`. */
interface CallScope {
  readonly owner: object
  readonly signal: AbortSignal
}

/** Shared by every in-process version; a version reads only a scope it owns (calls between plugins nest). */
const callScope = new AsyncLocalStorage<CallScope>()

/** Options of {@link inProcessLoader}. */
export interface InProcessLoaderOptions {
  /**
   * Rewrite the stack of every error the loader hands out so that frames of the plugin's bundle
   * name the original file, line and column (through the artifact's source map). Default `true`.
   */
  readonly mapStacks?: boolean | undefined
}

/**
 * The in-process loader: lowest call overhead and no isolation, by design. The plugin runs in
 * the host's thread: a plugin that loops, blocks, floods stdout, calls `process.exit`, posts on
 * `parentPort` or leaks takes the host with it, and timeouts only stop waiting (nothing can be
 * terminated). Use it for your own trusted plugins only; the worker loader is the isolated one.
 *
 * Every version runs its artifact's code (see {@link buildArtifact}: one CommonJS bundle of the
 * plugin's local modules, ESM and TypeScript included) compiled as a fresh module that is in no
 * module cache; npm packages and built-ins come from the host's `require`, resolved from the
 * plugin's folder. The code is compiled so that V8's compilation cache does not keep it (see
 * the note in `artifact-run.ts`), so a disposed version is garbage-collected whatever the
 * plugin was written in, on every Node line (measured in `bench/`: `artifact` suite, 10,000
 * reloads of a 100 KB ESM plugin). Top-level `await` is refused by the build (`BUILD_FAILED`).
 *
 * Stack traces of errors the loader hands out (a throw at load time, a call that throws or
 * rejects) name the original files, lines and columns: the loader maps the frames of the
 * bundle through the artifact's source map itself, so the host's own source-map setting and
 * `Error.prepareStackTrace` are left alone. An error the plugin only logs keeps bundle frames.
 *
 * @param options - Stack mapping on or off.
 * @returns A {@link Loader} for JS and TS plugins; failures surface from `prepare`.
 * @example
 * ```ts
 * const registry = createPluginRegistry({ loader: inProcessLoader() })
 * await registry.load('./plugins/fast.ts')
 * ```
 */
export function inProcessLoader(options: InProcessLoaderOptions = {}): Loader {
  const map: <T>(error: T, artifact: PluginArtifact) => T = options.mapStacks === false ? (error) => error : withMappedStack
  return {
    name: 'in-process',
    canLoad: (artifact) => artifact.kind === 'js',
    // eslint-disable-next-line @typescript-eslint/require-await -- async so that a throw rejects
    async prepare(artifact: PluginArtifact, prepareOptions: PrepareOptions): Promise<LoadedPlugin> {
      let exported: unknown
      try {
        exported = runArtifact(artifact)
      } catch (error) {
        const where = locateInArtifact(map(error as Error | undefined, artifact)?.stack, artifact)
        const message = `${artifact.path}: the module threw while it was evaluated: ${(error as Error | undefined)?.message ?? String(error)}${where === undefined ? '' : `\n${where}`}`
        throw new RegistryError('LOAD_FAILED', message, { cause: error })
      }
      return new InProcessPlugin(checkDefinition(exported, artifact.path), artifact, prepareOptions, map)
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
  readonly contract: PluginContractInfo
  #def: PluginDefinition<object> | undefined
  #api: Record<string, unknown> | undefined
  #names = new Set<string>()
  #alive = true
  readonly #controller = new AbortController()
  readonly #tracker: CallTracker
  /** The calls' time limits (`callTimeoutMs`): one timer for all of them (unref'd, as a worker plugin's: a call waiting on nothing does not hold the process). */
  #deadlines: Deadlines | undefined
  readonly #scheduler: SchedulerLike
  readonly #options: PrepareOptions
  readonly #label: string
  readonly #artifact: PluginArtifact
  readonly #map: <T>(error: T, artifact: PluginArtifact) => T

  constructor(def: PluginDefinition<object>, source: PluginArtifact, options: PrepareOptions, map: <T>(error: T, artifact: PluginArtifact) => T) {
    this.#def = def
    this.#artifact = source
    this.#map = map
    this.name = def.name
    this.version = def.version
    this.hasSaveState = typeof def.saveState === 'function'
    this.hasMigrateState = typeof def.migrateState === 'function'
    this.contract = contractOf(def, source.path)
    this.#options = options
    this.#scheduler = options.scheduler ?? asyncScheduler
    this.#tracker = new CallTracker(this.#scheduler)
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
        state = (await this.#within(Promise.resolve(def.migrateState(state ?? null, init.migrateFrom)), timeoutMs, () => this.#timeout('migrateState()', timeoutMs)))
      } catch (cause) {
        if (cause instanceof RegistryError) throw cause
        throw new RegistryError('STATE_REJECTED', `migrateState() of ${this.#label} threw: ${(cause as Error).message}`, { cause, pluginId: this.name })
      }
    }
    const log = this.#log
    const versionSignal = this.#controller.signal
    const ctx = {
      ...(localContext(init.host, this.name) as Pick<PluginContext, 'config' | 'services' | 'plugins' | 'emit'>),
      state: init.hasState ? state : undefined,
      previousVersion: init.previousVersion,
      log,
      rejectState: (reason?: string) => {
        throw new StateRejectedError(reason ?? 'the state was rejected')
      },
    } as PluginContext
    Object.defineProperty(ctx, 'signal', {
      get: (): AbortSignal => {
        const call = callScope.getStore()
        return call !== undefined && call.owner === this ? call.signal : versionSignal
      },
      enumerable: true,
    })
    let api: unknown
    try {
      api = await this.#within(Promise.resolve().then(() => def.setup(ctx)), timeoutMs, () => this.#timeout('setup()', timeoutMs))
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

  call(method: string, args: readonly unknown[], options?: CallOptions): Promise<unknown> {
    const api = this.#api
    if (api === undefined || !this.#names.has(method)) {
      return Promise.reject(
        api === undefined
          ? new RegistryError('WORKER_CRASHED', `${this.#label} is not running`, { pluginId: this.name })
          : new RegistryError('UNKNOWN_METHOD', `${this.#label} has no method ${method}; it has ${this.methods.join(', ')}`, { pluginId: this.name }),
      )
    }
    const signal = options?.signal
    if (signal?.aborted === true) return Promise.reject(abortedCall(signal, method, this.#label, this.name))
    const timeoutMs = this.#options.callTimeoutMs
    return this.#tracker.run(method, (resolve, reject) => {
      let limit: number | undefined
      let scope: CallScope | undefined
      let unlisten: (() => void) | undefined
      let call: AbortController | undefined
      if (signal !== undefined) {
        // The call's own signal: aborted by the caller or by dispose; ctx.signal inside the call.
        call = new AbortController()
        scope = { owner: this, signal: call.signal }
        const own = call
        const offVersion = whenAborted(this.#controller.signal, () => own.abort(new DOMException('the plugin version was disposed', 'AbortError')))
        const offCaller = whenAborted(signal, () => {
          own.abort(new DOMException('the caller aborted this call', 'AbortError'))
          if (limit !== undefined) this.#deadlines?.cancel(limit)
          reject(abortedCall(signal, method, this.#label, this.name))
        })
        unlisten = () => {
          offVersion()
          offCaller()
        }
      }
      if (timeoutMs !== undefined && Number.isFinite(timeoutMs) && timeoutMs > 0) {
        this.#deadlines ??= new Deadlines(this.#scheduler, timeoutMs, true)
        limit = this.#deadlines.start(() => {
          unlisten?.()
          reject(new RegistryError('CALL_TIMEOUT', `call "${method}" on ${this.#label} took longer than ${timeoutMs} ms`, { pluginId: this.name }))
        })
      }
      const settle = (value: unknown): void => {
        if (limit !== undefined) this.#deadlines?.cancel(limit)
        if (signal !== undefined && call !== undefined && value instanceof Response) {
          const own = call
          const off = unlisten
          resolve(
            abortableResponse(value, signal, () => abortedCall(signal, method, this.#label, this.name), (cancelled) => {
              if (cancelled && !own.signal.aborted) own.abort(new DOMException('the caller stopped reading the response', 'AbortError'))
              off?.()
            }),
          )
          return
        }
        if (scope !== undefined && call !== undefined && isAsyncIterable(value)) {
          const own = call
          resolve(this.#result(method, scopedIterable(value, scope, () => own.abort(new DOMException('the caller stopped reading the stream', 'AbortError'))), signal, unlisten))
          return
        }
        unlisten?.()
        resolve(this.#result(method, value, undefined, undefined))
      }
      const fail = (error: unknown): void => {
        if (limit !== undefined) this.#deadlines?.cancel(limit)
        unlisten?.()
        reject(this.#map(error, this.#artifact))
      }
      try {
        const fn = api[method] as (...a: unknown[]) => unknown
        const result = scope === undefined ? fn(...args) : callScope.run(scope, () => fn(...args))
        if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
          ;(result as PromiseLike<unknown>).then(settle, fail)
        } else {
          settle(result)
        }
      } catch (error) {
        fail(error)
      }
    })
  }

  async validateConfig(value: unknown): Promise<ConfigCheck> {
    const schema = (this.#def as { config?: unknown } | undefined)?.config
    if (schema === undefined) return { ok: true, value }
    try {
      return await checkConfig(schema, value)
    } catch (error) {
      return { ok: false, issues: [{ path: [], message: `the config schema threw: ${(error as Error).message}` }] }
    }
  }

  /** A stream result as a call in flight until it ends; with a signal, its abort ends it (then `unlisten`). */
  #result(method: string, value: unknown, signal: AbortSignal | undefined, unlisten: (() => void) | undefined): unknown {
    if (!isAsyncIterable(value)) return value
    return trackedStream(
      value,
      (cancel) => {
        const release = this.#tracker.hold(method, cancel)
        if (signal === undefined) return release
        const off = whenAborted(signal, () => cancel(abortedCall(signal, method, this.#label, this.name)))
        return () => {
          off()
          unlisten?.()
          release()
        }
      },
      (error) => this.#map(error, this.#artifact),
    )
  }

  drain(timeoutMs: number): Promise<number> {
    return this.#tracker.drain(timeoutMs, this.#label, this.name)
  }

  async saveState(timeoutMs: number): Promise<unknown> {
    const def = this.#def
    if (def?.saveState === undefined) return undefined
    try {
      return await this.#within(Promise.resolve().then(() => def.saveState?.()), timeoutMs, () =>
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
    this.#deadlines?.clear()
    if (def.dispose !== undefined && this.#api !== undefined) {
      await this.#within(Promise.resolve().then(() => def.dispose?.()), timeoutMs, () => this.#timeout('dispose()', timeoutMs)).catch((error: unknown) => {
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

  /** `work`, bounded by `timeoutMs` on the registry's scheduler. */
  #within<T>(work: Promise<T>, timeoutMs: number, onTimeout: () => Error): Promise<T> {
    return within(work, timeoutMs, onTimeout, this.#scheduler)
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

function contractOf(def: PluginDefinition<object>, path: string): PluginContractInfo {
  try {
    return readContract(def)
  } catch (error) {
    throw new RegistryError('INVALID_PLUGIN', `${path}: ${(error as Error).message}`, { pluginId: def.name })
  }
}

/** A stream of a signalled call: its producer runs in the call's scope (so `ctx.signal` is the call's). */
function scopedIterable(source: AsyncIterable<unknown>, scope: CallScope, leave: () => void): AsyncIterable<unknown> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<unknown> {
      const it = callScope.run(scope, () => source[Symbol.asyncIterator]())
      return {
        next: (value?: unknown) => callScope.run(scope, () => it.next(value)),
        return: (value?: unknown) => {
          if (!scope.signal.aborted) leave()
          return typeof it.return === 'function' ? callScope.run(scope, () => (it.return as (v?: unknown) => Promise<IteratorResult<unknown>>)(value)) : Promise.resolve({ value, done: true })
        },
      }
    },
  }
}
