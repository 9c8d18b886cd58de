import type { ConfigChangedEvent, EmittedEvent } from './contract-events.js'
import type { RegistryError } from './errors.js'

/** How long each step of a reload took, in milliseconds. */
export interface ReloadPhases {
  /** Read, hash, load and validate the new version (and set it up when there is no live state to move). */
  readonly prepareMs: number
  /** Gate closed; wait for the old version's calls in flight. */
  readonly drainMs: number
  /** `saveState()` of the old, store the snapshot, `setup(ctx.state)` of the new. */
  readonly stateMs: number
  /** Point the handle at the new version and open the gate. */
  readonly switchMs: number
}

/** Where a load, reload or the running plugin failed. */
export type FailurePhase = 'prepare' | 'drain' | 'state' | 'switch' | 'runtime' | 'rollback' | 'unload'

/** Fields every event has. */
export interface EventBase {
  /** When it happened: the registry's `scheduler.now()` (ms since the epoch by default). */
  readonly at: number
}

/** A load started. */
export interface LoadingEvent extends EventBase {
  /** Discriminant. */
  readonly type: 'loading'
  /** The plugin's file or directory. */
  readonly path: string
}

/** A plugin loaded and serves calls. */
export interface LoadedEvent extends EventBase {
  /** Discriminant. */
  readonly type: 'loaded'
  /** The plugin id. */
  readonly id: string
  /** The version now serving. */
  readonly version: string
  /** The plugin's file or directory. */
  readonly path: string
  /** Content hash of the loaded version. */
  readonly hash: string
  /** Name of the loader that holds it. */
  readonly loader: string
  /** Time from `load()` to serving. */
  readonly durationMs: number
}

/** A reload started. */
export interface ReloadingEvent extends EventBase {
  /** Discriminant. */
  readonly type: 'reloading'
  /** The plugin id. */
  readonly id: string
  /** The version serving now. */
  readonly from: string | undefined
  /** The plugin's file or directory. */
  readonly path: string
}

/** A reload switched to the new version. */
export interface ReloadedEvent extends EventBase {
  /** Discriminant. */
  readonly type: 'reloaded'
  /** The plugin id. */
  readonly id: string
  /** The version replaced. */
  readonly from: string | undefined
  /** The version now serving. */
  readonly to: string
  /** Content hash of the new version. */
  readonly hash: string
  /** Name of the loader of the new version. */
  readonly loader: string
  /** How long each step took. */
  readonly phases: ReloadPhases
  /** Calls cancelled with `DrainTimeoutError`. */
  readonly cancelledCalls: number
}

/** A load, a reload or a running version failed. */
export interface FailedEvent extends EventBase {
  /** Discriminant. */
  readonly type: 'failed'
  /** The plugin id, when known. */
  readonly id: string | undefined
  /** The plugin's file or directory. */
  readonly path: string
  /** Where it failed. */
  readonly phase: FailurePhase
  /** What went wrong. */
  readonly error: RegistryError
  /** The version still serving calls, if any. */
  readonly serving: string | undefined
  /** The version that was tried, when its module got as far as naming one (not for a syntax error or a missing file). */
  readonly attempted?: string | undefined
}

/**
 * A version ended without handing over its state (its worker crashed, was terminated after a
 * call timed out, or broke the protocol), and the next version started from the last stored
 * snapshot (or without state): what the old version held since that snapshot is lost.
 */
export interface StateLostEvent extends EventBase {
  /** Discriminant. */
  readonly type: 'stateLost'
  /** The plugin id. */
  readonly id: string
  /** The version whose in-memory state was lost. */
  readonly version: string
  /** Why it ended. */
  readonly reason: string
  /** The snapshot the new version started from, or `undefined` when it started without state. */
  readonly restoredFrom:
    | {
        /** The version that saved that snapshot. */
        readonly version: string
        /** When it was saved (ms since the epoch). */
        readonly timestamp: number
      }
    | undefined
}

/** `rollback()` switched back to the previous version. */
export interface RolledBackEvent extends EventBase {
  /** Discriminant. */
  readonly type: 'rolledBack'
  /** The plugin id. */
  readonly id: string
  /** The version left. */
  readonly from: string | undefined
  /** The version now serving. */
  readonly to: string
}

/** A plugin was unloaded. */
export interface UnloadedEvent extends EventBase {
  /** Discriminant. */
  readonly type: 'unloaded'
  /** The plugin id. */
  readonly id: string
  /** The version that was serving. */
  readonly version: string | undefined
}

/** A log line of a plugin (`ctx.log`) or of a loader. */
export interface LogEvent extends EventBase {
  /** Discriminant. */
  readonly type: 'log'
  /** The plugin id, when known. */
  readonly id: string | undefined
  /** Severity. */
  readonly level: 'debug' | 'info' | 'warn' | 'error'
  /** The text. */
  readonly message: string
}

/**
 * A version whose worker was lost to another plugin (a pool co-tenant stuck, crashed or out of
 * heap) serves again: it was restored on a healthy worker from the last stored snapshot (a
 * `reloading`/`reloaded` pair, and `stateLost` when it keeps state, come before this event).
 */
export interface RestoredEvent extends EventBase {
  /** Discriminant. */
  readonly type: 'restored'
  /** The plugin id. */
  readonly id: string
  /** The version serving again. */
  readonly version: string
  /** The loader it runs in now. */
  readonly loader: string
  /** What ended its worker. */
  readonly reason: string
  /** From the loss to serving again, in ms. */
  readonly durationMs: number
}

/** A loader measured the heap of a version (the pool loader: each realm, every `memoryIntervalMs`). */
export interface MemorySampledEvent extends EventBase {
  /** Discriminant. */
  readonly type: 'memorySampled'
  /** The plugin id. */
  readonly id: string
  /** The version measured. */
  readonly version: string
  /** Its JS heap in bytes. */
  readonly heapBytes: number
}

/** A version's heap grew at every one of its last samples: it probably leaks. */
export interface MemoryLeakSuspectedEvent extends EventBase {
  /** Discriminant. */
  readonly type: 'memoryLeakSuspected'
  /** The plugin id. */
  readonly id: string
  /** The version that keeps growing. */
  readonly version: string
  /** Its JS heap now, in bytes. */
  readonly heapBytes: number
  /** Bytes gained across those samples. */
  readonly growthBytes: number
  /** How many samples in a row grew. */
  readonly samples: number
  /** When the first of them was taken (ms since the epoch). */
  readonly since: number
}

/** Everything the registry reports, as one stream (see `events$`); switch on `type`. */
export type RegistryEvent =
  | EmittedEvent
  | ConfigChangedEvent
  | LoadingEvent
  | LoadedEvent
  | ReloadingEvent
  | ReloadedEvent
  | FailedEvent
  | StateLostEvent
  | RolledBackEvent
  | UnloadedEvent
  | LogEvent
  | RestoredEvent
  | MemorySampledEvent
  | MemoryLeakSuspectedEvent
