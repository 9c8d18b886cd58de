import { fnv1a32Hex } from '@hotswap/change-detector'
import { createHash } from 'node:crypto'
import { readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { adapterContract } from './adapter-contract.js'
import type { AdapterEvent } from './adapter.js'
import { fileAdapter } from './file-adapter.js'
import { createSnapshot } from './snapshot.js'
import type { StateSnapshot } from './snapshot.js'
import { createStateStore } from './state-store.js'
import type { StateStore } from './state-store.js'
import { removeTempDirs, tempDir } from './test-support/temp-dir.js'

afterAll(removeTempDirs)

describe('fileAdapter passes the adapter contract', () => {
  let dir = ''
  const cases = adapterContract({
    create: async () => fileAdapter({ dir: (dir = await tempDir()) }),
    reopen: () => fileAdapter({ dir }),
  })
  for (const c of cases) it(c.name, c.run)
})

const snap = (n: number, pluginId = 'victim'): StateSnapshot =>
  createSnapshot({ pluginId, pluginVersion: '1.2.3', data: { n, text: `snapshot ${n}`.repeat(20) }, timestamp: n })

async function storeWithThree(): Promise<{ dir: string; events: AdapterEvent[]; reopen: () => Promise<StateStore> }> {
  const dir = await tempDir()
  const store = await createStateStore({ adapter: fileAdapter({ dir }) })
  for (let n = 1; n <= 3; n++) await store.save(snap(n))
  await store.close()
  const events: AdapterEvent[] = []
  const reopen = (): Promise<StateStore> =>
    createStateStore({ adapter: fileAdapter({ dir }), onEvent: (e) => void (e.type === 'corrupt' || e.type === 'migrated' ? events.push(e) : 0) })
  return { dir, events, reopen }
}

const damages: [string, (bytes: Buffer) => Buffer][] = [
  ['empty', () => Buffer.alloc(0)],
  ['truncated', (b) => b.subarray(0, Math.floor(b.length * 0.6))],
  ['truncated by one byte', (b) => b.subarray(0, b.length - 1)],
  ['NUL-filled', (b) => Buffer.alloc(b.length)],
  ['bit-flipped in the body', (b) => flip(b, b.length - 10, 0x04)],
  ['bit-flipped in the header', (b) => flip(b, 5, 0x01)],
  ['bit-flipped in the format number', (b) => flip(b, 'hotswap-state '.length, 0x01)],
  ['garbage', () => Buffer.from('this is not a snapshot\n')],
  ['extended', (b) => Buffer.concat([b, Buffer.from('xx')])],
]

describe('fileAdapter corruption handling', () => {
  it.each(damages)('a %s current file is moved aside, reported, and the newest good one used', async (_kind, damage) => {
    const { dir, events, reopen } = await storeWithThree()
    const victim = join(dir, 'victim@3.snap')
    await writeFile(victim, damage(await readFile(victim)))
    const store = await reopen()
    const latest = await store.latest('victim')
    expect(latest?.data).toEqual(snap(2).data)
    expect(events).toHaveLength(1)
    const [event] = events
    expect(event).toMatchObject({ type: 'corrupt', pluginId: 'victim', location: victim })
    if (event?.type !== 'corrupt') throw new Error('expected a corrupt event')
    expect(event.error.code).toBe('CORRUPT')
    expect(event.error.message).toContain(victim)
    expect(event.movedTo).toMatch(/victim@3\.snap\.corrupt-\d{8}T\d{9}Z-/)
    const files = await readdir(dir)
    expect(files).toContain(event.movedTo!.slice(dir.length + 1))
    expect(files).not.toContain('victim@3.snap')
    // The next save goes on top of the good history, and the evidence is kept.
    await store.save(snap(4))
    expect((await store.history('victim')).map((s) => (s.data as { n: number }).n)).toEqual([4, 2, 1])
    await store.close()
  })

  it('a corrupt file in the middle of the history is skipped by history()', async () => {
    const { dir, events, reopen } = await storeWithThree()
    await writeFile(join(dir, 'victim@2.snap'), 'junk')
    const store = await reopen()
    expect((await store.history('victim')).map((s) => (s.data as { n: number }).n)).toEqual([3, 1])
    expect(events.map((e) => e.type)).toEqual(['corrupt'])
    await store.close()
  })

  it('when every snapshot is corrupt, latest() rejects with CORRUPT after reporting each', async () => {
    const { dir, events, reopen } = await storeWithThree()
    for (let n = 1; n <= 3; n++) await writeFile(join(dir, `victim@${n}.snap`), Buffer.alloc(100))
    const store = await reopen()
    const error = await store.latest('victim').catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'CORRUPT', details: { pluginId: 'victim', corrupt: 3 } })
    expect(events.filter((e) => e.type === 'corrupt')).toHaveLength(3)
    expect((await readdir(dir)).filter((f) => f.includes('.corrupt-'))).toHaveLength(3)
    await store.close()
  })

  it('a file copied under another plugin name is detected as corrupt', async () => {
    const { dir, events, reopen } = await storeWithThree()
    await writeFile(join(dir, 'other@1.snap'), await readFile(join(dir, 'victim@3.snap')))
    const store = await reopen()
    await expect(store.latest('other')).rejects.toMatchObject({ code: 'CORRUPT' })
    expect(events[0]).toMatchObject({ type: 'corrupt', pluginId: 'other' })
    await store.close()
  })

  it('a file of a newer format is refused with UNSUPPORTED_VERSION and left untouched', async () => {
    const { dir, events, reopen } = await storeWithThree()
    const path = join(dir, 'victim@4.snap')
    const future = futureFile(3, JSON.stringify({ whatever: 'v3 layout' }))
    await writeFile(path, future)
    const before = await stat(path)
    const store = await reopen()
    await expect(store.latest('victim')).rejects.toMatchObject({ code: 'UNSUPPORTED_VERSION', details: { format: 3 } })
    await expect(store.rollback('victim')).rejects.toMatchObject({ code: 'UNSUPPORTED_VERSION' })
    await store.close()
    expect(await readFile(path)).toEqual(future)
    expect((await stat(path)).mtimeMs).toBe(before.mtimeMs)
    expect(events).toEqual([])
  })

  it('a format-1 file is migrated to the current format on read', async () => {
    const dir = await tempDir()
    const old = { id: 'legacy', version: '0.9.0', savedAt: 1_600_000_000_000, state: { visits: 41, names: ['ann'] } }
    const body = JSON.stringify(old)
    await writeFile(join(dir, 'legacy@1.snap'), `${JSON.stringify({ format: 1, fnv1a32: fnv1a32Hex(body) })}\n${body}`)
    const events: AdapterEvent[] = []
    const store = await createStateStore({ adapter: fileAdapter({ dir }), onEvent: (e) => void (e.type === 'migrated' && events.push(e)) })
    const latest = await store.latest('legacy')
    expect(latest).toEqual({
      pluginId: 'legacy',
      pluginVersion: '0.9.0',
      schemaVersion: 1,
      timestamp: 1_600_000_000_000,
      data: { visits: 41, names: ['ann'] },
      metadata: {},
    })
    expect(events).toEqual([{ type: 'migrated', pluginId: 'legacy', location: join(dir, 'legacy@1.snap'), fromFormat: 1, toFormat: 2 }])
    expect((await readFile(join(dir, 'legacy@1.snap'), 'latin1')).startsWith('hotswap-state 2 ')).toBe(true)
    expect(await store.latest('legacy')).toEqual(latest)
    expect(events).toHaveLength(1)
    await store.close()
  })

  it('a format-1 file with a wrong checksum is corrupt, not migrated', async () => {
    const dir = await tempDir()
    const body = JSON.stringify({ id: 'legacy', version: '0.9.0', savedAt: 1, state: { visits: 41 } })
    await writeFile(join(dir, 'legacy@1.snap'), `${JSON.stringify({ format: 1, fnv1a32: fnv1a32Hex(body) })}\n${body.replace('41', '42')}`)
    const store = await createStateStore({ adapter: fileAdapter({ dir }) })
    await expect(store.latest('legacy')).rejects.toMatchObject({ code: 'CORRUPT' })
    await store.close()
  })

  it('removes temp files left by a killed writer when it opens, and ignores foreign files', async () => {
    const dir = await tempDir()
    await writeFile(join(dir, '.victim@1.snap.999-1.tmp'), 'half a snapshot')
    await writeFile(join(dir, 'notes.txt'), 'not ours')
    await writeFile(join(dir, 'BAD@1.snap'), 'not a valid id')
    const store = await createStateStore({ adapter: fileAdapter({ dir }) })
    expect(await store.ids()).toEqual([])
    await store.save(snap(1))
    await store.close()
    expect((await readdir(dir)).sort()).toEqual(['BAD@1.snap', 'notes.txt', 'victim@1.snap'])
  })

  it('writes snapshot files readable by the owner only', async () => {
    const dir = await tempDir()
    const store = await createStateStore({ adapter: fileAdapter({ dir }) })
    await store.save(snap(1))
    await store.close()
    if (process.platform !== 'win32') expect((await stat(join(dir, 'victim@1.snap'))).mode & 0o777).toBe(0o600)
  })

  it('loses none of many concurrent saves (the fsync sharing itself is tested in dir-syncer.test.ts)', async () => {
    const dir = await tempDir()
    const store = await createStateStore({ adapter: fileAdapter({ dir }) })
    const ids = Array.from({ length: 60 }, (_, i) => `p${i}`)
    await Promise.all(ids.map((id) => store.save(snap(1, id))))
    await store.close()
    const reopened = await createStateStore({ adapter: fileAdapter({ dir }) })
    expect(await reopened.ids()).toEqual([...ids].sort())
    for (const id of ids) expect((await reopened.latest(id))?.data).toEqual(snap(1).data)
    await reopened.close()
  })
})

function flip(bytes: Buffer, at: number, mask: number): Buffer {
  const copy = Buffer.from(bytes)
  copy[at] = copy[at]! ^ mask
  return copy
}

// Written here, independently of the package's encoder, as a later release would.
function futureFile(format: number, body: string): Buffer {
  const bytes = Buffer.from(body)
  const prefix = `hotswap-state ${format} ${bytes.length}`
  const digest = createHash('sha256').update(`${prefix}\n${body}`).digest('hex')
  return Buffer.concat([Buffer.from(`${prefix} ${digest}\n`), bytes])
}
