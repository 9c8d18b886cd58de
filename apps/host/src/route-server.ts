import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import type { FastifyReply } from 'fastify'
import { errorJson } from './serialize.js'
import { PluginCallError, type CallOutcome, type PluginRoutes } from './plugin-routes.js'

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer'])

/** What {@link pluginRouteHandler} needs. @internal */
export interface PluginRouteDeps {
  /** The plugin calls (read per request: the host may still be starting). */
  readonly routes: () => PluginRoutes
  /** The host's Host/Origin checks: a refusal, or undefined to go on. */
  readonly check: (request: IncomingMessage) => { readonly status: number; readonly code: string; readonly message: string } | undefined
  /** Longest rest of path accepted (longer is 414). */
  readonly maxPathLength: number
  /** Called once per request when its response ends (request logs). */
  readonly onResponse?: ((request: IncomingMessage, status: number, ms: number) => void) | undefined
}

/**
 * Serves `/p/<id>` and `/p/<id>/*` straight on node:http, ahead of Fastify (the plugin routes
 * are the app's hot path: no router, hooks or reply objects between the socket and the
 * plugin): the host's Host/Origin checks, then the plugin's `fetch` with a web `Request` (its
 * URL is the rest of the path as sent and the query; `X-Forwarded-Prefix: /p/<id>` says where
 * it is mounted; a body streams in), then its `Response` streamed back (a body of one chunk
 * goes out in one write with the headers). Each request is counted in the route metrics.
 * Refusals are `{ error: { code, message } }`.
 *
 * @param deps - the routes, the checks and limits
 * @returns a request listener for the paths that start with `/p/`
 * @internal
 */
export function pluginRouteHandler(deps: PluginRouteDeps): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    const started = process.hrtime.bigint()
    const ms = (): number => Number(process.hrtime.bigint() - started) / 1e6
    if (deps.onResponse !== undefined) response.once('finish', () => deps.onResponse?.(request, response.statusCode, ms()))
    serve(deps, request, response, ms).catch(() => {
      if (!response.headersSent) refuse(response, 500, 'INTERNAL', 'internal error; see the host log')
      else response.destroy()
    })
  }
}

async function serve(deps: PluginRouteDeps, request: IncomingMessage, raw: ServerResponse, ms: () => number): Promise<void> {
  raw.setHeader('X-Content-Type-Options', 'nosniff')
  raw.setHeader('Referrer-Policy', 'no-referrer')
  raw.setHeader('X-Frame-Options', 'DENY')
  const refused = deps.check(request)
  if (refused !== undefined) return refuse(raw, refused.status, refused.code, refused.message)
  const target = parseTarget(request.url ?? '/', deps.maxPathLength)
  if (typeof target === 'string') return target === 'tooLong' ? refuse(raw, 414, 'URI_TOO_LONG', `a path segment is over ${deps.maxPathLength} characters`) : refuse(raw, 400, 'BAD_URL', 'the URL is not valid (bad percent-encoding)')
  const id = target.id
  let table: PluginRoutes
  try {
    table = deps.routes()
  } catch (error) {
    return refuse(raw, 503, 'STARTING', (error as Error).message)
  }
  let response: Response
  try {
    response = await table.fetch(id, toWebRequest(request, target))
  } catch (error) {
    const failure = error instanceof PluginCallError ? error : new PluginCallError(502, 'CALL_FAILED', `plugin ${id}: ${(error as Error).message}`, { cause: error })
    table.record(id, failure.status, ms() / 1000, failure.code)
    return send(raw, failure.status, JSON.stringify(failure.toJSON()))
  }
  raw.once('close', () => table.record(id, response.status, ms() / 1000))
  raw.statusCode = response.status
  for (const [name, value] of response.headers) {
    if (HOP_BY_HOP.has(name) || name === 'set-cookie') continue
    raw.setHeader(name, value)
  }
  const cookies = response.headers.getSetCookie()
  if (cookies.length > 0) raw.setHeader('set-cookie', cookies)
  if (response.body === null || request.method === 'HEAD') {
    if (response.body !== null) await response.body.cancel()
    raw.end()
    return
  }
  await pipeBody(response.body, raw)
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
 * Copies a web body to the response, waiting for drain (backpressure); a body of one chunk
 * goes out with the headers in one write. A failure mid-body ends the socket.
 */
async function pipeBody(body: ReadableStream<Uint8Array>, raw: ServerResponse): Promise<void> {
  const reader = body.getReader()
  try {
    const first = await reader.read()
    if (first.done) {
      raw.end()
      return
    }
    // A body that is already complete (a string, JSON) ends at once: one write with the headers.
    // A stream still producing gets its first chunk sent now, not when the second comes.
    const pending = reader.read()
    const soon = await Promise.race([pending, afterMicrotasks()])
    if (soon?.done === true) {
      if (!raw.hasHeader('content-length')) raw.setHeader('content-length', first.value.byteLength)
      raw.end(first.value)
      return
    }
    if (!(await write(raw, first.value))) return void (await reader.cancel())
    const second = soon ?? (await pending)
    for (let next = second; !next.done; next = await reader.read()) {
      if (!(await write(raw, next.value))) return void (await reader.cancel())
    }
    raw.end()
  } catch {
    raw.destroy() // the client sees a cut response, never a complete-looking one
  }
}

/** Resolves after a few microtask turns: long enough for a complete body's last read, never a timer. */
async function afterMicrotasks(): Promise<undefined> {
  for (let i = 0; i < 4; i++) await Promise.resolve()
  return undefined
}

/** Writes one chunk, waiting for drain; false once the client is gone. */
async function write(raw: ServerResponse, chunk: Uint8Array): Promise<boolean> {
  if (!raw.write(chunk)) await drained(raw)
  return !raw.destroyed
}

function drained(raw: ServerResponse): Promise<void> {
  return new Promise<void>((resolve) => {
    const go = (): void => {
      raw.off('close', go)
      raw.off('drain', go)
      resolve()
    }
    raw.once('drain', go)
    raw.once('close', go)
  })
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

function toWebRequest(raw: IncomingMessage, target: Target): Request {
  const url = `http://${raw.headers.host ?? '127.0.0.1'}/${target.rest}${target.query}`
  const headers = toHeaders(raw.headers)
  headers.set('x-forwarded-prefix', `/p/${target.id}`)
  const method = raw.method ?? 'GET'
  const hasBody = method !== 'GET' && method !== 'HEAD'
  if (!hasBody) return new Request(url, { method, headers })
  // A request with a body: its signal aborts when the client leaves before sending all of it.
  // (Not for GET/HEAD: a signal on a Request costs more than the rest of the request; a client
  // that leaves a streamed response cancels the response body's stream instead.)
  const controller = new AbortController()
  raw.once('close', () => {
    if (!raw.complete) controller.abort()
  })
  return new Request(url, { method, headers, signal: controller.signal, body: Readable.toWeb(raw), duplex: 'half' } as RequestInit)
}

function toHeaders(incoming: IncomingHttpHeaders): Headers {
  const headers = new Headers()
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue
    if (Array.isArray(value)) for (const v of value) headers.append(name, v)
    else headers.set(name, value)
  }
  return headers
}
