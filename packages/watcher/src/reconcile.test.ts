import { appendFileSync, linkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { changeLogs, summary, tempDir } from './test-support.js'

const { start } = changeLogs()

// A write through a hard link that lives outside the root changes a watched file without any
// inotify event for the root: a deterministic stand-in for a dropped queue overflow.
describe('watch: reconcileIntervalMs', () => {
  it('the backend alone misses a write through an outside hard link', async () => {
    const root = tempDir()
    const outside = tempDir()
    writeFileSync(join(root, 'a.js'), '1')
    linkSync(join(root, 'a.js'), join(outside, 'a-link.js'))
    const log = await start(root)
    appendFileSync(join(outside, 'a-link.js'), '2')
    expect(await log.settle(root)).toEqual([])
  })

  it('a periodic rescan reports what the events missed, by size and mtime', async () => {
    const root = tempDir()
    const outside = tempDir()
    writeFileSync(join(root, 'a.js'), '1')
    writeFileSync(join(root, 'b.js'), '1')
    linkSync(join(root, 'a.js'), join(outside, 'a-link.js'))
    const log = await start(root, { reconcileIntervalMs: 50 })
    appendFileSync(join(outside, 'a-link.js'), '2')
    await log.waitFor('modified', join(root, 'a.js'))
    // Nothing else is invented by the rescans.
    expect(summary(await log.settle(root), root)).toEqual(['modified a.js'])
  })
})
