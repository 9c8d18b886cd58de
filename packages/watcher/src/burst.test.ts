import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setImmediate as tick } from 'node:timers/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { ChangeLog, removeTempDirs, tempDir } from './test-support.js'

afterEach(() => removeTempDirs())

describe('watch: bursts', () => {
  it('reports the final state of each of 100 files after 1,000 writes', async () => {
    const dir = tempDir()
    const log = await ChangeLog.start(dir)
    const files = Array.from({ length: 100 }, (_, i) => join(dir, `f${String(i).padStart(3, '0')}.js`))
    const lastWrite = new Map<string, number>()
    for (let i = 0; i < 1000; i++) {
      const file = files[i % 100]!
      writeFileSync(file, `export default ${i}\n`)
      lastWrite.set(file, performance.now())
      if (i % 37 === 0) await tick() // let batches interleave with the writes
    }
    // Each file must have a change that arrived after its last write: whoever reads it then sees the final content.
    const missing = (): string[] =>
      files.filter((f) => !log.changes.some((c, n) => c.path === f && log.times[n]! >= lastWrite.get(f)!))
    await log.until(() => missing().length === 0, 'a change after the last write of every file')
    expect(missing()).toEqual([])
    for (const f of files) {
      expect(log.changes.filter((c) => c.path === f && c.kind === 'created')).toHaveLength(1)
      expect(readFileSync(f, 'utf8')).toMatch(/^export default 9\d\d\n$/)
    }
    expect(log.changes.some((c) => c.kind === 'deleted' || c.kind === 'renamed')).toBe(false)
    expect(await log.stop()).toBeUndefined()
  })
})
