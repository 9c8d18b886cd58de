/**
 * The reasons a fleet operation can fail, as a union a caller can switch on.
 *
 * - `INVALID_OPTIONS`: an option is missing or out of range (the message names it).
 * - `INVALID_ARTIFACT`: a plugin folder or artifact record is malformed (no entry, no version...).
 * - `HASH_MISMATCH`: an artifact's bytes do not hash to its FNV-1a 64 `hash`; it was refused.
 * - `NOT_FOUND`: no rollout or artifact for that plugin id.
 * - `UNAVAILABLE`: Redis cannot be reached or did not answer in time; retry when it is back.
 * - `APPLY_FAILED`: the host could not put an artifact in service (its target rejected).
 * - `CLOSED`: the fleet handle was closed.
 */
export type FleetErrorCode = 'INVALID_OPTIONS' | 'INVALID_ARTIFACT' | 'HASH_MISMATCH' | 'NOT_FOUND' | 'UNAVAILABLE' | 'APPLY_FAILED' | 'CLOSED'

/**
 * The one error class of `@hotswap/fleet`, with a {@link FleetErrorCode} in `code` and the
 * underlying error in `cause`.
 *
 * @example
 * ```ts
 * try {
 *   await fleet.publish(artifact)
 * } catch (error) {
 *   if (error instanceof FleetError && error.code === 'UNAVAILABLE') console.error('Redis is down:', error.message)
 *   else throw error
 * }
 * ```
 */
export class FleetError extends Error {
  /** Always `'FleetError'`. */
  override readonly name = 'FleetError'

  /**
   * Creates an error.
   *
   * @param code - Why the operation failed.
   * @param message - What failed, naming the plugin, host or option and what to do.
   * @param options - `cause`: the underlying error.
   * @example
   * ```ts
   * throw new FleetError('NOT_FOUND', 'no rollout for plugin "greeter"')
   * ```
   */
  constructor(
    readonly code: FleetErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

/** Wraps a Redis client failure as `UNAVAILABLE`; passes FleetErrors through. */
export function unavailable(action: string, cause: unknown): FleetError {
  if (cause instanceof FleetError) return cause
  const message = cause instanceof Error ? cause.message : String(cause)
  return new FleetError('UNAVAILABLE', `cannot ${action}: Redis did not answer (${message}); retry when it is back`, { cause })
}
