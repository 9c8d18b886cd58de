import type { HostService } from './contract.js'
import type { ServiceGrants } from './services.js'
import type { Observable, SchedulerLike } from 'rxjs'
import type { RegistryError } from './errors.js'
import type { RegistryEvent } from './events.js'
import type { PluginHandle, UnknownApi } from './handle.js'
import type { LifecycleState } from './lifecycle.js'
import type { Loader, VersionMemory } from './loader.js'
import type { PluginArtifact } from './artifact.js'
import type { RegistryStateStore } from './state-store.js'

/** Where the registry writes its own and its plugins' log lines (besides `events$`). */
export interface RegistryLogger {
  /** Debug lines. */
  debug(message: string): void
  /** Info lines. */
  info(message: string): void
  /** Warnings (for example: a plugin's in-memory state since its last snapshot was lost). */
  warn(message: string): void
  /** Errors. */
  error(message: string): void
}

/** Options of {@link createPluginRegistry}. */
export interface RegistryOptions {
  /** Where versions live: one loader or several (the first whose `canLoad` fits). Default `[workerLoader(), wasmLoader()]`. The registry closes them on `close()`. */
  readonly loader?: Loader | readonly Loader[] | undefined
  /** Where state snapshots go. Default: the latest per plugin, in memory. */
  readonly stateStore?: RegistryStateStore | undefined
  /** How long a reload waits for calls in flight on the old version before cancelling them. Default 5000. */
  readonly drainTimeoutMs?: number | undefined
  /**
   * How long a reload may hold callers at its gate after the drain, for the old version's
   * `saveState()` and the new version's `setup()`: past it the old version resumes (with its
   * state) and the reload fails with `GATE_TIMEOUT`. Default 1000.
   */
  readonly gateTimeoutMs?: number | undefined
  /** How long importing a version may take (a module stuck at the top level is terminated by the worker loader). Default 10000. */
  readonly loadTimeoutMs?: number | undefined
  /** How long `setup()` (and `migrateState()`) may take. Default 10000. */
  readonly setupTimeoutMs?: number | undefined
  /** How long `saveState()` may take (the worker loader terminates a worker that does not answer). Default 10000. */
  readonly saveStateTimeoutMs?: number | undefined
  /** How long `dispose()` may take before the version is freed anyway (the worker terminated). Default 10000. */
  readonly disposeTimeoutMs?: number | undefined
  /**
   * A call running longer rejects with `CALL_TIMEOUT`; the worker loader then terminates that
   * worker (the next reload starts from the last stored snapshot). Default 30000; `Infinity`
   * for none.
   */
  readonly callTimeoutMs?: number | undefined
  /**
   * Every this many ms, each Running plugin with `saveState()` is asked for its state, and the
   * state is stored when it changed since the last checkpoint (in the plugin's turn, never during
   * one of its reloads). A version that is lost (its worker crashed, a pool co-tenant held its
   * thread, the host was killed) then starts again from at most this old a state instead of
   * the one from its last reload. Default `0`: off (state is stored on reloads and unloads only).
   */
  readonly checkpointMs?: number | undefined
  /** Keep the previous version loaded after a reload so that `rollback()` is instant. Default `true`. */
  readonly keepPrevious?: boolean | undefined
  /** Where log lines go besides `events$`. Default `console`. */
  readonly logger?: RegistryLogger | undefined
  /**
   * The registry's clock: event times are `scheduler.now()`, and every timeout of the registry
   * (the gate, the drain) and of its loaders (calls, setup, dispose; they get it in
   * {@link PrepareOptions}) is scheduled on it, so tests can run them on virtual time
   * (`TestScheduler`). Default `asyncScheduler`.
   */
  readonly scheduler?: SchedulerLike | undefined
  /** Per-plugin config, by plugin id (JSON): `ctx.config`, validated by the plugin's `config` schema when it has one. Change it with `configure()`. */
  readonly config?: Readonly<Record<string, unknown>> | undefined
  /** Host services plugins may use (`uses: [...]`): each a function or an object of functions returning values, promises or async iterables. */
  readonly services?: Readonly<Record<string, HostService>> | undefined
  /** Which services each plugin may use (plugin id to service names). Default: every plugin may use every service it declares. */
  readonly grants?: ServiceGrants | undefined
}

/** A plugin as the registry sees it now. */
export interface PluginStatus {
  /** The plugin id (its `name`). */
  readonly id: string
  /** The version serving calls (or the last one, when it crashed). */
  readonly version: string
  /** The lifecycle state. */
  readonly state: LifecycleState
  /** The plugin's file or directory. */
  readonly path: string
  /** The artifact hash of the serving version (FNV-1a 64 over its inputs, see {@link PluginArtifact.hash}). */
  readonly hash: string
  /** The loader of the serving version. */
  readonly loader: string
  /** When the serving version started serving (`scheduler.now()`: ms since the epoch by default). */
  readonly loadedAt: number
  /** Successful reloads so far. */
  readonly reloadCount: number
  /** Failed reloads so far. */
  readonly failedReloads: number
  /** The last error, if any. */
  readonly lastError: RegistryError | undefined
  /** Calls running now on the serving version. */
  readonly inFlight: number
  /** The kept previous version, if any (`rollback()` goes there). */
  readonly previousVersion: string | undefined
  /** Whether the serving version is alive (`false` after a worker crash until a reload). */
  readonly alive: boolean
  /** The plugins the serving version `dependsOn`, id to semver range (empty when none). */
  readonly dependsOn?: Readonly<Record<string, string>> | undefined
  /** The serving version's last heap measurement, when its loader measures (the pool loader). */
  readonly memory?: VersionMemory | undefined
}

/** How one call through a plugin's handle ended; see {@link PluginRegistry.onCall}. */
export interface CallSettled {
  /** The plugin id. */
  readonly id: string
  /** The version that served the call. */
  readonly version: string
  /** The artifact hash of that version (its `status.hash` while it served). */
  readonly hash: string
  /** The method called. */
  readonly method: string
  /** `true` when the call resolved, `false` when it rejected. */
  readonly ok: boolean
  /** What it resolved with (`ok`), else `undefined`. */
  readonly value: unknown
  /** What it rejected with (not `ok`), else `undefined`. */
  readonly error: unknown
}

/** The registry: loads, reloads, rolls back and unloads plugins, and hands out stable handles. */
export interface PluginRegistry {
  /**
   * Loads a plugin file or directory, or an artifact built with {@link buildArtifact} (then
   * nothing is read again); resolves with its status once it serves. `status.hash` is the
   * artifact's hash.
   */
  load(pathOrArtifact: string | PluginArtifact): Promise<PluginStatus>
  /**
   * Reloads a plugin (by id or path) through the reload protocol; loads an unknown path. With
   * `artifact` (of the same path; built with {@link buildArtifact}) that version runs as built,
   * without reading the files again; otherwise the artifact is built here.
   */
  reload(idOrPath: string, artifact?: PluginArtifact): Promise<PluginStatus>
  /** Drains, saves the state of, disposes and forgets a plugin. */
  unload(idOrPath: string): Promise<void>
  /** Switches back to the kept previous version and its state at once. */
  rollback(id: string): Promise<PluginStatus>
  /**
   * Records that a plugin's file or directory moved (a rename): later reloads read the new path.
   * The serving version is not touched, so a rename never unloads or reloads a plugin.
   */
  relocate(id: string, newPath: string): Promise<PluginStatus>
  /**
   * Sets the config of plugin `id` and, when it is loaded, reloads that plugin alone with it
   * (validated by its schema before the switch). Rejects with `CONFIG_INVALID`
   * ({@link ConfigInvalidError}, each issue with its path) and keeps the old version and config
   * serving; resolves `undefined` when `id` is not loaded (the config waits for its load).
   */
  configure(id: string, value: unknown): Promise<PluginStatus | undefined>
  /**
   * Loads or reloads several plugins as one batch, in dependency order (a plugin after the
   * plugins of the batch it `dependsOn`): a new version that breaks a dependent's range is
   * accepted when that dependent changes in the same batch. Stops at the first failure (the
   * plugins before it stay switched). Rejects with `DEPENDENCY_CYCLE` before anything changes.
   */
  reloadMany(items: readonly (string | PluginArtifact)[]): Promise<PluginStatus[]>
  /** A stable handle on a loaded plugin. */
  get<Api extends object = UnknownApi>(id: string): PluginHandle<Api>
  /** Whether a plugin with that id is loaded. */
  has(id: string): boolean
  /** The status of every plugin. */
  list(): PluginStatus[]
  /** The status of one plugin. */
  status(id: string): PluginStatus
  /**
   * Listens to the outcome of every call made through a handle (the host's API, its routes,
   * other plugins' dependency handles), once it settles, with the version that served it: for
   * health gates and error rates. Calls cost nothing extra while no listener is set; a listener
   * runs synchronously and must be quick (its throw is logged, never the caller's problem).
   *
   * @param listener - called once per settled call
   * @returns the remover
   * @example
   * ```ts
   * const off = registry.onCall((call) => { if (!call.ok) console.warn(call.id, call.method, call.error) })
   * off()
   * ```
   */
  onCall(listener: (call: CallSettled) => void): () => void
  /** Typed events: loading, loaded, reloading, reloaded, failed, stateLost, rolledBack, unloaded, log, restored, memorySampled, memoryLeakSuspected. */
  readonly events$: Observable<RegistryEvent>
  /**
   * Unloads everything (each plugin: drain, `saveState()`, `dispose()`, each bounded by its
   * limit), waits for background disposals, closes the loaders and completes `events$`.
   */
  close(): Promise<void>
}
