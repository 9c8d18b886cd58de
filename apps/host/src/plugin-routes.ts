import { Counter, Histogram, type Registry } from 'prom-client'
import type { ReloadPipeline } from '@hotswap/pipeline'
import type { PluginHandle } from '@hotswap/registry'
import { errorJson, type ErrorJson } from './serialize.js'

/** What {@link PluginRoutes.call} gives back: one value, or a stream of values. */
export type CallOutcome =
  | { readonly kind: 'value'; readonly value: unknown }
  | { readonly kind: 'stream'; readonly items: AsyncIterable<unknown> }

/** The `plugin` label of route requests for an id that names no loaded plugin. */
const UNKNOWN_PLUGIN = '(none)'

/** A call or route that could not be served, with the HTTP status it maps to. */
export class PluginCallError extends Error {
  override readonly name = 'PluginCallError'
  /**
   * @param status - the HTTP status (404 no plugin or method, 422 the call failed, 502 the handler broke)
   * @param code - machine-readable reason
   * @param message - what went wrong and what to do
   * @param options - the cause
   */
  constructor(
    readonly status: number,
    readonly code: 'PLUGIN_NOT_FOUND' | 'NO_FETCH_HANDLER' | 'UNKNOWN_METHOD' | 'CALL_FAILED' | 'BAD_RESPONSE',
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }

  /** The `{ error }` body of the API. @returns the JSON body */
  toJSON(): { readonly error: { readonly code: string; readonly message: string; readonly cause?: ErrorJson | undefined } } {
    return { error: { code: this.code, message: this.message, ...(this.cause !== undefined ? { cause: errorJson(this.cause) } : {}) } }
  }
}

/**
 * Calls into plugins for the host: any method (`POST /api/plugins/:id/call`, `hotswap-host
 * call`) and a plugin's web-standard `fetch(request)` handler (`/p/<id>/*`), through the
 * registry's stable handles, so a call made during a reload waits at the gate and reaches the
 * new version. Routes are counted per plugin: `hotswap_route_requests_total{plugin,status}`,
 * `hotswap_route_errors_total{plugin,code}` and `hotswap_route_duration_seconds{plugin}`.
 *
 * @example
 * ```ts
 * const routes = new PluginRoutes(pipeline, metrics.registry)
 * const response = await routes.fetch('links', new Request('http://127.0.0.1/abc'))
 * ```
 */
export class PluginRoutes {
  readonly #pipeline: Pick<ReloadPipeline, 'registry'>
  readonly #requests: Counter<'plugin' | 'status'>
  readonly #errors: Counter<'plugin' | 'code'>
  readonly #duration: Histogram<'plugin'>
  readonly #children = new Map<string, { readonly duration: { observe(value: number): void }; readonly requests: Map<number, { inc(): void }> }>()

  /**
   * @param pipeline - whose registry the calls go through
   * @param registry - the prom-client registry the route metrics join
   */
  constructor(pipeline: Pick<ReloadPipeline, 'registry'>, registry: Registry) {
    this.#pipeline = pipeline
    this.#requests = new Counter({ name: 'hotswap_route_requests_total', help: 'Requests to plugin routes (/p/<id>/*), by plugin and response status.', labelNames: ['plugin', 'status'], registers: [registry] })
    this.#errors = new Counter({ name: 'hotswap_route_errors_total', help: 'Plugin route requests that failed (the handler threw or answered 5xx), by plugin and code.', labelNames: ['plugin', 'code'], registers: [registry] })
    this.#duration = new Histogram({
      name: 'hotswap_route_duration_seconds',
      help: 'Plugin route latency, from the request to the end of the response body.',
      labelNames: ['plugin'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    })
  }

  /**
   * Calls a method of a plugin.
   *
   * @param id - the plugin id
   * @param method - the method name
   * @param args - its arguments (JSON values)
   * @returns the value, or the stream when the method returned an async iterable
   * @throws {@link PluginCallError} `PLUGIN_NOT_FOUND`, `UNKNOWN_METHOD` or `CALL_FAILED` (the cause is the plugin's or registry's error)
   */
  async call(id: string, method: string, args: readonly unknown[]): Promise<CallOutcome> {
    const handle = this.#handle(id)
    let value: unknown
    try {
      value = await handle.call(method, ...args)
    } catch (error) {
      throw asCallError(id, method, error)
    }
    if (isAsyncIterable(value)) return { kind: 'stream', items: value }
    return { kind: 'value', value }
  }

  /**
   * Sends a request to a plugin's `fetch` handler.
   *
   * @param id - the plugin id
   * @param request - the request as the plugin sees it (its URL is the path after `/p/<id>`)
   * @returns the plugin's response
   * @throws {@link PluginCallError} `PLUGIN_NOT_FOUND`, `NO_FETCH_HANDLER`, `CALL_FAILED` (it threw) or `BAD_RESPONSE` (it returned something else than a `Response`)
   */
  async fetch(id: string, request: Request): Promise<Response> {
    // Every loader takes the Request itself: a worker or pool plugin gets its body streamed in
    // and streams its Response body back (the registry's web handlers).
    const handle = this.#handle(id)
    let value: unknown
    try {
      value = await handle.call('fetch', request)
    } catch (error) {
      const failure = asCallError(id, 'fetch', error)
      throw failure.code === 'UNKNOWN_METHOD' ? new PluginCallError(404, 'NO_FETCH_HANDLER', `plugin ${id} has no fetch(request) handler, so it serves no routes; call its methods with POST /api/plugins/${id}/call`, { cause: error }) : new PluginCallError(502, 'CALL_FAILED', failure.message, { cause: error })
    }
    if (!(value instanceof Response)) {
      throw new PluginCallError(502, 'BAD_RESPONSE', `plugin ${id}: fetch(request) returned ${describe(value)}, not a Response; return new Response(body, { status, headers })`)
    }
    return value
  }

  /**
   * Records one route request.
   *
   * @param id - the plugin id (requests for an id that names no plugin, `PLUGIN_NOT_FOUND`, are counted under `(none)`)
   * @param status - the HTTP status sent
   * @param seconds - from the request to the end of the body
   * @param errorCode - why it failed, when it did
   */
  record(id: string, status: number, seconds: number, errorCode?: string): void {
    // Requests for ids that name no plugin are counted together: an id in a URL is anybody's
    // to make up, and a label (and a kept child) per made-up id would grow without bound.
    if (errorCode === 'PLUGIN_NOT_FOUND') id = UNKNOWN_PLUGIN
    // the labelled children are kept per plugin and status: no label hashing per request
    let route = this.#children.get(id)
    if (route === undefined) {
      route = { duration: this.#duration.labels({ plugin: id }), requests: new Map() }
      this.#children.set(id, route)
    }
    let requests = route.requests.get(status)
    if (requests === undefined) {
      requests = this.#requests.labels({ plugin: id, status: String(status) })
      route.requests.set(status, requests)
    }
    requests.inc()
    route.duration.observe(seconds)
    if (errorCode !== undefined) this.#errors.inc({ plugin: id, code: errorCode })
    else if (status >= 500) this.#errors.inc({ plugin: id, code: `HTTP_${status}` })
  }

  #handle(id: string): PluginHandle {
    const registry = this.#pipeline.registry
    if (!registry.has(id)) throw new PluginCallError(404, 'PLUGIN_NOT_FOUND', `no loaded plugin with id ${JSON.stringify(id)}; GET /api/plugins lists them`)
    return registry.get(id)
  }
}

function asCallError(id: string, method: string, error: unknown): PluginCallError {
  const code = (error as { code?: unknown } | undefined)?.code
  const message = error instanceof Error ? error.message : String(error)
  if (code === 'UNKNOWN_METHOD') return new PluginCallError(404, 'UNKNOWN_METHOD', `plugin ${id} has no method ${JSON.stringify(method)}: ${message}`, { cause: error })
  if (code === 'NOT_FOUND') return new PluginCallError(404, 'PLUGIN_NOT_FOUND', `no loaded plugin with id ${JSON.stringify(id)}`, { cause: error })
  return new PluginCallError(422, 'CALL_FAILED', `${id}.${method}() failed: ${message}`, { cause: error })
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function'
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value !== 'object') return typeof value
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name
  return typeof name === 'string' ? `a ${name}` : 'an object'
}
