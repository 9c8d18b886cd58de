import type { AdapterEvent } from './adapter.js'
import type { StateSnapshot } from './snapshot.js'

/**
 * A snapshot was saved and is now its plugin's current one.
 *
 * @example
 * ```ts
 * store.on('saved', ({ pluginId, snapshot }: SavedEvent) => console.log(`${pluginId}@${snapshot.pluginVersion} saved`))
 * ```
 */
export interface SavedEvent {
  /** Always `'saved'`. */
  readonly type: 'saved'
  /** The plugin. */
  readonly pluginId: string
  /** The snapshot as stored. */
  readonly snapshot: StateSnapshot
}

/**
 * A rollback discarded the current snapshot and made the previous one current.
 *
 * @example
 * ```ts
 * store.on('rolledBack', ({ pluginId, snapshot, discarded }: RolledBackEvent) =>
 *   console.log(`${pluginId}: back to ${snapshot.pluginVersion}, dropped ${discarded.pluginVersion}`))
 * ```
 */
export interface RolledBackEvent {
  /** Always `'rolledBack'`. */
  readonly type: 'rolledBack'
  /** The plugin. */
  readonly pluginId: string
  /** The snapshot that is current now. */
  readonly snapshot: StateSnapshot
  /** The snapshot that was current before and has been discarded. */
  readonly discarded: StateSnapshot
}

/**
 * Every snapshot of a plugin was discarded (`clear` or `clearAll`).
 *
 * @example
 * ```ts
 * store.on('cleared', ({ pluginId }: ClearedEvent) => console.log(`${pluginId}: history cleared`))
 * ```
 */
export interface ClearedEvent {
  /** Always `'cleared'`. */
  readonly type: 'cleared'
  /** The plugin. */
  readonly pluginId: string
}

/**
 * Everything a state store reports: its own operations ({@link SavedEvent},
 * {@link RolledBackEvent}, {@link ClearedEvent}) and what its adapter found
 * ({@link AdapterEvent}: corrupt snapshots, migrations, a stale lock taken over).
 *
 * @example
 * ```ts
 * const store = await createStateStore({
 *   adapter: memoryAdapter(),
 *   onEvent: (event: StateStoreEvent) => console.log(event.type, 'pluginId' in event ? event.pluginId : ''),
 * })
 * ```
 */
export type StateStoreEvent = AdapterEvent | SavedEvent | RolledBackEvent | ClearedEvent

/**
 * The `type` values of {@link StateStoreEvent}.
 *
 * @example
 * ```ts
 * const watched: StateStoreEventType[] = ['saved', 'rolledBack', 'corrupt']
 * for (const type of watched) store.on(type, (event) => console.log(event.type))
 * ```
 */
export type StateStoreEventType = StateStoreEvent['type']

/**
 * A listener of one event type, as passed to `store.on(type, listener)`.
 *
 * @example
 * ```ts
 * const onSaved: StateStoreListener<'saved'> = (event) => console.log(event.snapshot.timestamp)
 * const off = store.on('saved', onSaved)
 * off() // stop listening
 * ```
 */
export type StateStoreListener<K extends StateStoreEventType> = (event: Extract<StateStoreEvent, { readonly type: K }>) => void
