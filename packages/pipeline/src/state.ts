import { mkdir } from 'node:fs/promises'
import { resolve } from 'node:path'
import type { RegistryStateStore } from '@hotswap/registry'
import { createStateStore, fileAdapter, type StateStore } from '@hotswap/state-store'
import type { ReloadPipelineOptions } from './options.js'

/** The plugin state store the registry is given, and how to wait for and close the pipeline's own. @internal */
export interface OpenedStateStore {
  /** What the registry saves to: the caller's store, a file store in `stateDir`, or none (the registry's memory default). */
  readonly store: RegistryStateStore | undefined
  /** Resolves once the file store in `stateDir` is open (at once otherwise); rejects if it cannot be opened. */
  readonly ready: Promise<void>
  /** Closes the file store the pipeline opened (never the caller's). */
  close(): Promise<void>
}

/** Opens plugin state as the options say: `stateStore` as given, or a file store in `stateDir`. @internal */
export function openStateStore(options: ReloadPipelineOptions): OpenedStateStore {
  if (options.stateDir === undefined) return { store: options.stateStore, ready: Promise.resolve(), close: () => Promise.resolve() }
  const dir = resolve(options.stateDir)
  const opened = mkdir(dir, { recursive: true }).then(() => createStateStore({ adapter: fileAdapter({ dir }) }))
  const store: RegistryStateStore = {
    save: async (snapshot) => {
      await (await opened).save(snapshot)
    },
    latest: async (id) => (await opened).latest(id),
  }
  return {
    store,
    ready: opened.then(() => undefined),
    close: async () => {
      const own: StateStore | undefined = await opened.catch(() => undefined)
      await own?.close()
    },
  }
}
