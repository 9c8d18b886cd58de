import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs'
import { after } from './clock.js'
import { DrainTimeoutError } from './errors.js'

interface Pending {
  readonly reject: (error: unknown) => void
  readonly method: string
}

/**
 * Counts the calls in flight on one plugin version and lets a drain wait for them or
 * cancel them. Shared by the loaders; the drain bound is scheduled on `scheduler` (the
 * registry's, from `PrepareOptions.scheduler`).
 *
 * @internal
 */
export class CallTracker {
  readonly #pending = new Set<Pending>()
  #idle: (() => void) | undefined
  readonly #scheduler: SchedulerLike

  constructor(scheduler: SchedulerLike = asyncScheduler) {
    this.#scheduler = scheduler
  }

  /** Calls in flight. */
  get size(): number {
    return this.#pending.size
  }

  /** Runs `start` as a tracked call: the returned promise settles with what `start` settles. */
  run<T>(method: string, start: (resolve: (value: T) => void, reject: (error: unknown) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = { reject, method }
      this.#pending.add(entry)
      start(
        (value) => {
          this.#done(entry)
          resolve(value)
        },
        (error) => {
          this.#done(entry)
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- a plugin may throw anything; callers get what it threw
          reject(error)
        },
      )
    })
  }

  /**
   * Tracks an open stream as a call in flight until `release()` is called; a drain that times
   * out, or `rejectAll`, ends it with `cancel(error)` instead.
   */
  hold(method: string, cancel: (error: unknown) => void): () => void {
    const entry: Pending = { reject: cancel, method: `${method} (stream)` }
    this.#pending.add(entry)
    return () => this.#done(entry)
  }

  /** Waits for the calls in flight up to `timeoutMs`, then cancels the rest; resolves with how many. */
  async drain(timeoutMs: number, label: string, pluginId: string): Promise<number> {
    if (this.#pending.size > 0) {
      let timer: Subscription | undefined
      await new Promise<void>((resolve) => {
        this.#idle = resolve
        if (Number.isFinite(timeoutMs)) timer = after(this.#scheduler, timeoutMs, resolve)
      })
      timer?.unsubscribe()
      this.#idle = undefined
    }
    const left = [...this.#pending]
    for (const entry of left) {
      this.#pending.delete(entry)
      entry.reject(
        new DrainTimeoutError(`call "${entry.method}" on ${label} was still running after the ${timeoutMs} ms drain of a reload; it may or may not have taken effect`, {
          pluginId,
        }),
      )
    }
    return left.length
  }

  /** Rejects every call in flight with `error`. */
  rejectAll(error: unknown): void {
    const left = [...this.#pending]
    this.#pending.clear()
    for (const entry of left) entry.reject(error)
    this.#idle?.()
  }

  #done(entry: Pending): void {
    if (this.#pending.delete(entry) && this.#pending.size === 0) this.#idle?.()
  }
}
