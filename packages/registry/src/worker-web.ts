// Web handlers across the worker boundary (a `fetch(request)` method, or any method taking a
// `Request` and returning a `Response`): WEB_BOOTSTRAP is the worker side, spliced into the
// worker bootstrap after the contract; the rest is the host side, used by WorkerPlugin.
import { MessageChannel, MessagePort } from 'node:worker_threads'
import { packBody, packRequest, packResponse, unpackBody, unpackRequest, unpackResponse } from './web-bodies.js'
import type { WebKit, WireBody, WireResponse } from './web-bodies.js'
import { produceStream } from './streams.js'
import type { StreamConsumer, StreamPort } from './streams.js'

/** How many body chunks may be in flight ahead of their reader (64 KB chunks: 1 MB). */
export const BODY_WINDOW = 16

/**
 * The worker side. Uses the bootstrap's `ContractChannel`, `produceStream`, `consumeStream`,
 * `contractRevive`, `serialize`, `fail`, `apply`, `postMessage` and `port`.
 *
 * A call whose arguments hold requests is `{ id, op: 'call', method, args, req: [indexes] }`
 * (each of those arguments a `WireRequest`); a `Response` result is the reply
 * `{ id, ok: true, response: WireResponse }`, its body ports transferred.
 *
 * @internal
 */
export const WEB_BOOTSTRAP: string = String.raw`
const packBody = ${packBody.toString()}
const unpackBody = ${unpackBody.toString()}
const packRequest = ${packRequest.toString()}
const unpackRequest = ${unpackRequest.toString()}
const packResponse = ${packResponse.toString()}
const webKit = {
  channel: () => new ContractChannel(),
  produce: produceStream,
  consume: (p) => consumeStream(p, contractRevive, { window: ${BODY_WINDOW}, closedError: () => new Error('the host ended the body') }),
  serialize: (error) => serialize(error, 'stream'),
}
function webArgs(m, signal) {
  if (!Array.isArray(m.req)) return m.args
  const args = m.args.slice()
  const made = []
  for (const i of m.req) {
    const request = unpackRequest(args[i], webKit, signal, unpackBody)
    args[i] = request
    made.push(request)
  }
  m.requests = made
  return args
}
// A request body the handler left unread is cancelled once its response is done (its host side stops).
function webDone(requests) {
  if (requests === undefined) return
  for (const request of requests) {
    try { if (request.body && !request.body.locked) request.body.cancel().catch(() => undefined) } catch {}
  }
}
async function webResult(id, response, requests, onEnd) {
  const transfer = []
  let wire
  const end = (cancelled) => {
    webDone(requests)
    if (onEnd !== undefined) onEnd(cancelled)
  }
  try {
    wire = await packResponse(response, webKit, transfer, packBody, end)
  } catch (error) {
    end(false)
    return fail(id, error, 'call')
  }
  apply(postMessage, port, [{ id, ok: true, response: wire }, transfer])
}
// onEnd: a signalled call's end (its ctx.signal aborts when the caller stops reading the response).
function callResult(m, v, onEnd) {
  if (v instanceof Response) return void webResult(m.id, v, m.requests, onEnd)
  if (onEnd !== undefined) onEnd(false)
  webDone(m.requests)
  contractResult(m.id, v)
}
`

/** The host's kit; `consume` reads a response body as the caller wants it (tracked, cancellable). */
function hostKit(consume: (port: StreamPort) => StreamConsumer<Uint8Array>): WebKit {
  return {
    channel: () => {
      const channel = new MessageChannel()
      channel.port1.unref()
      return channel
    },
    produce: produceStream,
    consume,
    serialize: (error: unknown) => {
      const e = error as { name?: unknown; message?: unknown } | null
      return { name: typeof e?.name === 'string' ? e.name : 'Error', message: typeof e?.message === 'string' ? e.message : String(error) }
    },
  }
}

/**
 * Whether any argument is a `Request` (then {@link packArgs} must run before the call is posted).
 *
 * @internal
 */
export function hasRequest(args: readonly unknown[]): boolean {
  for (const arg of args) if (arg instanceof Request) return true
  return false
}

/**
 * The arguments with each `Request` packed (its body streamed on a channel whose port is in
 * `transfer`), and their indexes.
 *
 * @internal
 */
export async function packArgs(args: readonly unknown[]): Promise<{ args: unknown[]; req: number[]; transfer: MessagePort[] }> {
  const kit = hostKit(() => {
    throw new TypeError('a request has no body to read on the host')
  })
  const out = [...args]
  const req: number[] = []
  const transfer: unknown[] = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]
    if (!(arg instanceof Request)) continue
    out[i] = await packRequest(arg, kit, transfer, packBody)
    req.push(i)
  }
  return { args: out, req, transfer: transfer as MessagePort[] }
}

/**
 * The `Response` of a reply, its body read through `consume`.
 *
 * @internal
 */
export function responseOf(wire: WireResponse, consume: (port: StreamPort) => StreamConsumer<Uint8Array>): Response {
  return unpackResponse(wire, hostKit(consume), unpackBody)
}

/**
 * Checks the `response` of a reply from a worker; returns it typed, or what is wrong with it.
 *
 * @internal
 */
export function parseWireResponse(value: unknown): WireResponse | string {
  if (value === null || typeof value !== 'object') return 'a response that is not an object'
  const r = value as Record<string, unknown>
  if (typeof r.status !== 'number' || !Number.isSafeInteger(r.status)) return 'a response status that is not an integer'
  if (typeof r.statusText !== 'string') return 'a response statusText that is not a string'
  if (!Array.isArray(r.headers) || !r.headers.every((h) => Array.isArray(h) && h.length === 2 && typeof h[0] === 'string' && typeof h[1] === 'string')) return 'response headers that are not [name, value] pairs'
  const body = parseBody(r.body)
  if (typeof body === 'string') return body
  return { status: r.status, statusText: r.statusText, headers: r.headers as Array<[string, string]>, body }
}

function parseBody(value: unknown): WireBody | null | string {
  if (value === null) return null
  if (typeof value !== 'object') return 'a response body that is not an object'
  const b = value as Record<string, unknown>
  if (!Array.isArray(b.chunks) || !b.chunks.every((c) => c instanceof Uint8Array)) return 'response body chunks that are not bytes'
  if (b.port !== undefined && !(b.port instanceof MessagePort)) return 'a response body port that is not a MessagePort'
  return { chunks: b.chunks, port: b.port }
}
