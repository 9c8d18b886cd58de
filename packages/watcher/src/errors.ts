/**
 * What went wrong, as a code a caller can switch on.
 *
 * - `WATCH_LIMIT`: the operating system refused another watch (Linux: `ENOSPC` from
 *   `inotify_add_watch`, i.e. `fs.inotify.max_user_watches` is exhausted, or `EMFILE` when
 *   `fs.inotify.max_user_instances` is).
 * - `ROOT_NOT_FOUND`: a root does not exist at start and `waitForRoot` is false.
 * - `BACKEND_ERROR`: any other failure of the native backend or of reading a directory.
 * - `SNAPSHOT_UNREADABLE`: `snapshotFile` exists but cannot be read or is not a snapshot.
 * - `INVALID_OPTIONS`: `watch` was called with options it cannot honour.
 *
 * @example
 * ```ts
 * const hint = (code: WatcherErrorCode) => (code === 'WATCH_LIMIT' ? 'raise the inotify limit' : 'see the message')
 * ```
 */
export type WatcherErrorCode =
  | 'WATCH_LIMIT'
  | 'ROOT_NOT_FOUND'
  | 'BACKEND_ERROR'
  | 'SNAPSHOT_UNREADABLE'
  | 'INVALID_OPTIONS'

/**
 * The one error type of `@hotswap/watcher`: a union-typed {@link WatcherError.code}, a message
 * that names the path and what to do, and the original error as `cause`.
 *
 * @example
 * ```ts
 * watch(['./plugins']).subscribe({
 *   error: (err) => {
 *     if (err instanceof WatcherError && err.code === 'WATCH_LIMIT') console.error(err.message)
 *   },
 * })
 * ```
 */
export class WatcherError extends Error {
  /** Always `'WatcherError'`. */
  override readonly name = 'WatcherError'
  /** What went wrong; see {@link WatcherErrorCode}. */
  readonly code: WatcherErrorCode

  /**
   * @param code - What went wrong.
   * @param message - A sentence that names the path and what to do.
   * @param options - `{ cause }`: the underlying error.
   */
  constructor(code: WatcherErrorCode, message: string, options?: ErrorOptions) {
    super(message, options)
    this.code = code
  }
}

/**
 * Turns an error thrown or reported by @parcel/watcher into a {@link WatcherError}.
 *
 * The native backend only gives messages (no `errno`), so this reads them: `No space left on
 * device` (`ENOSPC` from `inotify_add_watch`) and `Too many open files` (`EMFILE` from
 * `inotify_init1`) become `WATCH_LIMIT` with instructions; everything else `BACKEND_ERROR`.
 *
 * @internal
 * @param cause - What the backend threw or passed to its callback.
 * @param dir - The directory that was being watched.
 * @returns A `WatcherError` with `cause` set.
 */
export function toWatcherError(cause: unknown, dir: string): WatcherError {
  if (cause instanceof WatcherError) return cause
  const text = cause instanceof Error ? cause.message : String(cause)
  const code = (cause as { code?: unknown } | null)?.code
  if (/No space left on device/i.test(text) || code === 'ENOSPC') {
    return new WatcherError(
      'WATCH_LIMIT',
      `Cannot watch ${dir}: the system limit of file watches is reached (${text}). ` +
        'On Linux raise it with `sudo sysctl fs.inotify.max_user_watches=524288` and make it ' +
        'permanent with `echo fs.inotify.max_user_watches=524288 | sudo tee /etc/sysctl.d/60-inotify.conf`, ' +
        'or exclude large folders (node_modules, .git) from the watch.',
      { cause },
    )
  }
  if (/Too many open files/i.test(text) || code === 'EMFILE') {
    return new WatcherError(
      'WATCH_LIMIT',
      `Cannot watch ${dir}: the system limit of watcher instances or open files is reached (${text}). ` +
        'On Linux raise it with `sudo sysctl fs.inotify.max_user_instances=1024` (or `ulimit -n`), ' +
        'or close other watchers.',
      { cause },
    )
  }
  return new WatcherError('BACKEND_ERROR', `Watching ${dir} failed: ${text}`, { cause })
}
