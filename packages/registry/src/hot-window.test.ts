// The hot windows (hot-window.ts): bounded, shared, paused when they do not pay, and gone when
// the host idles (a child process, so that its exit and its CPU are observable).
import { beforeAll, describe, expect, it } from 'vitest'
import { HostHotWindow } from './hot-window.js'
import { poolLoader } from './pool-loader.js'
import { counterSource, put, sandbox, bundleForScripts, runScript } from './test-support.js'
import { workerLoader } from './worker-loader.js'

let bundle = ''
beforeAll(async () => {
  bundle = await bundleForScripts('registry-hot-window')
}, 60_000)

const t = sandbox()
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

describe('the host hot window', () => {
  it('runs while a request waits, and stops at the turn after the last one ends', async () => {
    const window = new HostHotWindow()
    window.begin(100_000)
    window.begin(100_000)
    expect(window.running).toBe(true)
    await turn()
    window.end()
    await turn()
    expect(window.running).toBe(true)
    window.end()
    await turn()
    await turn()
    expect(window.running).toBe(false)
  })

  it('ends at its bound while a request still waits, and 0 never starts it', async () => {
    const window = new HostHotWindow()
    window.begin(0)
    expect(window.running).toBe(false)
    window.begin(200)
    expect(window.running).toBe(true)
    await sleep(20)
    expect(window.running).toBe(false)
  })

  it('pauses after windows that expire unanswered, and a pause ends', async () => {
    const window = new HostHotWindow()
    for (let i = 0; i < 4; i++) {
      window.begin(200)
      await sleep(5)
      expect(window.running).toBe(false)
    }
    expect(window.paused).toBe(true)
    window.begin(100_000)
    expect(window.running).toBe(false)
    await sleep(40) // past the first pause (20 ms)
    expect(window.paused).toBe(false)
    window.begin(100_000)
    expect(window.running).toBe(true)
    for (let i = 0; i < 6; i++) window.end()
    await turn()
    await turn()
    expect(window.running).toBe(false)
  })
})

describe('hotWindowUs', () => {
  it('is a number of µs from 0 to 100000', () => {
    for (const bad of [-1, Number.NaN, Infinity, 100_001, '500']) {
      expect(() => workerLoader({ hotWindowUs: bad as number })).toThrow(/hotWindowUs/)
      expect(() => poolLoader({ hotWindowUs: bad as number })).toThrow(/hotWindowUs/)
    }
    expect(workerLoader({ hotWindowUs: 0 }).name).toBe('worker')
    expect(poolLoader({ hotWindowUs: 100_000 }).name).toBe('pool')
  })

  it('leaves an idle host idle: after a burst of calls the process uses next to no CPU, then exits by itself (close() forgotten)', async () => {
    const path = await put(t.dir, 'counter.mjs', counterSource('esm', '1.0.0'))
    // a long window (50 ms) on both loaders, so a window that did not end would show plainly
    const { code, out } = await runScript(`
      import { createPluginRegistry, poolLoader, workerLoader } from ${JSON.stringify(bundle)}
      const quiet = { debug() {}, info() {}, warn() {}, error() {} }
      const registries = [createPluginRegistry({ loader: workerLoader({ hotWindowUs: 50_000 }), logger: quiet }), createPluginRegistry({ loader: poolLoader({ size: 1, hotWindowUs: 50_000 }), logger: quiet })]
      let served = 0
      for (const registry of registries) {
        await registry.load(${JSON.stringify(path)})
        for (let i = 0; i < 300; i++) served = await registry.get('counter').call('increment')
      }
      await new Promise((r) => setTimeout(r, 300)) // the windows (50 ms), the warm spare's boot, the last unref: done by now
      const cpu = process.cpuUsage()
      const t0 = performance.now()
      await new Promise((r) => setTimeout(r, 500))
      const used = process.cpuUsage(cpu)
      console.log('served', served, 'idle cpu/wall', ((used.user + used.system) / 1000 / (performance.now() - t0)).toFixed(3))
    `)
    expect(code, out).toBe(0)
    expect(out).toContain('served 300')
    const ratio = Number(/idle cpu\/wall ([\d.]+)/.exec(out)?.[1])
    // a window that kept polling would show 1 (one core) or more: the host and both workers
    expect(ratio, out).toBeLessThan(0.2)
  }, 30_000)
})
