import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { relative } from 'node:path'
import type { Stats } from 'node:fs'
import type { BackendEvent } from './backend.js'
import type { FileChange } from './file-change.js'
import { FileIndex, UNSTATED_FILE, identityOf, isWithin, sameFile, unchanged, type Identity } from './file-index.js'
import type { PathFilter } from './path-filter.js'
import { realQuietly, scanTree, statQuietly, type ScanVisit } from './scan.js'

/**
 * A directory or link that needs a backend subscription of its own: a new directory with
 * sub-directories (the Linux backend only watches its first level), or a followed link.
 * @internal
 */
export interface CoverageRequest {
  readonly kind: 'tree' | 'link-dir' | 'link-file'
  /** Logical path (below the root). */
  readonly path: string
  /** For links: the real target. */
  readonly real?: string
}

/** @internal What one batch or rescan produced. */
export interface ReconcileResult {
  readonly changes: FileChange[]
  readonly cover: CoverageRequest[]
  /** Directories and links that went: their subscriptions can be dropped. */
  readonly gone: string[]
  /** Directories that came (new to the index): the fast path can watch them. */
  readonly entered: string[]
  /** The watched directory itself went. */
  rootGone: boolean
}

/** @internal What the fast path adds to {@link Reconciler.apply}. */
export interface ApplyExtra {
  readonly renamedOver?: ReadonlySet<string> | undefined
  readonly entered?: boolean | undefined
}

interface PendingChange {
  kind: FileChange['kind']
  path: string
  oldPath?: string
  id?: Identity | undefined
  atomic?: true
}

/**
 * Keeps the index of one root and turns what the backend says into {@link FileChange}s by
 * looking at the file system: the event says where to look, the index and a fresh stat say
 * what happened. So a create over a known file is a `modified` (atomic save), a delete and a
 * create of the same inode in one batch are a `renamed`, a new directory is scanned, and
 * events for paths that no longer exist (stale inotify watches) are dropped.
 * @internal
 */
export class Reconciler {
  readonly index: FileIndex = new FileIndex()
  readonly #root: string
  readonly #dir: string
  readonly #filter: PathFilter
  readonly #follow: boolean
  readonly #skip: ReadonlySet<string>
  #dirId: Identity | undefined

  /**
   * @param root - The root as reported in `FileChange.root`.
   * @param dir - The watched directory (the root, or its parent for a file root).
   * @param filter - What to keep.
   * @param follow - Follow symbolic links.
   * @param skip - Absolute paths never reported (the snapshot file).
   */
  constructor(root: string, dir: string, filter: PathFilter, follow: boolean, skip: ReadonlySet<string>) {
    this.#root = root
    this.#dir = dir
    this.#filter = filter
    this.#follow = follow
    this.#skip = skip
  }

  /**
   * First scan after subscribing: fills the index; with `announce`, reports every file as
   * `created`. Files are not stat-ed (identities are filled later, see {@link Reconciler.fill}).
   * @param announce - Emit `created` for each file.
   * @returns Changes and coverage requests (followed links).
   */
  populate(announce: boolean): ReconcileResult {
    const result = emptyResult()
    const dirSt = statQuietly(this.#dir, true)
    this.#dirId = dirSt === undefined ? undefined : identityOf(dirSt)
    this.#scan(this.#dir, false, (v) => {
      this.index.set(v.path, !v.isDir && v.id === undefined ? UNSTATED_FILE : { isDir: v.isDir, id: v.id }, v.parent)
      if (v.link !== undefined) result.cover.push(linkRequest(v))
      if (announce && !v.isDir) result.changes.push(this.#change({ kind: 'created', path: v.path }))
    })
    return result
  }

  /**
   * Like {@link Reconciler.populate} for a plain start (nothing announced, no snapshot), from
   * the names `listTree` found while the backend subscribed, instead of a walk. Files the
   * filter rejects may stay in the index (nothing is ever reported for them, see
   * #removeInto): filtering 50,000 names costs more than keeping them. Files and directories
   * are known by name only (identities are filled later; an event on a directory without
   * one rescans it).
   * @param tree - Path -> isDir below the watched directory (logical paths); taken over.
   * @returns An empty result (as {@link Reconciler.populate} without `announce`).
   */
  populateFrom(tree: Map<string, boolean>): ReconcileResult {
    const dirSt = statQuietly(this.#dir, true)
    this.#dirId = dirSt === undefined ? undefined : identityOf(dirSt)
    this.index.adopt(tree)
    return emptyResult()
  }

  /**
   * Applies one backend batch (paths already mapped to logical paths).
   * @param events - The batch, in the backend's order.
   * @param early - The batch arrived before the first scan finished.
   * @param announced - Paths reported as `created` by the first scan (for `early` batches).
   * @param extra - From the fast path: `renamedOver`, paths a rename replaced (a `modified` of
   * one of them whose inode changed is marked `atomic`). From a backend batch the fast path
   * also saw: `entered`, so a `create` of a directory already known with the same inode is not
   * rescanned (the fast path entered it and watches it; a rescan would report its newest
   * changes before the fast path does, without the digests that tell repeats apart).
   * @returns Changes, coverage requests, what went.
   */
  apply(events: readonly BackendEvent[], early: boolean, announced: Set<string> | undefined, extra: ApplyExtra = {}): ReconcileResult {
    const renamedOver = extra.renamedOver
    const result = emptyResult()
    const out: PendingChange[] = []
    for (const event of events) {
      const path = event.path
      if (!isWithin(path, this.#dir) || this.#skip.has(path)) continue
      const known = this.index.get(path)
      if (path === this.#dir) {
        const st = statQuietly(path, true)
        // Gone, or already replaced by a new directory (whose contents nobody watches yet).
        if (st?.isDirectory() !== true || (event.type !== 'update' && this.#dirId !== undefined && !sameFile(this.#dirId, identityOf(st)))) {
          result.rootGone = true
          this.#removeInto(path, out, result)
        }
        continue
      }
      const st = statQuietly(path, this.#follow)
      if (st === undefined) {
        if (known !== undefined) this.#removeInto(path, out, result)
        continue
      }
      const rel = relative(this.#dir, path)
      if (st.isDirectory()) {
        if (known?.isDir === true && known.id !== undefined && sameFile(known.id, identityOf(st)) && (event.type === 'update' || (extra.entered === true && !early))) continue
        if (!this.#filter.acceptsDir(rel)) {
          if (known !== undefined) this.#removeInto(path, out, result)
          continue
        }
        if (known !== undefined && (!known.isDir || (known.id !== undefined && !sameFile(known.id, identityOf(st))))) this.#removeInto(path, out, result)
        this.#enterDir(path, st, out, result)
        continue
      }
      if (!this.#filter.acceptsFile(rel)) {
        if (known !== undefined) this.#removeInto(path, out, result)
        continue
      }
      if (known?.isDir === true) this.#removeInto(path, out, result)
      const id = identityOf(st)
      const link = this.#linkOf(path, st)
      const current = this.index.get(path)
      const digest = digestOf(path, st)
      this.index.set(path, { isDir: false, id, digest })
      if (link !== undefined) result.cover.push({ kind: 'link-file', path, real: link })
      if (current === undefined) {
        out.push({ kind: 'created', path, id })
      } else if (event.type === 'create' || event.type === 'delete') {
        if (early && announced !== undefined) {
          // Created after the subscription began, and already seen by the first scan.
          if (!announced.has(path)) out.push({ kind: 'created', path, id })
          announced.add(path)
          continue
        }
        if (current.id !== undefined && unchanged(current.id, id)) continue
        const atomic = renamedOver?.has(path) === true && current.id !== undefined && !sameFile(current.id, id)
        out.push(atomic ? { kind: 'modified', path, id, atomic } : { kind: 'modified', path, id })
      } else {
        // The tail of a write already reported (the backend flushes the first event after a
        // quiet period at once, the rest ~50 ms later): same inode, size, times and content.
        if (current.id !== undefined && unchanged(current.id, id) && current.digest !== undefined && current.digest === digest) continue
        out.push({ kind: 'modified', path, id })
      }
    }
    result.changes.push(...pairRenames(out).map((c) => this.#change(c)))
    return result
  }

  /**
   * Rescans a directory (or the whole watched directory) and reports what differs from the
   * index, by inode, size and mtime.
   * @param dir - Absolute directory at or below the watched one.
   * @returns Changes, coverage requests for followed links, what went.
   */
  diff(dir: string): ReconcileResult {
    const result = emptyResult()
    const out: PendingChange[] = []
    if (statQuietly(dir, true)?.isDirectory() !== true) {
      if (dir === this.#dir) result.rootGone = true
      this.#removeInto(dir, out, result)
    } else {
      this.#diffInto(dir, out, result)
    }
    result.changes.push(...pairRenames(out).map((c) => this.#change(c)))
    return result
  }

  /**
   * Stats files known only by name, so that renames of them can be recognised.
   * @param paths - Paths from `index.withoutIdentity()`.
   */
  fill(paths: readonly string[]): void {
    for (const path of paths) {
      const entry = this.index.get(path)
      if (entry === undefined || entry.isDir || entry.id !== undefined) continue
      const st = statQuietly(path, this.#follow)
      if (st !== undefined) this.index.set(path, { isDir: false, id: identityOf(st) })
    }
  }

  #enterDir(path: string, st: Stats, out: PendingChange[], result: ReconcileResult): void {
    const real = this.#follow && statQuietly(path, false)?.isSymbolicLink() === true ? realQuietly(path) : undefined
    if (real !== undefined && isWithin(realQuietly(this.#dir) ?? this.#dir, real)) {
      // A link to an ancestor: not followed, reported as a file.
      if (this.index.get(path) === undefined && this.#filter.acceptsFile(relative(this.#dir, path))) {
        this.index.set(path, { isDir: false, id: identityOf(st) })
        out.push({ kind: 'created', path, id: identityOf(st) })
      }
      return
    }
    this.index.set(path, { isDir: true, id: identityOf(st) })
    result.entered.push(path)
    const subdirs = this.#diffInto(path, out, result)
    if (real !== undefined) result.cover.push({ kind: 'link-dir', path, real })
    else if (subdirs) result.cover.push({ kind: 'tree', path })
  }

  /** @returns whether the directory has sub-directories. */
  #diffInto(dir: string, out: PendingChange[], result: ReconcileResult): boolean {
    const seen = new Set<string>()
    let subdirs = false
    this.#scan(dir, true, (v) => {
      seen.add(v.path)
      const known = this.index.get(v.path)
      if (v.link !== undefined) result.cover.push(linkRequest(v))
      if (v.isDir) {
        subdirs = true
        if (known !== undefined && !known.isDir) this.#removeInto(v.path, out, result)
        if (known?.isDir !== true) result.entered.push(v.path)
        this.index.set(v.path, { isDir: true, id: v.id })
        return
      }
      if (known?.isDir === true) this.#removeInto(v.path, out, result)
      const before = this.index.get(v.path)
      this.index.set(v.path, { isDir: false, id: v.id })
      if (before === undefined) out.push({ kind: 'created', path: v.path, id: v.id })
      else if (before.id !== undefined && v.id !== undefined && !unchanged(before.id, v.id)) out.push({ kind: 'modified', path: v.path, id: v.id })
    })
    for (const path of this.index.below(dir)) {
      if (!seen.has(path) && this.index.get(path) !== undefined) this.#removeInto(path, out, result)
    }
    return subdirs
  }

  #removeInto(path: string, out: PendingChange[], result: ReconcileResult): void {
    const entry = this.index.get(path)
    if (entry?.isDir === true || this.#follow) result.gone.push(path)
    for (const [file, removed] of this.index.remove(path)) {
      if (this.#filter.acceptsFile(relative(this.#dir, file))) out.push({ kind: 'deleted', path: file, id: removed.id })
    }
  }

  #linkOf(path: string, st: Stats): string | undefined {
    if (!this.#follow || st.isSymbolicLink()) return undefined
    const l = statQuietly(path, false)
    return l?.isSymbolicLink() === true ? realQuietly(path) : undefined
  }

  #scan(dir: string, statFiles: boolean, visit: (v: ScanVisit) => void): void {
    const base = this.#dir
    scanTree(dir, { filter: this.#filter, base, follow: this.#follow, statFiles }, (v) => {
      if (!this.#skip.has(v.path)) visit(v)
    })
  }

  #change(c: PendingChange): FileChange {
    if (c.atomic === true && c.kind === 'modified') return { kind: c.kind, path: c.path, root: this.#root, atomic: true }
    return c.oldPath === undefined
      ? { kind: c.kind, path: c.path, root: this.#root }
      : { kind: c.kind, path: c.path, oldPath: c.oldPath, root: this.#root }
  }
}

/** Files up to this size get a content digest when reported from a live event. */
const DIGEST_LIMIT = 1024 * 1024

function digestOf(path: string, st: Stats): string | undefined {
  if (!st.isFile() || st.size > DIGEST_LIMIT) return undefined
  try {
    return createHash('sha1').update(readFileSync(path)).digest('base64')
  } catch {
    return undefined
  }
}

function emptyResult(): ReconcileResult {
  return { changes: [], cover: [], gone: [], entered: [], rootGone: false }
}

function linkRequest(v: ScanVisit): CoverageRequest {
  return { kind: v.link?.isDir === true ? 'link-dir' : 'link-file', path: v.path, real: v.link?.real }
}

/** A `created` whose inode was `deleted` in the same batch is a `renamed`. */
function pairRenames(out: PendingChange[]): PendingChange[] {
  const deleted = out.filter((c) => c.kind === 'deleted' && c.id !== undefined)
  if (deleted.length === 0) return out
  const used = new Set<PendingChange>()
  for (const c of out) {
    if (c.kind !== 'created' || c.id === undefined) continue
    const id = c.id
    const match = deleted.find((d) => !used.has(d) && d.id !== undefined && sameFile(d.id, id))
    if (match === undefined) continue
    used.add(match)
    c.kind = 'renamed'
    c.oldPath = match.path
  }
  return out.filter((c) => !used.has(c))
}
