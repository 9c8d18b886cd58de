import type { FileChange, WatcherError } from '@hotswap/watcher'
import type { RegistryEvent } from '@hotswap/registry'
import type { ReloadPolicy } from './policy.js'

/** What caused the pipeline to look at a plugin. */
export type ReloadCause = 'start' | 'change' | 'trigger' | 'schedule' | 'enable' | 'reconcile'

/** What the pipeline did to a plugin. */
export type ReloadAction = 'load' | 'reload' | 'unload'

/** How long each step of one reload took, in milliseconds. */
export interface ReloadTimings {
  /** From the first file change of the burst to the last one (how long the burst lasted). */
  readonly detectedMs: number
  /** From the last file change to the start of the reload: debounce window, settle window, policy and queue. */
  readonly waitedMs: number
  /** Read and hash the inputs (the artifact), then the registry's load and validation of the new version. */
  readonly prepareMs: number
  /** Registry: wait for calls in flight on the old version. */
  readonly drainMs: number
  /** Registry: save the old version's state and set the new one up with it. */
  readonly stateMs: number
  /** Registry: point the handle at the new version. */
  readonly switchMs: number
  /** From the start of the reload to its outcome, retries included. */
  readonly totalMs: number
}

/** One applied (or attempted) load, reload or unload, with everything that explains it. */
export interface ReloadResult {
  /** Discriminant. */
  readonly type: 'reload'
  /** The plugin id, once known. */
  readonly id: string | undefined
  /** The plugin's file or directory, absolute. */
  readonly path: string
  /** What was done: a first load, a reload, or an unload (the plugin's files went away). */
  readonly action: ReloadAction
  /** What caused it. */
  readonly cause: ReloadCause
  /** The file changes that led here (empty for start, trigger and reconcile); a shared input edited shows here for every plugin that imports it. */
  readonly changes: readonly FileChange[]
  /** Content hash of the version that served before (undefined for a first load). */
  readonly hashBefore: string | undefined
  /** Content hash of the version loaded (or tried), FNV-1a 64 over every input (undefined after an unload). */
  readonly hashAfter: string | undefined
  /** The policy in force and what it decided. */
  readonly policy: ReloadPolicy['kind']
  /** How long each step took. */
  readonly timings: ReloadTimings
  /** Whether the new version serves now; on failure the old one still does. */
  readonly outcome: 'success' | 'failed'
  /** The version that served before. */
  readonly from: string | undefined
  /** The version that serves after (undefined after an unload or a failed first load). */
  readonly to: string | undefined
  /** Attempts made (1 + retries). */
  readonly attempts: number
  /** The error of the last attempt, when it failed. */
  readonly error: Error | undefined
  /** Whether the failure is deterministic (syntax, shape, name, invalid config): reported once and not retried. */
  readonly deterministic: boolean
  /** The registry phase that failed, when known. */
  readonly failedPhase: string | undefined
  /** When it ended (ms since the epoch). */
  readonly at: number
}

/**
 * Why a change was not applied:
 * - `unchanged`: same content hash as the serving version (a touch, an identical rebuild);
 * - `alreadyFailed`: these exact bytes failed in a way that cannot heal by itself (a syntax
 *   error, a wrong export shape or name, invalid config); they are reported once, and nothing
 *   is tried again until the files change or `trigger()` is called;
 * - `circuitOpen`: these bytes failed with transient errors and the plugin's breaker refuses
 *   attempts until its reset time;
 * - `notAPlugin`: the path is not (or no longer) a plugin file or a directory with a `package.json`;
 * - `superseded`: the inputs changed again while the new version was being prepared; that
 *   preparation is dropped and the newer change is applied instead (not a failure).
 */
export type SkipReason = 'unchanged' | 'alreadyFailed' | 'circuitOpen' | 'notAPlugin' | 'superseded'

/** Emitted once when every plugin that existed at start was loaded (or failed to). */
export interface ReadyEvent {
  /** Discriminant. */
  readonly type: 'ready'
  /** Plugins loaded and serving. */
  readonly plugins: number
  /** From `createReloadPipeline()` to ready, in ms. */
  readonly durationMs: number
  /** When (ms since the epoch). */
  readonly at: number
}

/** A plugin's changes were noted but not applied (policy OnSignal, Scheduled, Disabled, or disabled). */
export interface PendingEvent {
  /** Discriminant. */
  readonly type: 'pending'
  /** The plugin's file or directory, absolute. */
  readonly path: string
  /** The plugin id, when it is loaded. */
  readonly id: string | undefined
  /** The policy in force. */
  readonly policy: ReloadPolicy['kind']
  /** Whether the pipeline is enabled. */
  readonly enabled: boolean
  /** The file changes waiting, folded. */
  readonly changes: readonly FileChange[]
  /** When (ms since the epoch). */
  readonly at: number
}

/** A change that was looked at and not applied, with the reason. */
export interface SkippedEvent {
  /** Discriminant. */
  readonly type: 'skipped'
  /** The plugin's file or directory, absolute. */
  readonly path: string
  /** The plugin id, when it is loaded. */
  readonly id: string | undefined
  /** Why it was not applied. */
  readonly reason: SkipReason
  /** The file changes that were looked at. */
  readonly changes: readonly FileChange[]
  /** When (ms since the epoch). */
  readonly at: number
}

/** A plugin file or directory was renamed: the plugin keeps serving from its new path, without a reload. */
export interface RenamedEvent {
  /** Discriminant. */
  readonly type: 'renamed'
  /** The plugin id. */
  readonly id: string
  /** The old path. */
  readonly from: string
  /** The new path. */
  readonly to: string
  /** When (ms since the epoch). */
  readonly at: number
}

/** A failed load or reload will be tried again after `delayMs`. */
export interface RetryEvent {
  /** Discriminant. */
  readonly type: 'retry'
  /** The plugin's file or directory, absolute. */
  readonly path: string
  /** The plugin id, when known. */
  readonly id: string | undefined
  /** The retry about to run (1 for the first retry). */
  readonly attempt: number
  /** The wait before it, in ms. */
  readonly delayMs: number
  /** The error of the attempt that failed. */
  readonly error: unknown
  /** When (ms since the epoch). */
  readonly at: number
}

/** The policy or the enabled switch changed. */
export interface PolicyEvent {
  /** Discriminant. */
  readonly type: 'policy'
  /** The policy now. */
  readonly policy: ReloadPolicy
  /** Whether the pipeline is enabled now. */
  readonly enabled: boolean
  /** When (ms since the epoch). */
  readonly at: number
}

/** The watcher failed; the pipeline rescans and watches again (with backoff). */
export interface WatcherErrorEvent {
  /** Discriminant. */
  readonly type: 'watcherError'
  /** The watcher's typed error (`WATCH_LIMIT`, `ROOT_NOT_FOUND`, `BACKEND_ERROR`, ...). */
  readonly error: WatcherError | Error
  /** When (ms since the epoch). */
  readonly at: number
}

/** A rescan of the plugin directories started, to apply what events missed. */
export interface ReconcileEvent {
  /** Discriminant. */
  readonly type: 'reconcile'
  /** Why: the periodic interval, or a watcher error. */
  readonly reason: 'interval' | 'watcherError'
  /** Plugins looked at. */
  readonly plugins: number
  /** When (ms since the epoch). */
  readonly at: number
}

/** An event of the registry, passed through (loading, loaded, reloaded with phases, failed, log, ...). */
export interface RegistryPassthroughEvent {
  /** Discriminant. */
  readonly type: 'registry'
  /** The registry's own event. */
  readonly event: RegistryEvent
}

/** The pipeline closed; the stream completes after it. */
export interface ClosedEvent {
  /** Discriminant. */
  readonly type: 'closed'
  /** When (ms since the epoch). */
  readonly at: number
}

/** Every event of a reload pipeline; switch on `type`. */
export type PipelineEvent =
  | ReloadResult
  | ReadyEvent
  | PendingEvent
  | SkippedEvent
  | RenamedEvent
  | RetryEvent
  | PolicyEvent
  | WatcherErrorEvent
  | ReconcileEvent
  | RegistryPassthroughEvent
  | ClosedEvent
