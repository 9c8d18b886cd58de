import { lstatSync, readdirSync, realpathSync, statSync, type Dirent, type Stats } from 'node:fs'
import { dirname, join, sep } from 'node:path'
import { WatcherError } from './errors.js'
import { identityOf, isWithin, type Identity } from './file-index.js'
import type { PathFilter } from './path-filter.js'

/** @internal One path found by {@link scanTree}. */
export interface ScanVisit {
  readonly path: string
  /** The directory it was found in. */
  readonly parent: string
  readonly isDir: boolean
  readonly id: Identity | undefined
  /** Set for a followed symbolic link: where it really points. */
  readonly link?: { readonly real: string; readonly isDir: boolean }
}

/** @internal */
export interface ScanOptions {
  readonly filter: PathFilter
  /** The root the filter's relative paths start from (every scanned path is below it). */
  readonly base: string
  readonly follow: boolean
  /** Stat files too (identity); directories are always stat-ed. */
  readonly statFiles: boolean
}

/**
 * Walks a directory synchronously (readdir with file types; lstat where needed) and reports
 * every accepted file and directory below it, depth first, parents before children.
 *
 * @internal
 * @param dir - Absolute directory to walk (its own entry is not reported).
 * @param options - Filter, symlink policy, whether to stat files.
 * @param visit - Called for each accepted path.
 * @throws {@link WatcherError} `BACKEND_ERROR` when a directory cannot be read for another
 * reason than having vanished meanwhile.
 */
export function scanTree(dir: string, options: ScanOptions, visit: (v: ScanVisit) => void): void {
  const cut = options.base.length + (options.base.endsWith(sep) ? 0 : 1)
  const walk = (current: string, realCurrent: string | undefined): void => {
    const names = readDirQuietly(current)
    if (names === undefined) return
    for (const dirent of names) {
      // Plain concatenation and slicing: path.join/relative cost more than the readdir here.
      const path = current + sep + dirent.name
      const rel = path.slice(cut)
      if (dirent.isDirectory()) {
        if (!options.filter.acceptsDir(rel)) continue
        const st = statQuietly(path, false)
        if (st === undefined) continue
        visit({ path, parent: current, isDir: true, id: identityOf(st) })
        walk(path, realCurrent === undefined ? undefined : join(realCurrent, dirent.name))
        continue
      }
      if (dirent.isSymbolicLink() && options.follow) {
        const target = statQuietly(path, true)
        if (target?.isDirectory()) {
          if (!options.filter.acceptsDir(rel)) continue
          const real = realQuietly(path)
          const parentReal = realCurrent ?? realQuietly(current)
          // A link into one of its own ancestors would make the tree infinite.
          if (real === undefined || parentReal === undefined || isWithin(parentReal, real)) {
            if (options.filter.acceptsFile(rel)) visit({ path, parent: current, isDir: false, id: identityOf(statQuietly(path, false) ?? target) })
            continue
          }
          visit({ path, parent: current, isDir: true, id: identityOf(target), link: { real, isDir: true } })
          walk(path, real)
          continue
        }
        if (!options.filter.acceptsFile(rel)) continue
        const real = target === undefined ? undefined : realQuietly(path)
        const st = target ?? statQuietly(path, false)
        if (st === undefined) continue
        visit({ path, parent: current, isDir: false, id: identityOf(st), ...(real === undefined ? {} : { link: { real, isDir: false } }) })
        continue
      }
      if (!options.filter.acceptsFile(rel)) continue
      if (!options.statFiles) {
        visit({ path, parent: current, isDir: false, id: undefined })
        continue
      }
      const st = statQuietly(path, false)
      if (st !== undefined) visit({ path, parent: current, isDir: false, id: identityOf(st) })
    }
  }
  walk(dir, undefined)
}

/**
 * Lists the names below a directory: `readdir` with file types, no stat, in slices of a few
 * milliseconds with the event loop free between them. Directories the filter rejects are
 * left out with everything below them (files are listed whatever the filter says of them).
 * Symbolic links are listed as files (links are not followed).
 *
 * A plain start runs this while the backend subscribes: the backend crawls the tree on its
 * own thread and leaves this one idle, so the index is built in that time instead of after
 * it. Synchronous reads on this thread compete less with the backend's crawl than the same
 * reads on libuv's thread pool (measured on 2 cores: 50,000 files listed during a subscribe
 * cost it about 10% against 20%; see `bench/`).
 *
 * @internal
 * @param dir - Absolute directory (its own entry is not listed).
 * @param filter - Which directories to descend into.
 * @returns Path -> isDir for every name below `dir` that was reached.
 * @throws {@link WatcherError} (rejects) `BACKEND_ERROR` when a directory cannot be read for
 * another reason than having vanished meanwhile.
 */
export async function listTree(dir: string, filter: PathFilter): Promise<Map<string, boolean>> {
  const tree = new Map<string, boolean>()
  const cut = dir.length + (dir.endsWith(sep) ? 0 : 1)
  const pending = [dir]
  while (pending.length > 0) {
    const until = performance.now() + LIST_SLICE_MS
    do {
      const current = pending.pop()!
      const names = readDirQuietly(current)
      if (names === undefined) continue
      const base = current.endsWith(sep) ? current : current + sep
      for (const dirent of names) {
        const path = base + dirent.name
        if (!dirent.isDirectory()) tree.set(path, false)
        else if (filter.acceptsDir(path.slice(cut))) {
          tree.set(path, true)
          pending.push(path)
        }
      }
    } while (pending.length > 0 && performance.now() < until)
    if (pending.length > 0) await new Promise((resolve) => setImmediate(resolve))
  }
  return tree
}

/** How long {@link listTree} reads before it lets the event loop run. */
const LIST_SLICE_MS = 4

/**
 * `lstat` (or `stat` when following links) that returns `undefined` for a path that is gone.
 *
 * @internal
 * @param path - Absolute path.
 * @param follow - Follow a final symbolic link.
 * @returns The stats or `undefined`.
 * @throws {@link WatcherError} `BACKEND_ERROR` for other failures than the path being gone.
 */
export function statQuietly(path: string, follow: boolean): Stats | undefined {
  try {
    return follow ? statSync(path) : lstatSync(path)
  } catch (cause) {
    if (isGone(cause) || (follow && (cause as NodeJS.ErrnoException).code === 'ELOOP')) return undefined
    throw new WatcherError('BACKEND_ERROR', `Cannot stat ${path}: ${(cause as Error).message}`, { cause })
  }
}

/**
 * `realpath` that returns `undefined` for a path that is gone.
 * @internal
 * @param path - Absolute path.
 * @returns The real path or `undefined`.
 */
export function realQuietly(path: string): string | undefined {
  try {
    return realpathSync(path)
  } catch {
    return undefined
  }
}

/**
 * Nearest existing directory at or above `path`.
 * @internal
 * @param path - Absolute path.
 * @returns The directory (at worst the file system root).
 */
export function nearestExistingDir(path: string): string {
  let current = path
  for (;;) {
    let st: Stats | undefined
    try {
      st = statSync(current)
    } catch {
      st = undefined
    }
    if (st?.isDirectory()) return current
    const parent = dirname(current)
    if (parent === current) return current
    current = parent
  }
}

/** `readdir` with file types; `undefined` for a directory that is gone. */
function readDirQuietly(dir: string): Dirent[] | undefined {
  try {
    return readdirSync(dir, { withFileTypes: true })
  } catch (cause) {
    if (isGone(cause)) return undefined
    throw new WatcherError('BACKEND_ERROR', `Cannot read directory ${dir}: ${(cause as Error).message}`, { cause })
  }
}

function isGone(cause: unknown): boolean {
  const code = (cause as NodeJS.ErrnoException | null)?.code
  return code === 'ENOENT' || code === 'ENOTDIR'
}
