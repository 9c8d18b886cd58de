import type { Readable } from 'node:stream'
import type { LoaderLogEntry } from './loader.js'

/** How much output one plugin version may send to the host's log. */
export interface OutputBudget {
  /** Lines per second (stdout, stderr and `ctx.log` together) passed on; the rest are dropped and counted. Default 1000. */
  readonly linesPerSecond?: number | undefined
  /** A longer line is cut to this many characters. Default 8192. */
  readonly maxLineLength?: number | undefined
}

/**
 * Meters the output of one plugin version: its stdout and stderr (the worker's streams, read
 * as fast as they come so that the worker never buffers) and its `ctx.log` lines. Up to
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
  #last = performance.now()
  #dropped = 0
  #droppedTotal = 0
  #timer: NodeJS.Timeout | undefined
  readonly #partial = new Map<Readable, string>()

  constructor(budget: OutputBudget | undefined, label: () => string, log: (entry: LoaderLogEntry) => void) {
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

  /** Reads `stream` line by line into the log at `level`. */
  attach(stream: Readable | null | undefined, level: LoaderLogEntry['level']): void {
    if (stream === null || stream === undefined) return
    stream.on('data', (chunk: Buffer) => this.#chunk(stream, chunk, level))
    stream.on('end', () => {
      const rest = this.#partial.get(stream)
      this.#partial.delete(stream)
      if (rest !== undefined && rest !== '') this.line(level, rest)
    })
    stream.on('error', () => undefined)
  }

  /** One line (`ctx.log` or a stream line): passed on when the budget allows, else counted. */
  line(level: LoaderLogEntry['level'], text: string): void {
    if (!this.#take(1)) return
    const cut = text.length > this.#maxLine ? `${text.slice(0, this.#maxLine)}... (${text.length - this.#maxLine} more characters cut)` : text
    this.#log({ level, message: `[${this.#label()}] ${cut}` })
  }

  /** Reports what was dropped and not yet reported, and stops the report timer. */
  close(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
    this.#report()
  }

  #chunk(stream: Readable, chunk: Buffer, level: LoaderLogEntry['level']): void {
    this.#refill()
    let start = 0
    let nl = chunk.indexOf(10)
    const pending = this.#partial.get(stream) ?? ''
    if (this.#tokens < 1 && pending === '') {
      // Over budget: only count. The partial line of this chunk is dropped with it.
      let lines = 0
      while (nl !== -1) {
        lines++
        nl = chunk.indexOf(10, nl + 1)
      }
      if (chunk.length > 0 && chunk[chunk.length - 1] !== 10) lines++
      this.#drop(lines)
      return
    }
    let head = pending
    while (nl !== -1) {
      if (this.#tokens < 1) {
        let lines = 0
        while (nl !== -1) {
          lines++
          nl = chunk.indexOf(10, nl + 1)
        }
        this.#drop(lines)
        this.#partial.delete(stream)
        return
      }
      this.line(level, head + chunk.toString('utf8', start, nl).replace(/\r$/, ''))
      head = ''
      start = nl + 1
      nl = chunk.indexOf(10, start)
    }
    const rest = head + chunk.toString('utf8', start, Math.min(chunk.length, start + this.#maxLine + 1))
    if (rest.length > this.#maxLine) {
      this.line(level, rest)
      this.#partial.delete(stream)
    } else {
      this.#partial.set(stream, rest)
    }
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
    const now = performance.now()
    this.#tokens = Math.min(this.#rate, this.#tokens + ((now - this.#last) / 1000) * this.#rate)
    this.#last = now
  }

  #drop(n: number): void {
    this.#dropped += n
    this.#droppedTotal += n
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.#report(), 1000)
      this.#timer.unref()
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
