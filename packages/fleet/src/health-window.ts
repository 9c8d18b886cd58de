const BUCKET_MS = 100

/** @internal Calls and failures of one version over the newest `windowMs`, in 100 ms buckets. */
export class HealthWindow {
  readonly #windowMs: number
  readonly #buckets = new Map<number, { calls: number; errors: number }>()

  constructor(windowMs: number) {
    this.#windowMs = windowMs
  }

  add(ok: boolean, now: number): void {
    const index = Math.floor(now / BUCKET_MS)
    const bucket = this.#buckets.get(index) ?? { calls: 0, errors: 0 }
    bucket.calls += 1
    if (!ok) bucket.errors += 1
    this.#buckets.set(index, bucket)
  }

  counts(now: number): { calls: number; errors: number } {
    const oldest = Math.floor((now - this.#windowMs) / BUCKET_MS)
    let calls = 0
    let errors = 0
    for (const [index, bucket] of this.#buckets) {
      if (index <= oldest) {
        this.#buckets.delete(index)
        continue
      }
      calls += bucket.calls
      errors += bucket.errors
    }
    return { calls, errors }
  }
}
