// Test support: fleet hosts as child processes, plugin versions on disk, bounded waits.
import { fork } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import type { FleetHostLocalStatus } from '../fleet-host.js'

const made: string[] = []

/** A fresh temp directory, removed by {@link removeTempDirs}. */
export async function tempDir(prefix = 'fleet-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  made.push(dir)
  return dir
}

/** Removes every directory made by {@link tempDir}. */
export async function removeTempDirs(): Promise<void> {
  await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })))
}

let bundle: Promise<string> | undefined

/**
 * Bundles host-child.ts with the fleet sources into the package's node_modules (so that
 * `@hotswap/registry` and `ioredis` resolve from there, built); cached per test file.
 */
export function hostChild(): Promise<string> {
  bundle ??= (async () => {
    const outfile = fileURLToPath(new URL('../../node_modules/.fleet-test/host-child.mjs', import.meta.url))
    await build({
      entryPoints: [fileURLToPath(new URL('./host-child.ts', import.meta.url))],
      outfile,
      bundle: true,
      packages: 'external',
      platform: 'node',
      format: 'esm',
      target: 'node20',
      logLevel: 'error',
    })
    return outfile
  })()
  return bundle
}

/** What a host child reports. */
export interface HostStats {
  readonly seen: string[]
  readonly calls: number
  readonly intended: number
  readonly unexpected: string[]
  /** Calls that found plugin "svc" unloaded (removed) after `has()` said it was there. */
  readonly gone: number
  /** Whether plugin "svc" is loaded. */
  readonly loaded: boolean
  readonly status: FleetHostLocalStatus
}

/** A host child process. */
export interface TestHost {
  readonly id: string
  readonly child: ChildProcess
  stats(): Promise<HostStats>
  kill(signal?: NodeJS.Signals): Promise<void>
}

/** Starts a host process that joins the fleet `namespace` at `url` as `id`. */
export async function startHost(id: string, url: string, namespace: string, dir: string): Promise<TestHost> {
  const child = fork(await hostChild(), [], {
    env: { ...process.env, FLEET_REDIS: url, FLEET_NS: namespace, FLEET_HOST: id, FLEET_DIR: join(dir, id) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`host ${id} did not start within 20 s`)), 20_000)
    child.once('exit', (code) => reject(new Error(`host ${id} exited with ${code} while starting`)))
    child.on('message', (m: { type?: string }) => {
      if (m.type === 'ready') {
        clearTimeout(timer)
        resolve()
      }
    })
  })
  return {
    id,
    child,
    stats: () =>
      new Promise<HostStats>((resolve, reject) => {
        if (child.exitCode !== null || child.signalCode !== null) return reject(new Error(`host ${id} is not running`))
        const timer = setTimeout(() => reject(new Error(`host ${id} did not answer within 10 s`)), 10_000)
        const onMessage = (m: HostStats & { type?: string }): void => {
          if (m.type !== 'stats') return
          clearTimeout(timer)
          child.off('message', onMessage)
          resolve(m)
        }
        child.on('message', onMessage)
        child.send('stats')
      }),
    kill: async (signal = 'SIGTERM') => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      child.kill(signal)
      await exited
    },
  }
}

/** Writes version `version` of plugin "svc"; `fails` makes every call throw, `failFlag` once that file exists. */
export async function writePlugin(root: string, version: string, behaviour: { fails?: boolean; failFlag?: string } = {}): Promise<string> {
  const dir = join(root, `svc-${version}`)
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'svc', version, type: 'module', main: 'index.mjs' }))
  const fail = behaviour.fails === true ? 'true' : behaviour.failFlag !== undefined ? `existsSync(${JSON.stringify(behaviour.failFlag)})` : 'false'
  await writeFile(
    join(dir, 'index.mjs'),
    `import { existsSync } from 'node:fs'\n` +
      `export default { name: 'svc', version: ${JSON.stringify(version)}, setup() { return { work() {\n` +
      `  if (${fail}) throw new Error('intended failure of ${version}')\n  return ${JSON.stringify(version)}\n} } } }\n`,
  )
  return dir
}

/** Polls `check` every 50 ms until it returns a value other than `undefined`/`false`; fails after `ms`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms
  let last: unknown
  for (;;) {
    try {
      const value = await check()
      if (value !== undefined && value !== false) return value
    } catch (error) {
      last = error
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${last === undefined ? '' : ` (last error: ${last instanceof Error ? last.message : JSON.stringify(last)})`}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
