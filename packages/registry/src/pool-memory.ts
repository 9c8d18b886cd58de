/** When a version's heap counts as leaking (see {@link PoolLoaderOptions.leak}). */
export interface LeakRule {
  /** How many samples in a row must each be at least the one before. Default 5. */
  readonly samples?: number | undefined
  /** How much the heap must have grown across those samples, in bytes. Default 8 MiB. */
  readonly growthBytes?: number | undefined
}

/** A leak warning of one version: its heap grew at every one of the last `samples` samples. */
export interface LeakSuspicion {
  /** Bytes gained from the first to the last of those samples. */
  readonly growthBytes: number
  /** How many samples in a row grew. */
  readonly samples: number
  /** When the first of them was taken (ms since the epoch). */
  readonly since: number
}

interface Sample {
  readonly bytes: number
  readonly at: number
}

/**
 * The heap samples of one pool tenant's realm and the leak rule over them: a warning is raised
 * once when the last `samples` samples never went down and grew by `growthBytes` or more in
 * all; it is raised again only after a sample that went down.
 *
 * @internal
 */
export class TenantMemory {
  readonly #window: number
  readonly #growth: number
  #samples: Sample[] = []
  #warned = false
  #listener: ((bytes: number, at: number, leak: LeakSuspicion | undefined) => void) | undefined

  constructor(rule: LeakRule) {
    this.#window = Math.max(2, rule.samples ?? 5)
    this.#growth = rule.growthBytes ?? 8 * 1024 * 1024
  }

  /** The last sample, if any. */
  get last(): Sample | undefined {
    return this.#samples.at(-1)
  }

  /** Where samples go (one listener: the version's plugin object). */
  listen(listener: (bytes: number, at: number, leak: LeakSuspicion | undefined) => void): void {
    this.#listener = listener
  }

  add(bytes: number, at: number): void {
    const previous = this.#samples.at(-1)
    if (previous !== undefined && bytes < previous.bytes) {
      this.#samples = []
      this.#warned = false
    }
    this.#samples.push({ bytes, at })
    if (this.#samples.length > this.#window) this.#samples.shift()
    let leak: LeakSuspicion | undefined
    const first = this.#samples[0]
    if (!this.#warned && first !== undefined && this.#samples.length === this.#window && bytes - first.bytes >= this.#growth) {
      this.#warned = true
      leak = { growthBytes: bytes - first.bytes, samples: this.#window, since: first.at }
    }
    this.#listener?.(bytes, at, leak)
  }
}
