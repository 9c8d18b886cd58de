import type { SkipReason } from './events.js'
import type { PluginChange } from './plugin-change.js'
import type { ReloadPolicy } from './policy.js'
import type { PluginSlot } from './slot.js'

/**
 * What a change means for a plugin, as {@link decide} says:
 * - `wait`: the policy holds it (OnSignal, Scheduled, Disabled): it is noted as pending;
 * - `build`: read and hash the inputs first, then decide again with the hash;
 * - `load` / `reload` / `unload`: do it (`resetBreaker`: new bytes or a trigger get a fresh chance);
 * - `rename`: the plugin's file or folder moved; it keeps serving from the new path;
 * - `skip`: nothing to do, and why.
 */
export type Decision =
  | {
      /** Hold the change as pending (the policy says not now). */
      readonly kind: 'wait'
      /** Why it waits. */
      readonly reason: 'policy'
    }
  | {
      /** Read and hash the inputs, then decide again with the hash. */
      readonly kind: 'build'
    }
  | {
      /** Load the plugin (it has no id yet), or reload it. */
      readonly kind: 'load' | 'reload'
      /** Whether the breaker starts afresh (new bytes or a forced trigger). */
      readonly resetBreaker: boolean
    }
  | {
      /** Unload the plugin: its path is gone or no plugin any more. */
      readonly kind: 'unload'
    }
  | {
      /** Keep the version serving and record its new path. */
      readonly kind: 'rename'
      /** The new path. */
      readonly to: string
    }
  | {
      /** Do nothing. */
      readonly kind: 'skip'
      /** Why. */
      readonly reason: SkipReason
    }

/** What the pipeline observed about a change before deciding: the files as they are now. */
export interface Observed {
  /** Whether the plugin's path (for a rename: its new path) is a plugin now. */
  readonly present: boolean
  /** The artifact's hash, once built. */
  readonly hash?: string | undefined
  /** The slot's `seq` when this change was routed; a newer one supersedes it. */
  readonly seq?: number | undefined
}

/**
 * Decides what a change means for a plugin slot: no I/O, no clock of its own (`now` is the
 * scheduler's time), so every branch is tested with plain values.
 *
 * Order: a rename of a loaded plugin is applied at once (the serving code does not change); a
 * path that is no plugin and never loaded is skipped whatever the policy; the policy holds ordinary changes unless the cause is `start`, `trigger`, `schedule` or
 * `enable`; a path that is no plugin unloads a loaded one; the content is built before it is
 * judged; a change overtaken by a newer one is superseded; same bytes as serving are
 * `unchanged`; bytes that failed deterministically are not tried again (`alreadyFailed`);
 * bytes that failed transiently wait for the breaker's trial time (`circuitOpen`).
 *
 * @param slot - the plugin's record
 * @param change - the change, with what was observed on disk
 * @param policy - the policy in force
 * @param now - the scheduler's time, in ms
 * @returns the decision
 * @example
 * ```ts
 * decide(slot, { ...change, present: true, hash: 'a1b2c3d4e5f60718' }, Policy.OnChange, scheduler.now())
 * // { kind: 'reload', resetBreaker: true }
 * ```
 */
export function decide(slot: PluginSlot, change: PluginChange & Observed, policy: ReloadPolicy, now: number): Decision {
  if (change.kind === 'renamed' && change.to !== undefined && slot.id !== undefined && change.present) return { kind: 'rename', to: change.to }
  // Nothing to hold for a path that is no plugin and never loaded (an editor's temp file).
  if (!change.present && slot.id === undefined) return { kind: 'skip', reason: 'notAPlugin' }
  if (!policyApplies(policy, change)) return { kind: 'wait', reason: 'policy' }
  if (change.seq !== undefined && change.seq < slot.seq) return { kind: 'skip', reason: 'superseded' }
  if (!change.present || change.kind === 'renamed') return slot.id === undefined ? { kind: 'skip', reason: 'notAPlugin' } : { kind: 'unload' }
  if (change.hash === undefined) return { kind: 'build' }
  const force = change.force === true
  if (!force && slot.id !== undefined && slot.alive && change.hash === slot.liveHash) return { kind: 'skip', reason: 'unchanged' }
  const sameFailure = change.hash === slot.failedHash
  if (!force && sameFailure) {
    if (slot.failedDeterministic) return { kind: 'skip', reason: 'alreadyFailed' }
    if (slot.breaker.state === 'open' && slot.breaker.trialAt !== undefined && now < slot.breaker.trialAt) return { kind: 'skip', reason: 'circuitOpen' }
  }
  const resetBreaker = force || !sameFailure
  return slot.id === undefined ? { kind: 'load', resetBreaker } : { kind: 'reload', resetBreaker }
}

/** Whether the policy lets a change through now (else it waits as pending). */
function policyApplies(policy: ReloadPolicy, change: PluginChange): boolean {
  switch (change.cause) {
    case 'start':
    case 'trigger':
    case 'enable':
      return true
    case 'schedule':
      return policy.kind === 'Scheduled'
    default:
      return policy.kind === 'OnChange'
  }
}
