import type { FileHandle } from 'node:fs/promises'

/**
 * Group commit of directory fsyncs: many renames in one directory made at about the same
 * time share one `fsync` of the directory instead of one each.
 *
 * A caller calls {@link DirSyncer.sync} after its rename. If no fsync is running, one
 * starts. If one is running, it may have started before the rename, so the caller waits for
 * the next one, which starts as soon as the running one ends and is shared by everyone who
 * arrives meanwhile. So at most two fsyncs are ever pending, whatever the number of writers.
 *
 * @internal Used by the file adapter.
 */
export class DirSyncer {
  readonly #handle: FileHandle | undefined
  #running: Promise<void> | undefined
  #queued: Promise<void> | undefined
  #count = 0

  /** @param handle - An open handle of the directory; `undefined` where directories cannot be synced (Windows). */
  constructor(handle: FileHandle | undefined) {
    this.#handle = handle
  }

  /** How many directory fsyncs ran so far. */
  get count(): number {
    return this.#count
  }

  /** Resolves once an fsync of the directory that started after this call has finished. */
  sync(): Promise<void> {
    if (this.#queued !== undefined) return this.#queued
    if (this.#running === undefined) return this.#start()
    const queued = this.#running
      .catch(() => undefined)
      .then(() => {
        this.#queued = undefined
        return this.#start()
      })
    this.#queued = queued
    return queued
  }

  #start(): Promise<void> {
    const handle = this.#handle
    if (handle === undefined) return Promise.resolve()
    this.#count++
    const running: Promise<void> = handle.sync().finally(() => {
      if (this.#running === running) this.#running = undefined
    })
    this.#running = running
    return running
  }
}
