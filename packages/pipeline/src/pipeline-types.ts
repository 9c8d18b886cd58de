import type { Observable } from 'rxjs'
import type { CircuitState } from '@hotswap/operators'
import type { PluginRegistry, PluginStatus } from '@hotswap/registry'
import type { FileChange } from '@hotswap/watcher'
import type { PipelineEvent, ReloadResult } from './events.js'
import type { ReloadMetrics } from './metrics.js'
import type { ReloadPolicy } from './policy.js'

/** A plugin as the pipeline sees it. */
export interface PipelinePluginStatus {
  /** The plugin's file or directory, absolute. */
  readonly path: string
  /** The registry's status, when it is loaded. */
  readonly plugin: PluginStatus | undefined
  /** Changes noted but not applied (the policy holds them). */
  readonly pending: readonly FileChange[] | undefined
  /** The state of its circuit breaker. */
  readonly breaker: CircuitState
  /** The last failure of a load or reload, until one succeeds. */
  readonly lastError: Error | undefined
  /** Every local file its last artifact read (what a change reloads it for). */
  readonly inputs: readonly string[]
  /** Its reload counters and durations. */
  readonly metrics: ReloadMetrics
}

/** What {@link ReloadPipeline.status} returns. */
export interface PipelineStatus {
  /** Whether changes are applied (per policy): false while the policy is `Disabled`. */
  readonly enabled: boolean
  /** The policy in force. */
  readonly policy: ReloadPolicy
  /** The watched plugin directories (absolute). */
  readonly dirs: readonly string[]
  /** Every plugin: loaded, pending or failed. */
  readonly plugins: readonly PipelinePluginStatus[]
  /** All plugins together. */
  readonly totals: ReloadMetrics
  /** The last reload of any plugin. */
  readonly lastReload: ReloadResult | undefined
}

/** A running reload pipeline. */
export interface ReloadPipeline {
  /** Resolves once every plugin that existed at start was loaded (or failed to). */
  readonly ready: Promise<void>
  /** Every event: reloads with their explanation, pending changes, skips, retries, registry events. The one way to be told. */
  readonly events$: Observable<PipelineEvent>
  /** The registry, for handles: `pipeline.registry.get('greeter').call('greet', 'bob')`. */
  readonly registry: PluginRegistry
  /** A snapshot of the pipeline and its plugins. */
  status(): PipelineStatus
  /** Back to the policy `disable()` set aside; pending changes are applied when it is OnChange. */
  enable(): void
  /** Switches to the `Disabled` policy (changes are noted as pending), keeping the policy for `enable()`. */
  disable(): void
  /** Changes the policy (`Disabled` is `disable()`); pending changes are applied when it becomes OnChange. */
  setPolicy(policy: ReloadPolicy): void
  /** Applies pending changes now: of one plugin (by id or path), or of all; forces a reload of a named plugin with none pending. */
  trigger(idOrPath?: string): Promise<void>
  /** Switches a plugin back to its previous version. */
  rollback(id: string): Promise<PluginStatus>
  /** Stops watching, finishes or cancels reloads, saves every plugin's state. */
  close(): Promise<void>
}
