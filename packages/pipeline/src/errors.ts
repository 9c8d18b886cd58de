/**
 * What went wrong in {@link PipelineError}:
 * - `INVALID_OPTIONS`: an option of `createReloadPipeline` is missing or out of range;
 * - `NOT_FOUND`: no plugin with that id or path is known to the pipeline;
 * - `CLOSED`: the pipeline was closed;
 * - `NOT_A_PLUGIN`: the path is not a plugin file or a directory with a `package.json`.
 */
export type PipelineErrorCode = 'INVALID_OPTIONS' | 'NOT_FOUND' | 'CLOSED' | 'NOT_A_PLUGIN'

/**
 * The typed error of `@hotswap/pipeline`; errors of the stages (watcher, registry, state store)
 * keep their own classes and reach you as `cause` or in events.
 *
 * @example
 * ```ts
 * try {
 *   await pipeline.trigger('nope')
 * } catch (error) {
 *   if (error instanceof PipelineError && error.code === 'NOT_FOUND') console.log('no such plugin')
 * }
 * ```
 */
export class PipelineError extends Error {
  /** Always `'PipelineError'`. */
  override readonly name = 'PipelineError'
  /** The reason, for callers to switch on. */
  readonly code: PipelineErrorCode

  /**
   * @param code - the reason
   * @param message - what went wrong and what to do about it
   * @param options - the `cause`, if any
   */
  constructor(code: PipelineErrorCode, message: string, options?: ErrorOptions) {
    super(message, options)
    this.code = code
  }
}
