import { Observable, from } from 'rxjs'
import type { ObservableInput, OperatorFunction, Subscription } from 'rxjs'
import { OperatorsError } from './errors.js'

/**
 * Options of {@link exhaustLatestByKey}.
 *
 * @example
 * ```ts
 * changes$.pipe(
 *   exhaustLatestByKey((c) => c.pluginId, (c) => defer(() => reload(c.pluginId)), {
 *     concurrency: 4, // at most 4 plugins reloading at once
 *     onKeyCount: (n) => console.log(`${n} plugins busy or waiting`),
 *   }),
 * )
 * ```
 */
export interface ExhaustLatestByKeyOptions {
  /**
   * How many inner Observables (of different keys) may run at once. Keys that have work
   * waiting for a slot are served in the order they started waiting. Default: no limit.
   */
  readonly concurrency?: number
  /**
   * Diagnostic hook: called with the number of keys the operator holds state for (running or
   * waiting) each time it changes; it returns to `0` when everything has finished.
   */
  readonly onKeyCount?: (count: number) => void
}

/**
 * Runs `project` for each value, with at most one inner Observable per key at a time: values
 * of a key that arrive while its inner runs are reduced to the newest one, which runs when the
 * current inner ends. Different keys run in parallel, up to `concurrency`.
 *
 * Ordering: a key's work never overlaps itself, and the last value of every key is always
 * run (nothing is lost but superseded intermediate values). When a slot is free, waiting keys
 * start in FIFO order of when they started waiting; a key whose inner just ended with a newer
 * value pending goes to the back of that queue. Completion: the output completes when the
 * source has completed and every running and pending inner has finished. Errors: an error of
 * the source, of `keyOf`, of `project` or of an inner is passed on at once and tears
 * everything down. Teardown (unsubscribe) unsubscribes every running inner and drops pending
 * values. This operator involves no timing, so it takes no scheduler.
 *
 * @param keyOf - Returns the key of a value (compared with `Map` semantics).
 * @param project - Starts the work for a value; receives the value and its key.
 * @param options - `concurrency` (default unlimited) and the `onKeyCount` diagnostic hook.
 * @returns An operator emitting the values of every inner Observable as they arrive.
 * @throws {@link OperatorsError} with code `INVALID_OPTIONS` (synchronously) when
 *   `concurrency` is not an integer >= 1 (or `Infinity`).
 * @example
 * ```ts
 * changes$.pipe(
 *   exhaustLatestByKey(
 *     (change) => change.pluginId,
 *     (change) => defer(() => registry.reload(change.pluginId)),
 *     { concurrency: 4 },
 *   ),
 * ).subscribe((result) => console.log('reloaded', result))
 * ```
 * @see {@link coalesceByKey} to fold bursts of values before they reach this operator.
 */
export function exhaustLatestByKey<T, K, R>(
  keyOf: (value: T) => K,
  project: (value: T, key: K) => ObservableInput<R>,
  options: ExhaustLatestByKeyOptions = {},
): OperatorFunction<T, R> {
  const concurrency = options.concurrency ?? Number.POSITIVE_INFINITY
  const onKeyCount = options.onKeyCount
  if (typeof concurrency !== 'number' || !(concurrency >= 1) || (Number.isFinite(concurrency) && !Number.isInteger(concurrency))) {
    throw new OperatorsError('INVALID_OPTIONS', `exhaustLatestByKey: concurrency must be an integer >= 1 (or Infinity), got ${String(concurrency)}`)
  }

  return (source) =>
    new Observable<R>((subscriber) => {
      const states = new Map<K, KeyState<T>>()
      /** Keys with a pending value and no running inner, in the order they started waiting. */
      const waiting = new Set<K>()
      let active = 0
      let sourceDone = false
      let draining = false
      let stopped = false

      const fail = (error: unknown): void => {
        if (stopped) return
        stopped = true
        subscriber.error(error)
      }

      const maybeComplete = (): void => {
        if (sourceDone && active === 0 && waiting.size === 0 && !stopped) {
          stopped = true
          subscriber.complete()
        }
      }

      const start = (key: K, state: KeyState<T>): void => {
        const value = state.pending as T
        state.pending = undefined
        state.hasPending = false
        state.running = true
        active++
        let inner: Observable<R>
        try {
          inner = from(project(value, key))
        } catch (error) {
          fail(error)
          return
        }
        let innerDone = false
        const subscription = inner.subscribe({
          next: (result) => subscriber.next(result),
          error: (error: unknown) => {
            innerDone = true
            fail(error)
          },
          complete: () => {
            innerDone = true
            state.running = false
            state.subscription = undefined
            active--
            if (state.hasPending) waiting.add(key)
            else {
              states.delete(key)
              onKeyCount?.(states.size)
            }
            drain()
          },
        })
        if (!innerDone) state.subscription = subscription
      }

      const drain = (): void => {
        if (draining) return
        draining = true
        try {
          while (!stopped && active < concurrency && waiting.size > 0) {
            const key = waiting.values().next().value as K
            waiting.delete(key)
            start(key, states.get(key) as KeyState<T>)
          }
        } finally {
          draining = false
        }
        maybeComplete()
      }

      const sourceSubscription = source.subscribe({
        next: (value) => {
          let key: K
          try {
            key = keyOf(value)
          } catch (error) {
            fail(error)
            return
          }
          let state = states.get(key)
          if (state === undefined) {
            state = new KeyState<T>()
            states.set(key, state)
            onKeyCount?.(states.size)
          }
          state.pending = value
          state.hasPending = true
          if (!state.running) {
            // Already waiting keys keep their place in the queue; only the value is replaced.
            waiting.add(key)
            drain()
          }
        },
        error: (error: unknown) => fail(error),
        complete: () => {
          sourceDone = true
          maybeComplete()
        },
      })

      return () => {
        stopped = true
        sourceSubscription.unsubscribe()
        for (const state of states.values()) state.subscription?.unsubscribe()
        const had = states.size
        states.clear()
        waiting.clear()
        if (had > 0) onKeyCount?.(0)
      }
    })
}

/** One key: whether its inner runs, and the newest value waiting behind it. */
class KeyState<T> {
  running = false
  hasPending = false
  pending: T | undefined = undefined
  subscription: Subscription | undefined = undefined
}
