import { describe, expect, it } from 'vitest'
import { open, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Subject } from 'rxjs'
import type { FileChange } from '@hotswap/watcher'
import { collect, counterPlugin, isReload, nextEvent, until, usePipeline } from './test-support/harness.js'

const fixture = usePipeline()
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** A plugin whose `v()` is `half-<n>` in its first chunk and `whole-<n>` once its second chunk landed. */
function chunks(n: number): [string, string] {
  return [`let v = 'half-${n}'\nexport default { name: 'chunky', version: '1.0.${n}', setup() { return { v: () => v } } }\n`, `v = 'whole-${n}'\n`]
}

describe('edits (settle, supersede, fail once)', () => {
  it('serves each of 100 edits written right after the previous version serves (debounce 0), none lost as unchanged', async () => {
    const file = join(fixture.dirs.plugins, 'counter.mjs')
    await writeFile(file, counterPlugin('counter', '1.0.0'))
    const p = fixture.start({ debounce: 0, retry: false })
    await p.ready
    const counter = p.registry.get<{ get(): { version: string } }>('counter')
    const log = collect(p.events$)
    for (let n = 1; n <= 100; n++) {
      // same length every time: only the bytes tell the versions apart
      const version = `1.0.${100 + n}`
      await writeFile(file, counterPlugin('counter', version))
      await until(async () => (await counter.call('get')).version === version, 10_000, `edit ${n} served`)
    }
    expect(log.events.filter((e) => e.type === 'skipped' && e.reason === 'unchanged')).toEqual([])
    expect(log.events.filter((e) => isReload(e) && e.outcome === 'failed')).toEqual([])
    log.stop()
  }, 120_000)

  it('never serves a half-written file: writers pausing up to settleMs between chunks are loaded whole', async () => {
    const file = join(fixture.dirs.plugins, 'chunky.mjs')
    await writeFile(file, chunks(0).join(''))
    const settleMs = 150
    const p = fixture.start({ debounce: 0, settleMs })
    await p.ready
    const chunky = p.registry.get<{ v(): string }>('chunky')
    const log = collect(p.events$)
    const served: string[] = []
    let polling = true
    const poller = (async () => {
      while (polling) {
        served.push(await chunky.call('v'))
        await pause(2)
      }
    })()
    const pauses = [20, 60, 100, 140, 40, 120]
    for (const [i, gap] of pauses.entries()) {
      const n = i + 1
      const [head, tail] = chunks(n)
      const handle = await open(file, 'w') // in place, as a slow writer does
      await handle.write(head)
      await handle.sync()
      await pause(gap)
      await handle.write(tail)
      await handle.close()
      await until(async () => (await chunky.call('v')) === `whole-${n}`, 10_000, `version ${n} served whole`)
    }
    polling = false
    await poller
    expect(served.filter((v) => v.startsWith('half'))).toEqual([])
    const reloads = log.events.filter(isReload)
    expect(reloads.filter((r) => r.outcome === 'failed')).toEqual([])
    expect(reloads.filter((r) => r.outcome === 'success')).toHaveLength(pauses.length)
    log.stop()
  }, 60_000)

  it('reports a deterministic failure once, with the file, and does not retry it; a fix loads', async () => {
    const file = join(fixture.dirs.plugins, 'counter.mjs')
    await writeFile(file, counterPlugin('counter', '1.0.0'))
    const p = fixture.start({ retry: { maxRetries: 3, backoff: { strategy: 'linear', initialMs: 20, incrementMs: 0 } } })
    await p.ready
    const log = collect(p.events$)
    const failed = nextEvent(p.events$, (e) => isReload(e) && e.outcome === 'failed')
    await writeFile(file, 'export default { name: "counter", version: "1.0.1", setup() { return {} } ')
    const failure = await failed
    expect(failure).toMatchObject({ attempts: 1, deterministic: true })
    // the same bytes again (a touch, a reconcile): skipped, not tried
    const again = nextEvent(p.events$, (e) => e.type === 'skipped' && e.reason === 'alreadyFailed')
    await writeFile(file, 'export default { name: "counter", version: "1.0.1", setup() { return {} } ')
    await again
    const errors = fixture.logs.filter((l) => l.startsWith('error:'))
    expect(errors).toHaveLength(1)
    expect(errors[0]).toContain('counter')
    expect(log.events.filter((e) => e.type === 'retry')).toEqual([])
    const fixed = nextEvent(p.events$, (e) => isReload(e) && e.outcome === 'success')
    await writeFile(file, counterPlugin('counter', '1.0.2'))
    expect(await fixed).toMatchObject({ to: '1.0.2' })
    log.stop()
  })

  it('takes its file changes from the changes option: no watcher, the change fed by hand is applied', async () => {
    const file = join(fixture.dirs.plugins, 'counter.mjs')
    await writeFile(file, counterPlugin('counter', '1.0.0'))
    const changes = new Subject<FileChange>()
    const p = fixture.start({ changes, debounce: 0 })
    await p.ready
    await writeFile(file, counterPlugin('counter', '1.1.0'))
    // nothing is watching: the edit is not seen until the change is fed
    const reloaded = nextEvent(p.events$, (e) => isReload(e) && e.outcome === 'success')
    changes.next({ kind: 'modified', path: file, root: fixture.dirs.plugins })
    expect(await reloaded).toMatchObject({ action: 'reload', to: '1.1.0', cause: 'change' })
  })
})
