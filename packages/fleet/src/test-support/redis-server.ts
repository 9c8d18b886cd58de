// Test support: a real redis-server on a free loopback port, started and stopped by pid.
import { spawn, spawnSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A running redis-server of a test. */
export interface TestRedis {
  readonly dir: string
  readonly port: number
  readonly url: string
  readonly pid: number
  /** Stops the server (SIGTERM, SIGKILL after 5 s); `keep` keeps its directory for a restart. */
  stop(keep?: boolean): Promise<void>
}

/** Why redis tests skip, or `undefined` when `redis-server` is on PATH. */
export function redisMissing(): string | undefined {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' })
  if (probe.error === undefined && probe.status === 0) return undefined
  return 'redis-server was not found on PATH (Debian: apt-get install -y redis-server); the fleet tests are skipped'
}

/** A loopback port nobody listens on right now. */
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

/** Starts redis-server on a free port (with `persist`: AOF, fsync on every write, in `dir`); resolves once it accepts connections. */
export async function startRedis(options: { port?: number; dir?: string; persist?: boolean } = {}): Promise<TestRedis> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'fleet-redis-')))
  const chosen = options.port ?? (await freePort())
  const persistence = options.persist === true ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']
  const child = spawn(
    'redis-server',
    ['--port', String(chosen), '--bind', '127.0.0.1', '--save', '', ...persistence, '--dir', dir, '--loglevel', 'warning'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  await waitReady(chosen, child, () => output)
  return {
    dir,
    port: chosen,
    url: `redis://127.0.0.1:${chosen}`,
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
