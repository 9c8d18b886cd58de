import { describe, expect, it } from 'vitest'
import { mkdir, open, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { context } from 'esbuild'
import { atomicWrite, collect, isReload, until, usePipeline } from './test-support/harness.js'

const fixture = usePipeline()

/** A plugin whose `v()` returns its marker; the source is padded so some writes take several chunks. */
function marked(name: string, marker: number, pad = 0): string {
  return `export default { name: ${JSON.stringify(name)}, version: '1.0.${marker}', setup() { return { v: () => ${marker} } } }\n// ${'x'.repeat(pad)}\n`
}

describe('pipeline under bursts', () => {
  it('100 plugins x 20 writes (chunked and atomic) end on their final content, each loaded once after the burst', async () => {
    const count = 100
    const files = Array.from({ length: count }, (_, i) => join(fixture.dirs.plugins, `p${String(i).padStart(3, '0')}.mjs`))
    const p = fixture.start({ debounce: { windowMs: 150, maxWaitMs: 5000 }, concurrency: 4 })
    await p.ready
    const log = collect(p.events$)
    await Promise.all(
      files.map(async (file, i) => {
        for (let w = 1; w <= 20; w++) {
          const text = marked(`p${String(i).padStart(3, '0')}`, w, (i % 3) * 20_000)
          if (i % 3 === 0) {
            await atomicWrite(file, text)
          } else if (i % 3 === 1) {
            // several chunks through one handle, as a slow writer would
            const handle = await open(file, 'w')
            const bytes = Buffer.from(text)
            for (let at = 0; at < bytes.length; at += 8192) await handle.write(bytes.subarray(at, at + 8192))
            await handle.close()
          } else {
            await writeFile(file, text)
          }
        }
      }),
    )
    const burstEnd = Date.now()
    await until(
      async () => {
        const values: number[] = []
        for (let i = 0; i < count; i++) {
          const id = `p${String(i).padStart(3, '0')}`
          values.push(p.registry.has(id) ? await p.registry.get<{ v(): number }>(id).call('v') : -1)
        }
        return values.every((v) => v === 20)
      },
      60_000,
      'every plugin on its final content',
    )
    await new Promise((r) => setTimeout(r, 500))
    const reloads = log.events.filter(isReload)
    // nothing half-written was ever loaded: every successful load/reload served a whole version
    const failed = reloads.filter((r) => r.outcome === 'failed')
    expect(failed.map((f) => f.error?.message)).toEqual([])
    // each plugin was loaded or reloaded at most once after the burst ended (no extra churn)
    for (let i = 0; i < count; i++) {
      const root = files[i]!
      const after = reloads.filter((r) => r.path === root && r.at > burstEnd + 400)
      expect(after.length, `${root} reloads after the burst`).toBeLessThanOrEqual(1)
    }
    const perPlugin = files.map((root) => reloads.filter((r) => r.path === root && r.outcome === 'success').length)
    // the burst was coalesced: a handful of loads per plugin at most, not one per write
    expect(Math.max(...perPlugin)).toBeLessThanOrEqual(3)
    for (const root of files) {
      const finals = reloads.filter((r) => r.path === root && r.outcome === 'success' && r.to === '1.0.20')
      // Once, or twice when the worker imported newer bytes than the registry had hashed (the
      // second load then confirms the final content; see the pipeline README, "known limits").
      expect(finals.length, `${root} loads of its final version`).toBeGreaterThanOrEqual(1)
      expect(finals.length, `${root} loads of its final version`).toBeLessThanOrEqual(2)
    }
    log.stop()
  }, 120_000)

  it('serves every rebuild of esbuild in watch mode, never a partial bundle', async () => {
    const src = join(fixture.dirs.root, 'src')
    await mkdir(src)
    const entry = join(src, 'plugin.ts')
    const source = (n: number): string =>
      `const marker: number = ${n}\nexport default { name: 'built', version: '1.0.${n}', setup() { return { v: (): number => marker } } }\n`
    await writeFile(entry, source(0))
    const ctx = await context({ entryPoints: [entry], outfile: join(fixture.dirs.plugins, 'built.mjs'), bundle: true, format: 'esm', platform: 'node', logLevel: 'silent' })
    await ctx.rebuild()
    await ctx.watch()
    try {
      const p = fixture.start({ debounce: undefined })
      await p.ready
      const log = collect(p.events$)
      for (let n = 1; n <= 20; n++) {
        await writeFile(entry, source(n))
        await until(async () => p.registry.has('built') && (await p.registry.get<{ v(): number }>('built').call('v')) === n, 10_000, `rebuild ${n} served`)
      }
      const reloads = log.events.filter(isReload)
      expect(reloads.filter((r) => r.outcome === 'failed')).toEqual([])
      expect(reloads.filter((r) => r.outcome === 'success').length).toBeGreaterThanOrEqual(20)
      log.stop()
    } finally {
      await ctx.dispose()
    }
  }, 60_000)
})
