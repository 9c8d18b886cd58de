// Web handlers across a MessagePort: a `Request` argument and a `Response` result travel as
// plain objects (url or status, headers) with their bodies streamed on the credit streams of
// streams.ts, one MessageChannel per body. What a body has ready at once (up to 64 KB, read
// within a few microtask turns) travels inline, so a small request or response is one message; the
// rest follows on the channel with backpressure. The functions below are self-contained (no
// imports, no outer names): the worker bootstrap embeds their source, and the host runs the
// same code.
import type { StreamConsumer, StreamPort } from './streams.js'

/** A body on the wire: the bytes read at once, then (when the body was not done) a port for the rest. */
export interface WireBody {
  readonly chunks: readonly Uint8Array[]
  readonly port?: StreamPort | undefined
}

/** A `Request` on the wire. */
export interface WireRequest {
  readonly url: string
  readonly method: string
  readonly headers: ReadonlyArray<readonly [string, string]>
  readonly body: WireBody | null
}

/** A `Response` on the wire. */
export interface WireResponse {
  readonly status: number
  readonly statusText: string
  readonly headers: ReadonlyArray<readonly [string, string]>
  readonly body: WireBody | null
}

/**
 * What packing and unpacking need from their side of the boundary.
 *
 * @internal
 */
export interface WebKit {
  /** A new channel: `port1` stays, `port2` is transferred. */
  readonly channel: () => { readonly port1: StreamPort; readonly port2: StreamPort }
  /** Serves an async iterable on a port (`produceStream`). */
  readonly produce: (port: StreamPort, source: AsyncIterable<unknown>, serialize: (error: unknown) => unknown) => void
  /** Reads a port served by `produce` (`consumeStream` with the body window). */
  readonly consume: (port: StreamPort) => StreamConsumer<Uint8Array>
  /** An error as it crosses. */
  readonly serialize: (error: unknown) => unknown
}

/**
 * Packs a body: reads what is ready (reads that settle within a few microtask turns, up to
 * 64 KB) and, unless the body
 * ended, serves the rest on a new channel whose far port is pushed onto `transfer`. `onEnd` is
 * called once when the body was read to its end or failed (`false`), or was cancelled by its
 * reader (`true`).
 *
 * @internal
 */
export async function packBody(stream: ReadableStream<unknown> | null, kit: WebKit, transfer: unknown[], onEnd: (cancelled: boolean) => void): Promise<WireBody | null> {
  if (stream === null || stream === undefined) {
    onEnd(false)
    return null
  }
  const LIMIT = 65536
  const TICK = {}
  const toBytes = (value: unknown): Uint8Array => {
    if (value instanceof Uint8Array) return value
    if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
    if (typeof value === 'string') return new TextEncoder().encode(value)
    throw new TypeError(`a body chunk is ${value === null ? 'null' : typeof value}, not bytes (enqueue Uint8Array chunks)`)
  }
  let ended = false
  const end = (cancelled = false): void => {
    if (ended) return
    ended = true
    onEnd(cancelled)
  }
  const reader = stream.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  let pending: Promise<{ done: boolean; value?: unknown }> | undefined = reader.read()
  try {
    while (size < LIMIT) {
      // "Ready" is: the read settles within a few microtask turns (a macrotask would cost more
      // than a small body's whole trip).
      let tick: Promise<unknown> = Promise.resolve(TICK)
      for (let hop = 0; hop < 8; hop++) tick = tick.then((x) => x)
      const r = await Promise.race([pending, tick])
      if (r === TICK) break
      const step = r as { done: boolean; value?: unknown }
      if (step.done) {
        end()
        return { chunks }
      }
      const bytes = toBytes(step.value)
      chunks.push(bytes)
      size += bytes.byteLength
      pending = reader.read()
    }
  } catch (error) {
    end()
    throw error
  }
  const { port1, port2 } = kit.channel()
  const rest: AsyncIterable<unknown> = {
    [Symbol.asyncIterator]: () => ({
      next: async (): Promise<IteratorResult<unknown>> => {
        const read = pending ?? reader.read()
        pending = undefined
        try {
          const step = await read
          if (step.done) {
            end()
            return { value: undefined, done: true }
          }
          return { value: toBytes(step.value), done: false }
        } catch (error) {
          end()
          throw error
        }
      },
      return: async (): Promise<IteratorResult<unknown>> => {
        pending = undefined
        end(true)
        await reader.cancel().catch(() => undefined)
        return { value: undefined, done: true }
      },
    }),
  }
  kit.produce(port1, rest, kit.serialize)
  transfer.push(port2)
  return { chunks, port: port2 }
}

/**
 * A packed body as a body again: the bytes when all of it came inline, else a `ReadableStream`
 * of the inline chunks, then the channel (pulled on demand, so the producer runs at most the
 * body window ahead); cancelling it cancels the producer.
 *
 * @internal
 */
export function unpackBody(body: WireBody | null, kit: WebKit): ReadableStream<Uint8Array> | Uint8Array | null {
  if (body === null || body === undefined) return null
  const chunks = body.chunks
  const port = body.port
  if (port === undefined) {
    // All of it is here: one buffer (a body from bytes is much cheaper to read than a stream).
    if (chunks.length === 1) return chunks[0] as Uint8Array
    let size = 0
    for (const chunk of chunks) size += chunk.byteLength
    const all = new Uint8Array(size)
    let at = 0
    for (const chunk of chunks) {
      all.set(chunk, at)
      at += chunk.byteLength
    }
    return all
  }
  const consumer = kit.consume(port)
  let i = 0
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (i < chunks.length) {
          controller.enqueue(chunks[i++] as Uint8Array)
          return
        }
        const step = await consumer.next()
        if (step.done === true) controller.close()
        else controller.enqueue(step.value)
      },
      async cancel() {
        await consumer.return?.()
      },
    },
    { highWaterMark: 0 },
  )
}

/**
 * Packs a `Request` (its body as {@link packBody} does).
 *
 * @internal
 */
export async function packRequest(request: Request, kit: WebKit, transfer: unknown[], pack: typeof packBody): Promise<WireRequest> {
  const headers: Array<[string, string]> = []
  request.headers.forEach((value, name) => headers.push([name, value]))
  // GET and HEAD have no body: not asking for it keeps a lazily made Request (the host's
  // routes hand @hono/node-server's on) from building the full one.
  const bodiless = request.method === 'GET' || request.method === 'HEAD'
  const body = bodiless ? null : await pack(request.body, kit, transfer, () => undefined)
  return { url: request.url, method: request.method, headers, body }
}

/**
 * A `Request` from its wire form, with the call's `signal` when there is one.
 *
 * @internal
 */
export function unpackRequest(wire: WireRequest, kit: WebKit, signal: AbortSignal | undefined, unpack: typeof unpackBody): Request {
  const body = unpack(wire.body, kit)
  const init: RequestInit & { duplex?: 'half' } = { method: wire.method, headers: wire.headers as Array<[string, string]> }
  if (body !== null) {
    init.body = body
    init.duplex = 'half'
  }
  if (signal !== undefined) init.signal = signal
  return new Request(wire.url, init)
}

/**
 * Packs a `Response` (its body as {@link packBody} does; `onEnd` when the body is done).
 *
 * @internal
 */
export async function packResponse(response: Response, kit: WebKit, transfer: unknown[], pack: typeof packBody, onEnd: (cancelled: boolean) => void): Promise<WireResponse> {
  const headers: Array<[string, string]> = []
  for (const cookie of response.headers.getSetCookie()) headers.push(['set-cookie', cookie])
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') headers.push([name, value])
  })
  const body = await pack(response.body, kit, transfer, onEnd)
  return { status: response.status, statusText: response.statusText, headers, body }
}

/**
 * A `Response` from its wire form.
 *
 * @internal
 */
export function unpackResponse(wire: WireResponse, kit: WebKit, unpack: typeof unpackBody): Response {
  // Names come combined from Headers.forEach, so only set-cookie repeats: without one the
  // headers go as a plain record (which a lightweight Response writes without a Headers object).
  const pairs = wire.headers as Array<[string, string]>
  const headers = pairs.some(([name]) => name === 'set-cookie') ? pairs : Object.fromEntries(pairs)
  return new Response(unpack(wire.body, kit), { status: wire.status, statusText: wire.statusText, headers })
}
