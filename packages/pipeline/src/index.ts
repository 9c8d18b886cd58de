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
export type { ReloadPolicy } from './policy.js'
export type { PipelineEvent, ReloadAction, ReloadCause, ReloadResult, ReloadTimings, SkipReason } from './events.js'
export type { ReloadMetrics } from './metrics.js'
export type { PluginChangeKind } from './plugin-change.js'
export { PLUGIN_EXTENSIONS } from './plugin-layout.js'
export { PipelineError } from './errors.js'
export type { PipelineErrorCode } from './errors.js'
