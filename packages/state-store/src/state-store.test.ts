import { readdir } from 'node:fs/promises'
import { afterAll, describe, expect, it } from 'vitest'
import type { StateAdapter } from './adapter.js'
import { StateStoreError } from './errors.js'
import type { StateStoreEvent } from './events.js'
import { fileAdapter } from './file-adapter.js'
import { memoryAdapter } from './memory-adapter.js'
import { createSnapshot } from './snapshot.js'
import type { StateSnapshot } from './snapshot.js'
import { createStateStore } from './state-store.js'
import { removeTempDirs, tempDir } from './test-support/temp-dir.js'

afterAll(removeTempDirs)

const snap = (pluginId: string, n: number, version = '1.0.0'): StateSnapshot<{ n: number }> =>
  createSnapshot({ pluginId, pluginVersion: version, data: { n }, timestamp: 1_000 + n })
const ns = (list: readonly StateSnapshot[]): unknown[] => list.map((s) => (s.data as { n: number }).n)

const kinds: [string, () => Promise<StateAdapter>][] = [
  ['memory', () => Promise.resolve(memoryAdapter())],
  ['file', async () => fileAdapter({ dir: await tempDir() })],
]

describe.each(kinds)('createStateStore on the %s adapter', (_name, makeAdapter) => {
  it('saves, reads latest and keeps history newest first', async () => {
    const store = await createStateStore({ adapter: await makeAdapter() })
    expect(await store.latest('counter')).toBeUndefined()
    expect(await store.history('counter')).toEqual([])
    for (let n = 1; n <= 3; n++) await store.save(snap('counter', n))
    expect((await store.latest('counter'))?.data).toEqual({ n: 3 })
    expect(ns(await store.history('counter'))).toEqual([3, 2, 1])
    expect(await store.ids()).toEqual(['counter'])
    await store.close()
  })

  it('bounds history to maxHistory earlier snapshots besides the current one', async () => {
    const store = await createStateStore({ adapter: await makeAdapter(), maxHistory: 2 })
    for (let n = 1; n <= 6; n++) await store.save(snap('p', n))
    expect(ns(await store.history('p'))).toEqual([6, 5, 4])
    await store.close()
  })

  it('maxHistory 0 keeps only the current snapshot, so nothing to roll back to', async () => {
    const store = await createStateStore({ adapter: await makeAdapter(), maxHistory: 0 })
    await store.save(snap('p', 1))
    await store.save(snap('p', 2))
    expect(ns(await store.history('p'))).toEqual([2])
    await expect(store.rollback('p')).rejects.toMatchObject({ code: 'NOT_FOUND' })
    await store.close()
  })

  it('rollback makes the previous snapshot current and returns it', async () => {
    const events: StateStoreEvent[] = []
    const store = await createStateStore({ adapter: await makeAdapter(), onEvent: (e) => events.push(e) })
    for (let n = 1; n <= 3; n++) await store.save(snap('p', n))
    const back = await store.rollback<{ n: number }>('p')
    expect(back.data.n).toBe(2)
    expect((await store.latest('p'))?.data).toEqual({ n: 2 })
    expect((await store.rollback('p')).data).toEqual({ n: 1 })
    await expect(store.rollback('p')).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('no earlier') })
    await expect(store.rollback('never')).rejects.toMatchObject({ code: 'NOT_FOUND' })
    const rolled = events.filter((e) => e.type === 'rolledBack')
    expect(rolled.map((e) => [(e.discarded.data as { n: number }).n, (e.snapshot.data as { n: number }).n])).toEqual([
      [3, 2],
      [2, 1],
    ])
    await store.close()
  })

  it('clear and clearAll discard snapshots', async () => {
    const store = await createStateStore({ adapter: await makeAdapter() })
    for (const id of ['a', 'b', 'c']) await store.save(snap(id, 1))
    await store.clear('b')
    expect(await store.ids()).toEqual(['a', 'c'])
    expect(await store.latest('b')).toBeUndefined()
    await store.clearAll()
    expect(await store.ids()).toEqual([])
    await store.close()
  })

  it('serialises operations per plugin in call order', async () => {
    const store = await createStateStore({ adapter: await makeAdapter(), maxHistory: 100 })
    const saves = Array.from({ length: 30 }, (_, i) => store.save(snap('ordered', i + 1)))
    const reads = store.latest('ordered')
    const ids = store.ids()
    await Promise.all(saves)
    expect(await ids).toEqual(['ordered'])
    expect((await reads)?.data).toEqual({ n: 30 })
    expect(ns(await store.history('ordered'))).toEqual(Array.from({ length: 30 }, (_, i) => 30 - i))
    await store.close()
  })

  it('keeps a stored snapshot isolated from the caller', async () => {
    const store = await createStateStore({ adapter: await makeAdapter() })
    const data = { items: ['a'] }
    const saved = await store.save(createSnapshot({ pluginId: 'iso', pluginVersion: '1.0.0', data }))
    data.items.push('b')
    saved.data.items.push('c')
    expect((await store.latest('iso'))?.data).toEqual({ items: ['a'] })
    await store.close()
  })

  it('rejects bad ids and non-JSON data with typed errors and stores nothing', async () => {
    const store = await createStateStore({ adapter: await makeAdapter() })
    await expect(store.save({ ...snap('ok', 1), pluginId: '../evil' })).rejects.toMatchObject({ code: 'INVALID_ID' })
    await expect(store.latest('Bad Id')).rejects.toMatchObject({ code: 'INVALID_ID' })
    await expect(store.save({ ...snap('ok', 1), data: { when: new Date(0) } })).rejects.toThrow(
      /snapshot of "ok": data\.when is a Date instance/,
    )
    await expect(store.save({ ...snap('ok', 1), data: { f: () => 1 } })).rejects.toMatchObject({
      code: 'INVALID_DATA',
    })
    await expect(store.save({ ...snap('ok', 1), pluginVersion: 'latest' })).rejects.toMatchObject({ code: 'INVALID_DATA' })
    expect(await store.ids()).toEqual([])
    await store.close()
  })

  it('emits saved events to on() listeners until unsubscribed', async () => {
    const store = await createStateStore({ adapter: await makeAdapter() })
    const seen: number[] = []
    const off = store.on('saved', (event) => seen.push((event.snapshot.data as { n: number }).n))
    await store.save(snap('e', 1))
    off()
    await store.save(snap('e', 2))
    expect(seen).toEqual([1])
    await store.close()
  })

  it('close waits for queued saves, then rejects with CLOSED', async () => {
    const adapter = await makeAdapter()
    const store = await createStateStore({ adapter })
    const pending = store.save(snap('late', 1))
    await store.close()
    await expect(pending).resolves.toMatchObject({ pluginId: 'late' })
    await expect(store.save(snap('late', 2))).rejects.toMatchObject({ code: 'CLOSED' })
    await expect(store.latest('late')).rejects.toBeInstanceOf(StateStoreError)
    await expect(store.ids()).rejects.toMatchObject({ code: 'CLOSED' })
    await store.close()
  })
})

describe('createStateStore', () => {
  it('refuses a bad maxHistory', async () => {
    await expect(createStateStore({ adapter: memoryAdapter(), maxHistory: -1 })).rejects.toMatchObject({ code: 'INVALID_DATA' })
  })

  it('refuses an adapter that was opened before', async () => {
    const adapter = memoryAdapter()
    const store = await createStateStore({ adapter })
    await expect(createStateStore({ adapter })).rejects.toMatchObject({ code: 'CLOSED' })
    await store.close()
  })

  it('keeps history on disk across a restart with the file adapter', async () => {
    const dir = await tempDir()
    const first = await createStateStore({ adapter: fileAdapter({ dir }), maxHistory: 2 })
    for (let n = 1; n <= 4; n++) await first.save(snap('disk', n))
    await first.close()
    expect((await readdir(dir)).filter((f) => f.endsWith('.snap')).sort()).toEqual(['disk@2.snap', 'disk@3.snap', 'disk@4.snap'])
    const second = await createStateStore({ adapter: fileAdapter({ dir }), maxHistory: 2 })
    expect(ns(await second.history('disk'))).toEqual([4, 3, 2])
    expect((await second.rollback('disk')).data).toEqual({ n: 3 })
    await second.close()
    const third = await createStateStore({ adapter: fileAdapter({ dir }) })
    expect((await third.latest('disk'))?.data).toEqual({ n: 3 })
    await third.close()
  })
})

describe('a throwing event listener', () => {
  it('is reported as a process warning and never breaks the save or the process', async () => {
    const store = await createStateStore({ adapter: memoryAdapter() })
    const warnings: Error[] = []
    const onWarning = (warning: Error): void => void warnings.push(warning)
    process.on('warning', onWarning)
    try {
      store.on('saved', () => {
        throw new Error('listener bug')
      })
      const saved = await store.save(createSnapshot({ pluginId: 'noisy', pluginVersion: '1.0.0', data: { n: 1 } }))
      expect(saved.data).toEqual({ n: 1 })
      expect(await store.latest('noisy')).toMatchObject({ data: { n: 1 } })
      await new Promise((resolve) => setImmediate(resolve))
      expect(warnings.map((w) => w.message)).toEqual([expect.stringMatching(/listener for "saved" threw: listener bug/)])
    } finally {
      process.off('warning', onWarning)
      await store.close()
    }
  })
})
