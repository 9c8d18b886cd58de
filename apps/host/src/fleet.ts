// Fleet membership for hotswap-host: `--fleet <redis-url> --host-id <id>` joins a fleet,
// `hotswap-host publish <plugin> [--canary n|a,b] [--fleet url]` publishes a plugin folder,
// and the token-protected API gets GET /api/fleet and POST /api/fleet/:id/rollback.
import { resolve } from 'node:path'
import { hostname } from 'node:os'
import { buildFleetArtifact, connectFleet, FleetError, joinFleet } from '@hotswap/fleet'
import type { Fleet, FleetHost } from '@hotswap/fleet'
import type { CallSettled } from '@hotswap/registry'
import type { FastifyInstance } from 'fastify'
import { fleetFolders, pipelineTarget } from './fleet-target.js'
import type { Host } from './host.js'
import type { HostConfig } from './options.js'

/** What {@link takeFleetArgs} found on the command line. */
export interface FleetCli {
  /** The arguments left for the host's own parser. */
  readonly rest: string[]
  /** `publish` was the first argument. */
  readonly publish: boolean
  /** The Redis URL (`--fleet` or `HOTSWAP_FLEET`), when the host joins a fleet. */
  readonly url: string | undefined
  /** Adds the fleet's plugin folder to the pipeline's dirs (unchanged without a fleet). */
  readonly configure: (config: HostConfig) => HostConfig
  /** Routes to add to the host's API (a no-op without a fleet). */
  readonly routes: (app: FastifyInstance) => void
  /** Joins the fleet once the host runs; resolves `undefined` without `--fleet`. */
  readonly join: (host: Host) => Promise<FleetHost | undefined>
}

/**
 * Takes the fleet flags out of `argv` (`--fleet <url>`, `--host-id <id>`, env `HOTSWAP_FLEET`,
 * `HOTSWAP_HOST_ID`) so the rest goes to the host's parser unchanged.
 *
 * @param argv - the arguments after the program name
 * @param env - the environment
 * @returns the fleet settings and the remaining arguments
 */
export function takeFleetArgs(argv: readonly string[], env: NodeJS.ProcessEnv): FleetCli {
  const rest: string[] = []
  let url = env.HOTSWAP_FLEET
  let hostId = env.HOTSWAP_HOST_ID
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined]
    if (flag === '--fleet' || flag === '--host-id') {
      const value = inline ?? argv[++i]
      if (value === undefined) throw new FleetError('INVALID_OPTIONS', `${flag} needs a value`)
      if (flag === '--fleet') url = value
      else hostId = value
      continue
    }
    rest.push(arg)
  }
  const publish = rest[0] === 'publish'
  let member: FleetHost | undefined
  // One connection for the API routes (the dashboard polls them), opened on first use.
  let connection: Promise<Fleet> | undefined
  const fleet = (): Promise<Fleet> => {
    connection ??= connectFleet({ url: url! }).catch((error: unknown) => {
      connection = undefined
      throw error
    })
    return connection
  }
  return {
    rest: publish ? rest.slice(1) : rest,
    publish,
    url,
    configure: (config) => {
      if (url === undefined) return config
      const { plugins } = fleetFolders(config.stateDir)
      return config.dirs.includes(plugins) ? config : { ...config, dirs: [...config.dirs, plugins] }
    },
    routes: (app) => {
      if (url === undefined) return
      app.addHook('onClose', async () => {
        const open = connection
        connection = undefined
        await open?.then((f) => f.close(), () => undefined)
      })
      app.get<{ Querystring: { events?: string } }>('/api/fleet', async (request) => {
        const events = Math.min(500, Math.max(0, Number(request.query.events ?? 50) || 0))
        return { host: member?.status(), fleet: await (await fleet()).status({ events }) }
      })
      app.post<{ Params: { id: string } }>('/api/fleet/:id/rollback', async (request) => ({ rollout: await (await fleet()).rollback(request.params.id, 'rolled back through the API') }))
    },
    join: async (host) => {
      if (url === undefined) return undefined
      const registry = host.pipeline.registry
      // Which registry hash serves each fleet plugin here: only calls of that version count.
      const fleetHashes = new Map<string, string>()
      const target = pipelineTarget(host.pipeline, fleetFolders(host.config.stateDir), {
        serving: (id, hash) => void (hash === undefined ? fleetHashes.delete(id) : fleetHashes.set(id, hash)),
      })
      const joined = await joinFleet({ url, hostId: hostId ?? hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64), target })
      const off = registry.onCall((call) => {
        if (fleetHashes.get(call.id) === call.hash) joined.record(call.id, callSucceeded(call))
      })
      member = {
        hostId: joined.hostId,
        record: (id, ok) => joined.record(id, ok),
        status: () => joined.status(),
        on: (listener) => joined.on(listener),
        close: async () => {
          off()
          await joined.close()
        },
      }
      return member
    },
  }
}

/** A call counts as failed when it rejected, or when a route answered with a 5xx. */
function callSucceeded(call: CallSettled): boolean {
  return call.ok && !(call.value instanceof Response && call.value.status >= 500)
}

/**
 * `hotswap-host publish <plugin-dir> [--canary <n|a,b>] [--window-ms <ms>] [--max-error-rate <r>]`:
 * builds the folder into a fleet artifact and publishes it to the fleet at `--fleet`
 * (default `HOTSWAP_FLEET` or `redis://127.0.0.1:6379`).
 *
 * @param args - the arguments after `publish` (fleet flags already taken out)
 * @param url - the Redis URL from `--fleet`, if any
 * @param io - where to write the outcome
 * @returns the exit code: 0 published, 2 bad usage, 1 failure
 */
export async function runPublish(args: readonly string[], url: string | undefined, io: { stdout(text: string): void; stderr(text: string): void; cwd: string }): Promise<number> {
  let dir: string | undefined
  const options: { canary?: number | string[]; windowMs?: number; maxErrorRate?: number } = {}
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    const value = (): string => {
      const v = args[++i]
      if (v === undefined) throw new FleetError('INVALID_OPTIONS', `${arg} needs a value`)
      return v
    }
    if (arg === '--canary') {
      const v = value()
      options.canary = /^\d+$/.test(v) ? Number(v) : v.split(',').filter((s) => s.length > 0)
    } else if (arg === '--window-ms') options.windowMs = Number(value())
    else if (arg === '--max-error-rate') options.maxErrorRate = Number(value())
    else if (dir === undefined && !arg.startsWith('-')) dir = arg
    else {
      io.stderr(`hotswap-host publish: unknown argument ${JSON.stringify(arg)}\nUsage: hotswap-host publish <plugin-dir> [--canary <n|host,host>] [--window-ms <ms>] [--max-error-rate <0..1>] [--fleet <redis-url>]\n`)
      return 2
    }
  }
  if (dir === undefined) {
    io.stderr('Usage: hotswap-host publish <plugin-dir> [--canary <n|host,host>] [--window-ms <ms>] [--max-error-rate <0..1>] [--fleet <redis-url>]\n')
    return 2
  }
  try {
    const artifact = await buildFleetArtifact(resolve(io.cwd, dir))
    const fleet = await connectFleet({ url: url ?? 'redis://127.0.0.1:6379' })
    try {
      const record = await fleet.publish(artifact, options)
      io.stdout(`published ${artifact.id} ${artifact.version} (${artifact.hash}): ${record.phase === 'canary' ? `canary ${record.canary.join(', ')} first` : 'to every host'}\n`)
      return 0
    } finally {
      await fleet.close()
    }
  } catch (error) {
    const code = error instanceof FleetError && (error.code === 'INVALID_OPTIONS' || error.code === 'INVALID_ARTIFACT') ? 2 : 1
    io.stderr(`hotswap-host publish: ${error instanceof Error ? error.message : String(error)}\n`)
    return code
  }
}
