import type { StateStoreError } from './errors.js'
import type { StateSnapshot } from './snapshot.js'

/**
 * A stored snapshot failed its checks: it was moved aside and the next older one is used.
 *
 * @example
 * ```ts
 * store.on('corrupt', (event: CorruptEvent) => {
 *   console.warn(`${event.pluginId}: ${event.error.message}; kept as ${event.movedTo ?? '(not moved)'}`)
 * })
 * ```
 */
export interface CorruptEvent {
  /** Always `'corrupt'`. */
  readonly type: 'corrupt'
  /** The plugin whose snapshot was damaged. */
  readonly pluginId: string
  /** Where the bad snapshot was (a path, a key). */
  readonly location: string
  /** Where it was moved to, so it can be inspected; `undefined` if it could not be moved. */
  readonly movedTo: string | undefined
  /** The typed error, code `CORRUPT`, with what failed in its message and `cause`. */
  readonly error: StateStoreError
}

/**
 * A snapshot stored in an older format was read and rewritten in the current one.
 *
 * @example
 * ```ts
 * store.on('migrated', ({ pluginId, fromFormat, toFormat }: MigratedEvent) => console.log(`${pluginId}: format ${fromFormat} -> ${toFormat}`))
 * ```
 */
export interface MigratedEvent {
  /** Always `'migrated'`. */
  readonly type: 'migrated'
  /** The plugin whose snapshot was migrated. */
  readonly pluginId: string
  /** Where the snapshot is stored. */
  readonly location: string
  /** The format it was stored in. */
  readonly fromFormat: number
  /** The format it is stored in now. */
  readonly toFormat: number
}

/**
 * The storage lock of a process that is no longer running was taken over.
 *
 * @example
 * ```ts
 * const store = await createStateStore({
 *   adapter: fileAdapter({ dir: './state' }),
 *   onEvent: (event) => {
 *     if (event.type === 'lockTakenOver') console.warn(`took over ${event.location} from dead pid ${event.previousPid ?? '?'}`)
 *   },
 * })
 * ```
 */
export interface LockTakenOverEvent {
  /** Always `'lockTakenOver'`. */
  readonly type: 'lockTakenOver'
  /** The lock (for the file adapter, the path of `.lock`). */
  readonly location: string
  /** The pid written in the stale lock, `undefined` when the lock file was unreadable. */
  readonly previousPid: number | undefined
}

/**
 * What an adapter reports while it works: a file found corrupt and moved aside, a file of
 * an older format migrated on read, a stale lock of a dead process taken over.
 *
 * @example
 * ```ts
 * const log = (event: AdapterEvent): void => console.warn(event.type, event.location)
 * const store = await createStateStore({ adapter: fileAdapter({ dir: './state' }), onEvent: log })
 * ```
 */
export type AdapterEvent = CorruptEvent | MigratedEvent | LockTakenOverEvent

/**
 * Handed to {@link StateAdapter.open}: where the adapter sends its events.
 *
 * @example
 * ```ts
 * class MyAdapter implements StateAdapter {
 *   #context: AdapterContext | undefined
 *   async open(context: AdapterContext) {
 *     this.#context = context // later: this.#context.emit({ type: 'corrupt', ... })
 *   }
 *   // ...
 * }
 * ```
 */
export interface AdapterContext {
  /** Reports an event to the store (and from there to its listeners). Never throws. */
  readonly emit: (event: AdapterEvent) => void
}

/**
 * Where a state store keeps snapshots: the contract every backend implements (memory, file,
 * and later ones such as Redis). Each adapter must pass the contract suite in
 * `src/adapter-contract.ts`.
 *
 * Per plugin, an adapter keeps an ordered stack of snapshots, newest on top. The store
 * validates ids and snapshots before calling an adapter and serialises the calls for one
 * plugin id, so an adapter needs no per-id locking of its own; calls for different ids may
 * run concurrently. Methods called before `open` or after `close` reject with `CLOSED`.
 * Adapters must store copies: changing a snapshot after `put`, or a snapshot returned by
 * `list`, must not change what is stored.
 *
 * @example
 * ```ts
 * // a minimal adapter over a Map (memoryAdapter() is the real one)
 * const snapshots = new Map<string, StateSnapshot[]>()
 * const mapAdapter: StateAdapter = {
 *   name: 'map',
 *   async open() {},
 *   async put(snapshot, keep) {
 *     const list = [snapshot, ...(snapshots.get(snapshot.pluginId) ?? [])].slice(0, keep)
 *     snapshots.set(snapshot.pluginId, list)
 *   },
 *   async list(pluginId, limit) { return (snapshots.get(pluginId) ?? []).slice(0, limit) },
 *   async pop(pluginId) { return (snapshots.get(pluginId) ?? []).shift() !== undefined },
 *   async remove(pluginId) { snapshots.delete(pluginId) },
 *   async ids() { return [...snapshots.keys()].sort() },
 *   async close() {},
 * }
 * const store = await createStateStore({ adapter: mapAdapter })
 * ```
 */
export interface StateAdapter {
  /** A short name for messages, for example `'memory'` or `'file:/var/lib/app/state'`. */
  readonly name: string
  /**
   * Connects, takes any lock and loads indexes; called once by `createStateStore`.
   * Rejects with `LOCKED` when another owner holds the storage.
   */
  open(context: AdapterContext): Promise<void>
  /**
   * Stores `snapshot` as the newest of its plugin, then discards the oldest ones so that at
   * most `keep` (>= 1) remain. Resolves once the snapshot is durable for this backend.
   */
  put(snapshot: StateSnapshot, keep: number): Promise<void>
  /**
   * Up to `limit` snapshots of a plugin, newest first; `[]` when there are none. Unreadable
   * entries are reported as `corrupt` events, set aside and skipped; an entry of a newer
   * format rejects with `UNSUPPORTED_VERSION` and is left as it is.
   */
  list(pluginId: string, limit: number): Promise<StateSnapshot[]>
  /** Discards the newest readable snapshot of a plugin; resolves `false` when there was none. */
  pop(pluginId: string): Promise<boolean>
  /** Discards every snapshot of a plugin (set-aside corrupt entries are kept for inspection). */
  remove(pluginId: string): Promise<void>
  /** The ids that have at least one stored snapshot, sorted. */
  ids(): Promise<string[]>
  /** Releases locks and handles. Idempotent. */
  close(): Promise<void>
}
