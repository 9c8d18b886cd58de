import { basename, dirname, join, relative, sep } from 'node:path'
import { subscribeDir, eventsSince, type BackendEvent, type BackendSubscription } from './backend.js'
import { WatcherError } from './errors.js'
import { FastPath, needsBackend, type FastBurst } from './fast-path.js'
import type { FileChange } from './file-change.js'
import { isWithin } from './file-index.js'
import type { NormalizedOptions } from './options.js'
import { createPathFilter, escapeRegExp, onlyName, type PathFilter } from './path-filter.js'
import { Reconciler, type CoverageRequest, type ReconcileResult } from './reconciler.js'
import { listTree, nearestExistingDir, realQuietly, statQuietly } from './scan.js'
import { readSnapshot, snapshotTempPath, writeSnapshotAtomic } from './snapshot.js'

/** @internal What a root watcher needs from `watch`. */
export interface RootContext {
  readonly options: NormalizedOptions
  emit(change: FileChange): void
  fail(error: WatcherError): void
  /** Runs a task after every task queued before it (one queue for all roots). */
  enqueue(task: () => Promise<void> | void): void
}

/** Trees up to this many paths get their identities before `onReady`; bigger ones in the background. */
const SYNC_FILL_LIMIT = 2000
const FILL_CHUNK = 256

interface Sub {
  readonly kind: 'main' | 'tree' | 'link-dir' | 'link-file' | 'waiter'
  /** Logical path events are mapped to (a directory, or the link for `link-file`). */
  readonly logical: string
  /** Subscribed directory. */
  readonly real: string
  /** For `link-file`: the real file. */
  readonly target?: string
  handle: BackendSubscription | undefined
  closed: boolean
}

/**
 * Watches one root: subscribes the backend (the root, or the parent of a file root), keeps
 * the index through a {@link Reconciler}, adds subscriptions for new sub-trees and followed
 * links, waits for the root when it is missing, and writes the snapshot on close.
 * @internal
 */
export class RootWatcher {
  readonly root: string
  readonly #ctx: RootContext
  readonly #options: NormalizedOptions
  readonly #snapshot: string | undefined
  readonly #skip: Set<string>
  #dir: string
  #filter: PathFilter | undefined
  #rec: Reconciler | undefined
  #subs: Sub[] = []
  #scanned = false
  #announced: Set<string> | undefined
  #closed = false
  #fill: NodeJS.Immediate | undefined
  #fast: FastPath | undefined
  /** Set when a fast burst was left to the backend; cleared by the next backend batch. */
  #fastHold = false
  readonly #pending = new Set<Promise<void>>()

  /**
   * @param root - Absolute root path.
   * @param ctx - Emission, errors and the shared queue.
   */
  constructor(root: string, ctx: RootContext) {
    this.root = root
    this.#ctx = ctx
    this.#options = ctx.options
    this.#dir = root
    this.#snapshot = ctx.options.snapshotFile?.(root)
    this.#skip = new Set(this.#snapshot === undefined ? [] : [this.#snapshot, snapshotTempPath(this.#snapshot)])
  }

  /**
   * Subscribes and scans (emitting initial or catch-up changes), or starts waiting.
   * @returns Resolves when live or waiting.
   * @throws {@link WatcherError} `ROOT_NOT_FOUND`, `SNAPSHOT_UNREADABLE`, `WATCH_LIMIT`, `BACKEND_ERROR`.
   */
  async start(): Promise<void> {
    const st = statQuietly(this.root, true)
    if (st === undefined) {
      if (!this.#options.waitForRoot) {
        throw new WatcherError('ROOT_NOT_FOUND', `Root ${this.root} does not exist; create it or pass waitForRoot: true to wait for it.`)
      }
      await this.#wait()
      return
    }
    await this.#activate(true)
  }

  /**
   * Rescans the root and emits what the events missed.
   * @returns Resolves when done.
   */
  async reconcile(): Promise<void> {
    if (this.#closed || this.#rec === undefined || !this.#scanned) return
    await this.#publish(this.#rec.diff(this.#dir))
  }

  /**
   * Releases every native subscription, then writes the snapshot (unless the watch failed:
   * changes after the failure were not reported, so the old snapshot stays).
   * @param failed - The watch ended with an error.
   * @returns The first error met, if any.
   */
  async close(failed: boolean): Promise<WatcherError | undefined> {
    this.#closed = true
    if (this.#fill !== undefined) clearImmediate(this.#fill)
    this.#stopFast()
    await Promise.allSettled([...this.#pending])
    const live = this.#subs.some((s) => s.kind === 'main' && s.handle !== undefined)
    const results = await Promise.allSettled(this.#subs.map((s) => this.#drop(s)))
    let error = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')?.reason as WatcherError | undefined
    if (this.#snapshot !== undefined && !failed && live && this.#scanned && this.#filter !== undefined && statQuietly(this.#dir, true)?.isDirectory() === true) {
      try {
        await writeSnapshotAtomic(realQuietly(this.#dir) ?? this.#dir, this.#snapshot, this.#ignoreFor(this.#filter.nativeIgnore))
      } catch (cause) {
        error ??= cause as WatcherError
      }
    }
    return error
  }

  async #activate(first: boolean): Promise<void> {
    const st = statQuietly(this.root, true)
    if (st === undefined) return this.#wait()
    const fileRoot = !st.isDirectory()
    this.#dir = fileRoot ? dirname(this.root) : this.root
    const filter = createPathFilter({
      include: this.#options.include,
      exclude: this.#options.exclude,
      recursive: this.#options.recursive,
      ...(fileRoot ? { only: basename(this.root) } : {}),
    })
    this.#filter = filter
    const rec = new Reconciler(this.root, this.#dir, filter, this.#options.followSymlinks, this.#skip)
    this.#rec = rec
    this.#scanned = false
    const real = realQuietly(this.#dir) ?? this.#dir
    const main: Sub = { kind: 'main', logical: this.#dir, real, handle: undefined, closed: false }
    const ignore = this.#ignoreFor(filter.nativeIgnore)
    const useSnapshot = first && this.#snapshot !== undefined && !this.#options.initial
    let announce = !first || this.#options.initial
    // A plain start (nothing to announce, no snapshot) lists the tree while the backend
    // subscribes: the backend crawls on its own thread, so the listing costs little extra
    // time. What is created or deleted while both run may be missing from (or linger in) the
    // index, so only the changes after onReady are promised, as with the bare backend.
    // `initial` and snapshots subscribe first and walk the tree second, so nothing falls
    // between the two.
    const plain = !announce && !useSnapshot
    // The backend's crawl starts first (subscribeDir calls it before its first await), then
    // the listing, whose first slice runs at once. Not for links to follow or a root reached
    // through a link (paths must be the logical ones).
    const subscribing = this.#subscribe(main, ignore)
    const listing = plain && !this.#options.followSymlinks && real === this.#dir ? listTree(this.#dir, filter) : undefined
    // Settled either way: a listing that fails falls back to the walk below.
    const listed = listing?.catch(() => undefined)
    if (!(await subscribing)) {
      await listed
      return this.#wait()
    }
    for (const sub of this.#subs.filter((s) => s.kind === 'waiter')) await this.#drop(sub)

    let catchUp: readonly BackendEvent[] | undefined
    let before: Map<string, boolean> | undefined
    if (useSnapshot && this.#snapshot !== undefined) {
      try {
        before = readSnapshot(this.#snapshot, real)
      } catch (error) {
        if (this.#options.onSnapshotError === 'error') throw error
      }
      if (before === undefined) announce = true
      else catchUp = await eventsSince(real, this.#snapshot, ignore)
    }
    const tree = await listed
    const populated = tree === undefined ? rec.populate(announce) : rec.populateFrom(tree)
    const announced = new Set(populated.changes.map((c) => c.path))
    const result = catchUp === undefined || before === undefined ? populated : { ...populated, changes: this.#catchUp(catchUp, before, real, announced) }
    this.#announced = announced
    this.#scanned = true
    await this.#publish(result)
    this.#startFill()
    this.#startFast()
  }

  /**
   * Starts the low-latency path on the watched directory and every directory below it that
   * the filter keeps (up to the fast path's limit; directories that come later are added). Not with `followSymlinks` (events would have
   * to be mapped through the links): the backend alone serves those.
   */
  #startFast(): void {
    this.#stopFast()
    const rec = this.#rec
    const filter = this.#filter
    if (this.#closed || rec === undefined || filter === undefined || this.#options.followSymlinks) return
    const fast = new FastPath((burst) => this.#ctx.enqueue(() => this.#onFast(fast, burst)))
    this.#fast = fast
    if (!fast.add(this.#dir)) return
    for (const [path, isDir] of rec.index.paths()) {
      if (!isDir || !filter.acceptsDir(relative(this.#dir, path))) continue
      if (!fast.add(path)) break
    }
  }

  #stopFast(): void {
    this.#fast?.close()
    this.#fast = undefined
    this.#fastHold = false
  }

  /**
   * Applies a fast-path burst like a backend batch, unless {@link needsBackend} says it is the
   * backend's to pair: then it, and every burst after it until the next backend batch, is
   * left to the backend.
   */
  async #onFast(fast: FastPath, burst: FastBurst): Promise<void> {
    const rec = this.#rec
    if (this.#closed || fast !== this.#fast || rec === undefined || !this.#scanned || this.#fastHold) return
    if (needsBackend(burst.events, rec.index, fast.complete)) {
      this.#fastHold = true
      return
    }
    await this.#publish(rec.apply(burst.events, false, undefined, { renamedOver: burst.renamedOver }))
  }

  /**
   * What changed since the snapshot: created and deleted by comparing the snapshot with the
   * walk made after subscribing (the backend's own tree misses files created while it was
   * subscribing), modified from the backend's mtime comparison.
   */
  #catchUp(events: readonly BackendEvent[], before: Map<string, boolean>, real: string, announced: Set<string>): FileChange[] {
    const rec = this.#rec!
    const filter = this.#filter!
    const out: FileChange[] = []
    const wasFile = (path: string): boolean => before.get(real === this.#dir ? path : join(real, relative(this.#dir, path))) === false
    for (const event of events) {
      if (event.type !== 'update') continue
      const path = this.#mapReal(event.path, real, this.#dir)
      if (path === undefined || this.#skip.has(path)) continue
      const entry = rec.index.get(path)
      if (entry !== undefined && !entry.isDir && wasFile(path)) out.push({ kind: 'modified', path, root: this.root })
    }
    for (const [path, isDir] of rec.index.paths()) {
      if (isDir || wasFile(path)) continue
      announced.add(path)
      out.push({ kind: 'created', path, root: this.root })
    }
    for (const [realPath, isDir] of before) {
      const path = this.#mapReal(realPath, real, this.#dir)
      if (isDir || path === undefined || path === this.#dir || this.#skip.has(path) || rec.index.get(path)?.isDir === false) continue
      if (filter.acceptsFile(relative(this.#dir, path))) out.push({ kind: 'deleted', path, root: this.root })
    }
    return out
  }

  #startFill(): void {
    const rec = this.#rec
    if (rec === undefined) return
    if (rec.index.size <= SYNC_FILL_LIMIT) {
      rec.fill(rec.index.withoutIdentity())
      return
    }
    let todo: string[] | undefined
    const step = (from: number): void => {
      this.#fill = undefined
      if (this.#closed || this.#rec !== rec) return
      todo ??= rec.index.withoutIdentity()
      rec.fill(todo.slice(from, from + FILL_CHUNK))
      if (from + FILL_CHUNK < todo.length) this.#fill = setImmediate(step, from + FILL_CHUNK)
    }
    this.#fill = setImmediate(step, 0)
  }

  /** Waits for the root (or the parent of a file root) to exist, watching its nearest existing ancestor. */
  async #wait(): Promise<void> {
    this.#stopFast()
    for (;;) {
      if (this.#closed) return
      for (const sub of this.#subs.filter((s) => s.kind !== 'waiter')) await this.#drop(sub)
      if (statQuietly(this.root, true) !== undefined) return this.#activate(false)
      const ancestor = nearestExistingDir(dirname(this.root))
      const chain = relative(ancestor, this.root).split(sep)
      const allowed = chain.map((_, i) => escapeRegExp(chain.slice(0, i + 1).join('/')))
      const ignore = [new RegExp(`^(?!(?:${allowed.join('|')})$)`)]
      const previous = this.#subs.filter((s) => s.kind === 'waiter')
      const waiter: Sub = { kind: 'waiter', logical: ancestor, real: ancestor, handle: undefined, closed: false }
      const ok = await this.#subscribe(waiter, ignore)
      for (const sub of previous) await this.#drop(sub)
      // Anything created while subscribing is seen by this check; anything after, by the waiter.
      if (ok && statQuietly(this.root, true) === undefined && nearestExistingDir(dirname(this.root)) === ancestor) return
      await this.#drop(waiter)
    }
  }

  async #recheckWait(sub: Sub): Promise<void> {
    if (sub.closed || this.#closed || this.#subs.some((s) => s.kind === 'main')) return
    if (statQuietly(this.root, true) !== undefined || nearestExistingDir(dirname(this.root)) !== sub.real) await this.#wait()
  }

  async #onBatch(sub: Sub, events: readonly BackendEvent[], early: boolean): Promise<void> {
    if (sub.closed || this.#closed) return
    if (sub.kind === 'waiter') return this.#recheckWait(sub)
    const rec = this.#rec
    if (rec === undefined) return
    if (!early) this.#announced = undefined
    const mapped: BackendEvent[] = []
    for (const event of events) {
      const path = sub.kind === 'link-file'
        ? (event.path === sub.target ? sub.logical : undefined)
        : this.#mapReal(event.path, sub.real, sub.logical)
      if (path === undefined) continue
      if (sub.kind !== 'link-file' && this.#owner(path) !== sub) continue
      mapped.push({ path, type: event.type })
    }
    this.#fastHold = false
    if (mapped.length === 0) return
    const entered = this.#fast?.covers(mapped.map((e) => e.path)) === true
    await this.#publish(rec.apply(mapped, early, this.#announced, { entered }))
  }

  /** Emits a result, drops subscriptions of what went, adds the coverage asked for. */
  async #publish(result: ReconcileResult): Promise<void> {
    const fast = this.#fast
    for (const change of result.changes) {
      this.#ctx.emit(change)
      if (fast !== undefined && change.kind !== 'deleted') fast.add(dirname(change.path))
    }
    if (fast !== undefined) for (const dir of result.entered) fast.add(dir)
    for (const gone of result.gone) {
      fast?.removeWithin(gone)
      for (const sub of this.#subs.filter((s) => s.kind !== 'main' && s.kind !== 'waiter' && isWithin(s.logical, gone))) this.#track(this.#drop(sub))
    }
    if (result.rootGone) {
      this.#rec = undefined
      await this.#wait()
      return
    }
    for (const request of result.cover) await this.#cover(request)
  }

  async #cover(request: CoverageRequest): Promise<void> {
    if (this.#closed || this.#rec === undefined) return
    const filter = this.#filter!
    const exists = this.#subs.find((s) => s.logical === request.path && s.kind === request.kind && !s.closed)
    if (exists !== undefined && (request.real === undefined || exists.target === request.real || exists.real === request.real)) return
    if (exists !== undefined) await this.#drop(exists)
    let sub: Sub
    if (request.kind === 'link-file') {
      const target = request.real!
      sub = { kind: 'link-file', logical: request.path, real: dirname(target), target, handle: undefined, closed: false }
      if (!(await this.#subscribe(sub, [onlyName(basename(target))]))) return
      // A change between the scan and this subscription.
      await this.#publish(this.#rec.apply([{ path: request.path, type: 'create' }], false, undefined))
      return
    }
    const real = request.real ?? realQuietly(request.path) ?? request.path
    sub = { kind: request.kind, logical: request.path, real, handle: undefined, closed: false }
    if (!(await this.#subscribe(sub, filter.nestedIgnore))) return
    // Subscribed first, scanned second: whatever appeared meanwhile is in this diff.
    if (this.#rec !== undefined) await this.#publish(this.#rec.diff(request.path))
  }

  /** The subscription that reports a path: the deepest directory subscription strictly above it. */
  #owner(path: string): Sub | undefined {
    let best: Sub | undefined
    for (const sub of this.#subs) {
      if (sub.closed || sub.handle === undefined || sub.kind === 'link-file' || sub.kind === 'waiter') continue
      if (path === sub.logical ? sub.kind !== 'main' : !isWithin(path, sub.logical)) continue
      if (best === undefined || sub.logical.length > best.logical.length) best = sub
    }
    return best
  }

  async #subscribe(sub: Sub, ignore: readonly (string | RegExp)[]): Promise<boolean> {
    this.#subs.push(sub)
    try {
      const handle = await subscribeDir(
        sub.real,
        ignore,
        (events) => {
          const early = !this.#scanned
          const run = (): void => this.#ctx.enqueue(() => this.#onBatch(sub, events, early))
          // Events the fast path also saw: let its burst (read on this thread, at most one turn
          // of the event loop behind) go first, so that it reports them and this batch only
          // confirms them.
          if (this.#fast?.covers(events.map((e) => e.path)) === true) setTimeout(run, 1)
          else run()
        },
        (error) => this.#ctx.fail(error),
      )
      if (sub.closed || this.#closed) {
        await handle.unsubscribe()
        return false
      }
      sub.handle = handle
      return true
    } catch (error) {
      this.#subs = this.#subs.filter((s) => s !== sub)
      sub.closed = true
      // The directory vanished while subscribing: not an error, the events will tell.
      if (statQuietly(sub.real, true)?.isDirectory() !== true) return false
      throw error
    }
  }

  async #drop(sub: Sub): Promise<void> {
    sub.closed = true
    this.#subs = this.#subs.filter((s) => s !== sub)
    await sub.handle?.unsubscribe()
  }

  #track(promise: Promise<void>): void {
    const p = promise.catch((error: unknown) => this.#ctx.fail(error as WatcherError)).finally(() => this.#pending.delete(p))
    this.#pending.add(p)
  }

  #mapReal(path: string, real: string, logical: string): string | undefined {
    if (!isWithin(path, real)) return undefined
    return real === logical ? path : join(logical, path.slice(real.length))
  }

  #ignoreFor(ignore: readonly (string | RegExp)[]): Array<string | RegExp> {
    return [...ignore, ...this.#skip]
  }
}
