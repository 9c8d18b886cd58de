import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import type { RedisOptions } from 'ioredis'
import type { AdapterContext, AdapterEvent, StateAdapter } from './adapter.js'
import { StateStoreError } from './errors.js'
import { decodeSnapshotFile, encodeSnapshotFile } from './file-format.js'
import { validatePluginId } from './plugin-id.js'
import type { StateSnapshot } from './snapshot.js'
import { holdRedisLock, releaseRedisLock } from './redis-lock.js'

/** Options of {@link redisAdapter}. */
export interface RedisAdapterOptions {
  /** The server, as a `redis://` or `rediss://` URL. Default `redis://127.0.0.1:6379`. */
  readonly url?: string
  /**
   * The start of every key this adapter writes. Default `hotswap:state:`. One store per
   * prefix: hosts sharing a Redis give each its own (for example `hotswap:state:<host id>:`).
   */
  readonly prefix?: string
  /** How long one command may take before it rejects with `UNAVAILABLE`. Default 2000 ms. */
  readonly commandTimeoutMs?: number
  /** How long connecting may take before `open` rejects with `UNAVAILABLE`. Default 2000 ms. */
  readonly connectTimeoutMs?: number
  /**
   * How long the ownership lock lives without renewal (it is renewed every third of this).
   * A store killed without `close` frees its prefix after this long. Default 15000 ms.
   */
  readonly lockTtlMs?: number
  /** Further ioredis options (TLS, password, db...). The adapter's own settings win. */
  readonly redis?: Readonly<RedisOptions>
}

/**
 * Creates an adapter that keeps snapshots in Redis, so that state survives the host's
 * machine and several hosts can share one server (each under its own `prefix`).
 *
 * Layout: the snapshots of plugin `id` are one list `<prefix>snap:<id>`, newest at the head;
 * `<prefix>ids` is the set of ids with snapshots; `<prefix>corrupt:<id>` keeps entries set
 * aside as corrupt; `<prefix>lock` names the owner. Plugin ids are checked against the id
 * rule before any key is built (no id can hold a space, a newline, `*`, `{`, `:` or another
 * byte Redis or a glob would treat specially) and keys are never matched by pattern.
 *
 * Each entry is the same checksummed envelope as a snapshot file of the file adapter
 * (format number, length and SHA-256, see `FILE_FORMAT_VERSION`): a damaged entry is moved
 * to the corrupt list and reported as a `corrupt` event; an entry of a newer format is
 * refused with `UNSUPPORTED_VERSION` and left where it is. A save is one Lua script (push,
 * trim to `keep`, index), so no reader sees half of it. Durable means acknowledged by the
 * server: what survives a Redis crash is what its `appendonly`/`save` settings keep.
 *
 * Redis down: a call rejects with `UNAVAILABLE` at once (no offline queue) or after
 * `commandTimeoutMs`; the client reconnects in the background and the next call works
 * again. Opening takes a lock key (renewed while open): a second store on the same prefix
 * is refused with `LOCKED`.
 *
 * Needs the `ioredis` package (an optional peer dependency) and Redis 5 or later.
 *
 * @param options - The server `url`, key `prefix`, timeouts and extra ioredis options.
 * @returns A {@link StateAdapter} to pass to `createStateStore`.
 * @throws `StateStoreError` (from the main entry) `INVALID_OPTIONS` for an empty prefix or a timeout that is
 *   not a positive number. `open` rejects with `UNAVAILABLE` when Redis cannot be reached and
 *   with `LOCKED` when another store holds the prefix.
 * @example
 * ```ts
 * import { createStateStore } from '@hotswap/state-store'
 * import { redisAdapter } from '@hotswap/state-store/redis'
 *
 * const store = await createStateStore({ adapter: redisAdapter({ url: 'redis://127.0.0.1:6379', prefix: 'hotswap:state:a:' }) })
 * ```
 */
export function redisAdapter(options: RedisAdapterOptions = {}): StateAdapter {
  const prefix = options.prefix ?? 'hotswap:state:'
  if (typeof prefix !== 'string' || prefix.length === 0) invalid('prefix must be a non-empty string')
  const timeouts = {
    command: positive(options.commandTimeoutMs, 2000, 'commandTimeoutMs'),
    connect: positive(options.connectTimeoutMs, 2000, 'connectTimeoutMs'),
    lockTtl: positive(options.lockTtlMs, 15_000, 'lockTtlMs'),
  }
  return new RedisAdapter(options.url ?? 'redis://127.0.0.1:6379', prefix, timeouts, options.redis ?? {})
}

// KEYS: list, ids set. ARGV: entry, keep, id.
const PUT = `redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
redis.call('SADD', KEYS[2], ARGV[3])
return 1`
// KEYS: list, ids set. ARGV: expected head, id. Pops the head only if it is still that entry.
const POP = `if redis.call('LINDEX', KEYS[1], 0) ~= ARGV[1] then return 0 end
redis.call('LPOP', KEYS[1])
if redis.call('LLEN', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[2]) end
return 1`
// KEYS: list, corrupt list, ids set. ARGV: entry, id. Moves one entry aside.
const QUARANTINE = `local n = redis.call('LREM', KEYS[1], 1, ARGV[1])
if n > 0 then redis.call('RPUSH', KEYS[2], ARGV[1]) end
if redis.call('LLEN', KEYS[1]) == 0 then redis.call('SREM', KEYS[3], ARGV[2]) end
return n`
// KEYS: list, ids set. ARGV: id.
const REMOVE = `redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[1])
return 1`

interface Timeouts {
  readonly command: number
  readonly connect: number
  readonly lockTtl: number
}

class RedisAdapter implements StateAdapter {
  readonly name: string
  readonly #url: string
  readonly #prefix: string
  readonly #timeouts: Timeouts
  readonly #extra: Readonly<RedisOptions>
  readonly #token = `${process.pid}:${randomUUID()}`
  #state: 'new' | 'opening' | 'open' | 'lost' | 'closed' = 'new'
  #client: Redis | undefined
  #context: AdapterContext | undefined
  #renewTimer: NodeJS.Timeout | undefined
  #inFlight = new Set<Promise<unknown>>()

  constructor(url: string, prefix: string, timeouts: Timeouts, extra: Readonly<RedisOptions>) {
    this.#url = url
    this.#prefix = prefix
    this.#timeouts = timeouts
    this.#extra = extra
    this.name = `redis:${redactUrl(url)}/${prefix}`
  }

  async open(context: AdapterContext): Promise<void> {
    if (this.#state !== 'new') throw this.#closedError('open() can only be called once')
    this.#state = 'opening'
    this.#context = context
    const client = new Redis(this.#url, {
      ...this.#extra,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: this.#timeouts.connect,
      commandTimeout: this.#timeouts.command,
      retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    })
    // Connection errors surface as UNAVAILABLE rejections of the calls; the event is only the
    // client's own report, kept from reaching the process as an unhandled 'error'.
    client.on('error', () => undefined)
    this.#client = client
    try {
      await client.connect()
      const taken = await client.set(this.#key('lock'), this.#token, 'PX', this.#timeouts.lockTtl, 'NX')
      if (taken !== 'OK') {
        const holder = await client.get(this.#key('lock'))
        throw new StateStoreError(
          'LOCKED',
          `${this.name}: another store holds this prefix (lock ${this.#key('lock')} = ${holder ?? '?'}); ` +
            'give each store its own prefix, or wait for the holder to close (the lock expires ' +
            `${this.#timeouts.lockTtl} ms after its owner died)`,
          { details: { holder } },
        )
      }
    } catch (error) {
      this.#state = 'closed'
      client.disconnect()
      throw this.#wrap('connect', error)
    }
    this.#renewTimer = setInterval(() => void this.#renew(), Math.max(10, Math.floor(this.#timeouts.lockTtl / 3)))
    this.#renewTimer.unref()
    this.#state = 'open'
  }

  put(snapshot: StateSnapshot, keep: number): Promise<void> {
    return this.#run('save', async (client) => {
      const id = snapshot.pluginId
      validatePluginId(id)
      await client.eval(PUT, 2, this.#snapKey(id), this.#key('ids'), encodeSnapshotFile(snapshot), Math.max(1, keep), id)
    })
  }

  list(pluginId: string, limit: number): Promise<StateSnapshot[]> {
    return this.#run('list', (client) => this.#list(client, pluginId, limit))
  }

  pop(pluginId: string): Promise<boolean> {
    return this.#run('pop', async (client) => {
      for (;;) {
        const [top] = await this.#list(client, pluginId, 1)
        if (top === undefined) return false
        const head = await client.lindexBuffer(this.#snapKey(pluginId), 0)
        if (head === null) return false
        if (Number(await client.eval(POP, 2, this.#snapKey(pluginId), this.#key('ids'), head, pluginId)) === 1) return true
      }
    })
  }

  remove(pluginId: string): Promise<void> {
    return this.#run('remove', async (client) => {
      validatePluginId(pluginId)
      await client.eval(REMOVE, 2, this.#snapKey(pluginId), this.#key('ids'), pluginId)
    })
  }

  ids(): Promise<string[]> {
    return this.#run('list ids', async (client) => (await client.smembers(this.#key('ids'))).sort())
  }

  async close(): Promise<void> {
    if (this.#state === 'closed' || this.#state === 'new') {
      this.#state = 'closed'
      return
    }
    this.#state = 'closed'
    clearInterval(this.#renewTimer)
    await Promise.allSettled(this.#inFlight)
    const client = this.#client
    this.#client = undefined
    if (client === undefined) return
    try {
      if (client.status === 'ready') await releaseRedisLock(client, this.#key('lock'), this.#token)
    } catch {
      // The lock expires by itself after lockTtlMs.
    }
    client.disconnect()
  }

  async #list(client: Redis, pluginId: string, limit: number): Promise<StateSnapshot[]> {
    validatePluginId(pluginId)
    const key = this.#snapKey(pluginId)
    const out: StateSnapshot[] = []
    let start = 0
    while (out.length < limit) {
      const want = limit - out.length
      const entries = await client.lrangeBuffer(key, start, start + want - 1)
      if (entries.length === 0) break
      start += entries.length
      for (const [index, entry] of entries.entries()) {
        const where = `${this.name} ${key}[${start - entries.length + index}]`
        try {
          out.push(decodeSnapshotFile(entry, pluginId, where).snapshot)
        } catch (error) {
          if (!(error instanceof StateStoreError) || error.code !== 'CORRUPT') throw error
          const moved = Number(await client.eval(QUARANTINE, 3, key, this.#corruptKey(pluginId), this.#key('ids'), entry, pluginId))
          if (moved > 0) start -= 1
          this.#emit({ type: 'corrupt', pluginId, location: where, movedTo: moved > 0 ? this.#corruptKey(pluginId) : undefined, error })
        }
        if (out.length >= limit) break
      }
    }
    return out
  }

  async #renew(): Promise<void> {
    const client = this.#client
    if (this.#state !== 'open' || client === undefined || client.status !== 'ready') return
    try {
      const held = await holdRedisLock(client, this.#key('lock'), this.#token, this.#timeouts.lockTtl)
      if (!held && this.#state === 'open') this.#state = 'lost'
    } catch {
      // Redis is away: renewal resumes when it answers; the lock of a restarted Redis is re-taken.
    }
  }

  #run<R>(action: string, work: (client: Redis) => Promise<R>): Promise<R> {
    const client = this.#client
    if (this.#state === 'lost') {
      return Promise.reject(new StateStoreError('LOCKED', `${this.name}: another store took this prefix over while the lock could not be renewed; close this store`))
    }
    if (this.#state !== 'open' || client === undefined) {
      return Promise.reject(this.#closedError(this.#state === 'closed' ? 'the adapter is closed' : 'the adapter is not open yet'))
    }
    const running = work(client).catch((error: unknown) => {
      throw this.#wrap(action, error)
    })
    this.#inFlight.add(running)
    void running.then(
      () => this.#inFlight.delete(running),
      () => this.#inFlight.delete(running),
    )
    return running
  }

  #wrap(action: string, error: unknown): StateStoreError {
    if (error instanceof StateStoreError) return error
    const message = error instanceof Error ? error.message : String(error)
    return new StateStoreError(
      'UNAVAILABLE',
      `${this.name}: cannot ${action}, Redis did not answer (${message}); plugins keep running, retry when Redis is back`,
      { cause: error },
    )
  }

  #emit(event: AdapterEvent): void {
    this.#context?.emit(event)
  }

  #closedError(message: string): StateStoreError {
    return new StateStoreError('CLOSED', `${this.name}: ${message}`)
  }

  #key(name: string): string {
    return `${this.#prefix}${name}`
  }

  #snapKey(id: string): string {
    return `${this.#prefix}snap:${id}`
  }

  #corruptKey(id: string): string {
    return `${this.#prefix}corrupt:${id}`
  }
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) invalid(`${name} must be a positive number of milliseconds, got ${String(value)}`)
  return value
}

function invalid(message: string): never {
  throw new StateStoreError('INVALID_OPTIONS', `redisAdapter: ${message}`)
}

function redactUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password !== '') parsed.password = '***'
    return parsed.toString().replace(/\/$/, '')
  } catch {
    return 'redis'
  }
}
