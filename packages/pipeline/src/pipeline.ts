import { stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { BehaviorSubject, Subject, defer, filter, firstValueFrom, take, timer, type Observable, type Subscription } from 'rxjs'
import { exhaustLatestByKey } from '@hotswap/operators'
import { createPluginRegistry, type PluginRegistry, type PluginStatus } from '@hotswap/registry'
import { applyChange, type ApplyContext, type Work } from './apply.js'
import { stampFiles } from './artifact.js'
import { planChanges, watcherChanges } from './change-source.js'
import { PipelineError } from './errors.js'
import type { PipelineEvent, ReloadCause, ReloadResult } from './events.js'
import { logEvent } from './logger.js'
import { MetricsRecorder } from './metrics.js'
import { resolveOptions, type ReloadPipelineOptions, type ResolvedOptions } from './options.js'
import { foldPluginChange, lookAgain, type PluginChange } from './plugin-change.js'
import { discoverPlugins, pluginPathOf } from './plugin-layout.js'
import { Policy, validatePolicy, type ReloadPolicy } from './policy.js'
import type { PipelineStatus, ReloadPipeline } from './pipeline-types.js'
import { scheduledTicks } from './schedule.js'
import { SlotTable } from './slot.js'
import { openStateStore, type OpenedStateStore } from './state.js'
import { statusOf } from './status.js'

/**
 * Creates the whole hot-reload pipeline: watcher → which plugins a file concerns (their
 * artifacts' inputs) → grouped per plugin → settled → {@link decide} (policy, hashes, breaker)
 * → one reload per plugin at a time (retries for transient failures) → registry (state moved
 * through the state store) → one stream of events.
 *
 * At start it loads every plugin in `dirs` (restoring persisted state), then applies changes as
 * the policy says. A broken version never replaces a working one: the old version keeps serving,
 * the failure is an event and a line on the `logger`. Time comes from `scheduler`. `close()` is
 * the teardown.
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
 * await pipeline.close()
 * ```
 */
export function createReloadPipeline(options: ReloadPipelineOptions): ReloadPipeline {
  return new Pipeline(resolveOptions(options))
}

class Pipeline implements ReloadPipeline {
  readonly ready: Promise<void>
  readonly events$: Observable<PipelineEvent>
  readonly registry: PluginRegistry

  readonly #o: ResolvedOptions
  readonly #events = new Subject<PipelineEvent>()
  readonly #work = new Subject<Work>()
  readonly #slots = new SlotTable()
  readonly #totals = new MetricsRecorder()
  readonly #inflight = new Set<Promise<unknown>>()
  readonly #subscriptions: Subscription[] = []
  readonly #waitingForStart = new Set<string>()
  readonly #ctx: ApplyContext
  #policy: ReloadPolicy
  /** The policy `enable()` goes back to. */
  #resume: ReloadPolicy
  #lastReload: ReloadResult | undefined
  #closing: Promise<void> | undefined
  readonly #state: OpenedStateStore
  /** The policy in force, then each change (the Scheduled timer follows it). */
  readonly #policies: BehaviorSubject<ReloadPolicy>
  #scheduleTimer: Subscription | undefined
  #startDone: (() => void) | undefined

  constructor(o: ResolvedOptions) {
    this.#o = o
    this.#resume = o.policy.kind === 'Disabled' ? Policy.OnChange : o.policy
    this.#policy = o.enabled ? o.policy : Policy.Disabled
    this.#policies = new BehaviorSubject(this.#policy)
    const { options } = o
    const state = openStateStore(options)
    this.#state = state
    const registryLogger = options.registryOptions?.logger ?? options.logger
    this.registry = createPluginRegistry({
      ...options.registryOptions,
      ...(registryLogger !== undefined ? { logger: registryLogger } : {}),
      ...(options.loader !== undefined ? { loader: options.loader } : {}),
      ...(state.store !== undefined ? { stateStore: state.store } : {}),
      scheduler: options.registryOptions?.scheduler ?? o.scheduler,
    })
    this.events$ = this.#events.asObservable()
    this.#subscriptions.push(this.registry.events$.subscribe((event) => this.#emit({ type: 'registry', event })))
    this.#ctx = {
      options: o,
      slots: this.#slots,
      registry: this.registry,
      registryEvents$: this.registry.events$,
      policy: () => this.#policy,
      closing: () => this.#closing !== undefined,
      emit: (event) => this.#emit(event),
      hold: (change) => this.#hold(change),
      route: (change) => this.#route(change),
    }
    this.ready = this.#start()
  }

  async #start(): Promise<void> {
    const { dirs, scheduler } = this.#o
    const startedAt = scheduler.now()
    await this.#state.ready
    for (const dir of dirs) {
      const st = await stat(dir).catch(() => undefined)
      if (st?.isDirectory() !== true) throw new PipelineError('INVALID_OPTIONS', `plugin directory ${dir} does not exist or is not a directory`)
    }
    const apply$ = this.#work.pipe(
      exhaustLatestByKey(
        (w: Work) => w.change.path,
        (w: Work) => defer(() => this.#track(applyChange(this.#ctx, w))),
        { concurrency: this.#o.concurrency },
      ),
    )
    this.#subscriptions.push(apply$.subscribe({ error: (error: unknown) => this.#o.logger.error(`hotswap: the reload queue failed: ${String(error)}`) }))
    const source$ = this.#o.options.changes ?? watcherChanges({ dirs, include: this.#o.options.include, exclude: this.#o.options.exclude, scheduler, onError: (error) => this.#watcherError(error) })
    const plan = planChanges({
      dirs,
      slots: this.#slots,
      windowMs: this.#o.windowMs,
      maxWaitMs: this.#o.maxWaitMs,
      settleMs: this.#o.settleMs,
      scheduler,
      probe: stampFiles,
      known: (plugin, file) => this.#slots.find(plugin)?.stamps.get(file),
      onRouted: (change) => {
        const slot = this.#slots.find(change.path) // not slot(): a burst that folds to nothing (a temp file) leaves no slot
        if (slot !== undefined) slot.seq++
      },
    })
    this.#subscriptions.push(source$.pipe(plan).subscribe({ next: (change) => this.#route(change), error: (error: unknown) => this.#watcherError(error) }))
    this.#scheduleTimer = scheduledTicks(this.#policies, scheduler).subscribe(() => void this.#flushPending('schedule'))
    const every = this.#o.reconcileIntervalMs
    if (every > 0) this.#subscriptions.push(timer(every, every, scheduler).subscribe(() => void this.#reconcile('interval')))

    const found = await discoverPlugins(dirs)
    const started = new Promise<void>((done) => (this.#startDone = done))
    for (const path of found) this.#waitingForStart.add(path)
    if (found.length === 0) this.#startDone?.()
    for (const path of found) this.#route(lookAgain(path, 'start', scheduler.now(), 'created'))
    await started
    this.#emit({ type: 'ready', plugins: this.registry.list().length, durationMs: scheduler.now() - startedAt, at: scheduler.now() })
  }

  /** Hands a change to the apply queue (the decision, the policy included, is made there). */
  #route(change: PluginChange): void {
    if (this.#closing !== undefined) return
    const slot = this.#slots.slot(change.path)
    if (change.cause !== 'change') slot.seq++ // file changes were counted when they were routed
    this.#work.next({ change, seq: slot.seq })
  }

  /** Keeps a change the policy holds, folded into what was pending. */
  #hold(change: PluginChange): void {
    const slot = this.#slots.slot(change.path)
    const merged = slot.pending === undefined ? change : foldPluginChange(slot.pending, change)
    slot.pending = typeof merged === 'symbol' ? undefined : merged
    if (slot.pending === undefined) return
    this.#emit({ type: 'pending', path: slot.path, id: slot.id, policy: this.#policy.kind, enabled: this.#policy.kind !== 'Disabled', changes: slot.pending.changes, at: this.#o.scheduler.now() })
  }

  #flushPending(cause: ReloadCause, only?: string): string[] {
    const flushed: string[] = []
    for (const slot of this.#slots.all()) {
      if (slot.pending === undefined || (only !== undefined && slot.path !== only)) continue
      const change = slot.pending
      slot.pending = undefined
      flushed.push(slot.path)
      this.#route({ ...change, cause })
    }
    return flushed
  }

  #watcherError(error: unknown): void {
    const err = error instanceof Error ? error : new Error(String(error))
    this.#emit({ type: 'watcherError', error: err, at: this.#o.scheduler.now() })
    if (this.#closing === undefined) void this.#reconcile('watcherError')
  }

  async #reconcile(reason: 'interval' | 'watcherError'): Promise<void> {
    if (this.#closing !== undefined) return
    try {
      const paths = new Set(await discoverPlugins(this.#o.dirs))
      for (const slot of this.#slots.all()) if (slot.id !== undefined || slot.lastError !== undefined) paths.add(slot.path)
      this.#emit({ type: 'reconcile', reason, plugins: paths.size, at: this.#o.scheduler.now() })
      for (const path of paths) if (pluginPathOf(path, this.#o.dirs) !== undefined) this.#route(lookAgain(path, 'reconcile', this.#o.scheduler.now()))
    } catch (error) {
      this.#o.logger.error(`hotswap: rescanning ${this.#o.dirs.join(', ')} failed: ${(error as Error).message}`)
    }
  }

  status(): PipelineStatus {
    return statusOf(this.#slots, this.registry, this.#policy, this.#o.dirs, this.#totals, this.#lastReload)
  }

  enable(): void {
    this.#assertOpen()
    this.#setPolicy(this.#policy.kind === 'Disabled' ? this.#resume : this.#policy)
  }

  disable(): void {
    this.#assertOpen()
    this.#setPolicy(Policy.Disabled)
  }

  setPolicy(policy: ReloadPolicy): void {
    this.#assertOpen()
    this.#setPolicy(validatePolicy(policy))
  }

  #setPolicy(policy: ReloadPolicy): void {
    if (policy.kind !== 'Disabled') this.#resume = policy
    this.#policy = policy
    this.#policies.next(policy)
    this.#emit({ type: 'policy', policy, enabled: policy.kind !== 'Disabled', at: this.#o.scheduler.now() })
    if (policy.kind === 'OnChange') this.#flushPending('enable')
  }

  async trigger(idOrPath?: string): Promise<void> {
    this.#assertOpen()
    await this.ready
    if (idOrPath === undefined) {
      const paths = this.#slots.all().filter((s) => s.pending !== undefined).map((s) => s.path)
      const done = paths.map((path) => this.#whenApplied(path))
      this.#flushPending('trigger')
      await Promise.all(done)
      return
    }
    const path = this.#pathOf(idOrPath)
    if (path === undefined) throw new PipelineError('NOT_FOUND', `no plugin "${idOrPath}" (by id or path) is known to the pipeline`)
    const done = this.#whenApplied(path)
    const slot = this.#slots.slot(path)
    const pending = slot.pending
    slot.pending = undefined
    slot.circuit?.reset()
    this.#route({ ...(pending ?? lookAgain(path, 'trigger', this.#o.scheduler.now())), cause: 'trigger', force: true })
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
    for (const s of this.#subscriptions.splice(1)) s.unsubscribe() // stop watching and applying
    await Promise.allSettled([...this.#inflight])
    await this.ready.catch(() => undefined)
    await this.registry.close() // drains and saves every plugin's state
    this.#subscriptions.splice(0).forEach((s) => s.unsubscribe())
    for (const slot of this.#slots.all()) slot.circuit?.close()
    await this.#state.close()
    this.#emit({ type: 'closed', at: this.#o.scheduler.now() })
    this.#events.complete()
    this.#work.complete()
    this.#policies.complete()
  }

  #whenApplied(path: string): Promise<unknown> {
    return firstValueFrom(this.#events.pipe(filter((e) => e.type === 'closed' || ((e.type === 'reload' || e.type === 'skipped') && e.path === path)), take(1)), { defaultValue: undefined })
  }

  #pathOf(idOrPath: string): string | undefined {
    const byId = this.#slots.byId(idOrPath)
    if (byId !== undefined) return byId.path
    if (this.registry.has(idOrPath)) return this.registry.status(idOrPath).path
    const abs = resolve(idOrPath)
    return pluginPathOf(abs, this.#o.dirs) === abs ? abs : undefined
  }

  #emit(event: PipelineEvent): void {
    if (event.type === 'reload') {
      this.#lastReload = event
      if (event.action !== 'unload') this.#totals.record(event.outcome === 'success', event.timings.totalMs, event.at)
    }
    logEvent(this.#o.logger, event, this.#o.dirs)
    this.#events.next(event)
    if ((event.type === 'reload' || event.type === 'skipped') && this.#waitingForStart.delete(event.path) && this.#waitingForStart.size === 0) this.#startDone?.()
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
