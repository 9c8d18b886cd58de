import { stat } from 'node:fs/promises'
import type { BigIntStats } from 'node:fs'
import { ChangeDetectorError, fromFsError } from './errors.js'
import { readAndHash, readHex64 } from './hash-file.js'

/**
 * The outcome of {@link ChangeDetector.check} for one path.
 *
 * @example
 * ```ts
 * const status: ChangeStatus = (await detector.check('plugins/greeter.mjs')).status
 * if (status === 'added' || status === 'modified') console.log('reload greeter')
 * ```
 */
export type ChangeStatus = 'added' | 'modified' | 'unchanged' | 'removed'

/**
 * What {@link ChangeDetector.check} found for a file that exists: `hash` and `size` are always
 * set, so narrowing on `status` is enough to use them.
 *
 * @example
 * ```ts
 * const result = await new ChangeDetector().check('plugins/greeter.mjs')
 * if (result.status !== 'removed') console.log(result.hash, result.size) // both defined here
 * ```
 */
export interface FileCheck {
  /** The path as it was passed in. */
  readonly path: string
  /**
   * `added`: the detector had not seen the file (first check, or first since it was removed or
   * forgotten); `modified`: its content hash differs from the previous check's; `unchanged`:
   * same hash as at the previous check (a `touch` or an identical rebuild).
   */
  readonly status: 'added' | 'modified' | 'unchanged'
  /** FNV-1a 64 of the content now, as 16 lowercase hex digits. */
  readonly hash: string
  /** The hash at the previous check; undefined when `added`. */
  readonly previousHash: string | undefined
  /** Size in bytes now. */
  readonly size: number
  /** Whether the content was read for this answer (false when size and mtime allowed the fast path). */
  readonly read: boolean
}

/**
 * What {@link ChangeDetector.check} found for a path where no file is (deleted, renamed away,
 * never there, or gone while it was read).
 *
 * @example
 * ```ts
 * const result = await new ChangeDetector().check('plugins/gone.mjs')
 * if (result.status === 'removed') console.log('was', result.previousHash ?? 'never seen')
 * ```
 */
export interface RemovedCheck {
  /** The path as it was passed in. */
  readonly path: string
  /** Always `removed`. */
  readonly status: 'removed'
  /** Always undefined: there is no content. */
  readonly hash: undefined
  /** The hash at the previous check, when the detector had seen the file; undefined otherwise. */
  readonly previousHash: string | undefined
  /** Always undefined. */
  readonly size: undefined
  /** Always false. */
  readonly read: false
}

/**
 * What {@link ChangeDetector.check} found for a path: a {@link FileCheck} or a
 * {@link RemovedCheck}, told apart by `status`.
 *
 * @example
 * ```ts
 * const result: ChangeCheck = await new ChangeDetector().check('plugins/greeter.mjs')
 * if (result.status === 'added' || result.status === 'modified') console.log('reload', result.hash)
 * ```
 */
export type ChangeCheck = FileCheck | RemovedCheck

/**
 * Options of {@link ChangeDetector.check}.
 *
 * @example
 * ```ts
 * await new ChangeDetector().check('plugins/greeter.mjs', { verify: true }) // always reads the bytes
 * ```
 */
export interface CheckOptions {
  /** Read and hash the file even when its size and mtime say it is unchanged. Default false. */
  readonly verify?: boolean
}

/**
 * Options of {@link ChangeDetector}.
 *
 * @example
 * ```ts
 * const detector = new ChangeDetector({ racyWindowMs: 500, maxRereads: 5 })
 * ```
 */
export interface ChangeDetectorOptions {
  /**
   * How long after its mtime a file counts as "racy": a file hashed less than this after it was
   * last written is read again on the next check even when size and mtime match, because a
   * second write within the same timestamp tick would not move the mtime. Default 2000 ms.
   */
  readonly racyWindowMs?: number
  /** How many times a file that changes while it is read is read again before `UNSTABLE`. Default 3. */
  readonly maxRereads?: number
}

interface Observation {
  readonly hash: string
  readonly size: bigint
  readonly mtimeNs: bigint
  readonly ctimeNs: bigint
  readonly ino: bigint
  /** Re-read on the next check: the file was written too close to when it was hashed. */
  readonly racy: boolean
}

type Seen =
  | { readonly exists: false; readonly previousHash: string | undefined }
  | { readonly exists: true; readonly observation: Observation; readonly read: boolean; readonly previousHash: string | undefined }

/**
 * Tells whether files really changed, by content hash (FNV-1a 64), so that a touch or an
 * identical rebuild does not cause a reload.
 *
 * It remembers the last observation of each path it checked (size, mtime, inode, hash): each
 * check compares the file with it, and answers without reading the file when size and mtime
 * did not move (files written within `racyWindowMs` of being hashed are read again). Concurrent
 * checks of one path share one read and get the same answer.
 *
 * @example
 * ```ts
 * const detector = new ChangeDetector()
 * const result = await detector.check('plugins/greeter.mjs')
 * if (result.status === 'added' || result.status === 'modified') {
 *   console.log('reload: content is now', result.hash)
 * }
 * ```
 */
export class ChangeDetector {
  readonly #observed = new Map<string, Observation>()
  readonly #inflight = new Map<string, Promise<Seen>>()
  readonly #racyWindowNs: bigint
  readonly #maxRereads: number

  /**
   * @param options - racy window and re-read attempts; both optional
   * @throws {@link ChangeDetectorError} `INVALID_OPTIONS` for a negative racy window or a negative or non-integer `maxRereads`
   */
  constructor(options: ChangeDetectorOptions = {}) {
    const racy = options.racyWindowMs ?? 2000
    const rereads = options.maxRereads ?? 3
    if (!(racy >= 0) || !Number.isInteger(rereads) || rereads < 0) {
      throw new ChangeDetectorError(
        'INVALID_OPTIONS',
        `ChangeDetector: racyWindowMs must be a number >= 0 and maxRereads an integer >= 0, got ${String(racy)} and ${String(rereads)}`,
      )
    }
    this.#racyWindowNs = BigInt(Math.round(racy * 1e6))
    this.#maxRereads = rereads
  }

  /**
   * Compares a file with what this detector saw at its previous check of the path.
   *
   * @param path - the file to check
   * @param options - `verify: true` reads the file even when size and mtime match
   * @returns the status with the hash now and the hash before (`hash` is set unless `removed`)
   * @throws {@link ChangeDetectorError} `IS_DIRECTORY`, `PERMISSION_DENIED`, `UNSTABLE` (still being written after the re-reads) or `IO_ERROR`
   * @example
   * ```ts
   * const detector = new ChangeDetector()
   * const result = await detector.check('plugins/greeter.mjs', { verify: true })
   * if (result.status === 'modified') console.log(result.previousHash, '->', result.hash)
   * ```
   */
  async check(path: string, options: CheckOptions = {}): Promise<ChangeCheck> {
    const seen = await this.#see(path, options.verify === true)
    const { previousHash } = seen
    if (!seen.exists) return { path, status: 'removed', hash: undefined, previousHash, size: undefined, read: false }
    const { hash, size } = seen.observation
    const status = previousHash === undefined ? 'added' : previousHash === hash ? 'unchanged' : 'modified'
    return { path, status, hash, previousHash, size: Number(size), read: seen.read }
  }

  /**
   * Forgets what the detector saw of a path; its next check says `added` (or `removed`).
   *
   * @param path - the file
   * @returns whether anything was known about it
   * @example
   * ```ts
   * const detector = new ChangeDetector()
   * await detector.check('plugins/greeter.mjs')
   * detector.forget('plugins/greeter.mjs') // true
   * ```
   */
  forget(path: string): boolean {
    return this.#observed.delete(path)
  }

  #see(path: string, verify: boolean): Promise<Seen> {
    const running = this.#inflight.get(path)
    if (running !== undefined) return running
    const promise = this.#look(path, verify).finally(() => this.#inflight.delete(path))
    this.#inflight.set(path, promise)
    return promise
  }

  async #look(path: string, verify: boolean): Promise<Seen> {
    const previousHash = this.#observed.get(path)?.hash
    let current: BigIntStats
    try {
      current = await stat(path, { bigint: true })
    } catch (error) {
      if (isGone(error)) return this.#gone(path, previousHash)
      throw fromFsError(error, path)
    }
    if (current.isDirectory()) {
      throw new ChangeDetectorError('IS_DIRECTORY', `${path} is a directory; pass the path of a file`, { path })
    }
    const known = this.#observed.get(path)
    if (!verify && known !== undefined && !known.racy && sameFile(known, current)) {
      return { exists: true, observation: known, read: false, previousHash }
    }
    for (let attempt = 0; ; attempt++) {
      let read
      try {
        read = await readAndHash(path, 64)
      } catch (error) {
        if (error instanceof ChangeDetectorError && isGone(error.cause)) return this.#gone(path, previousHash)
        throw error
      }
      const { before, after } = read
      // Unlinked while we read it: deleted, or replaced by an atomic save (a new inode at the
      // same path). Only the path can tell; a replacement is read again below.
      const replaced =
        after.nlink === 0n
          ? await stat(path, { bigint: true }).catch((error: unknown) => {
              if (isGone(error)) return undefined
              throw fromFsError(error, path)
            })
          : undefined
      if (after.nlink === 0n && replaced === undefined) return this.#gone(path, previousHash)
      const stable = replaced === undefined && before.size === after.size && before.mtimeNs === after.mtimeNs && BigInt(read.bytes) === after.size
      if (stable) {
        const now = BigInt(Date.now()) * 1_000_000n
        const observation: Observation = {
          hash: readHex64(read),
          size: after.size,
          mtimeNs: after.mtimeNs,
          ctimeNs: after.ctimeNs,
          ino: after.ino,
          racy: now - after.mtimeNs < this.#racyWindowNs,
        }
        this.#observed.set(path, observation)
        return { exists: true, observation, read: true, previousHash }
      }
      if (attempt >= this.#maxRereads) {
        throw new ChangeDetectorError(
          'UNSTABLE',
          `${path} changed while it was being hashed (${attempt + 1} reads); it is still being written — check it again when the writer is done`,
          { path },
        )
      }
      await new Promise((resolve) => setTimeout(resolve, 5 * 2 ** attempt))
    }
  }

  #gone(path: string, previousHash: string | undefined): Seen {
    this.#observed.delete(path)
    return { exists: false, previousHash }
  }
}

function sameFile(known: Observation, current: BigIntStats): boolean {
  return known.size === current.size && known.mtimeNs === current.mtimeNs && known.ctimeNs === current.ctimeNs && known.ino === current.ino
}

function isGone(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  return code === 'ENOENT' || code === 'ENOTDIR'
}
