// `@hotswap/state-store/testing`: a real redis-server for tests and benches (the state store's,
// the fleet's, the host's), started on a free loopback port and stopped by its own pid.
import { spawn, spawnSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A redis-server started by {@link startRedis}. */
export interface TestRedis {
  /** Its working directory (AOF and dump files). */
  readonly dir: string
  /** The loopback port it listens on. */
  readonly port: number
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string
  /** Its process id. */
  readonly pid: number
  /**
   * Stops the server (SIGTERM, SIGKILL after 5 s) and removes its directory.
   *
   * @param keep - keep the directory, to start it again on the same port and data
   */
  stop(keep?: boolean): Promise<void>
}

/** Options of {@link startRedis}. */
export interface StartRedisOptions {
  /** The port; default a free one. */
  readonly port?: number
  /** The working directory; default a fresh temp directory. */
  readonly dir?: string
  /** Append-only file with an fsync on every write, so a restart keeps the data. Default `false`. */
  readonly persist?: boolean
}

/**
 * Says why Redis tests cannot run here, or `undefined` when `redis-server` is on `PATH`.
 *
 * @returns the reason to print when skipping, or `undefined`
 * @example
 * ```ts
 * const missing = redisMissing()
 * describe.skipIf(missing !== undefined)('on a real redis-server', () => {})
 * ```
 */
export function redisMissing(): string | undefined {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' })
  if (probe.error === undefined && probe.status === 0) return undefined
  return 'redis-server was not found on PATH (Debian: apt-get install -y redis-server); the Redis tests are skipped'
}

/**
 * Finds a loopback port nobody listens on right now.
 *
 * @returns the port
 * @example
 * ```ts
 * const url = `redis://127.0.0.1:${await freePort()}` // nothing answers there
 * ```
 */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))))
    })
  })
}

/**
 * Starts `redis-server` on a loopback port and resolves once it answers `PING`.
 *
 * @param options - port, directory, persistence
 * @returns the running server
 * @throws Error when it exits or does not answer within 15 s (with its output)
 * @example
 * ```ts
 * const redis = await startRedis({ persist: true })
 * await redis.stop(true) // down, data kept
 * const again = await startRedis({ port: redis.port, dir: redis.dir, persist: true })
 * await again.stop()
 * ```
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<TestRedis> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'hotswap-redis-')))
  const port = options.port ?? (await freePort())
  const persistence = options.persist === true ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--dir', dir, '--loglevel', 'warning'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  await waitReady(port, child, () => output)
  return {
    dir,
    port,
    url: `redis://127.0.0.1:${port}`,
    pid: child.pid!,
    stop: async (keep = false) => {
      await stopChild(child)
      if (!keep) await rm(dir, { recursive: true, force: true })
    },
  }
}

async function waitReady(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}: ${output()}`)
    const probe = spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8', timeout: 2000 })
    if (probe.stdout?.trim() === 'PONG') return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  child.kill('SIGKILL')
  throw new Error(`redis-server on port ${port} was not ready after 15 s: ${output()}`)
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}
