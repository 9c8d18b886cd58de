/**
 * The reasons a state-store operation can fail, as a union a caller can switch on.
 *
 * - `INVALID_ID`: the plugin id breaks the id rule (see {@link validatePluginId}).
 * - `INVALID_DATA`: the snapshot is malformed or its data/metadata is not JSON-serialisable.
 * - `NOT_FOUND`: there is no snapshot to act on (for example nothing to roll back to).
 * - `CORRUPT`: a stored file failed its checksum or could not be decoded; it was moved aside.
 * - `UNSUPPORTED_VERSION`: a stored file was written by a newer format; it was left untouched.
 * - `LOCKED`: another store (process) holds the state directory.
 * - `CLOSED`: the store or adapter was closed.
 * - `IO_ERROR`: the file system refused an operation; the `cause` holds the system error.
 * - `UNAVAILABLE`: the storage server (Redis) cannot be reached or did not answer in time;
 *   a refused connection changed nothing, a call that timed out may still have been applied
 *   (saves are whole either way); retry once it is back.
 * - `INVALID_OPTIONS`: an adapter was created with options it cannot work with.
 *
 * @example
 * ```ts
 * try {
 *   await store.rollback('counter')
 * } catch (error) {
 *   if (isStateStoreError(error) && error.code === 'NOT_FOUND') console.log('nothing to roll back to')
 *   else throw error
 * }
 * ```
 */
export type StateStoreErrorCode =
  | 'INVALID_ID'
  | 'INVALID_DATA'
  | 'NOT_FOUND'
  | 'CORRUPT'
  | 'UNSUPPORTED_VERSION'
  | 'LOCKED'
  | 'CLOSED'
  | 'IO_ERROR'
  | 'UNAVAILABLE'
  | 'INVALID_OPTIONS'

/**
 * The one error class of `@hotswap/state-store`: every rejection and every `corrupt` event
 * carries one, with a {@link StateStoreErrorCode} in `code` and the underlying error in `cause`.
 *
 * @example
 * ```ts
 * try {
 *   await store.save(snapshot)
 * } catch (error) {
 *   if (error instanceof StateStoreError && error.code === 'INVALID_DATA') console.error(error.message)
 *   else throw error
 * }
 * ```
 */
export class StateStoreError extends Error {
  /** Always `'StateStoreError'`. */
  override readonly name = 'StateStoreError'

  /**
   * Creates an error.
   *
   * @param code - Why the operation failed.
   * @param message - What failed, naming the plugin id or path and what to do.
   * @param options - `cause`: the underlying error; `details`: machine-readable facts
   *   (for example `{ pid }` for `LOCKED`, `{ path, movedTo }` for `CORRUPT`).
   * @returns The error.
   * @example
   * ```ts
   * throw new StateStoreError('NOT_FOUND', 'no snapshot for plugin "greeter"')
   * ```
   */
  constructor(
    readonly code: StateStoreErrorCode,
    message: string,
    options?: ErrorOptions & { readonly details?: Readonly<Record<string, unknown>> },
  ) {
    super(message, options)
    this.details = options?.details ?? {}
  }

  /** Machine-readable facts about the failure (for example the lock holder's `pid`). */
  readonly details: Readonly<Record<string, unknown>>
}

/**
 * Tells whether a value is a {@link StateStoreError}, optionally with a given code.
 *
 * @param value - Anything caught.
 * @param code - When given, the error must also carry this code.
 * @returns `true` when `value` is a `StateStoreError` (with `code`, if given).
 * @example
 * ```ts
 * if (isStateStoreError(error, 'LOCKED')) console.error('held by pid', error.details.pid)
 * ```
 */
export function isStateStoreError(value: unknown, code?: StateStoreErrorCode): value is StateStoreError {
  return value instanceof StateStoreError && (code === undefined || value.code === code)
}
