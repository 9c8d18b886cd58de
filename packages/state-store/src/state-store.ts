import type { StateAdapter } from './adapter.js'
import { StateStoreError } from './errors.js'
import type { StateStoreEvent, StateStoreEventType, StateStoreListener } from './events.js'
import type { JsonValue } from './json.js'
import { validatePluginId } from './plugin-id.js'
import { toSnapshot } from './snapshot.js'
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- referenced by {@link} in docs
import type { createSnapshot, readValue } from './snapshot.js'
import type { StateSnapshot } from './snapshot.js'

/**
 * Options of {@link createStateStore}.
 *
 * @example
 * ```ts
 * const options: StateStoreOptions = {
 *   adapter: fileAdapter({ dir: './state' }),
 *   maxHistory: 5, // the current snapshot and 5 earlier ones per plugin
 *   onEvent: (event) => console.log('state-store', event.type),
 * }
 * const store = await createStateStore(options)
 * ```
 */
export interface StateStoreOptions {
  /** Where snapshots live: `memoryAdapter()`, `fileAdapter({ dir })` or your own {@link StateAdapter}. */
  readonly adapter: StateAdapter
  /** How many earlier snapshots to keep per plugin besides the current one. Default `10`. */
  readonly maxHistory?: number
  /**
   * Receives every event, including those raised while opening (a stale lock taken over) that
   * happen before `on()` can be called. A throwing listener does not disturb the store; its
   * error is reported with `process.emitWarning`.
   */
  readonly onEvent?: (event: StateStoreEvent) => void
}

/**
 * Plugin state snapshots with a bounded history per plugin, behind an adapter.
 *
 * Operations on one plugin id run one after the other in call order (a per-id queue), so
 * two saves never interleave and `latest` after `save` sees the save; operations on
 * different ids run concurrently. Snapshots returned are copies.
 *
 * @example
 * ```ts
 * const store: StateStore = await createStateStore({ adapter: memoryAdapter() })
 * await store.save(createSnapshot({ pluginId: 'counter', pluginVersion: '1.0.0', data: { count: 1 } }))
 * console.log((await store.latest('counter'))?.data, await store.ids())
 * await store.close()
 * ```
 */
export interface StateStore {
  /**
   * Validates and stores a snapshot as the plugin's current one; the previous current one
   * joins the history and the oldest beyond `maxHistory` is discarded. With the file adapter
   * the promise resolves once the snapshot is on disk (fsynced).
   *
   * @param snapshot - The snapshot, usually from {@link createSnapshot}.
   * @returns The snapshot as stored (a validated copy).
   * @throws {@link StateStoreError} `INVALID_ID`, `INVALID_DATA` (the message names the
   *   offending path, for example `data.when is a Date instance`), `CLOSED`, `IO_ERROR`.
   * @example
   * ```ts
   * await store.save(createSnapshot({ pluginId: 'counter', pluginVersion: '1.0.0', data: { count } }))
   * ```
   */
  save<T>(snapshot: StateSnapshot<T>): Promise<StateSnapshot<T>>
  /**
   * The plugin's current snapshot. Corrupt snapshots met on the way are reported as
   * `corrupt` events, moved aside, and the newest good one is returned.
   *
   * @typeParam T - The expected shape of `data`; not checked, read fields with {@link readValue}.
   * @param pluginId - The plugin.
   * @returns The current snapshot, or `undefined` if the plugin has none.
   * @throws {@link StateStoreError} `CORRUPT` when snapshots existed but none was readable
   *   (each was reported), `UNSUPPORTED_VERSION` when the newest was written by a newer format
   *   (left untouched), `INVALID_ID`, `CLOSED`, `IO_ERROR`.
   * @example
   * ```ts
   * const count = readValue(await store.latest('counter'), 'count', 0)
   * ```
   */
  latest<T = JsonValue>(pluginId: string): Promise<StateSnapshot<T> | undefined>
  /**
   * The current snapshot then the earlier ones, newest first.
   *
   * @param pluginId - The plugin.
   * @returns At most `maxHistory + 1` snapshots; `[]` when there are none.
   * @throws {@link StateStoreError} as {@link StateStore.latest}.
   * @example
   * ```ts
   * for (const s of await store.history('counter')) console.log(s.pluginVersion, s.timestamp)
   * ```
   */
  history<T = JsonValue>(pluginId: string): Promise<StateSnapshot<T>[]>
  /**
   * Discards the current snapshot and makes the previous one current.
   *
   * @param pluginId - The plugin.
   * @returns The snapshot that is current now.
   * @throws {@link StateStoreError} `NOT_FOUND` when there is no earlier snapshot, and the
   *   errors of {@link StateStore.latest}.
   * @example
   * ```ts
   * const previous = await store.rollback('counter')
   * ```
   */
  rollback<T = JsonValue>(pluginId: string): Promise<StateSnapshot<T>>
  /**
   * Discards every snapshot of a plugin (the file adapter keeps set-aside corrupt files).
   *
   * @param pluginId - The plugin.
   * @returns Once the snapshots are gone.
   * @throws {@link StateStoreError} `INVALID_ID`, `CLOSED`, `IO_ERROR`.
   * @example
   * ```ts
   * await store.clear('counter')
   * ```
   */
  clear(pluginId: string): Promise<void>
  /**
   * Discards every snapshot of every plugin.
   *
   * @returns Once all are gone.
   * @throws {@link StateStoreError} `CLOSED`, `IO_ERROR`.
   * @example
   * ```ts
   * await store.clearAll()
   * ```
   */
  clearAll(): Promise<void>
  /**
   * The plugins that have at least one snapshot, once the operations already queued have run.
   *
   * @returns Their ids, sorted.
   * @throws {@link StateStoreError} `CLOSED`.
   * @example
   * ```ts
   * for (const id of await store.ids()) console.log(id)
   * ```
   */
  ids(): Promise<string[]>
  /**
   * Listens to one event type. Listeners run synchronously when the event happens.
   *
   * @param type - The event type, for example `'corrupt'`.
   * @param listener - Gets the events of that type.
   * @returns A function that stops listening.
   * @example
   * ```ts
   * const off = store.on('corrupt', (event) => log.warn(event.error.message, event.movedTo))
   * ```
   */
  on<K extends StateStoreEventType>(type: K, listener: StateStoreListener<K>): () => void
  /**
   * Waits for queued operations, then closes the adapter (the file adapter releases its
   * lock). Later calls reject with `CLOSED`. Idempotent.
   *
   * @returns Once closed.
   * @throws {@link StateStoreError} `IO_ERROR` if the adapter fails to close.
   * @example
   * ```ts
   * await store.close()
   * ```
   */
  close(): Promise<void>
}

/**
 * Opens a state store on an adapter.
 *
 * The adapter is opened here (the file adapter takes its directory's lock and indexes the
 * files), so errors such as `LOCKED` surface from this call. Corrupt files are reported as
 * `corrupt` events (with the typed `CORRUPT` error in `event.error`) and skipped in favour
 * of the newest good snapshot; when none is left, the read rejects with `CORRUPT` too.
 *
 * @param options - The adapter, `maxHistory` (default 10) and an optional `onEvent` listener.
 * @returns The open {@link StateStore}.
 * @throws {@link StateStoreError} `LOCKED` (another process holds the directory; the message
 *   and `details.pid` name it), `IO_ERROR`, `CLOSED` (the adapter was used before), or
 *   `INVALID_DATA` for a bad `maxHistory`.
 * @example
 * ```ts
 * const store = await createStateStore({ adapter: fileAdapter({ dir: './state' }), maxHistory: 5 })
 * store.on('corrupt', (event) => console.warn(event.error.message, '->', event.movedTo))
 * await store.save(createSnapshot({ pluginId: 'counter', pluginVersion: '1.0.0', data: { count: 1 } }))
 * const count = readValue(await store.latest('counter'), 'count', 0)
 * await store.close()
 * ```
 */
export async function createStateStore(options: StateStoreOptions): Promise<StateStore> {
  const maxHistory = options.maxHistory ?? 10
  if (!Number.isSafeInteger(maxHistory) || maxHistory < 0) {
    throw new StateStoreError('INVALID_DATA', `maxHistory must be a non-negative integer, got ${String(maxHistory)}`)
  }
  const store = new Store(options.adapter, maxHistory, options.onEvent)
  await options.adapter.open({ emit: (event) => store.emit(event) })
  return store
}

type AnyListener = (event: StateStoreEvent) => void

class Store implements StateStore {
  readonly #adapter: StateAdapter
  readonly #keep: number
  readonly #listeners = new Map<StateStoreEventType, Set<AnyListener>>()
  readonly #onEvent: ((event: StateStoreEvent) => void) | undefined
  readonly #queues = new Map<string, Promise<void>>()
  /** Corrupt events seen per id during the operation running on it. */
  readonly #corruptSeen = new Map<string, StateStoreError[]>()
  #closed = false
  #closing: Promise<void> | undefined

  constructor(adapter: StateAdapter, maxHistory: number, onEvent: ((event: StateStoreEvent) => void) | undefined) {
    this.#adapter = adapter
    this.#keep = maxHistory + 1
    this.#onEvent = onEvent
  }

  save<T>(snapshot: StateSnapshot<T>): Promise<StateSnapshot<T>> {
    let checked: StateSnapshot<T>
    try {
      checked = toSnapshot<T>(snapshot)
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)))
    }
    return this.#serial(checked.pluginId, async () => {
      await this.#adapter.put(checked as StateSnapshot, this.#keep)
      this.emit({ type: 'saved', pluginId: checked.pluginId, snapshot: checked as StateSnapshot })
      return checked
    })
  }

  latest<T = JsonValue>(pluginId: string): Promise<StateSnapshot<T> | undefined> {
    return this.#serial(pluginId, async () => (await this.#read(pluginId, 1))[0] as StateSnapshot<T> | undefined)
  }

  history<T = JsonValue>(pluginId: string): Promise<StateSnapshot<T>[]> {
    return this.#serial(pluginId, async () => (await this.#read(pluginId, this.#keep)) as StateSnapshot<T>[])
  }

  rollback<T = JsonValue>(pluginId: string): Promise<StateSnapshot<T>> {
    return this.#serial(pluginId, async () => {
      const [current, previous] = await this.#read(pluginId, 2)
      if (current === undefined || previous === undefined) {
        throw new StateStoreError(
          'NOT_FOUND',
          `cannot roll back plugin "${pluginId}": it has ${current === undefined ? 'no snapshot' : 'no earlier snapshot'}`,
          { details: { pluginId } },
        )
      }
      await this.#adapter.pop(pluginId)
      this.emit({ type: 'rolledBack', pluginId, snapshot: previous, discarded: current })
      return previous as StateSnapshot<T>
    })
  }

  clear(pluginId: string): Promise<void> {
    return this.#serial(pluginId, async () => {
      await this.#adapter.remove(pluginId)
      this.emit({ type: 'cleared', pluginId })
    })
  }

  async clearAll(): Promise<void> {
    const ids = await this.ids()
    await Promise.all(ids.map((id) => this.clear(id)))
  }

  async ids(): Promise<string[]> {
    if (this.#closed) throw this.#closedError()
    // Let operations already queued land first, so ids() after save() sees the save.
    await Promise.all([...this.#queues.values()])
    return this.#adapter.ids()
  }

  on<K extends StateStoreEventType>(type: K, listener: StateStoreListener<K>): () => void {
    const set = this.#listeners.get(type) ?? new Set<AnyListener>()
    const entry = listener as AnyListener
    set.add(entry)
    this.#listeners.set(type, set)
    return () => {
      set.delete(entry)
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true
      await Promise.allSettled([...this.#queues.values()])
      await this.#adapter.close()
    })()
    return this.#closing
  }

  /** Delivers an event to `onEvent` and the listeners of its type. */
  emit(event: StateStoreEvent): void {
    if (event.type === 'corrupt') this.#corruptSeen.get(event.pluginId)?.push(event.error)
    const listeners = [...(this.#listeners.get(event.type) ?? [])]
    for (const listener of this.#onEvent === undefined ? listeners : [this.#onEvent, ...listeners]) {
      try {
        listener(event)
      } catch (error) {
        // A throwing listener is reported as a process warning; it never crashes the host.
        const warning = new Error(`a state-store listener for "${event.type}" threw: ${(error as Error)?.message ?? String(error)}`, { cause: error })
        warning.name = 'StateStoreListenerWarning'
        process.emitWarning(warning)
      }
    }
  }

  async #read(pluginId: string, limit: number): Promise<StateSnapshot[]> {
    const seen: StateStoreError[] = []
    this.#corruptSeen.set(pluginId, seen)
    try {
      const found = await this.#adapter.list(pluginId, limit)
      if (found.length === 0 && seen.length > 0) {
        throw new StateStoreError(
          'CORRUPT',
          `no readable snapshot of plugin "${pluginId}" is left: ${seen.length} corrupt one(s) were moved aside ` +
            '(see the corrupt events); the plugin starts without state unless you restore one',
          { cause: seen[0], details: { pluginId, corrupt: seen.length } },
        )
      }
      return found
    } finally {
      this.#corruptSeen.delete(pluginId)
    }
  }

  #serial<R>(pluginId: string, work: () => Promise<R>): Promise<R> {
    if (this.#closed) return Promise.reject(this.#closedError())
    try {
      validatePluginId(pluginId)
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)))
    }
    const previous = this.#queues.get(pluginId) ?? Promise.resolve()
    const result = previous.then(work)
    const tail = result.then(
      () => undefined,
      () => undefined,
    )
    this.#queues.set(pluginId, tail)
    void tail.then(() => {
      if (this.#queues.get(pluginId) === tail) this.#queues.delete(pluginId)
    })
    return result
  }

  #closedError(): StateStoreError {
    return new StateStoreError('CLOSED', `the state store on ${this.#adapter.name} is closed`)
  }
}
