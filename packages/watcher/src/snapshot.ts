import { isAscii } from 'node:buffer'
import { readFileSync, renameSync, rmSync } from 'node:fs'
import { sep } from 'node:path'
import parcel from '@parcel/watcher'
import { WatcherError, toWatcherError } from './errors.js'

/**
 * Reads and checks a snapshot written by @parcel/watcher's `writeSnapshot` for `dir`.
 *
 * The native reader trusts the file: garbage is read as a tree of nonsense and an empty or
 * truncated file ends in `std::bad_alloc`. So the format (`count\n` then per entry
 * `<length><path><mtime> <isDir>\n`) is checked here first, with every path inside `dir`.
 *
 * @internal
 * @param file - The snapshot file.
 * @param dir - The directory it must describe.
 * @returns `undefined` when the file does not exist, else path -> isDir of every entry.
 * @throws {@link WatcherError} `SNAPSHOT_UNREADABLE` when it cannot be read or is malformed.
 */
export function readSnapshot(file: string, dir: string): Map<string, boolean> | undefined {
  let buf: Buffer
  try {
    buf = readFileSync(file)
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw unreadable(file, (cause as Error).message, cause)
  }
  const entries = new Map<string, boolean>()
  // ASCII-only files (the usual case) are decoded once and sliced; byte offsets = char offsets.
  const ascii = isAscii(buf)
  const text = ascii ? buf.toString('latin1') : ''
  let at = 0
  const number = (): number => {
    const start = at
    let value = 0
    for (let b = buf[at]; b !== undefined && b >= 0x30 && b <= 0x39; b = buf[++at]) value = value * 10 + (b - 0x30)
    if (at === start || at - start > 20) throw unreadable(file, `expected a number at byte ${start}`)
    return value
  }
  const expect = (byte: number): void => {
    if (buf[at] !== byte) throw unreadable(file, `unexpected byte at ${at}`)
    at++
  }
  const count = number()
  expect(0x0a)
  const prefix = dir.endsWith(sep) ? dir : dir + sep
  for (let i = 0; i < count; i++) {
    const length = number()
    if (at + length > buf.length) throw unreadable(file, `entry ${i} runs past the end`)
    const path = ascii ? text.slice(at, at + length) : buf.toString('utf8', at, at + length)
    at += length
    number()
    expect(0x20)
    const flag = buf[at]
    if (flag !== 0x30 && flag !== 0x31) throw unreadable(file, `bad directory flag at byte ${at}`)
    at++
    expect(0x0a)
    if (path !== dir && !path.startsWith(prefix)) throw unreadable(file, `it describes ${path}, which is not inside ${dir}`)
    entries.set(path, flag === 0x31)
  }
  if (at !== buf.length) throw unreadable(file, `${buf.length - at} bytes after the last entry`)
  return entries
}

/**
 * Where {@link writeSnapshotAtomic} writes before renaming (never reported as a change).
 * @internal
 * @param file - The snapshot file.
 * @returns The temp file's path.
 */
export function snapshotTempPath(file: string): string {
  return `${file}.${process.pid}.tmp`
}

/**
 * Writes a snapshot of `dir` atomically: to `file.<pid>.tmp`, then renamed over `file`.
 *
 * @internal
 * @param dir - Watched directory.
 * @param file - Snapshot file.
 * @param ignore - The same ignore list as the subscription.
 * @returns Resolves once written.
 * @throws {@link WatcherError} `BACKEND_ERROR` when the backend or the rename fails.
 */
export async function writeSnapshotAtomic(dir: string, file: string, ignore: readonly (string | RegExp)[]): Promise<void> {
  const tmp = snapshotTempPath(file)
  try {
    await parcel.writeSnapshot(dir, tmp, { ignore: [...ignore] })
    renameSync(tmp, file)
  } catch (cause) {
    rmSync(tmp, { force: true })
    throw toWatcherError(cause, dir)
  }
}

function unreadable(file: string, why: string, cause?: unknown): WatcherError {
  return new WatcherError(
    'SNAPSHOT_UNREADABLE',
    `Snapshot ${file} is unreadable (${why}); delete it or pass onSnapshotError: 'scan' to rescan everything.`,
    cause === undefined ? undefined : { cause },
  )
}
