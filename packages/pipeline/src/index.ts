export { createReloadPipeline } from './pipeline.js'
export type { PipelinePluginStatus, PipelineStatus, ReloadPipeline } from './pipeline-types.js'
export { DEFAULT_SETTLE_MS } from './options.js'
export type { BreakerOptions, DebounceOptions, ReloadPipelineOptions, RetryOptions } from './options.js'
export { consoleWarnings } from './logger.js'
export type { PipelineLogger } from './logger.js'
export { decide } from './decide.js'
export type { Decision, Observed } from './decide.js'
export type { PluginSlot } from './slot.js'
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
export { PipelineError } from './errors.js'
export type { PipelineErrorCode } from './errors.js'
