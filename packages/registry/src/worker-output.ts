import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs'
import { durationClock, every } from './clock.js'
import type { LoaderLogEntry } from './loader.js'

/** How much output one plugin version may send to the host's log. */
export interface OutputBudget {
  /** Lines per second (stdout, stderr and `ctx.log` together) passed on; the rest are dropped and counted. Default 1000. */
  readonly linesPerSecond?: number | undefined
  /** A longer line is cut to this many characters. Default 8192. */
  readonly maxLineLength?: number | undefined
}

/**
 * Meters the output of one plugin version on the host: its stdout and stderr and its
 * `ctx.log` lines (the worker bootstrap meters them first, with the same budget, and sends
 * only what fits plus a count of what it dropped). Up to
 * `linesPerSecond` lines (a bucket that refills continuously, full at start) go to the log;
 * the rest are dropped, counted, and reported once per second as one warning
 * ("N lines of output dropped"), and once more when the version ends.
 *
 * @internal
 */
export class OutputMeter {
  readonly #rate: number
  readonly #maxLine: number
  readonly #log: (entry: LoaderLogEntry) => void
  #label: () => string
  #tokens: number
  readonly #scheduler: SchedulerLike
  readonly #clock: () => number
  #last: number
  #dropped = 0
  #droppedTotal = 0
  #timer: Subscription | undefined
  readonly #partial = new Map<'stdout' | 'stderr', string>()
  #closed = false

  constructor(budget: OutputBudget | undefined, label: () => string, log: (entry: LoaderLogEntry) => void, scheduler: SchedulerLike = asyncScheduler) {
    this.#scheduler = scheduler
    this.#clock = durationClock(scheduler)
    this.#last = this.#clock()
    this.#rate = Math.max(1, budget?.linesPerSecond ?? 1000)
    this.#maxLine = Math.max(80, budget?.maxLineLength ?? 8192)
    this.#tokens = this.#rate
    this.#label = label
    this.#log = log
  }

  /** Lines dropped so far. */
  get dropped(): number {
    return this.#droppedTotal
  }

  /** A piece of stdout or stderr: each complete line goes through {@link OutputMeter.line}. */
  text(stream: 'stdout' | 'stderr', text: string): void {
    const level = stream === 'stdout' ? 'info' : 'warn'
    let head = this.#partial.get(stream) ?? ''
    let start = 0
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      this.line(level, (head + text.slice(start, nl)).replace(/\r$/, ''))
      head = ''
      start = nl + 1
    }
    const rest = head + text.slice(start, start + this.#maxLine + 1)
    if (rest.length > this.#maxLine) {
      this.line(level, rest)
      this.#partial.delete(stream)
    } else if (rest === '') {
      this.#partial.delete(stream)
    } else {
      this.#partial.set(stream, rest)
    }
  }

  /** Lines the worker dropped before sending them. */
  droppedInWorker(n: number): void {
    if (n > 0) this.#drop(n)
  }

  /** One line (`ctx.log` or a stream line): passed on when the budget allows, else counted. */
  line(level: LoaderLogEntry['level'], text: string): void {
    if (!this.#take(1)) return
    const cut = text.length > this.#maxLine ? `${text.slice(0, this.#maxLine)}... (${text.length - this.#maxLine} more characters cut)` : text
    this.#log({ level, message: `[${this.#label()}] ${cut}` })
  }

  /** Passes on an unfinished last line, reports what was dropped and not yet reported, and stops the report timer. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    for (const [stream, rest] of this.#partial) this.line(stream === 'stdout' ? 'info' : 'warn', rest)
    this.#partial.clear()
    this.#timer?.unsubscribe()
    this.#timer = undefined
    this.#report()
  }

  #take(n: number): boolean {
    this.#refill()
    if (this.#tokens >= n) {
      this.#tokens -= n
      return true
    }
    this.#drop(n)
    return false
  }

  #refill(): void {
    const now = this.#clock()
    this.#tokens = Math.min(this.#rate, this.#tokens + ((now - this.#last) / 1000) * this.#rate)
    this.#last = now
  }

  #drop(n: number): void {
    if (this.#closed) return
    this.#dropped += n
    this.#droppedTotal += n
    if (this.#timer === undefined) {
      this.#timer = every(this.#scheduler, 1000, () => this.#report(), true)
    }
  }

  #report(): void {
    if (this.#dropped === 0) return
    const n = this.#dropped
    this.#dropped = 0
    this.#log({
      level: 'warn',
      message: `[${this.#label()}] ${n} line${n === 1 ? '' : 's'} of output dropped (over ${this.#rate} lines/s; ${this.#droppedTotal} dropped in all)`,
    })
  }
}
