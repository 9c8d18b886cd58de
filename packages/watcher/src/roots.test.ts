import { mkdirSync, rmSync, writeFileSync, appendFileSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { changeLogs, summary, tempDir } from './test-support.js'

const { start } = changeLogs()

describe('watch: roots that come and go', () => {
  it('reports a deleted root as deleted files, and watches it again when it is created again', async () => {
    const parent = tempDir()
    const root = join(parent, 'plugins')
    mkdirSync(join(root, 'p'), { recursive: true })
    writeFileSync(join(root, 'a.js'), '1')
    writeFileSync(join(root, 'p/b.js'), '1')
    const log = await start(root)
    rmSync(root, { recursive: true })
    await log.until(() => log.changes.filter((c) => c.kind === 'deleted').length === 2, 'two deletions')
    expect(summary(log.changes, root).sort()).toEqual(['deleted a.js', 'deleted p/b.js'])
    log.mark()
    mkdirSync(join(root, 'q/r'), { recursive: true })
    writeFileSync(join(root, 'q/r/c.js'), '1')
    await log.waitFor('created', join(root, 'q/r/c.js'))
    appendFileSync(join(root, 'q/r/c.js'), '2')
    await log.waitFor('modified', join(root, 'q/r/c.js'))
    writeFileSync(join(root, 'd.js'), '1')
    await log.waitFor('created', join(root, 'd.js'))
  })

  it('picks a root up again after it was renamed away and back', async () => {
    const parent = tempDir()
    const root = join(parent, 'plugins')
    mkdirSync(root)
    writeFileSync(join(root, 'a.js'), '1')
    const log = await start(root)
    renameSync(root, join(parent, 'away'))
    await log.waitFor('deleted', join(root, 'a.js'))
    // Stale watches on the moved tree must not leak events under the old path.
    appendFileSync(join(parent, 'away/a.js'), 'x')
    renameSync(join(parent, 'away'), root)
    await log.waitFor('created', join(root, 'a.js'))
    appendFileSync(join(root, 'a.js'), 'y')
    await log.waitFor('modified', join(root, 'a.js'))
  })

  it('waits for a missing root with waitForRoot: true, through missing parents (mkdir -p)', async () => {
    const parent = tempDir()
    const root = join(parent, 'x/y/plugins')
    const log = await start(root, { waitForRoot: true })
    mkdirSync(join(parent, 'x'))
    mkdirSync(join(root, 'deep'), { recursive: true })
    writeFileSync(join(root, 'deep/a.js'), '1')
    await log.waitFor('created', join(root, 'deep/a.js'))
    appendFileSync(join(root, 'deep/a.js'), '2')
    await log.waitFor('modified', join(root, 'deep/a.js'))
    expect(log.changes.every((c) => c.root === root)).toBe(true)
  })

  it('waits for a missing single-file root', async () => {
    const parent = tempDir()
    const file = join(parent, 'later/plugin.mjs')
    const log = await start(file, { waitForRoot: true })
    mkdirSync(join(parent, 'later'))
    writeFileSync(join(parent, 'later/other.mjs'), '1')
    writeFileSync(file, '1')
    await log.waitFor('created', file)
    appendFileSync(file, '2')
    await log.waitFor('modified', file)
    expect(log.changes.every((c) => c.path === file)).toBe(true)
  })
})
