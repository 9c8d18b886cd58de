import { stat } from 'node:fs/promises'
import type { BigIntStats } from 'node:fs'
import { ChangeDetectorError, fromFsError } from './errors.js'
import { readAndHash, readHex64 } from './hash-file.js'

/** The outcome of {@link ChangeDetector.check} for one path. */
export type ChangeStatus = 'added' | 'modified' | 'unchanged' | 'removed'

/** What {@link ChangeDetector.check} found for a path. */
export interface ChangeCheck {
  /** The path as it was passed in. */
  readonly path: string
  /**
   * `added`: no baseline yet and the file exists; `modified`: its content hash differs from the
   * baseline; `unchanged`: same hash as the baseline; `removed`: the file does not exist (or
   * vanished while it was read). A path that neither exists nor has a baseline is `removed` with
   * no `previousHash`.
   */
  readonly status: ChangeStatus
  /** FNV-1a 64 of the content now, as 16 hex digits; undefined when removed. */
  readonly hash: string | undefined
  /** The committed baseline hash, if any. */
  readonly previousHash: string | undefined
  /** Size in bytes now; undefined when removed. */
  readonly size: number | undefined
  /** Whether the content was read for this answer (false when size and mtime allowed the fast path). */
  readonly read: boolean
}

/** Options of {@link ChangeDetector.check}. */
export interface CheckOptions {
  /** Read and hash the file even when its size and mtime say it is unchanged. Default false. */
  readonly verify?: boolean
}

/** What {@link ChangeDetector.scan} found: the differences and the paths it could not check. */
export interface ScanResult {
  /** Every path whose status is not `unchanged`, in the order of the input (then forgotten baselines). */
  readonly changes: readonly ChangeCheck[]
  /** Paths that could not be checked (directory, permission, unstable, I/O). */
  readonly errors: readonly ChangeDetectorError[]
}

/** Options of {@link ChangeDetector}. */
export interface ChangeDetectorOptions {
  /**
   * How long after its mtime a file counts as "racy": a file hashed less than this after it was
   * last written is read again on the next check even when size and mtime match, because a
   * second write within the same timestamp tick would not move the mtime. Default 2000 ms.
   */
  readonly racyWindowMs?: number
  /** How many times a file that changes while it is read is read again before `UNSTABLE`. Default 3. */
  readonly maxRereads?: number
  /** How many files {@link ChangeDetector.scan} reads at once. Default 16. */
  readonly scanConcurrency?: number
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

type Seen = { readonly exists: false } | { readonly exists: true; readonly observation: Observation; readonly read: boolean }

/**
 * Tells whether files really changed, by content hash (FNV-1a 64), so that a touch or an
 * identical rebuild does not cause a reload.
 *
 * It keeps two things per path: the last observation (size, mtime, inode, hash), used for the
 * fast path that answers without reading the file when size and mtime are unchanged; and the
 * committed baseline hash, which moves only on {@link ChangeDetector.commit} — so a change whose
 * reload failed is reported again on the next check. Concurrent checks of one path share one read.
 *
 * @example
 * ```ts
 * const detector = new ChangeDetector()
 * const result = await detector.check('plugins/greeter.mjs')
 * if (result.status === 'added' || result.status === 'modified') {
 *   await reload()
 *   detector.commit(result.path, result.hash!)
 * }
 * ```
 */
export class ChangeDetector {
  readonly #baseline = new Map<string, string>()
  readonly #observed = new Map<string, Observation>()
  readonly #inflight = new Map<string, Promise<Seen>>()
  readonly #racyWindowNs: bigint
  readonly #maxRereads: number
  readonly #scanConcurrency: number

  /**
   * @param options - racy window, re-read attempts and scan concurrency; all optional
   * @throws {@link ChangeDetectorError} `INVALID_ARGUMENT` for a negative or non-integer option
   */
  constructor(options: ChangeDetectorOptions = {}) {
    const racy = options.racyWindowMs ?? 2000
    const rereads = options.maxRereads ?? 3
    const concurrency = options.scanConcurrency ?? 16
    if (!(racy >= 0) || !Number.isInteger(rereads) || rereads < 0 || !Number.isInteger(concurrency) || concurrency < 1) {
      throw new ChangeDetectorError('INVALID_ARGUMENT', 'ChangeDetector: racyWindowMs must be >= 0, maxRereads an integer >= 0, scanConcurrency an integer >= 1')
    }
    this.#racyWindowNs = BigInt(Math.round(racy * 1e6))
    this.#maxRereads = rereads
    this.#scanConcurrency = concurrency
  }

  /**
   * Compares a file with its committed baseline.
   *
   * @param path - the file to check
   * @param options - `verify: true` reads the file even when size and mtime match
   * @returns the status, the hash now and the baseline hash
   * @throws {@link ChangeDetectorError} `IS_DIRECTORY`, `PERMISSION_DENIED`, `UNSTABLE` (still being written after the re-reads) or `IO_ERROR`
   * @example
   * ```ts
   * const { status, hash } = await detector.check('/srv/plugins/a.mjs', { verify: true })
   * ```
   */
  async check(path: string, options: CheckOptions = {}): Promise<ChangeCheck> {
    const seen = await this.#see(path, options.verify === true)
    const previousHash = this.#baseline.get(path)
    if (!seen.exists) {
      return { path, status: 'removed', hash: undefined, previousHash, size: undefined, read: false }
    }
    const { hash, size } = seen.observation
    const status: ChangeStatus = previousHash === undefined ? 'added' : previousHash === hash ? 'unchanged' : 'modified'
    return { path, status, hash, previousHash, size: Number(size), read: seen.read }
  }

  /**
   * Moves the baseline of a path to a hash: call it once the change was applied (the plugin
   * reloaded), so that later checks compare against it.
   *
   * @param path - the file
   * @param hash - the hash that is now live, as returned in {@link ChangeCheck.hash}
   * @returns nothing
   * @throws {@link ChangeDetectorError} `INVALID_ARGUMENT` when the hash is not 16 hex digits
   * @example
   * ```ts
   * detector.commit(result.path, result.hash!)
   * ```
   */
  commit(path: string, hash: string): void {
    if (!/^[0-9a-f]{16}$/.test(hash)) {
      throw new ChangeDetectorError('INVALID_ARGUMENT', `commit(${path}): expected a hash of 16 lowercase hex digits, got ${JSON.stringify(hash)}`, { path })
    }
    this.#baseline.set(path, hash)
  }

  /**
   * Forgets everything about a path (its baseline and last observation); the next check says `added`.
   *
   * @param path - the file
   * @returns whether anything was known about it
   * @throws never
   * @example
   * ```ts
   * detector.forget('/srv/plugins/old.mjs')
   * ```
   */
  forget(path: string): boolean {
    const known = this.#baseline.delete(path)
    return this.#observed.delete(path) || known
  }

  /**
   * The committed baseline hash of a path, if any.
   *
   * @param path - the file
   * @returns the hash, or undefined when nothing was committed
   * @throws never
   * @example
   * ```ts
   * detector.baseline('/srv/plugins/a.mjs') // '85944171f73967e8'
   * ```
   */
  baseline(path: string): string | undefined {
    return this.#baseline.get(path)
  }

  /**
   * Checks many paths for a reconcile: the given ones and every path that has a baseline (a
   * committed path missing from `paths` is checked too, so a deletion that no event reported is
   * found).
   *
   * @param paths - the files that exist now, as far as the caller knows
   * @param options - `verify: true` reads every file
   * @returns the paths that are not `unchanged`, and the errors of the paths that could not be checked
   * @throws never for a single path's failure (it goes to `errors`)
   * @example
   * ```ts
   * const { changes, errors } = await detector.scan(await listPluginFiles())
   * ```
   */
  async scan(paths: Iterable<string>, options: CheckOptions = {}): Promise<ScanResult> {
    const all = [...new Set([...paths, ...this.#baseline.keys()])]
    const results: (ChangeCheck | undefined)[] = new Array<ChangeCheck | undefined>(all.length)
    const errors: ChangeDetectorError[] = []
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < all.length) {
        const index = next++
        const path = all[index]!
        try {
          results[index] = await this.check(path, options)
        } catch (error) {
          errors.push(error instanceof ChangeDetectorError ? error : fromFsError(error, path))
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(this.#scanConcurrency, all.length) }, worker))
    const changes = results.filter((r): r is ChangeCheck => r !== undefined && r.status !== 'unchanged')
    return { changes, errors }
  }

  #see(path: string, verify: boolean): Promise<Seen> {
    const running = this.#inflight.get(path)
    if (running !== undefined) return running
    const promise = this.#look(path, verify).finally(() => this.#inflight.delete(path))
    this.#inflight.set(path, promise)
    return promise
  }

  async #look(path: string, verify: boolean): Promise<Seen> {
    let current: BigIntStats
    try {
      current = await stat(path, { bigint: true })
    } catch (error) {
      if (isGone(error)) return this.#gone(path)
      throw fromFsError(error, path)
    }
    if (current.isDirectory()) {
      throw new ChangeDetectorError('IS_DIRECTORY', `${path} is a directory; pass the path of a file`, { path })
    }
    const known = this.#observed.get(path)
    if (!verify && known !== undefined && !known.racy && sameFile(known, current)) {
      return { exists: true, observation: known, read: false }
    }
    for (let attempt = 0; ; attempt++) {
      let read
      try {
        read = await readAndHash(path, 64)
      } catch (error) {
        if (error instanceof ChangeDetectorError && isGone(error.cause)) return this.#gone(path)
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
      if (after.nlink === 0n && replaced === undefined) return this.#gone(path)
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
        return { exists: true, observation, read: true }
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

  #gone(path: string): Seen {
    this.#observed.delete(path)
    return { exists: false }
  }
}

function sameFile(known: Observation, current: BigIntStats): boolean {
  return known.size === current.size && known.mtimeNs === current.mtimeNs && known.ctimeNs === current.ctimeNs && known.ino === current.ino
}

function isGone(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  return code === 'ENOENT' || code === 'ENOTDIR'
}
