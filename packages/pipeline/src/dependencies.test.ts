import { describe, expect, it } from 'vitest'
import fs from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { syncBuiltinESMExports } from 'node:module'
import { join } from 'node:path'
import { Subject } from 'rxjs'
import { inProcessLoader } from '@hotswap/registry'
import type { FileChange } from '@hotswap/watcher'
import { collect, isReload, nextEvent, until, usePipeline } from './test-support/harness.js'

const fixture = usePipeline()
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** A plugin that answers with the shared helper's value (or its own, for one that imports nothing). */
const importer = (name: string, from: string | undefined): string =>
  from === undefined
    ? `export default { name: '${name}', version: '1.0.0', setup() { return { value: () => 'own' } } }\n`
    : `import { value } from '${from}'\nexport default { name: '${name}', version: '1.0.0', setup() { return { value: () => value } } }\n`

/** Counts every open of `file` by this thread (fs, fs/promises, sync and callback) until `stop()`. */
function countOpens(file: string): { readonly count: () => number; stop: () => void } {
  let count = 0
  const promises = fs.promises as unknown as Record<string, (...args: unknown[]) => unknown>
  const sync = fs as unknown as Record<string, (...args: unknown[]) => unknown>
  const patched: [Record<string, (...args: unknown[]) => unknown>, string, (...args: unknown[]) => unknown][] = []
  const wrap = (target: Record<string, (...args: unknown[]) => unknown>, name: string): void => {
    const original = target[name]!
    patched.push([target, name, original])
    target[name] = function (this: unknown, ...args: unknown[]) {
      if (typeof args[0] === 'string' && args[0] === file) count++
      return original.apply(this, args)
    }
  }
  for (const name of ['open', 'readFile']) wrap(promises, name)
  for (const name of ['open', 'openSync', 'readFile', 'readFileSync', 'createReadStream']) wrap(sync, name)
  syncBuiltinESMExports()
  return {
    count: () => count,
    stop: () => {
      for (const [target, name, original] of patched) target[name] = original
      syncBuiltinESMExports()
    },
  }
}

describe('dependency-aware reloads (the artifacts\' inputs)', () => {
  it('reloads exactly the two importers of an edited shared helper, once each, and no other plugin', async () => {
    const lib = join(fixture.dirs.plugins, 'lib')
    await mkdir(lib)
    const helper = join(lib, 'helper.mjs')
    await writeFile(helper, `export const value = 'v1'\n`)
    await writeFile(join(fixture.dirs.plugins, 'a.mjs'), importer('a', './lib/helper.mjs'))
    await writeFile(join(fixture.dirs.plugins, 'b.mjs'), importer('b', './lib/helper.mjs'))
    await writeFile(join(fixture.dirs.plugins, 'c.mjs'), importer('c', undefined))
    const p = fixture.start()
    await p.ready
    expect(p.registry.list().map((s) => s.id).sort()).toEqual(['a', 'b', 'c'])
    expect(p.status().plugins.find((s) => s.plugin?.id === 'a')?.inputs).toContain(helper)
    const log = collect(p.events$)
    await writeFile(helper, `export const value = 'v2'\n`)
    await until(async () => (await p.registry.get<{ value(): string }>('a').call('value')) === 'v2' && (await p.registry.get<{ value(): string }>('b').call('value')) === 'v2', 10_000, 'both importers on v2')
    await pause(500) // anything else the edit caused has happened by now
    const reloads = log.events.filter(isReload)
    expect(reloads.map((r) => `${r.id}:${r.action}:${r.outcome}`).sort()).toEqual(['a:reload:success', 'b:reload:success'])
    expect(reloads.every((r) => r.changes.some((c) => c.path === helper))).toBe(true)
    log.stop()
  })

  it('reloads nothing for a change to a file no plugin imports', async () => {
    const lib = join(fixture.dirs.plugins, 'lib')
    await mkdir(lib)
    await writeFile(join(lib, 'unused.mjs'), `export const value = 1\n`)
    await writeFile(join(fixture.dirs.plugins, 'c.mjs'), importer('c', undefined))
    const p = fixture.start()
    await p.ready
    const log = collect(p.events$)
    const looked = nextEvent(p.events$, (e) => e.type === 'skipped')
    await writeFile(join(lib, 'unused.mjs'), `export const value = 2\n`)
    expect(await looked).toMatchObject({ reason: 'notAPlugin', path: lib })
    await pause(300)
    expect(log.events.filter(isReload)).toEqual([])
    log.stop()
  })

  it('reads each input once per change: the pipeline builds the artifact and the registry runs it (in-process)', async () => {
    const file = join(fixture.dirs.plugins, 'a.mjs')
    const helper = join(fixture.dirs.plugins, 'lib', 'helper.mjs')
    await mkdir(join(fixture.dirs.plugins, 'lib'))
    await writeFile(helper, `export const value = 'v1'\n`)
    await writeFile(file, importer('a', './lib/helper.mjs'))
    // changes fed by hand: what is counted is the pipeline and the registry, not the watcher
    const changes = new Subject<FileChange>()
    const p = fixture.start({ changes, debounce: 0, loader: inProcessLoader() })
    await p.ready
    const opensOfFile = countOpens(file)
    const opensOfHelper = countOpens(helper)
    try {
      await writeFile(file, importer('a', './lib/helper.mjs') + '// edited\n')
      const reloaded = nextEvent(p.events$, (e) => isReload(e) && e.outcome === 'success')
      changes.next({ kind: 'modified', path: file, root: fixture.dirs.plugins })
      await reloaded
      expect(await p.registry.get<{ value(): string }>('a').call('value')).toBe('v1')
    } finally {
      opensOfFile.stop()
      opensOfHelper.stop()
    }
    expect(opensOfFile.count()).toBe(1)
    expect(opensOfHelper.count()).toBe(1)
    // one hash: what status shows is the hash of the artifact the pipeline built
    expect(p.registry.status('a').hash).toBe(p.status().lastReload?.hashAfter)
  })

  it('serves a TypeScript plugin and its edits (in-process)', async () => {
    const file = join(fixture.dirs.plugins, 'greeter.ts')
    const source = (greeting: string): string =>
      `const greeting: string = '${greeting}'\nexport default { name: 'greeter', version: '1.0.0', setup() { return { greet: (who: string): string => greeting + ' ' + who } } }\n`
    await writeFile(file, source('hello'))
    const p = fixture.start({ loader: inProcessLoader() })
    await p.ready
    const greeter = p.registry.get<{ greet(who: string): string }>('greeter')
    expect(await greeter.call('greet', 'bob')).toBe('hello bob')
    await writeFile(file, source('hi'))
    await until(async () => (await greeter.call('greet', 'bob')) === 'hi bob', 10_000, 'the edit served')
  })
})
