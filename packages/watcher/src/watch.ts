import { resolve } from 'node:path'
import { Observable, interval, type Subscription } from 'rxjs'
import { WatcherError } from './errors.js'
import type { FileChange } from './file-change.js'
import { normalizeOptions, type WatchOptions } from './options.js'
import { RootWatcher } from './root-watcher.js'

/**
 * Watches files below one or more roots with the native @parcel/watcher backend and emits
 * every change as a {@link FileChange}. Subscribing starts the watch; unsubscribing is the
 * teardown (native subscriptions released, snapshot written, then `onClose`).
 *
 * Ordering: changes come in the order the backend reported them (it batches: the first change
 * after a quiet period at once, later ones every ~50 ms), one batch after the other across all
 * roots. Each change is checked against the file system and an index of known files, so that:
 * an editor's atomic save (temp file renamed over the target) is one `modified`; a delete and
 * a create of the same file (same device, inode and birth time) in one batch are one `renamed`;
 * a directory that appears (`mkdir -p`, a tree moved in, `git checkout`) is scanned, reported
 * file by file and watched to the bottom, which the Linux backend alone does not do; a
 * directory that goes reports its files as `deleted`; a root that is deleted is waited for
 * and reported again when it comes back.
 *
 * Start-up: without `initial` or `snapshotFile` the tree is listed (names only) while the
 * backend subscribes, which costs little extra time as the backend crawls on its own thread,
 * and what is promised is every change after `onReady` (as with the bare backend, a file
 * created or deleted while it subscribes may only be reported at its next change or at the
 * next reconcile). With `initial` or `snapshotFile` the backend is subscribed first and the
 * tree walked second, so nothing falls between the two. Identities of files that exist at start are taken by name
 * first and stat-ed right after start (in the background for trees over 2,000 files): a
 * rename of such a file in that window is reported as `deleted` + `created`. A temp file that passes the filters and lives
 * longer than one backend batch is reported like any file (`created`, then `deleted`);
 * {@link DEFAULT_EXCLUDE} drops the usual editor temp names.
 *
 * @param roots - A directory or file path, or several (relative paths are resolved against
 * the current directory). A file root is watched through its directory.
 * @param options - See {@link WatchOptions}.
 * @returns A cold Observable: each subscription is an independent watch.
 * @throws {@link WatcherError} `INVALID_OPTIONS` synchronously for bad arguments. Through the
 * Observable: `ROOT_NOT_FOUND`, `WATCH_LIMIT`, `BACKEND_ERROR`, `SNAPSHOT_UNREADABLE`.
 * @example
 * ```ts
 * import { watch } from '@hotswap/watcher'
 *
 * const subscription = watch(['./plugins'], { include: ['.mjs', '.js'], initial: true }).subscribe({
 *   next: (change) => console.log(change.kind, change.path),
 *   error: (err) => console.error(err.code, err.message),
 * })
 * // later
 * subscription.unsubscribe()
 * ```
 * @see {@link WatchOptions}
 * @see {@link FileChange}
 */
export function watch(roots: string | readonly string[], options: WatchOptions = {}): Observable<FileChange> {
  const list = typeof roots === 'string' ? [roots] : roots
  const opts = normalizeOptions(list, options)
  return new Observable<FileChange>((subscriber) => {
    let closed = false
    let failed = false
    let queue: Promise<void> = Promise.resolve()
    let reconcileQueued = false
    let timer: Subscription | undefined
    const fail = (error: unknown): void => {
      if (closed) return
      failed = true
      subscriber.error(error instanceof WatcherError ? error : new WatcherError('BACKEND_ERROR', `Watching failed: ${String(error)}`, { cause: error }))
    }
    const enqueue = (task: () => Promise<void> | void): void => {
      queue = queue.then(() => (closed ? undefined : task())).catch(fail)
    }
    const context = {
      options: opts,
      emit: (change: FileChange) => {
        if (!closed) subscriber.next(change)
      },
      fail,
      enqueue,
    }
    const watchers = list.map((root) => new RootWatcher(resolve(root), context))
    enqueue(async () => {
      for (const watcher of watchers) await watcher.start()
      if (closed) return
      if (opts.reconcileIntervalMs !== undefined) {
        timer = interval(opts.reconcileIntervalMs, opts.scheduler).subscribe(() => {
          if (reconcileQueued) return
          reconcileQueued = true
          enqueue(async () => {
            reconcileQueued = false
            for (const watcher of watchers) await watcher.reconcile()
          })
        })
      }
      opts.onReady?.()
    })
    return () => {
      closed = true
      timer?.unsubscribe()
      const pending = queue
      void (async () => {
        await pending
        const errors = await Promise.all(watchers.map((w) => w.close(failed)))
        opts.onClose?.(errors.find((e) => e !== undefined))
      })()
    }
  })
}
