import type { JsonValue } from '@hotswap/state-store'

/** An event a plugin published with `ctx.emit(type, payload)`, on the registry's `events$`. */
export interface EmittedEvent {
  /** Discriminant. */
  readonly type: 'emitted'
  /** The plugin id. */
  readonly id: string
  /** The version that emitted it. */
  readonly version: string
  /** The plugin's event type (the first argument of `ctx.emit`). */
  readonly event: string
  /** The payload (JSON; `null` when none was given). */
  readonly payload: JsonValue
  /** When: the registry's `scheduler.now()` (ms since the epoch by default). */
  readonly at: number
}

/** A plugin's config changed (`registry.configure`) and the plugin reloaded with it. */
export interface ConfigChangedEvent {
  /** Discriminant. */
  readonly type: 'configChanged'
  /** The plugin id. */
  readonly id: string
  /** The version now serving with the new config. */
  readonly version: string
  /** When: the registry's `scheduler.now()` (ms since the epoch by default). */
  readonly at: number
}

/** An event of one plugin, on `handle.events$`. */
export interface PluginEvent {
  /** The plugin's event type. */
  readonly type: string
  /** The payload (JSON). */
  readonly payload: JsonValue
  /** The plugin id. */
  readonly id: string
  /** The version that emitted it. */
  readonly version: string
  /** When: the registry's `scheduler.now()` (ms since the epoch by default). */
  readonly at: number
}
