import type { StateSnapshot } from '@hotswap/state-store'

/**
 * One saved state of one plugin version: `@hotswap/state-store`'s snapshot. The registry
 * writes `schemaVersion` 1 and puts `reason`, `loader` and `hash` in `metadata`.
 */
export type PluginStateSnapshot = StateSnapshot

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
