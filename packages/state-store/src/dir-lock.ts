import { link, readFile, stat, unlink, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { StateStoreError } from './errors.js'

/** The name of the lock file a file adapter keeps in its directory. */
export const LOCK_FILE = '.lock'

/** What a lock file says about its holder. */
export interface LockInfo {
  readonly pid: number
  readonly hostname: string
  readonly since: string
}

/** A held directory lock. */
export interface DirLock {
  readonly path: string
  release(): Promise<void>
}

// Directories locked by this process: a second open in the same process is refused too.
const heldHere = new Set<string>()

/**
 * Takes the lock of a state directory: creates `dir/.lock` holding this pid atomically (a
 * complete temp file hard-linked into place, which fails if a lock exists). A lock whose
 * pid is not running on this host, or that cannot be parsed, is stale and is taken over.
 *
 * @internal Used by the file adapter.
 * @throws {@link StateStoreError} `LOCKED` naming the holder's pid, or `IO_ERROR`.
 */
export async function acquireDirLock(
  dir: string,
  onTakeover: (previousPid: number | undefined) => void,
): Promise<DirLock> {
  const path = join(dir, LOCK_FILE)
  if (heldHere.has(path)) throw locked(path, { pid: process.pid, hostname: hostname(), since: '' })
  heldHere.add(path)
  try {
    const info: LockInfo = { pid: process.pid, hostname: hostname(), since: new Date().toISOString() }
    const temp = join(dir, `.lock.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`)
    await writeFile(temp, `${JSON.stringify(info)}\n`, { mode: 0o644 })
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          await createLockFile(temp, path, info)
          break
        } catch (error) {
          if (errnoOf(error) !== 'EEXIST') throw io(path, error)
        }
        const holder = await readHolder(path)
        if (holder === 'gone') continue
        if (holder.info !== undefined && isAlive(holder.info)) throw locked(path, holder.info)
        if (attempt >= 3) throw locked(path, holder.info)
        // Stale: remove it, unless it was replaced since we read it (a racing takeover).
        const now = await stat(path).catch(() => undefined)
        if (now !== undefined && now.ino === holder.ino) await unlink(path).catch(() => undefined)
        onTakeover(holder.info?.pid)
      }
    } finally {
      await unlink(temp).catch(() => undefined)
    }
    return {
      path,
      async release() {
        if (!heldHere.has(path)) return
        heldHere.delete(path)
        const current = await readHolder(path)
        if (current !== 'gone' && current.info?.pid === process.pid) await unlink(path).catch(() => undefined)
      },
    }
  } catch (error) {
    heldHere.delete(path)
    throw error
  }
}

async function createLockFile(temp: string, path: string, info: LockInfo): Promise<void> {
  try {
    await link(temp, path)
  } catch (error) {
    const code = errnoOf(error)
    // File systems without hard links: exclusive create (briefly empty while it is written).
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS' && code !== 'EOPNOTSUPP') throw error
    await writeFile(path, `${JSON.stringify(info)}\n`, { flag: 'wx', mode: 0o644 })
  }
}

async function readHolder(path: string): Promise<'gone' | { info: LockInfo | undefined; ino: number }> {
  try {
    const [text, stats] = await Promise.all([readFile(path, 'utf8'), stat(path)])
    return { info: parseLock(text), ino: stats.ino }
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return 'gone'
    throw io(path, error)
  }
}

function parseLock(text: string): LockInfo | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockInfo>
    if (typeof value.pid === 'number' && Number.isSafeInteger(value.pid) && value.pid > 0) {
      return { pid: value.pid, hostname: String(value.hostname ?? ''), since: String(value.since ?? '') }
    }
  } catch {
    // unparsable: treated as stale
  }
  return undefined
}

function isAlive(info: LockInfo): boolean {
  // A lock from another host cannot be checked: assume its holder runs.
  if (info.hostname !== '' && info.hostname !== hostname()) return true
  // Our own pid in a lock we do not hold: left by an earlier process that had this pid.
  if (info.pid === process.pid) return false
  return isProcessAlive(info.pid)
}

/** @internal Whether a process with this pid runs on this host (signal 0 probe). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return errnoOf(error) === 'EPERM'
  }
}

function locked(path: string, info: LockInfo | undefined): StateStoreError {
  const who = info === undefined ? 'another process' : `process ${info.pid} on ${info.hostname || 'this host'}`
  return new StateStoreError(
    'LOCKED',
    `${path} is held by ${who}${info?.since ? ` since ${info.since}` : ''}: one store per directory; ` +
      'close the other store, or remove the lock file if that process is gone',
    { details: { path, pid: info?.pid, hostname: info?.hostname } },
  )
}

function io(path: string, cause: unknown): StateStoreError {
  return new StateStoreError('IO_ERROR', `cannot take the lock ${path}: ${String(cause)}`, { cause, details: { path } })
}

/** @internal The `code` of a Node system error, if any. */
export function errnoOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
    ? error.code
    : undefined
}
