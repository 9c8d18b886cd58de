import type { SchedulerLike } from 'rxjs'
import type { RegistryError } from './errors.js'
import type { JsonValue } from '@hotswap/state-store'
import type { PluginArtifact } from './artifact.js'
import type { ConfigCheck, PluginContractInfo, PluginHost } from './contract.js'
import type { CallOptions } from './call-aborted.js'
import type { LeakSuspicion } from './pool-memory.js'

/** A log line from a plugin or a loader. */
export interface LoaderLogEntry {
  /** Severity. */
  readonly level: 'debug' | 'info' | 'warn' | 'error'
  /** The text. */
  readonly message: string
}

/** A heap measurement of one plugin version, from its loader. */
export interface VersionMemory {
  /** The JS heap the version holds, in bytes (the pool loader: V8's estimate for its realm). */
  readonly heapBytes: number
  /** When it was measured (ms since the epoch). */
  readonly at: number
}

/** What a loader reports about a version's memory (see {@link PrepareOptions.onMemory}). */
export interface MemoryReport extends VersionMemory {
  /** The version measured. */
  readonly version: string
  /** Set when the version's heap kept growing: how much, over how many samples, since when. */
  readonly leak?: LeakSuspicion | undefined
}

/** What a loader gets with each version it prepares. */
export interface PrepareOptions {
  /** Where a loader that measures its versions' heaps sends each measurement. */
  readonly onMemory?: ((report: MemoryReport) => void) | undefined
  /** How long importing the module may take (a module stuck at top level is terminated). */
  readonly loadTimeoutMs: number
  /** When set, a call running longer is rejected with `CALL_TIMEOUT`. */
  readonly callTimeoutMs?: number | undefined
  /** Where plugin `ctx.log` lines and loader warnings go. */
  readonly log: (entry: LoaderLogEntry) => void
  /** The registry's scheduler: schedule this version's timeouts on it. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike | undefined
}

/** What `setup()` of a new version receives from the registry. */
export interface SetupInit {
  /** Whether a state is handed over (it may be `null`). */
  readonly hasState: boolean
  /** The state, when `hasState`. */
  readonly state?: JsonValue | undefined
  /** The version this one replaces. */
  readonly previousVersion?: string | undefined
  /** When set, run `migrateState(state, migrateFrom)` first (the major version changed). */
  readonly migrateFrom?: string | undefined
  /** The version's config, services, dependency handles and event sink (see {@link PluginHost}). */
  readonly host?: PluginHost | undefined
}

/**
 * One version of one plugin, loaded by a {@link Loader}: imported and validated, then set up
 * once, called many times, drained, asked for its state, disposed.
 */
export interface LoadedPlugin {
  /** The plugin's `name`. */
  readonly name: string
  /** The plugin's `version`. */
  readonly version: string
  /** Whether the plugin has `saveState`. */
  readonly hasSaveState: boolean
  /** Whether the plugin has `migrateState`. */
  readonly hasMigrateState: boolean
  /** What the version declares: `uses`, `dependsOn`, a config schema. Absent: nothing declared. */
  readonly contract?: PluginContractInfo | undefined
  /**
   * Checks a config with the plugin's own schema, where the plugin lives (a worker validates in
   * the worker). Absent: the loader has no schemas (the config is passed as given).
   */
  validateConfig?(value: unknown, timeoutMs: number): Promise<ConfigCheck>
  /** The API's function names, known after `setup`. */
  readonly methods: readonly string[]
  /** Calls running on this version now. */
  readonly inFlight: number
  /** The artifact the version runs, for loaders that can run it again elsewhere (the pool loader restores a lost version from it). */
  readonly artifact?: PluginArtifact | undefined
  /** The version's last heap measurement, for loaders that measure (the pool loader). */
  readonly memory?: VersionMemory | undefined
  /** `false` once the version ended unexpectedly (worker crash) or was disposed. */
  readonly alive: boolean
  /**
   * Runs `migrateState` (when asked) and `setup(ctx)`.
   * Rejects with `SETUP_FAILED`, `STATE_REJECTED`, `SETUP_TIMEOUT` or `WORKER_CRASHED`.
   */
  setup(init: SetupInit, timeoutMs: number): Promise<void>
  /**
   * Calls an API function; rejects with the plugin's error, `UNKNOWN_METHOD`, `CALL_TIMEOUT`,
   * `WORKER_CRASHED`. With `options.signal`: when it aborts, reject with a {@link CallAbortedError}
   * at once, stop counting the call in flight, end a stream result with that
   * error, and abort the plugin's `ctx.signal` of that call. A loader that cannot reach the
   * plugin still rejects the caller (the registry races the signal too).
   */
  call(method: string, args: readonly unknown[], options?: CallOptions): Promise<unknown>
  /**
   * Waits until no call is in flight, up to `timeoutMs`; then rejects the calls still running
   * with `DrainTimeoutError`. Resolves with how many were cancelled.
   */
  drain(timeoutMs: number): Promise<number>
  /** Calls `saveState()`; resolves `undefined` without one. Rejects with `SAVE_STATE_FAILED`. */
  saveState(timeoutMs: number): Promise<unknown>
  /** Calls `dispose()` (bounded by `timeoutMs`) and frees the version (terminates its worker). */
  dispose(timeoutMs: number): Promise<void>
  /** Registers a listener for an unexpected end (crash); returns its remover. */
  onExit(listener: (error: RegistryError) => void): () => void
}

/**
 * Where plugin versions live. The registry picks the first of its loaders whose
 * `canLoad(artifact)` is true. Implement it to add a loader of your own.
 *
 * @see {@link workerLoader}, {@link inProcessLoader}, {@link wasmLoader}
 */
export interface Loader {
  /** A short name for events and status (`'worker'`, `'in-process'`, `'wasm'`). */
  readonly name: string
  /** Whether this loader handles that artifact (for example by `artifact.kind`). */
  canLoad(artifact: PluginArtifact): boolean
  /**
   * Loads a new version beside the running one and validates its export shape; does not call
   * `setup` yet. Runs exactly `artifact.code` (wasm: `artifact.bytes`) and never reads the
   * plugin's files itself. Rejects with a `RegistryError` (`LOAD_FAILED`, `INVALID_PLUGIN`,
   * `SETUP_TIMEOUT`, `WORKER_CRASHED`) and leaves nothing behind.
   */
  prepare(artifact: PluginArtifact, options: PrepareOptions): Promise<LoadedPlugin>
  /** Frees what the loader holds itself (a warm spare worker). */
  close(): Promise<void>
}
