// The memory loop the soak children share: `warmup` steps, then memory after full GCs at 8
// steps, the middle of the run (RSS and heap every tenth), and memory at the last 8 steps.
// Growth compares the minima, so a transient at one sample (a spare worker booting) does not
// count, while a leak raises every sample. Run with --expose-gc.
import { getHeapSpaceStatistics } from 'node:v8'

const MB = 1048576

/** Version `n` of the soak plugin: it counts its calls and carries the count across reloads. */
export const soakPlugin = (n) => `let count = 0
export default {
  name: 'soak', version: '1.0.${n}',
  setup(ctx) { if (ctx.state) count = ctx.state.count; return { v: () => ({ n: ${n}, count: ++count }) } },
  saveState() { return { count } },
}
`

/** Memory after two full GCs with a turn of the event loop between them. */
export async function settledMemory() {
  globalThis.gc()
  await new Promise((r) => setImmediate(r))
  globalThis.gc()
  const m = process.memoryUsage()
  const newSpace = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.physical_space_size ?? 0
  return { rss: m.rss, heapUsed: m.heapUsed, newSpace }
}

/**
 * Runs `step(n)` for n = 1 .. warmup + count and measures around it.
 * @returns {{ first: object[], last: object[], samples: object[], ms: number, growth: (key: string) => number, min: (xs: object[], key: string) => number }}
 */
export async function soakLoop(step, { warmup, count }) {
  let n = 1
  for (; n <= warmup; n++) await step(n)
  const first = []
  for (let k = 0; k < 8; k++, n++) {
    await step(n)
    first.push(await settledMemory())
  }
  const started = performance.now()
  const samples = []
  for (let i = 0; i < count - 16; i++, n++) {
    await step(n)
    if ((i + 1) % Math.max(1, Math.floor(count / 10)) === 0) samples.push({ reloads: i + 9, rssMB: +(process.memoryUsage().rss / MB).toFixed(1), heapMB: +(process.memoryUsage().heapUsed / MB).toFixed(1) })
  }
  const ms = performance.now() - started
  const last = []
  for (let k = 0; k < 8; k++, n++) {
    await step(n)
    last.push(await settledMemory())
  }
  const min = (xs, key) => Math.min(...xs.map((m) => m[key]))
  return { first, last, samples, ms, min, growth: (key) => min(last, key) - min(first, key) }
}

/** The figures every soak child prints: ms per reload, RSS and heap growth, heap at the end (MB). */
export function growthReport({ ms, last, min, growth }, count) {
  return {
    msPerReload: +(ms / Math.max(1, count - 16)).toFixed(2),
    rssGrowthMB: +(growth('rss') / MB).toFixed(2),
    heapGrowthMB: +(growth('heapUsed') / MB).toFixed(2),
    heapAfterMB: +(min(last, 'heapUsed') / MB).toFixed(2),
  }
}
