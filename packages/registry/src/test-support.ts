// Helpers for this package's tests (not exported from the package).
import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { runInNewContext } from 'node:vm'
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8'
import { filter, firstValueFrom, timeout } from 'rxjs'
import type { Observable } from 'rxjs'
import { afterEach, beforeEach } from 'vitest'
import type { RegistryError } from './errors.js'
import type { RegistryEvent } from './events.js'
import type { PluginRegistry, RegistryLogger } from './registry-types.js'

/** A logger that drops everything (events$ still carries log events). */
/** The package's folder. */
const packageDir = fileURLToPath(new URL('..', import.meta.url))

export const quiet: RegistryLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined }

/** Resolves once `check()` holds (polled every 5 ms); rejects after `ms`. */
export async function until(check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  for (const t0 = Date.now(); !(await check()); await new Promise((resolve) => setTimeout(resolve, 5))) {
    if (Date.now() - t0 > ms) throw new Error(`not within ${ms} ms`)
  }
}

/** A fresh temp directory and its remover. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'hotswap-registry-'))
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) }
}

/** Per-test state of a test file or `describe` block, set up by {@link sandbox}. */
export interface Sandbox<R extends PluginRegistry | undefined = PluginRegistry | undefined> {
  /** A fresh temp directory for each test. */
  readonly dir: string
  /** The registry under test: closed after each test (when set). */
  registry: R
}

/**
 * Registers `beforeEach`/`afterEach` hooks: before each test a fresh temp directory (and, with
 * `create`, the registry under test); after it, the registry is closed and the directory removed.
 */
export function sandbox(): Sandbox
export function sandbox(create: () => PluginRegistry): Sandbox<PluginRegistry>
export function sandbox(create?: () => PluginRegistry): Sandbox {
  let cleanup: () => Promise<void> = () => Promise.resolve()
  const box: { dir: string; registry: PluginRegistry | undefined } = { dir: '', registry: undefined }
  beforeEach(async () => {
    ;({ dir: box.dir, cleanup } = await tempDir())
    box.registry = create?.()
  })
  afterEach(async () => {
    await box.registry?.close()
    box.registry = undefined
    await cleanup()
  })
  return box
}

/** The error `promise` rejects with; fails if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<RegistryError> {
  return promise.then(
    () => {
      throw new Error('expected a rejection')
    },
    (e: unknown) => e as RegistryError,
  )
}

/** Resolves with the first event matching `predicate`, or rejects after `ms`. */
export function nextEvent<T extends RegistryEvent['type']>(
  events$: Observable<RegistryEvent>,
  type: T,
  ms = 5000,
): Promise<Extract<RegistryEvent, { type: T }>> {
  return firstValueFrom(
    events$.pipe(
      filter((e): e is Extract<RegistryEvent, { type: T }> => e.type === type),
      timeout(ms),
    ),
  )
}

export { counterSource, moduleSource } from './loader-contract.js'
export type { Format } from './loader-contract.js'

/** Writes `text` to `dir/name` and returns the path. */
export async function put(dir: string, name: string, text: string | Uint8Array): Promise<string> {
  const path = join(dir, name)
  await writeFile(path, text)
  return path
}

/** A full garbage collection (flag set at run time). */
export function gc(): void {
  setFlagsFromString('--expose-gc')
  ;(runInNewContext('gc') as () => void)()
}

/**
 * RSS after two full GCs, and the part of it that is V8's young generation (new space).
 * V8 grows new space with the allocation rate, up to a fixed cap (`--max-semi-space-size`),
 * whatever the program does; a leak shows in the rest.
 */
export async function settledMemory(): Promise<{ rss: number; newSpace: number; heapUsed: number }> {
  gc()
  await new Promise((r) => setImmediate(r))
  gc()
  const newSpace = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.physical_space_size ?? 0
  const { rss, heapUsed } = process.memoryUsage()
  return { rss, newSpace, heapUsed }
}

/** Compiles WAT text to wasm bytes: the fixture build script's compiler, so tests and fixtures agree. */
export { watToWasm } from './fixtures/wasm/build.mjs'

/**
 * Bundles the package's source (`index.ts`) into one ESM file under `node_modules/.cache`,
 * for scripts run in a process of their own (see {@link runScript}).
 *
 * @param name - the bundle file's name stem
 * @returns its path
 */
export async function bundleForScripts(name: string): Promise<string> {
  const cache = join(packageDir, 'node_modules', '.cache')
  const bundle = join(cache, `${name}-${process.pid}.mjs`)
  await mkdir(cache, { recursive: true })
  await build({ entryPoints: [join(packageDir, 'src', 'index.ts')], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: bundle, logLevel: 'silent' })
  return bundle
}

/** Runs an ESM script in a Node process of its own: its exit code (or why it was killed after `ms`) and its output. */
export function runScript(script: string, ms = 20_000): Promise<{ code: number | string; out: string }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: packageDir, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr.on('data', (d: Buffer) => (out += d.toString()))
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      resolve({ code: `still running after ${ms} ms`, out })
    }, ms)
    child.on('exit', (c) => {
      clearTimeout(timer)
      resolve({ code: c ?? -1, out })
    })
  })
}
