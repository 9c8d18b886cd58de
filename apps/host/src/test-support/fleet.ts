// Test support for fleets of hotswap-host processes: the real command (src/cli.ts bundled) as
// separate processes on one real redis-server, plugin versions on disk, HTTP traffic into
// each host's plugin route, and bounded waits.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { readRunningHost } from '../security.js'

const HOST_DIR = fileURLToPath(new URL('../..', import.meta.url))

/** Bundles src/cli.ts into .test-build (its own file name, so other test files' bundles do not race it). */
export async function bundleCli(name: string): Promise<string> {
  const outfile = join(HOST_DIR, '.test-build', `${name}.mjs`)
  await build({ entryPoints: [join(HOST_DIR, 'src', 'cli.ts')], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'silent' })
  return outfile
}

/** A hotswap-host process in a fleet. */
export interface FleetHostProcess {
  readonly id: string
  readonly child: ChildProcess
  readonly url: string
  readonly token: string
  readonly stderr: () => string
  stop(signal?: NodeJS.Signals): Promise<void>
}

/** Starts `hotswap-host --fleet <url> --host-id <id>` (in-process loader, JSON logs) and waits for its host.json. */
export async function startFleetHost(cli: string, id: string, redisUrl: string, root: string): Promise<FleetHostProcess> {
  const stateDir = join(root, `state-${id}`)
  const plugins = join(root, `own-${id}`)
  await mkdir(plugins, { recursive: true })
  const child = spawn(process.execPath, [cli, '--fleet', redisUrl, '--host-id', id, '--port', '0', '--state-dir', stateDir, '--loader', 'in-process', '--log-format', 'json', '--log-level', 'warn', plugins], {
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let err = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk))
  const found = await waitFor(`host ${id} to write its host.json`, async () => {
    if (child.exitCode !== null) throw new Error(`host ${id} exited with ${child.exitCode}: ${err}`)
    const running = await readRunningHost(stateDir).catch(() => undefined)
    if (running === undefined) return undefined
    const ok = await fetch(`${running.url}/api/fleet`, { headers: { authorization: `Bearer ${running.token}` } }).then((r) => r.ok, () => false)
    return ok ? running : undefined
  }, 60_000)
  return {
    id,
    child,
    ...found,
    stderr: () => err,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      child.kill(signal)
      await exited
    },
  }
}

/** How a version's `fetch` handler and `work()` behave. */
export interface Behaviour {
  /** Every request and call throws. */
  readonly throws?: boolean
  /** Once this file exists, every request answers 500 (and `work()` throws). */
  readonly fail500Flag?: string
}

/** Writes version `version` of plugin `id` (a folder: package.json + index.mjs with a fetch handler). */
export async function writeRoutePlugin(root: string, id: string, version: string, behaviour: Behaviour = {}): Promise<string> {
  const dir = join(root, 'src', `${id}-${version}`)
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: id, version, type: 'module', main: 'index.mjs' }))
  const flag = behaviour.fail500Flag === undefined ? 'false' : `existsSync(${JSON.stringify(behaviour.fail500Flag)})`
  await writeFile(
    join(dir, 'index.mjs'),
    `import { existsSync } from 'node:fs'
const V = ${JSON.stringify(version)}
const fail = (what) => { throw new Error('intended failure of ' + V + ' in ' + what) }
export default {
  name: ${JSON.stringify(id)},
  version: V,
  setup() {
    return {
      work() { if (${behaviour.throws === true} || ${flag}) fail('work'); return V },
      fetch(request) {
        if (${behaviour.throws === true}) fail('fetch')
        if (${flag}) return new Response('failing ' + V, { status: 500 })
        return new Response(V)
      },
    }
  },
}
`,
  )
  return dir
}

/** Steady HTTP traffic into one host's `/p/<id>/`: the versions that answered, in order. */
export interface RouteTraffic {
  /** Versions seen, consecutive repeats folded (failures name their version too). */
  readonly seen: string[]
  /** Requests sent, and the intended failures among them. */
  readonly counts: { requests: number; intended: number }
  /** Answers that were neither a version nor an intended failure (404 before a first version aside). */
  readonly unexpected: string[]
  stop(): Promise<void>
}

/** Sends requests to `host`'s route of plugin `id` one after another (a few ms apart) until stopped. */
export function routeTraffic(host: FleetHostProcess, id: string): RouteTraffic {
  const seen: string[] = []
  const unexpected: string[] = []
  const counts = { requests: 0, intended: 0 }
  let running = true
  const note = (version: string | undefined): void => {
    if (version !== undefined && seen.at(-1) !== version) seen.push(version)
  }
  const loop = (async () => {
    while (running) {
      counts.requests++
      try {
        const response = await fetch(`${host.url}/p/${id}/`)
        const text = await response.text()
        if (response.status === 200) note(text)
        else if (response.status === 500 && text.startsWith('failing ')) {
          counts.intended++
          note(text.slice('failing '.length))
        } else if (response.status === 502 && text.includes('intended failure of ')) {
          counts.intended++
          note(/intended failure of (\S+)/.exec(text)?.[1])
        } else if (!(response.status === 404 && seen.length === 0) && unexpected.length < 20) unexpected.push(`${response.status} ${text.slice(0, 200)}`)
      } catch (error) {
        if (running && unexpected.length < 20) unexpected.push(`request failed: ${(error as Error).message}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  })()
  return {
    seen,
    counts,
    unexpected,
    stop: async () => {
      running = false
      await loop
    },
  }
}

/** Polls `check` every 100 ms until it returns something other than `undefined`/`false`; fails after `ms`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, ms = 60_000): Promise<T> {
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
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
