import { asyncScheduler, retry, throwError, timer } from 'rxjs'
import type { MonoTypeOperatorFunction, Observable, SchedulerLike } from 'rxjs'
import { OperatorsError, RetriesExhaustedError } from './errors.js'

/**
 * Delays `initialMs`, `initialMs * multiplier`, `initialMs * multiplier²`, … capped at `maxMs`.
 *
 * @example
 * ```ts
 * // 100, 200, 400, 800 ... ms, never more than 5 s
 * const backoff: ExponentialBackoff = { strategy: 'exponential', initialMs: 100, multiplier: 2, maxMs: 5000 }
 * work$.pipe(retryBackoff({ backoff, maxRetries: 5 }))
 * ```
 */
export interface ExponentialBackoff {
  /** Selects this strategy. */
  readonly strategy: 'exponential'
  /** The delay before the first retry. */
  readonly initialMs: number
  /** The factor between two delays. Default `2`. */
  readonly multiplier?: number
  /** The longest delay. Default: no cap. */
  readonly maxMs?: number
}

/**
 * Delays `initialMs`, `initialMs + incrementMs`, `initialMs + 2 * incrementMs`, … capped at `maxMs`.
 *
 * @example
 * ```ts
 * // 250, 500, 750 ... ms, never more than 2 s
 * const backoff: LinearBackoff = { strategy: 'linear', initialMs: 250, incrementMs: 250, maxMs: 2000 }
 * work$.pipe(retryBackoff({ backoff }))
 * ```
 */
export interface LinearBackoff {
  /** Selects this strategy. */
  readonly strategy: 'linear'
  /** The delay before the first retry. */
  readonly initialMs: number
  /** What each retry adds to the delay. Default: `initialMs`. */
  readonly incrementMs?: number
  /** The longest delay. Default: no cap. */
  readonly maxMs?: number
}

/**
 * Returns the delay before retry number `attempt` (1 for the first retry) after `error`.
 *
 * @example
 * ```ts
 * // honour a server's Retry-After, else one second per attempt
 * const backoff: CustomBackoff = (attempt, error) => (error as { retryAfterMs?: number }).retryAfterMs ?? attempt * 1000
 * work$.pipe(retryBackoff({ backoff }))
 * ```
 */
export type CustomBackoff = (attempt: number, error: unknown) => number

/**
 * How long {@link retryBackoff} waits before each retry.
 *
 * @example
 * ```ts
 * const strategies: BackoffStrategy[] = [
 *   { strategy: 'exponential', initialMs: 100 },
 *   { strategy: 'linear', initialMs: 250 },
 *   (attempt) => attempt * 1000,
 * ]
 * ```
 */
export type BackoffStrategy = ExponentialBackoff | LinearBackoff | CustomBackoff

/**
 * Randomises the computed delay `d` so that many failing callers do not retry in lock-step:
 * `'none'` keeps `d`, `'full'` waits `random() * d`, `'equal'` waits `d / 2 + random() * d / 2`.
 *
 * @example
 * ```ts
 * // many hosts retrying the same service do not hit it at the same moment
 * work$.pipe(retryBackoff({ backoff: { strategy: 'exponential', initialMs: 100 }, jitter: 'full' satisfies Jitter }))
 * ```
 */
export type Jitter = 'none' | 'full' | 'equal'

/**
 * What {@link RetryBackoffOptions.onRetry} is told before each wait.
 *
 * @example
 * ```ts
 * work$.pipe(
 *   retryBackoff({
 *     onRetry: ({ attempt, delayMs, error }: RetryEvent) => console.warn(`retry ${attempt} in ${delayMs} ms:`, error),
 *   }),
 * )
 * ```
 */
export interface RetryEvent {
  /** The retry about to be made, 1 for the first. */
  readonly attempt: number
  /** How long the operator waits before re-subscribing (after jitter). */
  readonly delayMs: number
  /** The error that caused this retry. */
  readonly error: unknown
}

/**
 * Options of {@link retryBackoff}.
 *
 * @example
 * ```ts
 * const options: RetryBackoffOptions = {
 *   backoff: { strategy: 'exponential', initialMs: 200, maxMs: 5000 },
 *   jitter: 'equal',
 *   maxRetries: 3,
 *   shouldRetry: (error) => (error as NodeJS.ErrnoException).code !== 'ENOENT', // a missing file will not come back
 *   resetOnSuccess: true,
 * }
 * work$.pipe(retryBackoff(options))
 * ```
 */
export interface RetryBackoffOptions {
  /** The delay strategy. Default `{ strategy: 'exponential', initialMs: 100, multiplier: 2, maxMs: 30_000 }`. */
  readonly backoff?: BackoffStrategy
  /** Randomisation of each delay. Default `'none'`. */
  readonly jitter?: Jitter
  /** The random source for jitter, returning a number in `[0, 1)`. Default `Math.random`. */
  readonly random?: () => number
  /** How many retries before giving up with a {@link RetriesExhaustedError}. Default `10`. */
  readonly maxRetries?: number
  /**
   * Whether an error is worth retrying. When it returns `false` the error is passed on
   * unchanged (not wrapped) at once. Default: every error is retried.
   */
  readonly shouldRetry?: (error: unknown, attempt: number) => boolean
  /** Called before each wait, for logs and metrics. */
  readonly onRetry?: (event: RetryEvent) => void
  /**
   * When `true`, a value from the source resets the retry count (and the delay) to the
   * start, so a long-lived stream gets a full budget after each success. Default `false`.
   */
  readonly resetOnSuccess?: boolean
  /** The scheduler for the waits. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike
}

/**
 * Re-subscribes to the source after it errors, waiting longer and longer between tries.
 *
 * Timing: retry `n` (1-based) waits the strategy's `n`-th delay, after jitter, on the given
 * scheduler; values and completion of the source pass through untouched. When the source
 * fails after `maxRetries` retries, the output errors with a {@link RetriesExhaustedError}
 * whose `cause` is the last error. An error that `shouldRetry` refuses is passed on as it
 * is. Teardown (unsubscribe) cancels a pending wait and the current subscription.
 *
 * @param options - The strategy, jitter, limits, hooks and scheduler; all optional.
 * @returns An operator that retries its source with backoff.
 * @throws {@link OperatorsError} with code `INVALID_OPTIONS` (synchronously) for a negative or
 *   non-numeric delay parameter or `maxRetries`; the output errors with that code when a
 *   custom strategy returns a bad delay. The output errors with {@link RetriesExhaustedError}
 *   when retries run out.
 * @example
 * ```ts
 * defer(() => reloadPlugin('greeter')).pipe(
 *   retryBackoff({
 *     backoff: { strategy: 'exponential', initialMs: 100, maxMs: 5_000 },
 *     jitter: 'full',
 *     maxRetries: 5,
 *     onRetry: ({ attempt, delayMs, error }) => console.warn(`retry ${attempt} in ${delayMs} ms`, error),
 *   }),
 * ).subscribe()
 * ```
 * @see {@link createCircuitBreaker} to stop trying for a while after repeated failures.
 */
export function retryBackoff<T>(options: RetryBackoffOptions = {}): MonoTypeOperatorFunction<T> {
  const backoff = options.backoff ?? { strategy: 'exponential', initialMs: 100, multiplier: 2, maxMs: 30_000 }
  const jitter = options.jitter ?? 'none'
  const random = options.random ?? Math.random
  const maxRetries = options.maxRetries ?? 10
  const { shouldRetry, onRetry } = options
  if (typeof maxRetries !== 'number' || Number.isNaN(maxRetries) || maxRetries < 0 || (Number.isFinite(maxRetries) && !Number.isInteger(maxRetries))) {
    invalid(`maxRetries must be an integer >= 0 (or Infinity), got ${String(maxRetries)}`)
  }
  if (jitter !== 'none' && jitter !== 'full' && jitter !== 'equal') invalid(`jitter must be 'none', 'full' or 'equal', got ${String(jitter)}`)
  const delayOf = delayFunction(backoff)

  return (source: Observable<T>) =>
    source.pipe(
      retry({
        resetOnSuccess: options.resetOnSuccess ?? false,
        delay: (error: unknown, attempt: number) => {
          if (shouldRetry !== undefined && !shouldRetry(error, attempt)) return throwError(() => error)
          if (attempt > maxRetries) return throwError(() => new RetriesExhaustedError(attempt - 1, error))
          const base = delayOf(attempt, error)
          const delayMs = jitter === 'none' ? base : jitter === 'full' ? random() * base : base / 2 + (random() * base) / 2
          onRetry?.({ attempt, delayMs, error })
          return timer(delayMs, options.scheduler ?? asyncScheduler)
        },
      }),
    )
}

function delayFunction(backoff: BackoffStrategy): (attempt: number, error: unknown) => number {
  if (typeof backoff === 'function') {
    return (attempt, error) => {
      const ms = backoff(attempt, error)
      if (typeof ms !== 'number' || !(ms >= 0) || !Number.isFinite(ms)) {
        throw new OperatorsError('INVALID_OPTIONS', `retryBackoff: the custom backoff returned ${String(ms)} for attempt ${attempt}; it must return a finite number of ms >= 0`)
      }
      return ms
    }
  }
  const maxMs = backoff.maxMs ?? Number.POSITIVE_INFINITY
  checkMs('backoff.initialMs', backoff.initialMs)
  checkMs('backoff.maxMs', maxMs, true)
  if (backoff.strategy === 'exponential') {
    const multiplier = backoff.multiplier ?? 2
    if (typeof multiplier !== 'number' || !(multiplier >= 1) || !Number.isFinite(multiplier)) invalid(`backoff.multiplier must be a finite number >= 1, got ${String(multiplier)}`)
    return (attempt) => Math.min(maxMs, backoff.initialMs * multiplier ** (attempt - 1))
  }
  if (backoff.strategy === 'linear') {
    const incrementMs = backoff.incrementMs ?? backoff.initialMs
    checkMs('backoff.incrementMs', incrementMs)
    return (attempt) => Math.min(maxMs, backoff.initialMs + incrementMs * (attempt - 1))
  }
  return invalid(`backoff.strategy must be 'exponential' or 'linear' (or pass a function), got ${String((backoff as { strategy: unknown }).strategy)}`)
}

function checkMs(name: string, ms: number, infiniteOk = false): void {
  if (typeof ms !== 'number' || Number.isNaN(ms) || ms < 0 || (!infiniteOk && !Number.isFinite(ms))) {
    invalid(`${name} must be a ${infiniteOk ? '' : 'finite '}number of milliseconds >= 0, got ${String(ms)}`)
  }
}

function invalid(message: string): never {
  throw new OperatorsError('INVALID_OPTIONS', `retryBackoff: ${message}`)
}
