import type { IncomingHttpHeaders, ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { errorJson } from './serialize.js'
import { PluginCallError, type CallOutcome, type PluginRoutes } from './plugin-routes.js'

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer'])

/**
 * Mounts `/p/<id>` and `/p/<id>/*` on an encapsulated Fastify scope: every method, bodies not
 * parsed but streamed to the plugin as a web `Request` (its URL is the rest of the path and the
 * query; `X-Forwarded-Prefix: /p/<id>` tells the plugin where it is mounted), and the plugin's
 * `Response` streamed back. Each request is counted in the route metrics.
 *
 * @param scope - a Fastify scope of its own (its content-type parsers are replaced)
 * @param routes - the plugin calls (read per request: the host may still be starting)
 * @internal
 */
export function mountPluginRoutes(scope: FastifyInstance, routes: () => PluginRoutes): void {
  scope.removeAllContentTypeParsers()
  // Leave the body unread: the plugin reads it from the Request's stream.
  scope.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined))
  const handler = async (request: FastifyRequest<{ Params: { id: string; '*'?: string } }>, reply: FastifyReply): Promise<FastifyReply> => {
    const started = process.hrtime.bigint()
    const id = request.params.id
    const table = routes()
    const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9
    let response: Response
    try {
      response = await table.fetch(id, toWebRequest(request, id))
    } catch (error) {
      const failure = error instanceof PluginCallError ? error : new PluginCallError(502, 'CALL_FAILED', `plugin ${id}: ${(error as Error).message}`, { cause: error })
      table.record(id, failure.status, seconds(), failure.code)
      return reply.code(failure.status).type('application/json; charset=utf-8').send(failure.toJSON())
    }
    // Written straight to the socket: no stream adapters between the plugin's body and the client.
    const raw = reply.raw
    raw.once('close', () => table.record(id, response.status, seconds()))
    const headers: Record<string, string | string[] | number> = {}
    for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined && name !== 'cache-control') headers[name] = value
    for (const [name, value] of response.headers) {
      if (HOP_BY_HOP.has(name) || name === 'set-cookie') continue
      headers[name] = value
    }
    const cookies = response.headers.getSetCookie()
    if (cookies.length > 0) headers['set-cookie'] = cookies
    reply.hijack()
    raw.writeHead(response.status, headers)
    if (response.body === null || request.method === 'HEAD') {
      raw.end()
      return reply
    }
    await pipeBody(response.body, raw)
    return reply
  }
  scope.all('/p/:id', handler)
  scope.all('/p/:id/*', handler)
}

/** Copies a web body to the response, waiting for drain (backpressure); a failure mid-body ends the socket. */
async function pipeBody(body: ReadableStream<Uint8Array>, raw: ServerResponse): Promise<void> {
  const reader = body.getReader()
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      if (!raw.write(value)) await new Promise<void>((resolve) => {
        const go = (): void => {
          raw.off('close', go)
          raw.off('drain', go)
          resolve()
        }
        raw.once('drain', go)
        raw.once('close', go)
      })
      if (raw.destroyed) {
        await reader.cancel()
        return
      }
    }
    raw.end()
  } catch {
    raw.destroy() // the client sees a cut response, never a complete-looking one
  }
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

function toWebRequest(request: FastifyRequest<{ Params: { id: string; '*'?: string } }>, id: string): Request {
  const raw = request.raw
  const query = raw.url?.includes('?') === true ? raw.url.slice(raw.url.indexOf('?')) : ''
  const rest = request.params['*'] ?? ''
  const host = raw.headers.host ?? '127.0.0.1'
  const url = `http://${host}/${rest}${query}`
  const headers = toHeaders(raw.headers)
  headers.set('x-forwarded-prefix', `/p/${id}`)
  const hasBody = request.method !== 'GET' && request.method !== 'HEAD'
  const controller = new AbortController()
  raw.once('close', () => {
    if (!raw.complete) controller.abort()
  })
  return new Request(url, {
    method: request.method,
    headers,
    signal: controller.signal,
    ...(hasBody ? { body: Readable.toWeb(raw), duplex: 'half' } : {}),
  } as RequestInit)
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
