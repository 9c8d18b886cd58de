/**
 * Hot windows: a thread's event loop kept polling, without sleeping, for a short bounded time.
 *
 * A message between two threads costs little to send; what costs is waking the receiving thread
 * when it sleeps in `epoll_wait` (about 40 µs a wake on a small VM, twice per round trip). While
 * a ref'd `setImmediate` is pending, libuv polls with a zero timeout and never sleeps, yet timers
 * and I/O still run between the turns: a chain of `setImmediate`s bounded in time keeps a thread
 * awake for that time, so a reply (or the next request) is picked up at once. The price is a
 * busy thread (one core at most per hot thread) for the length of the window, and nothing else.
 */

/**
 * Default window, in µs: a worker keeps polling this long after each message it receives, and
 * the host at most this long per request while one waits.
 */
export const HOT_WINDOW_US = 500

/** Upper bound of a window option, in µs (a window is for round trips, not for waiting). */
export const MAX_HOT_WINDOW_US = 100_000

/**
 * Checks a window option: a finite number of µs from 0 (off) to {@link MAX_HOT_WINDOW_US}.
 *
 * @internal
 */
export function validHotWindow(value: unknown): boolean {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= MAX_HOT_WINDOW_US
}

/** How much a window that expired with nothing answered counts against the window (a hit takes a quarter off): more than 1 in 5 windows wasted, and it pauses. */
const PAUSE_SCORE = 4
/** The first pause, in ms; each pause that follows soon after doubles it up to {@link MAX_PAUSE_MS}, and answered windows halve it again. */
const FIRST_PAUSE_MS = 20
const MAX_PAUSE_MS = 2000

/**
 * One thread's hot window: {@link HostHotWindow.begin} keeps its loop polling for that many µs
 * from now (the later of the bounds asked for), while any request waits. One per thread:
 * every caller extends the same window, so a thousand calls in flight cost one `setImmediate` a
 * loop turn, not a thousand.
 *
 * It pauses itself when it does not pay: a window that expires while its requests still wait
 * (the calls are slower than the window, or the machine has more runnable threads than cores,
 * where a polling thread takes the core its peer needs: then a round trip waits for the window
 * to end) counts against it, an answered one for it; past one wasted window in five it pauses
 * for 20 ms, doubling up to 2 s while it keeps missing.
 *
 * @internal
 */
export class HostHotWindow {
  #until = 0
  #running = false
  #waiting = 0
  #score = 0
  #pausedUntil = 0
  #pauseMs = FIRST_PAUSE_MS
  readonly #tick = (): void => {
    if (this.#waiting === 0) {
      this.#running = false
      return
    }
    const now = performance.now()
    if (now < this.#until) {
      setImmediate(this.#tick)
      return
    }
    this.#running = false
    this.#score += 1
    if (this.#score >= PAUSE_SCORE) {
      this.#score = 0
      this.#pausedUntil = now + this.#pauseMs
      this.#pauseMs = Math.min(MAX_PAUSE_MS, this.#pauseMs * 2)
    }
  }

  /** Whether the loop is being kept hot now. */
  get running(): boolean {
    return this.#running
  }

  /** Whether the window pauses now (it did not pay lately). */
  get paused(): boolean {
    return performance.now() < this.#pausedUntil
  }

  /**
   * A request starts waiting: keeps the loop hot for `us` µs from now while any request waits.
   * Every `begin` is paired with one {@link HostHotWindow.end}.
   */
  begin(us: number): void {
    this.#waiting++
    if (us <= 0) return
    const now = performance.now()
    if (now < this.#pausedUntil) return
    const until = now + us / 1000
    if (until > this.#until) this.#until = until
    if (!this.#running) {
      this.#running = true
      setImmediate(this.#tick)
    }
  }

  /** A request stopped waiting (answered, failed, timed out or aborted). */
  end(): void {
    if (this.#waiting > 0) this.#waiting--
    if (this.#running) {
      this.#score = Math.max(0, this.#score - 0.25)
      this.#pauseMs = Math.max(FIRST_PAUSE_MS, this.#pauseMs / 2)
    }
  }
}

/**
 * The host process's one window, shared by every worker and pool plugin (per thread: a registry
 * in a worker of its own has its own module instance, so its own window).
 *
 * @internal
 */
export const hostHotWindow: HostHotWindow = new HostHotWindow()

/**
 * The worker side's window as source for a bootstrap: defines a function `name(incoming)`
 * (default `hot`), which keeps the worker's loop polling for `us` µs from now (`us` is an
 * expression of the bootstrap, e.g. a `workerData` field read at boot; `0`: it does nothing). It pauses as
 * {@link HostHotWindow} does: a window that expires before the next incoming message counts
 * against it, a message that arrives while it runs for it.
 *
 * @internal
 */
export function workerHotWindow(us: string, name = 'hot'): string {
  return String.raw`
const hotMs = Math.max(0, Number(${us}) || 0) / 1000
let hotUntil = 0
let hotRunning = false
let hotScore = 0
let hotPausedUntil = 0
let hotPauseMs = ${FIRST_PAUSE_MS}
const hotNow = performance.now.bind(performance)
const hotImmediate = setImmediate
function hotTick() {
  const now = hotNow()
  if (now < hotUntil) return hotImmediate(hotTick)
  hotRunning = false
  hotScore += 1
  if (hotScore >= ${PAUSE_SCORE}) {
    hotScore = 0
    hotPausedUntil = now + hotPauseMs
    hotPauseMs = Math.min(${MAX_PAUSE_MS}, hotPauseMs * 2)
  }
}
function ${name}(incoming) {
  if (hotMs === 0) return
  if (hotRunning && incoming) {
    hotScore = Math.max(0, hotScore - 0.25)
    hotPauseMs = Math.max(${FIRST_PAUSE_MS}, hotPauseMs / 2)
  }
  const now = hotNow()
  if (now < hotPausedUntil) return
  hotUntil = now + hotMs
  if (!hotRunning) { hotRunning = true; hotImmediate(hotTick) }
}`
}
