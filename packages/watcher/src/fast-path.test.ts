import { mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { FAST_PATH_DIR_LIMIT } from './fast-path.js'
import { ChangeLog, changeLogs, summary, tempDir, WAIT_MS } from './test-support.js'

const { start, release } = changeLogs()

/** An editor's save: the new content into a temp file next to the target, then renamed over it. */
function atomicSave(file: string, content: string): void {
  const temp = `${file}.${process.pid}.tmp`
  writeFileSync(temp, content)
  renameSync(temp, file)
}

/** inotify watches this process holds (every inotify instance: the backend's and Node's). */
function inotifyWatches(): number {
  let n = 0
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`)
    } catch {
      continue
    }
    if (target !== 'anon_inode:inotify') continue
    try {
      n += readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').split('\n').filter((l) => l.startsWith('inotify wd:')).length
    } catch {
      // closed meanwhile
    }
  }
  return n
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

describe('watch: the low-latency path', () => {
  it('reports an atomic save as one modified marked atomic, and nothing more once the backend confirms', async () => {
    const dir = tempDir()
    const file = join(dir, 'a.mjs')
    writeFileSync(file, 'export default 1\n')
    const log = await start(dir, { include: ['.mjs'] })
    atomicSave(file, 'export default 2\n')
    const change = await log.waitFor('modified', file)
    expect(change).toEqual({ kind: 'modified', path: file, root: dir, atomic: true })
    // The backend's batch for the same save (~50 ms later) adds nothing.
    await new Promise((r) => setTimeout(r, 150))
    expect(summary(await log.settle(dir, '.mjs'), dir)).toEqual(['modified a.mjs'])
  })

  it('does not mark a write in place, nor a delete followed by a fresh create', async () => {
    const dir = tempDir()
    const file = join(dir, 'a.mjs')
    writeFileSync(file, '1')
    const log = await start(dir)
    writeFileSync(file, '22')
    expect(await log.waitFor('modified', file)).toEqual({ kind: 'modified', path: file, root: dir })
    await log.settle(dir)
    rmSync(file)
    writeFileSync(file, '333')
    const after = await log.settle(dir)
    expect(after.length).toBeGreaterThan(0)
    expect(after.every((c) => c.path === file && c.atomic === undefined)).toBe(true)
    expect(after.at(-1)?.kind).not.toBe('deleted')
  })

  it('marks a known file renamed over another one in the same directory, and keeps plain renames as renamed', async () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'a.mjs'), '1')
    writeFileSync(join(dir, 'b.mjs'), '2')
    writeFileSync(join(dir, 'c.mjs'), '3')
    const log = await start(dir)
    renameSync(join(dir, 'b.mjs'), join(dir, 'a.mjs'))
    const changes = await log.settle(dir)
    expect(summary(changes, dir).sort()).toEqual(['deleted b.mjs', 'modified a.mjs'])
    expect(changes.find((c) => c.kind === 'modified')?.atomic).toBe(true)
    renameSync(join(dir, 'c.mjs'), join(dir, 'd.mjs'))
    expect(summary(await log.settle(dir), dir)).toEqual(['renamed c.mjs -> d.mjs'])
  })

  it('keeps the order of saves across files and directories, with no duplicate', async () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'x'))
    mkdirSync(join(dir, 'y'))
    const files = ['a.mjs', 'x/b.mjs', 'y/c.mjs', 'x/d.mjs'].map((f) => join(dir, f))
    for (const f of files) writeFileSync(f, '0')
    const log = await start(dir, { include: ['.mjs'] })
    for (let round = 1; round <= 3; round++) {
      files.forEach((f, i) => (i % 2 === 0 ? atomicSave(f, `${round}`) : writeFileSync(f, `${round}${round}`)))
    }
    await log.until(() => files.every((f) => log.changes.some((c) => c.path === f)), 'a change of every file')
    await new Promise((r) => setTimeout(r, 150))
    const changes = (await log.settle(dir, '.mjs')).filter((c) => c.kind === 'modified')
    // Each file's last report is its final content, and the first reports come in write order.
    const firsts = files.map((f) => changes.findIndex((c) => c.path === f))
    expect(firsts).toEqual([...firsts].sort((a, b) => a - b))
    expect(changes.every((c) => c.kind === 'modified')).toBe(true)
    for (const f of files) expect(changes.filter((c) => c.path === f).length).toBeLessThanOrEqual(3)
    expect(changes.filter((c) => c.atomic === true).every((c) => c.path === files[0] || c.path === files[2])).toBe(true)
  })

  it('watches a directory that was removed and created again', async () => {
    const dir = tempDir()
    const sub = join(dir, 'plugins')
    mkdirSync(sub)
    writeFileSync(join(sub, 'p.mjs'), '1')
    const log = await start(dir)
    rmSync(sub, { recursive: true })
    expect(summary(await log.settle(dir), dir)).toEqual(['deleted plugins/p.mjs'])
    mkdirSync(sub)
    writeFileSync(join(sub, 'p.mjs'), '2')
    await log.waitFor('created', join(sub, 'p.mjs'))
    await log.settle(dir)
    atomicSave(join(sub, 'p.mjs'), '3')
    expect(await log.waitFor('modified', join(sub, 'p.mjs'))).toMatchObject({ atomic: true })
    expect(summary(await log.settle(sub), dir)).toEqual(['modified plugins/p.mjs'])
  })

  it('pairs a rename between two watched directories as renamed', async () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'from'))
    mkdirSync(join(dir, 'to'))
    writeFileSync(join(dir, 'from/p.mjs'), '1')
    const log = await start(dir)
    renameSync(join(dir, 'from/p.mjs'), join(dir, 'to/p.mjs'))
    expect(summary(await log.settle(dir), dir)).toEqual(['renamed from/p.mjs -> to/p.mjs'])
  })

  it(`leaves directories past ${FAST_PATH_DIR_LIMIT} to the backend, and still pairs renames out of them`, async () => {
    const dir = tempDir()
    const count = FAST_PATH_DIR_LIMIT + 20
    const files = Array.from({ length: count }, (_, i) => join(dir, `d${i}`, 'p.mjs'))
    for (const f of files) {
      mkdirSync(join(f, '..'))
      writeFileSync(f, '1')
    }
    const log = await start(dir)
    const moved = files.map((_, i) => join(dir, `moved${i}.mjs`))
    files.forEach((f, i) => renameSync(f, moved[i]!))
    const seen = (): boolean => {
      const paths = new Set(log.changes.map((c) => c.path))
      return moved.every((m) => paths.has(m))
    }
    // 276 moves go through the backend's batches: a longer bound than one change needs.
    await log.until(seen, 'a change of every moved file', 3 * WAIT_MS)
    const changes = await log.settle(dir)
    expect(changes.filter((c) => c.kind !== 'renamed')).toEqual([])
    expect(changes).toHaveLength(count)
  })

  it('closes its native watches on teardown', async () => {
    const before = inotifyWatches()
    const dir = tempDir()
    for (const d of ['a', 'b', 'c/d']) mkdirSync(join(dir, d), { recursive: true })
    const log = await ChangeLog.start(dir)
    release(log)
    const backendOnly = 5 // the backend's: the root, a, b, c, c/d
    await until(() => inotifyWatches() >= before + 2 * backendOnly, 'the fast path and the backend watching every directory')
    expect(await log.stop()).toBeUndefined()
    await until(() => inotifyWatches() === before, 'every watch released')
  })
})
