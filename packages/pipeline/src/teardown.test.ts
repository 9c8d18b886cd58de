import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { counterPlugin, makeDirs } from './test-support/harness.js'

let dirs: Awaited<ReturnType<typeof makeDirs>>
beforeEach(async () => {
  dirs = await makeDirs()
})
afterEach(async () => {
  await dirs.cleanup()
})

describe('close()', () => {
  it('leaves nothing open: a process that starts, uses and closes a pipeline exits by itself', async () => {
    // The child runs this package's sources, bundled (dependencies stay external, resolved from here).
    const bundle = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'node_modules', '.cache', `teardown-${process.pid}.mjs`)
    await build({ entryPoints: [fileURLToPath(new URL('./index.ts', import.meta.url))], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: bundle, logLevel: 'silent' })
    await writeFile(join(dirs.plugins, 'counter.mjs'), counterPlugin('counter', '1.0.0'))
    const script = `
      import { createReloadPipeline } from ${JSON.stringify(bundle)}
      import { writeFile } from 'node:fs/promises'
      const p = createReloadPipeline({ dirs: [${JSON.stringify(dirs.plugins)}], stateDir: ${JSON.stringify(dirs.state)}, reconcileIntervalMs: 1000, policy: { kind: 'Scheduled', intervalMs: 500 } })
      await p.ready
      await p.registry.get('counter').call('inc')
      await writeFile(${JSON.stringify(join(dirs.plugins, 'counter.mjs'))}, ${JSON.stringify(counterPlugin('counter', '1.0.1'))})
      await p.trigger('counter')
      await p.close()
      console.log('closed')
    `
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: join(fileURLToPath(new URL('.', import.meta.url)), '..'), stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (out += d.toString()))
    const code = await new Promise<number | string>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL')
        resolve('still running 15 s after close(): a handle was left open')
      }, 15_000)
      child.on('exit', (c) => {
        clearTimeout(timer)
        resolve(c ?? -1)
      })
    })
    expect(code, out).toBe(0)
    expect(out).toContain('closed')
  }, 30_000)
})
