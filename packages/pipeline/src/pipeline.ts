import { join, resolve } from 'node:path'
import { mkdir, stat } from 'node:fs/promises'
import { EMPTY, Observable, Subject, defer, from, timer, type Subscription } from 'rxjs'
import { catchError, mergeMap, share } from 'rxjs/operators'
import { fnv1a32Hex } from '@hotswap/change-detector'
import { watch, type FileChange, type WatcherError } from '@hotswap/watcher'
import {
  CircuitOpenError,
  RetriesExhaustedError,
  coalesceByKey,
  createCircuitBreaker,
  exhaustLatestByKey,
  retryBackoff,
  type BackoffStrategy,
  type CircuitBreaker,
  type CircuitState,
  type CoalesceWindow,
  type Jitter,
} from '@hotswap/operators'
import {
  createPluginRegistry,
  readPluginSource,
  type Loader,
  type PluginRegistry,
  type PluginStatus,
  type RegistryEvent,
  type RegistryOptions,
  type RegistryStateStore,
} from '@hotswap/registry'
import { createStateStore, fileAdapter, type StateStore } from '@hotswap/state-store'
import { PipelineError } from './errors.js'
import type { PipelineEvent, ReloadAction, ReloadCause, ReloadResult, ReloadTimings, SkipReason } from './events.js'
import { MetricsRecorder, type ReloadMetrics } from './metrics.js'
import { foldPluginChange, kindFor, type PluginChange } from './plugin-change.js'
import { PluginHasher } from './plugin-hash.js'
import { discoverPlugins, isPluginRoot, pluginRootOf } from './plugin-layout.js'
import { validatePolicy, type ReloadPolicy } from './policy.js'

/** How file changes are grouped before a reload. */
export interface DebounceOptions {
  /** Fixed ms, adaptive `{ minMs, maxMs }` or custom `(recentChanges) => ms`. Default adaptive 25–500 ms. */
  readonly windowMs?: CoalesceWindow<PluginChange>
  /** Longest a plugin that keeps changing waits for its reload. Default 2000 ms. */
  readonly maxWaitMs?: number
}

/** Retries of a failed load or reload. */
export interface RetryOptions {
  /** Exponential (default 200 ms ×2 up to 10 s), linear, or custom. */
  readonly backoff?: BackoffStrategy
  /** Retries after the first attempt. Default 3. */
  readonly maxRetries?: number
  /** Jitter on the delays. Default 'none'. */
  readonly jitter?: Jitter
}

/** The per-plugin circuit breaker. */
export interface BreakerOptions {
  /** Failed attempts in a row that open it. Default 5. */
  readonly failureThreshold?: number
  /** After this long one trial attempt is let through. Default 30 s. */
  readonly resetAfterMs?: number
}

/** Callbacks around reloads; their errors are reported as events, never thrown into the pipeline. */
export interface PipelineHooks {
  /** Before a load, reload or unload; return `false` to skip it. */
  readonly onBeforeReload?: (info: { readonly root: string; readonly id: string | undefined; readonly action: ReloadAction; readonly cause: ReloadCause }) => boolean | void | Promise<boolean | void>
  /** After every attempt's outcome, with the whole explanation. */
  readonly onAfterReload?: (result: ReloadResult) => void | Promise<void>
  /** Before each retry. */
  readonly onRetry?: (info: { readonly root: string; readonly attempt: number; readonly delayMs: number; readonly error: unknown }) => void
  /** On every error (failed reload, watcher error). */
  readonly onError?: (error: Error) => void
}

/** Options of {@link createReloadPipeline}. */
export interface ReloadPipelineOptions {
  /** Directories with plugins: files (`.mjs`, `.js`, `.cjs`, `.wasm`) and directories with a `package.json`. */
  readonly dirs: readonly string[]
  /** Globs or extensions a changed file must match (default: everything below the dirs). */
  readonly include?: readonly string[]
  /** Globs to ignore (default: the watcher's editor temp files and `.git`). */
  readonly exclude?: readonly string[]
  /** How changes are grouped; a number is a fixed window in ms (0: none). */
  readonly debounce?: number | DebounceOptions
  /** When changes are applied. Default OnChange. */
  readonly policy?: ReloadPolicy
  /** Start enabled (changes are applied per policy) or disabled (noted as pending). Default true. */
  readonly enabled?: boolean
  /** Retries of failed reloads, or `false` for none. */
  readonly retry?: RetryOptions | false
  /** Per-plugin circuit breaker, or `false` for none. */
  readonly breaker?: BreakerOptions | false
  /** The registry's loader(s). Default: worker loader for JS, wasm loader for `.wasm`. */
  readonly loader?: Loader | readonly Loader[]
  /** Other registry options (drain, setup and call timeouts, keepPrevious, logger). */
  readonly registryOptions?: Omit<RegistryOptions, 'loader' | 'stateStore'>
  /** Where the watcher snapshot persists, and plugin state too (a file state store in `stateDir/state`) unless `stateStore` is given. */
  readonly stateDir?: string
  /** A state store of your own for plugin state (then `stateDir` keeps only the watcher snapshot); the pipeline does not close it. */
  readonly stateStore?: RegistryStateStore
  /** Plugins reloaded at the same time. Default 4. */
  readonly concurrency?: number
  /** Rescan every so often to apply what events missed (0: never). Default 60000. */
  readonly reconcileIntervalMs?: number
  /** Callbacks around reloads. */
  readonly hooks?: PipelineHooks
}

/** A plugin as the pipeline sees it. */
export interface PipelinePluginStatus {
  /** The plugin's file or directory. */
  readonly root: string
  /** The registry's status, when it is loaded. */
  readonly plugin: PluginStatus | undefined
  /** Changes noted but not applied (policy or disabled). */
  readonly pending: readonly FileChange[] | undefined
  /** The state of its circuit breaker. */
  readonly breaker: CircuitState
  /** The last failure of a load or reload, until one succeeds. */
  readonly lastError: Error | undefined
  /** Its reload counters and durations. */
  readonly metrics: ReloadMetrics
}

/** What {@link ReloadPipeline.status} returns. */
export interface PipelineStatus {
  /** Whether changes are applied (per policy) or only noted. */
  readonly enabled: boolean
  /** The policy in force. */
  readonly policy: ReloadPolicy
  /** The watched plugin directories (absolute). */
  readonly dirs: readonly string[]
  /** Every plugin: loaded, pending or failed. */
  readonly plugins: readonly PipelinePluginStatus[]
  /** All plugins together. */
  readonly totals: ReloadMetrics
  /** The last reload of any plugin. */
  readonly lastReload: ReloadResult | undefined
}

/** A running reload pipeline. */
export interface ReloadPipeline {
  /** Resolves once every plugin that existed at start was loaded (or failed to). */
  readonly ready: Promise<void>
  /** Every event: reloads with their explanation, pending changes, skips, retries, registry events. */
  readonly events$: Observable<PipelineEvent>
  /** The registry, for handles: `pipeline.registry.get('greeter').call('greet', 'bob')`. */
  readonly registry: PluginRegistry
  /** A snapshot of the pipeline and its plugins. */
  status(): PipelineStatus
  /** Apply changes again (pending ones are applied per policy). */
  enable(): void
  /** Stop applying changes; they are noted as pending. */
  disable(): void
  /** Change the policy; pending changes are applied when it becomes OnChange. */
  setPolicy(policy: ReloadPolicy): void
  /** Apply pending changes now: of one plugin (by id or root), or of all; forces a reload of a named plugin with none pending. */
  trigger(idOrRoot?: string): Promise<void>
  /** Switch a plugin back to its previous version. */
  rollback(id: string): Promise<PluginStatus>
  /** Stop watching, finish or cancel reloads, save every plugin's state, write the watcher snapshot. */
  close(): Promise<void>
}

const DEFAULT_WINDOW: CoalesceWindow<PluginChange> = { minMs: 25, maxMs: 500 }

/**
 * Creates the whole hot-reload pipeline: watcher → coalesce per plugin → content hash → policy
 * → one reload per plugin at a time (retries, circuit breaker) → registry (state moved through
 * the state store) → one stream of events.
 *
 * At start it loads every plugin in `dirs` (restoring persisted state), then applies changes as
 * the policy says. A broken version never replaces a working one: the old version keeps serving
 * and the failure is an event. `close()` is the teardown.
 *
 * @param options - the directories and everything else; see {@link ReloadPipelineOptions}
 * @returns the pipeline; await `ready` before relying on every plugin being loaded
 * @throws {@link PipelineError} `INVALID_OPTIONS` for a missing dir list or an out-of-range option
 * @example
 * ```ts
 * const pipeline = createReloadPipeline({ dirs: ['plugins'], stateDir: '.hotswap-state' })
 * await pipeline.ready
 * const greeter = pipeline.registry.get<{ greet(who: string): string }>('greeter')
 * console.log(await greeter.call('greet', 'bob'))
 * pipeline.events$.subscribe((e) => e.type === 'reload' && console.log(e.action, e.id, e.outcome))
 * // later
 * await pipeline.close()
 * ```
 */
export function createReloadPipeline(options: ReloadPipelineOptions): ReloadPipeline {
  return new Pipeline(options)
}

interface Work {
  readonly change: PluginChange
  readonly cause: ReloadCause
}

class Pipeline implements ReloadPipeline {
  readonly ready: Promise<void>
  readonly events$: Observable<PipelineEvent>
  readonly registry: PluginRegistry

  readonly #dirs: readonly string[]
  readonly #options: ReloadPipelineOptions
  readonly #events = new Subject<PipelineEvent>()
  readonly #work = new Subject<Work>()
  readonly #hasher = new PluginHasher()
  readonly #pending = new Map<string, PluginChange>()
  readonly #breakers = new Map<string, CircuitBreaker>()
  readonly #metrics = new Map<string, MetricsRecorder>()
  readonly #totals = new MetricsRecorder()
  readonly #lastErrors = new Map<string, Error>()
  readonly #liveHash = new Map<string, string>()
  readonly #lastRegistryEvent = new Map<string, RegistryEvent>()
  readonly #inflight = new Set<Promise<unknown>>()
  readonly #subscriptions: Subscription[] = []
  #policy: ReloadPolicy
  #enabled: boolean
  #lastReload: ReloadResult | undefined
  #closing: Promise<void> | undefined
  #ownStore: StateStore | undefined
  #storeReady: Promise<void>
  #scheduleTimer: Subscription | undefined
  readonly #waitingForStart = new Set<string>()
  #startDone: (() => void) | undefined

  constructor(options: ReloadPipelineOptions) {
    const dirs: unknown = options?.dirs
    if (!Array.isArray(dirs) || dirs.length === 0 || !dirs.every((d): d is string => typeof d === 'string' && d !== '')) {
      throw new PipelineError('INVALID_OPTIONS', 'createReloadPipeline needs dirs: a non-empty list of plugin directory paths')
    }
    const concurrency = options.concurrency ?? 4
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new PipelineError('INVALID_OPTIONS', `concurrency must be an integer >= 1, got ${String(options.concurrency)}`)
    }
    this.#options = options
    this.#dirs = dirs.map((d) => resolve(d))
    this.#policy = validatePolicy(options.policy ?? { kind: 'OnChange' })
    this.#enabled = options.enabled ?? true

    // The state store: our own file store in stateDir, the caller's, or the registry's memory default.
    let store: RegistryStateStore | undefined = options.stateStore
    let opened: Promise<StateStore> | undefined
    if (options.stateDir !== undefined && store === undefined) {
      const dir = join(resolve(options.stateDir), 'state')
      opened = mkdir(dir, { recursive: true }).then(() => createStateStore({ adapter: fileAdapter({ dir }) }))
      store = lazyStore(opened)
    }
    this.#storeReady = opened === undefined ? Promise.resolve() : opened.then((s) => void (this.#ownStore = s))
    this.registry = createPluginRegistry({
      ...options.registryOptions,
      ...(options.loader !== undefined ? { loader: options.loader } : {}),
      ...(store !== undefined ? { stateStore: store } : {}),
    })
    this.events$ = this.#events.asObservable()
    this.#subscriptions.push(
      this.registry.events$.subscribe((event) => {
        if ('id' in event && event.id !== undefined && (event.type === 'reloaded' || event.type === 'loaded' || event.type === 'failed')) {
          this.#lastRegistryEvent.set(event.id, event)
        }
        this.#emit({ type: 'registry', event })
      }),
    )
    this.ready = this.#start()
  }

  // ---------------------------------------------------------------- start and streams

  async #start(): Promise<void> {
    const startedAt = Date.now()
    await this.#storeReady
    for (const dir of this.#dirs) {
      const st = await stat(dir).catch(() => undefined)
      if (st?.isDirectory() !== true) throw new PipelineError('INVALID_OPTIONS', `plugin directory ${dir} does not exist or is not a directory`)
    }
    const apply$ = this.#work.pipe(
      exhaustLatestByKey(
        (w: Work) => w.change.root,
        (w: Work) => defer(() => this.#track(this.#apply(w))),
        { concurrency: this.#options.concurrency ?? 4 },
      ),
    )
    this.#subscriptions.push(apply$.subscribe({ error: (error: unknown) => this.#reportError(asError(error)) }))
    this.#subscriptions.push(this.#changes().subscribe((w) => this.#route(w)))
    this.#schedule()
    const interval = this.#options.reconcileIntervalMs ?? 60_000
    if (interval > 0) this.#subscriptions.push(timer(interval, interval).subscribe(() => void this.#reconcile('interval')))

    const roots = await discoverPlugins(this.#dirs)
    const started = new Promise<void>((done) => (this.#startDone = done))
    for (const root of roots) this.#waitingForStart.add(root)
    if (roots.length === 0) this.#startDone?.()
    for (const root of roots) this.#work.next({ change: emptyChange(root, 'created'), cause: 'start' })
    await started
    this.#emit({ type: 'ready', plugins: this.registry.list().length, durationMs: Date.now() - startedAt, at: Date.now() })
  }

  /** File changes → per-plugin changes, coalesced; watcher errors trigger a reconcile and a resubscribe. */
  #changes(): Observable<Work> {
    const debounce = this.#options.debounce
    const windowMs = typeof debounce === 'number' ? debounce : (debounce?.windowMs ?? DEFAULT_WINDOW)
    const maxWaitMs = typeof debounce === 'number' ? undefined : (debounce?.maxWaitMs ?? 2000)
    const snapshotFile = this.#options.stateDir === undefined ? undefined : (root: string) => join(resolve(this.#options.stateDir!), `watcher-${fnv1a32Hex(root)}.snapshot`)
    const source$ = new Observable<FileChange>((subscriber) => {
      let subscription: Subscription | undefined
      const connect = (attempt: number): void => {
        subscription = watch(this.#dirs, {
          ...(this.#options.include !== undefined ? { include: this.#options.include } : {}),
          ...(this.#options.exclude !== undefined ? { exclude: this.#options.exclude } : {}),
          ...(snapshotFile !== undefined ? { snapshotFile, onSnapshotError: 'scan' as const } : {}),
        }).subscribe({
          next: (change) => subscriber.next(change),
          error: (error: unknown) => {
            const err = asError(error)
            this.#emit({ type: 'watcher-error', error: err as WatcherError, at: Date.now() })
            this.#reportError(err)
            if (this.#closing !== undefined) return
            void this.#reconcile('watcher-error')
            const delay = Math.min(30_000, 250 * 2 ** attempt)
            const t = setTimeout(() => connect(attempt + 1), delay)
            subscriber.add(() => clearTimeout(t))
          },
        })
      }
      connect(0)
      return () => subscription?.unsubscribe()
    }).pipe(share())
    return source$.pipe(
      mergeMap((change) => from(this.#toPluginChanges(change))),
      coalesceByKey((c: PluginChange) => c.root, { windowMs, ...(maxWaitMs !== undefined ? { maxWaitMs } : {}), fold: foldPluginChange }),
      mergeMap((change) => (change.root === '' ? EMPTY : [{ change, cause: 'change' as const }])),
      catchError((error: unknown) => {
        this.#reportError(asError(error))
        return EMPTY
      }),
    )
  }

  #toPluginChanges(change: FileChange): PluginChange[] {
    const now = Date.now()
    const out: PluginChange[] = []
    const root = pluginRootOf(change.path, this.#dirs)
    if (change.kind === 'renamed' && change.oldPath !== undefined) {
      const oldRoot = pluginRootOf(change.oldPath, this.#dirs)
      if (oldRoot !== undefined && oldRoot !== root) {
        // A plugin root renamed: handled at once so that it never flaps through unload + load.
        void this.#track(this.#renameRoot(oldRoot, root, change))
        return []
      }
    }
    if (root !== undefined) out.push({ root, kind: kindFor(change, root), changes: [change], firstAt: now, lastAt: now })
    return out
  }

  /** Sends work on, or keeps it pending, as the policy and the enabled switch say. */
  #route(work: Work): void {
    if (this.#closing !== undefined) return
    const applyNow = this.#enabled && this.#policy.kind === 'OnChange'
    if (applyNow || work.cause === 'start') {
      this.#work.next(work)
      return
    }
    const previous = this.#pending.get(work.change.root)
    const merged = previous === undefined ? work.change : foldPluginChange(previous, work.change)
    if (typeof merged === 'symbol') {
      this.#pending.delete(work.change.root)
      return
    }
    this.#pending.set(work.change.root, merged)
    this.#emit({
      type: 'pending',
      root: merged.root,
      id: this.#idOf(merged.root),
      policy: this.#policy.kind,
      enabled: this.#enabled,
      changes: merged.changes,
      at: Date.now(),
    })
  }

  #flushPending(cause: ReloadCause, only?: string): void {
    for (const [root, change] of [...this.#pending]) {
      if (only !== undefined && root !== only) continue
      this.#pending.delete(root)
      this.#work.next({ change, cause })
    }
  }

  #schedule(): void {
    this.#scheduleTimer?.unsubscribe()
    this.#scheduleTimer = undefined
    if (this.#policy.kind !== 'Scheduled') return
    const every = this.#policy.intervalMs
    this.#scheduleTimer = timer(every, every).subscribe(() => {
      if (this.#enabled) this.#flushPending('schedule')
    })
  }

  // ---------------------------------------------------------------- applying one change

  async #apply(work: Work): Promise<void> {
    const { change, cause } = work
    const root = change.root
    const startedAt = Date.now()
    try {
      const exists = await isPluginRoot(root)
      const id = this.#idOf(root)
      let action: ReloadAction
      let hashAfter: string | undefined
      if (!exists) {
        if (id === undefined) {
          if (cause !== 'change' || change.kind !== 'deleted') this.#skip(root, id, 'not-a-plugin', change)
          return
        }
        action = 'unload'
      } else {
        try {
          hashAfter = await this.#hasher.hash(root)
        } catch (error) {
          // Still being written: the writer's last event will bring it back here.
          this.#skip(root, id, 'unstable', change)
          this.#reportError(asError(error))
          return
        }
        // Renamed away while we hashed: this change belongs to a path the plugin left.
        if (this.#idOf(root) !== id) {
          this.#skip(root, id, 'not-a-plugin', change)
          return
        }
        const live = this.#liveHash.get(root)
        if (id !== undefined && hashAfter === live && change.force !== true && this.registry.status(id).alive) {
          this.#skip(root, id, 'unchanged', change)
          return
        }
        // The same bytes already failed (after their retries): wait for a new change or a trigger.
        if (hashAfter === this.#failedHash.get(root) && change.force !== true) {
          this.#skip(root, id, 'already-failed', change)
          return
        }
        action = id === undefined ? 'load' : 'reload'
        // A new content hash (or an explicit trigger) gets a fresh chance past an open breaker.
        if (hashAfter !== this.#failedHash.get(root) || change.force === true) this.#breaker(root).reset()
      }
      const veto = await this.#hook(() => this.#options.hooks?.onBeforeReload?.({ root, id, action, cause }))
      if (veto === false) {
        this.#skip(root, id, 'vetoed', change)
        return
      }
      await this.#run(root, id, action, cause, change, hashAfter, startedAt)
    } catch (error) {
      this.#reportError(asError(error))
    } finally {
      if (this.#waitingForStart.delete(root) && this.#waitingForStart.size === 0) this.#startDone?.()
    }
  }

  readonly #failedHash = new Map<string, string>()

  async #run(root: string, id: string | undefined, action: ReloadAction, cause: ReloadCause, change: PluginChange, hashAfter: string | undefined, startedAt: number): Promise<void> {
    const hashBefore = this.#liveHash.get(root)
    const from = id !== undefined && this.registry.has(id) ? this.registry.status(id).version : undefined
    let attempts = 0
    if (id !== undefined && this.#idOf(root) !== id) {
      this.#skip(root, id, 'not-a-plugin', change) // renamed away meanwhile
      return
    }
    const attempt$ = defer(async () => {
      attempts++
      if (action === 'unload') {
        await this.registry.unload(id!)
        return undefined
      }
      return action === 'load' ? this.registry.load(root) : this.registry.reload(id!)
    })
    const retry = this.#options.retry
    const breakerOption = this.#options.breaker
    let pipeline$ = attempt$
    if (breakerOption !== false) pipeline$ = pipeline$.pipe(this.#breaker(root).protect())
    if (retry !== false && action !== 'unload') {
      pipeline$ = pipeline$.pipe(
        retryBackoff({
          backoff: retry?.backoff ?? { strategy: 'exponential', initialMs: 200, multiplier: 2, maxMs: 10_000 },
          maxRetries: retry?.maxRetries ?? 3,
          jitter: retry?.jitter ?? 'none',
          shouldRetry: (error) => !(error instanceof CircuitOpenError) && this.#closing === undefined,
          onRetry: ({ attempt, delayMs, error }) => {
            this.#emit({ type: 'retry', root, id, attempt, delayMs, error, at: Date.now() })
            this.#options.hooks?.onRetry?.({ root, attempt, delayMs, error })
          },
        }),
      )
    }
    let status: PluginStatus | undefined
    let failure: Error | undefined
    try {
      status = await lastValue(pipeline$)
    } catch (error) {
      failure = unwrap(error)
    }
    if (failure instanceof CircuitOpenError && attempts === 0) {
      this.#skip(root, id, 'circuit-open', change)
      return
    }
    const newId = status?.id ?? id
    const registryEvent = newId === undefined ? undefined : this.#lastRegistryEvent.get(newId)
    const now = Date.now()
    const timings: ReloadTimings = {
      detectedMs: change.lastAt - change.firstAt,
      waitedMs: Math.max(0, startedAt - change.lastAt),
      prepareMs: registryEvent?.type === 'reloaded' ? registryEvent.phases.prepareMs : registryEvent?.type === 'loaded' ? registryEvent.durationMs : 0,
      drainMs: registryEvent?.type === 'reloaded' ? registryEvent.phases.drainMs : 0,
      stateMs: registryEvent?.type === 'reloaded' ? registryEvent.phases.stateMs : 0,
      switchMs: registryEvent?.type === 'reloaded' ? registryEvent.phases.switchMs : 0,
      totalMs: now - startedAt,
    }
    if (failure === undefined) {
      if (action === 'unload') this.#liveHash.delete(root)
      else if (hashAfter !== undefined) this.#liveHash.set(root, hashAfter)
      this.#lastErrors.delete(root)
      this.#failedHash.delete(root)
    } else {
      this.#lastErrors.set(root, failure)
      if (hashAfter !== undefined) this.#failedHash.set(root, hashAfter)
    }
    const result: ReloadResult = {
      type: 'reload',
      id: newId,
      root,
      action,
      cause,
      changes: change.changes,
      hashBefore,
      hashAfter: action === 'unload' ? undefined : hashAfter,
      policy: this.#policy.kind,
      timings,
      outcome: failure === undefined ? 'success' : 'failed',
      from,
      to: status?.version,
      attempts,
      error: failure,
      failedPhase: registryEvent?.type === 'failed' && failure !== undefined ? registryEvent.phase : undefined,
      at: now,
    }
    if (action !== 'unload') {
      this.#recorder(root).record(failure === undefined, timings.totalMs, now)
      this.#totals.record(failure === undefined, timings.totalMs, now)
    }
    this.#lastReload = result
    this.#emit(result)
    if (failure !== undefined) this.#reportError(failure)
    await this.#hook(() => this.#options.hooks?.onAfterReload?.(result))
    // The registry read the files itself, after we hashed them: if they changed in between, the
    // registry's own hash of what it loaded tells whether it already has the newest bytes.
    if (failure === undefined && action !== 'unload' && status !== undefined && this.#closing === undefined) {
      await this.#settleLiveHash(root, status, hashAfter)
    }
  }

  async #settleLiveHash(root: string, status: PluginStatus, hashed: string | undefined): Promise<void> {
    try {
      const [mine, onDisk] = await Promise.all([this.#hasher.hash(root), readPluginSource(root)])
      if (mine === hashed) return
      if (onDisk.hash === status.hash) {
        this.#liveHash.set(root, mine) // the registry loaded what is on disk now
        return
      }
    } catch {
      // unreadable or gone right now: the next event or reconcile brings it back
    }
    this.#route({ change: emptyChange(root, 'modified'), cause: 'change' })
  }

  async #renameRoot(oldRoot: string, newRoot: string | undefined, change: FileChange): Promise<void> {
    const id = this.#idOf(oldRoot)
    if (id === undefined || newRoot === undefined || !(await isPluginRoot(newRoot))) {
      // Not a loaded plugin moving to another plugin root: treat as a delete and a create.
      const now = Date.now()
      this.#route({ change: { root: oldRoot, kind: 'deleted', changes: [change], firstAt: now, lastAt: now }, cause: 'change' })
      if (newRoot !== undefined) this.#route({ change: { root: newRoot, kind: 'created', changes: [change], firstAt: now, lastAt: now }, cause: 'change' })
      return
    }
    await this.registry.relocate(id, newRoot)
    const hash = this.#liveHash.get(oldRoot)
    this.#liveHash.delete(oldRoot)
    if (hash !== undefined) this.#liveHash.set(newRoot, hash)
    this.#emit({ type: 'renamed', id, from: oldRoot, to: newRoot, at: Date.now() })
    // Content may have changed with the move: a normal check follows (it skips when the hash is the same).
    const now = Date.now()
    this.#route({ change: { root: newRoot, kind: 'modified', changes: [change], firstAt: now, lastAt: now }, cause: 'change' })
  }

  async #reconcile(reason: 'interval' | 'watcher-error'): Promise<void> {
    if (this.#closing !== undefined) return
    try {
      const roots = new Set(await discoverPlugins(this.#dirs))
      for (const s of this.registry.list()) roots.add(s.path)
      this.#emit({ type: 'reconcile', reason, plugins: roots.size, at: Date.now() })
      for (const root of roots) {
        if (pluginRootOf(root, this.#dirs) === undefined) continue
        this.#route({ change: emptyChange(root, 'modified'), cause: 'reconcile' })
      }
    } catch (error) {
      this.#reportError(asError(error))
    }
  }

  // ---------------------------------------------------------------- public controls

  status(): PipelineStatus {
    const roots = new Set<string>([...this.registry.list().map((s) => s.path), ...this.#pending.keys(), ...this.#lastErrors.keys()])
    const plugins = [...roots].sort().map((root): PipelinePluginStatus => {
      const id = this.#idOf(root)
      return {
        root,
        plugin: id === undefined ? undefined : this.registry.status(id),
        pending: this.#pending.get(root)?.changes,
        breaker: this.#breakers.get(root)?.snapshot().state ?? 'closed',
        lastError: this.#lastErrors.get(root),
        metrics: this.#recorder(root).snapshot(),
      }
    })
    return { enabled: this.#enabled, policy: this.#policy, dirs: this.#dirs, plugins, totals: this.#totals.snapshot(), lastReload: this.#lastReload }
  }

  enable(): void {
    this.#assertOpen()
    this.#enabled = true
    this.#emit({ type: 'policy', policy: this.#policy, enabled: true, at: Date.now() })
    if (this.#policy.kind === 'OnChange') this.#flushPending('enable')
  }

  disable(): void {
    this.#assertOpen()
    this.#enabled = false
    this.#emit({ type: 'policy', policy: this.#policy, enabled: false, at: Date.now() })
  }

  setPolicy(policy: ReloadPolicy): void {
    this.#assertOpen()
    this.#policy = validatePolicy(policy)
    this.#schedule()
    this.#emit({ type: 'policy', policy: this.#policy, enabled: this.#enabled, at: Date.now() })
    if (this.#enabled && this.#policy.kind === 'OnChange') this.#flushPending('enable')
  }

  async trigger(idOrRoot?: string): Promise<void> {
    this.#assertOpen()
    await this.ready
    if (idOrRoot === undefined) {
      const roots = [...this.#pending.keys()]
      const done = roots.map((root) => this.#whenApplied(root))
      this.#flushPending('trigger')
      await Promise.all(done)
      return
    }
    const root = this.#rootOf(idOrRoot)
    if (root === undefined) throw new PipelineError('NOT_FOUND', `no plugin "${idOrRoot}" (by id or path) is known to the pipeline`)
    const done = this.#whenApplied(root)
    const pending = this.#pending.get(root)
    this.#pending.delete(root)
    const now = Date.now()
    const change: PluginChange = { ...(pending ?? emptyChange(root, 'modified')), lastAt: pending?.lastAt ?? now, force: true }
    this.#breaker(root).reset()
    this.#work.next({ change, cause: 'trigger' })
    await done
  }

  rollback(id: string): Promise<PluginStatus> {
    this.#assertOpen()
    return this.registry.rollback(id)
  }

  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    this.#scheduleTimer?.unsubscribe()
    for (const s of this.#subscriptions.splice(1)) s.unsubscribe() // stop watching (writes the snapshot) and applying
    await Promise.allSettled([...this.#inflight])
    await this.ready.catch(() => undefined)
    await this.registry.close() // drains and saves every plugin's state
    this.#subscriptions.splice(0).forEach((s) => s.unsubscribe())
    for (const breaker of this.#breakers.values()) breaker.close()
    await this.#storeReady.catch(() => undefined)
    await this.#ownStore?.close()
    this.#emit({ type: 'closed', at: Date.now() })
    this.#events.complete()
    this.#work.complete()
  }

  // ---------------------------------------------------------------- helpers

  #whenApplied(root: string): Promise<void> {
    return new Promise((resolveDone) => {
      const sub = this.#events.subscribe((e) => {
        if ((e.type === 'reload' || e.type === 'skipped') && e.root === root) {
          sub.unsubscribe()
          resolveDone()
        }
      })
    })
  }

  #idOf(root: string): string | undefined {
    return this.registry.list().find((s) => s.path === root)?.id
  }

  #rootOf(idOrRoot: string): string | undefined {
    if (this.registry.has(idOrRoot)) return this.registry.status(idOrRoot).path
    const abs = resolve(idOrRoot)
    return pluginRootOf(abs, this.#dirs) === abs ? abs : undefined
  }

  #breaker(root: string): CircuitBreaker {
    let breaker = this.#breakers.get(root)
    if (breaker === undefined) {
      const b = this.#options.breaker === false ? {} : (this.#options.breaker ?? {})
      breaker = createCircuitBreaker({ name: root, failureThreshold: b.failureThreshold ?? 5, resetAfterMs: b.resetAfterMs ?? 30_000 })
      this.#breakers.set(root, breaker)
    }
    return breaker
  }

  #recorder(root: string): MetricsRecorder {
    let m = this.#metrics.get(root)
    if (m === undefined) {
      m = new MetricsRecorder()
      this.#metrics.set(root, m)
    }
    return m
  }

  #skip(root: string, id: string | undefined, reason: SkipReason, change: PluginChange): void {
    this.#emit({ type: 'skipped', root, id, reason, changes: change.changes, at: Date.now() })
  }

  #emit(event: PipelineEvent): void {
    this.#events.next(event)
  }

  #reportError(error: Error): void {
    try {
      this.#options.hooks?.onError?.(error)
    } catch {
      // a throwing hook must not break the pipeline
    }
  }

  async #hook<T>(call: () => T | Promise<T>): Promise<T | undefined> {
    try {
      return await call()
    } catch (error) {
      this.#reportError(asError(error))
      return undefined
    }
  }

  #track<T>(promise: Promise<T>): Promise<T> {
    this.#inflight.add(promise)
    void promise.catch(() => undefined).finally(() => this.#inflight.delete(promise))
    return promise
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) throw new PipelineError('CLOSED', 'the reload pipeline is closed')
  }
}

function emptyChange(root: string, kind: PluginChange['kind']): PluginChange {
  const now = Date.now()
  return { root, kind, changes: [], firstAt: now, lastAt: now }
}

function lastValue<T>(source: Observable<T>): Promise<T | undefined> {
  return new Promise((resolveValue, reject) => {
    let last: T | undefined
    source.subscribe({ next: (v) => (last = v), error: reject, complete: () => resolveValue(last) })
  })
}

function unwrap(error: unknown): Error {
  if (error instanceof RetriesExhaustedError && error.cause instanceof Error) return error.cause
  return asError(error)
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}

/** A state store whose methods wait for the store to open. */
function lazyStore(opened: Promise<StateStore>): RegistryStateStore {
  return {
    save: async (snapshot) => {
      await (await opened).save(snapshot)
    },
    latest: async (id) => (await opened).latest(id),
  }
}
