/**
 * RxJS 7 operators for reload storms, retries and broken plugins: per-key coalescing,
 * retry with backoff, a circuit breaker and per-key "exhaust, keep the latest" serialising.
 *
 * @packageDocumentation
 */
export { DROP_KEY, coalesceByKey } from './coalesce-by-key.js'
export type { AdaptiveWindow, CoalesceByKeyOptions, CoalesceWindow, CustomWindow } from './coalesce-by-key.js'
export { retryBackoff } from './retry-backoff.js'
export type {
  BackoffStrategy,
  CustomBackoff,
  ExponentialBackoff,
  Jitter,
  LinearBackoff,
  RetryBackoffOptions,
  RetryEvent,
} from './retry-backoff.js'
export { createCircuitBreaker } from './circuit-breaker.js'
export type { CircuitBreaker, CircuitBreakerOptions, CircuitBreakerSnapshot, CircuitState } from './circuit-breaker.js'
export { exhaustLatestByKey } from './exhaust-latest-by-key.js'
export type { ExhaustLatestByKeyOptions } from './exhaust-latest-by-key.js'
export { CircuitOpenError, OperatorsError, RetriesExhaustedError } from './errors.js'
export type { OperatorsErrorCode } from './errors.js'
