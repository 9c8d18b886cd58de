/** Where a rollout stands. */
export type RolloutPhase = 'canary' | 'promoting' | 'done' | 'rolledBack'

/** A version of a plugin, by its artifact hash. */
export interface VersionRef {
  /** The artifact's FNV-1a 64 hash. */
  readonly hash: string
  /** The manifest version, for people. */
  readonly version: string
}

/**
 * The desired state of one plugin across the fleet, as stored in Redis: the version being
 * rolled out, the one to go back to, and how far it got. Hosts derive what they should serve
 * from it ({@link desiredFor}); the coordinator moves it on ({@link decideRollout}).
 */
export interface RolloutRecord {
  /** The plugin id. */
  readonly id: string
  /** Bumped on every change (compare-and-set). */
  readonly rev: number
  /** The version being rolled out. */
  readonly target: VersionRef
  /** The last version that completed a rollout: where a rollback goes. */
  readonly stable: VersionRef | undefined
  /** Where the rollout stands. */
  readonly phase: RolloutPhase
  /** The canary hosts, served `target` first. Empty: every host at once. */
  readonly canary: readonly string[]
  /** The health window: error rates are counted over this much of the newest calls. */
  readonly windowMs: number
  /** The error rate above which the new version is rolled back (0..1). */
  readonly maxErrorRate: number
  /** Fewer calls than this in the window say nothing about health. */
  readonly minCalls: number
  /** When the rollout was published (ms since epoch). */
  readonly startedAt: number
  /** When `phase` last changed. */
  readonly phaseAt: number
  /** When every live canary host first served `target`. */
  readonly canaryServingAt?: number | undefined
  /** Why it was rolled back. */
  readonly reason?: string | undefined
}

/** What one host reports about one plugin in its heartbeat. */
export interface HostPluginReport {
  /** The hash it serves, `undefined` when it serves none. */
  readonly hash: string | undefined
  /** The version it serves. */
  readonly version: string | undefined
  /** Calls of the serving hash in the newest `windowMs`. */
  readonly calls: number
  /** Failed calls among them. */
  readonly errors: number
  /** Hashes this host refused or failed to apply, and why (so the coordinator rolls back). */
  readonly rejected: Readonly<Record<string, string>>
}

/** One host's heartbeat: what it serves and how it goes. */
export interface HostReport {
  /** The host id. */
  readonly hostId: string
  /** When it was written (ms since epoch). */
  readonly at: number
  /** Per plugin id. */
  readonly plugins: Readonly<Record<string, HostPluginReport>>
}

/** The type of a {@link FleetEvent}. */
export type FleetEventType =
  | 'published'
  | 'applied'
  | 'applyFailed'
  | 'artifactRefused'
  | 'canaryServing'
  | 'promoted'
  | 'completed'
  | 'rolledBack'
  | 'removed'
  | 'removeFailed'
  | 'hostJoined'

/** One step of a rollout, as written to the fleet's event stream and seen in `status()`. */
export interface FleetEvent {
  /** What happened. */
  readonly type: FleetEventType
  /** The plugin id. */
  readonly id: string
  /** The artifact hash concerned. */
  readonly hash?: string | undefined
  /** Its version. */
  readonly version?: string | undefined
  /** The host concerned (for host events). */
  readonly hostId?: string | undefined
  /** Why (for failures and rollbacks). */
  readonly reason?: string | undefined
  /** When (ms since epoch). */
  readonly at: number
}

/**
 * The hash a host should serve for a plugin: canaries get the target first, the rest keep the
 * stable version until promotion; after a rollback everyone gets the stable version back.
 *
 * @param record - The plugin's rollout record.
 * @param hostId - The host asking.
 * @returns The version to serve, or `undefined` when there is none (a first version rolled back).
 * @example
 * ```ts
 * const want = desiredFor(record, 'host-a')
 * ```
 */
export function desiredFor(record: RolloutRecord, hostId: string): VersionRef | undefined {
  switch (record.phase) {
    case 'canary':
      return record.canary.includes(hostId) ? record.target : record.stable
    case 'promoting':
    case 'done':
      return record.target
    case 'rolledBack':
      return record.stable
  }
}

/** The result of {@link decideRollout}: the next record and the event that says why. */
export interface RolloutStep {
  /** The record to store (its `rev` already bumped). */
  readonly next: RolloutRecord
  /** The event to append. */
  readonly event: FleetEvent
}

/**
 * Decides the next step of a rollout from the live hosts' reports: pure, no I/O, no clock.
 *
 * A host that rejected the target (hash mismatch, failed load or check), or a window error
 * rate above `maxErrorRate` over at least `minCalls` calls of the target (summed over the
 * hosts serving it), rolls back, in any phase but `rolledBack`. Canary: once every live
 * canary serves the target and a whole window has passed healthy, it is promoted.
 * Promoting: once every live host serves it, it is done. Done: still watched.
 *
 * @param record - The plugin's rollout record.
 * @param hosts - Reports of the hosts that are alive now.
 * @param now - The current time (ms since epoch).
 * @returns The step to take, or `undefined` to wait.
 * @example
 * ```ts
 * const step = decideRollout(record, reports, scheduler.now())
 * if (step) await store(step.next, step.event)
 * ```
 */
export function decideRollout(record: RolloutRecord, hosts: readonly HostReport[], now: number): RolloutStep | undefined {
  if (record.phase === 'rolledBack') return undefined
  const { id, target } = record
  const step = (change: Partial<RolloutRecord>, event: Omit<FleetEvent, 'id' | 'at'>): RolloutStep => ({
    next: { ...record, ...change, rev: record.rev + 1, phaseAt: change.phase !== undefined ? now : record.phaseAt },
    event: { id, hash: target.hash, version: target.version, at: now, ...event },
  })
  for (const host of hosts) {
    const reason = host.plugins[id]?.rejected[target.hash]
    if (reason !== undefined) {
      return step({ phase: 'rolledBack', reason: `host ${host.hostId}: ${reason}` }, { type: 'rolledBack', hostId: host.hostId, reason: `host ${host.hostId}: ${reason}` })
    }
  }
  let calls = 0
  let errors = 0
  for (const host of hosts) {
    const report = host.plugins[id]
    if (report?.hash === target.hash) {
      calls += report.calls
      errors += report.errors
    }
  }
  if (calls >= record.minCalls && calls > 0 && errors / calls > record.maxErrorRate) {
    const reason = `error rate ${(errors / calls).toFixed(3)} (${errors} of ${calls} calls in ${record.windowMs} ms) is above ${record.maxErrorRate}`
    return step({ phase: 'rolledBack', reason }, { type: 'rolledBack', reason })
  }
  const serving = (hostId: string): boolean => hosts.find((h) => h.hostId === hostId)?.plugins[id]?.hash === target.hash
  if (record.phase === 'canary') {
    const live = record.canary.filter((hostId) => hosts.some((h) => h.hostId === hostId))
    if (live.length === 0 || !live.every(serving)) return undefined
    if (record.canaryServingAt === undefined) {
      return step({ canaryServingAt: now }, { type: 'canaryServing', reason: `canary ${live.join(', ')} serves it; watching ${record.windowMs} ms` })
    }
    if (now - record.canaryServingAt < record.windowMs) return undefined
    return step({ phase: 'promoting' }, { type: 'promoted', reason: `healthy on the canary: ${errors} errors in ${calls} calls` })
  }
  if (record.phase === 'promoting' && hosts.length > 0 && hosts.every((h) => serving(h.hostId))) {
    return step({ phase: 'done' }, { type: 'completed', reason: `served by ${hosts.map((h) => h.hostId).join(', ')}` })
  }
  return undefined
}
