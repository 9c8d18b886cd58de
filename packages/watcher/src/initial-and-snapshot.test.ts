import { appendFileSync, mkdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync, existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ChangeLog, changeLogs, summary, tempDir } from './test-support.js'

const { start, release } = changeLogs({ expectCleanClose: false })

describe('watch: initial scan', () => {
  it('emits created for what exists, then live changes', async () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'p/lib'), { recursive: true })
    writeFileSync(join(dir, 'a.js'), '1')
    writeFileSync(join(dir, 'p/lib/b.js'), '1')
    const log = await start(dir, { initial: true })
    expect(summary(log.changes, dir).sort()).toEqual(['created a.js', 'created p/lib/b.js'])
    appendFileSync(join(dir, 'a.js'), '2')
    expect(summary(await log.settle(dir), dir).sort()).toEqual(['created a.js', 'created p/lib/b.js', 'modified a.js'])
  })

  it('has no gap and no duplicate while files are created during start-up', async () => {
    const dir = tempDir()
    for (let i = 0; i < 200; i++) writeFileSync(join(dir, `before-${i}.js`), 'x')
    const names = Array.from({ length: 300 }, (_, i) => `during-${i}.js`)
    let writing = true
    const writer = (async () => {
      for (const name of names) await writeFile(join(dir, name), 'x')
      writing = false
    })()
    const log = await start(dir, { initial: true })
    const startedWhileWriting = writing
    await writer
    await log.settle(dir)
    const created = log.changes.filter((c) => c.kind === 'created').map((c) => c.path)
    const expected = [...Array.from({ length: 200 }, (_, i) => `before-${i}.js`), ...names].map((n) => join(dir, n))
    expect(created.filter((p) => !p.includes('zz-sentinel')).sort()).toEqual(expected.sort())
    expect(log.changes.some((c) => c.kind === 'deleted' || c.kind === 'renamed')).toBe(false)
    expect(startedWhileWriting).toBe(true)
  })
})

describe('watch: snapshotFile', () => {
  it('catches up on changes made while nothing was watching, then writes the snapshot again', async () => {
    const dir = tempDir()
    const state = tempDir()
    const snapshot = join(state, 'plugins.snapshot')
    writeFileSync(join(dir, 'keep.js'), '1')
    writeFileSync(join(dir, 'edit.js'), '1')
    writeFileSync(join(dir, 'remove.js'), '1')
    mkdirSync(join(dir, 'old/lib'), { recursive: true })
    writeFileSync(join(dir, 'old/lib/x.js'), '1')
    // First run: no snapshot yet -> full scan; the snapshot is written on teardown.
    const first = await start(dir, { snapshotFile: snapshot })
    expect(summary(first.changes, dir).sort()).toEqual(['created edit.js', 'created keep.js', 'created old/lib/x.js', 'created remove.js'])
    release(first)
    expect(await first.stop()).toBeUndefined()
    expect(existsSync(snapshot)).toBe(true)
    // While nothing watches.
    writeFileSync(join(dir, 'edit.js'), '2 (longer)')
    unlinkSync(join(dir, 'remove.js'))
    writeFileSync(join(dir, 'added.js'), '1')
    rmSync(join(dir, 'old'), { recursive: true })
    mkdirSync(join(dir, 'new/lib'), { recursive: true })
    writeFileSync(join(dir, 'new/lib/y.js'), '1')
    const second = await start(dir, { snapshotFile: snapshot })
    expect(summary(second.changes, dir).sort()).toEqual([
      'created added.js',
      'created new/lib/y.js',
      'deleted old/lib/x.js',
      'deleted remove.js',
      'modified edit.js',
    ])
    writeFileSync(join(dir, 'keep.js'), 'live')
    expect(summary(await second.settle(dir), dir)).toContain('modified keep.js')
  })

  it('fails with SNAPSHOT_UNREADABLE for a corrupt snapshot by default', async () => {
    const dir = tempDir()
    const snapshot = join(tempDir(), 's.snapshot')
    writeFileSync(snapshot, 'this is not a snapshot')
    const log = new ChangeLog(dir, { snapshotFile: snapshot })
    await log.until(() => log.error !== undefined, 'an error').catch(() => undefined)
    expect(log.error).toMatchObject({ name: 'WatcherError', code: 'SNAPSHOT_UNREADABLE' })
    await log.stop()
    // Left untouched, so a person can look at it.
    expect(readFileSync(snapshot, 'utf8')).toBe('this is not a snapshot')
  })

  it("rescans everything for a corrupt or truncated snapshot with onSnapshotError: 'scan'", async () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'a.js'), '1')
    const snapshot = join(tempDir(), 's.snapshot')
    writeFileSync(snapshot, '')
    const log = await start(dir, { snapshotFile: snapshot, onSnapshotError: 'scan' })
    expect(summary(log.changes, dir)).toEqual(['created a.js'])
    release(log)
    expect(await log.stop()).toBeUndefined()
    // Replaced by a good one on teardown.
    const again = await start(dir, { snapshotFile: snapshot })
    expect(again.changes).toEqual([])
  })

  it('hands a failure to write the snapshot on teardown to onClose', async () => {
    const dir = tempDir()
    const snapshot = join(tempDir(), 'missing-dir', 's.snapshot')
    const log = await start(dir, { snapshotFile: snapshot })
    release(log)
    expect(await log.stop()).toMatchObject({ name: 'WatcherError', code: 'BACKEND_ERROR' })
    expect(existsSync(snapshot)).toBe(false)
  })

  it('does not report the snapshot file when it lives inside the root', async () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'a.js'), '1')
    const snapshot = join(dir, '.watch-snapshot')
    const first = await start(dir, { snapshotFile: snapshot })
    release(first)
    await first.stop()
    renameSync(join(dir, 'a.js'), join(dir, 'b.js'))
    const second = await start(dir, { snapshotFile: snapshot })
    expect(summary(second.changes, dir).sort()).toEqual(['created b.js', 'deleted a.js'])
  })
})
