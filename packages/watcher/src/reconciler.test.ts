import { mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { DEFAULT_EXCLUDE } from './options.js'
import { createPathFilter } from './path-filter.js'
import { Reconciler } from './reconciler.js'
import { listTree } from './scan.js'
import { removeTempDirs, summary, tempDir } from './test-support.js'

afterEach(() => removeTempDirs())

// The index built from a listing made while the backend subscribes (a plain start) must
// hold what a walk holds.
describe('Reconciler.populateFrom (the listing of a plain start)', () => {
  it('lists what the filter accepts, leaves out excluded directories, and then pairs renames and atomic saves', async () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'p/lib'), { recursive: true })
    mkdirSync(join(dir, 'skip-me/deep'), { recursive: true })
    writeFileSync(join(dir, 'a.mjs'), '1')
    writeFileSync(join(dir, 'a.mjs.tmp'), '1')
    writeFileSync(join(dir, 'p/lib/b.mjs'), '1')
    writeFileSync(join(dir, 'skip-me/deep/c.mjs'), '1')
    const filter = createPathFilter({ include: undefined, exclude: [...DEFAULT_EXCLUDE, 'skip-*/**'], recursive: true })
    const tree = await listTree(dir, filter)
    expect(tree.get(join(dir, 'skip-me'))).toBe(true)
    expect(tree.has(join(dir, 'skip-me/deep'))).toBe(false) // rejected, with all below it
    expect(tree.has(join(dir, 'skip-me/deep/c.mjs'))).toBe(false)
    expect(tree.get(join(dir, 'a.mjs.tmp'))).toBe(false) // files are listed whatever the filter says
    const rec = new Reconciler(dir, dir, filter, false, new Set())
    expect(rec.populateFrom(tree).changes).toEqual([])
    expect(rec.index.get(join(dir, 'a.mjs'))?.isDir).toBe(false)
    expect(rec.index.get(join(dir, 'p/lib/b.mjs'))?.isDir).toBe(false)
    expect(rec.index.get(join(dir, 'skip-me/deep'))).toBeUndefined()
    expect(rec.index.get(join(dir, 'skip-me/deep/c.mjs'))).toBeUndefined()
    expect(rec.index.get(join(dir, 'p/lib'))?.isDir).toBe(true)
    rec.fill(rec.index.withoutIdentity())
    renameSync(join(dir, 'p/lib/b.mjs'), join(dir, 'p/b2.mjs'))
    writeFileSync(join(dir, 'new.mjs'), 'v2')
    renameSync(join(dir, 'new.mjs'), join(dir, 'a.mjs'))
    const result = rec.apply(
      [
        { path: join(dir, 'a.mjs'), type: 'create' },
        { path: join(dir, 'p/b2.mjs'), type: 'create' },
        { path: join(dir, 'p/lib/b.mjs'), type: 'delete' },
      ],
      false,
      undefined,
    )
    expect(summary(result.changes, dir)).toEqual(['modified a.mjs', 'renamed p/lib/b.mjs -> p/b2.mjs'])
  })
})
