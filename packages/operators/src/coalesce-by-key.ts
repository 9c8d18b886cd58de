import { Observable, asapScheduler, asyncScheduler } from 'rxjs'
import type { MonoTypeOperatorFunction, SchedulerAction, SchedulerLike, Subscription } from 'rxjs'
import { OperatorsError } from './errors.js'

/**
 * Return this from a {@link CoalesceByKeyOptions.fold | fold} to drop the key entirely: its
 * pending value is discarded, its timer cancelled and its state freed, so nothing is emitted
 * for the burst so far (a file created then deleted inside one window is "nothing").
 *
 * @example
 * ```ts
 * const fold = (previous: Change, next: Change): Change | typeof DROP_KEY =>
 *   previous.kind === 'created' && next.kind === 'deleted' ? DROP_KEY : next
 * ```
 */
export const DROP_KEY: unique symbol = Symbol('coalesceByKey.DROP_KEY')

/**
 * An adaptive window: the more often a key changed recently, the longer it waits.
 *
 * A value waits `minMs * factor^n` (at most `maxMs`) where `n` is how many earlier values of
 * the same key arrived within the last `maxMs`. Busy keys therefore wait longer, and the
 * window shrinks back to `minMs` as old arrivals age out of that `maxMs` horizon.
 *
 * @example
 * ```ts
 * // 50 ms when quiet, doubling per recent change up to 1 s
 * changes$.pipe(coalesceByKey((c) => c.pluginId, { windowMs: { minMs: 50, maxMs: 1000, factor: 2 } }))
 * ```
 */
export interface AdaptiveWindow {
  /** The window of a key that has been quiet for `maxMs`. */
  readonly minMs: number
  /** The longest window, and the horizon over which recent arrivals are counted. */
  readonly maxMs: number
  /** How much each recent arrival multiplies the window by. Default `2`; must be > 1. */
  readonly factor?: number
}

/**
 * A custom window: given the values of the key's current burst (oldest first, the newest one
 * last, at most `historySize` of them) and their arrival times, return how many milliseconds
 * the key must stay quiet before it is emitted. Called once per incoming value.
 *
 * @example
 * ```ts
 * // wait longer for bursts that touch a package.json
 * const windowMs: CustomWindow<Change> = (values) => (values.some((c) => c.path.endsWith('package.json')) ? 500 : 50)
 * changes$.pipe(coalesceByKey((c) => c.pluginId, { windowMs }))
 * ```
 */
export type CustomWindow<T> = (recentValues: readonly T[], recentTimes: readonly number[]) => number

/**
 * The trailing window of {@link coalesceByKey}: fixed milliseconds, adaptive or custom.
 *
 * @example
 * ```ts
 * const fixed: CoalesceWindow<Change> = 100
 * const adaptive: CoalesceWindow<Change> = { minMs: 25, maxMs: 500 }
 * const custom: CoalesceWindow<Change> = (values) => 25 * values.length
 * ```
 */
export type CoalesceWindow<T> = number | AdaptiveWindow | CustomWindow<T>

/**
 * Options of {@link coalesceByKey}.
 *
 * @example
 * ```ts
 * const options: CoalesceByKeyOptions<Change> = {
 *   windowMs: { minMs: 50, maxMs: 1000 },
 *   maxWaitMs: 5000, // a key that never goes quiet is still emitted every 5 s
 *   fold: (previous, next) => (previous.kind === 'created' && next.kind === 'deleted' ? DROP_KEY : next),
 *   onKeyCount: (n) => metrics.gauge('pending_plugins', n),
 * }
 * changes$.pipe(coalesceByKey((c) => c.pluginId, options))
 * ```
 */
export interface CoalesceByKeyOptions<T> {
  /**
   * How long a key must stay quiet before its folded value is emitted: a fixed number of
   * milliseconds, an {@link AdaptiveWindow} or a {@link CustomWindow}. Every new value of the
   * key restarts the window.
   */
  readonly windowMs: CoalesceWindow<T>
  /**
   * The longest a burst may wait, counted from its first value: a key that never goes quiet
   * is still emitted every `maxWaitMs`. Default: no bound.
   */
  readonly maxWaitMs?: number
  /**
   * Merges the pending value of a burst with the next value of the same key. Return the
   * merged value, or {@link DROP_KEY} to forget the key. Default: keep the newest value.
   */
  readonly fold?: (previous: T, next: T) => T | typeof DROP_KEY
  /** How many recent values a {@link CustomWindow} is given. Default `16`. */
  readonly historySize?: number
  /**
   * The scheduler for the windows. Default `asyncScheduler`. With a fixed `windowMs` of `0` on
   * `asyncScheduler`, no timer is armed: the values that arrive in one synchronous run are folded
   * and emitted from a microtask (rxjs `asapScheduler`).
   */
  readonly scheduler?: SchedulerLike
  /**
   * Diagnostic hook: called with the number of keys the operator holds state for, each time
   * it changes. It returns to `0` once every key went quiet (and, for an adaptive window,
   * its history aged out), which is how tests and benchmarks check that nothing leaks.
   */
  readonly onKeyCount?: (count: number) => void
}

/**
 * Per key, waits until the key has been quiet for a trailing window, folding the burst's
 * values together, then emits the folded value once.
 *
 * Timing: each value of a key restarts that key's window; keys are independent, so a busy key
 * never delays another. With `maxWaitMs`, a burst is emitted at the latest `maxWaitMs` after
 * its first value even if the key never goes quiet. Ordering: keys are emitted in the order
 * their windows end. When the source completes, every pending value is emitted at once (in
 * the order the keys first arrived) and the output completes; a source error is passed on at
 * once and pending values are dropped. Teardown (unsubscribe) cancels every pending timer.
 * Memory: a key holds state only while it has a pending value (plus, for an adaptive window,
 * until its recent arrivals are older than `maxMs`); there are no long-lived groups.
 *
 * @param keyOf - Returns the key of a value (compared with `Map` semantics).
 * @param options - The window, `maxWaitMs`, `fold`, `scheduler` and the `onKeyCount` hook.
 * @returns An operator emitting one folded value per key and burst.
 * @throws {@link OperatorsError} with code `INVALID_OPTIONS` (synchronously) when a window or
 *   bound is negative or not a number; the output errors with the same code when a custom
 *   window returns such a number. Errors thrown by `keyOf` or `fold` are sent to the output.
 * @example
 * ```ts
 * changes$.pipe(
 *   coalesceByKey((change) => change.path, {
 *     windowMs: { minMs: 50, maxMs: 1000 },
 *     maxWaitMs: 5000,
 *     fold: (previous, next) => (previous.kind === 'created' && next.kind === 'deleted' ? DROP_KEY : next),
 *   }),
 * ).subscribe((change) => reload(change))
 * ```
 * @see {@link exhaustLatestByKey} to run one job per key at a time on the coalesced values.
 */
export function coalesceByKey<T, K>(keyOf: (value: T) => K, options: CoalesceByKeyOptions<T>): MonoTypeOperatorFunction<T> {
  const windowOption = options.windowMs
  const maxWaitMs = options.maxWaitMs ?? Number.POSITIVE_INFINITY
  const fold = options.fold
  const historySize = options.historySize ?? 16
  const onKeyCount = options.onKeyCount
  checkMs('maxWaitMs', maxWaitMs, true)
  if (!Number.isInteger(historySize) || historySize < 1) invalid(`historySize must be an integer >= 1, got ${String(historySize)}`)

  let fixedMs = -1
  let adaptive: { readonly minMs: number; readonly maxMs: number; readonly factor: number; readonly cap: number } | undefined
  let custom: CustomWindow<T> | undefined
  if (typeof windowOption === 'number') {
    checkMs('windowMs', windowOption, false)
    fixedMs = windowOption
  } else if (typeof windowOption === 'function') {
    custom = windowOption
  } else {
    const { minMs, maxMs, factor = 2 } = windowOption
    checkMs('windowMs.minMs', minMs, false)
    checkMs('windowMs.maxMs', maxMs, false)
    if (maxMs < minMs) invalid(`windowMs.maxMs (${maxMs}) must be >= windowMs.minMs (${minMs})`)
    if (!(factor > 1) || !Number.isFinite(factor)) invalid(`windowMs.factor must be a finite number > 1, got ${String(factor)}`)
    // Beyond this many recent arrivals the window is pinned at maxMs: no need to remember more.
    const cap = minMs === 0 ? 64 : Math.min(64, Math.max(1, Math.ceil(Math.log(maxMs / minMs) / Math.log(factor))))
    adaptive = { minMs, maxMs, factor, cap }
  }

  return (source) =>
    new Observable<T>((subscriber) => {
      const scheduler = options.scheduler ?? asyncScheduler
      // A window of 0 on the real clock: the burst is what arrives in one synchronous run, emitted
      // from a microtask. A 0 ms timer would be a setTimeout: at least 1 ms and a whole event-loop
      // turn (measured: ~2 ms per reload on a busy host). Virtual schedulers keep their 0 ms action.
      const timers = fixedMs === 0 && scheduler === asyncScheduler ? asapScheduler : scheduler
      const states = new Map<K, KeyState<T, K>>()
      let closed = false

      const forget = (state: KeyState<T, K>): void => {
        if (state.action !== null) {
          state.action.unsubscribe()
          state.action = null
        }
        states.delete(state.key)
        onKeyCount?.(states.size)
      }

      const fail = (error: unknown): void => {
        teardown()
        subscriber.error(error)
      }

      // Runs when a key's timer is due. Timers are lazy: a new value only moves the deadline,
      // and the timer re-arms itself here for the remaining time, so a burst of N values costs
      // one timer, not N cancel-and-reschedule pairs.
      function due(this: SchedulerAction<KeyState<T, K>>, state?: KeyState<T, K>): void {
        if (state === undefined || closed) return
        const now = scheduler.now()
        if (state.hasValue) {
          const at = Math.min(state.deadline, state.first + maxWaitMs)
          if (now < at) {
            state.timerAt = at
            state.action = this.schedule(state, at - now)
            return
          }
          const value = state.value as T
          state.hasValue = false
          state.value = undefined
          if (state.values !== null) {
            state.values = null
            state.times = null
          }
          const keepUntil = adaptive === undefined ? now : state.last + adaptive.maxMs
          if (keepUntil > now) {
            state.timerAt = keepUntil
            state.action = this.schedule(state, keepUntil - now)
          } else {
            state.action = null
            states.delete(state.key)
            onKeyCount?.(states.size)
          }
          subscriber.next(value)
          return
        }
        // No pending value: an adaptive key's history is being kept; free it once aged out.
        const keepUntil = adaptive === undefined ? now : state.last + adaptive.maxMs
        if (now < keepUntil) {
          state.timerAt = keepUntil
          state.action = this.schedule(state, keepUntil - now)
          return
        }
        state.action = null
        states.delete(state.key)
        onKeyCount?.(states.size)
      }

      const windowFor = (state: KeyState<T, K>, value: T, now: number): number => {
        if (fixedMs >= 0) return fixedMs
        if (adaptive !== undefined) {
          const times = state.times ?? (state.times = [])
          const horizon = now - adaptive.maxMs
          let start = 0
          while (start < times.length && (times[start] as number) <= horizon) start++
          if (start > 0) times.splice(0, start)
          const recent = times.length
          times.push(now)
          if (times.length > adaptive.cap) times.shift()
          return Math.min(adaptive.maxMs, adaptive.minMs * adaptive.factor ** recent)
        }
        const values = state.values ?? (state.values = [])
        const times = state.times ?? (state.times = [])
        values.push(value)
        times.push(now)
        if (values.length > historySize) {
          values.shift()
          times.shift()
        }
        const ms = (custom as CustomWindow<T>)(values, times)
        if (typeof ms !== 'number' || !(ms >= 0) || !Number.isFinite(ms)) {
          throw new OperatorsError('INVALID_OPTIONS', `coalesceByKey: the custom window returned ${String(ms)}; it must return a finite number of ms >= 0`)
        }
        return ms
      }

      const teardown = (): void => {
        closed = true
        const had = states.size
        for (const state of states.values()) state.action?.unsubscribe()
        states.clear()
        if (had > 0) onKeyCount?.(0)
      }

      const sourceSubscription = source.subscribe({
        next: (value) => {
          try {
            const now = scheduler.now()
            const key = keyOf(value)
            let state = states.get(key)
            if (state === undefined) {
              state = new KeyState<T, K>(key)
              states.set(key, state)
              onKeyCount?.(states.size)
            }
            if (!state.hasValue) {
              state.value = value
              state.hasValue = true
              state.first = now
            } else if (fold !== undefined) {
              const folded = fold(state.value as T, value)
              if (folded === DROP_KEY) {
                forget(state)
                return
              }
              state.value = folded
            } else {
              state.value = value
            }
            state.last = now
            state.deadline = now + windowFor(state, value, now)
            const at = Math.min(state.deadline, state.first + maxWaitMs)
            if (state.action === null) {
              state.timerAt = at
              state.action = timers.schedule(due, at - now, state)
            } else if (at < state.timerAt) {
              // The window shrank below the armed timer (adaptive/custom or an idle key): re-arm earlier.
              state.action.unsubscribe()
              state.timerAt = at
              state.action = timers.schedule(due, at - now, state)
            }
          } catch (error) {
            fail(error)
          }
        },
        error: (error: unknown) => fail(error),
        complete: () => {
          const pending: T[] = []
          for (const state of states.values()) if (state.hasValue) pending.push(state.value as T)
          teardown()
          for (const value of pending) subscriber.next(value)
          subscriber.complete()
        },
      })

      return () => {
        sourceSubscription.unsubscribe()
        teardown()
      }
    })
}

/** One key's burst: the folded value, its timing and its (lazy) timer. */
class KeyState<T, K> {
  readonly key: K
  value: T | undefined = undefined
  hasValue = false
  /** Arrival of the burst's first value (for maxWaitMs). */
  first = 0
  /** Arrival of the key's latest value. */
  last = 0
  /** When the key will have been quiet for its window. */
  deadline = 0
  /** When the armed timer fires (it may fire early and re-arm). */
  timerAt = 0
  action: Subscription | null = null
  /** Recent arrival times (adaptive and custom windows only). */
  times: number[] | null = null
  /** The burst's recent values (custom window only). */
  values: T[] | null = null

  constructor(key: K) {
    this.key = key
  }
}

function checkMs(name: string, ms: number, infiniteOk: boolean): void {
  if (typeof ms !== 'number' || Number.isNaN(ms) || ms < 0 || (!infiniteOk && !Number.isFinite(ms))) {
    invalid(`${name} must be a ${infiniteOk ? '' : 'finite '}number of milliseconds >= 0, got ${String(ms)}`)
  }
}

function invalid(message: string): never {
  throw new OperatorsError('INVALID_OPTIONS', `coalesceByKey: ${message}`)
}
