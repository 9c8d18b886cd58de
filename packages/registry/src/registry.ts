import { stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { Subject, Subscription, asyncScheduler } from 'rxjs'
import type { Observable, SchedulerLike } from 'rxjs'
import { major } from 'semver'
import { RegistryError } from './errors.js'
import { WorkerLostError } from './worker-lost.js'
import type { FailurePhase, RegistryEvent } from './events.js'
import { createHandle } from './handle.js'
import { abortedCall, whenAborted } from './call-aborted.js'
import type { CallOptions } from './call-aborted.js'
import { filter, map } from 'rxjs'
import type { PluginHost } from './contract.js'
import { checkDependencies, checkDependents, dependencyOrder } from './dependencies.js'
import type { DependencyNode } from './dependencies.js'
import { RegistryContract } from './registry-contract.js'
import type { PluginEvent } from './contract-events.js'
import type { PluginHandle, UnknownApi } from './handle.js'
import { toJsonValue } from '@hotswap/state-store'
import { Lifecycle } from './lifecycle.js'
import type { LoadedPlugin, Loader, LoaderLogEntry, MemoryReport, PrepareOptions, SetupInit } from './loader.js'
import { validatePluginIdentity } from './plugin.js'
import { buildArtifact, isPluginArtifact } from './artifact.js'
import type { PluginArtifact } from './artifact.js'
import { memoryStateStore } from './state-store.js'
import type { PluginStateSnapshot, RegistryStateStore } from './state-store.js'
import type { CallSettled, PluginRegistry, PluginStatus, RegistryLogger, RegistryOptions } from './registry-types.js'
import { wasmLoader } from './wasm-loader.js'
import { checkpointEvery, inBatches, stateDigest } from './checkpoints.js'
import { durationClock, within } from './clock.js'
import { workerLoader } from './worker-loader.js'

/**
 * Creates a plugin registry.
 *
 * A reload runs the protocol *prepare → gate → drain → move state → switch → dispose*:
 * the new version is loaded beside the old one and validated; new calls then wait at the
 * gate; calls in flight on the old version finish (up to `drainTimeoutMs`, then
 * `DrainTimeoutError`); the old version's `saveState()` goes to the store and into the new
 * version's `setup(ctx.state)` (through `migrateState` when the major version differs);
 * then the handle points at the new version and the gate opens. The state move and the new
 * `setup` have `gateTimeoutMs` (default 1000) between them: past it the gate opens, the old
 * version (which still holds its state) resumes and the reload fails with `GATE_TIMEOUT`; so
 * a caller waits at most `drainTimeoutMs + gateTimeoutMs`, and only as long as the drain takes
 * when nothing is in flight. If anything fails before the switch, the old version keeps
 * serving, the new one is disposed, the plugin is `Failed` and the error is a `failed` event
 * and the rejection of `reload()`.
 *
 * When the serving version ended (a crash, a call past `callTimeoutMs`), the next reload
 * starts the new version from the last snapshot in the store and says what was lost: a
 * `stateLost` event and a warning naming the version, the reason and the snapshot used.
 *
 * Operations on one plugin run one at a time, in call order; different plugins run in
 * parallel. `reload()` resolves once the new version serves; replaced versions are disposed
 * in the background (bounded by `disposeTimeoutMs`, then terminated), so a hung `dispose()`
 * never delays the next reload. `close()` waits for those disposals.
 *
 * @param options - Loaders, state store, timeouts, `keepPrevious`, logger.
 * @returns A {@link PluginRegistry}; operations reject with {@link RegistryError}.
 * @throws {@link RegistryError} `INVALID_OPTIONS` when a timeout is not a non-negative number.
 * @example
 * ```ts
 * const registry = createPluginRegistry({ drainTimeoutMs: 2000 })
 * await registry.load('./plugins/greeter.mjs')
 * const greeter = registry.get<{ greet(who: string): string }>('greeter')
 * console.log(await greeter.api.greet('bob'))
 * await registry.close()
 * ```
 */
export function createPluginRegistry(options: RegistryOptions = {}): PluginRegistry {
  return new Registry(options)
}

interface Gate {
  readonly promise: Promise<void>
  readonly open: () => void
}

interface Kept {
  readonly plugin: LoadedPlugin
  readonly snapshot: PluginStateSnapshot | undefined
  readonly hash: string
  readonly loader: string
}

interface Entry {
  readonly id: string
  readonly life: Lifecycle
  path: string
  hash: string
  loader: string
  active: LoadedPlugin
  previous: Kept | undefined
  gate: Gate | undefined
  gone: RegistryError | undefined
  loadedAt: number
  reloadCount: number
  failedReloads: number
  lastError: RegistryError | undefined
  ops: Promise<unknown>
  /** Set while a version lost with its pool worker is restored: calls wait for it. */
  restoring?: Promise<void> | undefined
  /** The digest of the state a checkpoint last stored, and of which version (only that one's counts). */
  checkpointed?: { readonly plugin: LoadedPlugin; readonly digest: string } | undefined
}

/** A reloadMany() batch: the ids that change together and their versions prepared up front. */
interface Batch {
  readonly ids: ReadonlySet<string>
  readonly prepared: Map<string, LoadedPlugin>
}

interface OpResult<T> {
  readonly value: T
}

class Registry implements PluginRegistry {
  readonly events$: Observable<RegistryEvent>
  readonly #events = new Subject<RegistryEvent>()
  readonly #loaders: readonly Loader[]
  readonly #store: RegistryStateStore
  readonly #drainTimeoutMs: number
  readonly #gateTimeoutMs: number
  readonly #loadTimeoutMs: number
  readonly #setupTimeoutMs: number
  readonly #saveStateTimeoutMs: number
  readonly #disposeTimeoutMs: number
  readonly #callTimeoutMs: number
  readonly #disposals = new Set<Promise<void>>()
  readonly #keepPrevious: boolean
  readonly #logger: RegistryLogger
  readonly #scheduler: SchedulerLike
  readonly #elapsed: () => number
  readonly #entries = new Map<string, Entry>()
  readonly #byPath = new Map<string, Entry>()
  readonly #pending = new Set<string>()
  readonly #handles = new Map<string, PluginHandle<object>>()
  readonly #contract: RegistryContract
  readonly #callListeners = new Set<(call: CallSettled) => void>()
  readonly #checkpoints: Subscription
  #closed: RegistryError | undefined

  constructor(options: RegistryOptions) {
    const loader = options.loader ?? [workerLoader(), wasmLoader()]
    this.#loaders = Array.isArray(loader) ? [...(loader as readonly Loader[])] : [loader as Loader]
    this.#store = options.stateStore ?? memoryStateStore()
    this.#drainTimeoutMs = limit(options, 'drainTimeoutMs', 5000)
    this.#gateTimeoutMs = limit(options, 'gateTimeoutMs', 1000)
    this.#loadTimeoutMs = limit(options, 'loadTimeoutMs', 10_000)
    this.#setupTimeoutMs = limit(options, 'setupTimeoutMs', 10_000)
    this.#saveStateTimeoutMs = limit(options, 'saveStateTimeoutMs', 10_000)
    this.#disposeTimeoutMs = limit(options, 'disposeTimeoutMs', 10_000)
    this.#callTimeoutMs = limit(options, 'callTimeoutMs', 30_000)
    const checkpointMs = limit(options, 'checkpointMs', 0)
    this.#keepPrevious = options.keepPrevious ?? true
    this.#logger = options.logger ?? console
    this.#scheduler = options.scheduler ?? asyncScheduler
    this.#elapsed = durationClock(this.#scheduler)
    this.events$ = this.#events.asObservable()
    this.#checkpoints = checkpointMs > 0 && Number.isFinite(checkpointMs) ? checkpointEvery(this.#scheduler, checkpointMs, () => this.#checkpointAll()) : new Subscription()
    this.#contract = new RegistryContract(options, {
      graph: () => this.#graph(),
      handle: (id) => this.#stable(id),
      emit: (id, version, event, payload) => this.#emit({ type: 'emitted', id, version, event, payload, at: this.#scheduler.now() }),
    })
  }

  load(pathOrArtifact: string | PluginArtifact): Promise<PluginStatus> {
    return this.#load(pathOrArtifact, undefined)
  }

  async #load(pathOrArtifact: string | PluginArtifact, batch: Batch | undefined): Promise<PluginStatus> {
    this.#assertOpen()
    const prebuilt = isPluginArtifact(pathOrArtifact) ? pathOrArtifact : undefined
    const abs = prebuilt?.path ?? resolve(pathOrArtifact as string)
    if (this.#byPath.has(abs) || this.#pending.has(abs)) {
      throw new RegistryError('ALREADY_LOADED', `${abs} is already loaded; use reload()`, { pluginId: this.#byPath.get(abs)?.id })
    }
    this.#pending.add(abs)
    const started = this.#elapsed()
    const life = new Lifecycle(abs)
    life.to('Loading')
    this.#emit({ type: 'loading', path: abs, at: this.#scheduler.now() })
    let plugin: LoadedPlugin | undefined
    let reserved: string | undefined
    const who: { id: string | undefined } = { id: undefined }
    try {
      const source = prebuilt ?? (await buildArtifact(abs))
      plugin = batch?.prepared.get(abs) ?? (await this.#loaderFor(source).prepare(source, this.#prepareOptions(who)))
      batch?.prepared.delete(abs)
      who.id = plugin.name
      validatePluginIdentity(plugin.name, plugin.version, abs)
      if (this.#entries.has(plugin.name) || this.#pending.has(`id:${plugin.name}`)) {
        throw new RegistryError('ALREADY_LOADED', `plugin "${plugin.name}" (${abs}) is already loaded from ${this.#entries.get(plugin.name)?.path ?? 'another path'}`, {
          pluginId: plugin.name,
        })
      }
      reserved = `id:${plugin.name}`
      this.#pending.add(reserved)
      const host = await this.#contract.hostFor(plugin, false, batch?.ids ?? new Set(), this.#setupTimeoutMs)
      await plugin.setup({ ...(await this.#initFromStore(plugin, undefined)).init, host }, this.#setupTimeoutMs)
      this.#assertOpen()
      life.to('Loaded')
      const entry: Entry = {
        id: plugin.name,
        life,
        path: abs,
        hash: source.hash,
        loader: this.#loaderFor(source).name,
        active: plugin,
        previous: undefined,
        gate: undefined,
        gone: undefined,
        loadedAt: this.#scheduler.now(),
        reloadCount: 0,
        failedReloads: 0,
        lastError: undefined,
        ops: Promise.resolve(),
      }
      this.#watchExit(entry, plugin)
      this.#entries.set(entry.id, entry)
      this.#byPath.set(abs, entry)
      life.to('Running')
      this.#emit({
        type: 'loaded',
        id: entry.id,
        version: plugin.version,
        path: abs,
        hash: source.hash,
        loader: entry.loader,
        durationMs: this.#elapsed() - started,
        at: this.#scheduler.now(),
      })
      return this.#status(entry)
    } catch (cause) {
      const error = asRegistryError(cause, 'LOAD_FAILED', `loading ${abs} failed`)
      if (plugin !== undefined) this.#background(this.#disposeAll(plugin.name, [plugin]))
      life.to('Failed')
      this.#emit({ type: 'failed', id: plugin?.name, path: abs, phase: 'prepare', error, serving: undefined, attempted: plugin?.version, at: this.#scheduler.now() })
      throw error
    } finally {
      this.#pending.delete(abs)
      if (reserved !== undefined) this.#pending.delete(reserved)
    }
  }

  async reload(idOrPath: string, artifact?: PluginArtifact): Promise<PluginStatus> {
    this.#assertOpen()
    const entry = this.#find(idOrPath)
    if (entry === undefined) {
      if (artifact !== undefined) return this.load(artifact)
      const exists = await stat(resolve(idOrPath)).then(
        () => true,
        () => false,
      )
      if (!exists) throw notFound(idOrPath)
      return this.load(idOrPath)
    }
    if (artifact !== undefined && artifact.path !== entry.path) {
      throw new RegistryError('INVALID_PLUGIN', `reload("${idOrPath}") got the artifact of ${artifact.path}, but plugin "${entry.id}" is at ${entry.path}; relocate() it first`, {
        pluginId: entry.id,
      })
    }
    return this.#serial(entry, () => this.#reload(entry, artifact, undefined))
  }

  async configure(id: string, value: unknown): Promise<PluginStatus | undefined> {
    this.#assertOpen()
    const restore = this.#contract.setConfig(id, value)
    const entry = this.#entries.get(id)
    if (entry === undefined) return undefined
    try {
      const status = await this.#serial(entry, () => this.#reload(entry, undefined, undefined))
      this.#emit({ type: 'configChanged', id, version: status.version, at: this.#scheduler.now() })
      return status
    } catch (error) {
      restore()
      throw error
    }
  }

  async reloadMany(items: readonly (string | PluginArtifact)[]): Promise<PluginStatus[]> {
    this.#assertOpen()
    const prepared = new Map<string, LoadedPlugin>()
    const sources = new Map<string, PluginArtifact>()
    const nodes = new Map<string, DependencyNode>()
    try {
      for (const item of items) {
        const source = isPluginArtifact(item) ? item : await buildArtifact(this.#find(item)?.path ?? resolve(item))
        const named: { id: string | undefined } = { id: undefined }
        const plugin = await this.#loaderFor(source).prepare(source, this.#prepareOptions(named))
        named.id = plugin.name
        validatePluginIdentity(plugin.name, plugin.version, source.path)
        if (nodes.has(plugin.name)) throw new RegistryError('INVALID_PLUGIN', `reloadMany(): plugin "${plugin.name}" is in the batch twice`, { pluginId: plugin.name })
        prepared.set(source.path, plugin)
        sources.set(plugin.name, source)
        nodes.set(plugin.name, { version: plugin.version, dependsOn: plugin.contract?.dependsOn ?? {} })
      }
      const order = dependencyOrder(nodes)
      // The ranges must hold once the whole batch is in: check that before anything switches.
      const after = this.#graph()
      for (const [id, node] of nodes) after.set(id, node)
      for (const [id, node] of nodes) {
        checkDependencies(id, node, after)
        checkDependents(id, node.version, after, new Set())
      }
      const batch: Batch = { ids: new Set(nodes.keys()), prepared }
      const statuses: PluginStatus[] = []
      for (const id of order) {
        const source = sources.get(id) as PluginArtifact
        const entry = this.#entries.get(id)
        if (entry === undefined || entry.path !== source.path) statuses.push(await this.#load(source, batch))
        else statuses.push(await this.#serial(entry, () => this.#reload(entry, source, batch)))
      }
      return statuses
    } finally {
      for (const plugin of prepared.values()) this.#background(this.#disposeAll(plugin.name, [plugin]))
    }
  }

  unload(idOrPath: string): Promise<void> {
    this.#assertOpen()
    const entry = this.#find(idOrPath)
    if (entry === undefined) return Promise.reject(notFound(idOrPath))
    return this.#serial(entry, async () => ({ value: await this.#unload(entry, notFound(entry.id)) }))
  }

  rollback(id: string): Promise<PluginStatus> {
    this.#assertOpen()
    const entry = this.#find(id)
    if (entry === undefined) return Promise.reject(notFound(id))
    return this.#serial(entry, () => this.#rollback(entry))
  }

  relocate(id: string, newPath: string): Promise<PluginStatus> {
    this.#assertOpen()
    const entry = this.#entries.get(id)
    if (entry === undefined) return Promise.reject(notFound(id))
    const abs = resolve(newPath)
    return this.#serial(entry, () => {
      const holder = this.#byPath.get(abs)
      if (holder !== undefined && holder !== entry) {
        throw new RegistryError('ALREADY_LOADED', `cannot move ${entry.id} to ${abs}: plugin "${holder.id}" is loaded from there`, { pluginId: entry.id })
      }
      this.#byPath.delete(entry.path)
      entry.path = abs
      this.#byPath.set(abs, entry)
      return Promise.resolve({ value: this.status(entry.id) })
    })
  }

  get<Api extends object = UnknownApi>(id: string): PluginHandle<Api> {
    this.#assertOpen()
    if (!this.#entries.has(id)) throw notFound(id)
    return this.#stable(id) as PluginHandle<Api>
  }

  /** The one handle of `id`, whether it is loaded now or not (calls reject with NOT_FOUND while it is not). */
  #stable(id: string): PluginHandle<object> {
    let handle = this.#handles.get(id)
    if (handle === undefined) {
      const events$ = this.events$.pipe(
        filter((event): event is Extract<RegistryEvent, { type: 'emitted' }> => event.type === 'emitted' && event.id === id),
        map((event): PluginEvent => ({ type: event.event, payload: event.payload, id: event.id, version: event.version, at: event.at })),
      )
      handle = createHandle<object>(id, (method, args, options) => this.#call(id, method, args, options), events$)
      this.#handles.set(id, handle)
    }
    return handle
  }

  #graph(): Map<string, DependencyNode> {
    const graph = new Map<string, DependencyNode>()
    for (const entry of this.#entries.values()) graph.set(entry.id, { version: entry.active.version, dependsOn: entry.active.contract?.dependsOn ?? {} })
    return graph
  }

  has(id: string): boolean {
    return this.#entries.has(id)
  }

  list(): PluginStatus[] {
    return [...this.#entries.values()].map((entry) => this.#status(entry))
  }

  status(id: string): PluginStatus {
    const entry = this.#find(id)
    if (entry === undefined) throw notFound(id)
    return this.#status(entry)
  }

  async close(): Promise<void> {
    if (this.#closed !== undefined) return
    this.#closed = new RegistryError('CLOSED', 'the plugin registry is closed')
    this.#checkpoints.unsubscribe()
    const closed = this.#closed
    await Promise.all(
      [...this.#entries.values()].map((entry) =>
        this.#serial(entry, async () => ({ value: await this.#unload(entry, closed) })).catch((error: unknown) => {
          this.#log({ level: 'error', message: `closing ${entry.id}: ${(error as Error).message}` }, entry.id)
        }),
      ),
    )
    await Promise.all([...this.#disposals])
    await Promise.all(this.#loaders.map((loader) => loader.close()))
    this.#events.complete()
  }

  // --- calls ---------------------------------------------------------------------------

  #call(id: string, method: string, args: unknown[], options?: CallOptions, retried = false): Promise<unknown> {
    const signal = options?.signal
    if (signal !== undefined) return this.#signalledCall(id, method, args, signal)
    const entry = this.#entries.get(id)
    if (entry === undefined) return Promise.reject(this.#closed ?? notFound(id))
    if (entry.gate !== undefined) return entry.gate.promise.then(() => this.#call(id, method, args, undefined, retried))
    if (entry.gone !== undefined) return Promise.reject(entry.gone)
    if (entry.restoring !== undefined) return entry.restoring.then(() => this.#call(id, method, args, undefined, retried))
    const result = this.#observed(entry, method, entry.active.call(method, args), !retried)
    if (retried) return result
    // A call that never reached a version lost with its pool worker runs once more, on the restored one.
    return result.catch((error: unknown) => {
      if (!isRetriable(error)) throw error
      return this.#call(id, method, args, undefined, true)
    })
  }

  /**
   * Reports a call's outcome to the `onCall` listeners (nothing extra while there are none),
   * with the version and hash that served it; a loss the caller retries is not an outcome.
   */
  #observed(entry: Entry, method: string, result: Promise<unknown>, retriable: boolean): Promise<unknown> {
    if (this.#callListeners.size === 0) return result
    const { id, hash } = entry
    const { version } = entry.active
    return result.then(
      (value) => {
        this.#settled({ id, version, hash, method, ok: true, value, error: undefined })
        return value
      },
      (error: unknown) => {
        if (!(retriable && isRetriable(error))) this.#settled({ id, version, hash, method, ok: false, value: undefined, error })
        throw error
      },
    )
  }

  onCall(listener: (call: CallSettled) => void): () => void {
    this.#callListeners.add(listener)
    return () => void this.#callListeners.delete(listener)
  }

  #settled(call: CallSettled): void {
    for (const listener of this.#callListeners) {
      try {
        listener(call)
      } catch (error) {
        this.#logger.warn(`a call listener threw: ${(error as Error).message}`)
      }
    }
  }

  /** A call with a signal: it rejects as soon as the signal aborts, at the gate or in the loader (which also tells the plugin). */
  #signalledCall(id: string, method: string, args: unknown[], signal: AbortSignal): Promise<unknown> {
    const aborted = (): Error => abortedCall(signal, method, `plugin "${id}"`, id)
    if (signal.aborted) return Promise.reject(aborted())
    return new Promise<unknown>((resolve, reject) => {
      const stop = whenAborted(signal, () => reject(aborted()))
      const go = (): void => {
        if (signal.aborted) return
        const entry = this.#entries.get(id)
        const fail = (error: Error): void => {
          stop()
          reject(error)
        }
        if (entry === undefined) return fail(this.#closed ?? notFound(id))
        if (entry.gate !== undefined) return void entry.gate.promise.then(go)
        if (entry.gone !== undefined) return fail(entry.gone)
        if (entry.restoring !== undefined) return void entry.restoring.then(go)
        this.#observed(entry, method, entry.active.call(method, args, { signal }), false).then(resolve, reject).finally(stop)
      }
      go()
    })
  }

  // --- operations ----------------------------------------------------------------------

  async #reload(entry: Entry, artifact: PluginArtifact | undefined, batch: Batch | undefined): Promise<OpResult<PluginStatus>> {
    this.#assertOpen()
    const old = entry.active
    entry.life.to('Reloading')
    this.#emit({ type: 'reloading', id: entry.id, from: old.version, path: entry.path, at: this.#scheduler.now() })
    const t0 = this.#elapsed()
    let next: LoadedPlugin | undefined
    let phase: FailurePhase = 'prepare'
    let snapshot: PluginStateSnapshot | undefined
    let source: PluginArtifact
    let loader: Loader
    let t1: number, t2: number, t3: number, cancelled: number
    try {
      source = artifact ?? (await buildArtifact(entry.path))
      loader = this.#loaderFor(source)
      next = batch?.prepared.get(source.path) ?? (await loader.prepare(source, this.#prepareOptions({ id: entry.id })))
      batch?.prepared.delete(source.path)
      validatePluginIdentity(next.name, next.version, entry.path)
      if (next.name !== entry.id) {
        throw new RegistryError(
          'INVALID_PLUGIN',
          `${entry.path}: the name changed from "${entry.id}" to "${next.name}"; a plugin's name is its id (unload it and load the new one instead)`,
          { pluginId: entry.id },
        )
      }
      const host: PluginHost = await this.#contract.hostFor(next, true, batch?.ids ?? new Set(), this.#setupTimeoutMs)
      const liveState = old.alive && old.hasSaveState
      if (!liveState) {
        const init: SetupInit = old.alive ? { hasState: false, previousVersion: old.version } : await this.#initAfterLoss(entry, old, next)
        await next.setup({ ...init, host }, this.#setupTimeoutMs)
      }
      t1 = this.#elapsed()
      phase = 'drain'
      const gate = this.#closeGate(entry)
      try {
        cancelled = old.alive ? await old.drain(this.#drainTimeoutMs) : 0
        t2 = this.#elapsed()
        phase = 'state'
        if (liveState) {
          const incoming = next
          // The snapshot is written (fsync) while the new version sets up from it: the switch
          // waits for both, so the state is durable before anyone is served by the new version,
          // and a write that fails leaves the old one serving as before.
          const move = async (): Promise<PluginStateSnapshot | undefined> => {
            const saved = await this.#captureState(entry, old, 'reload')
            const setup = incoming.setup({ ...(saved === undefined ? { hasState: false, previousVersion: old.version } : this.#initFor(saved, incoming, false)), host }, this.#setupTimeoutMs)
            if (saved === undefined) await setup
            else await Promise.all([this.#persist(saved, entry, old), setup])
            return saved
          }
          const held = (): RegistryError =>
            new RegistryError(
              'GATE_TIMEOUT',
              `reloading ${entry.id}: moving the state from ${old.version} and setting up ${incoming.version} held callers for more than ${this.#gateTimeoutMs} ms (gateTimeoutMs); ${old.version} resumed with its state, ${incoming.version} was dropped`,
              { pluginId: entry.id },
            )
          snapshot = await within(move(), this.#gateTimeoutMs, held, this.#scheduler)
        }
        t3 = this.#elapsed()
        phase = 'switch'
        this.#assertOpen()
        entry.active = next
      } finally {
        entry.gate = undefined
        gate.open()
      }
    } catch (cause) {
      const error = asRegistryError(cause, 'LOAD_FAILED', `reloading ${entry.id} from ${entry.path} failed`)
      if (next !== undefined) this.#background(this.#disposeAll(entry.id, [next]))
      entry.failedReloads++
      entry.lastError = error
      entry.life.to('Failed')
      this.#emit({ type: 'failed', id: entry.id, path: entry.path, phase, error, serving: old.alive ? old.version : undefined, attempted: next?.version, at: this.#scheduler.now() })
      throw error
    }
    const t4 = this.#elapsed()
    this.#watchExit(entry, next)
    const kept = entry.previous
    entry.previous = undefined
    // A reload of identical bytes does not replace the way back: the version kept before stays.
    const sameBytes = kept !== undefined && source.hash === entry.hash
    if (sameBytes) entry.previous = kept
    else if (this.#keepPrevious && old.alive) entry.previous = { plugin: old, snapshot, hash: entry.hash, loader: entry.loader }
    entry.hash = source.hash
    entry.loader = loader.name
    entry.loadedAt = this.#scheduler.now()
    entry.reloadCount++
    entry.life.to('Running')
    this.#emit({
      type: 'reloaded',
      id: entry.id,
      from: old.version,
      to: next.version,
      hash: source.hash,
      loader: loader.name,
      phases: { prepareMs: t1 - t0, drainMs: t2 - t1, stateMs: t3 - t2, switchMs: t4 - t3 },
      cancelledCalls: cancelled,
      at: this.#scheduler.now(),
    })
    const toDispose = (sameBytes ? [old] : [kept?.plugin, entry.previous === undefined ? old : undefined]).filter((p): p is LoadedPlugin => p !== undefined)
    this.#background(this.#disposeAll(entry.id, toDispose))
    return { value: this.#status(entry) }
  }

  async #rollback(entry: Entry): Promise<OpResult<PluginStatus>> {
    const kept = entry.previous
    if (kept === undefined || !kept.plugin.alive) {
      throw new RegistryError('NO_PREVIOUS', `plugin "${entry.id}" has no previous version to roll back to (keepPrevious: ${this.#keepPrevious})`, {
        pluginId: entry.id,
      })
    }
    const current = entry.active
    entry.life.to('Reloading')
    const gate = this.#closeGate(entry)
    try {
      if (current.alive) await current.drain(this.#drainTimeoutMs)
      entry.active = kept.plugin
      entry.previous = undefined
      entry.hash = kept.hash
      entry.loader = kept.loader
      entry.loadedAt = this.#scheduler.now()
      this.#watchExit(entry, kept.plugin)
    } finally {
      entry.gate = undefined
      gate.open()
    }
    entry.life.to('Running')
    if (kept.snapshot !== undefined) {
      await this.#store
        .save({ ...kept.snapshot, timestamp: this.#scheduler.now(), metadata: { ...kept.snapshot.metadata, reason: 'rollback' } })
        .catch((error: unknown) => this.#log({ level: 'warn', message: `saving the rollback snapshot of ${entry.id}: ${(error as Error).message}` }, entry.id))
    }
    this.#emit({ type: 'rolledBack', id: entry.id, from: current.version, to: kept.plugin.version, at: this.#scheduler.now() })
    this.#background(this.#disposeAll(entry.id, [current]))
    return { value: this.#status(entry) }
  }

  async #unload(entry: Entry, reason: RegistryError): Promise<void> {
    entry.life.to('Unloading')
    entry.gone = reason
    const plugin = entry.active
    if (plugin.alive) {
      await plugin.drain(this.#drainTimeoutMs)
      await this.#saveState(entry, plugin, 'unload').catch((cause: unknown) => {
        const error = asRegistryError(cause, 'SAVE_STATE_FAILED', `saving the state of ${entry.id} on unload failed`)
        this.#emit({ type: 'failed', id: entry.id, path: entry.path, phase: 'unload', error, serving: undefined, at: this.#scheduler.now() })
      })
    }
    await this.#disposeAll(entry.id, [plugin, entry.previous?.plugin].filter((p): p is LoadedPlugin => p !== undefined))
    entry.previous = undefined
    entry.life.to('Unloaded')
    this.#entries.delete(entry.id)
    this.#byPath.delete(entry.path)
    this.#emit({ type: 'unloaded', id: entry.id, version: plugin.version, at: this.#scheduler.now() })
  }

  // --- checkpoints ---------------------------------------------------------------------

  /** A round of checkpoints: every Running plugin with `saveState()`, 8 at a time, each in its turn of operations. */
  async #checkpointAll(): Promise<void> {
    const due = [...this.#entries.values()].filter((entry) => this.#checkpointable(entry))
    await inBatches(due, 8, (entry) =>
      this.#serial(entry, () => this.#checkpoint(entry)).catch((error: unknown) => {
        this.#log({ level: 'warn', message: `${entry.id}: the periodic checkpoint of its state failed (${(error as Error).message}); its state since the last stored snapshot is only in memory until the next one succeeds` }, entry.id)
      }),
    )
  }

  #checkpointable(entry: Entry): boolean {
    return this.#closed === undefined && entry.life.state === 'Running' && entry.active.alive && entry.active.hasSaveState && entry.gone === undefined && entry.restoring === undefined
  }

  /** Stores the serving version's state when it changed since the last checkpoint of that version. */
  async #checkpoint(entry: Entry): Promise<OpResult<undefined>> {
    const done = { value: undefined }
    if (!this.#checkpointable(entry)) return done
    const plugin = entry.active
    const snapshot = await this.#captureState(entry, plugin, 'checkpoint')
    if (snapshot === undefined || entry.active !== plugin) return done
    const digest = stateDigest(snapshot.data)
    if (entry.checkpointed?.plugin === plugin && entry.checkpointed.digest === digest) return done
    await this.#persist(snapshot, entry, plugin)
    entry.checkpointed = { plugin, digest }
    return done
  }

  // --- helpers -------------------------------------------------------------------------

  #serial<T>(entry: Entry, op: () => Promise<OpResult<T>>): Promise<T> {
    const run = entry.ops.then(op)
    entry.ops = run.then(
      () => undefined,
      () => undefined,
    )
    return run.then((result) => result.value)
  }

  #closeGate(entry: Entry): Gate {
    let open!: () => void
    const promise = new Promise<void>((resolve) => {
      open = resolve
    })
    const gate = { promise, open }
    entry.gate = gate
    return gate
  }

  async #saveState(entry: Entry, plugin: LoadedPlugin, reason: string): Promise<PluginStateSnapshot | undefined> {
    const snapshot = await this.#captureState(entry, plugin, reason)
    if (snapshot !== undefined) await this.#persist(snapshot, entry, plugin)
    return snapshot
  }

  /** Asks a version for its state and makes it a snapshot (JSON checked), not stored yet. */
  async #captureState(entry: Entry, plugin: LoadedPlugin, reason: string): Promise<PluginStateSnapshot | undefined> {
    if (!plugin.hasSaveState) return undefined
    const raw = await plugin.saveState(this.#saveStateTimeoutMs)
    if (raw === undefined) return undefined
    let data
    try {
      data = toJsonValue(raw, 'state')
    } catch (error) {
      throw new RegistryError('SAVE_STATE_FAILED', `saveState() of ${entry.id}@${plugin.version} returned something that is not JSON: ${(error as Error).message}`, {
        cause: error,
        pluginId: entry.id,
      })
    }
    const snapshot: PluginStateSnapshot = {
      pluginId: entry.id,
      pluginVersion: plugin.version,
      schemaVersion: 1,
      timestamp: this.#scheduler.now(),
      data,
      metadata: { reason, loader: entry.loader, hash: entry.hash },
    }
    return snapshot
  }

  /** Stores a snapshot of `plugin`'s state. */
  async #persist(snapshot: PluginStateSnapshot, entry: Entry, plugin: LoadedPlugin): Promise<void> {
    try {
      await this.#store.save(snapshot)
    } catch (error) {
      throw new RegistryError('SAVE_STATE_FAILED', `the state store refused the snapshot of ${entry.id}@${plugin.version}: ${(error as Error).message}`, {
        cause: error,
        pluginId: entry.id,
      })
    }
  }

  async #initFromStore(next: LoadedPlugin, previousVersion: string | undefined): Promise<{ init: SetupInit; snapshot: PluginStateSnapshot | undefined }> {
    let snapshot: PluginStateSnapshot | undefined
    try {
      snapshot = await this.#store.latest(next.name)
    } catch (error) {
      this.#log({ level: 'warn', message: `reading the saved state of ${next.name} failed, starting without it: ${(error as Error).message}` }, next.name)
    }
    if (snapshot === undefined) return { init: { hasState: false, previousVersion }, snapshot }
    return { init: this.#initFor(snapshot, next, true), snapshot }
  }

  /** The serving version ended: start from the store and say what was lost. */
  async #initAfterLoss(entry: Entry, old: LoadedPlugin, next: LoadedPlugin): Promise<SetupInit> {
    const { init, snapshot } = await this.#initFromStore(next, old.version)
    if (!old.hasSaveState) return init
    const reason = entry.lastError?.message ?? `${entry.id}@${old.version} was no longer running`
    const from = snapshot === undefined ? undefined : { version: snapshot.pluginVersion, timestamp: snapshot.timestamp }
    const kept =
      from === undefined
        ? `no snapshot of ${entry.id} was ever saved, so ${next.version} starts without state`
        : `${next.version} starts from the snapshot of ${from.version} saved at ${new Date(from.timestamp).toISOString()}${init.hasState ? '' : ' (which it cannot take; it starts without state)'}`
    this.#log({ level: 'warn', message: `${entry.id}: the in-memory state of ${old.version} since its last saved snapshot is lost (${reason}); ${kept}` }, entry.id)
    this.#emit({ type: 'stateLost', id: entry.id, version: old.version, reason, restoredFrom: init.hasState ? from : undefined, at: this.#scheduler.now() })
    return init
  }

  #initFor(snapshot: PluginStateSnapshot, next: LoadedPlugin, lenient: boolean): SetupInit {
    const from = snapshot.pluginVersion
    let sameMajor: boolean
    try {
      sameMajor = major(from) === major(next.version)
    } catch {
      sameMajor = false
    }
    if (sameMajor) return { hasState: true, state: snapshot.data, previousVersion: from }
    if (next.hasMigrateState) return { hasState: true, state: snapshot.data, previousVersion: from, migrateFrom: from }
    const message = `${next.name}@${next.version} cannot take the state of ${from}: the major version changed and it has no migrateState(data, fromVersion)`
    if (!lenient) throw new RegistryError('STATE_REJECTED', message, { pluginId: next.name })
    this.#log({ level: 'warn', message: `${message}; starting without the saved state` }, next.name)
    return { hasState: false, previousVersion: from }
  }

  #watchExit(entry: Entry, plugin: LoadedPlugin): void {
    plugin.onExit((error) => {
      if (entry.previous?.plugin === plugin) entry.previous = undefined
      if (entry.active !== plugin) return
      entry.lastError = error
      if (entry.life.state === 'Running') entry.life.to('Failed')
      this.#emit({ type: 'failed', id: entry.id, path: entry.path, phase: 'runtime', error, serving: undefined, at: this.#scheduler.now() })
      if (error.code === 'WORKER_LOST' && this.#closed === undefined) this.#restore(entry, plugin, error)
    })
  }

  /**
   * A version lost with its pool worker through another plugin's fault serves again: reloaded
   * from its own artifact (on a healthy worker) with the last stored snapshot, as after any
   * loss (`stateLost` says what was lost), then a `restored` event. Calls wait meanwhile.
   */
  #restore(entry: Entry, lost: LoadedPlugin, error: RegistryError): void {
    const t0 = this.#elapsed()
    const artifact = lost.artifact
    const restoring = this.#serial(entry, () => (entry.active === lost && this.#closed === undefined ? this.#reload(entry, artifact, undefined) : Promise.resolve({ value: this.#status(entry) }))).then(
      (status) => {
        if (status.alive) this.#emit({ type: 'restored', id: entry.id, version: status.version, loader: status.loader, reason: error.message, durationMs: this.#elapsed() - t0, at: this.#scheduler.now() })
      },
      (failure: unknown) => {
        this.#log({ level: 'error', message: `${entry.id}: restoring it after its pool worker was lost failed (${(failure as Error).message}); it stays Failed until it changes or is reloaded` }, entry.id)
      },
    )
    entry.restoring = restoring
    void restoring.finally(() => {
      if (entry.restoring === restoring) entry.restoring = undefined
    })
  }

  async #disposeAll(id: string, plugins: readonly LoadedPlugin[]): Promise<void> {
    await Promise.all(
      plugins.map((plugin) =>
        plugin.dispose(this.#disposeTimeoutMs).catch((error: unknown) => {
          this.#log({ level: 'warn', message: `disposing ${id}@${plugin.version}: ${(error as Error).message}` }, id)
        }),
      ),
    )
  }

  /** Runs a disposal without holding up the plugin's next operation; `close()` waits for it. */
  #background(disposal: Promise<void>): void {
    this.#disposals.add(disposal)
    void disposal.finally(() => this.#disposals.delete(disposal))
  }

  #loaderFor(source: PluginArtifact): Loader {
    const loader = this.#loaders.find((l) => l.canLoad(source))
    if (loader === undefined) {
      throw new RegistryError('UNSUPPORTED', `no loader of this registry (${this.#loaders.map((l) => l.name).join(', ')}) can load ${source.path} (${source.kind})`)
    }
    return loader
  }

  /**
   * The options a loader keeps for a version's life. Built here, not inline in `load` or
   * `#reload`: a closure made there would hold that call's whole scope (the previous version
   * included), chaining every version to the one before it.
   */
  #prepareOptions(who: { readonly id: string | undefined }): PrepareOptions {
    return {
      loadTimeoutMs: this.#loadTimeoutMs,
      callTimeoutMs: this.#callTimeoutMs,
      log: (entry) => this.#log(entry, who.id),
      scheduler: this.#scheduler,
      onMemory: (report) => this.#onMemory(who.id, report),
    }
  }

  #onMemory(id: string | undefined, report: MemoryReport): void {
    if (id === undefined) return
    this.#emit({ type: 'memorySampled', id, version: report.version, heapBytes: report.heapBytes, at: report.at })
    const leak = report.leak
    if (leak === undefined) return
    const mb = (n: number): string => `${(n / 1048576).toFixed(1)} MB`
    this.#log({ level: 'warn', message: `${id}@${report.version} may leak memory: its heap grew at each of its last ${leak.samples} samples, by ${mb(leak.growthBytes)} to ${mb(report.heapBytes)}` }, id)
    this.#emit({ type: 'memoryLeakSuspected', id, version: report.version, heapBytes: report.heapBytes, growthBytes: leak.growthBytes, samples: leak.samples, since: leak.since, at: report.at })
  }

  #log(entry: LoaderLogEntry, id: string | undefined): void {
    this.#logger[entry.level](entry.message)
    this.#emit({ type: 'log', id, level: entry.level, message: entry.message, at: this.#scheduler.now() })
  }

  #emit(event: RegistryEvent): void {
    this.#events.next(event)
  }

  #find(idOrPath: string): Entry | undefined {
    return this.#entries.get(idOrPath) ?? this.#byPath.get(resolve(idOrPath))
  }

  #assertOpen(): void {
    if (this.#closed !== undefined) throw this.#closed
  }

  #status(entry: Entry): PluginStatus {
    return {
      id: entry.id,
      version: entry.active.version,
      state: entry.life.state,
      path: entry.path,
      hash: entry.hash,
      loader: entry.loader,
      loadedAt: entry.loadedAt,
      reloadCount: entry.reloadCount,
      failedReloads: entry.failedReloads,
      lastError: entry.lastError,
      inFlight: entry.active.inFlight,
      previousVersion: entry.previous?.plugin.version,
      alive: entry.active.alive,
      dependsOn: entry.active.contract?.dependsOn ?? {},
      memory: entry.active.memory,
    }
  }
}

/** A call that never reached a version lost with its pool worker: safe to run once more. */
function isRetriable(error: unknown): boolean {
  return error instanceof WorkerLostError && !error.reached
}

function notFound(idOrPath: string): RegistryError {
  return new RegistryError('NOT_FOUND', `no plugin "${idOrPath}" is loaded (by id or path)`, { pluginId: idOrPath })
}

function asRegistryError(cause: unknown, code: 'LOAD_FAILED' | 'SAVE_STATE_FAILED', message: string): RegistryError {
  if (cause instanceof RegistryError) return cause
  return new RegistryError(code, `${message}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause })
}

function limit(options: RegistryOptions, key: keyof RegistryOptions & (`${string}TimeoutMs` | 'checkpointMs'), fallback: number): number {
  const value = options[key]
  if (value === undefined) return fallback
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new RegistryError('INVALID_OPTIONS', `${key} must be a number of milliseconds >= 0 (Infinity for no limit), got ${String(value)}`)
  }
  return value
}
