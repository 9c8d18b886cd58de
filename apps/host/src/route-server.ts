import type { IncomingMessage, ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import { getRequestListener, type HttpBindings } from '@hono/node-server'
import type { FastifyReply } from 'fastify'
import { errorJson } from './serialize.js'
import { PluginCallError, type CallOutcome, type PluginRoutes } from './plugin-routes.js'

/** What {@link pluginRouteHandler} needs. @internal */
export interface PluginRouteDeps {
  /** The plugin calls (read per request: the host may still be starting). */
  readonly routes: () => PluginRoutes
  /** The host's Host/Origin checks: a refusal, or undefined to go on. */
  readonly check: (request: IncomingMessage) => { readonly status: number; readonly code: string; readonly message: string } | undefined
  /** Longest rest of path accepted (longer is 414). */
  readonly maxPathLength: number
  /** Called once per request when its response ends (request logs), with the URL as sent. */
  readonly onResponse?: ((method: string | undefined, url: string, status: number, ms: number) => void) | undefined
}

/**
 * Serves `/p/<id>` and `/p/<id>/*` straight on node:http, ahead of Fastify (the plugin routes
 * are the app's hot path: no router, hooks or reply objects between the socket and the
 * plugin): the host's Host/Origin checks, then the plugin's `fetch` with a web `Request` (its
 * URL is the rest of the path as sent and the query; `X-Forwarded-Prefix: /p/<id>` says where
 * it is mounted; a body streams in, and the request's signal aborts when the client leaves
 * early), then its `Response` streamed back. The web objects are @hono/node-server's: a
 * `Request` that reads the socket's message only for what the plugin asks, and (with its
 * global override, which an in-process plugin's `new Response` uses) a `Response` whose string
 * or bytes body is written with the headers in one go, without a web stream. Each request is
 * counted in the route metrics. Refusals are `{ error: { code, message } }`.
 *
 * @param deps - the routes, the checks and limits
 * @returns a request listener for the paths that start with `/p/`
 * @internal
 */
export function pluginRouteHandler(deps: PluginRouteDeps): (request: IncomingMessage, response: ServerResponse) => void {
  const listener = getRequestListener(
    (request, env) => {
      const route = ((env as HttpBindings).incoming as RoutedMessage)[ROUTE]
      if (route === undefined) throw new Error('a plugin route was dispatched without its target')
      return route.table.fetch(route.id, request).catch((error: unknown) => {
        const failure = error instanceof PluginCallError ? error : new PluginCallError(502, 'CALL_FAILED', `plugin ${route.id}: ${(error as Error).message}`, { cause: error })
        route.failure = failure.code
        return errorResponse(failure.status, JSON.stringify(failure.toJSON()))
      })
    },
    { errorHandler: () => errorResponse(400, JSON.stringify({ error: { code: 'BAD_REQUEST', message: 'the request could not be read as a web Request (bad Host header or URL)' } })) },
  )
  return (request, response) => {
    const started = process.hrtime.bigint()
    const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9
    response.setHeader('X-Content-Type-Options', 'nosniff')
    response.setHeader('Referrer-Policy', 'no-referrer')
    response.setHeader('X-Frame-Options', 'DENY')
    const onResponse = deps.onResponse
    if (onResponse !== undefined) {
      const url = request.url ?? '/'
      response.once('finish', () => onResponse(request.method, url, response.statusCode, seconds() * 1000))
    }
    const refused = deps.check(request)
    if (refused !== undefined) return refuse(response, refused.status, refused.code, refused.message)
    const target = parseTarget(request.url ?? '/', deps.maxPathLength)
    if (typeof target === 'string') return target === 'tooLong' ? refuse(response, 414, 'URI_TOO_LONG', `a path segment is over ${deps.maxPathLength} characters`) : refuse(response, 400, 'BAD_URL', 'the URL is not valid (bad percent-encoding)')
    let table: PluginRoutes
    try {
      table = deps.routes()
    } catch (error) {
      return refuse(response, 503, 'STARTING', (error as Error).message)
    }
    const route: Route = { id: target.id, table, failure: undefined }
    // The plugin sees the rest of the path, mounted at the prefix it is told.
    const routed = request as RoutedMessage
    routed[ROUTE] = route
    routed.url = `/${target.rest}${target.query}`
    // (both forms: the headers object is parsed already, by the checks, and lookups read it)
    const prefix = `/p/${target.id}`
    routed.rawHeaders.push('x-forwarded-prefix', prefix)
    routed.headers['x-forwarded-prefix'] = prefix
    // counted once the body is written (or the writing failed): no listener per response
    const done = (): void => table.record(route.id, response.statusCode, seconds(), route.failure)
    void listener(routed, response).then(done, done)
  }
}

const ROUTE = Symbol('hotswap.route')

/** One plugin route request as the listener hands it on. */
interface Route {
  readonly id: string
  readonly table: PluginRoutes
  /** Why the plugin could not answer, when it could not (for the error metrics). */
  failure: string | undefined
}

type RoutedMessage = IncomingMessage & { [ROUTE]?: Route }

function errorResponse(status: number, body: string): Response {
  return new Response(body, { status, headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' } })
}

interface Target {
  readonly id: string
  readonly rest: string
  readonly query: string
}

/** `/p/<id>[/rest][?query]` → its parts (the id decoded, the rest as sent), or why not. */
function parseTarget(url: string, maxPathLength: number): Target | 'bad' | 'tooLong' {
  const q = url.indexOf('?')
  const path = q === -1 ? url : url.slice(0, q)
  const query = q === -1 ? '' : url.slice(q)
  const slash = path.indexOf('/', 3)
  const rawId = slash === -1 ? path.slice(3) : path.slice(3, slash)
  const rest = slash === -1 ? '' : path.slice(slash + 1)
  if (rest.length > maxPathLength || rawId.length > maxPathLength) return 'tooLong'
  let id = rawId
  try {
    if (rawId.includes('%')) id = decodeURIComponent(rawId)
    if (rest.includes('%')) decodeURI(rest)
  } catch {
    return 'bad'
  }
  return { id, rest, query }
}

function refuse(raw: ServerResponse, status: number, code: string, message: string): void {
  send(raw, status, JSON.stringify({ error: { code, message } }))
}

function send(raw: ServerResponse, status: number, body: string): void {
  raw.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) })
  raw.end(body)
}

/**
 * Sends the outcome of a call: `{ result }` as JSON, or a stream as NDJSON (one JSON value
 * per line; a failure mid-stream ends it with a line `{"error":{...}}`).
 *
 * @param reply - the Fastify reply
 * @param outcome - what the call gave back
 * @returns the reply
 * @internal
 */
export function sendCall(reply: FastifyReply, outcome: CallOutcome): FastifyReply {
  if (outcome.kind === 'value') return reply.type('application/json; charset=utf-8').send(JSON.stringify({ result: outcome.value ?? null }))
  const items = outcome.items
  async function* lines(): AsyncGenerator<string> {
    try {
      for await (const item of items) yield `${JSON.stringify(item ?? null)}\n`
    } catch (error) {
      yield `${JSON.stringify({ error: errorJson(error) })}\n`
    }
  }
  return reply.type('application/x-ndjson; charset=utf-8').send(Readable.from(lines()))
}
