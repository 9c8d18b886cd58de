import { defer, type Observable, type SchedulerLike } from 'rxjs'
import { CircuitOpenError, RetriesExhaustedError, retryBackoff, type CircuitBreaker, type RetryEvent } from '@hotswap/operators'
import type { ResolvedOptions } from './options.js'

/** How {@link runAttempts} ended. @internal */
export interface AttemptsOutcome<T> {
  /** The value of the attempt that succeeded. */
  readonly value: T | undefined
  /** The error of the last attempt, unwrapped from the retry and breaker errors. */
  readonly error: Error | undefined
  /** Attempts that ran (a refusal of the breaker is not one). */
  readonly attempts: number
  /** Whether the breaker refused the very first attempt. */
  readonly refused: boolean
}

/** Options of {@link runAttempts}. @internal */
export interface AttemptsOptions {
  readonly retry: ResolvedOptions['retry']
  readonly breaker: CircuitBreaker | undefined
  readonly scheduler: SchedulerLike
  /** Whether an error may be retried (deterministic failures and a closing pipeline say no). */
  readonly retryable: (error: unknown) => boolean
  readonly onRetry: (event: RetryEvent) => void
}

/**
 * Runs `attempt` through the breaker and, for errors `retryable` accepts, again with backoff:
 * attempt → breaker → retryBackoff, all timed by the scheduler. Resolves (never rejects) with
 * the outcome.
 *
 * @internal
 */
export function runAttempts<T>(attempt: (n: number) => Observable<T> | Promise<T>, options: AttemptsOptions): Promise<AttemptsOutcome<T>> {
  let attempts = 0
  let run$: Observable<T> = defer(() => attempt(++attempts))
  if (options.breaker !== undefined) run$ = run$.pipe(options.breaker.protect())
  if (options.retry !== undefined) {
    run$ = run$.pipe(
      retryBackoff({
        ...options.retry,
        scheduler: options.scheduler,
        shouldRetry: (error) => !(error instanceof CircuitOpenError) && options.retryable(error),
        onRetry: options.onRetry,
      }),
    )
  }
  return new Promise((done) => {
    let value: T | undefined
    run$.subscribe({
      next: (v) => (value = v),
      complete: () => done({ value, error: undefined, attempts, refused: false }),
      error: (error: unknown) => {
        const e = unwrap(error)
        done({ value: undefined, error: e, attempts, refused: e instanceof CircuitOpenError && attempts === 0 })
      },
    })
  })
}

function unwrap(error: unknown): Error {
  if (error instanceof RetriesExhaustedError && error.cause instanceof Error) return error.cause
  return error instanceof Error ? error : new Error(String(error))
}
