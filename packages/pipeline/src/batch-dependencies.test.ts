// A watcher batch that changes a dependency and its dependent: one registry.reloadMany(), the
// dependency first, whichever of the two changes the pipeline applies first.
import { describe, expect, it } from 'vitest'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Subject } from 'rxjs'
import { inProcessLoader } from '@hotswap/registry'
import type { FileChange } from '@hotswap/watcher'
import { collect, isReload, until, usePipeline } from './test-support/harness.js'

const fixture = usePipeline()
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

const b = (version: string, extra = ''): string => `export default { name: 'b', version: '${version}', setup() { return { whoami: () => '${version}'${extra} } } }\n`
// a@1.1.0's setup needs b@1.1.0 (its new method): reloaded before b, it would fail.
const a = (version: string, needsNew: boolean): string =>
  `export default { name: 'a', version: '${version}', dependsOn: { b: '^1.0.0' }, async setup(ctx) {
  const b = ctx.plugins.get('b')
  const added = ${needsNew ? "await b.call('added')" : "'none'"}
  return { viaB: async () => (await b.call('whoami')) + ' ' + added }
} }\n`

describe('a batch that changes a dependency and its dependent', () => {
  it.each([['a', 'b'], ['b', 'a']])('is one reloadMany, the dependency first (changes routed %s then %s)', async (first, second) => {
    const files = { a: join(fixture.dirs.plugins, 'a.mjs'), b: join(fixture.dirs.plugins, 'b.mjs') }
    await writeFile(files.b, b('1.0.0'))
    await writeFile(files.a, a('1.0.0', false))
    const changes = new Subject<FileChange>()
    const p = fixture.start({ changes, debounce: 0, loader: inProcessLoader() })
    await p.ready
    expect(await p.registry.get<{ viaB(): string }>('a').call('viaB')).toBe('1.0.0 none')
    const swaps: string[] = []
    const sub = p.registry.events$.subscribe((e) => {
      if (e.type === 'reloaded') swaps.push(`${e.id}@${e.to}`)
      if (e.type === 'failed') swaps.push(`failed ${e.id ?? e.path}`)
    })
    const log = collect(p.events$)
    await writeFile(files.b, b('1.1.0', ", added: () => 'added'"))
    await writeFile(files.a, a('1.1.0', true))
    changes.next({ kind: 'modified', path: files[first as 'a' | 'b'], root: fixture.dirs.plugins })
    changes.next({ kind: 'modified', path: files[second as 'a' | 'b'], root: fixture.dirs.plugins })
    await until(() => swaps.length >= 2, 10_000, 'both plugins swapped')
    await until(() => log.events.filter((e) => isReload(e) || e.type === 'skipped').length >= 2, 10_000, 'both changes applied')
    await pause(200)
    sub.unsubscribe()
    log.stop()
    expect(swaps).toEqual(['b@1.1.0', 'a@1.1.0'])
    expect(await p.registry.get<{ viaB(): string }>('a').call('viaB')).toBe('1.1.0 added')
    expect(log.events.filter(isReload).every((r) => r.outcome === 'success')).toBe(true)
    expect(p.registry.status('a').reloadCount).toBe(1)
    expect(p.registry.status('b').reloadCount).toBe(1)
  })
})
