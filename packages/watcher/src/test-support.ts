// Helpers for this package's tests (not part of the public surface, not bundled).
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Subscription } from 'rxjs'
import { afterEach, expect } from 'vitest'
import type { WatcherError } from './errors.js'
import type { FileChange } from './file-change.js'
import type { WatchOptions } from './options.js'
import { watch } from './watch.js'

/** Bound for every wait on the watcher (a busy 2-core CI machine). */
export const WAIT_MS = 8000

const made: string[] = []

/** A fresh temp directory (real path), removed by {@link removeTempDirs}. */
export function tempDir(prefix = 'hotswap-watcher-'): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), prefix)))
  made.push(dir)
  return dir
}

/** Removes every directory made by {@link tempDir}. */
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true })
}

interface Waiter {
  readonly check: () => boolean
  readonly resolve: () => void
}

/** Subscribes `watch` and records what it emits; every wait resolves on the event or fails after a bound. */
export class ChangeLog {
  readonly changes: FileChange[] = []
  /** `performance.now()` when each change arrived. */
  readonly times: number[] = []
  error: unknown
  readonly ready: Promise<void>
  readonly closed: Promise<WatcherError | undefined>
  readonly #subscription: Subscription
  #waiters: Waiter[] = []
  #isReady = false
  #mark = 0
  #sentinels = 0

  constructor(roots: string | readonly string[], options: WatchOptions = {}) {
    let ready!: () => void
    let closed!: (e: WatcherError | undefined) => void
    this.ready = new Promise((r) => (ready = r))
    this.closed = new Promise((r) => (closed = r))
    this.#subscription = watch(roots, {
      ...options,
      onReady: () => {
        options.onReady?.()
        this.#isReady = true
        ready()
        this.#wake()
      },
      onClose: (e) => closed(e),
    }).subscribe({
      next: (change) => {
        this.changes.push(change)
        this.times.push(performance.now())
        this.#wake()
      },
      error: (error: unknown) => {
        this.error = error
        this.#wake()
      },
    })
  }

  /** Starts and waits for `onReady` (or fails on an error or after the bound). */
  static async start(roots: string | readonly string[], options: WatchOptions = {}): Promise<ChangeLog> {
    const log = new ChangeLog(roots, options)
    await log.until(() => log.#isReady, 'onReady')
    return log
  }

  /** Resolves when `check` holds (re-checked on each change), rejects on an error or after `ms`. */
  until(check: () => boolean, what: string, ms: number = WAIT_MS): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter)
        reject(new Error(`timed out after ${ms} ms waiting for ${what}; got ${JSON.stringify(this.changes.slice(this.#mark))}`))
      }, ms)
      const waiter: Waiter = {
        check: () => {
          if (this.error !== undefined) {
            clearTimeout(timer)
            reject(this.error instanceof Error ? this.error : new Error(JSON.stringify(this.error)))
            return true
          }
          if (!check()) return false
          clearTimeout(timer)
          resolve()
          return true
        },
        resolve,
      }
      if (!waiter.check()) this.#waiters.push(waiter)
    })
  }

  /** Waits for a change of this kind and path after the mark. */
  async waitFor(kind: FileChange['kind'], path: string, ms: number = WAIT_MS): Promise<FileChange> {
    let found: FileChange | undefined
    await this.until(() => {
      found = this.changes.slice(this.#mark).find((c) => c.kind === kind && c.path === path)
      return found !== undefined
    }, `${kind} ${path}`, ms)
    return found!
  }

  /**
   * Writes a sentinel file into `dir` and waits for its `created`: the backend reports in
   * order, so everything caused before it has been emitted by then. Returns the changes since
   * the previous mark (sentinels left out) and moves the mark.
   */
  async settle(dir: string, ext = '.js'): Promise<FileChange[]> {
    const sentinel = join(dir, `zz-sentinel-${++this.#sentinels}${ext}`)
    writeFileSync(sentinel, 's')
    await this.waitFor('created', sentinel)
    const out = this.changes.slice(this.#mark).filter((c) => !c.path.includes('zz-sentinel-'))
    this.#mark = this.changes.length
    return out
  }

  /** Moves the mark to now: later waits only look at newer changes. */
  mark(): void {
    this.#mark = this.changes.length
  }

  /** Unsubscribes and waits for `onClose`. */
  async stop(): Promise<WatcherError | undefined> {
    this.#subscription.unsubscribe()
    let timer: NodeJS.Timeout | undefined
    const bound = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timed out waiting for onClose')), WAIT_MS)
    })
    try {
      return await Promise.race([this.closed, bound])
    } finally {
      clearTimeout(timer)
    }
  }

  #wake(): void {
    this.#waiters = this.#waiters.filter((w) => !w.check())
  }
}

/** What {@link changeLogs} hands a test file. */
export interface ChangeLogs {
  /** {@link ChangeLog.start}; the log is stopped after the test. */
  readonly start: (...args: ConstructorParameters<typeof ChangeLog>) => Promise<ChangeLog>
  /** Takes `log` off the list: the test stops it itself. */
  readonly release: (log: ChangeLog) => void
}

/**
 * Registers an `afterEach` that stops every log started through `start` (expecting each to
 * close without an error, unless `expectCleanClose` is false), then removes the temp directories.
 */
export function changeLogs({ expectCleanClose = true }: { expectCleanClose?: boolean } = {}): ChangeLogs {
  const logs: ChangeLog[] = []
  afterEach(async () => {
    for (const log of logs.splice(0)) {
      const error = await log.stop()
      if (expectCleanClose) expect(error).toBeUndefined()
    }
    removeTempDirs()
  })
  return {
    start: async (...args) => {
      const log = await ChangeLog.start(...args)
      logs.push(log)
      return log
    },
    release: (log) => {
      logs.splice(logs.indexOf(log), 1)
    },
  }
}

/** Short form of changes for assertions: `kind path` (paths relative to `dir`). */
export function summary(changes: readonly FileChange[], dir: string): string[] {
  const rel = (p: string): string => (p.startsWith(dir + '/') ? p.slice(dir.length + 1) : p)
  return changes.map((c) => (c.oldPath === undefined ? `${c.kind} ${rel(c.path)}` : `${c.kind} ${rel(c.oldPath)} -> ${rel(c.path)}`))
}
