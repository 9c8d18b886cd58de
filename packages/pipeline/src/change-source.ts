import { defer, mergeMap, share, tap, type MonoTypeOperatorFunction, type Observable, type OperatorFunction, type SchedulerLike } from 'rxjs'
import { coalesceByKey, retryBackoff, type CoalesceWindow } from '@hotswap/operators'
import { watch, type FileChange, type WatchOptions } from '@hotswap/watcher'
import { foldPluginChange, type PluginChange } from './plugin-change.js'
import { routeFileChange } from './route.js'
import { settle, type SettleOptions } from './settle.js'
import type { SlotTable } from './slot.js'

/** Options of {@link watcherChanges}. @internal */
export interface WatcherChangesOptions {
  readonly dirs: readonly string[]
  readonly include?: readonly string[] | undefined
  readonly exclude?: readonly string[] | undefined
  readonly scheduler: SchedulerLike
  /** Told of every watcher error, before the reconnect. */
  readonly onError: (error: unknown) => void
  /** The watcher to (re)subscribe. Default `@hotswap/watcher`'s `watch` (tests pass a scripted one). */
  readonly watch?: ((dirs: readonly string[], options: WatchOptions) => Observable<FileChange>) | undefined
}

/**
 * The file changes of `@hotswap/watcher` on the dirs; after an error it watches again through
 * `retryBackoff` (250 ms, doubling up to 30 s, forever; the count restarts once changes flow).
 * Shared: one watcher whatever the subscribers.
 *
 * @internal
 */
export function watcherChanges(options: WatcherChangesOptions): Observable<FileChange> {
  const start = options.watch ?? watch
  return defer(() =>
    start(options.dirs, {
      ...(options.include !== undefined ? { include: options.include } : {}),
      ...(options.exclude !== undefined ? { exclude: options.exclude } : {}),
      scheduler: options.scheduler,
    }),
  ).pipe(
    tap({ error: (error: unknown) => options.onError(error) }),
    retryBackoff({
      backoff: { strategy: 'exponential', initialMs: 250, multiplier: 2, maxMs: 30_000 },
      maxRetries: Number.POSITIVE_INFINITY,
      resetOnSuccess: true,
      scheduler: options.scheduler,
    }),
    share(),
  )
}

/** Options of {@link planChanges}. @internal */
export interface PlanOptions extends Omit<SettleOptions, 'scheduler'> {
  readonly dirs: readonly string[]
  readonly slots: SlotTable
  readonly windowMs: CoalesceWindow<PluginChange>
  readonly maxWaitMs: number | undefined
  readonly scheduler: SchedulerLike
  /** Told of every plugin change as it is routed (before grouping), so running work can see it is superseded. */
  readonly onRouted: (change: PluginChange) => void
}

/**
 * File changes → plugin changes, ready to be decided: each file change is routed to the plugins
 * it concerns (the dependency graph), grouped per plugin over the debounce window, and held
 * until in-place writes settle.
 *
 * @internal
 */
export function planChanges(options: PlanOptions): OperatorFunction<FileChange, PluginChange> {
  const { scheduler } = options
  const grouped: MonoTypeOperatorFunction<PluginChange> = coalesceByKey((c: PluginChange) => c.path, {
    windowMs: options.windowMs,
    ...(options.maxWaitMs !== undefined ? { maxWaitMs: options.maxWaitMs } : {}),
    fold: foldPluginChange,
    scheduler,
  })
  return (source) =>
    source.pipe(
      mergeMap((change) => routeFileChange(change, options.dirs, options.slots, scheduler.now())),
      tap((change) => options.onRouted(change)),
      grouped,
      settle({ settleMs: options.settleMs, probe: options.probe, known: options.known, scheduler }),
    )
}
