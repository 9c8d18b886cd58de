import { mkdir } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { pino, type Logger } from 'pino'
import type { FastifyInstance } from 'fastify'
import { createReloadPipeline, type PipelineEvent, type ReloadPipeline } from '@hotswap/pipeline'
import { inProcessLoader, isolationLoaders, wasmLoader, type RegistryLogger } from '@hotswap/registry'
import { createStateStore, fileAdapter, isStateStoreError, type StateStore } from '@hotswap/state-store'
import { HostError } from './errors.js'
import { EventJournal } from './journal.js'
import { createHostMetrics, type HostMetrics } from './metrics.js'
import type { HostConfig } from './options.js'
import { toReloadPolicy } from './policy.js'
import { HOST_FILE_NAME, removeHostFile, writeHostFile, writeToken } from './security.js'
import { errorJson, pluginLabel } from './serialize.js'
import { createServer, type ServerDeps } from './server.js'
import { guardedStateStore } from './guarded-store.js'
import { KvStore } from './kv.js'
import { followSymlinks, type SymlinkFollower } from './symlinks.js'
import { isHostEvent, type StateFallbackEvent } from './host-events.js'
import { hidingGonePlugins } from './status-view.js'
import { PluginRoutes } from './plugin-routes.js'
import { createTerminalView, supportsColor, type TerminalView } from './terminal.js'

/** Where the host writes (the process's streams by default; tests capture them). */
export interface HostIo {
  /** Standard output. */
  readonly stdout: (text: string) => void
  /** Whether stdout is a terminal that takes colours. Default: detected from `process.stdout`. */
  readonly color?: boolean
  /** Extra API routes (token-protected like the others), e.g. the fleet's. */
  readonly routes?: (app: FastifyInstance) => void
  /** Aborting it stops a host that is still starting (it then rejects with `ABORTED`, after saving what loaded). */
  readonly signal?: AbortSignal
}

/** A running host. */
export interface Host {
  /** The server's base URL, e.g. `http://127.0.0.1:4477`. */
  readonly url: string
  /** The dashboard URL with the token in its fragment (never sent to the server). */
  readonly dashboardUrl: string
  /** The API token. */
  readonly token: string
  /** The 0600 file that holds the token. */
  readonly tokenFile: string
  /** The settings the host runs with. */
  readonly config: HostConfig
  /** The pipeline, for handles: `host.pipeline.registry.get('counter').call('get')`. */
  readonly pipeline: ReloadPipeline
  /** The event journal (recent events, listeners). */
  readonly journal: EventJournal
  /** The HTTP server. */
  readonly server: FastifyInstance
  /** Closes the server, the pipeline (saving every plugin's state) and the state store. Idempotent. */
  close(): Promise<void>
}

/**
 * Starts the host: opens the state store in `config.stateDir/state`, writes a fresh API token
 * (0600), starts the reload pipeline on `config.dirs`, serves the API and dashboard, and waits
 * until every plugin that exists at start has loaded (or failed to).
 *
 * @param config - resolved settings (see `resolveConfig`)
 * @param io - where output goes
 * @returns the running host
 * @throws {@link HostError} `STATE_DIR` when the state directory is locked by another host or
 *   not writable, `LISTEN_FAILED` when the port is taken
 * @example
 * ```ts
 * const host = await startHost(resolveConfig({ flags: { port: '0' }, env: {}, cwd: process.cwd() }))
 * console.log(host.dashboardUrl)
 * await host.close()
 * ```
 */
export async function startHost(config: HostConfig, io: HostIo = { stdout: (s) => void process.stdout.write(s) }): Promise<Host> {
  const json = config.logFormat === 'json'
  const logger: Logger | undefined = json ? pino({ level: config.logLevel, base: { app: 'hotswap-host' } }, { write: io.stdout }) : undefined
  const view: TerminalView | undefined = json ? undefined : createTerminalView({ write: io.stdout, color: io.color ?? supportsColor(process.stdout), verbose: config.logLevel === 'debug' || config.logLevel === 'trace' })
  const quiet = config.logLevel === 'silent' || config.logLevel === 'error' || config.logLevel === 'warn'
  const aborted = (): HostError => new HostError('ABORTED', 'stopped before the host finished starting; plugin state was saved')
  const stopAsked = (): boolean => io.signal?.aborted === true
  if (stopAsked()) throw aborted()

  const { token, file: tokenFile, store } = await openStateDir(config.stateDir)
  let kv: KvStore
  try {
    kv = await KvStore.open(config.stateDir)
  } catch (error) {
    await store.close().catch(() => undefined)
    throw new HostError('STATE_DIR', `cannot open the kv service's store: ${(error as Error).message}`, { cause: error })
  }
  // State-store fallbacks are said in the log and are journal events (API, SSE, dashboard);
  // any before the journal exists wait for it.
  const early: StateFallbackEvent[] = []
  let noteState = (event: StateFallbackEvent): void => void early.push(event)
  const guarded = guardedStateStore(store, (event) => {
    if (logger !== undefined) logger.warn({ event: event.type, plugin: event.id, ...(event.movedTo !== undefined ? { movedTo: event.movedTo } : {}) }, event.message)
    else view?.print(event.message)
    noteState(event)
  })
  // The server listens before any plugin loads (a taken port must not run any plugin's setup());
  // until the pipeline exists the API answers 503 STARTING.
  // eslint-disable-next-line prefer-const -- assigned once the pipeline exists, read by the getters before
  let core: { readonly pipeline: ReloadPipeline; readonly journal: EventJournal; readonly metrics: HostMetrics; readonly routes: PluginRoutes } | undefined
  const notYet = (): never => {
    throw new HostError('STARTING', 'the host is still starting (loading its plugins); retry in a moment')
  }
  const deps: ServerDeps = {
    get pipeline() {
      return core?.pipeline ?? notYet()
    },
    get journal() {
      return core?.journal ?? notYet()
    },
    get metrics() {
      return core?.metrics ?? notYet()
    },
    get routes() {
      return core?.routes ?? notYet()
    },
    store,
    token,
    bindHost: config.host,
    rateLimit: config.rateLimit,
    logger,
    extraRoutes: io.routes,
  }
  let server: FastifyInstance
  try {
    server = await createServer(deps)
  } catch (error) {
    await kv.close().catch(() => undefined)
    await store.close().catch(() => undefined)
    throw error
  }
  let follower: SymlinkFollower | undefined
  const closeAll = async (): Promise<void> => {
    follower?.close()
    await server.close().catch(() => undefined)
    await core?.pipeline.close().catch(() => undefined)
    core?.journal.close()
    core?.metrics.close()
    guarded.close()
    await kv.close().catch(() => undefined)
    await store.close().catch(() => undefined)
    await removeHostFile(config.stateDir)
  }
  try {
    await server.listen({ host: config.host, port: config.port })
  } catch (error) {
    await closeAll()
    const code = (error as { code?: string }).code
    const hint = code === 'EADDRINUSE' ? `; another process uses it: pass --port <n> (or 0 for any free port)` : ''
    throw new HostError('LISTEN_FAILED', `cannot listen on ${config.host}:${config.port}: ${(error as Error).message}${hint}`, { cause: error })
  }
  const port = (server.server.address() as AddressInfo).port
  const hostName = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host.includes(':') ? `[${config.host}]` : config.host
  const url = `http://${hostName}:${port}`
  const dashboardUrl = `${url}/#token=${token}`
  try {
    await writeHostFile(config.stateDir, url)
  } catch (error) {
    await closeAll()
    throw new HostError('STATE_DIR', `cannot write ${join(config.stateDir, HOST_FILE_NAME)}: ${(error as Error).message}`, { cause: error })
  }

  let pipeline: ReloadPipeline
  try {
    if (stopAsked()) throw aborted()
    pipeline = hidingGonePlugins(createReloadPipeline({
      dirs: config.dirs,
      // Our own store so that the API can show each plugin's state history.
      stateStore: guarded.store,
      policy: toReloadPolicy(config.policy, config.intervalMs),
      enabled: config.enabled,
      ...(config.debounceMs === 'adaptive' ? {} : { debounce: config.debounceMs }),
      retry: { maxRetries: config.maxRetries },
      concurrency: config.concurrency,
      // worker (the default): a thread per plugin unless its manifest asks for the pool; pool: the reverse
      loader: config.loader === 'in-process' ? [inProcessLoader(), wasmLoader()] : [...isolationLoaders({ default: config.loader === 'pool' ? 'shared' : 'dedicated' }), wasmLoader()],
      registryOptions: {
        drainTimeoutMs: config.drainTimeoutMs,
        callTimeoutMs: config.callTimeoutMs,
        gateTimeoutMs: config.gateTimeoutMs,
        checkpointMs: config.checkpointMs,
        logger: SILENT_LOGGER,
        // The host's services (plugins declare `uses: ['kv']`) and each plugin's config.
        services: { kv: kv.service() },
        ...(config.plugins !== undefined ? { config: config.plugins } : {}),
      },
      // the host prints every event itself (pino or the terminal view)
      logger: SILENT_LOGGER,
    }))
  } catch (error) {
    await closeAll()
    throw error
  }
  const journal = new EventJournal(pipeline)
  const metrics = createHostMetrics(pipeline, journal)
  core = { pipeline, journal, metrics, routes: new PluginRoutes(pipeline, metrics.registry) }
  let started = false
  noteState = (event) => journal.note(event)
  for (const event of early.splice(0)) journal.note(event)
  journal.subscribe(({ event, data }) => {
    if (isHostEvent(event)) return // printed when it happened
    if (logger !== undefined) logEvent(logger, event, data.attempted as string | null | undefined)
    else if (view !== undefined) {
      if (!shown(event, started, quiet)) return
      view.event(event, data.attempted as string | null | undefined)
      if (started && !quiet && event.type === 'reload' && event.action !== 'reload' && event.outcome === 'success') view.table(pipeline.status())
    }
  })

  try {
    // Symlinked plugins and directories: their targets are followed (the watcher sees only the links).
    follower = await followSymlinks(pipeline, config.dirs, { onProblem: (message) => (logger !== undefined ? logger.warn({ event: 'symlinks' }, message) : view?.print(message)) })
    await abortable(pipeline.ready, io.signal, aborted)
  } catch (error) {
    await closeAll()
    throw error
  }
  started = true

  if (view !== undefined) {
    view.print('')
    if (!quiet) view.table(pipeline.status())
    view.print(
      '',
      `dashboard  ${dashboardUrl}`,
      `API        ${url}/api/status  (Authorization: Bearer <token>)`,
      `routes     ${url}/p/<plugin id>/  (a plugin's fetch handler; public)`,
      `token      ${tokenFile}  (mode 0600; new on every start)  e.g. curl -H "Authorization: Bearer $(cat ${tokenFile})" ${url}/api/status`,
      `metrics    ${url}/metrics`,
      `signals    SIGUSR2 applies pending changes, Ctrl-C stops`,
      '',
    )
  } else {
    logger?.info({ url, dashboard: `${url}/`, tokenFile, dirs: config.dirs, stateDir: config.stateDir, policy: config.policy, enabled: config.enabled }, 'hotswap-host listening; the dashboard URL with the token is <dashboard>#token=<contents of tokenFile>')
  }

  let closing: Promise<void> | undefined
  return {
    url,
    dashboardUrl,
    token,
    tokenFile,
    config,
    pipeline,
    journal,
    server,
    close: () => (closing ??= closeAll()),
  }
}

async function openStateDir(stateDir: string): Promise<{ token: string; file: string; store: StateStore }> {
  let store: StateStore
  try {
    await mkdir(stateDir, { recursive: true, mode: 0o700 })
    store = await createStateStore({ adapter: fileAdapter({ dir: join(stateDir, 'state') }) })
  } catch (error) {
    if (isStateStoreError(error) && error.code === 'LOCKED') {
      throw new HostError('STATE_DIR', `state directory ${stateDir} is in use by another hotswap-host: ${error.message}; stop it or pass --state-dir <another dir>`, { cause: error })
    }
    throw new HostError('STATE_DIR', `cannot open state directory ${stateDir}: ${(error as Error).message}`, { cause: error })
  }
  try {
    return { ...(await writeToken(stateDir)), store }
  } catch (error) {
    await store.close().catch(() => undefined)
    throw new HostError('STATE_DIR', `cannot write the API token into ${stateDir}: ${(error as Error).message}`, { cause: error })
  }
}

const SILENT_LOGGER: RegistryLogger = { debug() {}, info() {}, warn() {}, error() {} }

function logEvent(logger: Logger, e: PipelineEvent, attempted: string | null | undefined): void {
  switch (e.type) {
    case 'reload': {
      const fields = {
        event: 'reload',
        plugin: pluginLabel(e),
        action: e.action,
        cause: e.cause,
        outcome: e.outcome,
        from: e.from,
        to: e.to,
        path: e.path,
        changes: e.changes.map((c) => ({ kind: c.kind, path: c.path })),
        hashBefore: e.hashBefore,
        hashAfter: e.hashAfter,
        attempts: e.attempts,
        timings: e.timings,
        ...(e.error !== undefined ? { error: errorJson(e.error), failedPhase: e.failedPhase, attempted } : {}),
      }
      if (e.outcome === 'failed') logger.error(fields, `${e.action} of ${pluginLabel(e)}${typeof attempted === 'string' ? ` to ${attempted}` : ''} failed`)
      else logger.info(fields, `${e.action} ${pluginLabel(e)} in ${e.timings.totalMs} ms`)
      return
    }
    case 'registry': {
      const r = e.event
      if (r.type === 'log') logger[r.level]({ event: 'plugin-log', plugin: r.id }, r.message)
      else if (r.type === 'failed') logger.warn({ event: 'registry.failed', plugin: r.id, phase: r.phase, error: errorJson(r.error) }, 'registry: failed')
      else logger.debug({ event: `registry.${r.type}`, ...r }, `registry: ${r.type}`)
      return
    }
    case 'watcherError':
      logger.error({ event: e.type, error: errorJson(e.error) }, 'watcher error; rescanning')
      return
    case 'skipped':
      logger.debug({ event: e.type, plugin: e.id, path: e.path, reason: e.reason }, `skipped: ${e.reason}`)
      return
    case 'pending':
      logger.info({ event: e.type, plugin: e.id, path: e.path, policy: e.policy, enabled: e.enabled, changes: e.changes.map((c) => ({ kind: c.kind, path: c.path })) }, 'changes pending')
      return
    case 'retry':
      logger.warn({ event: e.type, plugin: e.id, path: e.path, attempt: e.attempt, delayMs: e.delayMs, error: errorJson(e.error) }, 'retrying')
      return
    default:
      logger.info({ event: e.type, ...(e as object) }, e.type)
  }
}

/** Whether the terminal view prints an event now (before `ready`, only loads, plugin logs and ready). */
function shown(event: PipelineEvent, started: boolean, quiet: boolean): boolean {
  // Plugin log lines are shown from the first moment, also during the initial load.
  if (event.type === 'registry' && event.event.type === 'log') return !quiet || event.event.level === 'warn' || event.event.level === 'error'
  if (quiet) return (event.type === 'reload' && event.outcome === 'failed') || event.type === 'watcherError'
  return started || event.type === 'reload' || event.type === 'ready'
}

/** Waits for `promise` unless `signal` aborts first (then rejects with `onAbort()`). */
async function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined, onAbort: () => Error): Promise<T> {
  if (signal === undefined) return promise
  if (signal.aborted) throw onAbort()
  let off: () => void = () => undefined
  const stopped = new Promise<never>((_resolve, reject) => {
    const listener = (): void => reject(onAbort())
    signal.addEventListener('abort', listener, { once: true })
    off = () => signal.removeEventListener('abort', listener)
  })
  try {
    return await Promise.race([promise, stopped])
  } finally {
    off()
  }
}
