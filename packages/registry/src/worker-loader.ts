import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import type { ResourceLimits } from 'node:worker_threads'
import { CallTracker } from './call-tracker.js'
import { RegistryError } from './errors.js'
import type { LoadedPlugin, Loader, PrepareOptions, SetupInit } from './loader.js'
import type { PluginArtifact as PluginSource } from './artifact.js'
import { reviveError } from './remote-error.js'
import type { SerializedError } from './remote-error.js'
import { WORKER_BOOTSTRAP } from './worker-bootstrap.js'

/** Options of {@link workerLoader}. */
export interface WorkerLoaderOptions {
  /** Heap limits of each plugin worker. Default `{ maxOldGenerationSizeMb: 256 }`. */
  readonly resourceLimits?: ResourceLimits | undefined
  /** Keep one booted worker waiting so a reload does not pay a Worker start. Default `true`. */
  readonly warmSpare?: boolean | undefined
  /** Node flags for the workers. Default none. */
  readonly execArgv?: readonly string[] | undefined
}

/**
 * The default loader: each plugin version runs in its own `worker_threads` Worker and is
 * called over its MessagePort. Unloading terminates the worker, which frees everything the
 * version held; a crash, an uncaught error or a heap blow-up (see `resourceLimits`) ends only
 * that worker, and a worker stuck past the setup or call timeout is terminated.
 *
 * A warm spare worker is booted after each load, so that the next load only imports the
 * module (a cold Worker start costs tens of milliseconds).
 *
 * @param options - Heap limits, warm spare, worker flags.
 * @returns A {@link Loader} for `.mjs`, `.js`, `.cjs` and directory plugins.
 * @throws never; failures surface from `prepare`.
 * @example
 * ```ts
 * const registry = createPluginRegistry({ loader: workerLoader({ resourceLimits: { maxOldGenerationSizeMb: 64 } }) })
 * ```
 * @see {@link Loader}
 */
export function workerLoader(options: WorkerLoaderOptions = {}): Loader {
  return new WorkerLoader(options)
}

class WorkerLoader implements Loader {
  readonly name: string = 'worker'
  readonly #options: WorkerLoaderOptions
  #spare: Worker | undefined
  #detachSpare: (() => void) | undefined
  #closed = false
  /** Resolves when a worker runs JS: its boot does not count against the load timeout. */
  readonly #online = new WeakMap<Worker, Promise<void>>()

  constructor(options: WorkerLoaderOptions) {
    this.#options = options
  }

  canLoad(source: PluginSource): boolean {
    return source.kind === 'js'
  }

  async prepare(source: PluginSource, options: PrepareOptions): Promise<LoadedPlugin> {
    if (this.#closed) throw new RegistryError('CLOSED', 'the worker loader is closed')
    const worker = this.#take()
    const plugin = new WorkerPlugin(worker, this.#online.get(worker) ?? Promise.resolve(), source, options)
    try {
      await plugin.load()
      return plugin
    } catch (error) {
      await plugin.dispose(0)
      throw error
    } finally {
      // Boot the next spare a little later, so it does not compete with this reload's drain,
      // state move and switch for the CPU.
      setTimeout(() => this.#refill(), 20).unref()
    }
  }

  async close(): Promise<void> {
    this.#closed = true
    const spare = this.#spare
    this.#spare = undefined
    if (spare !== undefined) await spare.terminate()
  }

  #spawn(): Worker {
    const worker = new Worker(WORKER_BOOTSTRAP, {
      eval: true,
      resourceLimits: this.#options.resourceLimits ?? { maxOldGenerationSizeMb: 256 },
      execArgv: this.#options.execArgv === undefined ? [] : [...this.#options.execArgv],
      workerData: { warmUp: warmUpModule() },
    })
    this.#online.set(
      worker,
      new Promise<void>((resolve) => {
        worker.once('online', resolve)
        worker.once('exit', () => resolve())
      }),
    )
    return worker
  }

  #take(): Worker {
    const spare = this.#spare
    this.#spare = undefined
    if (spare === undefined) return this.#spawn()
    this.#detachSpare?.()
    this.#detachSpare = undefined
    spare.ref()
    return spare
  }

  #refill(): void {
    if (this.#options.warmSpare === false || this.#closed || this.#spare !== undefined) return
    const spare = this.#spawn()
    spare.unref()
    const onError = (): void => undefined
    const onExit = (): void => {
      if (this.#spare === spare) this.#spare = undefined
    }
    spare.on('error', onError)
    spare.on('exit', onExit)
    this.#detachSpare = () => {
      spare.off('error', onError)
      spare.off('exit', onExit)
    }
    this.#spare = spare
  }
}

let warmUpPath: string | null | undefined

/**
 * A module file for spare workers to import while they wait (see the bootstrap): importing a
 * real file warms the ESM loader's file path and the parser, which takes 1 to 3 ms off the
 * next plugin import (measured in `bench/`). Written once per process into a private temp
 * directory, removed at exit; `undefined` when the temp directory is not writable (the
 * bootstrap then warms with data: URLs).
 *
 * @internal
 * @returns The module's path, or `undefined`.
 */
export function warmUpModule(): string | undefined {
  if (warmUpPath === undefined) {
    try {
      const dir = mkdtempSync(join(tmpdir(), 'hotswap-warm-'))
      let source = ''
      for (let k = 0; k < 800; k++) source += `function w${k}(a, b) { return a * ${k} + b - ${k % 7} }\n`
      source += `export default { name: 'warm-up', version: '0.0.0', setup() { return { w: (n) => w799(n, 1) } } }\n`
      warmUpPath = join(dir, 'warm-up.mjs')
      writeFileSync(warmUpPath, source)
      process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
    } catch {
      warmUpPath = null
    }
  }
  return warmUpPath ?? undefined
}

class RemoteFailure extends Error {
  constructor(readonly data: SerializedError) {
    super(data.message)
  }
}

interface Request {
  readonly resolve: (value: unknown) => void
  readonly reject: (error: unknown) => void
  readonly call: boolean
  timer?: NodeJS.Timeout | undefined
}

class WorkerPlugin implements LoadedPlugin {
  name = ''
  version = ''
  hasSaveState = false
  hasMigrateState = false
  methods: readonly string[] = []
  readonly #worker: Worker
  readonly #source: PluginSource
  readonly #options: PrepareOptions
  readonly #requests = new Map<number, Request>()
  readonly #tracker = new CallTracker()
  readonly #exitListeners = new Set<(error: RegistryError) => void>()
  #nextId = 1
  #alive = true
  #disposing = false
  #endError: RegistryError | undefined
  #crashCause: unknown

  readonly #online: Promise<void>

  constructor(worker: Worker, online: Promise<void>, source: PluginSource, options: PrepareOptions) {
    this.#worker = worker
    this.#online = online
    this.#source = source
    this.#options = options
    worker.on('message', (message: Reply | LogMessage) => this.#onMessage(message))
    worker.on('error', (error) => {
      this.#crashCause = error
    })
    worker.on('exit', (code) => this.#onExit(code))
  }

  get inFlight(): number {
    return this.#tracker.size
  }

  get alive(): boolean {
    return this.#alive
  }

  get #label(): string {
    return `${this.name === '' ? this.#source.path : `${this.name}@${this.version}`} (worker)`
  }

  async load(): Promise<void> {
    const { loadTimeoutMs } = this.#options
    await this.#online
    let info: LoadInfo
    try {
      info = (await this.#request({ op: 'load', entry: this.#source.entry }, loadTimeoutMs, () =>
        new RegistryError('SETUP_TIMEOUT', `importing ${this.#source.path} took longer than ${loadTimeoutMs} ms (stuck at the top level?); the worker was terminated`),
      )) as LoadInfo
    } catch (error) {
      if (error instanceof RemoteFailure) {
        const code = error.data.tag === 'invalid' ? 'INVALID_PLUGIN' : 'LOAD_FAILED'
        throw new RegistryError(code, `${this.#source.path}: ${error.data.message}`, { cause: reviveError(error.data) })
      }
      throw error
    }
    this.name = String(info.name)
    this.version = String(info.version)
    this.hasSaveState = info.hasSaveState
    this.hasMigrateState = info.hasMigrateState
    if (typeof info.name !== 'string' || typeof info.version !== 'string') {
      throw new RegistryError('INVALID_PLUGIN', `${this.#source.path}: the default export needs a string name and version`)
    }
  }

  async setup(init: SetupInit, timeoutMs: number): Promise<void> {
    try {
      this.methods = (await this.#request({ op: 'setup', init }, timeoutMs, () =>
        new RegistryError('SETUP_TIMEOUT', `setup() of ${this.#label} did not finish within ${timeoutMs} ms; the worker was terminated`, { pluginId: this.name }),
      )) as string[]
    } catch (error) {
      if (!(error instanceof RemoteFailure)) throw error
      const cause = reviveError(error.data)
      if (error.data.tag === 'migrate') {
        throw new RegistryError('STATE_REJECTED', `migrateState() of ${this.#label} threw: ${error.data.message}`, { cause, pluginId: this.name })
      }
      if (init.hasState) {
        throw new RegistryError('STATE_REJECTED', `setup() of ${this.#label} rejected the state of ${init.previousVersion ?? 'the store'}: ${error.data.message}`, {
          cause,
          pluginId: this.name,
        })
      }
      throw new RegistryError('SETUP_FAILED', `setup() of ${this.#label} threw: ${error.data.message}`, { cause, pluginId: this.name })
    }
  }

  call(method: string, args: readonly unknown[]): Promise<unknown> {
    if (!this.#alive) return Promise.reject(this.#deadError())
    return this.#tracker.run(method, (resolve, reject) => {
      const id = this.#nextId++
      const request: Request = { resolve, reject, call: true }
      const timeoutMs = this.#options.callTimeoutMs
      if (timeoutMs !== undefined) {
        request.timer = setTimeout(() => {
          this.#requests.delete(id)
          reject(new RegistryError('CALL_TIMEOUT', `call "${method}" on ${this.#label} took longer than ${timeoutMs} ms; the worker was terminated`, { pluginId: this.name }))
          this.#kill(new RegistryError('WORKER_CRASHED', `${this.#label} was terminated after call "${method}" timed out`, { pluginId: this.name }))
        }, timeoutMs)
      }
      this.#requests.set(id, request)
      try {
        this.#worker.postMessage({ id, op: 'call', method, args })
      } catch (error) {
        this.#requests.delete(id)
        clearTimeout(request.timer)
        reject(error)
      }
    })
  }

  drain(timeoutMs: number): Promise<number> {
    return this.#tracker.drain(timeoutMs, this.#label, this.name)
  }

  async saveState(timeoutMs: number): Promise<unknown> {
    if (!this.hasSaveState) return undefined
    try {
      return await this.#request({ op: 'save' }, timeoutMs, () =>
        new RegistryError('SAVE_STATE_FAILED', `saveState() of ${this.#label} did not finish within ${timeoutMs} ms`, { pluginId: this.name }),
      false)
    } catch (error) {
      if (error instanceof RegistryError && error.code === 'SAVE_STATE_FAILED') throw error
      const cause = error instanceof RemoteFailure ? reviveError(error.data) : error
      throw new RegistryError('SAVE_STATE_FAILED', `saveState() of ${this.#label} failed: ${(cause as Error).message}`, { cause, pluginId: this.name })
    }
  }

  async dispose(timeoutMs: number): Promise<void> {
    if (this.#disposing) return
    this.#disposing = true
    if (this.#alive && timeoutMs > 0) {
      await this.#request({ op: 'dispose' }, timeoutMs, () => new RegistryError('SETUP_TIMEOUT', `dispose() of ${this.#label} timed out`), false).catch((error: unknown) => {
        const cause = error instanceof RemoteFailure ? reviveError(error.data) : error
        this.#options.log({ level: 'warn', message: `dispose() of ${this.#label} failed: ${(cause as Error).message}` })
      })
    }
    this.#alive = false
    const error = new RegistryError('WORKER_CRASHED', `${this.#label} was disposed`, { pluginId: this.name })
    this.#rejectAll(error)
    await this.#worker.terminate()
  }

  onExit(listener: (error: RegistryError) => void): () => void {
    this.#exitListeners.add(listener)
    return () => this.#exitListeners.delete(listener)
  }

  #request(message: Record<string, unknown>, timeoutMs: number, onTimeout: () => RegistryError, killOnTimeout = true): Promise<unknown> {
    if (!this.#alive) return Promise.reject(this.#deadError())
    return new Promise((resolve, reject) => {
      const id = this.#nextId++
      const request: Request = { resolve, reject, call: false }
      request.timer = setTimeout(() => {
        this.#requests.delete(id)
        const error = onTimeout()
        reject(error)
        if (killOnTimeout) this.#kill(error)
      }, timeoutMs)
      this.#requests.set(id, request)
      this.#worker.postMessage({ id, ...message })
    })
  }

  #onMessage(message: Reply | LogMessage): void {
    if ('log' in message) {
      this.#options.log({ level: message.log, message: `[${this.name}@${this.version}] ${message.message}` })
      return
    }
    const request = this.#requests.get(message.id)
    if (request === undefined) return
    this.#requests.delete(message.id)
    if (request.timer !== undefined) clearTimeout(request.timer)
    if (message.ok) {
      request.resolve(message.value)
    } else if (!request.call) {
      request.reject(new RemoteFailure(message.error))
    } else if (message.error.tag === 'unknown-method') {
      request.reject(new RegistryError('UNKNOWN_METHOD', `${this.#label} has no method ${message.error.message.slice(10)}; it has ${this.methods.join(', ')}`, { pluginId: this.name }))
    } else {
      request.reject(reviveError(message.error))
    }
  }

  #kill(reason: RegistryError): void {
    if (!this.#alive) return
    this.#alive = false
    this.#endError = reason
    this.#rejectAll(reason)
    void this.#worker.terminate()
    this.#notify(reason)
  }

  #onExit(code: number): void {
    if (!this.#alive) return
    this.#alive = false
    const cause = this.#crashCause
    const reason = new RegistryError(
      'WORKER_CRASHED',
      `the worker of ${this.#label} exited with code ${code}${cause instanceof Error ? `: ${cause.message}` : ''}`,
      { cause, pluginId: this.name },
    )
    this.#endError = reason
    this.#rejectAll(reason)
    if (!this.#disposing) this.#notify(reason)
  }

  #notify(reason: RegistryError): void {
    if (this.#disposing) return
    for (const listener of this.#exitListeners) listener(reason)
  }

  #rejectAll(error: RegistryError): void {
    const requests = [...this.#requests.values()]
    this.#requests.clear()
    for (const request of requests) {
      clearTimeout(request.timer)
      request.reject(error)
    }
    this.#tracker.rejectAll(error)
  }

  #deadError(): RegistryError {
    return this.#endError ?? new RegistryError('WORKER_CRASHED', `${this.#label} is no longer running`, { pluginId: this.name })
  }
}

interface LoadInfo {
  readonly name: unknown
  readonly version: unknown
  readonly hasSaveState: boolean
  readonly hasMigrateState: boolean
}

type Reply = { readonly id: number; readonly ok: true; readonly value: unknown } | { readonly id: number; readonly ok: false; readonly error: SerializedError }

interface LogMessage {
  readonly log: 'debug' | 'info' | 'warn' | 'error'
  readonly message: string
}
