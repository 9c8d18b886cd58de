import { appendFileSync, mkdirSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { changeLogs, summary, tempDir } from './test-support.js'

const { start } = changeLogs()

function fixture(): { root: string; outside: string } {
  const root = tempDir()
  const outside = tempDir()
  writeFileSync(join(outside, 'target.mjs'), 'v1')
  mkdirSync(join(outside, 'shared'))
  writeFileSync(join(outside, 'shared/x.mjs'), 'x1')
  return { root, outside }
}

describe('watch: symbolic links', () => {
  it('reports links as files of their own and ignores their targets by default', async () => {
    const { root, outside } = fixture()
    const log = await start(root)
    symlinkSync(join(outside, 'target.mjs'), join(root, 'file-link.mjs'))
    symlinkSync(join(outside, 'shared'), join(root, 'dir-link'))
    expect(summary(await log.settle(root), root).sort()).toEqual(['created dir-link', 'created file-link.mjs'])
    appendFileSync(join(outside, 'target.mjs'), 'v2')
    writeFileSync(join(outside, 'shared/new.mjs'), 'n')
    expect(await log.settle(root)).toEqual([])
    unlinkSync(join(root, 'file-link.mjs'))
    expect(summary(await log.settle(root), root)).toEqual(['deleted file-link.mjs'])
  })

  it('follows a symlinked file with followSymlinks: true: a change of the target is a change of the link', async () => {
    const { root, outside } = fixture()
    symlinkSync(join(outside, 'target.mjs'), join(root, 'file-link.mjs'))
    const log = await start(root, { followSymlinks: true, initial: true })
    expect(summary(log.changes, root)).toEqual(['created file-link.mjs'])
    log.mark()
    appendFileSync(join(outside, 'target.mjs'), 'v2')
    await log.waitFor('modified', join(root, 'file-link.mjs'))
    unlinkSync(join(root, 'file-link.mjs'))
    await log.waitFor('deleted', join(root, 'file-link.mjs'))
    // Released with the link: the target's changes are not reported any more.
    appendFileSync(join(outside, 'target.mjs'), 'v3')
    expect(summary(await log.settle(root), root)).toEqual(['modified file-link.mjs', 'deleted file-link.mjs'])
  })

  it('follows a symlinked directory with followSymlinks: true, with paths under the link', async () => {
    const { root, outside } = fixture()
    symlinkSync(join(outside, 'shared'), join(root, 'dir-link'))
    const log = await start(root, { followSymlinks: true, initial: true })
    expect(summary(log.changes, root)).toEqual(['created dir-link/x.mjs'])
    log.mark()
    appendFileSync(join(outside, 'shared/x.mjs'), 'x2')
    writeFileSync(join(outside, 'shared/y.mjs'), 'y')
    // Reported through the link's own subscription: settle there.
    expect(summary(await log.settle(join(root, 'dir-link')), root).sort()).toEqual(['created dir-link/y.mjs', 'modified dir-link/x.mjs'])
    // A link that appears later is followed too.
    mkdirSync(join(outside, 'more'))
    writeFileSync(join(outside, 'more/z.mjs'), 'z')
    symlinkSync(join(outside, 'more'), join(root, 'more-link'))
    await log.waitFor('created', join(root, 'more-link/z.mjs'))
    unlinkSync(join(root, 'dir-link'))
    const deletions = (): string[] => summary(log.changes.filter((c) => c.kind === 'deleted' && !c.path.includes('zz-sentinel')), root)
    await log.until(() => deletions().length === 2, 'two deletions under dir-link')
    expect(deletions().sort()).toEqual(['deleted dir-link/x.mjs', 'deleted dir-link/y.mjs'])
  })

  it('does not follow a link into one of its own ancestors', async () => {
    const { root } = fixture()
    mkdirSync(join(root, 'sub'))
    writeFileSync(join(root, 'sub/a.mjs'), 'a')
    symlinkSync(root, join(root, 'sub/loop'))
    const log = await start(root, { followSymlinks: true, initial: true })
    expect(summary(log.changes, root).sort()).toEqual(['created sub/a.mjs', 'created sub/loop'])
  })
})
