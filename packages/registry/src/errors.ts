/**
 * What went wrong, as a code a caller can switch on.
 *
 * - `NOT_FOUND`: no plugin with that id or path is loaded (or it was unloaded).
 * - `INVALID_OPTIONS`: an option of `createPluginRegistry` is out of range.
 * - `ALREADY_LOADED`: `load()` of a path or id that is already loaded; use `reload()`.
 * - `INVALID_PLUGIN`: wrong export shape, bad or mismatched name, version not semver.
 * - `LOAD_FAILED`: the built code threw while it was evaluated (a throw at the top level of the
 *   module); the message names the original file, line and column with a code frame.
 * - `BUILD_FAILED`: the plugin's code cannot be built (syntax or type-stripping error, an import
 *   that resolves to no file, a `package.json` or sidecar that is not JSON, top-level await);
 *   deterministic: the same bytes fail the same way, so report it once, do not retry.
 * - `READ_FAILED`: a file of the plugin could not be read (it vanished or was being replaced
 *   mid-build, no permission, an I/O error); transient: retry after a pause.
 * - `SETUP_TIMEOUT`: importing a version (`loadTimeoutMs`) or its `setup()` (`setupTimeoutMs`) took too long.
 * - `SETUP_FAILED`: `setup()` threw (anything but a {@link StateRejectedError}).
 * - `CALL_TIMEOUT`: a call did not finish within `callTimeoutMs` (the worker loader then terminates the worker).
 * - `CALL_ABORTED`: the caller aborted the call through its `AbortSignal` (see {@link CallAbortedError}).
 * - `GATE_TIMEOUT`: a reload held callers at its gate past `gateTimeoutMs`; the old version resumed.
 * - `NOT_CLONEABLE`: an argument or result cannot cross the worker boundary (a function, a symbol...).
 * - `DRAIN_TIMEOUT`: a call was still running on the old version after `drainTimeoutMs`.
 * - `WORKER_CRASHED`: the worker of a plugin version exited (crash, heap limit, terminated, broke the protocol).
 * - `WORKER_LOST`: the shared pool worker of a version ended because of another plugin in it
 *   (see {@link WorkerLostError}); the registry restores the version on a healthy worker.
 * - `STATE_REJECTED`: the new version refused the old state (`ctx.rejectState()`, a thrown `StateRejectedError`, or `migrateState` threw).
 * - `SAVE_STATE_FAILED`: `saveState()` threw, timed out or returned something not JSON.
 * - `INVALID_TRANSITION`: a lifecycle change that the state machine forbids.
 * - `CLOSED`: the registry was closed.
 * - `NO_PREVIOUS`: `rollback()` without a kept previous version.
 * - `UNKNOWN_METHOD`: the plugin's API has no such function.
 * - `UNSUPPORTED`: no configured loader can load this kind of plugin.
 * - `CONFIG_INVALID`: the plugin's config schema refused its config (see {@link ConfigInvalidError}).
 * - `SERVICE_DENIED`: the plugin `uses` a host service the host does not offer or does not grant it.
 * - `DEPENDENCY_MISSING`: a plugin the plugin `dependsOn` is not loaded.
 * - `DEPENDENCY_UNSATISFIED`: a dependency's version is outside the range a plugin asks for.
 * - `DEPENDENCY_CYCLE`: plugins depend on each other in a circle.
 */
export type RegistryErrorCode =
  | 'NOT_FOUND'
  | 'INVALID_OPTIONS'
  | 'ALREADY_LOADED'
  | 'INVALID_PLUGIN'
  | 'LOAD_FAILED'
  | 'BUILD_FAILED'
  | 'READ_FAILED'
  | 'SETUP_TIMEOUT'
  | 'SETUP_FAILED'
  | 'CALL_TIMEOUT'
  | 'CALL_ABORTED'
  | 'GATE_TIMEOUT'
  | 'NOT_CLONEABLE'
  | 'DRAIN_TIMEOUT'
  | 'WORKER_CRASHED'
  | 'WORKER_LOST'
  | 'STATE_REJECTED'
  | 'SAVE_STATE_FAILED'
  | 'INVALID_TRANSITION'
  | 'CLOSED'
  | 'NO_PREVIOUS'
  | 'UNKNOWN_METHOD'
  | 'UNSUPPORTED'
  | 'CONFIG_INVALID'
  | 'SERVICE_DENIED'
  | 'DEPENDENCY_MISSING'
  | 'DEPENDENCY_UNSATISFIED'
  | 'DEPENDENCY_CYCLE'

/**
 * The one error class of `@hotswap/registry`: every failure of a load, reload, call or
 * lifecycle change rejects with it (or with the plugin's own error for a call that threw
 * inside the plugin).
 *
 * @example
 * ```ts
 * try {
 *   await registry.reload('greeter')
 * } catch (error) {
 *   if (error instanceof RegistryError && error.code === 'SETUP_TIMEOUT') console.warn(error.message)
 * }
 * ```
 */
export class RegistryError extends Error {
  /** `'RegistryError'`. */
  override readonly name: string = 'RegistryError'
  /** The plugin id the error is about, when known. */
  readonly pluginId: string | undefined

  /**
   * @param code - What went wrong, see {@link RegistryErrorCode}.
   * @param message - What happened, to whom, and what to do.
   * @param options - `cause`: the underlying error; `pluginId`: the plugin concerned.
   * @example
   * ```ts
   * throw new RegistryError('NOT_FOUND', 'no plugin "greeter" is loaded', { pluginId: 'greeter' })
   * ```
   */
  constructor(
    /** What went wrong. */
    readonly code: RegistryErrorCode,
    message: string,
    options?: ErrorOptions & { readonly pluginId?: string | undefined },
  ) {
    super(message, options)
    this.pluginId = options?.pluginId
  }
}

/**
 * The error a call gets when it was still running on the old version of a plugin after the
 * reload's `drainTimeoutMs`: the caller cannot know whether its effect survived into the
 * new version's state. Always has `code === 'DRAIN_TIMEOUT'`.
 *
 * @example
 * ```ts
 * const result = await handle.call('slowJob').catch((error: unknown) => {
 *   if (error instanceof DrainTimeoutError) return handle.call('slowJob') // retry on the new version
 *   throw error
 * })
 * ```
 */
export class DrainTimeoutError extends RegistryError {
  /** `'DrainTimeoutError'`. */
  override readonly name: string = 'DrainTimeoutError'

  /**
   * @param message - Which plugin and version, and how long the drain waited.
   * @param options - `pluginId`: the plugin concerned.
   * @example
   * ```ts
   * new DrainTimeoutError('call "slowJob" on counter@1.0.0 still running after 5000 ms')
   * ```
   */
  constructor(message: string, options?: ErrorOptions & { readonly pluginId?: string | undefined }) {
    super('DRAIN_TIMEOUT', message, options)
  }
}
