import type { SchedulerLike, Subscription } from 'rxjs'
import { after } from './clock.js'

interface Limit {
  readonly at: number
  readonly fire: () => void
}

/**
 * The time limits of one plugin version's calls, all of the same length, checked by one timer
 * armed for the oldest instead of a timer per call (arming and clearing a timer on every call is
 * a measurable part of a fast call). Limits expire oldest first, in the order they started.
 *
 * @internal
 */
export class Deadlines {
  readonly #limits = new Map<number, Limit>()
  readonly #scheduler: SchedulerLike
  readonly #ms: number
  readonly #unref: boolean
  #timer: Subscription | undefined
  #next = 1

  /**
   * @param scheduler - the clock and timer
   * @param ms - every limit's length
   * @param unref - whether the timer lets the process exit (`after`'s `unref`)
   */
  constructor(scheduler: SchedulerLike, ms: number, unref: boolean) {
    this.#scheduler = scheduler
    this.#ms = ms
    this.#unref = unref
  }

  /** Starts a limit of `ms` from now: `fire` runs when it passes first. @returns its key for {@link cancel}. */
  start(fire: () => void): number {
    const key = this.#next++
    this.#limits.set(key, { at: this.#scheduler.now() + this.#ms, fire })
    if (this.#timer === undefined) this.#arm(this.#ms)
    return key
  }

  /** Ends a limit that is no longer needed (its call settled). */
  cancel(key: number): void {
    this.#limits.delete(key)
  }

  /** Ends every limit and the timer. */
  clear(): void {
    this.#limits.clear()
    this.#timer?.unsubscribe()
    this.#timer = undefined
  }

  #arm(delay: number): void {
    this.#timer = after(this.#scheduler, Math.max(1, delay), () => this.#expire(), this.#unref)
  }

  #expire(): void {
    this.#timer = undefined
    for (const [key, limit] of this.#limits) {
      const now = this.#scheduler.now()
      if (limit.at > now) return this.#arm(limit.at - now)
      this.#limits.delete(key)
      limit.fire()
    }
  }
}
