// RSS over many reloads. vitest.config.ts caps V8's young generation (--max-semi-space-size),
// which V8 would otherwise grow with the allocation rate, so RSS growth shows retention. The full soak (2,000 and 10,000 worker reloads) lives in
// bench/src/suites/registry.mjs; here the worker loader does 100 reloads, the wasm loader 2,000
// and the in-process one (CJS and ESM sources, each reload building its artifact) 1,000.
import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { inProcessLoader } from './in-process-loader.js'
import type { Loader } from './loader.js'
import { createPluginRegistry } from './registry.js'
import { counterSource, put, quiet, sandbox, settledMemory, watToWasm } from './test-support.js'
import { wasmLoader } from './wasm-loader.js'
import { workerLoader } from './worker-loader.js'

const MB = 1024 * 1024

const t = sandbox()

/**
 * Loads, warms up, then reloads until `count` or `budgetMs`. Memory is sampled after full GCs
 * at the first and last 8 reloads; growth is the change of the minimum RSS (a leak raises the
 * minimum, a transient such as a spare worker booting does not). `withoutNewSpace` is the same
 * less V8's young generation, printed beside it.
 */
async function soak(loader: Loader, write: (v: number) => Promise<string>, count: number, budgetMs: number, warmup: number) {
  t.registry = createPluginRegistry({ loader, logger: quiet, keepPrevious: false })
  await t.registry.load(await write(0))
  const handle = t.registry.get<{ increment(): number; get(): number }>('counter')
  let v = 1
  const step = async () => {
    await write(v++)
    await t.registry!.reload('counter')
    await handle.call('increment')
  }
  for (let i = 0; i < warmup; i++) await step()
  type Sample = { rss: number; newSpace: number; heapUsed: number }
  const first: Sample[] = []
  const last: Sample[] = []
  for (let i = 0; i < 8; i++) {
    await step()
    first.push(await settledMemory())
  }
  const started = performance.now()
  let done = 16
  while (done < count && performance.now() - started < budgetMs) {
    await step()
    done++
  }
  for (let i = 0; i < 8; i++) {
    await step()
    last.push(await settledMemory())
  }
  expect(await handle.call('get')).toBe(warmup + done)
  const min = (xs: Sample[], f: (x: Sample) => number) => Math.min(...xs.map(f))
  return {
    done,
    growth: min(last, (x) => x.rss) - min(first, (x) => x.rss),
    withoutNewSpace: min(last, (x) => x.rss - x.newSpace) - min(first, (x) => x.rss - x.newSpace),
    heap: min(last, (x) => x.heapUsed) - min(first, (x) => x.heapUsed),
  }
}

describe('memory over reloads', () => {
  // Counts, not time budgets: on a loaded machine the reloads take longer, never fewer.
  it('worker loader: 100 reloads grow RSS by less than 10 MB', async () => {
    const { done, growth, withoutNewSpace } = await soak(workerLoader(), (v) => put(t.dir, 'counter.mjs', counterSource('esm', `1.0.${v}`)), 100, Infinity, 20)
    console.log(`worker loader: ${done} reloads, RSS growth ${(growth / MB).toFixed(2)} MB (less new space ${(withoutNewSpace / MB).toFixed(2)} MB)`)
    expect(done).toBe(100)
    expect(growth).toBeLessThan(10 * MB)
  }, 240_000)

  it('wasm loader: 2,000 reloads grow RSS by less than 10 MB', async () => {
    const bytes = await watToWasm(await readFile(new URL('./fixtures/wasm/counter.wat', import.meta.url), 'utf8'))
    const write = async (v: number) => {
      await put(t.dir, 'counter.plugin.json', JSON.stringify({ name: 'counter', version: `1.0.${v}` }))
      return put(t.dir, 'counter.wasm', bytes)
    }
    const { done, growth, withoutNewSpace } = await soak(wasmLoader(), write, 2000, Infinity, 100)
    console.log(`wasm loader: ${done} reloads, RSS growth ${(growth / MB).toFixed(2)} MB (less new space ${(withoutNewSpace / MB).toFixed(2)} MB)`)
    expect(done).toBe(2000)
    expect(growth).toBeLessThan(10 * MB)
  }, 240_000)

  // Retention is judged on V8's heap (after full GCs): < 2 MB over 1,000 reloads on every Node
  // line. When the loader compiled with Module.prototype._compile, Node 22+ kept each version's
  // code in V8's compilation cache (4-5 MB per 1,000 reloads of this plugin, linear, freed only
  // by a heap snapshot); artifact-run.ts compiles outside that cache now. RSS rises up to 10-14 MB
  // over the first ~1,000 reloads of a run (the first test in this file pays it) and then stays
  // flat (measured to 5,100 reloads on Node 24: +1.3 MB after the first 1,000, the heap flat
  // throughout): a warm-up plateau, not retention, so the RSS bound is 20 MB. Both bounds still
  // fail on the ESM-cache leak this loader replaced (~480 KB per reload).
  const rssBoundMB = 20
  it.each(['cjs', 'esm'] as const)(`in-process loader (%s source, built into an artifact per reload): 1,000 reloads grow the heap by less than 2 MB and RSS by less than ${rssBoundMB} MB`, async (format) => {
    const file = format === 'esm' ? 'counter.mjs' : 'counter.cjs'
    const { done, growth, withoutNewSpace, heap } = await soak(inProcessLoader(), (v) => put(t.dir, file, counterSource(format, `1.0.${v}`)), 1000, Infinity, 100)
    console.log(`in-process loader (${format}): ${done} reloads, heap growth ${(heap / MB).toFixed(2)} MB, RSS growth ${(growth / MB).toFixed(2)} MB (less new space ${(withoutNewSpace / MB).toFixed(2)} MB) on Node ${process.versions.node}`)
    expect(done).toBe(1000)
    expect(heap).toBeLessThan(2 * MB)
    expect(growth).toBeLessThan(rssBoundMB * MB)
  }, 240_000)
})
