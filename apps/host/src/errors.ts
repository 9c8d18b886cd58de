/**
 * What went wrong in {@link HostError}:
 * - `INVALID_CONFIG`: a flag, `HOTSWAP_*` variable or `hotswap.config.json` value is wrong (the CLI exits 2);
 * - `STATE_DIR`: the state directory cannot be created, locked or written;
 * - `LISTEN_FAILED`: the HTTP server cannot listen on the host and port;
 * - `STARTING`: the host is still loading its plugins (the API answers 503; retry shortly);
 * - `ABORTED`: a stop was asked for (a signal) before the host finished starting; what was
 *   loaded was closed and its state saved;
 * - `CALL_FAILED`: a call through `POST /api/plugins/:id/call` or `hotswap-host call` failed;
 * - `NOT_RUNNING`: `hotswap-host call` found no running host for the state directory.
 */
export type HostErrorCode = 'INVALID_CONFIG' | 'STATE_DIR' | 'LISTEN_FAILED' | 'STARTING' | 'ABORTED' | 'CALL_FAILED' | 'NOT_RUNNING'

/**
 * The typed error of `hotswap-host`; errors of the pipeline keep their own classes.
 *
 * @example
 * ```ts
 * try {
 *   resolveConfig({ flags: { port: 'abc' }, env: {}, cwd: process.cwd() })
 * } catch (error) {
 *   if (error instanceof HostError && error.code === 'INVALID_CONFIG') console.error(error.message)
 * }
 * ```
 */
export class HostError extends Error {
  override readonly name = 'HostError'
  /** The reason, for callers to switch on. */
  readonly code: HostErrorCode

  /**
   * @param code - the reason
   * @param message - what went wrong and what to do about it
   * @param options - the `cause`, if any
   */
  constructor(code: HostErrorCode, message: string, options?: ErrorOptions) {
    super(message, options)
    this.code = code
  }
}
