import type { PluginStateSnapshot, RegistryStateStore } from '@hotswap/registry'
import { isStateStoreError, type StateStore } from '@hotswap/state-store'
import type { StateFallbackEvent } from './host-events.js'

/**
 * The host's state store as the registry sees it, with every fallback said out loud:
 * - a corrupt snapshot the store moved aside (it then serves the newest good one) is reported;
 * - a snapshot the store refuses (`UNSUPPORTED_VERSION`: written by a newer format) is reported,
 *   and from then on this process never saves that plugin's state on top of it (the plugin
 *   runs on what it has in memory; its state moves across reloads as usual), so what was
 *   refused stays on disk for a newer host to read.
 *
 * @param store - the host's state store
 * @param report - receives one event per fallback (the host journals it and prints its `message`)
 * @returns the store to hand to the pipeline, and `close()` that stops listening
 * @internal
 */
export function guardedStateStore(store: StateStore, report: (event: StateFallbackEvent) => void): { readonly store: RegistryStateStore; close(): void } {
  const refused = new Map<string, string>()
  const say = (type: StateFallbackEvent['type'], id: string, message: string, movedTo?: string): void => report({ type, id, message, ...(movedTo !== undefined ? { movedTo } : {}), at: Date.now() })
  const off = store.on('corrupt', (event) => {
    const where = event.movedTo === undefined ? 'it could not be moved aside' : `moved to ${event.movedTo}`
    say('stateCorrupt', event.pluginId, `state of ${event.pluginId}: a corrupt snapshot was skipped (${event.error.message}; ${where}); using the newest good one`, event.movedTo)
  })
  return {
    store: {
      async save(snapshot: PluginStateSnapshot): Promise<unknown> {
        const why = refused.get(snapshot.pluginId)
        if (why !== undefined) {
          say('stateNotSaved', snapshot.pluginId, `state of ${snapshot.pluginId} not saved: the stored snapshot was refused (${why}) and is kept as it is; move it away to let this host save again`)
          return undefined
        }
        return store.save(snapshot)
      },
      async latest(id: string): Promise<PluginStateSnapshot | undefined> {
        try {
          return await store.latest(id)
        } catch (error) {
          if (isStateStoreError(error) && error.code === 'UNSUPPORTED_VERSION') {
            refused.set(id, error.message)
            say('stateRefused', id, `state of ${id} refused: ${error.message}; the plugin starts without it and this host will not save over it`)
          } else {
            say('stateUnreadable', id, `state of ${id} unreadable: ${(error as Error).message}; the plugin starts without it`)
          }
          throw error
        }
      },
    },
    close: off,
  }
}
