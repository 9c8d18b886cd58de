export { createReloadPipeline } from './pipeline.js'
export type {
  BreakerOptions,
  DebounceOptions,
  PipelineHooks,
  PipelinePluginStatus,
  PipelineStatus,
  ReloadPipeline,
  ReloadPipelineOptions,
  RetryOptions,
} from './pipeline.js'
export { Policy } from './policy.js'
export type { DisabledPolicy, OnChangePolicy, OnSignalPolicy, PolicyShorthands, ReloadPolicy, ScheduledPolicy } from './policy.js'
export type {
  ClosedEvent,
  PendingEvent,
  PipelineEvent,
  PolicyEvent,
  ReadyEvent,
  ReconcileEvent,
  RegistryPassthroughEvent,
  ReloadAction,
  ReloadCause,
  ReloadResult,
  ReloadTimings,
  RenamedEvent,
  RetryEvent,
  SkippedEvent,
  SkipReason,
  WatcherErrorEvent,
} from './events.js'
export type { ReloadMetrics } from './metrics.js'
export type { PluginChange, PluginChangeKind } from './plugin-change.js'
export { PLUGIN_EXTENSIONS } from './plugin-layout.js'
export { PipelineError } from './errors.js'
export type { PipelineErrorCode } from './errors.js'
