import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import { asyncScheduler, timer } from 'rxjs'
import type { SchedulerLike, Subscription } from 'rxjs'
import { verifyFleetArtifact } from './artifact.js'
import type { FleetArtifact } from './artifact.js'
import { FleetError } from './errors.js'
import { checkHostId, FleetStore, parseEvent } from './fleet-store.js'
import type { FleetConnectionOptions } from './fleet-store.js'
import { HealthWindow } from './health-window.js'
import { decideRollout, desiredFor } from './rollout.js'
import type { FleetEvent, HostPluginReport, RolloutRecord, VersionRef } from './rollout.js'

/** What a host does with a verified artifact: put it in service, resolve once it serves. */
export interface FleetTarget {
  /**
   * Makes `artifact` the serving version of its plugin (first load or reload). Reject when it
   * cannot: the host reports the failure and the rollout rolls back.
   */
  apply(artifact: FleetArtifact): Promise<void>
  /**
   * Takes the plugin out of service: the fleet wants no version of it here (its first
   * published version was rolled back, so there is no earlier one to go back to). Without it
   * the host keeps serving what it has and says so (a warning and a `removeFailed` event).
   */
  remove?(id: string): Promise<void>
  /**
   * The fleet hash this target already serves for `id` (for example from disk, after a
   * restart), so the host does not apply it again; `undefined` when it serves none.
   */
  current?(id: string): Promise<string | undefined>
}

/** Where log lines go (default: nowhere; events carry the same facts). */
export interface FleetLogger {
  /** Normal progress. */
  info(message: string): void
  /** Something fell back or failed. */
  warn(message: string): void
}

/** Options of {@link joinFleet}. */
export interface JoinFleetOptions extends FleetConnectionOptions {
  /** This host's id, unique in the fleet (`/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/`). */
  readonly hostId: string
  /** How this host puts a version in service (see {@link registryTarget}). */
  readonly target: FleetTarget
  /** How often the host writes its heartbeat. Default 250 ms; it expires after 6 of them. */
  readonly heartbeatMs?: number
  /** How often the host re-reads the desired state besides stream wake-ups. Default 1000 ms. */
  readonly reconcileMs?: number
  /** Whether this host may coordinate rollouts (one host at a time does). Default `true`. */
  readonly coordinate?: boolean
  /**
   * Extra health checks run after a version is applied; a rejection or `false` marks the
   * version rejected on this host, which rolls it back everywhere.
   */
  readonly check?: (artifact: FleetArtifact) => Promise<boolean> | boolean
  /** Log lines. */
  readonly logger?: FleetLogger
  /**
   * The clock and timers of the host's loops (heartbeat, reconcile, coordination) and of every
   * time it records (health window, events, reports). Default `asyncScheduler` (wall-clock
   * time: hosts compare each other's times, so a virtual clock suits a single host's tests).
   */
  readonly scheduler?: SchedulerLike
}

/** What one host knows about itself; see {@link FleetHost.status}. */
export interface FleetHostLocalStatus {
  /** The host id. */
  readonly hostId: string
  /** Whether Redis answers. */
  readonly connected: boolean
  /** Whether this host is the coordinator now. */
  readonly coordinator: boolean
  /** The version served per plugin id. */
  readonly serving: Readonly<Record<string, VersionRef>>
  /** Hashes refused or failed here, per plugin id, with the reason. */
  readonly rejected: Readonly<Record<string, Readonly<Record<string, string>>>>
}

/** A host's membership of a fleet; see {@link joinFleet}. */
export interface FleetHost {
  /** The host id. */
  readonly hostId: string
  /**
   * Counts one call of a plugin's serving version for the health gate (`ok: false` when the
   * call failed). Call it for every call of the serving version, e.g. from the registry's
   * `onCall` (`hotswap-host` does, so its API, CLI and routes all count); calls of a plugin
   * that is not a fleet plugin here are ignored.
   */
  record(id: string, ok: boolean): void
  /** This host's view: serving versions, rejections, connection. */
  status(): FleetHostLocalStatus
  /** Listens to every fleet event (from the stream); returns the remover. */
  on(listener: (event: FleetEvent) => void): () => void
  /** Leaves the fleet: stops the loops and closes the connections (plugins keep serving). */
  close(): Promise<void>
}

/**
 * Joins a fleet: this host serves what the rollouts say it should, reports what it serves
 * and how its calls go, and takes its turn coordinating rollouts.
 *
 * The host reads the desired state on start (catching up on whatever it missed), on every
 * event of the fleet's Redis Stream (a blocking `XREAD`), and every `reconcileMs`. For each
 * plugin whose desired hash differs from the served one it fetches the artifact, verifies the
 * FNV-1a 64 hash (a mismatch is refused: `artifactRefused`), hands it to `target.apply`
 * (failure: `applyFailed`) and reports it (`applied`). While Redis is away the host keeps
 * serving what it has and retries; no call to its plugins depends on Redis. One host at a
 * time (a Redis lock) moves rollouts on with {@link decideRollout}.
 *
 * @param options - `hostId`, `target` and the connection; see {@link JoinFleetOptions}.
 * @returns The {@link FleetHost}; it keeps trying when Redis is down at start.
 * @throws {@link FleetError} `INVALID_OPTIONS` for a bad host id or interval.
 * @example
 * ```ts
 * const registry = createPluginRegistry()
 * const host = await joinFleet({ url: 'redis://127.0.0.1:6379', hostId: 'a', target: registryTarget(registry, { dir: './fleet' }) })
 * const result = await registry.get('greeter').call('greet', 'bob').then((r) => (host.record('greeter', true), r))
 * ```
 */
export function joinFleet(options: JoinFleetOptions): Promise<FleetHost> {
  checkHostId(options.hostId)
  const heartbeatMs = options.heartbeatMs ?? 250
  const reconcileMs = options.reconcileMs ?? 1000
  if (!(heartbeatMs > 0) || !(reconcileMs > 0)) throw new FleetError('INVALID_OPTIONS', 'heartbeatMs and reconcileMs must be positive numbers of milliseconds')
  if (typeof options.target?.apply !== 'function') throw new FleetError('INVALID_OPTIONS', 'target must have an apply(artifact) method (for example registryTarget(registry, { dir }))')
  const host = new Host(options, heartbeatMs, reconcileMs)
  host.start()
  return Promise.resolve(host)
}

class Host implements FleetHost {
  readonly hostId: string
  readonly #options: JoinFleetOptions
  readonly #store: FleetStore
  readonly #reader: Redis
  readonly #heartbeatMs: number
  readonly #reconcileMs: number
  readonly #token = randomUUID()
  readonly #serving = new Map<string, VersionRef>()
  readonly #rejected = new Map<string, Map<string, string>>()
  readonly #windows = new Map<string, HealthWindow>()
  readonly #windowMs = new Map<string, number>()
  readonly #listeners = new Set<(event: FleetEvent) => void>()
  readonly #timers: Subscription[] = []
  readonly #scheduler: SchedulerLike
  #closed = false
  #coordinator = false
  #reconciling: Promise<void> | undefined
  #again = false
  /** Plugin ids whose target was asked what it serves (once per id, at the first reconcile). */
  readonly #checked = new Set<string>()
  #lastId = '$'
  #joined = false

  constructor(options: JoinFleetOptions, heartbeatMs: number, reconcileMs: number) {
    this.hostId = options.hostId
    this.#options = options
    this.#store = new FleetStore(options)
    this.#reader = this.#store.blocking()
    this.#heartbeatMs = heartbeatMs
    this.#reconcileMs = reconcileMs
    this.#scheduler = options.scheduler ?? asyncScheduler
  }

  #now(): number {
    return this.#scheduler.now()
  }

  start(): void {
    const every = (ms: number, work: () => Promise<void>): void => {
      this.#timers.push(timer(ms, ms, this.#scheduler).subscribe(() => void work()))
    }
    every(this.#heartbeatMs, () => this.#heartbeat())
    every(this.#reconcileMs, () => this.#reconcile())
    if (this.#options.coordinate !== false) every(Math.max(50, Math.floor(this.#heartbeatMs / 2)), () => this.#coordinate())
    this.#store.client.on('ready', () => {
      this.#log('info', `connected to the fleet's Redis`)
      void this.#heartbeat().then(() => this.#reconcile())
    })
    void this.#readEvents()
  }

  record(id: string, ok: boolean): void {
    const window = this.#windows.get(id)
    if (window !== undefined) window.add(ok, this.#now())
  }

  status(): FleetHostLocalStatus {
    return {
      hostId: this.hostId,
      connected: this.#store.client.status === 'ready',
      coordinator: this.#coordinator,
      serving: Object.fromEntries(this.#serving),
      rejected: Object.fromEntries([...this.#rejected].map(([id, map]) => [id, Object.fromEntries(map)])),
    }
  }

  on(listener: (event: FleetEvent) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const subscription of this.#timers) subscription.unsubscribe()
    await this.#reconciling?.catch(() => undefined)
    if (this.#coordinator) await this.#store.release('coordinator', this.#token).catch(() => undefined)
    this.#reader.disconnect()
    await this.#store.close()
  }

  async #readEvents(): Promise<void> {
    while (!this.#closed) {
      try {
        if (this.#reader.status !== 'ready') {
          await delay(100)
          continue
        }
        const reply = await this.#reader.xread('BLOCK', 1000, 'STREAMS', this.#store.key('events'), this.#lastId)
        if (reply === null) continue
        let wake = false
        for (const [, entries] of reply) {
          for (const [entryId, fields] of entries) {
            this.#lastId = entryId
            const event = parseEvent(fields)
            if (event === undefined) continue
            this.#emit(event)
            if (event.hostId !== this.hostId || event.type !== 'applied') wake = true
          }
        }
        if (wake) void this.#reconcile()
      } catch {
        if (!this.#closed) await delay(200) // Redis away; the reader reconnects by itself
      }
    }
  }

  #reconcile(): Promise<void> {
    if (this.#closed) return Promise.resolve()
    if (this.#reconciling !== undefined) {
      this.#again = true
      return this.#reconciling
    }
    const run = async (): Promise<void> => {
      do {
        this.#again = false
        await this.#reconcileOnce().catch((error: unknown) => this.#log('warn', `reconcile: ${(error as Error).message}`))
      } while (this.#again && !this.#closed)
    }
    this.#reconciling = run().finally(() => (this.#reconciling = undefined))
    return this.#reconciling
  }

  async #reconcileOnce(): Promise<void> {
    if (this.#store.client.status !== 'ready') return
    if (!this.#joined) {
      await this.#store.appendEvent({ type: 'hostJoined', id: '*', hostId: this.hostId, at: this.#now() })
      this.#joined = true
    }
    for (const id of await this.#store.pluginIds()) {
      if (this.#closed) return
      const record = await this.#store.getRollout(id)
      if (record === undefined) continue
      this.#windowMs.set(id, record.windowMs)
      const want = desiredFor(record, this.hostId)
      if (want === undefined) {
        await this.#remove(id, record)
        continue
      }
      if (want.hash === this.#serving.get(id)?.hash) continue
      if (this.#rejected.get(id)?.has(want.hash) === true) continue
      if (await this.#alreadyServes(id, want)) continue
      await this.#apply(id, want)
    }
  }

  /** Whether the target serves `want` already (a restart with it on disk): then it is not applied again. */
  async #alreadyServes(id: string, want: VersionRef): Promise<boolean> {
    if (this.#serving.has(id) || this.#checked.has(id) || this.#options.target.current === undefined) return false
    this.#checked.add(id)
    const hash = await this.#options.target.current(id).catch(() => undefined)
    if (hash !== want.hash) return false
    this.#serving.set(id, want)
    this.#windows.set(id, new HealthWindow(this.#windowMs.get(id) ?? 2000))
    this.#log('info', `serves ${id} ${want.version} (${want.hash}) already (it was there at start)`)
    await this.#heartbeat()
    return true
  }

  /** The fleet wants no version of `id` (a first version rolled back): take it out of service. */
  async #remove(id: string, record: RolloutRecord): Promise<void> {
    const target = this.#options.target
    let current = this.#serving.get(id)?.hash
    if (current === undefined) {
      // Only at the first look after a start: the target may still serve the version from disk.
      if (this.#checked.has(id)) return
      this.#checked.add(id)
      current = await this.#options.target.current?.(id).catch(() => undefined)
      if (current !== record.target.hash) return // it does not serve the rolled-back version
    }
    const version = this.#serving.get(id)?.version ?? record.target.version
    const reason = `${id} ${version} was its first published version and is rolled back (${record.reason ?? 'no reason given'}); there is no earlier version to go back to`
    if (target.remove === undefined) {
      if (!this.#serving.has(id)) return
      this.#serving.delete(id)
      this.#log('warn', `${reason}; this host's target cannot remove a plugin, so it keeps serving ${version}`)
      await this.#store.appendEvent({ type: 'removeFailed', id, hash: current, version, hostId: this.hostId, reason: `${reason}; the target has no remove()`, at: this.#now() }).catch(() => undefined)
      return
    }
    try {
      await target.remove(id)
    } catch (error) {
      this.#serving.delete(id)
      this.#log('warn', `${reason}; removing it failed: ${(error as Error).message}`)
      await this.#store.appendEvent({ type: 'removeFailed', id, hash: current, version, hostId: this.hostId, reason: `removing it failed: ${(error as Error).message}`, at: this.#now() }).catch(() => undefined)
      return
    }
    this.#serving.delete(id)
    this.#windows.delete(id)
    this.#log('info', `removed ${id}: ${reason}`)
    await this.#heartbeat()
    await this.#store.appendEvent({ type: 'removed', id, hash: current, version, hostId: this.hostId, reason, at: this.#now() }).catch(() => undefined)
  }

  async #apply(id: string, want: VersionRef): Promise<void> {
    let artifact: FleetArtifact | undefined
    try {
      artifact = await this.#store.getArtifact(id, want.hash)
      if (artifact === undefined) throw new FleetError('NOT_FOUND', `the artifact ${id}@${want.hash} is not in Redis (it was never stored or was removed)`)
      verifyFleetArtifact(artifact, want.hash)
    } catch (error) {
      if (error instanceof FleetError && error.code === 'UNAVAILABLE') throw error
      return this.#reject(id, want, 'artifactRefused', (error as Error).message)
    }
    try {
      await this.#options.target.apply(artifact)
    } catch (error) {
      return this.#reject(id, want, 'applyFailed', `apply failed: ${(error as Error).message}`)
    }
    this.#serving.set(id, want)
    this.#windows.set(id, new HealthWindow(this.#windowMs.get(id) ?? 2000))
    this.#log('info', `serves ${id} ${want.version} (${want.hash})`)
    await this.#heartbeat()
    await this.#store.appendEvent({ type: 'applied', id, hash: want.hash, version: want.version, hostId: this.hostId, at: this.#now() }).catch(() => undefined)
    const check = this.#options.check
    if (check !== undefined) {
      const passed = await Promise.resolve().then(() => check(artifact)).catch((error: unknown) => String(error))
      if (passed !== true) this.#reject(id, want, 'applyFailed', `health check failed${passed === false ? '' : `: ${String(passed)}`}`)
    }
  }

  #reject(id: string, want: VersionRef, type: 'artifactRefused' | 'applyFailed', reason: string): void {
    const map = this.#rejected.get(id) ?? new Map<string, string>()
    map.set(want.hash, reason)
    while (map.size > 20) map.delete(map.keys().next().value!)
    this.#rejected.set(id, map)
    this.#log('warn', `${type} ${id} ${want.version} (${want.hash}): ${reason}`)
    void this.#heartbeat()
    void this.#store.appendEvent({ type, id, hash: want.hash, version: want.version, hostId: this.hostId, reason, at: this.#now() }).catch(() => undefined)
  }

  async #heartbeat(): Promise<void> {
    if (this.#closed || this.#store.client.status !== 'ready') return
    const now = this.#now()
    const plugins: Record<string, HostPluginReport> = {}
    const ids = new Set([...this.#serving.keys(), ...this.#rejected.keys()])
    for (const id of ids) {
      const serving = this.#serving.get(id)
      const counts = this.#windows.get(id)?.counts(now) ?? { calls: 0, errors: 0 }
      plugins[id] = { hash: serving?.hash, version: serving?.version, ...counts, rejected: Object.fromEntries(this.#rejected.get(id) ?? []) }
    }
    await this.#store.report({ hostId: this.hostId, at: now, plugins }, this.#heartbeatMs * 6).catch(() => undefined)
  }

  async #coordinate(): Promise<void> {
    if (this.#closed || this.#store.client.status !== 'ready') return
    try {
      this.#coordinator = await this.#store.hold('coordinator', this.#token, this.#heartbeatMs * 6)
      if (!this.#coordinator) return
      const { live } = await this.#store.liveHosts()
      for (const id of await this.#store.pluginIds()) {
        const record: RolloutRecord | undefined = await this.#store.getRollout(id)
        if (record === undefined) continue
        const step = decideRollout(record, live, this.#now())
        if (step === undefined) continue
        if (await this.#store.casRollout(record.rev, step.next, step.event)) this.#log('info', `rollout ${id}: ${step.event.type} ${step.event.reason ?? ''}`)
      }
    } catch {
      // Redis away: the next tick tries again; nothing changed meanwhile.
    }
  }

  #emit(event: FleetEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event)
      } catch {
        // A listener's failure is its own.
      }
    }
  }

  #log(level: 'info' | 'warn', message: string): void {
    this.#options.logger?.[level](`fleet host ${this.hostId}: ${message}`)
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
