import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { readSnapshot, writeSnapshotAtomic } from './snapshot.js'
import { removeTempDirs, tempDir } from './test-support.js'

afterEach(() => removeTempDirs())

describe('readSnapshot', () => {
  it('reads what @parcel/watcher writes', async () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'sub'))
    writeFileSync(join(dir, 'sub/a é.js'), '1')
    const file = join(tempDir(), 'snap')
    await writeSnapshotAtomic(dir, file, [])
    const entries = readSnapshot(file, dir)
    expect(entries?.get(join(dir, 'sub'))).toBe(true)
    expect(entries?.get(join(dir, 'sub/a é.js'))).toBe(false)
  })

  it('returns undefined for a missing file', () => {
    expect(readSnapshot(join(tempDir(), 'none'), '/x')).toBeUndefined()
  })

  it.each([
    ['empty', ''],
    ['garbage', 'not a snapshot'],
    ['truncated', '3\n5/a/b'],
    ['trailing bytes', '0\nextra'],
    ['huge count', '99999999999999999999999\n'],
  ])('refuses a %s file with SNAPSHOT_UNREADABLE', (_, content) => {
    const file = join(tempDir(), 'snap')
    writeFileSync(file, content)
    expect(() => readSnapshot(file, '/a')).toThrow(expect.objectContaining({ code: 'SNAPSHOT_UNREADABLE' }))
  })

  it('refuses a snapshot of another directory', async () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'a.js'), '1')
    const file = join(tempDir(), 'snap')
    await writeSnapshotAtomic(dir, file, [])
    expect(() => readSnapshot(file, tempDir())).toThrow(expect.objectContaining({ code: 'SNAPSHOT_UNREADABLE' }))
    expect(readFileSync(file, 'utf8').length).toBeGreaterThan(0)
  })
})
