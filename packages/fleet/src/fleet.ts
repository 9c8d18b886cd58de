import { asyncScheduler } from 'rxjs'
import type { SchedulerLike } from 'rxjs'
import { verifyFleetArtifact } from './artifact.js'
import type { FleetArtifact } from './artifact.js'
import { FleetError } from './errors.js'
import { checkPluginId, FleetStore } from './fleet-store.js'
import type { FleetConnectionOptions } from './fleet-store.js'
import { desiredFor } from './rollout.js'
import type { FleetEvent, HostReport, RolloutRecord } from './rollout.js'

/** How one version is rolled out: who goes first and what counts as healthy. */
export interface PublishOptions {
  /**
   * The canary group: a number of live hosts (the first by host id) or a list of host ids.
   * Default `0`: every host at once (still watched, and rolled back on errors).
   */
  readonly canary?: number | readonly string[]
  /** The health window. Default 2000 ms. */
  readonly windowMs?: number
  /** Roll back above this error rate of the new version's calls in the window. Default 0.05. */
  readonly maxErrorRate?: number
  /** Fewer calls than this in the window are not judged. Default 10. */
  readonly minCalls?: number
}

/** One host as {@link Fleet.status} shows it. */
export interface FleetHostStatus {
  /** The host id. */
  readonly hostId: string
  /** Whether its heartbeat is current. */
  readonly alive: boolean
  /** Its last report, when alive. */
  readonly report: HostReport | undefined
}

/** One plugin as {@link Fleet.status} shows it: the rollout and where each host is. */
export interface FleetPluginStatus {
  /** The plugin id. */
  readonly id: string
  /** Its rollout record. */
  readonly rollout: RolloutRecord
  /** Per live host: what it should serve and what it serves. */
  readonly hosts: readonly FleetPluginHost[]
}

/** Where one live host stands on one plugin. */
export interface FleetPluginHost {
  /** The host id. */
  readonly hostId: string
  /** The hash it should serve. */
  readonly desired: string | undefined
  /** The hash it serves. */
  readonly serving: string | undefined
  /** Whether those are the same. */
  readonly inSync: boolean
}

/** The whole fleet at one moment. */
export interface FleetStatus {
  /** Every plugin with a rollout. */
  readonly plugins: readonly FleetPluginStatus[]
  /** Every host that ever joined, alive or not. */
  readonly hosts: readonly FleetHostStatus[]
  /** The newest events, oldest first. */
  readonly events: readonly FleetEvent[]
}

/** Options of {@link connectFleet}. */
export interface ConnectFleetOptions extends FleetConnectionOptions {
  /** How long the first connection may take. Default 3000 ms. */
  readonly connectTimeoutMs?: number
  /** The clock of rollout and event times. Default `asyncScheduler` (wall-clock time, which hosts compare). */
  readonly scheduler?: SchedulerLike
}

/** A connection to a fleet for publishing and watching; see {@link connectFleet}. */
export interface Fleet {
  /**
   * Stores the artifact and makes it the desired version of its plugin: canaries first,
   * then every host once the canary is healthy.
   *
   * @throws {@link FleetError} `HASH_MISMATCH`, `INVALID_ARTIFACT`, `INVALID_OPTIONS`, `UNAVAILABLE`.
   */
  publish(artifact: FleetArtifact, options?: PublishOptions): Promise<RolloutRecord>
  /**
   * Sends every host of a plugin back to its stable version.
   *
   * @throws {@link FleetError} `NOT_FOUND` when the plugin has no rollout, `UNAVAILABLE`.
   */
  rollback(id: string, reason?: string): Promise<RolloutRecord>
  /**
   * Rollouts, hosts and recent events.
   *
   * @throws {@link FleetError} `UNAVAILABLE`.
   */
  status(options?: { readonly events?: number }): Promise<FleetStatus>
  /** Closes the connection. Idempotent. */
  close(): Promise<void>
}

/**
 * Connects to a fleet's Redis to publish versions, roll back and read the status. Hosts
 * join with {@link joinFleet}; any process (a CLI, a CI job) can publish.
 *
 * @param options - The Redis `url`, the fleet `namespace`, `commandTimeoutMs`,
 *   `connectTimeoutMs` (default 3000) for the first connection, and the `scheduler` whose clock
 *   stamps rollouts and events.
 * @returns A {@link Fleet}.
 * @throws {@link FleetError} `INVALID_OPTIONS`; `UNAVAILABLE` when Redis cannot be reached in time.
 * @example
 * ```ts
 * const fleet = await connectFleet({ url: 'redis://127.0.0.1:6379' })
 * await fleet.publish(await buildFleetArtifact('./plugins/greeter'), { canary: 1 })
 * console.log((await fleet.status()).plugins)
 * await fleet.close()
 * ```
 */
export async function connectFleet(options: ConnectFleetOptions = {}): Promise<Fleet> {
  const scheduler = options.scheduler ?? asyncScheduler
  const store = new FleetStore(options)
  try {
    await store.ready(options.connectTimeoutMs ?? 3000)
  } catch (error) {
    await store.close()
    throw error
  }
  let closed = false
  const open = (): void => {
    if (closed) throw new FleetError('CLOSED', 'this fleet connection is closed')
  }
  return {
    async publish(artifact, publishOptions = {}) {
      open()
      checkPluginId(artifact.id)
      verifyFleetArtifact(artifact)
      const policy = checkPolicy(publishOptions)
      await store.putArtifact(artifact)
      for (;;) {
        const current = await store.getRollout(artifact.id)
        const stable = current === undefined ? undefined : current.phase === 'done' ? current.target : current.stable
        const canary = typeof policy.canary === 'number'
          ? (await store.liveHosts()).live.map((h) => h.hostId).sort().slice(0, policy.canary)
          : [...policy.canary]
        const now = scheduler.now()
        const target = { hash: artifact.hash, version: artifact.version }
        const record: RolloutRecord = {
          id: artifact.id,
          rev: (current?.rev ?? 0) + 1,
          target,
          stable: stable?.hash === target.hash ? current?.stable : stable,
          phase: canary.length > 0 ? 'canary' : 'promoting',
          canary,
          windowMs: policy.windowMs,
          maxErrorRate: policy.maxErrorRate,
          minCalls: policy.minCalls,
          startedAt: now,
          phaseAt: now,
        }
        const event: FleetEvent = {
          type: 'published', id: artifact.id, hash: artifact.hash, version: artifact.version, at: now,
          reason: canary.length > 0 ? `canary ${canary.join(', ')} first` : 'to every host',
        }
        if (await store.casRollout(current?.rev ?? 0, record, event)) return record
      }
    },
    async rollback(id, reason = 'rolled back by request') {
      open()
      checkPluginId(id)
      for (;;) {
        const current = await store.getRollout(id)
        if (current === undefined) throw new FleetError('NOT_FOUND', `no rollout for plugin "${id}" in this fleet; publish it first`)
        if (current.phase === 'rolledBack') return current
        const now = scheduler.now()
        const next: RolloutRecord = { ...current, rev: current.rev + 1, phase: 'rolledBack', phaseAt: now, reason }
        const event: FleetEvent = { type: 'rolledBack', id, hash: current.target.hash, version: current.target.version, reason, at: now }
        if (await store.casRollout(current.rev, next, event)) return next
      }
    },
    async status(statusOptions = {}) {
      open()
      const [ids, { known, live }, events] = await Promise.all([store.pluginIds(), store.liveHosts(), store.recentEvents(statusOptions.events ?? 50)])
      const plugins: FleetPluginStatus[] = []
      for (const id of ids) {
        const rollout = await store.getRollout(id)
        if (rollout === undefined) continue
        plugins.push({
          id,
          rollout,
          hosts: live.map((report) => {
            const desired = desiredFor(rollout, report.hostId)?.hash
            const serving = report.plugins[id]?.hash
            return { hostId: report.hostId, desired, serving, inSync: desired === serving }
          }),
        })
      }
      const hosts = known.map((hostId) => {
        const report = live.find((r) => r.hostId === hostId)
        return { hostId, alive: report !== undefined, report }
      })
      return { plugins, hosts, events }
    },
    async close() {
      if (closed) return
      closed = true
      await store.close()
    },
  }
}

interface Policy {
  readonly canary: number | readonly string[]
  readonly windowMs: number
  readonly maxErrorRate: number
  readonly minCalls: number
}

function checkPolicy(options: PublishOptions): Policy {
  const canary = options.canary ?? 0
  if (typeof canary === 'number' ? !(Number.isInteger(canary) && canary >= 0) : !Array.isArray(canary) || canary.some((h) => typeof h !== 'string')) {
    throw new FleetError('INVALID_OPTIONS', `canary must be a whole number >= 0 or a list of host ids, got ${JSON.stringify(canary)}`)
  }
  const windowMs = options.windowMs ?? 2000
  if (!(windowMs > 0)) throw new FleetError('INVALID_OPTIONS', `windowMs must be a positive number, got ${String(windowMs)}`)
  const maxErrorRate = options.maxErrorRate ?? 0.05
  if (!(maxErrorRate >= 0 && maxErrorRate <= 1)) throw new FleetError('INVALID_OPTIONS', `maxErrorRate must be between 0 and 1, got ${String(maxErrorRate)}`)
  const minCalls = options.minCalls ?? 10
  if (!(Number.isInteger(minCalls) && minCalls >= 1)) throw new FleetError('INVALID_OPTIONS', `minCalls must be a whole number >= 1, got ${String(minCalls)}`)
  return { canary, windowMs, maxErrorRate, minCalls }
}
