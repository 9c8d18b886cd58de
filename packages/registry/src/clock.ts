import { Subscription, asyncScheduler, type SchedulerLike } from 'rxjs'

/**
 * The registry's and its loaders' one source of time: everything time-dependent goes through a
 * `SchedulerLike` (the `scheduler` option, default `asyncScheduler`), so a test can run it on
 * virtual time. Event times are `scheduler.now()`; timeouts are `scheduler.schedule(...)`.
 */

/**
 * A clock for durations on `scheduler`: with the default `asyncScheduler` it is the monotonic
 * high-resolution `performance.now()` (durations of a reload's phases are below a millisecond
 * and must not jump with the wall clock); with any other scheduler it is `scheduler.now()`, so
 * virtual time drives durations too.
 *
 * @internal
 */
export function durationClock(scheduler: SchedulerLike): () => number {
  if (scheduler === asyncScheduler) return () => performance.now()
  return () => scheduler.now()
}

/**
 * Runs `fn` once after `ms` on `scheduler`; unsubscribe to cancel. An infinite `ms` never
 * runs (`Infinity` means no limit everywhere in the registry). `unref`: the pending timer does
 * not keep the process alive (housekeeping such as booting a spare worker).
 *
 * @internal
 */
export function after(scheduler: SchedulerLike, ms: number, fn: () => void, unref = false): Subscription {
  if (!Number.isFinite(ms)) return new Subscription()
  if (scheduler === asyncScheduler) {
    // Real time: a Node timer straight away (a call timeout is armed on every call; rxjs's
    // AsyncAction costs a setInterval and several objects more per call).
    const timer = setTimeout(fn, Math.min(ms, 2_147_483_647)) // longer would fire at once
    if (unref) timer.unref()
    return new Subscription(() => clearTimeout(timer))
  }
  const work = scheduler.schedule(fn, ms)
  if (unref) (work as { id?: { unref?: () => void } }).id?.unref?.()
  return work
}

/**
 * Runs `fn` every `ms` on `scheduler` until unsubscribed; `unref` as in {@link after}.
 *
 * @internal
 */
export function every(scheduler: SchedulerLike, ms: number, fn: () => void, unref = false): Subscription {
  const work = scheduler.schedule(function (this: { schedule(state: undefined, delay: number): unknown }) {
    fn()
    this.schedule(undefined, ms)
  }, ms)
  if (unref) (work as { id?: { unref?: () => void } }).id?.unref?.()
  return work
}

/**
 * Settles with `work`, or rejects with `onTimeout()` when `ms` pass first on `scheduler`; an
 * infinite budget waits for `work` alone. The timer is cancelled when `work` settles.
 *
 * @internal
 */
export function within<T>(work: Promise<T>, ms: number, onTimeout: () => Error, scheduler: SchedulerLike = asyncScheduler): Promise<T> {
  if (!Number.isFinite(ms)) return work
  work.catch(() => undefined)
  let timer: Subscription | undefined
  return Promise.race([
    work,
    new Promise<never>((_, reject) => {
      timer = after(scheduler, ms, () => reject(onTimeout()))
    }),
  ]).finally(() => timer?.unsubscribe())
}
