export { createPluginRegistry } from './registry.js'
export type { CallSettled, PluginRegistry, PluginStatus, RegistryLogger, RegistryOptions } from './registry-types.js'
export { definePlugin, StateRejectedError, validatePluginIdentity } from './plugin.js'
export type { PluginContext, PluginDefinition, PluginLog } from './plugin.js'
export { RegistryError, DrainTimeoutError } from './errors.js'
export { CallAbortedError } from './call-aborted.js'
export type { CallOptions } from './call-aborted.js'
export type { RegistryErrorCode } from './errors.js'
export { WorkerLostError } from './worker-lost.js'
export { abandonedThreads } from './worker-end.js'
export type { LifecycleState } from './lifecycle.js'
export type {
  EventBase,
  FailedEvent,
  FailurePhase,
  LoadedEvent,
  LoadingEvent,
  LogEvent,
  MemoryLeakSuspectedEvent,
  MemorySampledEvent,
  RegistryEvent,
  ReloadedEvent,
  ReloadingEvent,
  ReloadPhases,
  RestoredEvent,
  RolledBackEvent,
  StateLostEvent,
  UnloadedEvent,
} from './events.js'
export type { AnyFunction, AsyncApi, MethodArgs, MethodName, MethodResult, PluginHandle, SignalledCalls, UnknownApi } from './handle.js'
export type { LoadedPlugin, Loader, LoaderLogEntry, MemoryReport, PrepareOptions, SetupInit, VersionMemory } from './loader.js'
export { buildArtifact, isPluginArtifact, readPluginSource, PLUGIN_EXTENSIONS } from './artifact.js'
export type { BuildArtifactOptions, PluginArtifact, PluginManifest, PluginSource } from './artifact.js'
export { failureKind } from './failure-kind.js'
export type { FailureKind } from './failure-kind.js'
export { loaderContract } from './loader-contract.js'
export type { LoaderContractCase, LoaderContractOptions, LoaderContractPlugin } from './loader-contract.js'
export { memoryStateStore } from './state-store.js'
export type { PluginStateSnapshot, RegistryStateStore } from './state-store.js'
export type { JsonObject, JsonPrimitive, JsonValue } from '@hotswap/state-store'
export { workerLoader } from './worker-loader.js'
export type { WorkerLoaderOptions } from './worker-loader.js'
export type { OutputBudget } from './worker-output.js'
export { poolLoader } from './pool-loader.js'
export type { PoolLoader, PoolLoaderOptions, PoolWorkerMeasure } from './pool-loader.js'
export type { LeakRule, LeakSuspicion } from './pool-memory.js'
export { isolationLoaders } from './isolation-loader.js'
export type { Isolation, IsolationLoadersOptions } from './isolation-loader.js'
export { inProcessLoader } from './in-process-loader.js'
export type { InProcessLoaderOptions } from './in-process-loader.js'
export { wasmLoader } from './wasm-loader.js'
export { ConfigInvalidError } from './config.js'
export type { ConfigCheck, ConfigIssue, HostService, PluginContractInfo, PluginHost } from './contract.js'
export type { ConfigChangedEvent, EmittedEvent, PluginEvent } from './contract-events.js'
export type { ConfigOf, DependencyHandle, PluginDependencies, PluginServices, ServiceClient, ServicesOf } from './plugin-context.js'
export type { RemoteResult, ServiceGrants } from './services.js'
export { DependencyError } from './dependencies.js'
