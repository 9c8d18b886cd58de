// The call cases of the loader contract: cancellation (handle.withSignal) and web handlers
// (fetch(Request) -> Response with streamed bodies), run by contractCases() for JS plugins on
// every loader.
import { deepStrictEqual, ok, rejects, strictEqual, throws } from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CallAbortedError } from './call-aborted.js'
import { RegistryError } from './errors.js'
import type { Loader } from './loader.js'
import { createPluginRegistry } from './registry.js'
import type { PluginRegistry, RegistryLogger } from './registry-types.js'

interface Case {
  readonly name: string
  readonly run: () => Promise<void>
}

type Format = 'esm' | 'cjs'

const QUIET: RegistryLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined }

/** Waits until `check()` is true, polling, up to `timeoutMs`; throws otherwise. */
async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

const isAbort = (error: unknown): boolean => error instanceof CallAbortedError && error.name === 'AbortError' && error.code === 'CALL_ABORTED'

function source(format: Format, body: string, prelude = ''): string {
  return format === 'esm' ? `${prelude}\nexport default {${body}}\n` : `${prelude}\nmodule.exports = {${body}}\n`
}

/**
 * The cancellation and web-handler cases for a JS plugin format on a loader.
 *
 * @internal
 */
export function callCases(loader: () => Loader, format: Format): Case[] {
  const ext = format === 'esm' ? 'mjs' : 'cjs'
  const cases: Case[] = []
  const test = (name: string, body: (registry: PluginRegistry, write: (file: string, text: string) => Promise<string>) => Promise<void>): void => {
    cases.push({
      name,
      run: async () => {
        const dir = await mkdtemp(join(tmpdir(), 'hotswap-calls-'))
        const registry = createPluginRegistry({ loader: loader(), logger: QUIET, drainTimeoutMs: 300, setupTimeoutMs: 5000, loadTimeoutMs: 5000 })
        const write = async (file: string, text: string): Promise<string> => {
          const path = join(dir, `${file}.${ext}`)
          await writeFile(path, text)
          return path
        }
        try {
          await body(registry, write)
        } finally {
          await registry.close()
          await rm(dir, { recursive: true, force: true })
        }
      },
    })
  }

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

  return cases
}
