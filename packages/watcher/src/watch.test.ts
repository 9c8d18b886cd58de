import { mkdirSync, renameSync, rmSync, writeFileSync, appendFileSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ChangeLog, changeLogs, summary, tempDir } from './test-support.js'
import { WatcherError } from './errors.js'
import { watch } from './watch.js'

const { start } = changeLogs()

describe('watch: files', () => {
  it('reports create, modify and delete with absolute paths and the root', async () => {
    const dir = tempDir()
    const log = await start(dir)
    const file = join(dir, 'a.mjs')
    writeFileSync(file, 'export default 1')
    expect(await log.waitFor('created', file)).toEqual({ kind: 'created', path: file, root: dir })
    expect(summary(await log.settle(dir), dir)).toEqual(['created a.mjs'])
    appendFileSync(file, '\n// more')
    expect(summary(await log.settle(dir), dir)).toEqual(['modified a.mjs'])
    unlinkSync(file)
    expect(summary(await log.settle(dir), dir)).toEqual(['deleted a.mjs'])
  })

  it('pairs a rename by inode into one renamed, for files known from the start and files created later', async () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'old.mjs'), 'x')
    const log = await start(dir)
    renameSync(join(dir, 'old.mjs'), join(dir, 'new.mjs'))
    expect(summary(await log.settle(dir), dir)).toEqual(['renamed old.mjs -> new.mjs'])
    writeFileSync(join(dir, 'fresh.mjs'), 'y')
    await log.settle(dir)
    renameSync(join(dir, 'fresh.mjs'), join(dir, 'moved.mjs'))
    const [change] = await log.settle(dir)
    expect(change).toEqual({ kind: 'renamed', path: join(dir, 'moved.mjs'), oldPath: join(dir, 'fresh.mjs'), root: dir })
  })

  it('reports a directory renamed inside the root as a rename of each file in it', async () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'p1/lib'), { recursive: true })
    writeFileSync(join(dir, 'p1/index.js'), '1')
    writeFileSync(join(dir, 'p1/lib/x.js'), '2')
    const log = await start(dir)
    renameSync(join(dir, 'p1'), join(dir, 'p2'))
    expect(summary(await log.settle(dir), dir).sort()).toEqual(['renamed p1/index.js -> p2/index.js', 'renamed p1/lib/x.js -> p2/lib/x.js'])
    appendFileSync(join(dir, 'p2/lib/x.js'), '3')
    expect(summary(await log.settle(join(dir, 'p2/lib')), dir)).toEqual(['modified p2/lib/x.js'])
  })

  it('turns an atomic save (temp file renamed over the target) into exactly one modified', async () => {
    const dir = tempDir()
    const target = join(dir, 'plugin.mjs')
    writeFileSync(target, 'v1')
    const log = await start(dir)
    // Excluded temp name (DEFAULT_EXCLUDE has *.tmp), written and renamed with a pause between.
    writeFileSync(`${target}.tmp`, 'v2')
    await log.settle(dir)
    renameSync(`${target}.tmp`, target)
    expect(summary(await log.settle(dir), dir)).toEqual(['modified plugin.mjs'])
    // A temp name that passes the filters, renamed at once (write-file-atomic style).
    writeFileSync(`${target}.83f1a2`, 'v3')
    renameSync(`${target}.83f1a2`, target)
    expect(summary(await log.settle(dir), dir)).toEqual(['modified plugin.mjs'])
  })

  it('reports deleting and re-creating a file between two batches as modified, not deleted + created', async () => {
    const dir = tempDir()
    const file = join(dir, 'a.js')
    writeFileSync(file, 'v1')
    const log = await start(dir)
    unlinkSync(file)
    writeFileSync(file, 'v2')
    expect(summary(await log.settle(dir), dir)).toEqual(['modified a.js'])
  })

  it('watches several roots, tagging each change with its root', async () => {
    const a = tempDir()
    const b = tempDir()
    const log = await start([a, b])
    writeFileSync(join(a, 'x.js'), '1')
    writeFileSync(join(b, 'y.js'), '2')
    expect(await log.waitFor('created', join(a, 'x.js'))).toMatchObject({ root: a })
    expect(await log.waitFor('created', join(b, 'y.js'))).toMatchObject({ root: b })
  })

  it('watches a single-file root through its directory and reports nothing else from it', async () => {
    const dir = tempDir()
    const file = join(dir, 'only.mjs')
    writeFileSync(file, '1')
    const log = await start(file)
    writeFileSync(join(dir, 'other.mjs'), 'x')
    writeFileSync(file, '2')
    await log.waitFor('modified', file)
    unlinkSync(file)
    await log.waitFor('deleted', file)
    writeFileSync(file, '3')
    await log.waitFor('created', file)
    expect(log.changes.every((c) => c.path === file && c.root === file)).toBe(true)
  })

  it('applies include (extensions and globs) and exclude (globs, also natively)', async () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'node_modules/dep'), { recursive: true })
    mkdirSync(join(dir, 'src'))
    const log = await start(dir, { include: ['.mjs', 'src/**/*.json'], exclude: ['node_modules/**', '*.skip.mjs'] })
    writeFileSync(join(dir, 'a.mjs'), '1')
    writeFileSync(join(dir, 'a.txt'), '1')
    writeFileSync(join(dir, 'b.skip.mjs'), '1')
    writeFileSync(join(dir, 'node_modules/dep/i.mjs'), '1')
    writeFileSync(join(dir, 'src/c.json'), '1')
    writeFileSync(join(dir, 'd.json'), '1')
    expect(summary(await log.settle(dir, '.mjs'), dir).sort()).toEqual(['created a.mjs', 'created src/c.json'])
  })

  it('keeps only direct children with recursive: false', async () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'sub'))
    const log = await start(dir, { recursive: false })
    writeFileSync(join(dir, 'sub/deep.js'), '1')
    mkdirSync(join(dir, 'new/deeper'), { recursive: true })
    writeFileSync(join(dir, 'new/deeper/x.js'), '1')
    writeFileSync(join(dir, 'top.js'), '1')
    expect(summary(await log.settle(dir), dir)).toEqual(['created top.js'])
  })

  it('rejects bad options synchronously with INVALID_OPTIONS', () => {
    expect(() => watch([])).toThrow(WatcherError)
    expect(() => watch(['/a', '/b'], { snapshotFile: '/tmp/s' })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
    expect(() => watch('/a', { reconcileIntervalMs: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
    expect(() => watch('/a', { include: [''] })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
  })

  it('fails with ROOT_NOT_FOUND for a missing root', async () => {
    const dir = tempDir()
    rmSync(dir, { recursive: true })
    const log = new ChangeLog(join(dir, 'missing'))
    await log.until(() => log.error !== undefined, 'an error').catch(() => undefined)
    expect(log.error).toBeInstanceOf(WatcherError)
    expect(log.error).toMatchObject({ code: 'ROOT_NOT_FOUND' })
    expect(await log.stop()).toBeUndefined()
  })
})
