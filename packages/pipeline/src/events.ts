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
  /** From the last file change to the start of the reload: debounce window, policy and queue. */
  readonly waitedMs: number
  /** Registry: read, hash, load and validate the new version. */
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
  readonly type: 'reload'
  /** The plugin id, once known. */
  readonly id: string | undefined
  /** The plugin's file or directory. */
  readonly root: string
  readonly action: ReloadAction
  readonly cause: ReloadCause
  /** The file changes that led here (empty for start, trigger and reconcile). */
  readonly changes: readonly FileChange[]
  /** Content hash of the version that served before (undefined for a first load). */
  readonly hashBefore: string | undefined
  /** Content hash now on disk (undefined after an unload). */
  readonly hashAfter: string | undefined
  /** The policy in force and what it decided. */
  readonly policy: ReloadPolicy['kind']
  readonly timings: ReloadTimings
  readonly outcome: 'success' | 'failed'
  /** Versions before and after. */
  readonly from: string | undefined
  readonly to: string | undefined
  /** Attempts made (1 + retries). */
  readonly attempts: number
  /** The error of the last attempt, when it failed. */
  readonly error: Error | undefined
  /** The registry phase that failed, when known. */
  readonly failedPhase: string | undefined
  readonly at: number
}

/**
 * Why a change was not applied: `unchanged` (same content hash as the serving version: a touch,
 * an identical rebuild), `already-failed` (these exact bytes already failed; waiting for a new
 * change or a trigger), `circuit-open` (the plugin's breaker refuses attempts for now), `vetoed`
 * (`onBeforeReload` returned false), `not-a-plugin`, `unstable` (still being written).
 */
export type SkipReason = 'unchanged' | 'already-failed' | 'circuit-open' | 'vetoed' | 'not-a-plugin' | 'unstable'

/** Every event of a reload pipeline. */
export type PipelineEvent =
  | ReloadResult
  | { readonly type: 'ready'; readonly plugins: number; readonly durationMs: number; readonly at: number }
  | { readonly type: 'pending'; readonly root: string; readonly id: string | undefined; readonly policy: ReloadPolicy['kind']; readonly enabled: boolean; readonly changes: readonly FileChange[]; readonly at: number }
  | { readonly type: 'skipped'; readonly root: string; readonly id: string | undefined; readonly reason: SkipReason; readonly changes: readonly FileChange[]; readonly at: number }
  | { readonly type: 'renamed'; readonly id: string; readonly from: string; readonly to: string; readonly at: number }
  | { readonly type: 'retry'; readonly root: string; readonly id: string | undefined; readonly attempt: number; readonly delayMs: number; readonly error: unknown; readonly at: number }
  | { readonly type: 'policy'; readonly policy: ReloadPolicy; readonly enabled: boolean; readonly at: number }
  | { readonly type: 'watcher-error'; readonly error: WatcherError | Error; readonly at: number }
  | { readonly type: 'reconcile'; readonly reason: 'interval' | 'watcher-error'; readonly plugins: number; readonly at: number }
  | { readonly type: 'registry'; readonly event: RegistryEvent }
  | { readonly type: 'closed'; readonly at: number }
