import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileDurably } from './durable-file.js'

/** A JSON value as the `kv` service stores it. */
export type KvValue = null | boolean | number | string | readonly KvValue[] | { readonly [key: string]: KvValue }

/** Why a `kv` call was refused. */
export type KvErrorCode = 'INVALID_KEY' | 'INVALID_VALUE' | 'TOO_LARGE' | 'CORRUPT' | 'CLOSED'

/** A refused `kv` call; nothing was changed. */
export class KvError extends Error {
  override readonly name = 'KvError'

  /**
   * @param code - machine-readable reason
   * @param message - what was wrong and what to do
   * @param options - the cause
   */
  constructor(
    readonly code: KvErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

/** Limits of the `kv` service. */
export const KV_LIMITS: { readonly keyLength: number; readonly valueBytes: number; readonly keys: number } = { keyLength: 256, valueBytes: 64 * 1024, keys: 100_000 }

const KEY = /^[\w.:/@-]+$/

/**
 * The host's `kv` service: a small JSON key-value store that plugins reach through
 * `ctx.services.kv` (they declare `uses: ['kv']`). Keys are shared by every plugin (prefix
 * them with the plugin id, e.g. `links:abc`). It lives in `<stateDir>/kv.json`, so values
 * survive reloads and restarts: each change is written within one flush (a temp file,
 * `fsync`, then a rename), and `close()` waits for the last one.
 *
 * @example
 * ```ts
 * const kv = await KvStore.open('/var/lib/hotswap')
 * await kv.set('links:abc', { url: 'https://example.com' })
 * await kv.increment('hits:abc')
 * await kv.close()
 * ```
 */
export class KvStore {
  readonly #file: string
  readonly #data: Map<string, KvValue>
  #flushing: Promise<void> = Promise.resolve()
  #dirty = false
  #closed = false

  private constructor(file: string, data: Map<string, KvValue>) {
    this.#file = file
    this.#data = data
  }

  /**
   * Opens (or creates) the store of a state directory.
   *
   * @param stateDir - the host's state directory
   * @returns the store
   * @throws {@link KvError} `CORRUPT` when `kv.json` is not a JSON object (it is left as it is)
   */
  static async open(stateDir: string): Promise<KvStore> {
    const file = join(stateDir, 'kv.json')
    let text: string | undefined
    try {
      text = await readFile(file, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
    const data = new Map<string, KvValue>()
    if (text !== undefined) {
      let parsed: unknown
      try {
        parsed = JSON.parse(text)
      } catch (error) {
        throw new KvError('CORRUPT', `${file} is not valid JSON (${(error as Error).message}); move it away to start with an empty kv store`, { cause: error })
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new KvError('CORRUPT', `${file} must hold a JSON object; move it away to start with an empty kv store`)
      for (const [key, value] of Object.entries(parsed as Record<string, KvValue>)) data.set(key, value)
    }
    return new KvStore(file, data)
  }

  /**
   * The service object handed to the registry (`services: { kv: store.service() }`): every
   * method a plugin may call, bound to this store.
   *
   * @returns the methods `get`, `set`, `delete`, `increment`, `list`
   */
  service(): { get: KvStore['get']; set: KvStore['set']; delete: KvStore['delete']; increment: KvStore['increment']; list: KvStore['list'] } {
    return { get: (key) => this.get(key), set: (key, value) => this.set(key, value), delete: (key) => this.delete(key), increment: (key, by) => this.increment(key, by), list: (prefix) => this.list(prefix) }
  }

  /**
   * Reads a value.
   *
   * @param key - the key
   * @returns the value, or `null` when there is none
   * @throws {@link KvError} `INVALID_KEY`
   */
  get(key: string): KvValue {
    checkKey(key)
    return this.#data.get(key) ?? null
  }

  /**
   * Stores a value (written to disk within one flush).
   *
   * @param key - the key (letters, digits and `_ . : / @ -`, at most 256)
   * @param value - any JSON value up to 64 KiB; `null` deletes the key
   * @returns resolves once the value is on disk
   * @throws {@link KvError} `INVALID_KEY`, `INVALID_VALUE`, `TOO_LARGE` or `CLOSED`
   */
  async set(key: string, value: KvValue): Promise<void> {
    this.#open()
    checkKey(key)
    if (value === null) return this.delete(key).then(() => undefined)
    let text: string | undefined
    try {
      text = JSON.stringify(value)
    } catch (error) {
      throw new KvError('INVALID_VALUE', `kv.set(${JSON.stringify(key)}): the value is not JSON (${(error as Error).message})`, { cause: error })
    }
    if (text === undefined) throw new KvError('INVALID_VALUE', `kv.set(${JSON.stringify(key)}): the value is not JSON (a function or undefined); store null, a boolean, number, string, array or object`)
    if (Buffer.byteLength(text) > KV_LIMITS.valueBytes) throw new KvError('TOO_LARGE', `kv.set(${JSON.stringify(key)}): the value is ${Buffer.byteLength(text)} bytes as JSON, more than ${KV_LIMITS.valueBytes}; split it over several keys`)
    if (!this.#data.has(key) && this.#data.size >= KV_LIMITS.keys) throw new KvError('TOO_LARGE', `kv.set(${JSON.stringify(key)}): the store holds ${KV_LIMITS.keys} keys already; delete some first`)
    this.#data.set(key, JSON.parse(text) as KvValue)
    return this.#flush()
  }

  /**
   * Deletes a key.
   *
   * @param key - the key
   * @returns whether it existed (once the change is on disk)
   * @throws {@link KvError} `INVALID_KEY` or `CLOSED`
   */
  async delete(key: string): Promise<boolean> {
    this.#open()
    checkKey(key)
    if (!this.#data.delete(key)) return false
    await this.#flush()
    return true
  }

  /**
   * Adds to a number (a missing key counts as 0), in one step: two plugins counting at once
   * lose nothing.
   *
   * @param key - the key
   * @param by - how much to add (default 1)
   * @returns the new value
   * @throws {@link KvError} `INVALID_KEY`, `INVALID_VALUE` (the key holds something else than a number, or `by` is not finite) or `CLOSED`
   */
  async increment(key: string, by = 1): Promise<number> {
    this.#open()
    checkKey(key)
    if (typeof by !== 'number' || !Number.isFinite(by)) throw new KvError('INVALID_VALUE', `kv.increment(${JSON.stringify(key)}, by): by must be a finite number, not ${String(by)}`)
    const current = this.#data.get(key) ?? 0
    if (typeof current !== 'number') throw new KvError('INVALID_VALUE', `kv.increment(${JSON.stringify(key)}): the key holds a ${Array.isArray(current) ? 'array' : typeof current}, not a number`)
    const next = current + by
    this.#data.set(key, next)
    await this.#flush()
    return next
  }

  /**
   * Lists the entries whose key starts with `prefix`, sorted by key.
   *
   * @param prefix - the key prefix (default: every key)
   * @returns `[key, value]` pairs
   */
  list(prefix = ''): [string, KvValue][] {
    if (typeof prefix !== 'string') throw new KvError('INVALID_KEY', `kv.list(prefix): prefix must be a string, not ${typeof prefix}`)
    return [...this.#data].filter(([key]) => key.startsWith(prefix)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  }

  /**
   * Waits for the last write; later changes are refused with `CLOSED`.
   *
   * @returns resolves once everything is on disk
   */
  async close(): Promise<void> {
    this.#closed = true
    await this.#flushing
  }

  #open(): void {
    if (this.#closed) throw new KvError('CLOSED', 'the kv store is closed (the host is stopping)')
  }

  // One write at a time; changes made while a write runs are taken by the next one.
  #flush(): Promise<void> {
    if (this.#dirty) return this.#flushing
    this.#dirty = true
    // A failed write rejects its callers; the next change tries again with everything.
    this.#flushing = this.#flushing.catch(() => undefined).then(async () => {
      this.#dirty = false
      await writeFileDurably(this.#file, `${JSON.stringify(Object.fromEntries(this.#data))}\n`)
    })
    return this.#flushing
  }
}

function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0 || key.length > KV_LIMITS.keyLength || !KEY.test(key)) {
    throw new KvError('INVALID_KEY', `kv key ${JSON.stringify(key)} is not allowed: use 1-${KV_LIMITS.keyLength} letters, digits and _ . : / @ - (e.g. "links:abc")`)
  }
}

