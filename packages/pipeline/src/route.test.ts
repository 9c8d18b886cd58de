import { describe, expect, it } from 'vitest'
import { TestScheduler } from 'rxjs/testing'
import type { FileChange } from '@hotswap/watcher'
import { planChanges } from './change-source.js'
import type { PluginChange } from './plugin-change.js'
import { routeFileChange } from './route.js'
import { SlotTable } from './slot.js'

const DIR = '/w/plugins'
const A = `${DIR}/a.mjs`
const B = `${DIR}/b.mjs`
const C = `${DIR}/c.mjs`
const HELPER = `${DIR}/lib/helper.mjs`
const DIRPLUG = `${DIR}/dirplug`

/** Slots as after a build: a and b import the shared helper, c does not; dirplug reads two files. */
function table(): SlotTable {
  const slots = new SlotTable()
  const built = (path: string, inputs: string[]): void => {
    const slot = slots.slot(path)
    slots.setId(slot, path.split('/').pop()!.replace('.mjs', ''))
    slots.setInputs(slot, new Map(inputs.map((f) => [f, 'h'])), new Map())
  }
  built(A, [A, HELPER])
  built(B, [B, HELPER])
  built(C, [C])
  built(DIRPLUG, [`${DIRPLUG}/package.json`, `${DIRPLUG}/index.mjs`])
  return slots
}

const fc = (kind: FileChange['kind'], path: string, oldPath?: string): FileChange => ({ kind, path, root: DIR, ...(oldPath !== undefined ? { oldPath } : {}) })
const paths = (changes: PluginChange[]): string[] => changes.map((c) => `${c.kind}:${c.path}`).sort()

describe('routeFileChange', () => {
  it('sends a shared input to exactly the plugins that import it', () => {
    expect(paths(routeFileChange(fc('modified', HELPER), [DIR], table(), 0))).toEqual([`modified:${A}`, `modified:${B}`])
  })

  it('sends a file nobody reads to nobody, except its own plugin folder for a new file', () => {
    const slots = table()
    expect(routeFileChange(fc('modified', `${DIRPLUG}/README.md`), [DIR], slots, 0)).toEqual([])
    expect(paths(routeFileChange(fc('created', `${DIRPLUG}/extra.mjs`), [DIR], slots, 0))).toEqual([`modified:${DIRPLUG}`])
    expect(paths(routeFileChange(fc('modified', `${DIRPLUG}/index.mjs`), [DIR], slots, 0))).toEqual([`modified:${DIRPLUG}`])
  })

  it('gives a plugin file its own kind, and anything below a folder that never built to that folder', () => {
    const slots = new SlotTable()
    expect(paths(routeFileChange(fc('created', A), [DIR], slots, 0))).toEqual([`created:${A}`])
    expect(paths(routeFileChange(fc('deleted', A), [DIR], slots, 0))).toEqual([`deleted:${A}`])
    expect(paths(routeFileChange(fc('modified', `${DIRPLUG}/deep/x.mjs`), [DIR], slots, 0))).toEqual([`modified:${DIRPLUG}`])
    expect(routeFileChange(fc('modified', '/elsewhere/x.mjs'), [DIR], slots, 0)).toEqual([])
  })

  it('turns a rename of a loaded plugin into one renamed change, and of anything else into a delete and a create', () => {
    const slots = table()
    const [moved, ...rest] = routeFileChange(fc('renamed', `${DIR}/a2.mjs`, A), [DIR], slots, 0)
    expect(rest).toEqual([])
    expect(moved).toMatchObject({ path: A, kind: 'renamed', to: `${DIR}/a2.mjs` })
    expect(paths(routeFileChange(fc('renamed', `${DIR}/y.mjs`, `${DIR}/x.mjs`), [DIR], slots, 0))).toEqual([`created:${DIR}/y.mjs`, `deleted:${DIR}/x.mjs`])
  })
})

describe('planChanges', () => {
  it('routes, groups and settles: a burst on the shared helper reaches each importer once, after the window and the settle time', () => {
    const ts = new TestScheduler((actual, expected) => expect(actual).toEqual(expected))
    ts.run(({ cold, expectObservable }) => {
      const slots = table()
      const routed: string[] = []
      const plan = planChanges({
        dirs: [DIR],
        slots,
        windowMs: 10,
        maxWaitMs: undefined,
        settleMs: 30,
        scheduler: ts,
        probe: (files) => files.map(() => ({ ino: '1', size: 1, mtime: '1' })),
        known: () => ({ ino: '1', size: 0, mtime: '0' }),
        onRouted: (c) => routed.push(c.path),
      })
      const h = fc('modified', HELPER)
      const out$ = cold('h 4ms h 4ms h', { h }).pipe(plan)
      const grouped = (path: string): PluginChange => ({ path, kind: 'modified', cause: 'change', changes: [h, h, h], firstAt: 0, lastAt: 10 })
      // last event at 10, window 10 -> 20; settle: probe at 20 and 50 agree -> 50
      expectObservable(out$).toBe('50ms (ab)', { a: grouped(A), b: grouped(B) })
      ts.flush()
      expect(routed.sort()).toEqual([A, A, A, B, B, B])
    })
  })
})
