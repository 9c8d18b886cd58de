import { BehaviorSubject, Observable, asyncScheduler } from 'rxjs'
import type { MonoTypeOperatorFunction, SchedulerLike, Subscription } from 'rxjs'
import { CircuitOpenError, OperatorsError } from './errors.js'

/**
 * The state of a {@link CircuitBreaker}: `'closed'` lets work through, `'open'` refuses it,
 * `'half-open'` lets one trial through to decide between the two.
 *
 * @example
 * ```ts
 * breaker.state$.subscribe((state: CircuitState) => {
 *   if (state === 'open') console.warn(`${breaker.name} is refusing work for now`)
 * })
 * ```
 */
export type CircuitState = 'closed' | 'open' | 'half-open'

/**
 * Options of {@link createCircuitBreaker}.
 *
 * @example
 * ```ts
 * const options: CircuitBreakerOptions = {
 *   name: 'plugin:greeter',
 *   failureThreshold: 3, // open after 3 failures in a row
 *   resetAfterMs: 10_000, // then one trial after 10 s
 *   isFailure: (error) => !(error instanceof TypeError), // caller bugs do not open it
 * }
 * const breaker = createCircuitBreaker(options)
 * ```
 */
export interface CircuitBreakerOptions {
  /** Names the breaker in errors (for example `'plugin:greeter'`). Default `'circuit'`. */
  readonly name?: string
  /** Consecutive failures that open a closed breaker. Default `5`. */
  readonly failureThreshold?: number
  /** How long the breaker stays open before it lets one trial through. Default `30_000`. */
  readonly resetAfterMs?: number
  /**
   * Whether an error counts as a failure of the protected work. An error for which it returns
   * `false` is still passed on, but counts as a success (the work answered). Default: all.
   */
  readonly isFailure?: (error: unknown) => boolean
  /** The scheduler for the open period and for timestamps. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike
}

/**
 * A point-in-time view of a {@link CircuitBreaker}, for status pages and tests.
 *
 * @example
 * ```ts
 * const { name, state, consecutiveFailures, failureThreshold } = breaker.snapshot()
 * console.log(`${name}: ${state} (${consecutiveFailures}/${failureThreshold})`)
 * ```
 */
export interface CircuitBreakerSnapshot {
  /** The breaker's name. */
  readonly name: string
  /** The current state. */
  readonly state: CircuitState
  /** Failures in a row counted while closed (reset by a success). */
  readonly consecutiveFailures: number
  /** The configured threshold. */
  readonly failureThreshold: number
  /** Scheduler time at which the breaker last opened, if it is open or half-open. */
  readonly openedAt: number | undefined
  /** Scheduler time from which a trial is allowed, if it is open or half-open. */
  readonly trialAllowedAt: number | undefined
  /** Whether the half-open trial is running. */
  readonly trialRunning: boolean
  /** The error that last counted as a failure, if any since the last close/reset. */
  readonly lastError: unknown
}

/**
 * A circuit breaker: counts consecutive failures of the work it protects and, past a
 * threshold, refuses work for a while instead of letting it fail again. Create one with
 * {@link createCircuitBreaker}; create one per independent resource (for example one per
 * plugin) since state is shared by everything that goes through the same breaker.
 *
 * @example
 * ```ts
 * const breaker: CircuitBreaker = createCircuitBreaker({ name: 'plugin:greeter', failureThreshold: 3 })
 * defer(() => reload('greeter')).pipe(breaker.protect()).subscribe({
 *   error: (error) => console.error(error instanceof CircuitOpenError ? 'not now' : error),
 * })
 * breaker.close() // completes state$ when the plugin goes away
 * ```
 */
export interface CircuitBreaker {
  /** The breaker's name, as given in the options. */
  readonly name: string
  /**
   * The state now and each change after it (it replays the current state on subscribe and
   * never repeats a state). Completes when the breaker is closed with {@link CircuitBreaker.close}.
   */
  readonly state$: Observable<CircuitState>
  /**
   * A view of the breaker now.
   *
   * @returns The state, counters and times.
   * @example
   * ```ts
   * const { state, consecutiveFailures } = breaker.snapshot()
   * ```
   */
  snapshot(): CircuitBreakerSnapshot
  /**
   * An operator that runs its source through the breaker. Each subscription is one piece of
   * work: it is refused at once with a {@link CircuitOpenError} while the breaker is open (or
   * half-open with its trial running); otherwise the source runs, and its outcome is counted
   * when it ends: completion is a success, an error a failure. Unsubscribing before the end
   * counts as nothing (and frees the half-open trial slot).
   *
   * @returns The protecting operator.
   * @example
   * ```ts
   * defer(() => reload('greeter')).pipe(retryBackoff({ maxRetries: 2 }), breaker.protect())
   * ```
   */
  protect<T>(): MonoTypeOperatorFunction<T>
  /**
   * Closes the breaker at once (state `'closed'`, no failures counted) and cancels its timer;
   * outcomes of work started before the reset are ignored.
   */
  reset(): void
  /**
   * Releases the breaker: cancels its timer and completes `state$`. The breaker still
   * protects work afterwards (an open one half-opens lazily when work arrives), but no longer
   * reports state changes.
   */
  close(): void
}

/**
 * Creates a {@link CircuitBreaker}.
 *
 * Timing: closed → open after `failureThreshold` consecutive failures; while open, work is
 * refused at once; `resetAfterMs` after opening the breaker turns half-open (a scheduler
 * timer, so `state$` shows it) and lets exactly one trial through; the trial's success closes
 * it, its failure opens it again for another `resetAfterMs`. A success while closed resets
 * the failure count. Outcomes of work that started before the latest state change (for
 * example a slow call that ends after the breaker opened) are ignored. Outcomes are counted
 * before they are passed on, so a subscriber that sees an error already sees the new state.
 *
 * @param options - Name, threshold, open period, failure filter and scheduler; all optional.
 * @returns A new breaker, closed.
 * @throws {@link OperatorsError} with code `INVALID_OPTIONS` when `failureThreshold` is not an
 *   integer >= 1 or `resetAfterMs` not a finite number >= 0. The `protect()` operator errors
 *   with {@link CircuitOpenError} when it refuses work.
 * @example
 * ```ts
 * const breaker = createCircuitBreaker({ name: 'plugin:greeter', failureThreshold: 3, resetAfterMs: 10_000 })
 * breaker.state$.subscribe((state) => metrics.set('breaker_state', state))
 * defer(() => reload('greeter')).pipe(breaker.protect()).subscribe({
 *   error: (error) => {
 *     if (error instanceof CircuitOpenError) console.warn(`not reloading: ${error.message}`)
 *   },
 * })
 * ```
 * @see {@link retryBackoff} to retry transient failures before they count against the breaker.
 */
export function createCircuitBreaker(options: CircuitBreakerOptions = {}): CircuitBreaker {
  return new Breaker(options)
}

interface Ticket {
  readonly generation: number
  readonly trial: boolean
}

class Breaker implements CircuitBreaker {
  readonly name: string
  readonly state$: Observable<CircuitState>
  readonly #subject = new BehaviorSubject<CircuitState>('closed')
  readonly #threshold: number
  readonly #resetAfterMs: number
  readonly #isFailure: ((error: unknown) => boolean) | undefined
  readonly #scheduler: SchedulerLike
  /** Bumped on every state change; outcomes carry the generation they started in. */
  #generation = 0
  #state: CircuitState = 'closed'
  #failures = 0
  #openedAt: number | undefined = undefined
  #trialAllowedAt: number | undefined = undefined
  #trialRunning = false
  #lastError: unknown = undefined
  #timer: Subscription | undefined = undefined
  #closed = false

  constructor(options: CircuitBreakerOptions) {
    this.name = options.name ?? 'circuit'
    this.#threshold = options.failureThreshold ?? 5
    this.#resetAfterMs = options.resetAfterMs ?? 30_000
    this.#isFailure = options.isFailure
    this.#scheduler = options.scheduler ?? asyncScheduler
    if (!Number.isInteger(this.#threshold) || this.#threshold < 1) {
      throw new OperatorsError('INVALID_OPTIONS', `circuit "${this.name}": failureThreshold must be an integer >= 1, got ${String(this.#threshold)}`)
    }
    if (typeof this.#resetAfterMs !== 'number' || !(this.#resetAfterMs >= 0) || !Number.isFinite(this.#resetAfterMs)) {
      throw new OperatorsError('INVALID_OPTIONS', `circuit "${this.name}": resetAfterMs must be a finite number of ms >= 0, got ${String(this.#resetAfterMs)}`)
    }
    this.state$ = this.#subject.asObservable()
  }

  snapshot(): CircuitBreakerSnapshot {
    this.#refresh()
    return {
      name: this.name,
      state: this.#state,
      consecutiveFailures: this.#failures,
      failureThreshold: this.#threshold,
      openedAt: this.#openedAt,
      trialAllowedAt: this.#trialAllowedAt,
      trialRunning: this.#trialRunning,
      lastError: this.#lastError,
    }
  }

  protect<T>(): MonoTypeOperatorFunction<T> {
    return (source) =>
      new Observable<T>((subscriber) => {
        const ticket = this.#admit()
        if (ticket instanceof CircuitOpenError) {
          subscriber.error(ticket)
          return undefined
        }
        let settled = false
        const subscription = source.subscribe({
          next: (value) => subscriber.next(value),
          error: (error: unknown) => {
            settled = true
            if (this.#isFailure === undefined || this.#isFailure(error)) this.#failure(ticket, error)
            else this.#success(ticket)
            subscriber.error(error)
          },
          complete: () => {
            settled = true
            this.#success(ticket)
            subscriber.complete()
          },
        })
        return () => {
          subscription.unsubscribe()
          if (!settled && ticket.trial && ticket.generation === this.#generation) this.#trialRunning = false
        }
      })
  }

  reset(): void {
    this.#cancelTimer()
    this.#failures = 0
    this.#lastError = undefined
    this.#to('closed')
  }

  close(): void {
    this.#cancelTimer()
    this.#closed = true
    this.#subject.complete()
  }

  #admit(): Ticket | CircuitOpenError {
    this.#refresh()
    const state = this.#state
    if (state === 'closed') return { generation: this.#generation, trial: false }
    if (state === 'open') {
      const wait = Math.max(0, (this.#trialAllowedAt ?? 0) - this.#scheduler.now())
      return new CircuitOpenError(this.name, 'open', wait, this.#lastError)
    }
    if (this.#trialRunning) return new CircuitOpenError(this.name, 'half-open', 0, this.#lastError)
    this.#trialRunning = true
    return { generation: this.#generation, trial: true }
  }

  #success(ticket: Ticket): void {
    if (ticket.generation !== this.#generation) return
    this.#failures = 0
    if (ticket.trial) {
      this.#lastError = undefined
      this.#to('closed')
    }
  }

  #failure(ticket: Ticket, error: unknown): void {
    if (ticket.generation !== this.#generation) return
    this.#lastError = error
    if (ticket.trial) {
      this.#open()
      return
    }
    this.#failures++
    if (this.#failures >= this.#threshold) this.#open()
  }

  #open(): void {
    this.#cancelTimer()
    const now = this.#scheduler.now()
    this.#openedAt = now
    this.#trialAllowedAt = now + this.#resetAfterMs
    this.#to('open')
    if (!this.#closed) {
      this.#timer = this.#scheduler.schedule(() => {
        this.#timer = undefined
        if (this.#state === 'open') this.#to('half-open')
      }, this.#resetAfterMs)
    }
  }

  /** Half-opens an open breaker whose period is over even if its timer has not run (yet). */
  #refresh(): void {
    if (this.#state === 'open' && this.#scheduler.now() >= (this.#trialAllowedAt ?? 0)) {
      this.#cancelTimer()
      this.#to('half-open')
    }
  }

  #to(state: CircuitState): void {
    this.#generation++
    this.#trialRunning = false
    if (state === 'closed') {
      this.#openedAt = undefined
      this.#trialAllowedAt = undefined
    }
    if (this.#state === state) return
    this.#state = state
    if (!this.#closed) this.#subject.next(state)
  }

  #cancelTimer(): void {
    this.#timer?.unsubscribe()
    this.#timer = undefined
  }
}
