import { asyncScheduler, type SchedulerLike } from 'rxjs'
import { WatcherError } from './errors.js'

/**
 * Editor and tool temporary files excluded when `exclude` is not given: swap files, backups,
 * `*.tmp`, Emacs lock files, Vim's `4913` probe and JetBrains' safe-write files, plus the
 * root's `.git`.
 * Spread it into your own list to keep it.
 *
 * @example
 * ```ts
 * watch('./plugins', { exclude: [...DEFAULT_EXCLUDE, 'dist/**', 'node_modules/**'] })
 * ```
 */
export const DEFAULT_EXCLUDE: readonly string[] = Object.freeze([
  '.git/**',
  '*.tmp',
  '*.swp',
  '*.swx',
  '*~',
  '.#*',
  '4913',
  '*___jb_tmp___',
  '*___jb_old___',
])

/**
 * Options of {@link watch}. Every field is optional; defaults are documented per field.
 *
 * @example
 * ```ts
 * const options: WatchOptions = { include: ['.mjs'], recursive: true, waitForRoot: true, reconcileIntervalMs: 60_000 }
 * ```
 */
export interface WatchOptions {
  /**
   * Keep only files that match one of these. An entry that starts with `.` and holds no `/`
   * or glob character is an extension (`'.mjs'`); anything else is a picomatch glob matched
   * against the path relative to the root (patterns without `/` match the base name at any
   * depth, e.g. `'*.mjs'`). Default: every file. Not applied to a root that is a file.
   */
  readonly include?: readonly string[]
  /**
   * Drop files and whole directories that match one of these picomatch globs (relative to
   * the root; patterns without `/` match the base name at any depth, e.g. `'*.tmp'`).
   * Directory patterns without other glob characters (`node_modules/**` at the root, or the
   * same prefixed with `**` and a slash for any depth) are passed to the native backend too,
   * so those directories are not even watched. Default:
   * {@link DEFAULT_EXCLUDE}.
   */
  readonly exclude?: readonly string[]
  /** Watch the whole tree below each root (`true`, default) or only its direct children. */
  readonly recursive?: boolean
  /**
   * Follow symbolic links (default `false`). When `false` a link is reported as a file of its
   * own (created, deleted, or modified when it is re-pointed); what it points to is not
   * watched. When `true` a link to a file is reported when the target's content changes, and a
   * link to a directory is scanned and watched like a directory, with paths under the link.
   * Links that point back into one of their own ancestors are not followed.
   */
  readonly followSymlinks?: boolean
  /**
   * Emit `created` for every file that already exists, before any live change, with no gap
   * and no duplicate between that scan and the live subscription (which is started first).
   * Default `false`.
   */
  readonly initial?: boolean
  /**
   * Catch up across restarts. On start, if the file exists, emit what changed since it was
   * written (the backend's `getEventsSince`: `created`, `modified`, `deleted`, no renames);
   * if it does not exist, emit `created` for every file, as with `initial`. On teardown the
   * snapshot is written again (atomically: temp file + rename). A string works with one root;
   * with several, pass a function from root to file. With `initial: true` the snapshot is
   * only written, never read.
   */
  readonly snapshotFile?: string | ((root: string) => string)
  /**
   * What to do with a `snapshotFile` that exists but cannot be read or is not a snapshot:
   * `'error'` (default) fails the Observable with `SNAPSHOT_UNREADABLE`; `'scan'` ignores it
   * and emits `created` for every file, as if it were missing.
   */
  readonly onSnapshotError?: 'error' | 'scan'
  /**
   * A root that does not exist at start: `false` (default) fails with `ROOT_NOT_FOUND`;
   * `true` waits for it (watching its nearest existing ancestor) and then emits `created`
   * for every file in it.
   */
  readonly waitForRoot?: boolean
  /**
   * Rescan every root this often (ms) and emit what the live events missed, by size and
   * mtime (and inode). The Linux backend drops inotify queue overflows without telling
   * anyone; this is the safety net. Default: off.
   */
  readonly reconcileIntervalMs?: number
  /** Scheduler for `reconcileIntervalMs` (default `asyncScheduler`). */
  readonly scheduler?: SchedulerLike
  /**
   * Called once when every root is live: backend subscribed, index built and the initial
   * or catch-up changes emitted. Every change made after this is reported.
   */
  readonly onReady?: () => void
  /**
   * Called once after teardown finished: native subscriptions released and snapshots
   * written. Receives the error if writing a snapshot or releasing failed (teardown has no
   * subscriber left to tell).
   */
  readonly onClose?: (error?: WatcherError) => void
}

/** @internal Options with defaults applied. */
export interface NormalizedOptions {
  readonly include: readonly string[] | undefined
  readonly exclude: readonly string[]
  readonly recursive: boolean
  readonly followSymlinks: boolean
  readonly initial: boolean
  readonly snapshotFile: ((root: string) => string) | undefined
  readonly onSnapshotError: 'error' | 'scan'
  readonly waitForRoot: boolean
  readonly reconcileIntervalMs: number | undefined
  readonly scheduler: SchedulerLike
  readonly onReady: (() => void) | undefined
  readonly onClose: ((error?: WatcherError) => void) | undefined
}

/**
 * Checks options and applies defaults.
 *
 * @internal
 * @param roots - The roots passed to `watch`.
 * @param options - The options passed to `watch`.
 * @returns The normalised options.
 * @throws {@link WatcherError} `INVALID_OPTIONS` for a bad value.
 */
export function normalizeOptions(roots: readonly string[], options: WatchOptions): NormalizedOptions {
  const bad = (what: string): never => {
    throw new WatcherError('INVALID_OPTIONS', `watch(): ${what}`)
  }
  if (!Array.isArray(roots) || roots.length === 0) bad('give at least one root')
  for (const root of roots) if (typeof root !== 'string' || root === '') bad(`a root must be a non-empty string, got ${String(root)}`)
  const list = (name: string, value: unknown): readonly string[] | undefined => {
    if (value === undefined) return undefined
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v === '')) bad(`${name} must be an array of non-empty strings`)
    return value as string[]
  }
  const include = list('include', options.include)
  const exclude = list('exclude', options.exclude) ?? DEFAULT_EXCLUDE
  const interval = options.reconcileIntervalMs
  if (interval !== undefined && (!Number.isFinite(interval) || interval <= 0)) bad('reconcileIntervalMs must be a positive number of milliseconds')
  const onSnapshotError = options.onSnapshotError ?? 'error'
  if (onSnapshotError !== 'error' && onSnapshotError !== 'scan') bad(`onSnapshotError must be 'error' or 'scan'`)
  let snapshotFile: ((root: string) => string) | undefined
  const given = options.snapshotFile
  if (typeof given === 'string') {
    if (given === '') bad('snapshotFile must not be empty')
    if (roots.length > 1) bad('a snapshotFile string works with one root; pass a function (root) => file for several')
    snapshotFile = () => given
  } else if (typeof given === 'function') {
    snapshotFile = given
  } else if (given !== undefined) {
    bad('snapshotFile must be a string or a function')
  }
  return {
    include,
    exclude,
    recursive: options.recursive ?? true,
    followSymlinks: options.followSymlinks ?? false,
    initial: options.initial ?? false,
    snapshotFile,
    onSnapshotError,
    waitForRoot: options.waitForRoot ?? false,
    reconcileIntervalMs: interval,
    scheduler: options.scheduler ?? asyncScheduler,
    onReady: options.onReady,
    onClose: options.onClose,
  }
}
