/**
 * The reasons an operator of `@hotswap/operators` fails on its own account, as a union a
 * caller can switch on.
 *
 * - `RETRIES_EXHAUSTED`: {@link retryBackoff} ran out of retries; `cause` is the last error.
 * - `CIRCUIT_OPEN`: a {@link CircuitBreaker} refused the work because it is open (or
 *   half-open with its one trial already running).
 * - `INVALID_OPTIONS`: an operator was given options it cannot work with (for example a
 *   negative window); thrown synchronously when the operator is created.
 *
 * @example
 * ```ts
 * work$.subscribe({
 *   error: (error) => {
 *     if (error instanceof OperatorsError && error.code === 'RETRIES_EXHAUSTED') console.error('gave up:', error.cause)
 *   },
 * })
 * ```
 */
export type OperatorsErrorCode = 'RETRIES_EXHAUSTED' | 'CIRCUIT_OPEN' | 'INVALID_OPTIONS'

/**
 * The base error class of `@hotswap/operators`. Every error an operator raises by itself
 * (rather than passing on an error of the source) is an `OperatorsError` with a
 * {@link OperatorsErrorCode} in `code`; the specific subclasses carry more facts.
 *
 * @example
 * ```ts
 * source$.pipe(retryBackoff({ maxRetries: 3 })).subscribe({
 *   error: (error) => {
 *     if (error instanceof OperatorsError && error.code === 'RETRIES_EXHAUSTED') console.error(error.cause)
 *   },
 * })
 * ```
 */
export class OperatorsError extends Error {
  /** The class name: `'OperatorsError'` or the subclass's name. */
  override readonly name: string = 'OperatorsError'

  /**
   * Creates an error.
   *
   * @param code - Why the operator failed.
   * @param message - What failed and what to do about it.
   * @param options - `cause`: the underlying error, if any.
   * @returns The error.
   * @example
   * ```ts
   * throw new OperatorsError('INVALID_OPTIONS', 'coalesceByKey: windowMs must be >= 0, got -1')
   * ```
   */
  constructor(
    readonly code: OperatorsErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

/**
 * Raised by {@link retryBackoff} when the source failed again after the last allowed retry.
 * `cause` holds the last error of the source; `retries` and `attempts` say how hard it tried.
 *
 * @example
 * ```ts
 * reload$.pipe(retryBackoff({ maxRetries: 5 })).subscribe({
 *   error: (error) => {
 *     if (error instanceof RetriesExhaustedError) console.error(`gave up after ${error.attempts} attempts`, error.cause)
 *   },
 * })
 * ```
 */
export class RetriesExhaustedError extends OperatorsError {
  /** Always `'RetriesExhaustedError'`. */
  override readonly name: string = 'RetriesExhaustedError'
  /** Always `'RETRIES_EXHAUSTED'`. */
  declare readonly code: 'RETRIES_EXHAUSTED'
  /** How many times the source was re-subscribed after failing (`maxRetries`). */
  readonly retries: number
  /** How many times the source was subscribed in all: the first try plus the retries. */
  readonly attempts: number

  /**
   * Creates the error.
   *
   * @param retries - How many retries were made before giving up.
   * @param cause - The last error of the source.
   * @returns The error.
   * @example
   * ```ts
   * const error = new RetriesExhaustedError(5, new Error('boom'))
   * error.attempts // 6
   * ```
   */
  constructor(retries: number, cause: unknown) {
    super(
      'RETRIES_EXHAUSTED',
      `gave up after ${retries} ${retries === 1 ? 'retry' : 'retries'} (${retries + 1} attempts): ${describe(cause)}; ` +
        'the last error is in `cause`; raise maxRetries or fix the failing work',
      { cause },
    )
    this.retries = retries
    this.attempts = retries + 1
  }
}

/**
 * Raised at once by a {@link CircuitBreaker}'s `protect()` operator when the breaker is open,
 * or half-open with its one trial already running. The work was not started.
 *
 * @example
 * ```ts
 * work$.pipe(breaker.protect()).subscribe({
 *   error: (error) => {
 *     if (error instanceof CircuitOpenError) console.warn(`${error.breaker} open, next trial in ${error.retryAfterMs} ms`)
 *   },
 * })
 * ```
 */
export class CircuitOpenError extends OperatorsError {
  /** Always `'CircuitOpenError'`. */
  override readonly name: string = 'CircuitOpenError'
  /** Always `'CIRCUIT_OPEN'`. */
  declare readonly code: 'CIRCUIT_OPEN'
  /** The breaker's `name` option (`'circuit'` when none was given). */
  readonly breaker: string
  /** The breaker state that refused the work. */
  readonly state: 'open' | 'half-open'
  /** How long until the breaker lets a trial through (0 when a trial is already running). */
  readonly retryAfterMs: number

  /**
   * Creates the error.
   *
   * @param breaker - The breaker's name, used in the message.
   * @param state - The state that refused the work.
   * @param retryAfterMs - Time until the next trial is allowed.
   * @param cause - The failure that last opened the breaker, if known.
   * @returns The error.
   * @example
   * ```ts
   * throw new CircuitOpenError('plugin:greeter', 'open', 2500)
   * ```
   */
  constructor(breaker: string, state: 'open' | 'half-open', retryAfterMs: number, cause?: unknown) {
    super(
      'CIRCUIT_OPEN',
      state === 'open'
        ? `circuit "${breaker}" is open: work refused; the next trial is allowed in ${retryAfterMs} ms (or call reset())`
        : `circuit "${breaker}" is half-open and its one trial is still running: work refused; retry after the trial ends`,
      cause === undefined ? undefined : { cause },
    )
    this.breaker = breaker
    this.state = state
    this.retryAfterMs = retryAfterMs
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message
  try {
    return String(error)
  } catch {
    return 'unprintable error'
  }
}
