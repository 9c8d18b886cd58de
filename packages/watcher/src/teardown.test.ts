import { spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ChangeLog, removeTempDirs, tempDir, WAIT_MS } from './test-support.js'

const here = dirname(fileURLToPath(import.meta.url))
// Inside the package so that the bundle's bare imports (@parcel/watcher, rxjs, picomatch) resolve.
const bundle = join(here, '..', 'node_modules', '.cache', 'teardown-test', 'watcher.mjs')

beforeAll(async () => {
  mkdirSync(dirname(bundle), { recursive: true })
  await build({ entryPoints: [join(here, 'index.ts')], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: bundle, logLevel: 'error' })
})
afterEach(() => removeTempDirs())

/** Runs a child that watches `dir`, sees one change, then unsubscribes (or not); resolves with its exit. */
function child(dir: string, unsubscribe: boolean): { exited: Promise<number | null>; ready: Promise<void>; kill: () => void } {
  const script = `
    import { watch } from ${JSON.stringify(bundle)}
    import { writeFileSync } from 'node:fs'
    const file = ${JSON.stringify(join(dir, 'a.js'))}
    const sub = watch(${JSON.stringify(dir)}, {
      onReady: () => writeFileSync(file, '1'),
      onClose: (err) => { if (err) { console.error(err); process.exitCode = 3 } },
    }).subscribe({
      next: (c) => {
        if (c.path !== file) return
        console.log('seen')
        if (${unsubscribe}) sub.unsubscribe()
      },
      error: (e) => { console.error(e); process.exit(2) },
    })
  `
  const proc = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
  const ready = new Promise<void>((resolve) => proc.stdout.on('data', (d: Buffer) => d.toString().includes('seen') && resolve()))
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)))
  return { ready, exited, kill: () => proc.kill('SIGKILL') }
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const bound = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)))
  return Promise.race([promise, bound]).finally(() => clearTimeout(timer))
}

describe('watch: teardown', () => {
  it('releases every native handle: a process that unsubscribes exits on its own', async () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'deep/er'), { recursive: true })
    const run = child(dir, true)
    await within(run.ready, WAIT_MS, 'child saw its change')
    expect(await within(run.exited, WAIT_MS, 'child exited after unsubscribe')).toBe(0)
  })

  it('(control) a process that stays subscribed does not exit, so the test above can fail', async () => {
    const dir = tempDir()
    const run = child(dir, false)
    await within(run.ready, WAIT_MS, 'child saw its change')
    const outcome = await Promise.race([run.exited.then(() => 'exited'), new Promise((r) => setTimeout(r, 1000, 'alive'))])
    run.kill()
    await run.exited
    expect(outcome).toBe('alive')
  })

  it('stops emitting at once on unsubscribe and calls onClose after releasing', async () => {
    const dir = tempDir()
    const log = await ChangeLog.start(dir)
    const stopped = log.stop()
    writeFileSync(join(dir, 'late.js'), '1')
    expect(await stopped).toBeUndefined()
    expect(log.changes).toEqual([])
  })
})
