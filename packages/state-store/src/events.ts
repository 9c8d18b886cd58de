import type { AdapterEvent } from './adapter.js'
import type { StateSnapshot } from './snapshot.js'

/** A snapshot was saved and is now its plugin's current one. */
export interface SavedEvent {
  /** Always `'saved'`. */
  readonly type: 'saved'
  /** The plugin. */
  readonly pluginId: string
  /** The snapshot as stored. */
  readonly snapshot: StateSnapshot
}

/** A rollback discarded the current snapshot and made the previous one current. */
export interface RolledBackEvent {
  /** Always `'rolled-back'`. */
  readonly type: 'rolled-back'
  /** The plugin. */
  readonly pluginId: string
  /** The snapshot that is current now. */
  readonly snapshot: StateSnapshot
  /** The snapshot that was current before and has been discarded. */
  readonly discarded: StateSnapshot
}

/** Every snapshot of a plugin was discarded (`clear` or `clearAll`). */
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
 */
export type StateStoreEvent = AdapterEvent | SavedEvent | RolledBackEvent | ClearedEvent

/** The `type` values of {@link StateStoreEvent}. */
export type StateStoreEventType = StateStoreEvent['type']

/** A listener of one event type, as passed to `store.on(type, listener)`. */
export type StateStoreListener<K extends StateStoreEventType> = (event: Extract<StateStoreEvent, { readonly type: K }>) => void
