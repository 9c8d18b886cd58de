import { dirname, sep } from 'node:path'
import type { Stats } from 'node:fs'

/**
 * What is remembered of a file to recognise it after a rename and to notice that it changed.
 * @internal
 */
export interface Identity {
  readonly dev: number
  readonly ino: number
  readonly size: number
  readonly mtimeMs: number
  readonly ctimeMs: number
  readonly birthtimeMs: number
}

/** @internal One known path (immutable: replaced, never changed). `id` is missing until the file has been stat-ed. */
export interface IndexEntry {
  readonly isDir: boolean
  readonly id: Identity | undefined
  /** Content digest of the state last reported from a live event (small files only). */
  readonly digest?: string | undefined
}

/** @internal The entry of every file known by name only (shared: no allocation per file). */
export const UNSTATED_FILE: IndexEntry = Object.freeze({ isDir: false, id: undefined })

/**
 * Takes what is remembered from a stat.
 *
 * @internal
 * @param st - The stat result.
 * @returns The identity.
 */
export function identityOf(st: Stats): Identity {
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, birthtimeMs: st.birthtimeMs }
}

/**
 * Same file (a rename keeps it): same device and inode, and the same birth time where the
 * file system records one (else the same size and mtime), so that a reused inode number is
 * not mistaken for a rename.
 *
 * @internal
 * @param a - Remembered identity.
 * @param b - Current identity.
 * @returns Whether both describe the same file.
 */
export function sameFile(a: Identity, b: Identity): boolean {
  if (a.dev !== b.dev || a.ino !== b.ino) return false
  if (a.birthtimeMs > 0 && b.birthtimeMs > 0) return a.birthtimeMs === b.birthtimeMs
  return a.size === b.size && a.mtimeMs === b.mtimeMs
}

/**
 * Same file with the same size, mtime and ctime: nothing to report.
 *
 * @internal
 * @param a - Remembered identity.
 * @param b - Current identity.
 * @returns Whether nothing changed.
 */
export function unchanged(a: Identity, b: Identity): boolean {
  return sameFile(a, b) && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs
}

/** @internal A directory known by name only. */
const UNSTATED_DIR: IndexEntry = Object.freeze({ isDir: true, id: undefined })

/**
 * The known files and directories below the roots, with their identities: path -> entry
 * plus directory -> children (built on first need), so that a directory that goes takes its
 * files with it. Paths known by name only are stored as a bare boolean (is a directory), which
 * lets a whole tree be adopted as it was read, without an object per file.
 * @internal
 */
export class FileIndex {
  #entries = new Map<string, IndexEntry | boolean>()
  #children: Map<string, string[]> | undefined = new Map()

  /** Number of known paths (files and directories). */
  get size(): number {
    return this.#entries.size
  }

  /**
   * Takes over a map of path -> isDir (the index must be empty); children are indexed lazily.
   * @param tree - Absolute paths below one directory (not the directory itself).
   */
  adopt(tree: Map<string, boolean>): void {
    this.#entries = tree
    this.#children = undefined
  }

  /**
   * @param path - Absolute path.
   * @returns The entry or `undefined`.
   */
  get(path: string): IndexEntry | undefined {
    const stored = this.#entries.get(path)
    return typeof stored === 'boolean' ? (stored ? UNSTATED_DIR : UNSTATED_FILE) : stored
  }

  /**
   * Adds or replaces a path (and links it to its parent directory).
   * @param path - Absolute path.
   * @param entry - What is known of it.
   * @param parent - Its directory, when the caller knows it (saves a `dirname`).
   */
  set(path: string, entry: IndexEntry, parent: string = dirname(path)): void {
    if (this.#children !== undefined && !this.#entries.has(path)) {
      const list = this.#children.get(parent)
      if (list === undefined) this.#children.set(parent, [path])
      else list.push(path)
    }
    this.#entries.set(path, entry)
  }

  /**
   * Forgets a path and everything below it.
   * @param path - Absolute path.
   * @returns The files (not directories) forgotten, parents before children.
   */
  remove(path: string): Array<[string, IndexEntry]> {
    const children = this.#tree()
    const removed: Array<[string, IndexEntry]> = []
    if (this.#entries.has(path)) {
      const siblings = children.get(dirname(path))
      const at = siblings?.indexOf(path) ?? -1
      if (at >= 0) siblings!.splice(at, 1)
    }
    this.#collect(children, path, removed)
    return removed
  }

  /**
   * Known paths strictly below a directory.
   * @param dir - Absolute path.
   * @returns The paths.
   */
  below(dir: string): string[] {
    const children = this.#tree()
    const out: string[] = []
    const walk = (p: string): void => {
      for (const child of children.get(p) ?? []) {
        out.push(child)
        walk(child)
      }
    }
    walk(dir)
    return out
  }

  /**
   * Every known path.
   * @returns Path and whether it is a directory.
   */
  *paths(): IterableIterator<[string, boolean]> {
    for (const [path, stored] of this.#entries) yield [path, typeof stored === 'boolean' ? stored : stored.isDir]
  }

  /**
   * Files whose identity is still unknown (known from a directory listing only).
   * @returns Their paths.
   */
  withoutIdentity(): string[] {
    const out: string[] = []
    for (const [path, stored] of this.#entries) {
      if (stored === false || (typeof stored === 'object' && !stored.isDir && stored.id === undefined)) out.push(path)
    }
    return out
  }

  #tree(): Map<string, string[]> {
    if (this.#children === undefined) {
      const children = new Map<string, string[]>()
      for (const path of this.#entries.keys()) {
        const parent = dirname(path)
        const list = children.get(parent)
        if (list === undefined) children.set(parent, [path])
        else list.push(path)
      }
      this.#children = children
    }
    return this.#children
  }

  #collect(children: Map<string, string[]>, path: string, removed: Array<[string, IndexEntry]>): void {
    const entry = this.get(path)
    if (entry !== undefined) {
      this.#entries.delete(path)
      if (!entry.isDir) removed.push([path, entry])
    }
    const list = children.get(path)
    if (list !== undefined) {
      children.delete(path)
      for (const child of list) this.#collect(children, child, removed)
    }
  }
}

/**
 * Whether `path` is `dir` or below it.
 * @internal
 * @param path - Absolute path.
 * @param dir - Absolute directory.
 * @returns `true` when inside.
 */
export function isWithin(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep)
}
