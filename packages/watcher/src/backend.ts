import parcel from '@parcel/watcher'
import { toWatcherError, type WatcherError } from './errors.js'

/** @internal One event as the backend reports it. */
export interface BackendEvent {
  readonly path: string
  readonly type: 'create' | 'update' | 'delete'
}

/** @internal A live native subscription. */
export interface BackendSubscription {
  unsubscribe(): Promise<void>
}

/**
 * Subscribes @parcel/watcher to a directory (recursively, minus `ignore`).
 *
 * @internal
 * @param dir - Absolute directory.
 * @param ignore - Native ignore list (globs, absolute paths, flag-less RegExps).
 * @param onEvents - Called with each batch, in the backend's order.
 * @param onError - Called with a backend error reported after start.
 * @returns Resolves once every directory of the tree is watched.
 * @throws {@link WatcherError} (rejects) `WATCH_LIMIT` or `BACKEND_ERROR`.
 */
export async function subscribeDir(
  dir: string,
  ignore: readonly (string | RegExp)[],
  onEvents: (events: readonly BackendEvent[]) => void,
  onError: (error: WatcherError) => void,
): Promise<BackendSubscription> {
  let live = true
  try {
    const sub = await parcel.subscribe(
      dir,
      (err, events) => {
        if (!live) return
        if (err !== null) onError(toWatcherError(err, dir))
        else onEvents(events)
      },
      { ignore: [...ignore] },
    )
    return {
      unsubscribe: async () => {
        if (!live) return
        live = false
        try {
          await sub.unsubscribe()
        } catch (cause) {
          throw toWatcherError(cause, dir)
        }
      },
    }
  } catch (cause) {
    live = false
    throw toWatcherError(cause, dir)
  }
}

/**
 * The changes since a snapshot, as @parcel/watcher computes them.
 *
 * @internal
 * @param dir - Watched directory.
 * @param file - Snapshot file (already checked by `readSnapshot`).
 * @param ignore - Same ignore list as the subscription.
 * @returns The events.
 * @throws {@link WatcherError} (rejects) `BACKEND_ERROR`.
 */
export async function eventsSince(dir: string, file: string, ignore: readonly (string | RegExp)[]): Promise<readonly BackendEvent[]> {
  try {
    return await parcel.getEventsSince(dir, file, { ignore: [...ignore] })
  } catch (cause) {
    throw toWatcherError(cause, dir)
  }
}
