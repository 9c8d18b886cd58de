import { Observable, asyncScheduler } from 'rxjs'
import type { MonoTypeOperatorFunction, SchedulerLike, Subscription } from 'rxjs'
import { DROP_KEY } from '@hotswap/operators'
import { foldPluginChange, type PluginChange } from './plugin-change.js'

/** What `stat` says about a file, enough to tell that it changed or was replaced. @internal */
export interface FileStamp {
  /** The inode: a new one means the file was replaced whole (a rename over it, an atomic save). */
  readonly ino: string
  /** Size in bytes. */
  readonly size: number
  /** Modification time, in nanoseconds, as a string. */
  readonly mtime: string
}

/** Options of {@link settle}. @internal */
export interface SettleOptions {
  /** How long changed files must stay the same (size, mtime, inode) before the change goes on. 0: no settling. */
  readonly settleMs: number
  /** Stamps of files now (undefined for a file that is gone); may answer synchronously. */
  readonly probe: (files: readonly string[]) => readonly (FileStamp | undefined)[] | Promise<readonly (FileStamp | undefined)[]>
  /** The stamp of a file when the plugin last read it, if it did. */
  readonly known: (plugin: string, file: string) => FileStamp | undefined
  /** The scheduler of the settle timers. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike
}

/**
 * Holds each plugin's change until the files written in place have stopped changing for
 * `settleMs` (their size, mtime and inode read the same twice, `settleMs` apart), so that a
 * writer pausing up to `settleMs` between chunks is never read half-written; a file that reads
 * empty (truncated, its bytes not yet written) is held until it has bytes, up to 1 s. A file replaced
 * whole (an event the watcher marked `atomic`, or a new inode: an atomic save, a rename over it),
 * a watcher-paired rename and a change that is not a file event (start, reconcile, trigger) are
 * complete by definition and pass at once. A deletion waits `settleMs` once: a plugin moved away
 * and another put in its place (an editor that renames the old file to a backup before writing,
 * a deployer that swaps folders with two renames) folds into one change, a reload, instead of an
 * unload that leaves callers with no plugin and a load after it. A change that arrives while
 * one is held is folded into it and the wait restarts.
 * On completion held changes are let through; unsubscribing cancels the timers.
 *
 * @internal
 */
export function settle(options: SettleOptions): MonoTypeOperatorFunction<PluginChange> {
  const { settleMs, probe, known } = options
  const scheduler = options.scheduler ?? asyncScheduler
  return (source) =>
    new Observable<PluginChange>((subscriber) => {
      const held = new Map<string, Held>()

      const release = (h: Held): void => {
        h.timer?.unsubscribe()
        held.delete(h.change.path)
        subscriber.next(h.change)
      }

      const check = (h: Held): void => {
        const gen = ++h.gen
        if (settleMs > 0 && !h.graced && h.change.cause === 'change' && h.change.kind === 'deleted') {
          h.graced = true // once: a deletion folded with another one passes at once
          h.timer?.unsubscribe()
          h.timer = scheduler.schedule(() => release(h), settleMs)
          return
        }
        const files = filesToSettle(h.change)
        if (settleMs <= 0 || files.length === 0) return release(h)
        const answer = probe(files)
        const go = (stamps: readonly (FileStamp | undefined)[]): void => {
          if (h.gen !== gen || held.get(h.change.path) !== h) return
          const watched: string[] = []
          let empty = false
          for (let i = 0; i < files.length; i++) {
            const before = known(h.change.path, files[i]!)
            const now = stamps[i]
            // Replaced whole since the plugin read it: complete, nothing to wait for.
            if (before !== undefined && now !== undefined && now.ino !== before.ino) continue
            if (now?.size === 0) empty = true
            watched.push(`${files[i]!}\0${stampKey(now)}`)
          }
          if (!empty) h.emptySince = undefined
          else h.emptySince ??= scheduler.now()
          const key = watched.join('\n')
          // An empty file is a writer between its truncation and its first write far more often
          // than a plugin (it is never one): it is held until it has bytes, for up to EMPTY_HOLD_MS.
          const holdEmpty = empty && scheduler.now() - h.emptySince! < EMPTY_HOLD_MS
          if (watched.length === 0 || (key === h.last && !holdEmpty)) return release(h)
          h.last = key
          h.timer?.unsubscribe()
          h.timer = scheduler.schedule(() => check(h), settleMs)
        }
        if (isPromise(answer)) answer.then(go, (error: unknown) => subscriber.error(error))
        else go(answer)
      }

      const subscription = source.subscribe({
        next: (change) => {
          const previous = held.get(change.path)
          if (previous === undefined) {
            const h: Held = { change, last: undefined, timer: undefined, gen: 0, emptySince: undefined, graced: false }
            held.set(change.path, h)
            check(h)
            return
          }
          const folded = foldPluginChange(previous.change, change)
          previous.timer?.unsubscribe()
          previous.timer = undefined
          if (folded === DROP_KEY) {
            previous.gen++
            held.delete(change.path)
            return
          }
          previous.change = folded
          previous.last = undefined
          check(previous)
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          for (const h of [...held.values()]) release(h)
          subscriber.complete()
        },
      })
      return () => {
        subscription.unsubscribe()
        for (const h of held.values()) h.timer?.unsubscribe()
        held.clear()
      }
    })
}

interface Held {
  change: PluginChange
  /** The stamps seen by the last probe, as one string. */
  last: string | undefined
  timer: Subscription | undefined
  /** Bumped on every check, so a late probe answer of an older check is ignored. */
  gen: number
  /** When a probe first found a file of the change empty (reset once none is). */
  emptySince: number | undefined
  /** Whether a deletion has had its one wait for a replacement. */
  graced: boolean
}

/**
 * How long a file written in place that reads empty is held past its settle window, waiting
 * for its bytes. A writer opens with `O_TRUNC` and writes after; on a loaded host that gap grows
 * with the load (100 writers at once through libuv's pool: up to 36 ms at load 2, 172 ms at load
 * 10 in the bench), past any settle window worth paying on every save. An empty file is never a
 * valid plugin, so holding it costs nothing but the report of a file emptied on purpose.
 */
const EMPTY_HOLD_MS = 1000

/**
 * The files of a change that were written in place and may still be changing. A file whose last
 * event is an atomic replace (the watcher's `atomic: true`: a rename onto it) is complete by
 * definition and is not even probed, so an atomic save costs the settle window nothing.
 */
function filesToSettle(change: PluginChange): string[] {
  if (change.cause !== 'change' || change.kind === 'renamed' || change.kind === 'deleted') return []
  const files = new Set<string>()
  for (const c of change.changes) {
    if (c.atomic === true) files.delete(c.path)
    else if (c.kind === 'created' || c.kind === 'modified') files.add(c.path)
  }
  return [...files]
}

function stampKey(stamp: FileStamp | undefined): string {
  return stamp === undefined ? 'absent' : `${stamp.ino}:${stamp.size}:${stamp.mtime}`
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function'
}
