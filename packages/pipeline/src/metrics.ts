/** Reload counters and duration percentiles, for one plugin or for all of them. */
export interface ReloadMetrics {
  /** Successful loads and reloads. */
  readonly reloads: number
  /** Failed loads and reloads (after retries). */
  readonly failures: number
  /** When the last reload finished, successful or not (ms since the epoch). */
  readonly lastReloadAt: number | undefined
  /** Median duration of the recent reloads, in ms (undefined before the first). */
  readonly p50Ms: number | undefined
  /** 90th percentile of the recent reload durations, in ms. */
  readonly p90Ms: number | undefined
  /** 99th percentile of the recent reload durations, in ms. */
  readonly p99Ms: number | undefined
}

const WINDOW = 512

/** Counts reloads and keeps the last durations for percentiles. @internal */
export class MetricsRecorder {
  #reloads = 0
  #failures = 0
  #last: number | undefined
  readonly #durations: number[] = []
  #next = 0

  record(ok: boolean, durationMs: number, at: number): void {
    if (ok) this.#reloads++
    else this.#failures++
    this.#last = at
    if (this.#durations.length < WINDOW) this.#durations.push(durationMs)
    else this.#durations[this.#next] = durationMs
    this.#next = (this.#next + 1) % WINDOW
  }

  snapshot(): ReloadMetrics {
    const sorted = [...this.#durations].sort((a, b) => a - b)
    const q = (p: number): number | undefined => (sorted.length === 0 ? undefined : sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)])
    return { reloads: this.#reloads, failures: this.#failures, lastReloadAt: this.#last, p50Ms: q(0.5), p90Ms: q(0.9), p99Ms: q(0.99) }
  }
}
