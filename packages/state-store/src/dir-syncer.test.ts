import { open } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { afterAll, describe, expect, it } from 'vitest'
import { DirSyncer } from './dir-syncer.js'
import { removeTempDirs, tempDir } from './test-support/temp-dir.js'

afterAll(removeTempDirs)

/** A directory handle whose fsyncs finish only when the test says so. */
function gatedHandle(): { handle: FileHandle; started: () => number; finish: () => void } {
  const pending: (() => void)[] = []
  let started = 0
  const handle = {
    sync: () =>
      new Promise<void>((resolve) => {
        started++
        pending.push(resolve)
      }),
  } as unknown as FileHandle
  return { handle, started: () => started, finish: () => pending.shift()?.() }
}

describe('DirSyncer', () => {
  it('a sync requested while one runs waits for the next one, shared by all who arrive meanwhile', async () => {
    const { handle, started, finish } = gatedHandle()
    const syncer = new DirSyncer(handle)
    const order: string[] = []
    const first = syncer.sync().then(() => order.push('first'))
    expect(started()).toBe(1)
    const late = Array.from({ length: 50 }, (_, i) => syncer.sync().then(() => order.push(`late${i}`)))
    expect(started()).toBe(1)
    finish()
    await first
    expect(order).toEqual(['first'])
    await Promise.resolve()
    expect(started()).toBe(2)
    finish()
    await Promise.all(late)
    expect(order).toHaveLength(51)
    expect(started()).toBe(2)
    expect(syncer.count).toBe(2)
    const again = syncer.sync()
    expect(started()).toBe(3)
    finish()
    await again
  })

  it('syncs a real directory', async () => {
    const handle = await open(await tempDir(), 'r')
    const syncer = new DirSyncer(handle)
    await Promise.all(Array.from({ length: 20 }, () => syncer.sync()))
    expect(syncer.count).toBeGreaterThanOrEqual(1)
    expect(syncer.count).toBeLessThanOrEqual(2)
    await handle.close()
  })
})
