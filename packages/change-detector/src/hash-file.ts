import { open, type FileHandle } from 'node:fs/promises'
import type { BigIntStats } from 'node:fs'
import { ChangeDetectorError, fromFsError } from './errors.js'
import { FNV32_OFFSET, FNV64_OFFSET_HI, FNV64_OFFSET_LO, hex32, toBigInt, update32, update64, type State64 } from './kernel.js'

/**
 * Options of {@link hashFile}.
 *
 * @example
 * ```ts
 * const options: HashFileOptions = { bits: 32, bufferSize: 1 << 20 } // a number, read 1 MiB at a time
 * const hash = await hashFile('plugins/big.wasm', options)
 * ```
 */
export interface HashFileOptions {
  /** Hash width: 64 (default, a bigint) or 32 (a number). */
  readonly bits?: 32 | 64
  /** Size of the read buffer in bytes, reused for every read of the file. Default 64 KiB. */
  readonly bufferSize?: number
}

/**
 * Streams a file through FNV-1a and returns its hash, reading it through one reused buffer
 * instead of loading it whole, so a large file costs no more memory than a small one.
 *
 * @param path - the file to hash
 * @param options - `bits` (64 by default) and `bufferSize`
 * @returns the FNV-1a 64 hash as a bigint, or with `{ bits: 32 }` the FNV-1a 32 hash as a number
 * @throws {@link ChangeDetectorError} `IS_DIRECTORY`, `PERMISSION_DENIED` or `IO_ERROR` (ENOENT included, as the `cause`)
 * @example
 * ```ts
 * const hash = await hashFile('plugins/greeter.mjs')          // bigint
 * const small = await hashFile('plugins/greeter.mjs', { bits: 32 }) // number
 * ```
 */
export function hashFile(path: string, options: HashFileOptions & { readonly bits: 32 }): Promise<number>
export function hashFile(path: string, options?: HashFileOptions & { readonly bits?: 64 }): Promise<bigint>
export async function hashFile(path: string, options: HashFileOptions = {}): Promise<number | bigint> {
  const bits = options.bits ?? 64
  if (bits !== 32 && bits !== 64) {
    throw new ChangeDetectorError('INVALID_OPTIONS', `hashFile: bits must be 32 or 64, got ${String(bits)}`, { path })
  }
  const read = await readAndHash(path, bits, options.bufferSize)
  return bits === 32 ? read.h32 : toBigInt(read.lo, read.hi)
}

/** The result of one read of a file: its hash and the stats around the read. @internal */
export interface FileRead {
  readonly lo: number
  readonly hi: number
  readonly h32: number
  readonly bytes: number
  readonly before: BigIntStats
  readonly after: BigIntStats
}

/**
 * Opens, hashes and closes a file, with an fstat before and after the read so a caller can tell
 * whether the file changed (or was unlinked) while it was read. @internal
 */
export async function readAndHash(path: string, bits: 32 | 64, bufferSize = 65536): Promise<FileRead> {
  const buffer = takeBuffer(bufferSize)
  let handle: FileHandle
  try {
    handle = await open(path, 'r')
  } catch (error) {
    giveBuffer(buffer)
    throw fromFsError(error, path)
  }
  try {
    const before = await handle.stat({ bigint: true })
    if (before.isDirectory()) {
      throw new ChangeDetectorError('IS_DIRECTORY', `${path} is a directory; pass the path of a file`, { path })
    }
    const s: State64 = { lo: FNV64_OFFSET_LO, hi: FNV64_OFFSET_HI }
    let h32 = FNV32_OFFSET
    let bytes = 0
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, bytes)
      if (bytesRead === 0) break
      if (bits === 64) update64(s, buffer, 0, bytesRead)
      else h32 = update32(h32, buffer, 0, bytesRead)
      bytes += bytesRead
    }
    const after = await handle.stat({ bigint: true })
    return { lo: s.lo, hi: s.hi, h32, bytes, before, after }
  } catch (error) {
    throw error instanceof ChangeDetectorError ? error : fromFsError(error, path)
  } finally {
    giveBuffer(buffer)
    await handle.close()
  }
}

/** Formats a {@link FileRead}'s 64-bit hash as 16 hex digits. @internal */
export function readHex64(read: FileRead): string {
  return hex32(read.hi) + hex32(read.lo)
}

// A few read buffers are kept for reuse so that hashing many files does not allocate each time.
const pool: Buffer[] = []
const POOL_MAX = 8

function takeBuffer(size: number): Buffer {
  if (!Number.isInteger(size) || size < 1) {
    throw new ChangeDetectorError('INVALID_OPTIONS', `bufferSize must be a positive integer, got ${size}`)
  }
  const index = pool.findIndex((b) => b.length === size)
  if (index >= 0) return pool.splice(index, 1)[0]!
  return Buffer.allocUnsafe(size)
}

function giveBuffer(buffer: Buffer): void {
  if (pool.length < POOL_MAX) pool.push(buffer)
}
