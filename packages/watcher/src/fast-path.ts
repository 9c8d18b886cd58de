import { watch as fsWatch, type FSWatcher } from 'node:fs'
import { dirname, join } from 'node:path'
import { identityOf, isWithin, sameFile, type FileIndex } from './file-index.js'
import { statQuietly } from './scan.js'

/**
 * Directories per root watched by the fast path. Past this, further directories are left to
 * the backend alone (their changes keep the backend's timing: a change within half a second
 * of another one waits ~50 ms).
 * @internal
 */
export const FAST_PATH_DIR_LIMIT = 256

/** @internal One event of a fast-path burst, as the reconciler takes it. */
export interface FastEvent {
  readonly path: string
  readonly type: 'create' | 'update'
}

/** @internal What one burst of native events says. */
export interface FastBurst {
  /** In the order the kernel queued them; one entry per path (its first event). */
  readonly events: readonly FastEvent[]
  /**
   * Paths that were replaced by a rename in this burst: the path's only event is a rename
   * (no unlink of it, no write into it after), and the event just before it in its directory
   * was another name that has gone (the temp file moved over it). Such a file is complete.
   */
  readonly renamedOver: ReadonlySet<string>
}

/**
 * Whether a fast-path burst must be left to the backend: a known file or directory went
 * without its inode showing up at another path of the burst (it may have moved somewhere the
 * fast path does not watch), or a new path appeared while some directories are not watched by
 * it (it may have moved from one of them). Only the backend's batch can pair such a move into
 * a `renamed`.
 * @internal
 * @param events - The burst.
 * @param index - The root's index (before the burst is applied).
 * @param complete - {@link FastPath.complete}.
 * @returns `true` to leave the burst to the backend.
 */
export function needsBackend(events: readonly FastEvent[], index: FileIndex, complete: boolean): boolean {
  const here = events.map((e) => ({ path: e.path, st: statQuietly(e.path, false) }))
  for (const { path, st } of here) {
    const known = index.get(path)
    if (st !== undefined) {
      if (known === undefined && !complete) return true
      continue
    }
    if (known === undefined) continue
    const id = known.id
    if (known.isDir || id === undefined) return true
    if (!here.some((h) => h.st !== undefined && sameFile(id, identityOf(h.st)))) return true
  }
  return false
}

interface DirWatch {
  readonly watcher: FSWatcher
  /** Name of the last rename event seen in this directory (across bursts). */
  lastRename: string | undefined
}

interface Raw {
  readonly dir: string
  readonly name: string
  readonly rename: boolean
  /** The previous event in the same directory was a rename of this other name. */
  readonly after: string | undefined
}

/**
 * Low-latency path next to the backend: Node's `fs.watch` (inotify on Linux, one watch per
 * directory, not recursive) on the directories that hold watched files. @parcel/watcher
 * reports the first change after a quiet half second at once but holds later ones for ~50 ms,
 * so an atomic save (temp file written, then renamed over the target) would wait that long.
 * Events are gathered per burst (everything the kernel queued before the next turn of the
 * event loop) and handed on together; the backend stays the source of truth (its batches are
 * applied after and de-duplicated by the index), so an event this path misses (queue overflow,
 * a directory it does not watch) is still reported by the backend.
 * @internal
 */
export class FastPath {
  readonly #dirs = new Map<string, DirWatch>()
  readonly #onBurst: (burst: FastBurst) => void
  readonly #limit: number
  #raw: Raw[] = []
  #flush: NodeJS.Immediate | undefined
  #closed = false
  #refused = false

  /**
   * @param onBurst - Called with each burst, from a `setImmediate` after its first event.
   * @param limit - Most directories watched at once.
   */
  constructor(onBurst: (burst: FastBurst) => void, limit: number = FAST_PATH_DIR_LIMIT) {
    this.#onBurst = onBurst
    this.#limit = limit
  }

  /**
   * Whether a directory is watched by the fast path.
   * @param dir - Absolute directory.
   * @returns `true` when watched.
   */
  has(dir: string): boolean {
    return this.#dirs.has(dir)
  }

  /**
   * Whether any event of a backend batch is in a directory this path watches.
   * @param paths - Absolute paths.
   * @returns `true` when one is.
   */
  covers(paths: Iterable<string>): boolean {
    for (const path of paths) if (this.#dirs.has(dirname(path))) return true
    return false
  }

  /**
   * `false` once a directory could not be watched (the limit, or a failed watch): a file that
   * appears may then have been moved from a directory this path does not see.
   * @returns Whether every directory asked for is watched.
   */
  get complete(): boolean {
    return !this.#refused
  }

  /** Number of directories watched now. */
  get size(): number {
    return this.#dirs.size
  }

  /**
   * Watches a directory (no-op when closed, already watched or at the limit).
   * @param dir - Absolute directory.
   * @returns Whether the directory is watched by the fast path after the call.
   */
  add(dir: string): boolean {
    if (this.#closed) return false
    if (this.#dirs.has(dir)) return true
    if (this.#dirs.size >= this.#limit) {
      this.#refused = true
      return false
    }
    let watcher: FSWatcher
    try {
      watcher = fsWatch(dir, { persistent: true, recursive: false })
    } catch {
      // Gone meanwhile, or out of inotify watches: the backend still reports this directory.
      this.#refused = true
      return false
    }
    const entry: DirWatch = { watcher, lastRename: undefined }
    watcher.on('change', (type, name) => this.#onEvent(dir, entry, type, name))
    // A watch that fails (its directory went) is dropped; the backend reports what follows.
    watcher.on('error', () => this.#remove(dir))
    this.#dirs.set(dir, entry)
    return true
  }

  /**
   * Stops watching a directory and every directory below it.
   * @param path - Absolute directory.
   */
  removeWithin(path: string): void {
    for (const dir of [...this.#dirs.keys()]) if (isWithin(dir, path)) this.#remove(dir)
  }

  /** Closes every watch; pending events are dropped (the backend reports them too). */
  close(): void {
    this.#closed = true
    if (this.#flush !== undefined) clearImmediate(this.#flush)
    this.#flush = undefined
    this.#raw = []
    for (const dir of [...this.#dirs.keys()]) this.#remove(dir)
  }

  #remove(dir: string): void {
    const entry = this.#dirs.get(dir)
    if (entry === undefined) return
    this.#dirs.delete(dir)
    entry.watcher.close()
  }

  #onEvent(dir: string, entry: DirWatch, type: string, name: string | Buffer | null): void {
    if (this.#closed || this.#dirs.get(dir) !== entry || typeof name !== 'string' || name === '') return
    const rename = type === 'rename'
    const after = entry.lastRename !== undefined && entry.lastRename !== name ? entry.lastRename : undefined
    entry.lastRename = rename ? name : undefined
    this.#raw.push({ dir, name, rename, after })
    this.#flush ??= setImmediate(() => this.#emit())
  }

  #emit(): void {
    this.#flush = undefined
    const raw = this.#raw
    this.#raw = []
    if (this.#closed || raw.length === 0) return
    const seen = new Map<string, FastEvent>()
    const renames = new Map<string, number>()
    const lastRename = new Map<string, number>()
    const lastChange = new Map<string, number>()
    raw.forEach((r, i) => {
      const path = join(r.dir, r.name)
      if (!seen.has(path) || r.rename) seen.set(path, { path, type: r.rename ? 'create' : (seen.get(path)?.type ?? 'update') })
      if (r.rename) {
        renames.set(path, (renames.get(path) ?? 0) + 1)
        lastRename.set(path, i)
      } else {
        lastChange.set(path, i)
      }
    })
    const renamedOver = new Set<string>()
    raw.forEach((r, i) => {
      const path = join(r.dir, r.name)
      if (!r.rename || r.after === undefined || renames.get(path) !== 1 || lastRename.get(path) !== i) return
      if ((lastChange.get(path) ?? -1) > i) return
      if (statQuietly(join(r.dir, r.after), false) !== undefined) return
      renamedOver.add(path)
    })
    this.#onBurst({ events: [...seen.values()], renamedOver })
  }
}
