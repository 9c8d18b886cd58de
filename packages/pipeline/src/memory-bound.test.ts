import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { queryObjects } from 'node:v8'
import { Subject } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { RegistryError, inProcessLoader } from '@hotswap/registry'
import type { FileChange } from '@hotswap/watcher'
import type { PipelineEvent, ReloadResult } from './events.js'
import { MetricsRecorder } from './metrics.js'
import { Slot } from './slot.js'
import { atomicWrite, fullGc, nextEvent, usePipeline } from './test-support/harness.js'

const fixture = usePipeline()

const version = (name: string, n: number): string =>
  `let count = 0\nexport default { name: '${name}', version: '1.0.${n}', setup(ctx) { if (ctx.state) count = ctx.state.count; return { v: () => ({ n: ${n}, count: ++count }) } }, saveState() { return { count } } }\n`

/** How many objects of a class are alive after a full GC (V8 counts them in the heap). */
const alive = (ctor: abstract new (...args: never[]) => unknown): number => queryObjects(ctor, { format: 'count' })

describe('memory per reload (structural bounds, not timings)', () => {
  it('keeps no record per reload: after 300 reloads, 30 failed edits and 30 plugins created and deleted, slots, metrics, errors and events are bounded', async () => {
    const fed = new Subject<FileChange>()
    const plugins = fixture.dirs.plugins
    const file = join(plugins, 'soak.mjs')
    await writeFile(file, version('soak', 0))
    const p = fixture.start({ changes: fed, loader: inProcessLoader(), debounce: 0 })
    const refs: WeakRef<object>[] = []
    let emitted = 0
    p.events$.subscribe((e) => {
      emitted++
      refs.push(new WeakRef(e))
    })
    await p.ready
    const changed = (kind: FileChange['kind'], path: string): void => fed.next({ kind, path, root: plugins })
    const applied = (path: string): Promise<ReloadResult> => nextEvent(p.events$, (e: PipelineEvent): e is ReloadResult => e.type === 'reload' && e.path === path, 30_000)

    for (let n = 1; n <= 300; n++) {
      const broken = n % 10 === 0
      await atomicWrite(file, broken ? `export default { name: 'soak', version: '1.0.${n}', setup() { return {} ` : version('soak', n))
      const done = applied(file)
      changed('modified', file)
      const result = await done
      expect(result.outcome, `edit ${n}`).toBe(broken ? 'failed' : 'success')
      if (n % 10 === 5) {
        const other = join(plugins, `churn-${n}.mjs`)
        await writeFile(other, version(`churn-${n}`, 0))
        const loaded = applied(other)
        changed('created', other)
        expect((await loaded).outcome).toBe('success')
        await rm(other)
        const unloaded = applied(other)
        changed('deleted', other)
        expect((await unloaded).action).toBe('unload')
      }
    }
    expect(await p.registry.get<{ v(): { n: number } }>('soak').call('v')).toMatchObject({ n: 299 })
    expect(p.registry.list().map((s) => s.id)).toEqual(['soak'])

    await fullGc()
    // One slot for soak.mjs; each churned plugin's slot was forgotten once it was unloaded.
    expect(alive(Slot)).toBeLessThanOrEqual(2)
    // The totals' recorder and soak's own (a churned slot's recorder goes with its slot).
    expect(alive(MetricsRecorder)).toBeLessThanOrEqual(3)
    // 30 failures happened; what is kept is the last one (slot, registry status, last reload).
    expect(alive(RegistryError)).toBeLessThanOrEqual(6)
    // About a thousand events were emitted; none is kept but the last reload result (status().lastReload).
    expect(emitted).toBeGreaterThan(900)
    expect(refs.filter((r) => r.deref() !== undefined).length).toBeLessThanOrEqual(5)
    fed.complete()
  }, 180_000)

  it('keeps the last 512 reload durations for the percentiles, not every one', () => {
    const recorder = new MetricsRecorder()
    // 512 slow reloads, then 10,000 fast ones: with every duration kept, the slow ones would
    // still be 4.9 % of them and p99 would be 1000; with the window only the fast ones remain.
    for (let i = 0; i < 512; i++) recorder.record(true, 1000, i)
    for (let i = 0; i < 10_000; i++) recorder.record(true, 1, 512 + i)
    expect(recorder.snapshot()).toMatchObject({ reloads: 10_512, p50Ms: 1, p90Ms: 1, p99Ms: 1 })
  })
})
