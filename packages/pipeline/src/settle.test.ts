import { describe, expect, it } from 'vitest'
import { map } from 'rxjs'
import { TestScheduler } from 'rxjs/testing'
import type { FileChange } from '@hotswap/watcher'
import type { PluginChange } from './plugin-change.js'
import { settle, type FileStamp } from './settle.js'

const FILE = '/plugins/counter.mjs'

/** A plugin change of one file event. */
const change = (kind: FileChange['kind'], path = FILE, cause: PluginChange['cause'] = 'change'): PluginChange => ({
  path: FILE,
  kind: kind === 'renamed' ? 'renamed' : kind,
  ...(kind === 'renamed' ? { to: '/plugins/other.mjs' } : {}),
  cause,
  changes: [{ kind, path, root: '/plugins' }],
  firstAt: 0,
  lastAt: 0,
})

/**
 * A disk the test writes at virtual times: `writes` maps a frame to the stamp of FILE from then
 * on (size grows as chunks land; a new inode is an atomic replace).
 */
function disk(scheduler: TestScheduler, writes: Record<number, FileStamp | undefined>, known?: FileStamp) {
  let current: FileStamp | undefined = writes[0]
  for (const [at, stamp] of Object.entries(writes)) scheduler.schedule(() => (current = stamp), Number(at))
  return {
    probe: (files: readonly string[]) => files.map(() => current),
    known: (_plugin: string, file: string) => (file === FILE ? known : undefined),
  }
}

const stamp = (size: number, mtime: number, ino = '7'): FileStamp => ({ ino, size, mtime: String(mtime) })

const testScheduler = (): TestScheduler => new TestScheduler((actual, expected) => expect(actual).toEqual(expected))

describe('settle', () => {
  it('lets an in-place write through once the file read the same twice, settleMs apart', () => {
    const ts = testScheduler()
    ts.run(({ cold, expectObservable }) => {
      const fs = disk(ts, { 0: stamp(100, 1) }, stamp(90, 0))
      const values = { a: change('modified') }
      expectObservable(cold('a', values).pipe(settle({ settleMs: 50, ...fs, scheduler: ts }))).toBe('50ms a', values)
    })
  })

  it('lets an atomic save (the watcher says atomic) through at once, without probing the file', () => {
    const ts = testScheduler()
    let probes = 0
    ts.run(({ cold, expectObservable }) => {
      const probe = (files: readonly string[]) => (probes++, files.map(() => stamp(100, 1)))
      const atomic: PluginChange = { ...change('modified'), changes: [{ kind: 'modified', path: FILE, root: '/plugins', atomic: true }] }
      const values = { a: atomic }
      expectObservable(cold('a', values).pipe(settle({ settleMs: 50, probe, known: () => stamp(100, 1), scheduler: ts }))).toBe('a', values)
    })
    expect(probes).toBe(0)
  })

  it('still settles a plain write that follows an atomic save of the same file in one burst', () => {
    const ts = testScheduler()
    ts.run(({ cold, expectObservable }) => {
      const fs = disk(ts, { 0: stamp(100, 1) }, stamp(90, 0))
      const burst: PluginChange = { ...change('modified'), changes: [{ kind: 'modified', path: FILE, root: '/plugins', atomic: true }, { kind: 'modified', path: FILE, root: '/plugins' }] }
      const values = { a: burst }
      expectObservable(cold('a', values).pipe(settle({ settleMs: 50, ...fs, scheduler: ts }))).toBe('50ms a', values)
    })
  })

  it('waits while a writer pauses up to settleMs between chunks, and goes on after its last chunk', () => {
    const ts = testScheduler()
    ts.run(({ cold, expectObservable }) => {
      // chunks land at 0, 40 and 90 (pauses of 40 and 50 ms, within settleMs = 50)
      const fs = disk(ts, { 0: stamp(10, 1), 40: stamp(20, 2), 90: stamp(30, 3) }, stamp(5, 0))
      const values = { a: change('modified') }
      // probes at 0 (10), 50 (20: changed), 100 (30: changed), 150 (30: same) -> through at 150
      expectObservable(cold('a', values).pipe(settle({ settleMs: 50, ...fs, scheduler: ts }))).toBe('150ms a', values)
    })
  })

  it('folds a change that arrives while one is held, and restarts the wait', () => {
    const ts = testScheduler()
    ts.run(({ cold, expectObservable }) => {
      const fs = disk(ts, { 0: stamp(10, 1), 30: stamp(20, 2) }, stamp(5, 0))
      const a = change('modified')
      const folded: PluginChange = { ...a, changes: [...a.changes, ...a.changes] }
      expectObservable(cold('a 29ms a', { a }).pipe(settle({ settleMs: 50, ...fs, scheduler: ts }))).toBe('80ms f', { f: folded })
    })
  })

  it('lets a file replaced whole (a new inode: atomic save, rename over it) through at once', () => {
    const ts = testScheduler()
    ts.run(({ cold, expectObservable }) => {
      const fs = disk(ts, { 0: stamp(100, 1, '8') }, stamp(90, 0, '7'))
      const values = { a: change('modified') }
      expectObservable(cold('a', values).pipe(settle({ settleMs: 50, ...fs, scheduler: ts }))).toBe('a', values)
    })
  })

  it('settles a new file (no inode known to compare with)', () => {
    const ts = testScheduler()
    ts.run(({ cold, expectObservable }) => {
      const fs = disk(ts, { 0: stamp(100, 1, '8') })
      const values = { a: change('created') }
      expectObservable(cold('a', values).pipe(settle({ settleMs: 50, ...fs, scheduler: ts }))).toBe('50ms a', values)
    })
  })

  it('lets watcher-paired renames, non-file causes and settleMs 0 through at once; a deletion after settleMs', () => {
    const ts = testScheduler()
    ts.run(({ cold, expectObservable }) => {
      const fs = disk(ts, { 0: stamp(100, 1) }, stamp(90, 0))
      const values = { d: change('deleted'), r: change('renamed'), s: change('modified', FILE, 'reconcile') }
      expectObservable(cold('d', values).pipe(settle({ settleMs: 50, ...fs, scheduler: ts }))).toBe('50ms d', values)
      expectObservable(cold('d', values).pipe(settle({ settleMs: 0, ...fs, scheduler: ts }))).toBe('d', values)
      expectObservable(cold('r', values).pipe(settle({ settleMs: 50, ...fs, scheduler: ts }))).toBe('r', values)
      expectObservable(cold('s', values).pipe(settle({ settleMs: 50, ...fs, scheduler: ts }))).toBe('s', values)
      expectObservable(cold('m', { m: change('modified') }).pipe(settle({ settleMs: 0, ...fs, scheduler: ts }))).toBe('m', { m: change('modified') })
    })
  })

  it('holds a file truncated in place until its bytes land, however long the writer takes', () => {
    const ts = testScheduler()
    ts.run(({ cold, expectObservable }) => {
      // truncated at 0 (empty), written at 130: probes at 0, 50, 100 read it empty and the same,
      // 150 sees the bytes, 200 agrees -> through at 200 (not at 50 with the file empty)
      const fs = disk(ts, { 0: stamp(0, 1), 130: stamp(100, 2) }, stamp(90, 0))
      const values = { a: change('modified') }
      expectObservable(cold('a', values).pipe(settle({ settleMs: 50, ...fs, scheduler: ts }))).toBe('200ms a', values)
    })
  })

  it('lets a file that stays empty through after 1 s (emptied on purpose: the reload reports it)', () => {
    const ts = testScheduler()
    ts.run(({ cold, expectObservable }) => {
      const fs = disk(ts, { 0: stamp(0, 1) }, stamp(90, 0))
      const values = { a: change('modified') }
      expectObservable(cold('a', values).pipe(settle({ settleMs: 50, ...fs, scheduler: ts }))).toBe('1000ms a', values)
    })
  })

  it('folds a plugin moved away and replaced within settleMs into one change of it (a reload, not an unload and a load)', () => {
    const ts = testScheduler()
    ts.run(({ cold, expectObservable }) => {
      // moved away at 0, the new one renamed in at 5 (a new inode: complete at once)
      const fs = disk(ts, { 0: undefined, 5: stamp(100, 2) })
      const replaced: PluginChange = { ...change('created'), changes: [{ kind: 'created', path: FILE, root: '/plugins', atomic: true }] }
      const out = cold('d 4ms c', { d: change('deleted'), c: replaced }).pipe(settle({ settleMs: 50, ...fs, scheduler: ts }), map((c) => c.kind))
      expectObservable(out).toBe('5ms m', { m: 'modified' })
    })
  })

  it('drops a held creation that is deleted before it settles', () => {
    const ts = testScheduler()
    ts.run(({ cold, expectObservable }) => {
      const fs = disk(ts, { 0: stamp(100, 1), 20: undefined })
      expectObservable(cold('c 19ms d 100ms |', { c: change('created'), d: change('deleted') }).pipe(settle({ settleMs: 50, ...fs, scheduler: ts }))).toBe('121ms |')
    })
  })

  it('lets held changes through on completion, and cancels its timers on unsubscribe', () => {
    const ts = testScheduler()
    ts.run(({ cold, expectObservable }) => {
      const fs = disk(ts, { 0: stamp(100, 1) }, stamp(90, 0))
      const values = { a: change('modified') }
      expectObservable(cold('a 9ms |', values).pipe(settle({ settleMs: 50, ...fs, scheduler: ts }))).toBe('10ms (a|)', values)
      expectObservable(cold('a', values).pipe(settle({ settleMs: 50, ...fs, scheduler: ts })), '^ 20ms !').toBe('')
    })
  })
})
