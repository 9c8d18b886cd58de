import { resolve } from 'node:path'
import { asyncScheduler, type Observable, type SchedulerLike } from 'rxjs'
import type { BackoffStrategy, CoalesceWindow, Jitter } from '@hotswap/operators'
import type { Loader, RegistryOptions, RegistryStateStore } from '@hotswap/registry'
import type { FileChange } from '@hotswap/watcher'
import { PipelineError } from './errors.js'
import { consoleWarnings, type PipelineLogger } from './logger.js'
import type { PluginChange } from './plugin-change.js'
import { validatePolicy, type ReloadPolicy } from './policy.js'

/** How file changes are grouped before a reload. */
export interface DebounceOptions {
  /** Fixed ms, adaptive `{ minMs, maxMs }` or custom `(recentChanges) => ms`. Default adaptive 25–500 ms. */
  readonly windowMs?: CoalesceWindow<PluginChange>
  /** Longest a plugin that keeps changing waits for its reload. Default 2000 ms. */
  readonly maxWaitMs?: number
}

/** Retries of a load or reload that failed transiently (deterministic failures are never retried). */
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

/** Options of {@link createReloadPipeline}. */
export interface ReloadPipelineOptions {
  /** Watched directories with plugins: files (`.mjs`, `.js`, `.cjs`, `.wasm`) and directories with a `package.json`. */
  readonly dirs: readonly string[]
  /** Globs or extensions a changed file must match (default: everything below the dirs). */
  readonly include?: readonly string[]
  /** Globs to ignore (default: the watcher's editor temp files and `.git`). */
  readonly exclude?: readonly string[]
  /**
   * Where file changes come from. Default: `@hotswap/watcher` on `dirs` (reconnected with
   * backoff after an error). Give an Observable to feed changes yourself (tests, another watcher).
   */
  readonly changes?: Observable<FileChange>
  /** How changes are grouped; a number is a fixed window in ms (0: none). */
  readonly debounce?: number | DebounceOptions
  /**
   * How long a file written in place must stay the same (size, mtime, inode) before it is read,
   * so a writer pausing up to this long between chunks is never loaded half-written. A file
   * replaced whole (an atomic save, a rename) does not wait. Default 50 ms; 0 turns it off.
   */
  readonly settleMs?: number
  /** When changes are applied. Default OnChange. */
  readonly policy?: ReloadPolicy
  /** `false` starts as `disable()` leaves it: the policy is `Disabled` until `enable()` brings `policy` back. Default true. */
  readonly enabled?: boolean
  /** Retries of transient failures, or `false` for none. */
  readonly retry?: RetryOptions | false
  /** Per-plugin circuit breaker, or `false` for none. */
  readonly breaker?: BreakerOptions | false
  /** The registry's loader(s). Default: worker loader for JS, wasm loader for `.wasm`. */
  readonly loader?: Loader | readonly Loader[]
  /** Other registry options (drain, setup and call timeouts, keepPrevious, its logger). */
  readonly registryOptions?: Omit<RegistryOptions, 'loader' | 'stateStore'>
  /** Keep plugin state as files in this directory (a file state store). Not with `stateStore`. */
  readonly stateDir?: string
  /** Keep plugin state in a store of your own (the pipeline does not close it). Not with `stateDir`. Default: in memory. */
  readonly stateStore?: RegistryStateStore
  /** Plugins reloaded at the same time. Default 4. */
  readonly concurrency?: number
  /** Rescan every so often to apply what events missed (0: never). Default 60000. */
  readonly reconcileIntervalMs?: number
  /** Time for every window, timer, retry and timestamp of the pipeline, and of the registry it creates (unless `registryOptions.scheduler` says otherwise). Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike
  /** Where failures, retries and watcher errors are written. Default: warnings and errors on the console. */
  readonly logger?: PipelineLogger
}

/** The options with their defaults, checked. @internal */
export interface ResolvedOptions {
  readonly dirs: readonly string[]
  readonly options: ReloadPipelineOptions
  readonly policy: ReloadPolicy
  readonly enabled: boolean
  readonly windowMs: CoalesceWindow<PluginChange>
  readonly maxWaitMs: number | undefined
  readonly settleMs: number
  readonly concurrency: number
  readonly reconcileIntervalMs: number
  readonly scheduler: SchedulerLike
  readonly logger: PipelineLogger
  readonly retry: { readonly backoff: BackoffStrategy; readonly maxRetries: number; readonly jitter: Jitter } | undefined
  readonly breaker: { readonly failureThreshold: number; readonly resetAfterMs: number } | undefined
}

/**
 * The default settle window, 50 ms: what every plain (in-place) write waits before it is read.
 * Chosen by measurement (the bench's edit-to-serving "what the settle window protects" table, and
 * the pipeline README's "Settle"): an in-place writer leaves a 40 KB file truncated or partial
 * for at most 0.5-6 ms alone (32 ms once at load 6); 100 writers at once through libuv's pool,
 * 12-36 ms at load 1-2 and up to 172 ms at load 6-10 on the 2-core bench host. What a writer
 * leaves in that gap is an empty file, which the settle step holds until it has bytes (up to 1 s)
 * whatever the window.
 */
export const DEFAULT_SETTLE_MS = 50

/** Checks the options and fills in the defaults. @internal */
export function resolveOptions(options: ReloadPipelineOptions): ResolvedOptions {
  const dirs: unknown = options?.dirs
  if (!Array.isArray(dirs) || dirs.length === 0 || !dirs.every((d): d is string => typeof d === 'string' && d !== '')) {
    bad('createReloadPipeline needs dirs: a non-empty list of plugin directory paths')
  }
  const concurrency = options.concurrency ?? 4
  if (!Number.isInteger(concurrency) || concurrency < 1) bad(`concurrency must be an integer >= 1, got ${String(options.concurrency)}`)
  const settleMs = options.settleMs ?? DEFAULT_SETTLE_MS
  if (typeof settleMs !== 'number' || !Number.isFinite(settleMs) || settleMs < 0) bad(`settleMs must be a number of milliseconds >= 0, got ${String(options.settleMs)}`)
  const reconcileIntervalMs = options.reconcileIntervalMs ?? 60_000
  if (typeof reconcileIntervalMs !== 'number' || !Number.isFinite(reconcileIntervalMs) || reconcileIntervalMs < 0) {
    bad(`reconcileIntervalMs must be a number of milliseconds >= 0 (0: never), got ${String(options.reconcileIntervalMs)}`)
  }
  if (options.stateDir !== undefined && options.stateStore !== undefined) {
    bad('give stateDir (plugin state as files there) or stateStore (a store of your own), not both')
  }
  if (options.changes !== undefined && typeof (options.changes as { subscribe?: unknown }).subscribe !== 'function') bad('changes must be an Observable of FileChange')
  const debounce = options.debounce
  const windowMs = typeof debounce === 'number' ? debounce : (debounce?.windowMs ?? { minMs: 25, maxMs: 500 })
  const maxWaitMs = typeof debounce === 'number' ? undefined : (debounce?.maxWaitMs ?? 2000)
  const retry = options.retry === false ? undefined : {
    backoff: options.retry?.backoff ?? { strategy: 'exponential' as const, initialMs: 200, multiplier: 2, maxMs: 10_000 },
    maxRetries: options.retry?.maxRetries ?? 3,
    jitter: options.retry?.jitter ?? ('none' as const),
  }
  const breaker = options.breaker === false ? undefined : { failureThreshold: options.breaker?.failureThreshold ?? 5, resetAfterMs: options.breaker?.resetAfterMs ?? 30_000 }
  return {
    dirs: dirs.map((d) => resolve(d)),
    options,
    policy: validatePolicy(options.policy ?? { kind: 'OnChange' }),
    enabled: options.enabled ?? true,
    windowMs,
    maxWaitMs,
    settleMs,
    concurrency,
    reconcileIntervalMs,
    scheduler: options.scheduler ?? asyncScheduler,
    logger: options.logger ?? consoleWarnings,
    retry,
    breaker,
  }
}

function bad(message: string): never {
  throw new PipelineError('INVALID_OPTIONS', message)
}
