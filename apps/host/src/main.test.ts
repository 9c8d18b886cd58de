import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdir, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Host } from './host.js'
import { main, type CliIo } from './main.js'
import { send, atomicWrite, counterSource, makeDirs, until } from './test-support/host.js'

const HOST_DIR = fileURLToPath(new URL('..', import.meta.url))
const CLI = join(HOST_DIR, '.test-build', 'cli.mjs')
let dirs: Awaited<ReturnType<typeof makeDirs>>

beforeAll(async () => {
  dirs = await makeDirs('hotswap-cli-')
  await writeFile(join(dirs.plugins, 'counter.mjs'), counterSource('1.0.0'))
  // The real command as a process: src/cli.ts bundled (dependencies stay imports from node_modules).
  await build({ entryPoints: [join(HOST_DIR, 'src', 'cli.ts')], outfile: CLI, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'silent' })
})
afterAll(() => dirs.cleanup())

function capture(env: Record<string, string> = {}, cwd = dirs.root): CliIo & { out: () => string; err: () => string } {
  let out = ''
  let err = ''
  return { stdout: (s) => void (out += s), stderr: (s) => void (err += s), env, cwd, color: false, out: () => out, err: () => err }
}

describe('main (in process)', () => {
  it('--help lists every option with its variable and exits 0', async () => {
    const io = capture()
    expect(await main(['--help'], io)).toBe(0)
    for (const text of ['--port <number>', 'HOTSWAP_PORT', '--log-format', 'HOTSWAP_ENABLED', 'HOTSWAP_DEBOUNCE_MS', 'flags > HOTSWAP_* environment variables > hotswap.config.json > defaults', 'SIGUSR2']) {
      expect(io.out()).toContain(text)
    }
  })

  it('invalid values exit 2 with one clear message and no stack trace', async () => {
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['--port', 'abc'], {}, /^hotswap-host: flag --port: "abc" is not an integer/],
      [[], { HOTSWAP_ENABLED: 'perhaps' }, /^hotswap-host: environment variable HOTSWAP_ENABLED: "perhaps" is not a boolean/],
      [['--no-such-flag'], {}, /unknown option '--no-such-flag'/],
      [['/definitely/not/here'], {}, /^hotswap-host: plugin directory \/definitely\/not\/here does not exist/],
    ]
    for (const [argv, env, message] of cases) {
      const io = capture(env)
      expect(await main(argv, io)).toBe(2)
      expect(io.err()).toMatch(message)
      expect(io.err()).not.toMatch(/^\s+at /m)
      expect(io.out()).toBe('')
    }
  })

  it('a flag wins over a bad variable: the host starts; SIGTERM closes it and resolves 0', async () => {
    const io = capture({ HOTSWAP_PORT: 'abc', HOTSWAP_LOG_FORMAT: 'json' })
    const handlers = new Map<string, () => void>()
    let host: Host | undefined
    const exit = main([dirs.plugins, '--port', '0', '--state-dir', dirs.state, '--log-format', 'pretty'], {
      ...io,
      onSignal: (signal, handler) => {
        handlers.set(signal, handler)
        return () => handlers.delete(signal)
      },
      onStarted: (h) => (host = h),
    })
    await until(() => host !== undefined, 10_000, 'the host to start')
    expect(host!.config.logFormat).toBe('pretty') // flag over HOTSWAP_LOG_FORMAT
    expect(io.out()).toContain('dashboard  http://127.0.0.1:')
    expect([...handlers.keys()].sort()).toEqual(['SIGINT', 'SIGTERM', 'SIGUSR2'])
    handlers.get('SIGTERM')!()
    expect(await exit).toBe(0)
    expect(handlers.size).toBe(0)
    expect(() => host!.pipeline.status()).not.toThrow()
    await expect(host!.pipeline.trigger()).rejects.toMatchObject({ code: 'CLOSED' })
  })
})

describe('hotswap-host as a process', () => {
  function run(args: string[], env: Record<string, string> = {}): { child: ChildProcess; lines: string[]; stderr: () => string; exit: Promise<number | null> } {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: dirs.root, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    const lines: string[] = []
    let buffer = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk
      const parts = buffer.split('\n')
      buffer = parts.pop()!
      lines.push(...parts)
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk))
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    return { child, lines, stderr: () => err, exit }
  }

  it('exits 2 on an invalid HOTSWAP_* value, without a stack trace', async () => {
    const p = run([], { HOTSWAP_DEBOUNCE_MS: 'soon' })
    expect(await p.exit).toBe(2)
    expect(p.stderr()).toMatch(/^hotswap-host: environment variable HOTSWAP_DEBOUNCE_MS: "soon" is neither "adaptive" nor an integer/)
    expect(p.stderr()).not.toMatch(/^\s+at /m)
  })

  it('--log-format json: pino lines; SIGUSR2 applies pending changes (on-signal); SIGTERM saves state and exits 0', async () => {
    const p = run([dirs.plugins, '--port', '0', '--state-dir', dirs.state, '--policy', 'on-signal', '--log-format', 'json', '--debounce-ms', '20'])
    const json = (): Record<string, unknown>[] => p.lines.filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>)
    const find = (match: (l: Record<string, unknown>) => boolean): Record<string, unknown> | undefined => json().find(match)
    await until(() => find((l) => l.msg === 'ready' || l.event === 'ready') !== undefined && find((l) => typeof l.url === 'string') !== undefined, 15_000, 'the host to be ready')
    for (const line of json()) expect(line).toMatchObject({ level: expect.any(Number), time: expect.any(Number), msg: expect.any(String) })
    const started = find((l) => typeof l.url === 'string')!
    expect(started.tokenFile).toBe(join(dirs.state, 'api-token'))
    expect(JSON.stringify(json())).not.toContain((await import('node:fs')).readFileSync(join(dirs.state, 'api-token'), 'utf8').trim()) // the token is never logged

    await atomicWrite(join(dirs.plugins, 'counter.mjs'), counterSource('1.1.0'))
    await until(() => find((l) => l.event === 'pending') !== undefined, 10_000, 'the pending change')
    expect(find((l) => l.event === 'reload' && l.cause !== 'start')).toBeUndefined()
    p.child.kill('SIGUSR2')
    await until(() => find((l) => l.event === 'reload' && l.to === '1.1.0') !== undefined, 10_000, 'the reload after SIGUSR2')
    expect(find((l) => l.event === 'reload' && l.to === '1.1.0')).toMatchObject({ cause: 'trigger', outcome: 'success', timings: { prepareMs: expect.any(Number) } })

    // the API answers with the token from the 0600 file
    const token = (await import('node:fs')).readFileSync(join(dirs.state, 'api-token'), 'utf8').trim()
    const status = await send(started.url as string, { path: '/api/status', token })
    expect(status.json.policy).toEqual({ kind: 'OnSignal' })

    p.child.kill('SIGTERM')
    expect(await p.exit).toBe(0)
    expect((await readdir(join(dirs.state, 'state'))).some((f) => f.startsWith('counter@'))).toBe(true)
  })

  it('a plugin thread that cannot be ended (blocked reading a FIFO): the host still stops, saves the others and says why it ends by SIGKILL', async () => {
    const root = join(dirs.root, 'wedged')
    const plugins = join(root, 'plugins')
    await mkdir(plugins, { recursive: true })
    const fifo = join(root, 'fifo')
    execFileSync('mkfifo', [fifo])
    await writeFile(join(plugins, 'counter.mjs'), counterSource('1.0.0'))
    await writeFile(join(plugins, 'blocker.mjs'), `import { readFileSync } from 'node:fs'\nexport default { name: 'blocker', version: '1.0.0', setup() { return { block: () => readFileSync(${JSON.stringify(fifo)}, 'utf8') } } }\n`)
    const state = join(root, 'state')
    const p = run([plugins, '--port', '0', '--state-dir', state, '--log-format', 'json', '--call-timeout-ms', '300'])
    const exit = new Promise<NodeJS.Signals | null>((resolve) => p.child.on('exit', (_code, signal) => resolve(signal)))
    const json = (): Record<string, unknown>[] => p.lines.filter((l) => l.trim().startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>)
    await until(() => json().some((l) => typeof l.url === 'string') && json().filter((l) => l.event === 'reload' && l.outcome === 'success').length === 2, 15_000, 'the host and both plugins')
    const url = json().find((l) => typeof l.url === 'string')!.url as string
    const token = readFileSync(join(state, 'api-token'), 'utf8').trim()
    const call = (id: string, method: string): Promise<{ status: number; json: unknown }> =>
      send(url, { path: `/api/plugins/${id}/call`, method: 'POST', token, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ method, args: [] }) })
    expect((await call('counter', 'inc')).status).toBe(200)
    const blocked = await call('blocker', 'block')
    expect(blocked.json, JSON.stringify(blocked.json)).toMatchObject({ error: { cause: { code: 'CALL_TIMEOUT' } } })
    expect(blocked.status).toBe(422)
    expect(json().filter((l) => l.code === 'INTERNAL')).toEqual([]) // a failed call is the plugin's 422, not a host error in the log
    p.child.kill('SIGTERM')
    expect(await exit).toBe('SIGKILL')
    expect(p.stderr()).toMatch(/1 plugin thread could not be ended \(blocked in a system call or inside V8; see the log\).*the state of every other plugin is saved; ending the process with SIGKILL/)
    expect(JSON.stringify(json())).toMatch(/did not end within 2000 ms of being terminated/)
    expect((await readdir(join(state, 'state'))).some((f) => f.startsWith('counter@'))).toBe(true)
  }, 60_000)

  it('6: Ctrl-C under pnpm (the start script, signal to the whole process group) is a clean stop: exit 0, no pnpm error', async () => {
    // The real start script of this package, run by the real pnpm, on the bundled CLI.
    const pkg = JSON.parse(readFileSync(join(HOST_DIR, 'package.json'), 'utf8')) as { scripts: { start: string } }
    const project = join(dirs.root, 'pnpm-start')
    await mkdir(project, { recursive: true })
    const script = pkg.scripts.start
      .replace('dist/cli.js', JSON.stringify(CLI))
      .replace('examples/hotswap.config.json', JSON.stringify(join(HOST_DIR, 'examples', 'hotswap.config.json')))
      .replace('.hotswap-state', JSON.stringify(join(dirs.root, 'pnpm-state')))
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'pnpm-start', private: true, scripts: { start: `${script} ${JSON.stringify(dirs.plugins)}` } }))
    const child = spawn('pnpm', ['run', 'start'], { cwd: project, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', HOTSWAP_PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c))
    child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c))
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    await until(() => out.includes('dashboard  http'), 20_000, 'the host under pnpm to start')
    process.kill(-child.pid!, 'SIGINT') // what a terminal does on Ctrl-C
    expect(await exit).toBe(0)
    expect(out).toContain('stopped')
    expect(out).not.toMatch(/ERR_PNPM|ELIFECYCLE|again/)
  })
})
