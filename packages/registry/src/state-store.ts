import type { JsonObject, JsonValue } from './json.js'

/**
 * One saved state of one plugin version, the shape `@hotswap/state-store` keeps.
 */
export interface PluginStateSnapshot {
  /** The plugin id. */
  readonly pluginId: string
  /** The semver version that produced the state. */
  readonly pluginVersion: string
  /** The version of the snapshot's shape (the registry writes 1). */
  readonly schemaVersion: number
  /** When it was taken, in milliseconds since the epoch. */
  readonly timestamp: number
  /** What `saveState()` returned. */
  readonly data: JsonValue
  /** Facts about the snapshot: `reason`, `loader`, `hash`. */
  readonly metadata: JsonObject
}

/**
 * Where the registry keeps state snapshots. `@hotswap/state-store` fits it as is; without
 * one, the registry keeps the latest snapshot per plugin in memory.
 */
export interface RegistryStateStore {
  /** Saves a snapshot as the plugin's latest (what it resolves to is ignored). */
  save(snapshot: PluginStateSnapshot): Promise<unknown>
  /** The plugin's latest snapshot, if any. */
  latest(id: string): Promise<PluginStateSnapshot | undefined>
}

/**
 * A {@link RegistryStateStore} that keeps the latest snapshot per plugin in memory.
 *
 * @returns A new, empty store.
 * @throws never.
 * @example
 * ```ts
 * const registry = createPluginRegistry({ stateStore: memoryStateStore() })
 * ```
 */
export function memoryStateStore(): RegistryStateStore {
  const latest = new Map<string, PluginStateSnapshot>()
  return {
    save(snapshot) {
      latest.set(snapshot.pluginId, snapshot)
      return Promise.resolve()
    },
    latest(id) {
      return Promise.resolve(latest.get(id))
    },
  }
}
