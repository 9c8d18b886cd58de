// The fleet's Redis layout and the commands on it; shared by publishers and hosts.
import { pluginIdProblem } from '@hotswap/state-store'
import { holdRedisLock, releaseRedisLock } from '@hotswap/state-store/redis'
import { Redis } from 'ioredis'
import { decodeFleetArtifact, encodeFleetArtifact } from './artifact.js'
import type { FleetArtifact } from './artifact.js'
import { FleetError, unavailable } from './errors.js'
import type { FleetEvent, HostReport, RolloutRecord } from './rollout.js'

/** Connection options shared by {@link connectFleet} and {@link joinFleet}. */
export interface FleetConnectionOptions {
  /** The Redis server. Default `redis://127.0.0.1:6379`. */
  readonly url?: string
  /** Separates fleets sharing one Redis: keys start with `hotswap:fleet:<namespace>:`. Default `default`. */
  readonly namespace?: string
  /** A command without an answer after this long rejects with `UNAVAILABLE`. Default 2000 ms. */
  readonly commandTimeoutMs?: number
}

// KEYS: rollout, events, plugins. ARGV: expected rev, record JSON, event JSON, id, stream length.
const PUT_ROLLOUT = `local cur = redis.call('GET', KEYS[1])
local rev = 0
if cur then rev = cjson.decode(cur).rev end
if rev ~= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[4])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'event', ARGV[3])
return 1`
const STREAM_LENGTH = 2000
const HOST_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

/** @internal The commands of the fleet on one Redis connection. */
export class FleetStore {
  readonly client: Redis
  readonly url: string
  readonly #prefix: string

  constructor(options: FleetConnectionOptions) {
    const namespace = options.namespace ?? 'default'
    if (!HOST_ID.test(namespace)) throw new FleetError('INVALID_OPTIONS', `namespace must match ${HOST_ID.source}, got ${JSON.stringify(namespace)}`)
    const timeout = options.commandTimeoutMs ?? 2000
    if (!(timeout > 0)) throw new FleetError('INVALID_OPTIONS', `commandTimeoutMs must be a positive number, got ${String(timeout)}`)
    this.url = options.url ?? 'redis://127.0.0.1:6379'
    this.#prefix = `hotswap:fleet:${namespace}:`
    this.client = new Redis(this.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: timeout,
      commandTimeout: timeout,
      retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 5), 1000),
    })
    // Failures reach callers as UNAVAILABLE rejections; this keeps the client's own report
    // from becoming an unhandled 'error' event.
    this.client.on('error', () => undefined)
  }

  /** A second connection for blocking reads (XREAD BLOCK holds its connection). */
  blocking(): Redis {
    const client = this.client.duplicate({ commandTimeout: undefined })
    client.on('error', () => undefined)
    return client
  }

  key(name: string): string {
    return this.#prefix + name
  }

  async ready(timeoutMs: number): Promise<void> {
    if (this.client.status === 'ready') return
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.client.off('ready', onReady)
        reject(new FleetError('UNAVAILABLE', `cannot reach Redis at ${redact(this.url)} within ${timeoutMs} ms; is redis-server running?`))
      }, timeoutMs)
      const onReady = (): void => {
        clearTimeout(timer)
        resolve()
      }
      this.client.once('ready', onReady)
    })
  }

  async putArtifact(artifact: FleetArtifact): Promise<void> {
    // Content-addressed: the same hash is the same bytes, so an existing record is kept.
    await this.#do('store the artifact', () => this.client.set(this.key(`artifact:${artifact.id}:${artifact.hash}`), encodeFleetArtifact(artifact), 'NX'))
  }

  async getArtifact(id: string, hash: string): Promise<FleetArtifact | undefined> {
    const key = this.key(`artifact:${id}:${hash}`)
    const text = await this.#do('read the artifact', () => this.client.get(key))
    return text === null ? undefined : decodeFleetArtifact(text, key)
  }

  async getRollout(id: string): Promise<RolloutRecord | undefined> {
    const text = await this.#do('read the rollout', () => this.client.get(this.key(`rollout:${id}`)))
    return text === null ? undefined : (JSON.parse(text) as RolloutRecord)
  }

  /** Stores `next` if the stored rev is still `expectedRev`; appends `event` with it. */
  async casRollout(expectedRev: number, next: RolloutRecord, event: FleetEvent): Promise<boolean> {
    const done = await this.#do('update the rollout', () =>
      this.client.eval(PUT_ROLLOUT, 3, this.key(`rollout:${next.id}`), this.key('events'), this.key('plugins'), expectedRev, JSON.stringify(next), JSON.stringify(event), next.id, STREAM_LENGTH),
    )
    return Number(done) === 1
  }

  async pluginIds(): Promise<string[]> {
    return (await this.#do('list the plugins', () => this.client.smembers(this.key('plugins')))).sort()
  }

  async appendEvent(event: FleetEvent): Promise<void> {
    await this.#do('append an event', () => this.client.xadd(this.key('events'), 'MAXLEN', '~', STREAM_LENGTH, '*', 'event', JSON.stringify(event)))
  }

  async recentEvents(count: number): Promise<FleetEvent[]> {
    if (count <= 0) return []
    const entries = await this.#do('read the events', () => this.client.xrevrange(this.key('events'), '+', '-', 'COUNT', count))
    return (entries ?? []).map(([, fields]) => parseEvent(fields)).filter((e): e is FleetEvent => e !== undefined).reverse()
  }

  async report(report: HostReport, ttlMs: number): Promise<void> {
    await this.#do('write the heartbeat', () =>
      this.client.multi().set(this.key(`host:${report.hostId}`), JSON.stringify(report), 'PX', ttlMs).sadd(this.key('hosts'), report.hostId).exec(),
    )
  }

  /** Reports of the hosts whose heartbeat has not expired, by host id. */
  async liveHosts(): Promise<{ known: string[]; live: HostReport[] }> {
    const known = (await this.#do('list the hosts', () => this.client.smembers(this.key('hosts')))).sort()
    if (known.length === 0) return { known, live: [] }
    const texts = await this.#do('read the heartbeats', () => this.client.mget(known.map((id) => this.key(`host:${id}`))))
    const live = texts.filter((t): t is string => t !== null).map((t) => JSON.parse(t) as HostReport)
    return { known, live }
  }

  async hold(lock: string, token: string, ttlMs: number): Promise<boolean> {
    return this.#do('take the coordinator lock', () => holdRedisLock(this.client, this.key(lock), token, ttlMs))
  }

  async release(lock: string, token: string): Promise<void> {
    await this.#do('release the coordinator lock', () => releaseRedisLock(this.client, this.key(lock), token))
  }

  async close(): Promise<void> {
    this.client.disconnect()
    return Promise.resolve()
  }

  async #do<R>(action: string, work: () => Promise<R>): Promise<R> {
    try {
      return await work()
    } catch (error) {
      throw unavailable(`${action} (${redact(this.url)})`, error)
    }
  }
}

/** @internal */
export function parseEvent(fields: readonly string[]): FleetEvent | undefined {
  const at = fields.indexOf('event')
  const text = at >= 0 ? fields[at + 1] : undefined
  if (text === undefined) return undefined
  try {
    return JSON.parse(text) as FleetEvent
  } catch {
    return undefined
  }
}

/** @internal */
export function checkPluginId(id: string): void {
  const problem = pluginIdProblem(id)
  if (problem !== undefined) throw new FleetError('INVALID_ARTIFACT', `not a plugin id: ${problem}`)
}

/** @internal */
export function checkHostId(id: string): void {
  if (typeof id !== 'string' || !HOST_ID.test(id)) throw new FleetError('INVALID_OPTIONS', `hostId must match ${HOST_ID.source}, got ${JSON.stringify(id)}`)
}

function redact(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password !== '') parsed.password = '***'
    return parsed.toString().replace(/\/$/, '')
  } catch {
    return 'redis'
  }
}
