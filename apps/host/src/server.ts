import { readFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import type { Socket } from 'node:net'
import { createServer as createHttpServer, type IncomingMessage, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import { fileURLToPath } from 'node:url'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import rateLimit from '@fastify/rate-limit'
import type { Logger } from 'pino'
import type { PipelinePluginStatus, ReloadPipeline, ReloadResult } from '@hotswap/pipeline'
import { DriftTracker } from './drift.js'
import type { StateStore } from '@hotswap/state-store'
import { ConfigInvalidError } from '@hotswap/registry'
import type { EventJournal, JournalEntry } from './journal.js'
import type { HostMetrics } from './metrics.js'
import { pluginRouteHandler, sendCall } from './route-server.js'
import { PluginCallError, type PluginRoutes } from './plugin-routes.js'
import type { PolicyName } from './options.js'
import { toReloadPolicy } from './policy.js'
import { allowedHostHeaders, bearerOf, isOwnOrigin, secretMatches, TicketBook } from './security.js'
import { errorJson, pluginJson, statusJson, toJson, type PluginJson } from './serialize.js'

/** What {@link createServer} needs. */
export interface ServerDeps {
  readonly pipeline: ReloadPipeline
  readonly journal: EventJournal
  readonly metrics: HostMetrics
  /** Calls and `fetch` routes into plugins. */
  readonly routes: PluginRoutes
  /** Plugin state history comes from here. */
  readonly store: StateStore
  /** The bearer token every `/api` route and `/metrics` require. */
  readonly token: string
  /** The bind address (its name joins the allowed Host headers when it is a specific one). */
  readonly bindHost: string
  /** Trigger requests (reload, rollback, enable, disable) allowed per minute. */
  readonly rateLimit: number
  /** Request logs (JSON mode); none when undefined. */
  readonly logger?: Logger | undefined
  /** Extra routes (for example the fleet's), registered after the built-in ones. */
  readonly extraRoutes?: ((app: FastifyInstance) => void) | undefined
}

/** Largest request body accepted, in bytes. */
export const BODY_LIMIT: number = 16 * 1024

/** Longest path parameter (a plugin route's rest of path) accepted; longer is 414. @internal */
export const MAX_PARAM_LENGTH = 2000

/** Event stream clients served at once. */
export const MAX_STREAMS: number = 32

const DASHBOARD_DIR = new URL('../dashboard/', import.meta.url)
const PUBLIC_FILES: Readonly<Record<string, { readonly file: string; readonly type: string }>> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/fleet.js': { file: 'fleet.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
}
const ID_PARAM = { type: 'object', properties: { id: { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]{0,63}$' } }, required: ['id'] } as const
const EMPTY_BODY = { type: 'object', additionalProperties: false, properties: {} } as const
const ENABLE_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    policy: { type: 'string', enum: ['on-change', 'on-signal', 'scheduled', 'disabled'] },
    intervalMs: { type: 'integer', minimum: 10, maximum: 86_400_000 },
  },
} as const
const CALL_BODY = {
  type: 'object',
  additionalProperties: false,
  required: ['method'],
  properties: {
    method: { type: 'string', pattern: '^[A-Za-z_$][A-Za-z0-9_$]{0,127}$' },
    args: { type: 'array', maxItems: 64 },
  },
} as const
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

/** A refusal with an HTTP status and a machine-readable code. */
class Refusal extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

/**
 * Creates the host's HTTP server (Fastify): the control API under `/api`, Prometheus metrics
 * at `/metrics`, the server-sent event stream at `/api/events` and the dashboard at `/`.
 *
 * Every request passes, in this order: the `Host` header allow-list (DNS rebinding), the
 * `Origin` / `Sec-Fetch-Site` check (cross-site requests), then, for everything but the
 * dashboard's static files, the bearer token (or a one-time ticket for the event stream).
 * Only then is a body read (at most {@link BODY_LIMIT} bytes, JSON only, validated). Trigger
 * routes share a rate limit. Every refusal is `{ error: { code, message } }`. There is no CORS.
 *
 * @param deps - the pipeline, journal, metrics, store, token and limits
 * @returns the Fastify instance, not listening yet
 * @example
 * ```ts
 * const app = await createServer({ pipeline, journal, metrics, store, token, bindHost: '127.0.0.1', rateLimit: 30 })
 * await app.listen({ host: '127.0.0.1', port: 0 })
 * ```
 */
export async function createServer(deps: ServerDeps): Promise<FastifyInstance> {
  const { token } = deps
  const tickets = new TicketBook()
  const streams = new Set<() => void>()
  const httpLogger: FastifyBaseLogger | undefined = deps.logger?.child({ component: 'http' })
  // The Host allow-list for the port listened on (computed once per port, not per request).
  let allowedFor: { port: number; names: Set<string> } | undefined
  // (`server.address()` is a system call: asked only until the server listens.)
  const allowedNow = (): { port: number; names: Set<string> } => {
    if (allowedFor !== undefined && allowedFor.port !== 0 && app.server.listening) return allowedFor
    const port = (app.server.address() as AddressInfo | null)?.port ?? 0
    if (allowedFor?.port !== port) allowedFor = { port, names: allowedHostHeaders(deps.bindHost, port) }
    return allowedFor
  }
  const originRefusal = (headers: IncomingHttpHeaders): Refusal | undefined => {
    const { port, names } = allowedNow()
    const host = headers.host?.toLowerCase()
    if (host === undefined || !names.has(host)) return new Refusal(403, 'FORBIDDEN_HOST', `Host header ${JSON.stringify(headers.host ?? '')} is not allowed; use http://127.0.0.1:${port}`)
    const origin = headers.origin
    if (origin !== undefined && !isOwnOrigin(origin, names)) return new Refusal(403, 'FORBIDDEN_ORIGIN', `cross-site request from origin ${JSON.stringify(origin)} refused`)
    if (headers['sec-fetch-site'] === 'cross-site') return new Refusal(403, 'FORBIDDEN_ORIGIN', 'cross-site request refused (Sec-Fetch-Site: cross-site)')
    return undefined
  }
  // Plugin routes (/p/<id>/*, public, the hot path) are served on node:http ahead of Fastify.
  const servePluginRoute = pluginRouteHandler({
    routes: () => deps.routes,
    check: (request) => {
      const refusal = originRefusal(request.headers)
      return refusal === undefined ? undefined : { status: refusal.statusCode, code: refusal.code, message: refusal.message }
    },
    maxPathLength: MAX_PARAM_LENGTH,
    // (a request log line is info: below that level no listener is added per request)
    onResponse:
      httpLogger === undefined || !(httpLogger as Logger).isLevelEnabled('info')
        ? undefined
        : (method, url, status, ms) => httpLogger.info({ method, path: url.split('?')[0], status, ms: Math.round(ms) }, 'request'),
  })
  const app = Fastify({
    serverFactory: (handler) => {
      const server = createHttpServer((request, response) => (request.url?.startsWith('/p/') === true ? servePluginRoute(request, response) : handler(request, response)))
      // what Fastify sets on a server it makes itself
      server.keepAliveTimeout = 72_000
      server.requestTimeout = 30_000
      return server
    },
    ...(httpLogger !== undefined ? { loggerInstance: httpLogger } : { logger: false }),
    bodyLimit: BODY_LIMIT,
    return503OnClosing: true,
    forceCloseConnections: true,
    requestTimeout: 30_000,
    // Plugin routes take the rest of the path as one parameter: allow long ones.
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Router refusals (a bad percent-encoding, an over-long parameter) in the documented shape.
    frameworkErrors: (error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void => {
      const tooLong = error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      const status = tooLong ? 414 : error.code === 'FST_ERR_BAD_URL' ? 400 : 500
      const code = tooLong ? 'URI_TOO_LONG' : status === 400 ? 'BAD_URL' : 'INTERNAL'
      const message = tooLong ? `a path segment is over ${MAX_PARAM_LENGTH} characters` : status === 400 ? 'the URL is not valid (bad percent-encoding)' : 'internal error; see the host log'
      void reply.code(status).type('application/json; charset=utf-8').send({ error: { code, message } })
    },
    // Validate strictly: no silent removal of unknown keys, no type coercion of bodies.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    clientErrorHandler: (error: Error & { code?: string }, socket: Socket) => {
      if (!socket.writable) return socket.destroy()
      const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400
      const body = JSON.stringify({ error: { code: status === 431 ? 'HEADERS_TOO_LARGE' : 'BAD_REQUEST', message: 'malformed HTTP request' } })
      socket.end(
        `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      )
    },
    // Requests are logged by the onResponse hook below, without query strings (the event
    // stream's ticket) or headers (the token).
    logController: new LogController({ disableRequestLogging: true }),
  })
  app.removeContentTypeParser('text/plain')
  // Node answers an unknown Expect header itself with an empty 417: answer in the documented shape.
  app.server.on('checkExpectation', (_request: IncomingMessage, response: ServerResponse) => {
    const body = JSON.stringify({ error: { code: 'EXPECTATION_FAILED', message: 'only "Expect: 100-continue" is supported' } })
    response.writeHead(417, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), Connection: 'close' })
    response.end(body)
  })

  // ------------------------------------------------------------ security, before anything else
  app.addHook('onRequest', async (request, reply) => {
    reply.header('Cache-Control', 'no-store')
    reply.header('X-Content-Type-Options', 'nosniff')
    reply.header('Referrer-Policy', 'no-referrer')
    reply.header('X-Frame-Options', 'DENY')
    const refusal = originRefusal(request.headers)
    if (refusal !== undefined) throw refusal
    const path = request.url.split('?')[0]!
    if ((request.method === 'GET' || request.method === 'HEAD') && PUBLIC_FILES[path] !== undefined) return
    if (request.method === 'GET' && path === '/api/events') {
      const ticket = (request.query as Record<string, unknown>).ticket
      if (typeof ticket === 'string' && tickets.redeem(ticket)) return
    }
    if (!secretMatches(bearerOf(request.headers.authorization), token)) {
      reply.header('WWW-Authenticate', 'Bearer realm="hotswap-host"')
      throw new Refusal(401, 'UNAUTHORIZED', 'a valid bearer token is required (Authorization: Bearer <token>; the token is in the api-token file of the state directory)')
    }
  })

  // A POST without a body is an empty object (the schemas then check it like any other body).
  app.addHook('preValidation', (request, _reply, done) => {
    if (request.method === 'POST' && (request.body === undefined || request.body === null)) request.body = {}
    done()
  })

  // One budget shared by every trigger route (it protects the pipeline, not a client's quota):
  // the plugin's global store, keyed by a constant, with every other route on the allow list.
  await app.register(rateLimit, {
    global: true,
    max: deps.rateLimit,
    timeWindow: 60_000,
    keyGenerator: () => 'triggers',
    allowList: (request) => !isTrigger(request),
    errorResponseBuilder: (_request, context) => new Refusal(429, 'RATE_LIMITED', `too many reload/rollback/enable/disable requests: at most ${context.max} per minute; retry in ${context.after}`),
  })

  app.setErrorHandler((error: FastifyError | Refusal | Error, request, reply) => sendError(error, request, reply))
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]!}` } }),
  )

  // ------------------------------------------------------------ dashboard (public, static)
  for (const [path, { file, type }] of Object.entries(PUBLIC_FILES)) {
    app.get(path, async (_request, reply) => {
      const body = await readFile(fileURLToPath(new URL(file, DASHBOARD_DIR)))
      return reply.type(type).header('Content-Security-Policy', CSP).send(body)
    })
  }

  // ------------------------------------------------------------ API
  // Each plugin says whether what it serves differs from its file on disk, and why.
  let drift: DriftTracker | undefined
  const withDrift = (p: PipelinePluginStatus): PluginJson & { servingDiffersFromDisk: string | null } => {
    drift ??= new DriftTracker(deps.journal)
    return { ...pluginJson(p), servingDiffersFromDisk: drift.reason(p) ?? null }
  }
  app.addHook('onClose', (_instance, done) => {
    drift?.close()
    done()
  })

  app.get('/api/status', (_request, reply) => {
    const status = deps.pipeline.status()
    return reply.send({ ...statusJson(status), plugins: status.plugins.map(withDrift) })
  })

  app.get('/api/plugins', (_request, reply) => reply.send({ plugins: deps.pipeline.status().plugins.map(withDrift) }))

  app.get<{ Params: { id: string } }>('/api/plugins/:id', { schema: { params: ID_PARAM } }, async (request) => {
    const { id } = request.params
    const plugin = deps.pipeline.status().plugins.find((p) => p.plugin?.id === id)
    if (plugin === undefined) throw new Refusal(404, 'PLUGIN_NOT_FOUND', `no loaded plugin with id ${JSON.stringify(id)}`)
    const history = await deps.store.history(id).catch((error: unknown) => ({ error: errorJson(error) }))
    return {
      plugin: withDrift(plugin),
      stateHistory: Array.isArray(history) ? history : [],
      stateHistoryError: Array.isArray(history) ? undefined : history.error,
      reloads: deps.journal.reloads(id).map((e) => e.data),
    }
  })

  app.get('/api/reloads', (_request, reply) => reply.send({ reloads: deps.journal.reloads().map((e) => e.data) }))

  app.post<{ Body: { policy?: string; intervalMs?: number } | undefined }>(
    '/api/hot-reload/enable',
    { schema: { body: ENABLE_BODY } },
    (request, reply) => {
      const body = request.body ?? {}
      if (body.policy !== undefined) deps.pipeline.setPolicy(toReloadPolicy(body.policy as PolicyName, body.intervalMs ?? currentInterval(deps.pipeline)))
      deps.pipeline.enable()
      return reply.send(statusJson(deps.pipeline.status()))
    },
  )

  app.post('/api/hot-reload/disable', { schema: { body: EMPTY_BODY } }, (_request, reply) => {
    deps.pipeline.disable()
    return reply.send(statusJson(deps.pipeline.status()))
  })

  app.post<{ Params: { id: string } }>('/api/plugins/:id/reload', { schema: { params: ID_PARAM, body: EMPTY_BODY } }, async (request, reply) => {
    const { id } = request.params
    if (!deps.pipeline.registry.has(id)) throw new Refusal(404, 'PLUGIN_NOT_FOUND', `no loaded plugin with id ${JSON.stringify(id)}`)
    const root = deps.pipeline.registry.status(id).path
    let result: ReloadResult | undefined
    const off = deps.journal.subscribe(({ event }) => {
      if (event.type === 'reload' && event.path === root) result = event
    })
    try {
      await deps.pipeline.trigger(id)
    } finally {
      off()
    }
    if (result?.outcome === 'failed') {
      return reply.code(422).send({ error: { code: 'RELOAD_FAILED', message: `reload of ${id} failed: ${result.error?.message ?? 'unknown error'}`, reload: toJson(result) } })
    }
    return { reload: result === undefined ? null : toJson(result), plugin: pluginJson(deps.pipeline.status().plugins.find((p) => p.path === root)!) }
  })

  app.post<{ Params: { id: string } }>('/api/plugins/:id/rollback', { schema: { params: ID_PARAM, body: EMPTY_BODY } }, async (request) => {
    const status = await deps.pipeline.rollback(request.params.id)
    return { plugin: toJson(status) }
  })

  app.put<{ Params: { id: string }; Body: unknown }>('/api/plugins/:id/config', { schema: { params: ID_PARAM } }, async (request, reply) => {
    const { id } = request.params
    if (!deps.pipeline.registry.has(id)) throw new Refusal(404, 'PLUGIN_NOT_FOUND', `no loaded plugin with id ${JSON.stringify(id)}`)
    try {
      const status = await deps.pipeline.registry.configure(id, request.body ?? null)
      return { plugin: status === undefined ? null : toJson(status) }
    } catch (error) {
      if (error instanceof ConfigInvalidError) {
        return reply.code(422).send({ error: { code: 'CONFIG_INVALID', message: error.message, issues: error.issues } })
      }
      throw error
    }
  })

  app.post<{ Params: { id: string }; Body: { method: string; args?: unknown[] } }>(
    '/api/plugins/:id/call',
    { schema: { params: ID_PARAM, body: CALL_BODY } },
    async (request, reply) => sendCall(reply, await deps.routes.call(request.params.id, request.body.method, request.body.args ?? [])),
  )


  app.post('/api/events/ticket', { schema: { body: EMPTY_BODY } }, (_request, reply) => reply.send({ ticket: tickets.issue(), expiresInMs: 30_000 }))

  app.get<{ Querystring: { since?: string; ticket?: string } }>('/api/events', async (request, reply) => {
    if (streams.size >= MAX_STREAMS) throw new Refusal(503, 'TOO_MANY_STREAMS', `at most ${MAX_STREAMS} event streams at once`)
    const lastId = request.headers['last-event-id'] ?? request.query.since
    const since = Number.parseInt(typeof lastId === 'string' ? lastId : '', 10)
    reply.hijack()
    const raw = reply.raw
    raw.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Content-Type-Options': 'nosniff',
      'X-Accel-Buffering': 'no',
    })
    raw.write(`retry: 2000\n: hotswap-host events; seq ${deps.journal.seq}\n\n`)
    const write = (entry: JournalEntry): void => {
      raw.write(`id: ${entry.seq}\nevent: ${entry.name}\ndata: ${JSON.stringify(entry.data)}\n\n`)
    }
    if (Number.isSafeInteger(since) && since >= 0) for (const entry of deps.journal.since(since)) write(entry)
    const off = deps.journal.subscribe(write)
    const ping = setInterval(() => raw.write(': ping\n\n'), 15_000)
    const end = (): void => {
      off()
      clearInterval(ping)
      streams.delete(end)
      if (!raw.writableEnded) raw.end()
    }
    streams.add(end)
    request.raw.on('close', end)
  })

  app.get('/metrics', async (_request, reply) => {
    const text = await deps.metrics.registry.metrics()
    return reply.type(deps.metrics.registry.contentType).send(text)
  })

  if (deps.logger !== undefined) {
    app.addHook('onResponse', async (request, reply) => {
      request.log.info({ method: request.method, path: request.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request')
    })
  }

  deps.extraRoutes?.(app)

  app.addHook('preClose', (done) => {
    for (const end of [...streams]) end()
    done()
  })
  return app
}

const TRIGGER_ROUTES: ReadonlySet<string> = new Set(['/api/hot-reload/enable', '/api/hot-reload/disable', '/api/plugins/:id/reload', '/api/plugins/:id/rollback', '/api/plugins/:id/config'])

/** Keyed on the matched route, not the raw URL: `%70lugins`, `%72eload` and absolute-form targets reach the same route and the same budget. */
function isTrigger(request: FastifyRequest): boolean {
  return request.method === 'POST' && TRIGGER_ROUTES.has(request.routeOptions.url ?? '')
}

function sendError(error: FastifyError | Refusal | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { status, code, message } = classify(error)
  if (error instanceof Refusal || error instanceof PluginCallError || status < 500) {
    if (status >= 500) request.log.warn({ status, code }, message)
  } else request.log.error({ err: error }, 'request failed')
  if (error instanceof PluginCallError) return reply.code(error.status).type('application/json; charset=utf-8').send(error.toJSON())
  return reply.code(status).type('application/json; charset=utf-8').send({ error: { code, message } })
}

function classify(error: Error & { statusCode?: number; code?: string; validation?: unknown }): { status: number; code: string; message: string } {
  if (error instanceof Refusal) return { status: error.statusCode, code: error.code, message: error.message }
  if (error instanceof PluginCallError) return { status: error.status, code: error.code, message: error.message }
  if (error.validation !== undefined) return { status: 400, code: 'INVALID_REQUEST', message: error.message }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, code: 'BODY_TOO_LARGE', message: `request body over ${BODY_LIMIT} bytes` }
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: 'send application/json (or no body)' }
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, code: 'INVALID_JSON', message: error.message }
    case 'STARTING':
      return { status: 503, code: 'STARTING', message: error.message }
    case 'NOT_FOUND':
      return { status: 404, code: 'PLUGIN_NOT_FOUND', message: error.message }
    case 'NO_PREVIOUS':
      return { status: 409, code: 'NO_PREVIOUS_VERSION', message: error.message }
    case 'CLOSED':
      return { status: 503, code: 'SHUTTING_DOWN', message: error.message }
    case 'INVALID_TRANSITION':
      return { status: 409, code: 'BUSY', message: error.message }
    case 'INVALID_OPTIONS':
      return { status: 400, code: 'INVALID_REQUEST', message: error.message }
  }
  if (error instanceof SyntaxError) return { status: 400, code: 'INVALID_JSON', message: error.message }
  const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500
  if (status < 500) return { status, code: typeof error.code === 'string' ? error.code.replace(/^FST_ERR_/, '') : 'BAD_REQUEST', message: error.message }
  return { status, code: 'INTERNAL', message: 'internal error; see the host log' }
}

function currentInterval(pipeline: ReloadPipeline): number {
  const policy = pipeline.status().policy
  return policy.kind === 'Scheduled' ? policy.intervalMs : 5000
}
