import { appendFileSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { changeLogs, summary, tempDir } from './test-support.js'

const { start } = changeLogs()

// @parcel/watcher 2.6 on Linux watches only the first level of a directory that appears with
// sub-directories in it (upstream #97, #243); these tests fail without our sub-tree coverage.
describe('watch: directories that appear with content', () => {
  it('reports files of `mkdir -p a/b/c` + a file, and later edits deep inside it', async () => {
    const dir = tempDir()
    const log = await start(dir)
    mkdirSync(join(dir, 'a/b/c'), { recursive: true })
    writeFileSync(join(dir, 'a/b/c/f.js'), '1')
    await log.waitFor('created', join(dir, 'a/b/c/f.js'))
    expect(summary(await log.settle(dir), dir)).toEqual(['created a/b/c/f.js'])
    appendFileSync(join(dir, 'a/b/c/f.js'), '2')
    writeFileSync(join(dir, 'a/b/c/g.js'), '1')
    mkdirSync(join(dir, 'a/b/c/d/e'), { recursive: true })
    writeFileSync(join(dir, 'a/b/c/d/e/h.js'), '1')
    await log.waitFor('created', join(dir, 'a/b/c/d/e/h.js'))
    // Sentinels go where the change is: backend subscriptions of different sub-trees are not ordered among themselves.
    expect(summary(await log.settle(join(dir, 'a/b/c')), dir).sort()).toEqual(['created a/b/c/d/e/h.js', 'created a/b/c/g.js', 'modified a/b/c/f.js'])
    appendFileSync(join(dir, 'a/b/c/d/e/h.js'), '2')
    // One write may come out as two `modified` when the backend splits it over two batches and
    // the file was known only from a scan (no digest to tell the tail apart): a documented limit.
    expect([...new Set(summary(await log.settle(join(dir, 'a/b/c/d/e')), dir))]).toEqual(['modified a/b/c/d/e/h.js'])
    rmSync(join(dir, 'a/b'), { recursive: true })
    const gone = summary(await log.settle(join(dir, 'a')), dir).filter((s) => !s.includes('zz-sentinel'))
    expect(gone.sort()).toEqual(['deleted a/b/c/d/e/h.js', 'deleted a/b/c/f.js', 'deleted a/b/c/g.js'])
  })

  it('reports every file of a prepared tree renamed in (no duplicates), and edits inside it afterwards', async () => {
    const dir = tempDir()
    const outside = tempDir()
    const prepared = join(outside, 'greeter')
    mkdirSync(join(prepared, 'lib/util'), { recursive: true })
    writeFileSync(join(prepared, 'package.json'), '{"name":"greeter"}')
    writeFileSync(join(prepared, 'lib/index.js'), '1')
    writeFileSync(join(prepared, 'lib/util/x.js'), '1')
    mkdirSync(join(dir, 'plugins'))
    const log = await start(dir)
    renameSync(prepared, join(dir, 'plugins/greeter'))
    await log.waitFor('created', join(dir, 'plugins/greeter/lib/util/x.js'))
    expect(summary(await log.settle(dir), dir).sort()).toEqual([
      'created plugins/greeter/lib/index.js',
      'created plugins/greeter/lib/util/x.js',
      'created plugins/greeter/package.json',
    ])
    appendFileSync(join(dir, 'plugins/greeter/lib/util/x.js'), '2')
    writeFileSync(join(dir, 'plugins/greeter/lib/util/y.js'), '1')
    expect(summary(await log.settle(join(dir, 'plugins/greeter/lib/util')), dir).sort()).toEqual([
      'created plugins/greeter/lib/util/y.js',
      'modified plugins/greeter/lib/util/x.js',
    ])
    // Moved out: its files are deleted, and its stale watches report nothing more.
    renameSync(join(dir, 'plugins/greeter'), join(outside, 'gone'))
    expect(summary(await log.settle(join(dir, 'plugins')), dir).sort()).toEqual([
      'deleted plugins/greeter/lib/index.js',
      'deleted plugins/greeter/lib/util/x.js',
      'deleted plugins/greeter/lib/util/y.js',
      'deleted plugins/greeter/package.json',
    ])
    writeFileSync(join(outside, 'gone/lib/util/x.js'), '3')
    expect(await log.settle(dir)).toEqual([])
  })
})
