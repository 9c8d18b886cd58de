// The call cases of the loader contract: cancellation (handle.withSignal) and web handlers
// (fetch(Request) -> Response with streamed bodies), run by contractCases() for JS plugins on
// every loader.
import { deepStrictEqual, ok, rejects, strictEqual, throws } from 'node:assert/strict'
import { CallAbortedError } from './call-aborted.js'
import { RegistryError } from './errors.js'
import type { Loader } from './loader.js'
import { caseCollector, source, until, type Case, type Format } from './contract-case-kit.js'
import type { PluginRegistry } from './registry-types.js'

const isAbort = (error: unknown): boolean => error instanceof CallAbortedError && error.name === 'AbortError' && error.code === 'CALL_ABORTED'


/**
 * The cancellation and web-handler cases for a JS plugin format on a loader.
 *
 * @internal
 */
export function callCases(loader: () => Loader, format: Format): Case[] {
  const collected = caseCollector(loader, format, 'hotswap-calls-', { drainTimeoutMs: 300 })
  const cases = collected.cases
  const test = (name: string, body: (registry: PluginRegistry, write: (file: string, text: string) => Promise<string>) => Promise<void>): void => collected.test(name, {}, body)

  const waiter = source(
    format,
    `name: 'w', version: '1.0.0', setup(ctx) { const versionSignal = ctx.signal; return {
      async wait(ms) {
        started++
        await new Promise((r) => setTimeout(r, 1))
        const signal = ctx.signal
        if (signal === versionSignal) return 'no call signal'
        if (signal.aborted) { seen.push(signal.reason && signal.reason.name); return 'stopped' }
        return await new Promise((resolve) => {
          const t = setTimeout(() => resolve('done'), ms)
          signal.addEventListener('abort', () => { clearTimeout(t); seen.push(signal.reason && signal.reason.name); resolve('stopped') })
        })
      },
      stats: () => ({ started, seen, versionAborted: versionSignal.aborted, plainIsVersion: ctx.signal === versionSignal }),
      echo: (x) => x,
    } } `,
    'let started = 0\nconst seen = []',
  )
  type Waiter = { wait(ms: number): string; stats(): { started: number; seen: string[]; versionAborted: boolean; plainIsVersion: boolean }; echo(x: unknown): unknown }

  test('cancellation: an abort rejects the caller with an AbortError at once and aborts ctx.signal of that call only; other calls and the plugin go on', async (registry, write) => {
    await registry.load(await write('w', waiter))
    const handle = registry.get<Waiter>('w')
    const controller = new AbortController()
    const cancelled = handle.withSignal(controller.signal).api.wait(600_000)
    const plain = handle.call('wait', 50)
    const other = new AbortController()
    const kept = handle.withSignal(other.signal).call('wait', 50)
    await until(async () => (await handle.call('stats')).started === 3, 'the three calls to start')
    controller.abort()
    const error = await cancelled.then(
      () => undefined,
      (e: unknown) => e,
    )
    ok(isAbort(error), `expected a CallAbortedError named AbortError, got ${String(error)}`)
    strictEqual((error as CallAbortedError).method, 'wait')
    await until(async () => (await handle.call('stats')).seen.length === 1, 'the plugin to see the abort on ctx.signal')
    deepStrictEqual((await handle.call('stats')).seen, ['AbortError'])
    strictEqual(await plain, 'no call signal')
    strictEqual(await kept, 'done')
    const stats = await handle.call('stats')
    strictEqual(stats.versionAborted, false)
    strictEqual(stats.plainIsVersion, true)
    await until(() => registry.status('w').inFlight === 0, 'no call in flight')
    strictEqual(registry.status('w').state, 'Running')
    strictEqual(await handle.withSignal(new AbortController().signal).api.echo(7), 7)
  })

  test('cancellation: an aborted signal never reaches the plugin; the reason is the cause; a late abort changes nothing', async (registry, write) => {
    await registry.load(await write('w', waiter))
    const handle = registry.get<Waiter>('w')
    const gone = AbortSignal.abort(new Error('the user left'))
    const error = await handle.withSignal(gone).call('wait', 10).then(
      () => undefined,
      (e: unknown) => e,
    )
    ok(isAbort(error), String(error))
    ok((error as Error).message.includes('the user left'), (error as Error).message)
    strictEqual(((error as Error).cause as Error).message, 'the user left')
    strictEqual((await handle.call('stats')).started, 0)
    const controller = new AbortController()
    strictEqual(await handle.withSignal(controller.signal).call('echo', 'x'), 'x')
    controller.abort()
    strictEqual(await handle.call('echo', 'y'), 'y')
    throws(() => handle.withSignal({} as AbortSignal), (e: unknown) => e instanceof RegistryError && e.code === 'INVALID_OPTIONS')
  })

  const feed = source(
    format,
    `name: 'f', version: '1.0.0', setup(ctx) { return {
      async *ticks() { try { for (let i = 0; ; i++) { yield i; await new Promise((r) => setTimeout(r, 2)) } } finally { closed++; abortedAtEnd.push(ctx.signal.aborted) } },
      stats: () => ({ closed, abortedAtEnd }),
    } } `,
    'let closed = 0\nconst abortedAtEnd = []',
  )
  type Feed = { ticks(): AsyncIterable<number>; stats(): { closed: number; abortedAtEnd: boolean[] } }

  test('cancellation: an abort mid-stream ends the caller\'s stream with an AbortError and stops the producer, whose ctx.signal aborts', async (registry, write) => {
    await registry.load(await write('f', feed))
    const handle = registry.get<Feed>('f')
    const controller = new AbortController()
    const iterator = (await handle.withSignal(controller.signal).call('ticks'))[Symbol.asyncIterator]()
    strictEqual((await iterator.next()).value, 0)
    strictEqual((await iterator.next()).value, 1)
    controller.abort()
    await rejects(
      (async () => {
        for (;;) if ((await iterator.next()).done === true) return
      })(),
      isAbort,
    )
    await until(async () => (await handle.call('stats')).closed === 1, 'the producer to be stopped')
    deepStrictEqual((await handle.call('stats')).abortedAtEnd, [true])
    await until(() => registry.status('f').inFlight === 0, 'the stream to stop counting as a call in flight')
    // A consumer that breaks out of a cancellable stream aborts its ctx.signal too.
    let taken = 0
    for await (const _ of await handle.withSignal(new AbortController().signal).call('ticks')) if (++taken === 2) break
    await until(async () => (await handle.call('stats')).closed === 2, 'the second producer to be stopped')
    deepStrictEqual((await handle.call('stats')).abortedAtEnd, [true, true])
  })

  const web = source(
    format,
    `name: 'web', version: '1.0.0', setup(ctx) { return {
      async fetch(request) {
        const url = new URL(request.url)
        if (url.pathname === '/echo') return new Response(request.body, { status: 201, statusText: 'Made', headers: { 'x-method': request.method, 'x-seen': request.headers.get('x-test') || '' } })
        if (url.pathname === '/count') { let n = 0; for await (const c of request.body) n += c.byteLength; return Response.json({ n }) }
        if (url.pathname === '/first') { const reader = request.body.getReader(); const first = await reader.read(); reader.releaseLock(); return Response.json({ first: first.value.byteLength }) }
        if (url.pathname === '/cookies') { const h = new Headers(); h.append('set-cookie', 'a=1'); h.append('set-cookie', 'b=2'); return new Response(null, { status: 204, headers: h }) }
        if (url.pathname === '/big') {
          const signal = ctx.signal
          return new Response(new ReadableStream({
            pull(c) { produced++; c.enqueue(new Uint8Array(65536).fill(produced % 256)) },
            cancel() { cancelled.push(signal.aborted) },
          }, { highWaterMark: 0 }), { headers: { 'content-type': 'application/octet-stream' } })
        }
        if (url.pathname === '/fail') throw new TypeError('no such route')
        return new Response('hello ' + request.method + ' ' + url.pathname + url.search)
      },
      stats: () => ({ produced, cancelled }),
    } } `,
    'let produced = 0\nconst cancelled = []',
  )
  type Web = { fetch(request: Request): Response; stats(): { produced: number; cancelled: boolean[] } }

  test('web handlers: fetch(Request) gets method, url, headers and body; the Response keeps status, statusText, headers (each set-cookie) and body', async (registry, write) => {
    await registry.load(await write('web', web))
    const handle = registry.get<Web>('web')
    const hello = await handle.call('fetch', new Request('http://plugin.local/hi?x=1'))
    ok(hello instanceof Response, 'a Response')
    deepStrictEqual([hello.status, await hello.text()], [200, 'hello GET /hi?x=1'])
    const echo = await handle.api.fetch(new Request('http://plugin.local/echo', { method: 'POST', body: 'ping pong', headers: { 'x-test': 'yes' } }))
    deepStrictEqual([echo.status, echo.statusText, echo.headers.get('x-method'), echo.headers.get('x-seen'), await echo.text()], [201, 'Made', 'POST', 'yes', 'ping pong'])
    const cookies = await handle.call('fetch', new Request('http://plugin.local/cookies'))
    deepStrictEqual([cookies.status, cookies.headers.getSetCookie(), cookies.body], [204, ['a=1', 'b=2'], null])
    await rejects(handle.call('fetch', new Request('http://plugin.local/fail')), (e: unknown) => e instanceof Error && e.name === 'TypeError' && e.message === 'no such route')
    strictEqual(registry.status('web').inFlight, 0)
  })

  test('web handlers: bodies stream both ways: 16 MB in (read as it comes), a 64 MB response read slowly stays a few chunks ahead, cancel stops it', async (registry, write) => {
    await registry.load(await write('web', web))
    const handle = registry.get<Web>('web')
    const chunk = new Uint8Array(65536).fill(7)
    const upload = (chunks: number, pulls: { n: number }): ReadableStream<Uint8Array> =>
      new ReadableStream<Uint8Array>(
        {
          pull(c) {
            if (pulls.n++ === chunks) c.close()
            else c.enqueue(chunk)
          },
        },
        { highWaterMark: 0 },
      )
    const all = { n: 0 }
    const counted = await handle.call('fetch', new Request('http://plugin.local/count', { method: 'POST', body: upload(256, all), duplex: 'half' }))
    deepStrictEqual(await counted.json(), { n: 256 * 65536 })
    const some = { n: 0 }
    const first = await handle.call('fetch', new Request('http://plugin.local/first', { method: 'POST', body: upload(1000, some), duplex: 'half' }))
    deepStrictEqual(await first.json(), { first: 65536 })
    await new Promise((r) => setTimeout(r, 50))
    ok(some.n <= 40, `the host read ${some.n} chunks of a request body the plugin read one chunk of`)
    const big = await handle.call('fetch', new Request('http://plugin.local/big'))
    strictEqual(big.headers.get('content-type'), 'application/octet-stream')
    const reader = (big.body as ReadableStream<Uint8Array>).getReader()
    let read = 0
    for (let i = 0; i < 10; i++) {
      const step = await reader.read()
      strictEqual(step.done, false)
      read += (step.value).byteLength
    }
    strictEqual(read, 10 * 65536)
    await new Promise((r) => setTimeout(r, 50))
    const { produced } = await handle.call('stats')
    ok(produced - 10 <= 40, `the plugin produced ${produced} chunks for a reader that took 10`)
    ok(registry.status('web').inFlight <= 1)
    await reader.cancel()
    await until(async () => (await handle.call('stats')).cancelled.length === 1, "the plugin's response stream to be cancelled")
    await until(() => registry.status('web').inFlight === 0, 'no call in flight')
  })

  test('web handlers: an abort mid-body errors the response body with an AbortError and cancels the plugin\'s stream; its ctx.signal aborts', async (registry, write) => {
    await registry.load(await write('web', web))
    const handle = registry.get<Web>('web')
    const controller = new AbortController()
    const big = await handle.withSignal(controller.signal).call('fetch', new Request('http://plugin.local/big'))
    const reader = (big.body as ReadableStream<Uint8Array>).getReader()
    strictEqual((await reader.read()).done, false)
    strictEqual((await reader.read()).done, false)
    controller.abort()
    await rejects(
      (async () => {
        for (;;) if ((await reader.read()).done) return
      })(),
      isAbort,
    )
    await until(async () => (await handle.call('stats')).cancelled.length === 1, "the plugin's response stream to be cancelled")
    deepStrictEqual((await handle.call('stats')).cancelled, [true])
    await until(() => registry.status('web').inFlight === 0, 'no call in flight')
    const hello = await handle.call('fetch', new Request('http://plugin.local/'))
    strictEqual(await hello.text(), 'hello GET /')
  })

  return cases
}
