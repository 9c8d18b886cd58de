import { mkdir, open, readdir, readFile, realpath, rename, rm, unlink } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { AdapterContext, StateAdapter } from './adapter.js'
import { acquireDirLock, errnoOf, isProcessAlive } from './dir-lock.js'
import type { DirLock } from './dir-lock.js'
import { DirSyncer } from './dir-syncer.js'
import { StateStoreError } from './errors.js'
import { decodeSnapshotFile, encodeSnapshotFile, FILE_FORMAT_VERSION } from './file-format.js'
import { isValidPluginId, validatePluginId } from './plugin-id.js'
import type { StateSnapshot } from './snapshot.js'

/**
 * Options of {@link fileAdapter}.
 *
 * @example
 * ```ts
 * const options: FileAdapterOptions = { dir: '/var/lib/myhost/state', fileMode: 0o640 }
 * const store = await createStateStore({ adapter: fileAdapter(options) })
 * ```
 */
export interface FileAdapterOptions {
  /** The state directory; created (with parents) on open. One store per directory. */
  readonly dir: string
  /** The mode of snapshot files. Default `0o600` (owner only: state may hold secrets). */
  readonly fileMode?: number
}

/**
 * Creates the embedded, crash-safe adapter: one file per snapshot in one directory.
 *
 * Layout: snapshot number `n` of plugin `id` is `dir/<id>@<n>.snap` (the id rule keeps `@`,
 * `/`, `\` and leading dots out of ids, so no id can name a file outside `dir` or collide
 * with another id). `dir/.lock` holds the owner's pid; temp files start with `.`; a corrupt
 * file is renamed to `<name>.corrupt-<UTC time>` and kept.
 *
 * Durability: each snapshot is written to a temp file in `dir`, fsynced, renamed over its
 * final name, and `dir` is fsynced before `put` resolves; saves running at the same time
 * share directory fsyncs. A process killed at any moment leaves every snapshot file either
 * absent or whole; leftover temp files are removed on the next open. Each file carries a
 * format number and a SHA-256 checksum (see {@link FILE_FORMAT_VERSION}): damaged files are
 * set aside and reported as `corrupt` events, newer formats are refused with
 * `UNSUPPORTED_VERSION` and left untouched, format-1 files are migrated in place on read.
 *
 * Creating the adapter touches nothing; its `open` (called by `createStateStore`) rejects with
 * `LOCKED` when a running process holds `dir` (the message and `details.pid` name it) and
 * `IO_ERROR` when `dir` cannot be created or read.
 *
 * @param options - `dir` (required) and `fileMode`.
 * @returns A {@link StateAdapter} to pass to `createStateStore`.
 * @example
 * ```ts
 * const store = await createStateStore({ adapter: fileAdapter({ dir: '/var/lib/myhost/state' }) })
 * ```
 */
export function fileAdapter(options: FileAdapterOptions): StateAdapter {
  return new FileAdapter(resolve(options.dir), options.fileMode ?? 0o600)
}

const SNAPSHOT_NAME = /^([a-z0-9][a-z0-9._-]{0,63})@([1-9]\d{0,14})\.snap$/
const TEMP_NAME = /^\..*\.tmp$/
const LOCK_TEMP_NAME = /^\.lock\.(\d+)\..*\.tmp$/

class FileAdapter implements StateAdapter {
  readonly name: string
  readonly #dir: string
  readonly #fileMode: number
  #state: 'new' | 'opening' | 'open' | 'closed' = 'new'
  #context: AdapterContext | undefined
  #lock: DirLock | undefined
  #dirHandle: FileHandle | undefined
  #syncer = new DirSyncer(undefined)
  /** Snapshot numbers per id, ascending. */
  #index = new Map<string, number[]>()
  /** Highest number handed out per id in this session (never reused while open). */
  #last = new Map<string, number>()
  #inFlight = new Set<Promise<unknown>>()
  #tempCounter = 0

  constructor(dir: string, fileMode: number) {
    this.#dir = dir
    this.#fileMode = fileMode
    this.name = `file:${dir}`
  }

  async open(context: AdapterContext): Promise<void> {
    if (this.#state !== 'new') throw this.#closedError('open() can only be called once')
    this.#state = 'opening'
    this.#context = context
    try {
      await mkdir(this.#dir, { recursive: true }).catch((error: unknown) => {
        throw this.#io('create the state directory', this.#dir, error)
      })
      const dir = await realpath(this.#dir)
      this.#lock = await acquireDirLock(dir, (previousPid) =>
        this.#emit({ type: 'lockTakenOver', location: join(dir, '.lock'), previousPid }),
      )
      for (const entry of await readdir(this.#dir)) {
        if (TEMP_NAME.test(entry)) {
          // Left by a process killed mid-write (never renamed, so never a snapshot), or by
          // one killed while taking the lock; a live process's lock attempt is left alone.
          const lockAttempt = LOCK_TEMP_NAME.exec(entry)
          if (lockAttempt === null || !isProcessAlive(Number(lockAttempt[1]))) await rm(join(this.#dir, entry), { force: true })
          continue
        }
        const match = SNAPSHOT_NAME.exec(entry)
        if (match === null) continue
        const [, id = '', seq = ''] = match
        if (!isValidPluginId(id)) continue
        const list = this.#index.get(id) ?? []
        list.push(Number(seq))
        this.#index.set(id, list)
      }
      for (const list of this.#index.values()) list.sort((a, b) => a - b)
      if (process.platform !== 'win32') {
        this.#dirHandle = await open(this.#dir, 'r')
        this.#syncer = new DirSyncer(this.#dirHandle)
      }
      this.#state = 'open'
    } catch (error) {
      this.#state = 'closed'
      await this.#lock?.release()
      await this.#dirHandle?.close()
      throw error instanceof StateStoreError ? error : this.#io('open', this.#dir, error)
    }
  }

  put(snapshot: StateSnapshot, keep: number): Promise<void> {
    return this.#run(async () => {
      const id = snapshot.pluginId
      validatePluginId(id)
      const seqs = this.#index.get(id) ?? []
      const seq = Math.max(seqs.at(-1) ?? 0, this.#last.get(id) ?? 0) + 1
      this.#last.set(id, seq)
      const target = this.#path(id, seq)
      await this.#writeDurably(target, encodeSnapshotFile(snapshot))
      seqs.push(seq)
      this.#index.set(id, seqs)
      await this.#syncDir(target)
      // Older snapshots beyond `keep`: an unlink lost in a power cut only leaves extra history.
      while (seqs.length > Math.max(1, keep)) {
        const old = seqs.shift()!
        await unlink(this.#path(id, old)).catch((error: unknown) => {
          if (errnoOf(error) !== 'ENOENT') throw this.#io('remove old snapshot', this.#path(id, old), error)
        })
      }
    })
  }

  list(pluginId: string, limit: number): Promise<StateSnapshot[]> {
    return this.#run(() => this.#list(pluginId, limit))
  }

  pop(pluginId: string): Promise<boolean> {
    return this.#run(async () => {
      const [top] = await this.#list(pluginId, 1)
      const seqs = this.#index.get(pluginId)
      const seq = seqs?.at(-1)
      if (top === undefined || seqs === undefined || seq === undefined) return false
      const path = this.#path(pluginId, seq)
      await unlink(path).catch((error: unknown) => {
        if (errnoOf(error) !== 'ENOENT') throw this.#io('remove snapshot', path, error)
      })
      seqs.pop()
      if (seqs.length === 0) this.#index.delete(pluginId)
      await this.#syncDir(path)
      return true
    })
  }

  remove(pluginId: string): Promise<void> {
    return this.#run(async () => {
      validatePluginId(pluginId)
      const seqs = this.#index.get(pluginId) ?? []
      // Oldest first: a crash half-way leaves the current snapshot (as if not cleared), never
      // an older one promoted to current.
      while (seqs.length > 0) {
        const path = this.#path(pluginId, seqs[0]!)
        await unlink(path).catch((error: unknown) => {
          if (errnoOf(error) !== 'ENOENT') throw this.#io('remove snapshot', path, error)
        })
        seqs.shift()
      }
      this.#index.delete(pluginId)
      await this.#syncDir(this.#dir)
    })
  }

  ids(): Promise<string[]> {
    return this.#run(() => Promise.resolve([...this.#index.keys()].filter((id) => this.#index.get(id)!.length > 0).sort()))
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return
    this.#state = 'closed'
    await Promise.allSettled(this.#inFlight)
    await this.#dirHandle?.close().catch(() => undefined)
    this.#dirHandle = undefined
    await this.#lock?.release()
    this.#lock = undefined
    this.#index.clear()
  }

  async #list(pluginId: string, limit: number): Promise<StateSnapshot[]> {
    validatePluginId(pluginId)
    const seqs = this.#index.get(pluginId)
    if (seqs === undefined) return []
    const out: StateSnapshot[] = []
    for (const seq of [...seqs].reverse()) {
      if (out.length >= limit) break
      const path = this.#path(pluginId, seq)
      let bytes: Buffer
      try {
        bytes = await readFile(path)
      } catch (error) {
        if (errnoOf(error) !== 'ENOENT') throw this.#io('read snapshot', path, error)
        dropSeq(seqs, seq)
        continue
      }
      try {
        const decoded = decodeSnapshotFile(bytes, pluginId, path)
        if (decoded.format < FILE_FORMAT_VERSION) await this.#migrate(path, decoded.snapshot, decoded.format)
        out.push(decoded.snapshot)
      } catch (error) {
        if (!(error instanceof StateStoreError) || error.code !== 'CORRUPT') throw error
        dropSeq(seqs, seq)
        const movedTo = await this.#quarantine(path)
        this.#emit({ type: 'corrupt', pluginId, location: path, movedTo, error })
      }
    }
    if (seqs.length === 0) this.#index.delete(pluginId)
    return out
  }

  async #migrate(path: string, snapshot: StateSnapshot, from: number): Promise<void> {
    await this.#writeDurably(path, encodeSnapshotFile(snapshot))
    await this.#syncDir(path)
    this.#emit({ type: 'migrated', pluginId: snapshot.pluginId, location: path, fromFormat: from, toFormat: FILE_FORMAT_VERSION })
  }

  async #quarantine(path: string): Promise<string | undefined> {
    const stamp = new Date().toISOString().replace(/[-:.]/g, '')
    const movedTo = `${path}.corrupt-${stamp}-${process.pid}-${++this.#tempCounter}`
    try {
      await rename(path, movedTo)
    } catch {
      return undefined // left where it is; the corrupt event says so
    }
    await this.#syncDir(movedTo)
    return movedTo
  }

  async #writeDurably(target: string, bytes: Buffer): Promise<void> {
    const name = target.slice(this.#dir.length + 1)
    const temp = join(this.#dir, `.${name}.${process.pid}-${++this.#tempCounter}.tmp`)
    try {
      const handle = await open(temp, 'wx', this.#fileMode)
      try {
        await handle.writeFile(bytes)
        await handle.datasync()
      } finally {
        await handle.close()
      }
      await rename(temp, target)
    } catch (error) {
      await rm(temp, { force: true }).catch(() => undefined)
      throw this.#io('write snapshot', target, error)
    }
  }

  async #syncDir(about: string): Promise<void> {
    try {
      await this.#syncer.sync()
    } catch (error) {
      throw this.#io('fsync the state directory after writing', about, error)
    }
  }

  #path(id: string, seq: number): string {
    return join(this.#dir, `${id}@${seq}.snap`)
  }

  #run<R>(work: () => Promise<R>): Promise<R> {
    if (this.#state !== 'open') {
      return Promise.reject(this.#closedError(this.#state === 'closed' ? 'the adapter is closed' : 'the adapter is not open yet'))
    }
    const running = work()
    this.#inFlight.add(running)
    void running.then(
      () => this.#inFlight.delete(running),
      () => this.#inFlight.delete(running),
    )
    return running
  }

  #emit(event: Parameters<AdapterContext['emit']>[0]): void {
    this.#context?.emit(event)
  }

  #closedError(message: string): StateStoreError {
    return new StateStoreError('CLOSED', `${this.name}: ${message}`)
  }

  #io(action: string, path: string, cause: unknown): StateStoreError {
    if (cause instanceof StateStoreError) return cause
    return new StateStoreError('IO_ERROR', `cannot ${action} ${path}: ${String(cause)}`, { cause, details: { path } })
  }
}

function dropSeq(seqs: number[], seq: number): void {
  const at = seqs.indexOf(seq)
  if (at >= 0) seqs.splice(at, 1)
}
